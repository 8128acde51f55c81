"""``scte35lab hls|dash --cmaf``: CMAF segments with emsg cues, JSON report, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

from scte35lab.cli import main
from scte35lab.mp4.box import parse, walk

SAMPLES = Path(__file__).resolve().parents[1] / "sample_streams"
CUES_OK = SAMPLES / "cues_ok.ts"


def test_dash_cmaf_writes_emsg_version_0_when_asked(tmp_path, capsys):
    code = main(["dash", str(CUES_OK), str(tmp_path), "--cmaf", "--emsg-version", "0"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["mpd"].endswith("manifest.mpd") and report["playlist"].endswith("master.m3u8")
    assert {e["version"] for e in report["events"]} == {0}
    data = (tmp_path / "video-00001.m4s").read_bytes()
    boxes = [parse(data, h) for h in walk(data) if h.type == b"emsg"]
    assert boxes and all(b.version == 0 for b in boxes)


def test_hls_cmaf_names_the_master_playlist_and_adds_the_event_track(tmp_path, capsys):
    args = ["hls", str(CUES_OK), str(tmp_path), "--cmaf", "--event-track", "--playlist", "m.m3u8"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["playlist"].endswith("m.m3u8")
    assert (tmp_path / "init-event.m4s").exists() and (tmp_path / "event-00001.m4s").exists()


def test_cmaf_bad_input_is_one_line_and_exit_code_2(tmp_path, capsys):
    assert main(["dash", str(tmp_path / "missing.ts"), str(tmp_path / "o"), "--cmaf"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing.ts" in err[0]
