"""``ScheduleBuilder``: add, edit and remove ad breaks; see the rules they break and their cues."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pandas as pd

from scte35lab.errors import Scte35Error
from scte35lab.schedule import (
    KINDS,
    SEGMENTATION_PAIRS,
    AdBreak,
    PlannedCue,
    Schedule,
    ScheduleRules,
    Store,
    StreamClock,
    format_time,
    normalize_plan_spec,
    planned_frame,
)
from scte35lab.widgets.common import ERROR, OK, WARN, frame_html, message_html, show_error, show_ok

log = logging.getLogger(__name__)

SCHEDULE_PLAN = "(schedule plan)"
PLANS = (
    "splice_insert",
    *(f"time_signal:{pair}" for pair in SEGMENTATION_PAIRS),
    "time_signal:break+provider_ad",
)
_BREAK_COLUMNS = ["cue_id", "start", "duration", "end", "kind", "plan", "splice_event_id", "upid"]


def _blank(text: str) -> str | None:
    text = text.strip()
    return text or None


class ScheduleBuilder(widgets.VBox):
    """A table of ad breaks to add, edit and remove, with every broken rule explained as you
    type, the cues the plan makes of them (base64 and decoded), and save/load to CSV, JSON
    and a ``Store`` stream.

    The form (``start``, ``duration``, ``kind``, ``cue_id``, ``splice_event_id``, ``plan``,
    ``upid_type``, ``upid``, ``notes``) describes one break; ``add_button`` adds it,
    selecting a row in ``breaks`` loads it into the form for ``update_button`` /
    ``remove_button``. ``schedule`` is the current ``Schedule``.
    """

    def __init__(
        self,
        schedule: Schedule | None = None,
        *,
        store: Store | str | Path | None = None,
        stream: str | None = None,
        clock: StreamClock | None = None,
        rules: ScheduleRules | None = None,
    ) -> None:
        self.schedule = schedule if schedule is not None else Schedule(rules=rules)
        if schedule is not None and rules is not None:
            self.schedule = Schedule(schedule, plan=schedule.plan, rules=rules)
        self.store = Store(store) if isinstance(store, str | Path) else store
        self.clock = clock
        self.planned: list[PlannedCue] = []
        text = {"continuous_update": True, "style": {"description_width": "7em"}}
        self.start = widgets.Text(description="start", placeholder="s or HH:MM:SS.mmm", **text)
        self.duration = widgets.Text(description="duration", placeholder="s", **text)
        self.kind = widgets.Dropdown(description="kind", options=list(KINDS))
        self.cue_id = widgets.Text(description="cue_id", placeholder="(generated)", **text)
        self.splice_event_id = widgets.Text(
            description="event id", placeholder="(allocated)", **text
        )
        self.plan = widgets.Dropdown(description="break plan", options=[SCHEDULE_PLAN, *PLANS])
        self.upid_type = widgets.Text(description="upid_type", placeholder="e.g. 0x0F", **text)
        self.upid = widgets.Text(description="upid", placeholder="e.g. https://...", **text)
        self.notes = widgets.Text(description="notes", **text)
        self.form_message = widgets.HTML()
        self.add_button = widgets.Button(
            description="Add break", icon="plus", button_style="success"
        )
        self.update_button = widgets.Button(description="Update selected", icon="check")
        self.remove_button = widgets.Button(description="Remove selected", icon="trash")
        self.clear_button = widgets.Button(description="Clear form", icon="eraser")

        self.schedule_plan = widgets.Dropdown(
            description="cue plan", options=list(dict.fromkeys([self.schedule.plan, *PLANS]))
        )
        self.schedule_plan.value = self.schedule.plan
        self.breaks = widgets.Select(description="breaks", options=[], rows=6)
        self.table = widgets.HTML()
        self.issues = widgets.HTML()
        self.cues = widgets.HTML()
        self.cue_choice = widgets.Dropdown(description="cue", options=[])
        self.cue_detail = widgets.HTML()

        self.path = widgets.Text(description="file", placeholder="schedule.csv or .json")
        self.save_csv_button = widgets.Button(description="Save CSV", icon="save")
        self.load_csv_button = widgets.Button(description="Load CSV", icon="folder-open")
        self.save_json_button = widgets.Button(description="Save JSON", icon="save")
        self.load_json_button = widgets.Button(description="Load JSON", icon="folder-open")
        self.stream = widgets.Combobox(
            description="stream", placeholder="stream name in the store", value=stream or ""
        )
        self.save_store_button = widgets.Button(description="Save to store", icon="database")
        self.load_store_button = widgets.Button(description="Load from store", icon="database")
        self.io_message = widgets.HTML()

        for w in (
            self.start,
            self.duration,
            self.kind,
            self.cue_id,
            self.splice_event_id,
            self.plan,
            self.upid_type,
            self.upid,
            self.notes,
        ):
            w.observe(lambda _c: self._check_form(), names="value")
        self.add_button.on_click(lambda _b: self.add())
        self.update_button.on_click(lambda _b: self.update())
        self.remove_button.on_click(lambda _b: self.remove())
        self.clear_button.on_click(lambda _b: self.clear_form())
        self.breaks.observe(self._on_select, names="value")
        self.schedule_plan.observe(self._on_schedule_plan, names="value")
        self.cue_choice.observe(lambda _c: self._show_cue(), names="value")
        self.save_csv_button.on_click(lambda _b: self.save("csv"))
        self.load_csv_button.on_click(lambda _b: self.load("csv"))
        self.save_json_button.on_click(lambda _b: self.save("json"))
        self.load_json_button.on_click(lambda _b: self.load("json"))
        self.save_store_button.on_click(lambda _b: self.save_store())
        self.load_store_button.on_click(lambda _b: self.load_store())

        form = widgets.VBox(
            [
                widgets.HBox([self.start, self.duration, self.kind]),
                widgets.HBox([self.cue_id, self.splice_event_id, self.plan]),
                widgets.HBox([self.upid_type, self.upid, self.notes]),
                self.form_message,
                widgets.HBox(
                    [self.add_button, self.update_button, self.remove_button, self.clear_button]
                ),
            ]
        )
        files = widgets.VBox(
            [
                widgets.HBox(
                    [
                        self.path,
                        self.save_csv_button,
                        self.load_csv_button,
                        self.save_json_button,
                        self.load_json_button,
                    ]
                ),
                widgets.HBox([self.stream, self.save_store_button, self.load_store_button]),
                self.io_message,
            ]
        )
        super().__init__(
            [
                widgets.HTML("<b>Ad break</b>"),
                form,
                widgets.HBox([self.breaks, self.schedule_plan]),
                self.table,
                self.issues,
                widgets.HTML("<b>Cues</b>"),
                self.cues,
                self.cue_choice,
                self.cue_detail,
                widgets.HTML("<b>Save / load</b>"),
                files,
            ]
        )
        self.add_class("s35-schedule-builder")
        self._refresh_streams()
        self.refresh()

    # -- the form --------------------------------------------------------------------------
    def form_break(self, *, keep_id: str | None = None) -> AdBreak:
        """The ``AdBreak`` the form describes (raises ``Scte35Error`` naming the bad field)."""
        if not self.start.value.strip():
            raise Scte35Error("give the break's start (seconds or HH:MM:SS.mmm)", field="start")
        if not self.duration.value.strip():
            raise Scte35Error("give the break's duration in seconds", field="duration")
        kw: dict[str, Any] = {
            "start": self.start.value.strip(),
            "duration": self.duration.value.strip(),
            "kind": self.kind.value,
            "splice_event_id": _blank(self.splice_event_id.value),
            "upid_type": _blank(self.upid_type.value),
            "upid": _blank(self.upid.value),
            "plan": None if self.plan.value == SCHEDULE_PLAN else self.plan.value,
            "notes": self.notes.value,
        }
        cue_id = _blank(self.cue_id.value) or keep_id
        if cue_id is not None:
            kw["cue_id"] = cue_id
        return AdBreak.from_dict(kw)

    def _candidate(self, brk: AdBreak, replacing: str | None) -> Schedule:
        others = [b for b in self.schedule if b.cue_id != replacing]
        return Schedule([*others, brk], plan=self.schedule.plan, rules=self.schedule.rules)

    def _check_form(self) -> bool:
        """Validate the form as typed: its own fields, then the rules the break would break."""
        if not self.start.value.strip() and not self.duration.value.strip():
            self.form_message.value = ""
            return False
        selected = self.breaks.value
        try:
            brk = self.form_break(keep_id=None)
            if brk.cue_id in {b.cue_id for b in self.schedule} and brk.cue_id != selected:
                raise Scte35Error(f"the schedule already has a break named {brk.cue_id!r}")
            candidate = self._candidate(brk, replacing=brk.cue_id)
            Schedule([brk], plan=self.schedule.plan).cues()  # does its plan fit (UPID, ids)?
        except Scte35Error as exc:
            show_error(self.form_message, exc)
            return False
        mine = [i for i in candidate.validate() if brk.cue_id in i.cue_ids]
        if mine:
            self.form_message.value = message_html([i.message for i in mine], WARN)
        else:
            show_ok(
                self.form_message,
                f"ok: {format_time(brk.start)} for {brk.duration:g} s",
            )
        return True

    def clear_form(self) -> None:
        """Empty the form and the selection."""
        self.breaks.value = None
        for w in (
            self.start,
            self.duration,
            self.cue_id,
            self.splice_event_id,
            self.upid_type,
            self.upid,
            self.notes,
        ):
            w.value = ""
        self.kind.value = KINDS[0]
        self.plan.value = SCHEDULE_PLAN
        self.form_message.value = ""

    def _on_select(self, change: dict[str, Any]) -> None:
        cue_id = change["new"]
        if cue_id is None:
            return
        b = self.schedule[cue_id]
        self.start.value = format_time(b.start)
        self.duration.value = f"{b.duration:g}"
        self.kind.value = b.kind
        self.cue_id.value = b.cue_id
        self.splice_event_id.value = "" if b.splice_event_id is None else str(b.splice_event_id)
        self.plan.value = b.plan if b.plan in self.plan.options else SCHEDULE_PLAN
        self.upid_type.value = "" if b.upid_type is None else f"0x{b.upid_type:02X}"
        self.upid.value = b.upid or ""
        self.notes.value = b.notes

    # -- edits -----------------------------------------------------------------------------
    def refusal(self, brk: AdBreak, *, replacing: str | None = None) -> list[str]:
        """Why ``brk`` may not go into the schedule (replacing the break ``replacing``): the
        rules it would break and a plan that cannot make its cues; empty when it may."""
        candidate = self._candidate(brk, replacing=replacing)
        reasons = [
            f"{i.rule}: {i.message}" for i in candidate.validate() if brk.cue_id in i.cue_ids
        ]
        try:
            Schedule([brk], plan=self.schedule.plan).cues()
        except Scte35Error as exc:
            reasons.append(str(exc))
        return reasons

    def _refuse(self, verb: str, reasons: list[str]) -> None:
        self.form_message.value = message_html(
            [f"not {verb}: the break fails validation", *reasons], ERROR
        )

    def add(self) -> AdBreak | None:
        """Add the form's break; ``None`` (reason in ``form_message``) if it is not valid or
        would break a rule of the schedule (overlap, spacing, ...): nothing is added then."""
        try:
            brk = self.form_break()
            if brk.cue_id in {b.cue_id for b in self.schedule}:
                raise Scte35Error(f"the schedule already has a break named {brk.cue_id!r}")
            reasons = self.refusal(brk)
            if reasons:
                self._refuse("added", reasons)
                return None
            self.schedule.add(brk)
        except Scte35Error as exc:
            show_error(self.form_message, exc)
            return None
        log.debug("schedule builder: added %s", brk.cue_id)
        self.refresh()
        self.breaks.value = brk.cue_id
        self._check_form()
        return brk

    def update(self) -> AdBreak | None:
        """Replace the selected break with the form's; ``None`` (reason in ``form_message``)
        if nothing changed, as when the new one fails validation."""
        selected = self.breaks.value
        if selected is None:
            show_error(self.form_message, "select a break to update")
            return None
        try:
            brk = self.form_break(keep_id=selected)
            reasons = self.refusal(brk, replacing=selected)
            if reasons:
                self._refuse("updated", reasons)
                return None
            old = self.schedule.remove(selected)
            try:
                self.schedule.add(brk)
            except Scte35Error:
                self.schedule.add(old)
                raise
        except Scte35Error as exc:
            show_error(self.form_message, exc)
            return None
        self.refresh()
        self.breaks.value = brk.cue_id
        return brk

    def remove(self) -> AdBreak | None:
        """Remove the selected break."""
        selected = self.breaks.value
        if selected is None:
            show_error(self.form_message, "select a break to remove")
            return None
        brk = self.schedule.remove(selected)
        self.refresh()
        self.clear_form()
        return brk

    def _on_schedule_plan(self, change: dict[str, Any]) -> None:
        self.set_schedule(
            Schedule(
                self.schedule, plan=normalize_plan_spec(change["new"]), rules=self.schedule.rules
            )
        )

    def set_schedule(self, schedule: Schedule) -> None:
        """Show and edit ``schedule`` from now on."""
        self.schedule = schedule
        if schedule.plan not in self.schedule_plan.options:
            self.schedule_plan.options = [*self.schedule_plan.options, schedule.plan]
        self.schedule_plan.value = schedule.plan
        self.refresh()

    # -- views -----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Redraw the table, the rule check and the cues from ``schedule``."""
        sched = self.schedule
        self.breaks.options = [
            (f"{b.cue_id}  {format_time(b.start)}  {b.duration:g} s  {b.kind}", b.cue_id)
            for b in sched
        ]
        df = sched.to_frame(self.clock)
        self.table.value = frame_html(df[[c for c in df.columns if c in _BREAK_COLUMNS]])
        issues = sched.validate()
        if issues:
            self.issues.value = message_html([f"{i.rule}: {i.message}" for i in issues], ERROR)
        elif len(sched):
            self.issues.value = message_html([f"{len(sched)} break(s), every rule kept"], OK)
        else:
            self.issues.value = ""
        try:
            self.planned = sched.cues(clock=self.clock)
        except Scte35Error as exc:
            self.planned = []
            self.cues.value = message_html(
                ["no cues until the schedule is valid:", str(exc)], ERROR
            )
        else:
            self.cues.value = frame_html(self.cue_frame())
        self.cue_choice.options = [
            (f"{p.cue_id} {p.role} @ {p.splice_time:g} s", i) for i, p in enumerate(self.planned)
        ]
        self._show_cue()

    def cue_frame(self) -> pd.DataFrame:
        """The planned cues: break, side, splice time, ids, base64 and the decoded cue."""
        df = planned_frame(self.planned)
        df["decoded"] = [repr(p.cue) for p in self.planned]
        cols = ["cue_id", "role", "command", "splice_time", "pts_time", "splice_event_id"]
        cols += ["segmentation_event_ids", "base64", "decoded"]
        return df[cols]

    def _show_cue(self) -> None:
        i = self.cue_choice.value
        if i is None or i >= len(self.planned):
            self.cue_detail.value = ""
            return
        self.cue_detail.value = self.planned[i].cue._repr_html_()

    # -- files and store -------------------------------------------------------------------
    def save(self, fmt: str, path: str | Path | None = None) -> Path | None:
        """Write the schedule as ``fmt`` (``csv`` or ``json``) to ``path`` (the file box)."""
        target = Path(path if path is not None else self.path.value.strip())
        if not str(target) or str(target) == ".":
            show_error(self.io_message, "give a file name")
            return None
        try:
            if fmt == "csv":
                self.schedule.to_csv(target)
            else:
                self.schedule.to_json(target)
        except OSError as exc:
            show_error(self.io_message, f"cannot write {target}: {exc.strerror or exc}")
            return None
        show_ok(self.io_message, f"saved {len(self.schedule)} break(s) to {target}")
        return target

    def load(self, fmt: str, path: str | Path | None = None) -> Schedule | None:
        """Replace the schedule with the one in ``path`` (``csv`` or ``json``)."""
        target = Path(path if path is not None else self.path.value.strip())
        try:
            if fmt == "csv":
                sched = Schedule.from_csv(
                    target, plan=self.schedule.plan, rules=self.schedule.rules
                )
            else:
                sched = Schedule.from_json(target)
        except OSError as exc:
            show_error(self.io_message, f"cannot read {target}: {exc.strerror or exc}")
            return None
        except Scte35Error as exc:
            show_error(self.io_message, f"{target}: {exc}")
            return None
        self.set_schedule(sched)
        show_ok(self.io_message, f"loaded {len(sched)} break(s) from {target}")
        return sched

    def _refresh_streams(self) -> None:
        if self.store is not None:
            self.stream.options = [str(n) for n in self.store.streams()["name"]]

    def save_store(self) -> bool:
        """Store the schedule as the ad markers of the chosen stream."""
        if self.store is None:
            show_error(self.io_message, "no store: create the builder with store=...")
            return False
        name = self.stream.value.strip()
        try:
            self.store.save_schedule(name, self.schedule)
        except Scte35Error as exc:
            show_error(self.io_message, exc)
            return False
        show_ok(self.io_message, f"saved {len(self.schedule)} break(s) to stream {name!r}")
        return True

    def load_store(self) -> Schedule | None:
        """Load the chosen stream's stored schedule."""
        if self.store is None:
            show_error(self.io_message, "no store: create the builder with store=...")
            return None
        name = self.stream.value.strip()
        try:
            sched = self.store.schedule(name)
        except Scte35Error as exc:
            show_error(self.io_message, exc)
            return None
        self.set_schedule(sched)
        show_ok(self.io_message, f"loaded {len(sched)} break(s) from stream {name!r}")
        return sched

    def __repr__(self) -> str:
        return f"ScheduleBuilder({self.schedule!r})"


__all__ = ["PLANS", "ScheduleBuilder"]
