"""AdBreak, Schedule, timecode and clock: validation rules and round trips."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scte35lab import Scte35Error
from scte35lab.errors import InvalidFieldError
from scte35lab.schedule import (
    RULES,
    AdBreak,
    Schedule,
    ScheduleError,
    ScheduleRules,
    ScheduleValidationError,
    StreamClock,
    format_time,
    parse_time,
)

# -- timecode ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fps", "seconds"),
    [
        ("90", None, 90.0),
        ("1:30", None, 90.0),
        ("00:10:00.000", None, 600.0),
        ("01:02:03.5", None, 3723.5),
        ("-00:00:01.250", None, -1.25),
        ("00:00:10:12", 25, 10.48),
        ("00:00:01:00", 30000 / 1001, 30 * 1001 / 30000),
        ("00:01:00;02", 30000 / 1001, 1800 * 1001 / 30000),  # first frame after a drop
        ("00:10:00;00", 30000 / 1001, 17982 * 1001 / 30000),  # no drop at 10-minute marks
        ("01:00:00;00", 30000 / 1001, 107892 * 1001 / 30000),
        ("00:01:00;04", 60000 / 1001, 3600 * 1001 / 60000),
    ],
)
def test_parse_time_reads_seconds_clock_and_frame_timecode(text, fps, seconds):
    assert parse_time(text, fps) == pytest.approx(seconds, abs=1e-9)


@pytest.mark.parametrize(
    ("text", "fps", "needle"),
    [
        ("00:00:10:12", None, "needs the frame rate"),
        ("00:00:10:25", 25, "frame 25 does not exist at 25 fps"),
        ("00:61:00.000", None, "below 60"),
        ("00:01:00;00", 30000 / 1001, "dropped frame"),
        ("00:00:01;00", 25, "only exists at 29.97 or 59.94"),
        ("ten seconds", None, "cannot read 'ten seconds' as a time"),
    ],
)
def test_parse_time_rejects_bad_timecode_with_a_reason(text, fps, needle):
    with pytest.raises(ScheduleError, match=needle):
        parse_time(text, fps)


@given(st.integers(min_value=0, max_value=24 * 3600 * 30))
def test_drop_frame_timecode_round_trips_every_frame(frame):
    fps = 30000 / 1001
    text = format_time(frame / fps, fps)
    assert ";" in text
    assert round(parse_time(text, fps) * fps) == frame


@given(st.integers(min_value=0, max_value=10**9))
def test_millisecond_timecode_round_trips(ms):
    assert round(parse_time(format_time(ms / 1000)) * 1000) == ms


# -- clock ---------------------------------------------------------------------------------


def test_clock_maps_seconds_to_pts_with_wrap():
    first = 2**33 - 90_000  # one second before the wrap
    clock = StreamClock(first)
    assert clock.pts(0) == first
    assert clock.pts(1) == 0
    assert clock.pts(10.5) == round(9.5 * 90_000)
    assert clock.pts(1 / 3) == (first + 30_000) % 2**33
    assert clock.seconds(clock.pts(10.5)) == pytest.approx(10.5)
    # a PTS one lap later unwraps near the time asked about
    lap = 2**33 / 90_000
    assert clock.seconds(clock.pts(10.5), near=lap) == pytest.approx(10.5 + lap)


def test_clock_maps_seconds_to_wall_time():
    t0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    clock = StreamClock(1234, t0)
    assert clock.wall(90.25) == t0 + timedelta(seconds=90.25)
    with pytest.raises(InvalidFieldError, match="timezone-aware"):
        StreamClock(0, datetime(2026, 1, 1))
    with pytest.raises(ScheduleError, match="no started_at"):
        StreamClock(0).wall(1)
    with pytest.raises(InvalidFieldError, match="outside"):
        StreamClock(2**33)


# -- AdBreak -------------------------------------------------------------------------------


def test_adbreak_reads_timecodes_and_normalizes():
    b = AdBreak("00:10:00.000", "00:00:30.000", kind="Pre-Roll", plan="time_signal")
    assert (b.start, b.duration, b.end) == (600.0, 30.0, 630.0)
    assert b.kind == "preroll"
    assert b.plan == "time_signal:provider_po"
    assert b.cue_id.startswith("brk-")
    assert AdBreak.at("00:00:10:12", "00:00:30:00", fps=25).start == pytest.approx(10.48)


@pytest.mark.parametrize(
    ("kw", "needle"),
    [
        ({"duration": 0}, "duration must be above 0"),
        ({"kind": "interstitial"}, "kind 'interstitial' is not one of"),
        ({"splice_event_id": 2**32}, "outside 0..4294967295"),
        ({"avail_num": 256}, "outside 0..255"),
        ({"upid": "SIGNAL:x"}, "upid and a non-zero upid_type together"),
        ({"plan": "splice_schedule"}, "unknown cue plan"),
        ({"plan": "time_signal:chapter"}, "unknown segmentation pair"),
    ],
)
def test_adbreak_rejects_bad_fields(kw, needle):
    args = {"start": 10, "duration": 30, **kw}
    with pytest.raises(Scte35Error, match=needle):
        AdBreak(**args)


# -- validation rules ----------------------------------------------------------------------


def _rules_hit(schedule: Schedule) -> list[str]:
    return [i.rule for i in schedule.validate()]


def test_valid_schedule_has_no_issues():
    s = Schedule(
        [AdBreak(60, 30, cue_id="a"), AdBreak(300, 60, cue_id="b")],
        rules=ScheduleRules(min_duration=15, max_duration=120, min_spacing=120),
    )
    assert s.validate() == []
    assert s.check() is s


def test_overlap_is_reported_with_both_breaks_and_the_amount():
    s = Schedule([AdBreak(60, 30, cue_id="a"), AdBreak(80, 30, cue_id="b")])
    (issue,) = s.validate()
    assert issue.rule == "overlap"
    assert issue.cue_ids == ("a", "b")
    assert "starts 10 s before break 'a'" in issue.message
    assert "00:01:30.000" in issue.message


def test_back_to_back_breaks_do_not_overlap():
    s = Schedule([AdBreak(60, 30, cue_id="a"), AdBreak(90, 30, cue_id="b")])
    assert s.validate() == []


def test_too_short_and_too_long_use_the_configured_bounds():
    rules = ScheduleRules(min_duration=15, max_duration=120)
    s = Schedule(
        [AdBreak(0, 10, cue_id="short"), AdBreak(100, 121, cue_id="long"), AdBreak(400, 15)],
        rules=rules,
    )
    issues = s.validate()
    assert [(i.rule, i.cue_ids) for i in issues] == [
        ("too_short", ("short",)),
        ("too_long", ("long",)),
    ]
    assert "shorter than the minimum 15 s" in issues[0].message
    assert "longer than the maximum 120 s" in issues[1].message


def test_minimum_spacing_between_the_end_of_one_break_and_the_next():
    s = Schedule(
        [AdBreak(0, 30, cue_id="a"), AdBreak(100, 30, cue_id="b"), AdBreak(250, 30, cue_id="c")],
        rules=ScheduleRules(min_spacing=90),
    )
    (issue,) = s.validate()
    assert (issue.rule, issue.cue_ids) == ("spacing", ("a", "b"))
    assert "starts 70 s after" in issue.message and "minimum spacing is 90 s" in issue.message


def test_start_before_the_stream():
    s = Schedule([AdBreak(-2.5, 30, cue_id="early")])
    (issue,) = s.validate()
    assert (issue.rule, issue.cue_ids) == ("before_stream", ("early",))
    assert "2.5 s before the stream" in issue.message


def test_end_after_a_known_stream_end():
    s = Schedule([AdBreak(590, 30, cue_id="late")], rules=ScheduleRules(stream_duration=600))
    (issue,) = s.validate()
    assert issue.rule == "after_stream"
    assert "after the stream ends at 00:10:00.000" in issue.message


def test_duplicate_event_ids_across_breaks_and_kinds():
    s = Schedule(
        [
            AdBreak(0, 30, cue_id="a", splice_event_id=7),
            AdBreak(100, 30, cue_id="b", segmentation_event_id=7),
            AdBreak(200, 30, cue_id="c", splice_event_id=8, segmentation_event_id=8),
        ]
    )
    (issue,) = s.validate()
    assert (issue.rule, issue.cue_ids) == ("duplicate_event_id", ("a", "b"))
    assert "event id 7" in issue.message


def test_check_raises_with_every_issue_listed():
    s = Schedule(
        [
            AdBreak(-1, 5, cue_id="a", splice_event_id=1),
            AdBreak(2, 5, cue_id="b", splice_event_id=1),
        ],
        rules=ScheduleRules(min_duration=10),
    )
    with pytest.raises(ScheduleValidationError) as info:
        s.check()
    rules = [i.rule for i in info.value.issues]
    assert rules == ["before_stream", "too_short", "too_short", "overlap", "duplicate_event_id"]
    assert set(rules) <= set(RULES)
    assert "5 problem(s)" in str(info.value)
    assert isinstance(info.value, Scte35Error)


def test_rules_reject_contradictory_bounds():
    with pytest.raises(ScheduleError, match="above max_duration"):
        ScheduleRules(min_duration=60, max_duration=30)


# -- the ordered set -----------------------------------------------------------------------


def test_schedule_keeps_breaks_in_start_order_and_ids_unique():
    s = Schedule([AdBreak(300, 30, cue_id="b"), AdBreak(60, 30, cue_id="a")])
    assert [b.cue_id for b in s] == ["a", "b"]
    s.add(AdBreak(120, 30, cue_id="c"))
    assert [b.cue_id for b in s] == ["a", "c", "b"]
    with pytest.raises(ScheduleError, match="already has a break with cue_id 'a'"):
        s.add(AdBreak(999, 30, cue_id="a"))
    s.replace("b", start=30)
    assert [b.cue_id for b in s] == ["b", "a", "c"]
    assert s.remove("a").cue_id == "a" and len(s) == 2
    assert s["c"].start == 120
    assert "2 break(s)" in repr(s)


# -- round trips ---------------------------------------------------------------------------


def _rich_schedule() -> Schedule:
    return Schedule(
        [
            AdBreak(
                10.48,
                30,
                cue_id="b1",
                kind="preroll",
                splice_event_id=100,
                provider_avail_id=0xDEADBEEF,
                avail_num=1,
                avails_expected=3,
                notes="opening, with a comma",
            ),
            AdBreak(
                600.1,
                60.000001,
                cue_id="b2",
                segmentation_event_id=200,
                upid_type=0x09,
                upid="SIGNAL:abc/123",
                plan="time_signal:break+provider_po",
                auto_return=False,
            ),
            AdBreak(
                1 / 3,
                15.0,
                cue_id="b3",
                kind="postroll",
                plan="splice_insert",
                notes='quotes " and\nnewline',
            ),
        ],
        plan="time_signal:distributor_po",
        rules=ScheduleRules(min_duration=5, max_duration=90, min_spacing=0.5),
    )


def test_round_trip_through_dataframe():
    s = _rich_schedule()
    df = s.to_frame()
    assert str(df["start"].dtype) == "float64"
    assert str(df["splice_event_id"].dtype) == "Int64"
    assert df["auto_return"].dtype == bool
    assert list(df["cue_id"]) == ["b3", "b1", "b2"]
    back = Schedule.from_frame(df, plan=s.plan, rules=s.rules)
    assert back == s
    assert [b.start for b in back] == [b.start for b in s]  # exact floats


def test_round_trip_through_csv(tmp_path):
    s = _rich_schedule()
    path = tmp_path / "breaks.csv"
    s.to_csv(path)
    back = Schedule.from_csv(path, plan=s.plan, rules=s.rules)
    assert back == s
    assert Schedule.from_csv(io.StringIO(s.to_csv()), plan=s.plan, rules=s.rules) == s


def test_round_trip_through_json(tmp_path):
    s = _rich_schedule()
    assert Schedule.from_json(s.to_json()) == s
    s.to_json(tmp_path / "s.json")
    assert Schedule.from_json(tmp_path / "s.json") == s


def test_csv_written_by_hand_with_timecodes():
    text = (
        "cue_id,start,duration,kind\n"
        "open,00:00:10:12,00:00:30:00,preroll\n"
        "mid,00:10:00:00,00:01:00:00,\n"
    )
    s = Schedule.from_csv(io.StringIO(text), fps=25)
    assert [(b.cue_id, b.start, b.duration, b.kind) for b in s] == [
        ("open", pytest.approx(10.48), 30.0, "preroll"),
        ("mid", 600.0, 60.0, "midroll"),
    ]


def test_bad_csv_row_names_the_row():
    text = "start,duration\n10,30\n20,-5\n"
    with pytest.raises(Scte35Error, match=r"row 1: .*duration must be above 0"):
        Schedule.from_csv(io.StringIO(text))


def test_frame_with_clock_has_pts_and_wall_columns():
    t0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    s = Schedule([AdBreak(10, 30, cue_id="a")])
    df = s.to_frame(StreamClock(2**33 - 90_000 * 5, t0))
    row = df.iloc[0]
    assert row["start_pts"] == 5 * 90_000
    assert row["end_pts"] == 35 * 90_000
    assert row["start_wall"] == pd.Timestamp("2026-05-01 12:00:10", tz="UTC")
    assert row["end_wall"] == pd.Timestamp("2026-05-01 12:00:40", tz="UTC")


def test_overlap_with_a_break_that_is_not_the_previous_one():
    s = Schedule(
        [AdBreak(0, 100, cue_id="long"), AdBreak(10, 10, cue_id="x"), AdBreak(30, 10, cue_id="y")]
    )
    assert [(i.rule, i.cue_ids) for i in s.validate()] == [
        ("overlap", ("long", "x")),
        ("overlap", ("long", "y")),
    ]


_intervals = st.lists(st.tuples(st.integers(0, 200), st.integers(1, 60)), min_size=0, max_size=12)


@given(_intervals, st.integers(0, 30))
def test_overlap_and_spacing_agree_with_a_brute_force_check(intervals, spacing):
    s = Schedule(
        [AdBreak(a, d, cue_id=f"b{i}") for i, (a, d) in enumerate(intervals)],
        rules=ScheduleRules(min_spacing=spacing),
    )
    breaks = list(s)
    expected_overlaps = {
        (p.cue_id, c.cue_id) for i, c in enumerate(breaks) for p in breaks[:i] if p.end > c.start
    }
    issues = s.validate()
    assert {i.cue_ids for i in issues if i.rule == "overlap"} == expected_overlaps
    # spacing: a break that overlaps no earlier break but starts less than min_spacing
    # after the latest end among them
    expected_spacing = set()
    for i, c in enumerate(breaks):
        earlier = breaks[:i]
        if earlier and not any(p.end > c.start for p in earlier):
            gap = c.start - max(p.end for p in earlier)
            if gap < spacing:
                expected_spacing.add(c.cue_id)
    assert {i.cue_ids[1] for i in issues if i.rule == "spacing"} == expected_spacing
