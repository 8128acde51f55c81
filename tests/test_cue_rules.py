"""One test per rule of the codec, named for the rule."""

from __future__ import annotations

import base64

import pytest

from scte35lab.cue import (
    AudioComponent,
    AudioDescriptor,
    AvailDescriptor,
    BreakDuration,
    Cue,
    InsertComponent,
    MidUpid,
    Mpu,
    PrivateDescriptor,
    ScheduleEvent,
    SegmentationDescriptor,
    SpliceInsert,
    SpliceSchedule,
    SpliceTime,
    TimeSignal,
    UnknownCommand,
    crc32_mpeg2,
)
from scte35lab.cue.crc import crc32_mpeg2_reference
from scte35lab.cue.tables import segmentation_type_name
from scte35lab.errors import InputFormatError, Scte35Error

SPLICE_INSERT = "/DAvAAAAAAAA///wFAVIAACPf+/+c2nALv4AUsz1AAAAAAAKAAhDVUVJAAABNWLbowo="
TIME_SIGNAL = "/DA0AAAAAAAA///wBQb+cr0AUAAeAhxDVUVJSAAAjn/PAAGlmbAICAAAAAAsoKGKNAIAmsnRfg=="


def _with_crc(body: bytes) -> bytes:
    return body + crc32_mpeg2(body).to_bytes(4, "big")


def test_crc_32_is_crc32_mpeg2_over_the_section() -> None:
    for data in (b"", b"\x00", bytes(range(256)), base64.b64decode(SPLICE_INSERT)[:-4]):
        assert crc32_mpeg2(data) == crc32_mpeg2_reference(data)
    assert crc32_mpeg2(base64.b64decode(SPLICE_INSERT)) == 0


def test_encode_computes_section_length_and_crc() -> None:
    data = Cue.splice_insert(7, pts_time=90000, break_duration=2700000).encode()
    assert ((data[1] & 0x0F) << 8 | data[2]) + 3 == len(data)
    assert crc32_mpeg2(data) == 0


def test_reserved_bits_are_written_as_ones() -> None:
    data = Cue.splice_insert(1, pts_time=0).encode()
    assert data[18] & 0x7F == 0x7F  # reserved after splice_event_cancel_indicator
    assert data[19] & 0x07 == 0x07  # reserved after event_id_compliance_flag
    assert data[20] & 0x7E == 0x7E  # splice_time reserved 6


def test_reserved_bits_read_as_zero_are_kept_on_reencode() -> None:
    raw = bytearray(base64.b64decode(SPLICE_INSERT)[:-4])
    raw[18] &= 0x80  # zero the 7 reserved bits after splice_event_cancel_indicator
    data = _with_crc(bytes(raw))
    cue = Cue.decode(data)
    assert cue.command.reserved_bits() == {"reserved_0": 0}
    assert cue.encode() == data
    assert Cue.from_dict(cue.to_dict()).encode() == data


def test_pts_time_and_splice_point_include_pts_adjustment_mod_2_33() -> None:
    cue = Cue.time_signal((1 << 33) - 100, pts_adjustment=300)
    assert cue.splice_point == 200
    assert Cue.decode(cue.encode()).splice_point == 200


def test_legacy_splice_command_length_0xfff_is_kept() -> None:
    cue = Cue.splice_insert(5, pts_time=1000)
    cue.splice_command_length = 0xFFF
    data = cue.encode()
    assert (data[11] & 0x0F) << 8 | data[12] == 0xFFF
    back = Cue.decode(data)
    assert back.splice_command_length == 0xFFF
    assert back.command == cue.command
    assert back.encode() == data


def test_encrypted_section_decodes_its_clear_header_and_keeps_the_rest() -> None:
    clear = Cue.splice_insert(9, pts_time=1234).encode()
    raw = bytearray(clear[:-4]) + b"\x11\x22\x33\x44"  # E_CRC_32 placeholder
    raw[4] |= 0x80 | (1 << 1)  # encrypted_packet=1, encryption_algorithm=1 (DES ECB)
    raw[9] = 7  # cw_index
    length = len(raw) + 4 - 3
    raw[1] = (raw[1] & 0xF0) | (length >> 8)
    raw[2] = length & 0xFF
    data = _with_crc(bytes(raw))
    cue = Cue.decode(data)
    assert cue.encrypted_packet and cue.encryption_algorithm == 1 and cue.cw_index == 7
    assert cue.command is None and cue.command_name == "encrypted"
    assert cue.e_crc_32 == 0x11223344
    assert cue.encrypted_data == bytes(raw[13:])
    assert cue.encode() == data


def test_unknown_command_type_is_kept_as_raw_bytes() -> None:
    cue = Cue(UnknownCommand(splice_command_type=0x42, raw=b"\x01\x02\x03"))
    back = Cue.decode(cue.encode())
    assert back.command == UnknownCommand(0x42, b"\x01\x02\x03")
    assert back.splice_command_type == 0x42


def test_descriptor_of_another_identifier_is_kept_raw() -> None:
    d = PrivateDescriptor(splice_descriptor_tag=0x00, identifier=0x53415053, private_bytes=b"\x0b")
    back = Cue.decode(Cue.time_signal(1, [d]).encode())
    assert back.descriptors == [d]  # tag 0 but not CUEI: not an avail_descriptor


def test_descriptor_with_a_reserved_tag_is_kept_raw() -> None:
    d = PrivateDescriptor(splice_descriptor_tag=0x70, identifier=0x43554549, private_bytes=b"ab")
    assert Cue.decode(Cue.time_signal(1, [d]).encode()).descriptors == [d]


def test_bytes_a_descriptor_body_leaves_unread_are_kept() -> None:
    d = AvailDescriptor(provider_avail_id=5, extra_bytes=b"\xaa\xbb")
    back = Cue.decode(Cue.splice_insert(1, pts_time=0, descriptors=[d]).encode())
    assert back.descriptors[0].extra_bytes == b"\xaa\xbb"


def test_alignment_stuffing_is_kept() -> None:
    cue = Cue.time_signal(10)
    cue.alignment_stuffing = b"\xff\xff\xff"
    assert Cue.decode(cue.encode()).alignment_stuffing == b"\xff\xff\xff"


def test_component_mode_splice_insert_reads_each_component_time() -> None:
    cmd = SpliceInsert(
        splice_event_id=3,
        program_splice_flag=False,
        components=[
            InsertComponent(0x21, SpliceTime(1000)),
            InsertComponent(0x22, SpliceTime(2000)),
        ],
        break_duration=BreakDuration(True, 90000),
    )
    back = Cue.decode(Cue(cmd).encode()).command
    assert [(c.component_tag, c.splice_time.pts_time) for c in back.components] == [
        (0x21, 1000),
        (0x22, 2000),
    ]
    assert back.break_duration.duration == 90000


def test_component_mode_immediate_splice_insert_has_no_component_times() -> None:
    cmd = SpliceInsert(
        splice_event_id=3,
        program_splice_flag=False,
        splice_immediate_flag=True,
        components=[InsertComponent(0x21), InsertComponent(0x22)],
    )
    data = Cue(cmd).encode()
    assert Cue.decode(data).command == cmd
    assert data[20:23] == b"\x02\x21\x22"  # component_count, then the tags alone


def test_splice_schedule_round_trips_program_and_component_events() -> None:
    sched = SpliceSchedule(
        [
            ScheduleEvent(
                splice_event_id=1,
                utc_splice_time=1_300_000_000,
                break_duration=BreakDuration(True, 2700000),
            ),
            ScheduleEvent(splice_event_id=2, splice_event_cancel_indicator=True),
            ScheduleEvent(splice_event_id=3, program_splice_flag=False, components=[]),
        ]
    )
    assert Cue.decode(Cue(sched).encode()).command == sched


def test_audio_descriptor_is_decoded_not_kept_as_bytes() -> None:
    d = AudioDescriptor(
        [AudioComponent(1, "eng", 0, 2, True), AudioComponent(2, "spa", 1, 5, False)]
    )
    back = Cue.decode(Cue.time_signal(0, [d]).encode()).descriptors[0]
    assert isinstance(back, AudioDescriptor)
    assert [(c.iso_code, c.num_channels) for c in back.components] == [("eng", 2), ("spa", 5)]


def test_sub_segment_fields_follow_a_start_type_that_has_them_not_its_end_type() -> None:
    po = SegmentationDescriptor(
        segmentation_event_id=1,
        segmentation_type_id=0x34,
        segmentation_duration=90000,
        sub_segment_num=1,
        sub_segments_expected=2,
    )
    back = Cue.decode(Cue.time_signal(0, [po]).encode()).descriptors[0]
    assert (back.sub_segment_num, back.sub_segments_expected) == (1, 2)
    end = SegmentationDescriptor(
        segmentation_event_id=1, segmentation_type_id=0x35, extra_bytes=b"\x01\x02"
    )
    back = Cue.decode(Cue.time_signal(0, [end]).encode()).descriptors[0]
    assert back.sub_segment_num is None and back.extra_bytes == b"\x01\x02"


def test_placement_opportunity_start_without_sub_segment_bytes_is_valid() -> None:
    po = SegmentationDescriptor(segmentation_event_id=1, segmentation_type_id=0x34)
    back = Cue.decode(Cue.time_signal(0, [po]).encode()).descriptors[0]
    assert back.sub_segment_num is None and back == po


def test_every_segmentation_type_has_its_name_from_the_standard() -> None:
    assert segmentation_type_name(0x34) == "Provider Placement Opportunity Start"
    assert segmentation_type_name(0x22) == "Break Start"
    assert segmentation_type_name(0x51) == "Network End"
    assert segmentation_type_name(0x99) == "Reserved (0x99)"


def test_structured_upids_decode_to_their_structure() -> None:
    mid = [MidUpid(0x08, 0x2CA0A18A), MidUpid(0x0F, "urn:example:1")]
    mpu = Mpu(int.from_bytes(b"ADFR", "big"), b"\x01\x02")
    for upid_type, value in ((0x0D, mid), (0x0C, mpu)):
        d = SegmentationDescriptor(
            segmentation_event_id=1,
            segmentation_type_id=0x30,
            segmentation_duration=1,
            segmentation_upid_type=upid_type,
            segmentation_upid=value,
        )
        assert (
            Cue.decode(Cue.time_signal(0, [d]).encode()).descriptors[0].segmentation_upid == value
        )


def test_eidr_is_kept_binary_and_shown_in_its_canonical_form() -> None:
    eidr = bytes.fromhex("147b5d4a8f0a3a7e4bc90000")
    d = SegmentationDescriptor(
        segmentation_event_id=1,
        segmentation_upid_type=0x0A,
        segmentation_upid=eidr,
        segmentation_type_id=0x10,
    )
    back = Cue.decode(Cue.time_signal(0, [d]).encode()).descriptors[0]
    assert back.segmentation_upid == eidr
    assert back.upid_text.startswith("10.5243/5D4A-8F0A-3A7E-4BC9-0000-")


def test_reserved_upid_types_are_kept_raw() -> None:
    d = SegmentationDescriptor(
        segmentation_event_id=1,
        segmentation_upid_type=0x12,
        segmentation_upid=b"\x00\x01",
        segmentation_type_id=0x10,
    )
    assert Cue.decode(Cue.time_signal(0, [d]).encode()).descriptors[0].segmentation_upid == (
        b"\x00\x01"
    )


def test_decode_accepts_hex_with_and_without_0x_base64_and_bytes() -> None:
    data = base64.b64decode(SPLICE_INSERT)
    forms = [
        SPLICE_INSERT,
        data,
        bytearray(data),
        memoryview(data),
        data.hex(),
        "0x" + data.hex(),
        "0X" + data.hex().upper(),
        f"  {SPLICE_INSERT}\n",
    ]
    assert all(Cue.decode(f) == Cue.decode(data) for f in forms)


def test_decode_accepts_wrapped_unpadded_and_urlsafe_base64_and_spaced_hex() -> None:
    data = base64.b64decode(TIME_SIGNAL)
    b64 = base64.b64encode(data).decode()
    forms = [
        b64[:20] + "\n" + b64[20:],
        b64.rstrip("="),
        base64.urlsafe_b64encode(data).decode(),
        " ".join(data.hex()[i : i + 8] for i in range(0, 2 * len(data), 8)),
        "0x " + data.hex(),
    ]
    assert all(Cue.decode(f).encode() == data for f in forms)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("0xfc3", "odd number of digits"),
        ("fc30f", "odd number of digits"),
        ("/DA0AAA*", "not base64, hex, JSON or XML"),
        ("0x12ab", "start with 0x12"),
        ("hello", "not valid base64"),
    ],
)
def test_text_that_is_not_a_section_is_refused_saying_why(text: str, why: str) -> None:
    with pytest.raises(InputFormatError, match=why):
        Cue.decode(text)


def test_decode_reads_a_section_from_ts_packets() -> None:
    section = base64.b64decode(TIME_SIGNAL)
    payload = b"\x00" + section  # pointer_field 0
    pkt = b"\x47\x41\xf5\x10" + payload + b"\xff" * (184 - len(payload))
    assert Cue.decode(pkt) == Cue.decode(section)


def test_decode_reads_a_section_spanning_two_ts_packets() -> None:
    d = SegmentationDescriptor(
        segmentation_event_id=1,
        segmentation_upid_type=0x0F,
        segmentation_upid="urn:x:" + "a" * 200,
        segmentation_type_id=0x10,
    )
    section = Cue.time_signal(5, [d]).encode()
    first = b"\x47\x41\xf5\x10" + b"\x00" + section[:183]
    rest = section[183:]
    second = b"\x47\x01\xf5\x11" + rest + b"\xff" * (184 - len(rest))
    assert Cue.decode(first + second).encode() == section


def test_decode_accepts_trailing_ts_stuffing_after_the_section() -> None:
    data = base64.b64decode(TIME_SIGNAL)
    assert Cue.decode(data + b"\xff" * 20).encode() == data


def test_to_dict_uses_the_standards_names_and_ticks_with_seconds() -> None:
    d = Cue.decode(SPLICE_INSERT).to_dict()
    cmd = d["splice_command"]
    assert d["splice_command_type"] == 5 and d["pts_adjustment"] == 0
    assert cmd["splice_event_id"] == 1207959695 and cmd["out_of_network_indicator"] is True
    assert cmd["splice_time"]["pts_time"] == 1936310318
    assert cmd["splice_time"]["pts_time_seconds"] == pytest.approx(21514.559089)
    assert cmd["break_duration"] == {
        "auto_return": True,
        "duration": 5426421,
        "duration_seconds": 60.293567,
    }
    assert d["descriptors"][0]["provider_avail_id"] == 309


def test_time_signal_builder_makes_a_placement_opportunity_pair() -> None:
    start = SegmentationDescriptor(
        segmentation_event_id=9, segmentation_type_id=0x34, segmentation_duration=30 * 90000
    )
    cue = Cue.time_signal(900000, [start])
    assert isinstance(cue.command, TimeSignal) and cue.pts_time == 900000
    assert cue.segmentation_descriptors[0].segmentation_type_name == (
        "Provider Placement Opportunity Start"
    )
    assert cue.validate() == []


def test_splice_insert_without_time_is_splice_immediate() -> None:
    cue = Cue.decode(Cue.splice_insert(4, break_duration=90000).encode())
    assert cue.command.splice_immediate_flag and cue.pts_time is None and cue.splice_point is None


def test_with_splice_time_rewrites_program_and_component_times() -> None:
    cue = Cue.splice_insert(1, pts_time=5).with_splice_time((1 << 33) + 7)
    assert cue.pts_time == 7
    comp = Cue(
        SpliceInsert(program_splice_flag=False, components=[InsertComponent(1, SpliceTime(0))])
    )
    assert comp.with_splice_time(99).command.components[0].splice_time.pts_time == 99


def test_repr_and_html_show_the_decoded_cue() -> None:
    cue = Cue.decode(TIME_SIGNAL)
    assert "time_signal" in repr(cue) and "Provider Placement Opportunity Start" in repr(cue)
    html = cue._repr_html_()
    assert "<table" in html and "segmentation_type_id" in html and TIME_SIGNAL in html


def test_segmentation_pair_builds_matching_start_and_end_cues() -> None:
    from scte35lab.cue import Mpu

    upid = Mpu(int.from_bytes(b"ADFR", "big"), b"break-7")
    for kind, start_type in (
        ("break", 0x22),
        ("provider_ad", 0x30),
        ("distributor_ad", 0x32),
        ("provider_po", 0x34),
        ("distributor_po", 0x36),
    ):
        out, back = Cue.segmentation_pair(
            kind,
            7,
            900_000,
            2_700_000,
            upid_type=0x0C,
            upid=upid,
            segment_num=1,
            segments_expected=1,
        )
        start = Cue.decode(out.encode()).segmentation_descriptors[0]
        end = Cue.decode(back.encode()).segmentation_descriptors[0]
        assert (start.segmentation_type_id, end.segmentation_type_id) == (
            start_type,
            start_type + 1,
        )
        assert start.segmentation_duration == 2_700_000 and end.segmentation_duration is None
        assert start.segmentation_upid == end.segmentation_upid == upid
        assert out.pts_time == 900_000 and back.pts_time == 3_600_000
        assert out.validate() == [] and back.validate() == []


def test_segmentation_pair_wraps_the_end_time_at_2_33() -> None:
    _, back = Cue.segmentation_pair("break", 1, (1 << 33) - 90_000, 180_000)
    assert back.pts_time == 90_000


def test_segmentation_pair_refuses_an_unknown_kind() -> None:
    with pytest.raises(Scte35Error, match="unknown segment kind"):
        Cue.segmentation_pair("commercial", 1, 0, 1)
