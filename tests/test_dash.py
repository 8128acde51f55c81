"""package_dash / probe_mpd: SCTE-35 EventStreams on the media timeline, read back."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from scte35lab import Cue, package_dash, probe, probe_mpd
from scte35lab.errors import StreamError

SAMPLES = Path(__file__).resolve().parents[1] / "sample_streams"
CUES_OK = SAMPLES / "cues_ok.ts"
NS = {"m": "urn:mpeg:dash:schema:mpd:2011", "s": "http://www.scte.org/schemas/35"}


@pytest.fixture(scope="module")
def packaged(tmp_path_factory):
    return package_dash(CUES_OK, tmp_path_factory.mktemp("dash"), segment=2.0)


def _streams(mpd: Path) -> dict[str, ET.Element]:
    root = ET.parse(mpd).getroot()
    period = root.find("m:Period", NS)
    return {s.get("schemeIdUri"): s for s in period.findall("m:EventStream", NS)}


def _source_cues() -> list[str]:
    return list(dict.fromkeys(probe(CUES_OK).cues["base64"]))


def test_2013_xml_event_stream_carries_each_section_as_xml(packaged):
    stream = _streams(packaged.mpd)["urn:scte:scte35:2013:xml"]
    events = stream.findall("m:Event", NS)
    sections = [ev.find("s:SpliceInfoSection", NS) for ev in events]
    assert all(s is not None for s in sections)
    got = [Cue.from_xml(ET.tostring(s, encoding="unicode")).to_base64() for s in sections]
    assert got == _source_cues()


def test_2014_xml_bin_event_stream_carries_each_section_as_base64(packaged):
    stream = _streams(packaged.mpd)["urn:scte:scte35:2014:xml+bin"]
    got = [b.text.strip() for b in stream.iterfind("m:Event/s:Signal/s:Binary", NS)]
    assert got == _source_cues()
    assert all(base64.b64decode(g)[0] == 0xFC for g in got)


def test_event_presentation_time_is_the_splice_pts_on_the_media_timeline(packaged):
    root = ET.parse(packaged.mpd).getroot()
    period = root.find("m:Period", NS)
    for stream in period.findall("m:EventStream", NS):
        assert stream.get("timescale") == "90000"
        assert stream.get("presentationTimeOffset") == "900000"  # the first video PTS
        times = [int(ev.get("presentationTime")) for ev in stream.findall("m:Event", NS)]
        assert times == [1440000, 1440000, 1620000]  # splice PTS of out, time_signal, in
        durations = [ev.get("duration") for ev in stream.findall("m:Event", NS)]
        assert durations == ["180000", "180000", None]
    # the media carries the same timeline: video's first segment starts at PTS 900000
    tmpl = period.find("m:AdaptationSet[@contentType='video']//m:SegmentTemplate", NS)
    first = tmpl.find("m:SegmentTimeline/m:S", NS)
    scale = int(tmpl.get("timescale"))
    assert int(first.get("t")) * 90000 // scale == 900000
    assert int(tmpl.get("presentationTimeOffset")) * 90000 // scale == 900000


def test_event_streams_come_before_adaptation_sets(packaged):
    period = ET.parse(packaged.mpd).getroot().find("m:Period", NS)
    names = [child.tag.rsplit("}", 1)[1] for child in period]
    assert names.index("AdaptationSet") > max(i for i, n in enumerate(names) if n == "EventStream")


def test_schemes_option_writes_only_the_chosen_event_stream(tmp_path):
    result = package_dash(CUES_OK, tmp_path, schemes=["xml+bin"])
    assert list(_streams(result.mpd)) == ["urn:scte:scte35:2014:xml+bin"]
    with pytest.raises(ValueError, match="unknown DASH scheme"):
        package_dash(CUES_OK, tmp_path / "x", schemes=["json"])


def test_round_trip_probe_mpd_gives_every_cue_bit_exact_at_its_splice_time(packaged):
    read = probe_mpd(packaged.mpd)
    assert set(probe(CUES_OK).cues.columns) <= set(read.columns)
    for scheme in ("urn:scte:scte35:2013:xml", "urn:scte:scte35:2014:xml+bin"):
        rows = read[read["tag"] == scheme]
        assert rows["base64"].tolist() == _source_cues()
        assert rows["signalled_time"].tolist() == [6.0, 6.0, 8.0]
        assert (rows["position_error"] == 0).all()
        assert rows["segment"].tolist() == [4, 4, 5]  # 2 s segments from number 1
        assert rows["kind"].tolist() == ["out", "out", "in"]
    assert read["problem"].isna().all()


def test_probe_mpd_reports_damaged_events_not_fatal(tmp_path, packaged):
    text = packaged.mpd.read_text()
    good = _source_cues()[0]
    text = text.replace(good, "!!not-base64!!", 1)
    text = text.replace('presentationTime="1620000" id="2">', 'presentationTime="1700000" id="2">')
    bad = tmp_path / "bad.mpd"
    bad.write_text(text)
    read = probe_mpd(bad)
    assert len(read) == 6
    binrows = read[read["tag"] == "urn:scte:scte35:2014:xml+bin"]
    assert "bad base64" in binrows["problem"].iloc[0]
    moved = read[read["id"] == "2"]
    assert (moved["position_error"].round(6) == round(80000 / 90000, 6)).all()
    assert moved["problem"].str.contains("splice point at 8.000 s").all()


def test_not_an_mpd_is_a_clear_error(tmp_path):
    bad = tmp_path / "x.mpd"
    bad.write_text("#EXTM3U\n")
    with pytest.raises(StreamError, match="not an MPD"):
        probe_mpd(bad)


def test_pts_wrap_keeps_the_unwrapped_pts_timeline(tmp_path):
    # pts_wrap.ts starts 2.7 s before 2**33; the out splices at stream time 5 s
    result = package_dash(SAMPLES / "pts_wrap.ts", tmp_path)
    period = ET.parse(result.mpd).getroot().find("m:Period", NS)
    tmpl = period.find("m:AdaptationSet[@contentType='video']//m:SegmentTemplate", NS)
    scale = int(tmpl.get("timescale"))
    first = int(tmpl.find("m:SegmentTimeline/m:S", NS).get("t"))
    zero = probe(SAMPLES / "pts_wrap.ts").zero_pts
    assert first * 90000 // scale == zero  # media time = PTS, no negative or rebased start
    assert all(int(s.get("d")) > 0 for s in tmpl.iterfind("m:SegmentTimeline/m:S", NS))
    read = probe_mpd(result.mpd)
    assert read["signalled_time"].tolist() == [5.0, 5.0]
    assert (read["position_error"] == 0).all()


def test_video_segments_are_cut_at_every_splice_point(tmp_path):
    # 4 s segments would start at 0, 4, 8: the splices at 6 s and 8 s force boundaries
    result = package_dash(CUES_OK, tmp_path, segment=4.0)
    period = ET.parse(result.mpd).getroot().find("m:Period", NS)
    tmpl = period.find("m:AdaptationSet[@contentType='video']//m:SegmentTemplate", NS)
    scale, pto = int(tmpl.get("timescale")), int(tmpl.get("presentationTimeOffset"))
    starts, t = [], 0
    for s in tmpl.iterfind("m:SegmentTimeline/m:S", NS):
        t = int(s.get("t", t))
        for _ in range(int(s.get("r", "0")) + 1):
            starts.append((t - pto) / scale)
            t += int(s.get("d"))
    assert starts == [0.0, 4.0, 6.0, 8.0]
    assert sorted(p.name for p in tmp_path.glob("video-*.m4s")) == [
        f"video-{n:05d}.m4s" for n in range(1, 5)
    ]
    data, boxes, i = (tmp_path / "video-00001.m4s").read_bytes(), [], 0
    while i < len(data):
        boxes.append(data[i + 4 : i + 8])
        i += int.from_bytes(data[i : i + 4], "big")
    assert boxes == [b"styp"] + [b"moof", b"mdat"] * 4  # four 1 s GOPs in one segment
    assert not list(tmp_path.glob("gop-*")) and not list(tmp_path.glob("*.tmp.mpd"))
