"""Cue plans: the cues a break becomes decode to the intended values and pair correctly."""

from __future__ import annotations

import pytest
import threefive

from scte35lab.cue import Cue
from scte35lab.schedule import (
    SEGMENTATION_PAIRS,
    AdBreak,
    EventIdAllocator,
    EventIdError,
    Schedule,
    ScheduleValidationError,
    SpliceInsertPlan,
    StreamClock,
    TimeSignalPlan,
    plan_for,
    plan_schedule,
    planned_frame,
)

TICKS = 90_000


def _decoded(planned):
    """Each planned cue as the decoder reads it back from its bytes."""
    return [Cue.decode(p.cue.encode()) for p in planned]


def _threefive(cue: Cue) -> dict:
    """An independent decoder's reading of the same section (threefive)."""
    tf = threefive.Cue(cue.to_base64())
    tf.decode()
    return tf.get()


# -- splice_insert -------------------------------------------------------------------------


def test_splice_insert_plan_out_and_in_decode_to_the_break():
    brk = AdBreak(600, 30, cue_id="mid1", provider_avail_id=0xABCD, avail_num=2, avails_expected=4)
    planned = Schedule([brk]).cues(allocator=EventIdAllocator(start=1000))
    assert [(p.cue_id, p.role, p.splice_time) for p in planned] == [
        ("mid1", "out", 600.0),
        ("mid1", "in", 630.0),
    ]
    out, back_in = _decoded(planned)
    assert out.command_name == "splice_insert"
    assert out.splice_event_id == back_in.splice_event_id == 1000
    assert out.out_of_network_indicator is True and back_in.out_of_network_indicator is False
    assert out.pts_time == 600 * TICKS and back_in.pts_time == 630 * TICKS
    assert out.break_duration == 30 * TICKS and back_in.break_duration is None
    assert out.command.break_duration.auto_return is True
    assert (out.command.avail_num, out.command.avails_expected) == (2, 4)
    assert [d.provider_avail_id for d in out.descriptors] == [0xABCD]
    assert planned[0].splice_pts is None  # not mapped to a stream yet

    tf = _threefive(planned[0].cue)["command"]
    assert tf["splice_event_id"] == 1000 and tf["out_of_network_indicator"] is True
    assert tf["break_duration"] == 30.0 and tf["break_auto_return"] is True
    assert tf["pts_time"] == 600.0


def test_splice_insert_auto_return_off_and_avails_numbered_by_position():
    s = Schedule(
        [AdBreak(100, 30, cue_id="a", auto_return=False), AdBreak(300, 60, cue_id="b")],
        plan="splice_insert",
    )
    out_a, _, out_b, _ = _decoded(s.cues())
    assert out_a.command.break_duration.auto_return is False
    assert (out_a.command.avail_num, out_a.command.avails_expected) == (1, 2)
    assert (out_b.command.avail_num, out_b.command.avails_expected) == (2, 2)
    assert out_b.break_duration == 60 * TICKS


# -- time_signal ---------------------------------------------------------------------------


@pytest.mark.parametrize("pair", list(SEGMENTATION_PAIRS))
def test_time_signal_plan_each_pair_has_start_and_end_types(pair):
    brk = AdBreak(120.5, 45, cue_id="x", upid_type=0x09, upid="SIGNAL:Ad-1")
    planned = Schedule([brk], plan=f"time_signal:{pair}").cues()
    out, back_in = _decoded(planned)
    start_type, end_type = SEGMENTATION_PAIRS[pair]
    (sd_out,) = out.segmentation_descriptors
    (sd_in,) = back_in.segmentation_descriptors
    assert out.command_name == back_in.command_name == "time_signal"
    assert out.pts_time == round(120.5 * TICKS) and back_in.pts_time == round(165.5 * TICKS)
    assert (sd_out.segmentation_type_id, sd_in.segmentation_type_id) == (start_type, end_type)
    assert sd_out.segmentation_event_id == sd_in.segmentation_event_id
    assert sd_out.segmentation_duration == 45 * TICKS and sd_in.segmentation_duration is None
    assert sd_out.segmentation_upid_type == sd_in.segmentation_upid_type == 0x09
    assert sd_out.segmentation_upid == sd_in.segmentation_upid == "SIGNAL:Ad-1"
    assert (sd_out.segment_num, sd_out.segments_expected) == (1, 1)

    tf = _threefive(planned[0].cue)["descriptors"][0]
    assert tf["segmentation_type_id"] == start_type
    assert tf["segmentation_upid"] == "SIGNAL:Ad-1"
    assert tf["segmentation_duration"] == 45.0


def test_time_signal_with_several_pairs_gives_each_pair_its_own_event_id():
    s = Schedule(
        [AdBreak(60, 30, cue_id="a"), AdBreak(200, 90, cue_id="b")],
        plan="time_signal:break+provider_po+distributor_po",
    )
    planned = s.cues()
    outs = [c for p, c in zip(planned, _decoded(planned), strict=True) if p.role == "out"]
    ins = [c for p, c in zip(planned, _decoded(planned), strict=True) if p.role == "in"]
    for num, (o, i) in enumerate(zip(outs, ins, strict=True), start=1):
        assert [d.segmentation_type_id for d in o.segmentation_descriptors] == [0x22, 0x34, 0x36]
        assert [d.segmentation_type_id for d in i.segmentation_descriptors] == [0x23, 0x35, 0x37]
        out_ids = [d.segmentation_event_id for d in o.segmentation_descriptors]
        assert out_ids == [d.segmentation_event_id for d in i.segmentation_descriptors]
        assert len(set(out_ids)) == 3
        assert {(d.segment_num, d.segments_expected) for d in o.segmentation_descriptors} == {
            (num, 2)
        }
    all_ids = [p.event_ids for p in planned if p.role == "out"]
    assert len({i for ids in all_ids for i in ids}) == 6  # nothing repeats across breaks


def test_upid_types_other_than_text():
    s = Schedule(
        [
            AdBreak(10, 30, cue_id="ti", upid_type=0x08, upid="0x0000000012345678"),
            AdBreak(
                100, 30, cue_id="uuid", upid_type=0x10, upid="12345678-1234-5678-1234-567812345678"
            ),
        ],
        plan="time_signal:provider_ad",
    )
    ti, _, uu, _ = _decoded(s.cues())
    assert ti.segmentation_descriptors[0].segmentation_upid == 0x12345678
    assert ti.segmentation_descriptors[0].upid_text == "0x0000000012345678"
    assert uu.segmentation_descriptors[0].upid_text == "12345678-1234-5678-1234-567812345678"


# -- per-break plans, order, mapping -------------------------------------------------------


def test_plan_is_chosen_per_schedule_or_per_break():
    s = Schedule(
        [AdBreak(10, 30, cue_id="si"), AdBreak(100, 30, cue_id="ts", plan="time_signal:break")],
        plan="splice_insert",
    )
    planned = s.cues()
    assert [(p.cue_id, p.cue.command_name, p.plan) for p in planned] == [
        ("si", "splice_insert", "splice_insert"),
        ("si", "splice_insert", "splice_insert"),
        ("ts", "time_signal", "time_signal:break"),
        ("ts", "time_signal", "time_signal:break"),
    ]


def test_back_to_back_breaks_send_the_in_before_the_next_out():
    s = Schedule([AdBreak(10, 30, cue_id="a"), AdBreak(40, 30, cue_id="b")])
    assert [(p.cue_id, p.role) for p in s.cues()] == [
        ("a", "out"),
        ("a", "in"),
        ("b", "out"),
        ("b", "in"),
    ]


def test_plan_mapped_to_a_stream_clock_wraps_pts():
    clock = StreamClock(2**33 - 5 * TICKS)  # the stream wraps 5 s in
    s = Schedule([AdBreak(2, 10, cue_id="a")], plan="time_signal")
    out, back_in = s.cues(clock=clock)
    assert out.splice_pts == 2**33 - 3 * TICKS
    assert back_in.splice_pts == 7 * TICKS  # after the wrap
    assert Cue.decode(out.cue.encode()).splice_point == out.splice_pts
    assert Cue.decode(back_in.cue.encode()).splice_point == back_in.splice_pts
    # mapping later gives the same cues
    unmapped = s.cues()
    assert [p.mapped(clock).cue.encode() for p in unmapped] == [
        p.cue.encode() for p in (out, back_in)
    ]


def test_fractional_seconds_round_to_the_nearest_tick():
    s = Schedule([AdBreak(1001 / 30000 * 300, 1001 / 30000 * 900, cue_id="f")])
    out, back_in = s.cues(clock=StreamClock(0))
    assert out.splice_pts == 300 * 3003
    assert back_in.splice_pts == 1200 * 3003
    assert out.cue.break_duration == 900 * 3003


def test_planned_frame_has_one_row_per_cue():
    s = Schedule([AdBreak(10, 30, cue_id="a")], plan="time_signal:break+provider_po")
    df = planned_frame(s.cues(clock=StreamClock(0)))
    assert list(df["role"]) == ["out", "in"]
    assert list(df["segmentation_type_ids"]) == ["0x22,0x34", "0x23,0x35"]
    assert list(df["splice_pts"]) == [10 * TICKS, 40 * TICKS]
    assert Cue.decode(df["base64"][0]).encode() == Cue.decode(df["hex"][0]).encode()


def test_invalid_schedule_is_not_planned():
    s = Schedule([AdBreak(10, 30, cue_id="a"), AdBreak(20, 30, cue_id="b")])
    with pytest.raises(ScheduleValidationError, match="overlap"):
        s.cues()
    assert len(plan_schedule(s, validate=False)) == 4


def test_plan_for_reads_specs():
    assert isinstance(plan_for("splice_insert"), SpliceInsertPlan)
    assert plan_for("time_signal") == TimeSignalPlan(("provider_po",))
    assert plan_for("time_signal:break+provider_ad").spec == "time_signal:break+provider_ad"


# -- event ids -----------------------------------------------------------------------------


def test_event_ids_never_repeat_and_chosen_ids_are_kept():
    s = Schedule(
        [
            AdBreak(10, 30, cue_id="a"),
            AdBreak(100, 30, cue_id="b", splice_event_id=1),  # the id "a" would have got
            AdBreak(200, 30, cue_id="c", segmentation_event_id=2, plan="time_signal:break"),
        ]
    )
    alloc = EventIdAllocator()
    ids = {p.cue_id: p.event_ids for p in s.cues(allocator=alloc) if p.role == "out"}
    assert ids["b"] == (1,) and ids["c"] == (2,)
    assert ids["a"] not in {(1,), (2,)}
    # planning again with the same allocator keeps each break's ids
    again = {p.cue_id: p.event_ids for p in s.cues(allocator=alloc) if p.role == "out"}
    assert again == ids
    # a new break never gets an id used before in the stream
    s.add(AdBreak(300, 30, cue_id="d"))
    new = {p.cue_id: p.event_ids for p in s.cues(allocator=alloc) if p.role == "out"}
    assert new["d"][0] not in {i for v in ids.values() for i in v}


def test_choosing_an_id_another_break_already_used_is_an_error():
    alloc = EventIdAllocator()
    Schedule([AdBreak(10, 30, cue_id="a", splice_event_id=5)]).cues(allocator=alloc)
    with pytest.raises(EventIdError, match=r"event id 5 was already used .* by 'a/splice'"):
        Schedule([AdBreak(100, 30, cue_id="z", splice_event_id=5)]).cues(allocator=alloc)
    with pytest.raises(EventIdError, match="outside"):
        alloc.claim(2**32)
