"""package_cmaf: cues as emsg (v1 and v0) and an event message track, read back by probe()
and checked by verify() as in TS."""

from __future__ import annotations

import base64
import functools
import http.server
import subprocess
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from scte35lab import Cue, inject, package_cmaf, probe, probe_playlist, verify
from scte35lab.errors import StreamError
from scte35lab.mp4.box import parse, walk
from scte35lab.mp4.read import read_fragmented

SAMPLES = Path(__file__).resolve().parents[1] / "sample_streams"
CUES_OK = SAMPLES / "cues_ok.ts"
NS = {"m": "urn:mpeg:dash:schema:mpd:2011"}
SCHEME = "urn:scte:scte35:2013:bin"


@pytest.fixture(scope="module")
def v1(tmp_path_factory):
    return package_cmaf(CUES_OK, tmp_path_factory.mktemp("cmaf1"), event_track=True)


@pytest.fixture(scope="module")
def v0(tmp_path_factory):
    return package_cmaf(CUES_OK, tmp_path_factory.mktemp("cmaf0"), emsg_version=0)


def _distinct(cues) -> list[tuple[str, int]]:
    seen: dict[str, int] = {}
    for row in cues.itertuples():
        seen.setdefault(row.base64, int(row.splice_point))
    return list(seen.items())


def _emsgs(path: Path) -> list:
    data = path.read_bytes()
    return [parse(data, h) for h in walk(data) if h.type == b"emsg"]


def _video_segments(out: Path) -> list[Path]:
    return sorted(out.glob("video-*.m4s"))


@pytest.mark.parametrize("which", ["v1", "v0"])
def test_round_trip_ts_to_cmaf_to_probe_gives_the_same_sections_at_the_same_splice_points(
    which, request
):
    pkg = request.getfixturevalue(which)
    ts = probe(CUES_OK)
    got = probe(pkg.mpd)
    emsg_rows = got.cues[got.cues["carriage"] == "emsg"]
    assert _distinct(emsg_rows) == _distinct(ts.cues)
    assert set(ts.cues.columns) == set(got.cues.columns)
    keyframes = set(got.keyframes["pts"].tolist())
    assert set(emsg_rows["splice_point"].tolist()) <= keyframes
    assert got.keyframes["pts"].tolist() == ts.keyframes["pts"].tolist()
    assert len(got.errors) == 0
    report = verify(got)
    assert report["ok"].all(), report.attrs["summary"]
    assert len(report) == {"v1": 6, "v0": 3}[which]  # v1 also has the event track's three


def test_emsg_v1_presentation_time_is_the_splice_pts_on_the_90khz_track_timeline(v1):
    for path in _video_segments(v1.mpd.parent):
        for box in _emsgs(path):
            assert (box.version, box.timescale, box.scheme_id_uri) == (1, 90000, SCHEME)
            sections = {base64.b64decode(b) for b in v1.events["base64"]}
            assert box.message_data in sections
            assert box.presentation_time == Cue.decode(box.message_data).splice_point


def test_emsg_v0_presentation_time_delta_counts_from_the_segment_start(v0):
    starts = [900000 + 180000 * k for k in range(5)]  # 2 s segments from PTS 900000
    for k, path in enumerate(_video_segments(v0.mpd.parent)):
        for box in _emsgs(path):
            assert box.version == 0 and box.presentation_time is None
            splice = Cue.decode(box.message_data).splice_point
            assert starts[k] + box.presentation_time_delta == splice


def test_each_cue_is_carried_from_its_arrival_segment_until_before_its_splice_point(v1):
    # out/time_signal arrive at 1.0/1.2 s and splice at 6 s; the in arrives at 3 s, splices at 8 s
    per_segment = [len(_emsgs(p)) for p in _video_segments(v1.mpd.parent)]
    assert per_segment == [2, 3, 3, 1, 0]
    assert v1.events.groupby("kind")["segment"].apply(list).to_dict() == {
        "in": [2, 3, 4],
        "out": [1, 1, 2, 2, 3, 3],
    }


def test_event_duration_is_the_break_duration_and_ids_stay_unique(v1):
    # the in shares the out's splice_event_id 100: it gets the next free id
    boxes = [b for p in _video_segments(v1.mpd.parent) for b in _emsgs(p)]
    by_section = {b.message_data: (b.id, b.event_duration) for b in boxes}
    assert sorted(by_section.values()) == [(100, 180000), (200, 180000), (201, 0xFFFFFFFF)]


def test_mpd_declares_the_inband_event_stream_on_the_video_adaptation_set(v1):
    root = ET.parse(v1.mpd).getroot()
    video = root.find("m:Period/m:AdaptationSet[@contentType='video']", NS)
    inband = video.findall("m:InbandEventStream", NS)
    assert [i.get("schemeIdUri") for i in inband] == [SCHEME]
    tags = [c.tag.rsplit("}", 1)[1] for c in video]
    assert tags.index("InbandEventStream") < tags.index("Representation")
    assert not root.findall("m:Period/m:EventStream", NS)


def test_event_message_track_carries_the_same_cues_as_emsg(v1):
    got = probe(v1.mpd)
    track = got.cues[got.cues["carriage"] == "event_track"]
    emsg = got.cues[got.cues["carriage"] == "emsg"]
    assert _distinct(track) == _distinct(emsg)
    assert track["arrival_pts"].tolist() == emsg["arrival_pts"].tolist()
    role = got.pids.set_index("pid").loc[int(track["pid"].iloc[0]), "role"]
    assert role == "scte35"


def test_hls_playlists_point_at_the_same_cmaf_segments_with_dateranges(v1):
    out = v1.mpd.parent
    text = (out / "video.m3u8").read_text()
    assert '#EXT-X-MAP:URI="init-video.m4s"' in text and "#EXT-X-VERSION:7" in text
    assert [ln for ln in text.splitlines() if ln.endswith(".m4s") and "MAP" not in ln] == [
        p.name for p in _video_segments(out)
    ]
    master = v1.playlist.read_text()
    assert "video.m3u8" in master and 'URI="audio.m3u8"' in master
    tags = probe_playlist(out / "video.m3u8")
    assert set(tags["base64"]) == {b for b, _ in _distinct(probe(CUES_OK).cues)}
    from_master = probe(v1.playlist)
    assert _distinct(from_master.cues) == _distinct(probe(CUES_OK).cues)


def test_a_segment_list_and_a_single_segment_probe_too(v1):
    out = v1.mpd.parent
    files = [out / "init-video.m4s", *_video_segments(out)]
    p = probe(files)
    assert verify(p)["ok"].all()
    joined = b"".join(f.read_bytes() for f in files)
    assert probe(joined).cues["base64"].tolist() == p.cues["base64"].tolist()


def test_emsg_time_that_disagrees_with_the_section_is_an_error_row(v1, tmp_path):
    out = v1.mpd.parent
    seg = (out / "video-00001.m4s").read_bytes()
    hdr = next(h for h in walk(seg) if h.type == b"emsg")
    at = hdr.start + 4 + 4  # version/flags, timescale, then presentation_time
    moved = int.from_bytes(seg[at : at + 8], "big") + 3600
    bad = seg[:at] + moved.to_bytes(8, "big") + seg[at + 8 :]
    init = (out / "init-video.m4s").read_bytes()
    rest = [f.read_bytes() for f in _video_segments(out)[1:]]
    p = probe([init, bad, *rest])
    errors = p.errors[p.errors["type"] == "emsg_time_mismatch"]
    assert len(errors) == 1 and "+0.040 s" in errors["detail"].iloc[0]
    # the splice point is where a player acts: the emsg's time, one frame off the IDR here
    row = p.cues[p.cues["offset"] == len(init) + hdr.offset]
    assert row["splice_point"].tolist() == [moved]
    assert "off_idr" in ",".join(verify(p)["reasons"])


def test_pts_wrap_keeps_the_64_bit_presentation_time_and_verifies(tmp_path):
    pkg = package_cmaf(SAMPLES / "pts_wrap.ts", tmp_path)
    boxes = [b for p in _video_segments(tmp_path) for b in _emsgs(p)]
    assert boxes and all(b.presentation_time >= 2**33 for b in boxes)
    got = probe(pkg.mpd)
    assert _distinct(got.cues) == _distinct(probe(SAMPLES / "pts_wrap.ts").cues)
    assert verify(got)["ok"].all()


def test_bad_options_are_named():
    with pytest.raises(ValueError, match="emsg_version must be 0 or 1"):
        package_cmaf(CUES_OK, "/nonexistent", emsg_version=2)
    with pytest.raises(ValueError, match="nothing would carry the cues"):
        package_cmaf(CUES_OK, "/nonexistent", emsg_boxes=False)


def test_event_track_is_an_evte_meta_track_with_emeb_where_no_cue_is_carried_23001_18(v1):
    out = v1.mpd.parent
    init = (out / "init-event.m4s").read_bytes()
    assert b"evte" in init and b"silb" in init and SCHEME.encode() in init
    segments = sorted(out.glob("event-*.m4s"))
    frag = read_fragmented([init, *(p.read_bytes() for p in segments)])
    (track,) = frag.tracks.values()
    assert (track.handler, track.sample_entry, track.timescale) == ("meta", "evte", 90000)
    per_segment = [sum(m.segment == k for m in frag.messages) for k in range(len(segments))]
    assert per_segment == [2, 3, 3, 1, 0]
    assert segments[-1].read_bytes().endswith(b"\x00\x00\x00\x08emeb")
    root = ET.parse(v1.mpd).getroot()
    meta = root.find("m:Period/m:AdaptationSet[@contentType='metadata']", NS)
    assert meta.find("m:Representation", NS).get("codecs") == "evte"


@pytest.mark.parametrize(
    ("name", "reason"), [("cue_off_idr", "off_idr"), ("cue_out_no_in", "unpaired")]
)
def test_verify_finds_the_same_fault_in_cmaf_as_in_the_ts(tmp_path, name, reason):
    src = SAMPLES / f"{name}.ts"
    pkg = package_cmaf(src, tmp_path)
    ts, cmaf = verify(probe(src)), verify(probe(pkg.mpd))
    assert ts["reasons"].tolist() == cmaf["reasons"].tolist() == [reason]
    assert ts["splice_point"].tolist() == cmaf["splice_point"].tolist()


def test_cmaf_arrival_is_the_carrying_segment_start_so_preroll_is_never_less_than_in_ts(tmp_path):
    # cue_late.ts: the cue comes 3.x s before its splice point in TS; its emsg rides in the
    # segment that contains that moment, which a player has before it plays that segment
    src = SAMPLES / "cue_late.ts"
    pkg = package_cmaf(src, tmp_path)
    ts, cmaf = probe(src).cues, probe(pkg.mpd).cues
    first = cmaf.iloc[0]
    assert first["arrival_time"] <= ts["arrival_time"].min()
    assert first["arrival_time"] % 2.0 == 0  # a 2 s segment boundary
    assert first["preroll"] >= ts["preroll"].max()


def test_b_frames_edit_list_is_applied_so_frames_and_cues_keep_the_ts_pts(tmp_path):
    # FFmpeg's mp4 muxer shifts B-frame video by a composition offset and undoes it with an
    # edit list (14496-12 8.6.6); presentation times must come out as the TS PTS again
    plain, cued = tmp_path / "bf.ts", tmp_path / "bf_cues.ts"
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25"]
    cmd += ["-t", "8", "-c:v", "libx264", "-g", "25", "-sc_threshold", "0", "-bf", "2"]
    cmd += ["-output_ts_offset", "10", "-muxdelay", "0", "-muxpreload", "0", str(plain)]
    subprocess.run(cmd, check=True, timeout=60)
    zero = probe(plain).zero_pts
    out = Cue.splice_insert(5, pts_time=zero + 5 * 90000, break_duration=90000)
    back = Cue.splice_insert(5, out_of_network=False, pts_time=zero + 6 * 90000)
    inject(plain, cued, [out, back])
    ts = probe(cued)
    assert (ts.video["pts"] != ts.video["dts"]).any()  # there are B-frames
    for version in (1, 0):
        pkg = package_cmaf(cued, tmp_path / f"v{version}", emsg_version=version)
        init = (tmp_path / f"v{version}" / "init-video.m4s").read_bytes()
        assert b"elst" in init
        got = probe(pkg.mpd)
        assert sorted(got.video["pts"].tolist()) == sorted(ts.video["pts"].tolist())
        assert got.keyframes["pts"].tolist() == ts.keyframes["pts"].tolist()
        assert len(got.errors) == 0
        assert verify(got)["ok"].all()


def test_probe_reads_cmaf_over_http_from_the_mpd_and_the_master_playlist(v1):
    handler = functools.partial(_Quiet, directory=str(v1.mpd.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        local = probe(v1.mpd)
        remote = probe(f"{base}/manifest.mpd")
        assert remote.cues["base64"].tolist() == local.cues["base64"].tolist()
        assert remote.cues["arrival_pts"].tolist() == local.cues["arrival_pts"].tolist()
        assert verify(probe(f"{base}/master.m3u8"))["ok"].all()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_media_segment_without_its_init_and_a_plain_mp4_are_named_errors(v1, tmp_path):
    with pytest.raises(StreamError, match="no init segment"):
        probe(v1.mpd.parent / "video-00002.m4s")
    plain = tmp_path / "plain.mp4"
    cmd = ["ffmpeg", "-v", "error", "-y", "-i", str(CUES_OK), "-c", "copy", "-t", "1", str(plain)]
    subprocess.run(cmd, check=True, timeout=60)
    with pytest.raises(StreamError, match=r"not fragmented \(its moov has no mvex"):
        probe(plain)


def test_an_open_fmp4_file_object_probes_like_its_path(v1, tmp_path):
    out = v1.mpd.parent
    joined = tmp_path / "video.mp4"
    joined.write_bytes(
        b"".join(p.read_bytes() for p in [out / "init-video.m4s", *_video_segments(out)])
    )
    with open(joined, "rb") as f:
        from_file = probe(f)
    assert from_file.cues["base64"].tolist() == probe(joined).cues["base64"].tolist()
    assert len(from_file.keyframes) == 10


def test_a_list_that_is_not_fmp4_is_a_named_error():
    with pytest.raises(StreamError, match="not fragmented MP4"):
        probe([CUES_OK])


def test_verify_of_an_mpd_whose_cues_are_inband_checks_the_emsg_cues(v1):
    """An MPD with only an InbandEventStream carries its cues in the segments: verify reads
    them there, as it reads a TS capture, instead of finding no cue tags."""
    table = verify(v1.mpd)
    ts = verify(CUES_OK)
    assert len(table) >= 2 and table["ok"].all(), table
    assert set(table["splice_point"]) == set(ts["splice_point"])
