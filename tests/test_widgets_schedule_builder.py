"""ScheduleBuilder, driven from Python: form values and buttons, then the schedule it holds,
the rules it explains, the cues it shows and what it saves and loads."""

from __future__ import annotations

import re

from scte35lab import Cue
from scte35lab.schedule import AdBreak, Schedule, ScheduleRules, Store
from scte35lab.widgets import ScheduleBuilder


def _fill(w: ScheduleBuilder, start: str, duration: str, **more: str) -> None:
    w.clear_form()
    w.start.value = start
    w.duration.value = duration
    for name, value in more.items():
        getattr(w, name).value = value


def test_form_errors_show_while_typing():
    w = ScheduleBuilder()
    w.start.value = "10"
    assert "duration" in w.form_message.value
    w.duration.value = "thirty"
    assert "cannot read 'thirty'" in w.form_message.value.replace("&#x27;", "'")
    w.duration.value = "30"
    assert "ok: 00:00:10.000 for 30 s" in w.form_message.value


def test_a_rule_the_typed_break_would_break_is_explained_before_adding():
    w = ScheduleBuilder(
        Schedule([AdBreak(10, 30, cue_id="a")], rules=ScheduleRules(min_spacing=60))
    )
    _fill(w, "50", "20", cue_id="b")
    assert "minimum spacing is 60 s" in w.form_message.value
    assert len(w.schedule) == 1


def test_add_puts_the_break_in_the_table_and_its_cues_on_show():
    w = ScheduleBuilder()
    _fill(w, "00:01:00", "30", cue_id="first", splice_event_id="41")
    w.add_button.click()
    assert [b.cue_id for b in w.schedule] == ["first"]
    assert w.schedule["first"].start == 60.0
    assert "first" in w.table.value
    assert "every rule kept" in w.issues.value
    shown = re.findall(r"<td>(/DA[A-Za-z0-9+/=]+)</td>", w.cues.value)
    cues = [Cue.decode(b) for b in shown]
    assert [(c.splice_event_id, c.out_of_network_indicator, c.pts_time) for c in cues] == [
        (41, True, 60 * 90_000),
        (41, False, 90 * 90_000),
    ]
    assert cues[0].break_duration == 30 * 90_000
    assert "Cue(splice_insert event=41 out" in w.cues.value


def test_a_second_break_with_the_same_cue_id_is_refused():
    w = ScheduleBuilder(Schedule([AdBreak(10, 30, cue_id="a")]))
    _fill(w, "100", "30", cue_id="a")
    w.add_button.click()
    assert len(w.schedule) == 1
    assert "already has a break" in w.form_message.value


def test_selecting_a_break_loads_the_form_and_update_replaces_it():
    w = ScheduleBuilder(Schedule([AdBreak(10, 30, cue_id="a"), AdBreak(100, 15, cue_id="b")]))
    w.breaks.value = "b"
    assert (w.start.value, w.duration.value, w.cue_id.value) == ("00:01:40.000", "15", "b")
    w.duration.value = "45"
    w.update_button.click()
    assert w.schedule["b"].duration == 45.0
    assert len(w.schedule) == 2


def test_remove_takes_the_selected_break_out():
    w = ScheduleBuilder(Schedule([AdBreak(10, 30, cue_id="a"), AdBreak(100, 15, cue_id="b")]))
    w.breaks.value = "a"
    w.remove_button.click()
    assert [b.cue_id for b in w.schedule] == ["b"]
    assert [v for _label, v in w.breaks.options] == ["b"]


def test_overlapping_breaks_are_listed_and_no_cues_are_planned():
    w = ScheduleBuilder(Schedule([AdBreak(10, 30, cue_id="a"), AdBreak(20, 30, cue_id="b")]))
    assert "overlap" in w.issues.value
    assert w.planned == []
    assert "no cues until the schedule is valid" in w.cues.value


def test_add_refuses_a_break_that_overlaps_and_says_why():
    w = ScheduleBuilder(Schedule([AdBreak(10, 30, cue_id="a")]))
    _fill(w, "20", "30", cue_id="b")
    assert w.add() is None
    assert [b.cue_id for b in w.schedule] == ["a"]
    msg = w.form_message.value
    assert "not added: the break fails validation" in msg and "overlap" in msg
    assert "every rule kept" in w.issues.value
    assert len(w.planned) == 2  # the cue list stays on show
    _fill(w, "60", "30", cue_id="b")
    w.add_button.click()
    assert [b.cue_id for b in w.schedule] == ["a", "b"]


def test_add_refuses_a_break_closer_than_the_minimum_spacing():
    w = ScheduleBuilder(
        Schedule([AdBreak(10, 30, cue_id="a")], rules=ScheduleRules(min_spacing=60))
    )
    _fill(w, "50", "20", cue_id="b")
    w.add_button.click()
    assert len(w.schedule) == 1
    assert "minimum spacing is 60 s" in w.form_message.value
    assert "not added" in w.form_message.value


def test_update_refuses_a_change_that_makes_breaks_overlap():
    w = ScheduleBuilder(Schedule([AdBreak(10, 30, cue_id="a"), AdBreak(100, 15, cue_id="b")]))
    w.breaks.value = "b"
    w.start.value = "30"
    assert w.update() is None
    assert w.schedule["b"].start == 100.0
    assert "not updated" in w.form_message.value and "overlap" in w.form_message.value


def test_switching_the_plan_to_time_signal_changes_the_cues():
    w = ScheduleBuilder(Schedule([AdBreak(10, 30, cue_id="a")]))
    w.schedule_plan.value = "time_signal:provider_po"
    cues = [p.cue for p in w.planned]
    assert [c.command_name for c in cues] == ["time_signal", "time_signal"]
    assert [d.segmentation_type_id for c in cues for d in c.segmentation_descriptors] == [
        0x34,
        0x35,
    ]
    w.cue_choice.value = 1
    assert "segmentation_type_id" in w.cue_detail.value


def test_csv_and_json_round_trip_through_the_buttons(tmp_path):
    sched = Schedule([AdBreak(10, 30, cue_id="a"), AdBreak(100.5, 15, cue_id="b", notes="x")])
    for fmt in ("csv", "json"):
        w = ScheduleBuilder(sched)
        w.path.value = str(tmp_path / f"s.{fmt}")
        getattr(w, f"save_{fmt}_button").click()
        assert "saved 2 break(s)" in w.io_message.value
        other = ScheduleBuilder()
        other.path.value = w.path.value
        getattr(other, f"load_{fmt}_button").click()
        assert other.schedule == sched
        assert "loaded 2 break(s)" in other.io_message.value


def test_a_missing_file_is_reported_in_place(tmp_path):
    w = ScheduleBuilder()
    w.path.value = str(tmp_path / "nope.csv")
    w.load_csv_button.click()
    assert "cannot read" in w.io_message.value
    assert len(w.schedule) == 0


def test_store_round_trip_through_the_buttons(tmp_path):
    store = Store(tmp_path / "lab.db")
    store.add_stream("main")
    w = ScheduleBuilder(Schedule([AdBreak(10, 30, cue_id="a")]), store=store, stream="main")
    assert "main" in w.stream.options
    w.save_store_button.click()
    assert "saved 1 break(s) to stream 'main'" in w.io_message.value.replace("&#x27;", "'")
    assert list(store.markers("main")["cue_id"]) == ["a"]
    other = ScheduleBuilder(store=store, stream="main")
    other.load_store_button.click()
    assert [(b.cue_id, b.start, b.duration) for b in other.schedule] == [("a", 10.0, 30.0)]
    store.close()
