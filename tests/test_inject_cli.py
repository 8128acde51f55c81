"""``scte35lab inject``: cues from the command line or a schedule file; errors are one line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from scte35lab import Cue, probe, verify
from scte35lab.cli import main
from scte35lab.schedule import AdBreak, Schedule

SAMPLES = Path(__file__).resolve().parent.parent / "sample_streams"
SRC = SAMPLES / "h264_aac.ts"  # 5 s, an IDR every second
pytestmark = pytest.mark.skipif(shutil.which("ffprobe") is None, reason="needs ffmpeg")


def test_cli_inject_puts_each_cue_at_its_at_time(tmp_path, capsys):
    out = tmp_path / "o.ts"
    a = Cue.splice_insert(1, break_duration=90_000).to_base64()
    b = Cue.splice_insert(1, out_of_network=False).to_hex()
    argv = ["inject", str(SRC), str(out), "--cue", a, "--at", "2", "--cue", b, "--at", "3"]
    assert main([*argv, "--preroll", "1", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["splice_time"] for r in rows] == [2.0, 3.0]
    v = verify(out, preroll=1)
    assert v["ok"].all(), v.attrs["summary"]


def test_cli_inject_takes_a_schedule_file(tmp_path, capsys):
    sched = tmp_path / "s.json"
    Schedule([AdBreak(2.5, 1)]).to_json(sched)
    out = tmp_path / "o.ts"
    assert main(["inject", str(SRC), str(out), "--schedule", str(sched), "--preroll", "1.5"]) == 0
    cues = probe(out).cues
    assert sorted(set(cues["splice_time"])) == [3.0, 4.0]  # snapped to the next IDRs


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cue", "AAAA", "--at", "2"], "not a section"),
        (["--cue", Cue.splice_insert(1).to_base64()], "no splice time"),
        (["--at", "2"], "0 --cue for 1 --at"),
        ([], "nothing to inject"),
        (["--cue", Cue.splice_null().to_base64(), "--at", "2", "--pid", "256"], "already used"),
    ],
)
def test_cli_inject_bad_input_is_one_line_on_stderr_and_exit_2(tmp_path, capsys, args, message):
    rc = main(["inject", str(SRC), str(tmp_path / "o.ts"), *args])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and message in err
    assert err.startswith("error: inject:") and "\n" not in err and "Traceback" not in err


def test_cli_inject_missing_input_names_the_file_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "o.ts"
    cue = Cue.splice_null().to_base64()
    rc = main(["inject", str(tmp_path / "nope.ts"), str(out), "--cue", cue, "--at", "1"])
    assert rc == 2 and "nope.ts" in capsys.readouterr().err
    assert not out.exists()
