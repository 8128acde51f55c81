"""package_hls / HlsLive: segments cut at IDRs and splice points, cue tags where they belong."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scte35lab import Cue, package_hls, probe
from scte35lab.cue import SegmentationDescriptor
from scte35lab.errors import StreamError
from scte35lab.manifest import HlsLive
from scte35lab.manifest.segment import classify
from scte35lab.ts.chain import Chain, Tap

SAMPLES = Path(__file__).resolve().parents[1] / "sample_streams"
CUES_OK = SAMPLES / "cues_ok.ts"
OUT_B64 = "/DAlAAAAAAAA///wFAUAAABkf+/+ABX5AP4AAr8gAAAAAAAA0ZNkOA=="  # splice_insert out 100


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def _segments(playlist: Path) -> list[tuple[list[str], str]]:
    """(tags before it, uri) for each segment of a media playlist."""
    out, tags = [], []
    for line in _lines(playlist)[1:]:
        if line.startswith("#"):
            tags.append(line)
        elif line:
            out.append((tags, line))
            tags = []
    return out


def test_every_segment_starts_with_an_idr(tmp_path):
    result = package_hls(CUES_OK, tmp_path, segment=2.0)
    for _, uri in _segments(result.playlist):
        p = probe(tmp_path / uri)
        video = p.frames[p.frames["role"] == "video"]
        assert bool(video["keyframe"].iloc[0]), uri
        assert len(p.pids[p.pids["codec"] == "pmt"]) == 1  # PAT/PMT at the head of each
    assert "#EXT-X-INDEPENDENT-SEGMENTS" in _lines(result.playlist)


def test_segments_hold_every_source_frame_and_cue_once(tmp_path):
    result = package_hls(CUES_OK, tmp_path, segment=2.0)
    joined = b"".join((tmp_path / uri).read_bytes() for _, uri in _segments(result.playlist))
    src, out = probe(CUES_OK), probe(joined)
    assert out.frames["pts"].tolist() == src.frames["pts"].tolist()
    assert out.cues["base64"].tolist() == src.cues["base64"].tolist()


def test_cut_forced_at_every_splice_point(tmp_path):
    # 4 s segments would cut at 0, 4, 8: the splices at 6 s (out) and 8 s (in) force a cut
    result = package_hls(CUES_OK, tmp_path, segment=4.0)
    starts = result.segments["start_time"].tolist()
    assert starts == [0.0, 4.0, 6.0, 8.0]
    assert result.segments["forced_cut"].tolist() == [False, False, True, True]
    assert result.cues["on_boundary"].all()


def test_segment_durations_follow_the_target_at_idrs(tmp_path):
    result = package_hls(CUES_OK, tmp_path, segment=2.0)
    assert result.segments["duration"].tolist() == [2.0] * 5
    assert "#EXT-X-TARGETDURATION:2" in _lines(result.playlist)
    assert _lines(result.playlist)[-1] == "#EXT-X-ENDLIST"


def test_daterange_start_date_is_the_splice_pts_on_the_program_date_time_timeline(tmp_path):
    result = package_hls(CUES_OK, tmp_path)
    segs = _segments(result.playlist)
    tags, _ = segs[3]  # the segment starting at the 6 s splice (PTS 1440000 = 16 s)
    assert "#EXT-X-PROGRAM-DATE-TIME:1970-01-01T00:00:16.000Z" in tags
    out = next(t for t in tags if t.startswith("#EXT-X-DATERANGE") and "splice-100" in t)
    assert 'START-DATE="1970-01-01T00:00:16.000Z"' in out
    assert "PLANNED-DURATION=2.000" in out
    assert f"SCTE35-OUT=0x{base64.b64decode(OUT_B64).hex().upper()}" in out
    # the first segment's date is its first PTS: 900000 ticks = 10 s
    assert "#EXT-X-PROGRAM-DATE-TIME:1970-01-01T00:00:10.000Z" in segs[0][0]


def test_program_date_time_anchors_stream_time_zero_when_given(tmp_path):
    zero = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    result = package_hls(CUES_OK, tmp_path, program_date_time=zero)
    text = result.playlist.read_text()
    assert "#EXT-X-PROGRAM-DATE-TIME:2026-03-01T12:00:00.000Z" in text
    assert 'ID="splice-100",START-DATE="2026-03-01T12:00:06.000Z"' in text


def test_daterange_in_shares_the_out_id_with_end_date_and_duration(tmp_path):
    result = package_hls(CUES_OK, tmp_path)
    ranges = [t for t in _lines(result.playlist) if 'ID="splice-100"' in t]
    assert len(ranges) == 2
    assert "SCTE35-OUT=" in ranges[0] and "SCTE35-IN=" in ranges[1]
    assert 'START-DATE="1970-01-01T00:00:16.000Z"' in ranges[1]
    assert 'END-DATE="1970-01-01T00:00:18.000Z"' in ranges[1]
    assert "DURATION=2.000" in ranges[1]


def test_segmentation_types_map_to_scte35_out_in_cmd():
    def ts(type_id: int) -> Cue:
        seg = SegmentationDescriptor(segmentation_event_id=7, segmentation_type_id=type_id)
        return Cue.time_signal(90000, [seg])

    assert classify(ts(0x34))[0] == "out"  # Provider Placement Opportunity Start
    assert classify(ts(0x35))[0] == "in"  # ... End
    assert classify(ts(0x10))[0] == "out"  # Program Start
    assert classify(ts(0x01))[0] == "cmd"  # Content Identification
    assert classify(Cue.splice_null())[0] == "cmd"
    assert classify(Cue.splice_insert(1, pts_time=0, out_of_network=False))[0] == "in"


def test_cue_out_cont_in_tags_span_the_break(tmp_path):
    result = package_hls(CUES_OK, tmp_path, segment=1.0, tags=["cue-out"])
    segs = _segments(result.playlist)
    by_start = dict(zip(result.segments["start_time"], segs, strict=True))
    assert "#EXT-X-CUE-OUT:DURATION=2.000" in by_start[6.0][0]
    cont = [t for t in by_start[7.0][0] if t.startswith("#EXT-X-CUE-OUT-CONT")]
    assert cont == [f"#EXT-X-CUE-OUT-CONT:ElapsedTime=1.000,Duration=2.000,SCTE35={OUT_B64}"]
    assert "#EXT-X-CUE-IN" in by_start[8.0][0]
    text = result.playlist.read_text()
    assert text.count("#EXT-X-CUE-OUT:") == 1 and text.count("#EXT-X-CUE-IN") == 1
    assert "DATERANGE" not in text and "OATCLS" not in text


def test_oatcls_carries_each_distinct_cue_once_on_its_splice_segment(tmp_path):
    result = package_hls(CUES_OK, tmp_path, tags=["oatcls"])
    found = [t.split(":", 1)[1] for t in _lines(result.playlist) if t.startswith("#EXT-OATCLS")]
    assert sorted(found) == sorted(set(probe(CUES_OK).cues["base64"]))
    assert "#EXT-X-CUE" not in result.playlist.read_text()


def test_discontinuity_tags_only_on_request(tmp_path):
    plain = package_hls(CUES_OK, tmp_path / "plain")
    assert "#EXT-X-DISCONTINUITY" not in plain.playlist.read_text()
    marked = package_hls(CUES_OK, tmp_path / "marked", discontinuity=True)
    segs = _segments(marked.playlist)
    with_disc = [uri for tags, uri in segs if "#EXT-X-DISCONTINUITY" in tags]
    assert with_disc == ["seg_00003.ts", "seg_00004.ts"]  # break out (6 s) and return (8 s)


def test_splice_point_off_idr_is_not_cut_and_is_logged(tmp_path, caplog):
    result = package_hls(SAMPLES / "cue_off_idr.ts", tmp_path, segment=4.0)
    assert 6.52 not in result.segments["start_time"].round(2).tolist()
    assert result.segments["independent"].all()
    assert "not on a keyframe" in caplog.text
    # the date still says exactly where the splice is
    assert 'START-DATE="1970-01-01T00:00:16.520Z"' in result.playlist.read_text()


def test_pts_wrap_keeps_the_timeline_counting(tmp_path):
    result = package_hls(SAMPLES / "pts_wrap.ts", tmp_path, segment=2.0)
    assert (result.segments["duration"] > 0).all()
    starts = result.segments["start_time"].tolist()
    assert starts == sorted(starts)
    assert len(result.cues) == 1
    assert result.cues["splice_time"].iloc[0] == pytest.approx(5.0)
    assert result.cues["on_boundary"].iloc[0]


def test_live_window_keeps_n_segments_and_deletes_older_ones(tmp_path):
    data = CUES_OK.read_bytes()
    seen_files, sequences = [], []
    with HlsLive(tmp_path, segment=1.0, window=3) as live:
        for i in range(0, len(data), 8 * 188):
            if live.write(data[i : i + 8 * 188]):
                seen_files.append(len(list(tmp_path.glob("seg_*.ts"))))
                text = live.playlist.read_text()
                assert "#EXT-X-ENDLIST" not in text
                sequences.append(int(re.search(r"MEDIA-SEQUENCE:(\d+)", text).group(1)))
    assert max(seen_files) == 3
    assert sequences == sorted(sequences) and sequences[-1] > 0
    text = live.playlist.read_text()
    assert text.rstrip().endswith("#EXT-X-ENDLIST")
    assert len(list(tmp_path.glob("seg_*.ts"))) == 3


def test_live_chunking_gives_the_same_segments_as_one_pass(tmp_path):
    data = CUES_OK.read_bytes()
    whole = package_hls(data, tmp_path / "whole", segment=2.0)
    with HlsLive(tmp_path / "live", segment=2.0, window=None) as live:
        for i in range(0, len(data), 1000):  # not a multiple of 188
            live.write(data[i : i + 1000])
    for _, uri in _segments(whole.playlist):
        assert (tmp_path / "whole" / uri).read_bytes() == (tmp_path / "live" / uri).read_bytes()
    assert whole.playlist.read_text() == live.playlist.read_text()


def test_the_live_packager_is_a_chain_stage_that_passes_every_byte_on(tmp_path):
    data = CUES_OK.read_bytes()
    whole = package_hls(data, tmp_path / "whole", segment=2.0)
    live = HlsLive(tmp_path / "chain", segment=2.0, window=None)
    chain = Chain([Tap(lambda b: None), live])
    out = b"".join(chain.feed(data[i : i + 5000]) for i in range(0, len(data), 5000))
    assert out + chain.flush() == data
    assert live.playlist.read_text() == whole.playlist.read_text()
    assert live.playlist.read_text().rstrip().endswith("#EXT-X-ENDLIST")


def test_non_188_byte_packets_are_refused_with_a_clear_error(tmp_path):
    with pytest.raises(StreamError, match="188-byte"):
        package_hls(SAMPLES / "h264_192.m2ts", tmp_path)


def test_unknown_tag_style_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown HLS cue tag"):
        package_hls(CUES_OK, tmp_path, tags=["daterange", "x9k3"])


def test_live_playlist_signals_the_break_while_it_is_in_the_window(tmp_path):
    data = CUES_OK.read_bytes()
    texts = []
    with HlsLive(
        tmp_path, segment=1.0, window=2, discontinuity=True, probe_every=188 * 100
    ) as live:
        for i in range(0, len(data), 188 * 20):
            if live.write(data[i : i + 188 * 20]):
                texts.append(live.playlist.read_text())
    with_out = [t for t in texts if "SCTE35-OUT=" in t]
    assert with_out and all("#EXT-X-CUE-OUT:DURATION=2.000" in t for t in with_out)
    final = live.playlist.read_text()
    assert "SCTE35-OUT=" not in final  # slid out of the window
    # the out edge's discontinuity slid out (counted); the return edge's is still listed
    assert "#EXT-X-DISCONTINUITY-SEQUENCE:1" in final
    assert "#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:1970-01-01T00:00:18.000Z" in final
