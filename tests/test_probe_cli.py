"""``scte35lab probe``: tables as text, CSV and JSON; bad input is one line and exit 2."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

SAMPLES = Path(__file__).resolve().parent.parent / "sample_streams"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "scte35lab.cli_probe", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_cues_as_json_are_the_cue_rows():
    done = _run(str(SAMPLES / "cues_ok.ts"), "--table", "cues", "--format", "json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [r["splice_event_id"] for r in rows[:1]] == [100]
    assert len(rows) == 6 and rows[0]["splice_point"] == 1_440_000


def test_pids_as_csv_parse_back_into_a_table():
    done = _run(str(SAMPLES / "cues_ok.ts"), "--table", "pids", "--format", "csv")
    assert done.returncode == 0, done.stderr
    df = pd.read_csv(io.StringIO(done.stdout))
    assert df.set_index("pid").loc[500, "registration"] == "CUEI"


def test_frames_table_text_lists_every_frame():
    done = _run(str(SAMPLES / "h264_aac.ts"), "--table", "frames", "--pid", "0x100")
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.strip().splitlines()) == 1 + 125


def test_missing_file_is_one_line_on_stderr_and_exit_2():
    done = _run("/nonexistent/capture.ts")
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1
    assert "capture.ts" in done.stderr and "Traceback" not in done.stderr


def test_bad_pid_argument_is_a_usage_error():
    done = _run(str(SAMPLES / "h264_aac.ts"), "--pid", "9000")
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_probe_of_a_playlist_prints_its_cue_signalling(tmp_path, capsys):
    from scte35lab.cli import main as cli_main

    assert cli_main(["hls", str(SAMPLES / "cues_ok.ts"), str(tmp_path), "--tags", "daterange"]) == 0
    capsys.readouterr()
    assert cli_main(["probe", str(tmp_path / "index.m3u8"), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["tag"] for r in rows} == {"EXT-X-DATERANGE"}
    assert {r["splice_point"] for r in rows} == {1440000, 1620000}


def test_probe_of_a_manifest_refuses_tables_it_has_not(tmp_path, capsys):
    from scte35lab.cli import main as cli_main

    (tmp_path / "x.m3u8").write_text("#EXTM3U\n")
    assert cli_main(["probe", str(tmp_path / "x.m3u8"), "--table", "frames"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "only a cues table" in err[0]
