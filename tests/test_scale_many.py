"""probe_many / verify_many in-process: paths, globs and fsspec URLs, one partition per
capture, rows equal to each capture's own probe()/verify(), failures kept apart."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from scte35lab import probe_many, verify_many
from scte35lab.analysis import probe, verify
from scte35lab.errors import InputFormatError
from scte35lab.scale import probe_ranges
from scte35lab.scale.tables import probe_tables, verify_tables

SAMPLES = Path(__file__).resolve().parent.parent / "sample_streams"


def test_globs_and_file_urls_expand_in_order_and_match_each_probe():
    url_glob = f"file://{SAMPLES}/cue_*.ts"
    m = probe_many([url_glob, SAMPLES / "cues_ok.ts"])
    t = m.compute()
    names = sorted(p.name for p in SAMPLES.glob("cue_*.ts"))
    want = [f"file://{SAMPLES}/{n}" for n in names] + [str(SAMPLES / "cues_ok.ts")]
    assert list(t["sources"]["source"]) == want
    assert t["sources"]["ok"].all()
    assert m.cues.npartitions == len(want)
    for src in want:
        expected = probe_tables(probe(src.removeprefix("file://")), src)
        for name in ("frames", "cues", "errors", "pids"):
            got = t[name][t[name]["source"] == src].reset_index(drop=True)
            pd.testing.assert_frame_equal(got, expected[name], obj=name)


def test_keyframes_are_the_frames_marked_keyframe():
    m = probe_many(SAMPLES / "cues_ok.ts")
    k = m.keyframes.compute()
    assert len(k) == int(probe(SAMPLES / "cues_ok.ts").frames["keyframe"].sum()) > 0
    assert k["keyframe"].all()


def test_verify_many_rows_equal_each_verify_and_a_missing_capture_is_a_summary_line(tmp_path):
    files = [SAMPLES / "cues_ok.ts", SAMPLES / "cue_off_idr.ts", tmp_path / "gone.ts"]
    t = verify_many(files, preroll=4.5).compute()
    for f in files[:2]:
        want = verify_tables(verify(f, preroll=4.5), str(f))["report"]
        got = t["report"][t["report"]["source"] == str(f)].reset_index(drop=True)
        pd.testing.assert_frame_equal(got, want)
    s = t["summary"]
    assert list(s["ok"]) == [True, False, False]
    assert "gone.ts" in s["failure"].iloc[2]


def test_range_probe_keeps_the_pid_filter():
    path = SAMPLES / "cues_ok.ts"
    got = probe_ranges(path, parts=3, pids=[257], chunk_bytes=4096)
    want = probe(path, pids=[257], chunk_bytes=4096)
    assert got.stitch_stats.ranges == 3
    for name in ("frames", "cues", "errors", "pids"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(want, name), obj=name)
    assert set(got.frames["pid"]) == {257}


def test_no_capture_given_is_an_error():
    with pytest.raises(InputFormatError, match="no captures"):
        probe_many([])
    with pytest.raises(InputFormatError, match="not both"):
        probe_many(SAMPLES / "cues_ok.ts", client="tcp://127.0.0.1:9", workers=1)
