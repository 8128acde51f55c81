"""What ANSI/SCTE 35 2023r1 changed: sub-segments on eight start types, current table names."""

from __future__ import annotations

import pytest

from scte35lab.cue import (
    Cue,
    SegmentationDescriptor,
    crc32_mpeg2,
    segmentation_type_name,
    upid_type_name,
)
from scte35lab.cue.tables import SUB_SEGMENT_TYPES

EIGHT = (0x30, 0x32, 0x34, 0x36, 0x38, 0x3A, 0x44, 0x46)


def _seg(type_id: int, **kw: object) -> SegmentationDescriptor:
    return SegmentationDescriptor(
        segmentation_event_id=7,
        segmentation_type_id=type_id,
        segmentation_duration=90_000,
        segment_num=1,
        segments_expected=2,
        **kw,
    )


def test_sub_segment_types_are_the_eight_starts_of_the_2022_standard() -> None:
    assert frozenset(EIGHT) == SUB_SEGMENT_TYPES


@pytest.mark.parametrize("type_id", EIGHT)
def test_sub_segment_fields_decode_for_every_start_type_that_has_them(type_id: int) -> None:
    data = Cue.time_signal(0, [_seg(type_id, sub_segment_num=3, sub_segments_expected=4)]).encode()
    got = Cue.decode(data).segmentation_descriptors[0]
    assert (got.sub_segment_num, got.sub_segments_expected) == (3, 4)
    assert got.extra_bytes == b""
    assert Cue.decode(data).encode() == data


@pytest.mark.parametrize("type_id", EIGHT)
def test_a_descriptor_without_room_for_sub_segments_reads_them_as_absent(type_id: int) -> None:
    data = Cue.time_signal(0, [_seg(type_id)]).encode()
    got = Cue.decode(data).segmentation_descriptors[0]
    assert got.sub_segment_num is None and got.sub_segments_expected is None
    assert Cue.decode(data).encode() == data


def test_two_trailing_bytes_after_a_break_start_stay_extra_bytes() -> None:
    d = _seg(0x22)
    d.extra_bytes = b"\x05\x06"
    data = Cue.time_signal(0, [d]).encode()
    got = Cue.decode(data).segmentation_descriptors[0]
    assert got.sub_segment_num is None and got.extra_bytes == b"\x05\x06"
    assert Cue.decode(data).encode() == data


def test_provider_ad_start_bytes_once_kept_as_extra_are_now_sub_segments() -> None:
    # What a 2022 encoder writes for Provider Advertisement Start with sub-segments, built by
    # appending the two bytes to a descriptor an older reader would have left them in.
    old = _seg(0x30)
    old.extra_bytes = b"\x01\x02"
    data = bytearray(Cue.time_signal(0, [old]).encode())
    data[-4:] = crc32_mpeg2(bytes(data[:-4])).to_bytes(4, "big")
    got = Cue.decode(bytes(data)).segmentation_descriptors[0]
    assert (got.sub_segment_num, got.sub_segments_expected, got.extra_bytes) == (1, 2, b"")
    assert Cue.decode(bytes(data)).encode() == bytes(data)


def test_builder_writes_sub_segments_for_ad_and_ad_block_starts() -> None:
    for kind in ("provider_ad", "distributor_ad", "provider_ad_block", "distributor_ad_block"):
        start, _ = Cue.segmentation_pair(
            kind, 1, 0, 90_000, sub_segment_num=1, sub_segments_expected=3
        )
        got = Cue.decode(start.encode()).segmentation_descriptors[0]
        assert (got.sub_segment_num, got.sub_segments_expected) == (1, 3), kind


def test_sub_segments_on_these_types_are_not_a_validation_problem() -> None:
    for type_id in EIGHT:
        cue = Cue.time_signal(0, [_seg(type_id, sub_segment_num=1, sub_segments_expected=1)])
        assert not [p for p in cue.validate() if "sub_segment" in p], hex(type_id)


def test_table_names_follow_the_2023_revision() -> None:
    assert upid_type_name(0x08) == "AiringID"
    assert upid_type_name(0x12) == "Reserved (0x12)"
    assert segmentation_type_name(0x44) == "Provider Ad Block Start"
    assert segmentation_type_name(0x47) == "Distributor Ad Block End"
