"""``Cue.validate()``: one test per rule a receiver would trip on."""

from __future__ import annotations

from scte35lab.cue import (
    Cue,
    DtmfDescriptor,
    SegmentationDescriptor,
    SpliceInsert,
    SpliceTime,
)


def _seg(**kw: object) -> SegmentationDescriptor:
    base: dict = {"segmentation_event_id": 1, "segmentation_type_id": 0x10}
    base.update(kw)
    return SegmentationDescriptor(**base)


def test_sound_cues_have_no_problems() -> None:
    assert Cue.splice_insert(1, pts_time=90000, break_duration=90000).validate() == []
    assert (
        Cue.time_signal(0, [_seg(segmentation_type_id=0x34, segmentation_duration=1)]).validate()
        == []
    )


def test_break_type_without_duration_is_reported() -> None:
    problems = Cue.time_signal(0, [_seg(segmentation_type_id=0x34)]).validate()
    assert any("no segmentation_duration" in p for p in problems)


def test_sub_segment_fields_on_a_type_without_them_are_reported() -> None:
    problems = Cue.time_signal(
        0,
        [
            _seg(
                segmentation_type_id=0x22,
                segmentation_duration=1,
                sub_segment_num=1,
                sub_segments_expected=1,
            )
        ],
    ).validate()
    assert any("sub_segment fields" in p for p in problems)


def test_pts_time_beyond_33_bits_is_reported() -> None:
    problems = Cue(
        SpliceInsert(
            splice_event_id=1, splice_time=SpliceTime(1 << 33), out_of_network_indicator=False
        )
    ).validate()
    assert any("beyond 33 bits" in p for p in problems)


def test_conflicting_duplicate_segmentation_descriptors_are_reported() -> None:
    a = _seg(segmentation_type_id=0x30, segmentation_duration=90000)
    b = _seg(segmentation_type_id=0x30, segmentation_duration=180000)
    assert any("disagree" in p for p in Cue.time_signal(0, [a, b]).validate())
    assert not any("disagree" in p for p in Cue.time_signal(0, [a, a]).validate())


def test_content_identification_without_upid_is_reported() -> None:
    assert any(
        "needs a UPID" in p
        for p in Cue.time_signal(0, [_seg(segmentation_type_id=0x01)]).validate()
    )


def test_fixed_length_upid_of_the_wrong_length_is_reported() -> None:
    d = _seg(segmentation_upid_type=0x0A, segmentation_upid=b"\x00" * 5)
    assert any("is 12 bytes, got 5" in p for p in Cue.time_signal(0, [d]).validate())


def test_immediate_splice_insert_with_a_time_is_reported() -> None:
    cmd = SpliceInsert(
        splice_event_id=1,
        splice_immediate_flag=True,
        splice_time=SpliceTime(5),
        out_of_network_indicator=False,
    )
    assert any("splice_immediate" in p for p in Cue(cmd).validate())


def test_out_of_network_without_break_duration_is_reported() -> None:
    assert any("without break_duration" in p for p in Cue.splice_insert(1, pts_time=0).validate())


def test_time_signal_without_time_is_reported() -> None:
    assert any("immediate" in p for p in Cue.time_signal(None).validate())


def test_restricted_delivery_needs_its_flags() -> None:
    d = _seg(delivery_not_restricted_flag=False)
    problems = Cue.time_signal(0, [d]).validate()
    assert any("restriction flags" in p for p in problems)
    assert any("cannot be encoded" in p for p in problems)


def test_dtmf_characters_outside_the_keypad_are_reported() -> None:
    d = DtmfDescriptor(preroll=10, dtmf_chars="12A")
    assert any(
        "DTMF" in p
        for p in Cue.splice_insert(1, pts_time=0, break_duration=1, descriptors=[d]).validate()
    )


def test_segment_num_beyond_segments_expected_is_reported() -> None:
    d = _seg(segment_num=3, segments_expected=2)
    assert any("segment_num 3 exceeds" in p for p in Cue.time_signal(0, [d]).validate())
