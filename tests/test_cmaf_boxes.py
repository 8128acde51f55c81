"""ISO BMFF boxes that carry SCTE-35: hand-built references from the standards' syntax, public
samples from other projects' test suites, and the fragmented-MP4 reader."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from scte35lab import Cue
from scte35lab.mp4 import boxes as bx
from scte35lab.mp4.box import BoxError, children, encode_box, parse, walk
from scte35lab.mp4.read import read_fragmented
from scte35lab.mp4.write import (
    emsg,
    event_sample,
    event_track_init,
    event_track_segment,
    insert_emsg,
)

VECTORS = Path(__file__).resolve().parent / "vectors" / "cmaf"
SCHEME = "urn:scte:scte35:2013:bin"
SECTION = Cue.splice_insert(splice_event_id=7, pts_time=900000, break_duration=2700000).encode()


def _one(data: bytes):
    hdr = next(walk(data))
    return hdr, parse(data, hdr)


def _cstr(text: str) -> bytes:
    return text.encode() + b"\0"


def test_emsg_version_1_is_the_23009_1_5_10_3_3_syntax():
    # FullBox(version=1): timescale, presentation_time(64), event_duration, id, strings, data
    payload = struct.pack(">I", 1 << 24) + struct.pack(">IQII", 90000, 8589934592 + 5, 180000, 42)
    payload += _cstr(SCHEME) + _cstr("") + SECTION
    want = struct.pack(">I", 8 + len(payload)) + b"emsg" + payload
    got = emsg(
        SECTION,
        version=1,
        timescale=90000,
        presentation_time=8589934592 + 5,
        segment_start=0,
        duration=180000,
        event_id=42,
    )
    assert got == want
    _, box = _one(got)
    assert (box.version, box.presentation_time, box.presentation_time_delta) == (
        1,
        8589934597,
        None,
    )
    assert box.message_data == SECTION


def test_emsg_version_0_is_the_23009_1_5_10_3_3_syntax_with_delta_from_segment_start():
    # FullBox(version=0): strings first, then timescale, presentation_time_delta(32), ...
    payload = struct.pack(">I", 0) + _cstr(SCHEME) + _cstr("")
    payload += struct.pack(">IIII", 90000, 3600, 0xFFFFFFFF, 9) + SECTION
    want = struct.pack(">I", 8 + len(payload)) + b"emsg" + payload
    got = emsg(
        SECTION,
        version=0,
        timescale=90000,
        presentation_time=903600,
        segment_start=900000,
        duration=None,
        event_id=9,
    )
    assert got == want
    with pytest.raises(BoxError, match="before its segment starts"):
        emsg(
            SECTION,
            version=0,
            timescale=90000,
            presentation_time=1,
            segment_start=2,
            duration=None,
            event_id=1,
        )


def test_emib_23001_18_6_1_public_sample_from_mp4ff_reads_and_rewrites_bit_exact():
    data = (VECTORS / "mp4ff_emib.dat").read_bytes()
    _, box = _one(data)
    assert isinstance(box, bx.EventMessageInstance)
    assert box.scheme_id_uri == SCHEME and box.value == ""
    assert (box.presentation_time_delta, box.event_duration, box.id) == (212400, 864000, 0)
    cue = Cue.decode(box.message_data)
    assert cue.command_name == "splice_insert" and cue.out_of_network_indicator
    assert encode_box(box) == data


def test_emib_presentation_time_delta_is_signed_64_bit():
    box = bx.EventMessageInstance(presentation_time_delta=-3600, scheme_id_uri=SCHEME)
    data = encode_box(box)
    assert data[16:24] == (-3600).to_bytes(8, "big", signed=True)
    assert _one(data)[1].presentation_time_delta == -3600


def test_emeb_23001_18_6_2_is_a_bare_box_and_marks_a_sample_without_events():
    assert event_sample([]) == b"\x00\x00\x00\x08emeb"
    assert isinstance(_one(b"\x00\x00\x00\x08emeb")[1], bx.EventMessageEmpty)


def test_evte_sample_entry_23001_18_7_2_public_sample_from_mp4ff():
    data = bytes.fromhex("0000002465767465000000000000000100000014627472740000000000001f4000001f40")
    hdr, entry = _one(data)
    assert isinstance(entry, bx.EventMessageSampleEntry) and entry.data_reference_index == 1
    (child,) = [parse(data, c) for c in children(data, hdr, entry.CHILDREN_AT)]
    assert isinstance(child, bx.BitRate) and child.avgBitrate == 8000
    assert encode_box(entry, encode_box(child)) == data


def test_public_dash_segment_from_common_media_library_reads_its_emsg_v0():
    data = (VECTORS / "cml_emsg_head.m4s").read_bytes()
    kinds = [h.type for h in walk(data)]
    assert kinds == [b"styp", b"free", b"emsg"]
    hdr = next(h for h in walk(data) if h.type == b"emsg")
    box = parse(data, hdr)
    assert (box.version, box.scheme_id_uri, box.value) == (0, "urn:mpeg:dash:event:2012", "1")
    assert (box.timescale, box.presentation_time_delta, box.event_duration, box.id) == (
        1,
        1,
        65535,
        1,
    )
    assert box.message_data == b"2014-06-11T13:06:24"
    assert encode_box(box) == data[hdr.offset : hdr.end]


def test_trun_tr_flags_decide_which_fields_each_sample_has_14496_12_8_8_8():
    run = bx.TrackRun(
        version=1,
        flags=bx.DATA_OFFSET | bx.SAMPLE_SIZE | bx.SAMPLE_COMPOSITION_TIME_OFFSETS,
        sample_count=2,
        data_offset=100,
        samples=[
            bx.TrunSample(sample_size=10, sample_composition_time_offset=-512),
            bx.TrunSample(sample_size=20, sample_composition_time_offset=1024),
        ],
    )
    data = encode_box(run)
    assert len(data) == 8 + 4 + 4 + 4 + 2 * 8  # no duration or flags per sample
    back = _one(data)[1]
    assert [s.sample_composition_time_offset for s in back.samples] == [-512, 1024]
    assert [s.sample_duration for s in back.samples] == [None, None]


def test_tfhd_optional_fields_follow_tf_flags_14496_12_8_8_7():
    box = bx.TrackFragmentHeader(
        flags=bx.DEFAULT_BASE_IS_MOOF | bx.DEFAULT_SAMPLE_DURATION, default_sample_duration=3600
    )
    data = encode_box(box)
    assert len(data) == 8 + 4 + 4 + 4
    assert _one(data)[1].default_sample_duration == 3600


def test_box_header_errors_name_the_box_and_the_byte():
    with pytest.raises(BoxError, match=r"box b'emsg' at byte 0: size 200 runs"):
        list(walk(b"\x00\x00\x00\xc8emsg" + b"\0" * 20))
    with pytest.raises(BoxError, match="smaller than its header"):
        list(walk(b"\x00\x00\x00\x04emsg"))
    cut = emsg(
        SECTION,
        version=1,
        timescale=90000,
        presentation_time=0,
        segment_start=0,
        duration=None,
        event_id=1,
    )[:36]
    cut = struct.pack(">I", len(cut)) + cut[4:]
    with pytest.raises(BoxError, match="emsg box at byte 0"):
        _one(cut)


def test_emsg_goes_after_styp_and_before_the_first_moof():
    seg = event_track_segment([(90000, event_sample([]))], sequence=1, decode_time=0)
    box = emsg(
        SECTION,
        version=1,
        timescale=90000,
        presentation_time=0,
        segment_start=0,
        duration=None,
        event_id=1,
    )
    out = insert_emsg(seg, [box, box])
    assert [h.type for h in walk(out)] == [b"styp", b"emsg", b"emsg", b"moof", b"mdat"]


def test_event_track_written_then_read_gives_its_emib_at_the_sample_time():
    inst = bx.EventMessageInstance(
        presentation_time_delta=180000, id=5, scheme_id_uri=SCHEME, message_data=SECTION
    )
    init = event_track_init(track_id=3)
    seg1 = event_track_segment(
        [(90000, event_sample([]))], sequence=1, decode_time=720000, track_id=3
    )
    seg2 = event_track_segment(
        [(90000, event_sample([inst]))], sequence=2, decode_time=810000, track_id=3
    )
    frag = read_fragmented([init, seg1, seg2])
    (track,) = frag.tracks.values()
    assert (track.track_id, track.handler, track.sample_entry, track.role) == (
        3,
        "meta",
        "evte",
        "scte35",
    )
    assert frag.samples["pts"].tolist() == [720000, 810000]
    (msg,) = frag.messages
    assert msg.carriage == "event_track" and msg.message_data == SECTION
    assert (msg.arrival, msg.time) == (810000, 990000)
    assert not frag.errors


def test_a_truncated_segment_keeps_what_came_before_and_says_where_it_broke():
    init = event_track_init()
    seg = event_track_segment([(90000, event_sample([]))], sequence=1, decode_time=0)
    frag = read_fragmented([init, seg, seg[:40]])
    assert len(frag.samples["pts"]) == 1
    assert frag.errors and "runs" in frag.errors[0]["detail"]


def test_elst_version_0_and_1_carry_a_signed_media_time_14496_12_8_6_6():
    for version in (0, 1):
        box = bx.EditList(
            version=version,
            entry_count=2,
            entries=[
                bx.EditListEntry(segment_duration=1000, media_time=-1),
                bx.EditListEntry(segment_duration=0, media_time=7200),
            ],
        )
        data = encode_box(box)
        width = 16 if version else 8
        assert len(data) == 8 + 4 + 4 + 2 * (width + 4)
        back = _one(data)[1]
        assert [e.media_time for e in back.entries] == [-1, 7200]
