"""Manifests never drop a cue silently: damaged and unknown tags are in the reader's
``.warnings`` table and on stderr (one line each); ``EXT-X-CUE TIME=`` is read; an MPD Event
outside its Period says why, with the numbers."""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

import pandas as pd
import pytest

from scte35lab import package_hls, probe_mpd, probe_playlist, verify
from scte35lab.cli import main
from scte35lab.cue import Cue

SAMPLES = Path(__file__).resolve().parents[1] / "sample_streams"
OUT = Cue.splice_insert(100, pts_time=1_440_000, break_duration=180_000)  # 16 s PTS, 2 s
OUT_B64 = OUT.to_base64()
_raw = bytearray(OUT.encode())
_raw[-1] ^= 0xFF
BAD_CRC_B64 = base64.b64encode(bytes(_raw)).decode()


@pytest.fixture(scope="module")
def segments(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hls")
    package_hls(SAMPLES / "cues_ok.ts", out, segment=1.0)
    return out


def _playlist(tmp_path: Path, segments: Path, tags: list[str]) -> Path:
    """A playlist of the 6 s .. 8 s segments with ``tags`` before the first one."""
    for name in ("seg_00006.ts", "seg_00007.ts"):
        shutil.copyfile(segments / name, tmp_path / name)
    body = ["#EXTM3U", "#EXT-X-TARGETDURATION:1", *tags]
    body += ["#EXTINF:1.0,", "seg_00006.ts", "#EXTINF:1.0,", "seg_00007.ts", "#EXT-X-ENDLIST"]
    path = tmp_path / "p.m3u8"
    path.write_text("\n".join(body) + "\n")
    return path


DAMAGED = [
    f'#EXT-SCTE35:CUE="{BAD_CRC_B64}"',  # line 3
    '#EXT-X-SCTE35:CUE="not*base64"',  # line 4
    '#EXT-X-DATERANGE:ID="a",START-DATE="1970-01-01T00:00:16Z",SCTE35-OUT=0xZZ',  # line 5
    "#EXT-X-CUE-OUT:DURATION=abc",  # line 6
    "#EXT-X-SPLICEPOINT-SCTE35:/DA0AAAA",  # line 7
]


def test_damaged_and_unknown_tags_are_each_a_warning(tmp_path, segments):
    read = probe_playlist(_playlist(tmp_path, segments, DAMAGED))
    w = read.warnings
    assert list(w.columns) == ["source", "line", "element", "tag", "problem"]
    by_line = {}
    for r in w.itertuples():
        by_line.setdefault(int(r.line), (r.tag, r.problem))
    assert sorted(by_line) == [3, 4, 5, 6, 7]
    assert "CRC_32" in by_line[3][1]
    assert by_line[3][0] == "EXT-SCTE35"
    assert w[w["line"] == 3]["problem"].iloc[-1] == "not a known tag name: read as #EXT-X-SCTE35"
    assert "neither valid hex nor base64" in by_line[4][1]
    assert "SCTE35-OUT" in by_line[5][1]
    assert by_line[6][1] == "bad CUE-OUT duration 'abc'"
    assert by_line[7] == (
        "EXT-X-SPLICEPOINT-SCTE35",
        "SCTE-35-looking tag this reader does not know: not read",
    )
    # the damaged #EXT-SCTE35 cue is a row too, so verify fails it
    row = read[read["line"] == 3].iloc[0]
    assert row["crc_ok"] == False and "CRC_32" in row["decode_error"]  # noqa: E712


def test_a_clean_playlist_has_no_warnings(tmp_path, segments):
    read = probe_playlist(_playlist(tmp_path, segments, [f'#EXT-X-SCTE35:CUE="{OUT_B64}"']))
    assert len(read) == 1 and read.warnings.empty


def test_cli_probe_prints_each_warning_on_one_line_of_stderr(tmp_path, segments, capsys):
    path = _playlist(tmp_path, segments, DAMAGED)
    assert main(["probe", str(path)]) == 0
    err = capsys.readouterr().err.splitlines()
    warnings = probe_playlist(path).warnings
    assert len(err) == len(warnings) >= 5
    assert all(line.startswith(f"warning: {path}:") for line in err)
    assert f"warning: {path}:6: EXT-X-CUE-OUT: bad CUE-OUT duration 'abc'" in err


def test_cli_verify_prints_the_warnings_and_fails_the_damaged_cues(tmp_path, segments, capsys):
    path = _playlist(tmp_path, segments, DAMAGED)
    assert main(["verify", str(path)]) == 1
    captured = capsys.readouterr()
    err = [line for line in captured.err.splitlines() if line.startswith("warning: ")]
    assert len(err) == len(probe_playlist(path).warnings)
    assert "damaged_tag" in captured.out and "warning(s) from the reader" in captured.out


def test_only_unknown_tags_is_nothing_to_verify(tmp_path, segments, capsys):
    path = _playlist(tmp_path, segments, ["#EXT-X-SPLICEPOINT-SCTE35:/DA0AAAA"])
    assert main(["verify", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith("EMPTY ")
    assert "warning: " in captured.err and "no cues found" in captured.err
    assert verify(path).attrs["summary"].startswith("EMPTY")


@pytest.mark.parametrize(
    "tag",
    [
        "#EXT-X-CUE:TIME=16.0,DURATION=2.0",
        '#EXT-X-CUE:TYPE="SpliceOut",ID="1",DURATION="2",TIME="16.0",PROGRAM-ID="138"',
        "#EXT-X-CUE:ID=7,TIME=16.000,DURATION=2",
    ],
)
def test_ext_x_cue_time_is_the_splice_pts(tmp_path, segments, tag):
    path = _playlist(tmp_path, segments, [tag])
    read = probe_playlist(path)
    row = read.iloc[0]
    assert row["kind"] == "out" and row["signalled_duration"] == 2.0
    assert row["pts_time"] == 1_440_000 and row["splice_point"] == 1_440_000
    assert row["actual_time"] == 0.0 and row["position_error"] == 0.0  # seg 6 starts at PTS 16 s
    assert read.warnings.empty
    no_media = probe_playlist(path, media=False).iloc[0]
    assert no_media["splice_point"] == 1_440_000 and pd.isna(no_media["actual_time"])


def test_ext_x_cue_time_that_disagrees_with_its_cue_is_a_problem(tmp_path, segments):
    tag = f'#EXT-X-CUE:TYPE=SpliceOut,TIME=17.0,CUE="{OUT_B64}"'
    row = probe_playlist(_playlist(tmp_path, segments, [tag])).iloc[0]
    assert "TIME=17.000000 s but the cue's splice point is 16.000000 s" in row["problem"]


@pytest.mark.parametrize(
    ("tag", "problem"),
    [
        ("#EXT-X-CUE:TYPE=SpliceOut,TIME=soon", "bad TIME 'soon'"),
        ("#EXT-X-CUE:TYPE=Pause,TIME=16", "unknown TYPE 'Pause'"),
        ("#EXT-X-CUE:TYPE=SpliceOut,DURATION=2", "without TIME or CUE"),
    ],
)
def test_unreadable_ext_x_cue_is_a_warning(tmp_path, segments, tag, problem):
    read = probe_playlist(_playlist(tmp_path, segments, [tag]))
    assert problem in read.warnings["problem"].iloc[0]


MPD = """<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT20S">
  <Period id="p0" start="PT0S" duration="PT10S">
    <EventStream schemeIdUri="urn:scte:scte35:2014:xml+bin" timescale="90000">
      <Event presentationTime="{early}" id="1"><Signal xmlns="http://www.scte.org/schemas/35">
        <Binary>{b64}</Binary></Signal></Event>
    </EventStream>
  </Period>
  <Period id="p1" start="PT10S" duration="PT10S">
    <EventStream schemeIdUri="urn:scte:scte35:2014:xml+bin" timescale="90000">
      <Event presentationTime="1440000" id="2"><Signal xmlns="http://www.scte.org/schemas/35">
        <Binary>{b64}</Binary></Signal></Event>
      <Event presentationTime="0" id="3"><Signal xmlns="http://www.scte.org/schemas/35">
        <Binary>not*base64</Binary></Signal></Event>
    </EventStream>
    <EventStream schemeIdUri="urn:scte:scte35:2099:future" timescale="90000"/>
  </Period>
</MPD>
"""


def test_mpd_event_outside_its_period_says_the_numbers(tmp_path):
    path = tmp_path / "m.mpd"
    path.write_text(MPD.format(early=180_000, b64=OUT_B64))
    read = probe_mpd(path)
    late = read[read["id"] == "2"].iloc[0]
    assert (
        "presentationTime 1440000 (timescale 90000, presentationTimeOffset 0) is 16.000 s "
        "from the Period start (10.000 s), beyond the Period's 10.000 s: not Period-relative "
        "(it looks absolute, counted from the MPD start)"
    ) in late["problem"]
    assert "Period-relative" not in str(read[read["id"] == "1"].iloc[0]["problem"])
    w = read.warnings
    assert set(w["element"]) == {"Period p1/Event 2", "Period p1/Event 3", "Period p1/EventStream"}
    assert "bad base64" in w[w["element"] == "Period p1/Event 3"]["problem"].iloc[0]
    assert (
        w[w["element"] == "Period p1/EventStream"]["tag"].iloc[0] == "urn:scte:scte35:2099:future"
    )


def test_cli_probe_of_an_mpd_prints_its_warnings(tmp_path, capsys):
    path = tmp_path / "m.mpd"
    path.write_text(MPD.format(early=180_000, b64=OUT_B64))
    assert main(["probe", str(path)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3 and all(line.startswith(f"warning: {path}: Period p1/") for line in err)
