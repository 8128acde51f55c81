"""``scte35lab hls`` / ``scte35lab dash``: JSON on stdout, one-line errors with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

from scte35lab.cli import main

SAMPLES = Path(__file__).resolve().parents[1] / "sample_streams"
CUES_OK = SAMPLES / "cues_ok.ts"


def test_hls_command_packages_and_reports_json(tmp_path, capsys):
    code = main(["hls", str(CUES_OK), str(tmp_path), "--segment", "4", "--tags", "daterange"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["segments"] == 4 and report["duration"] == 10.0
    assert [c["splice_time"] for c in report["cues"]] == [6.0, 6.0, 8.0]
    text = (tmp_path / "index.m3u8").read_text()
    assert "#EXT-X-DATERANGE" in text and "#EXT-X-CUE-OUT" not in text


def test_hls_command_takes_a_program_date_time(tmp_path, capsys):
    code = main(["hls", str(CUES_OK), str(tmp_path), "--program-date-time", "2026-01-01T00:00Z"])
    assert code == 0
    assert 'START-DATE="2026-01-01T00:00:06.000Z"' in (tmp_path / "index.m3u8").read_text()


def test_dash_command_packages_and_reports_json(tmp_path, capsys):
    code = main(["dash", str(CUES_OK), str(tmp_path), "--schemes", "xml+bin"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert [e["presentation_time"] for e in report["events"]] == [1440000, 1440000, 1620000]
    assert "urn:scte:scte35:2014:xml+bin" in (tmp_path / "manifest.mpd").read_text()


def test_bad_input_is_one_line_and_exit_code_2(tmp_path, capsys):
    assert main(["hls", str(tmp_path / "missing.ts"), str(tmp_path / "o")]) == 2
    assert main(["hls", str(SAMPLES / "h264_192.m2ts"), str(tmp_path / "o")]) == 2
    assert main(["hls", str(CUES_OK), str(tmp_path / "o"), "--tags", "bogus"]) == 2
    assert main(["dash", str(CUES_OK), str(tmp_path / "d"), "--schemes", "json"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4 and all(line.startswith("error: ") for line in err)
    assert "Traceback" not in "".join(err)
