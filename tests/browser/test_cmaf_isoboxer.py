"""codem-isoboxer (the ISO BMFF parser dash.js ships with, pinned by package.json) reads the
emsg boxes package_cmaf wrote, v1 and v0, with the fields and sections we meant."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import HERE, _ensure_players

from scte35lab import package_cmaf

SAMPLES = Path(__file__).resolve().parents[2] / "sample_streams"
CUES_OK = SAMPLES / "cues_ok.ts"
READ = """
const ISOBoxer = require('codem-isoboxer');
const fs = require('fs');
const out = [];
for (const path of process.argv.slice(1)) {
  const b = fs.readFileSync(path);
  const file = ISOBoxer.parseBuffer(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  for (const e of file.fetchAll('emsg')) {
    out.push({ file: path, version: e.version, scheme: e.scheme_id_uri, timescale: e.timescale,
      time: e.version === 1 ? e.presentation_time : e.presentation_time_delta,
      duration: e.event_duration, id: e.id,
      data: Buffer.from(e.message_data.buffer, e.message_data.byteOffset,
                        e.message_data.byteLength).toString('base64') });
  }
}
console.log(JSON.stringify(out));
"""


@pytest.mark.parametrize("version", [1, 0])
def test_isoboxer_reads_every_emsg_as_package_cmaf_reports_it(tmp_path, version):
    _ensure_players()
    node = shutil.which("node")
    assert node, "node is not installed (apt-get install nodejs)"
    pkg = package_cmaf(CUES_OK, tmp_path, emsg_version=version)
    segments = sorted(str(p) for p in tmp_path.glob("video-*.m4s"))
    run = subprocess.run(
        [node, "-e", READ, *segments],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    got = json.loads(run.stdout)
    rows = pkg.events.to_dict("records")
    assert len(got) == len(rows) == 9
    for box, row in zip(got, rows, strict=True):
        assert Path(box["file"]).name == f"video-{row['segment']:05d}.m4s"
        assert (box["version"], box["scheme"], box["timescale"]) == (
            version,
            "urn:scte:scte35:2013:bin",
            90000,
        )
        start = 900000 + 180000 * (row["segment"] - 1)
        want = row["presentation_time"] if version == 1 else row["presentation_time"] - start
        assert box["time"] == want
        assert (box["duration"], box["id"]) == (row["event_duration"], row["id"])
        assert base64.b64decode(box["data"]) == base64.b64decode(row["base64"])
