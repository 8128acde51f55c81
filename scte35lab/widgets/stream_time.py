"""What a person reads on the desk: stream time, wall-clock ETAs, countdowns, the added
latency and each cue's state in words and colour, computed from a live ``Pipeline``'s public
attributes (``clock``, ``cues``, ``preroll``, ``margin``, ``endpoint``, ``mode``)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from scte35lab.clock import PTS_HZ
from scte35lab.schedule import format_time
from scte35lab.widgets.common import ERROR, OK, WARN

if TYPE_CHECKING:
    from scte35lab.live.ledger import CueRecord
    from scte35lab.live.pipeline import Pipeline

SRT_DEFAULT_LATENCY_MS = 120  # libsrt's default receiver latency when the URL sets none
WAITING = "#0969da"
MUTED = "#57606a"
STATE_LABELS = {
    "pending": "pending",
    "placed": "placed",
    "awaiting_ack": "awaiting ack",
    "delivered": "delivered",
    "late": "late",
    "unconfirmed": "unconfirmed",
    "written": "written",
    "missed": "missed",
    "cancelled": "cancelled",
    "refused": "refused",
}
STATE_COLORS = {
    "pending": WAITING,
    "placed": WAITING,
    "awaiting_ack": WAITING,
    "delivered": OK,
    "late": WARN,
    "unconfirmed": WARN,
    "written": WARN,
    "missed": ERROR,
    "cancelled": MUTED,
    "refused": ERROR,
}
_OVER = ("missed", "cancelled")  # states whose splice never happens


def stream_time(seconds: float | None) -> str:
    """``hh:mm:ss.mmm`` stream time (``-`` when unknown)."""
    return "-" if seconds is None else format_time(seconds)


def wall_time(moment: datetime | float | None) -> str:
    """Local wall-clock ``HH:MM:SS`` of a datetime or Unix time (``-`` when unknown)."""
    if moment is None:
        return "-"
    unix = moment.timestamp() if isinstance(moment, datetime) else moment
    return time.strftime("%H:%M:%S", time.localtime(unix))


def countdown(seconds: float) -> str:
    """``in 1:05.2`` / ``in 4.0 s`` ahead, ``2.5 s ago`` / ``1:05 ago`` behind."""
    ahead = seconds >= 0
    s = abs(seconds)
    text = f"{s:.1f} s" if s < 60 else f"{int(s // 60)}:{s % 60:04.1f}"
    return f"in {text}" if ahead else f"{text} ago"


@dataclass(frozen=True)
class Latency:
    """How far the stream at the distributor runs behind OBS, and of what it is made."""

    preroll: float
    margin: float
    srt: float
    transcode: bool

    @property
    def total(self) -> float:
        return self.preroll + self.margin + self.srt

    def describe(self) -> str:
        text = (
            f"{self.total:.2f} s behind OBS = pre-roll {self.preroll:g} s + look-ahead "
            f"{self.margin:g} s (the injector holds both so a cue reaches the distributor "
            f"before its splice point) + SRT latency {self.srt:g} s"
        )
        return text + (" + the encoder's own delay" if self.transcode else "")


def added_latency(pipeline: Pipeline) -> Latency:
    """The latency ``pipeline`` adds: pre-roll + look-ahead margin + SRT latency."""
    latency_ms = getattr(pipeline.endpoint, "latency_ms", None)
    srt = (SRT_DEFAULT_LATENCY_MS if latency_ms is None else latency_ms) / 1000
    return Latency(
        float(pipeline.preroll), float(pipeline.margin), srt, pipeline.mode == "transcode"
    )


def _seconds(pipeline: Pipeline, pts: int | None) -> float | None:
    clock = pipeline.clock
    if pts is None or clock is None:
        return None
    near = 0.0 if clock.started_at is None else time.time() - clock.started_at.timestamp()
    return clock.seconds(pts, near=near)


def cue_seconds(pipeline: Pipeline, rec: CueRecord) -> tuple[float | None, float | None]:
    """(requested, actual) splice point of ``rec`` in stream seconds (``None``: unknown)."""
    requested = _seconds(pipeline, rec.requested_pts)
    actual = _seconds(pipeline, rec.splice_pts)
    return requested, actual


def on_air(pipeline: Pipeline, seconds: float | None) -> float | None:
    """Unix time at which stream time ``seconds`` reaches the distributor: the wall time
    OBS sent that frame plus the added latency (``None`` before the clock started)."""
    clock = pipeline.clock
    if seconds is None or clock is None or clock.started_at is None:
        return None
    return clock.started_at.timestamp() + seconds + added_latency(pipeline).total


def _label(state: str) -> str:
    return STATE_LABELS.get(state, state.replace("_", " "))


def state_html(state: str) -> str:
    """A cue state as a coloured chip (``delivered`` green, ``missed`` red, ...)."""
    color = STATE_COLORS.get(state, "black")
    return (
        f"<span class='s35-state s35-state-{state}' style='color:{color};font-weight:bold'>"
        f"{_label(state)}</span>"
    )


@dataclass(frozen=True)
class NextBreak:
    """The break the countdown is about: its out cue, when it starts and when it returns
    (stream seconds and Unix on-air times; ``None`` where unknown)."""

    cue_id: str | None
    start: float
    start_on_air: float | None
    end: float | None
    end_on_air: float | None
    state: str


def next_break(pipeline: Pipeline, now: float | None = None) -> NextBreak | None:
    """The break on air now or the next one to come, from the pipeline's cues."""
    now = time.time() if now is None else now
    recs = list(pipeline.cues)
    best: NextBreak | None = None
    for rec in recs:
        if rec.role != "out" or rec.status in _OVER:
            continue
        requested, actual = cue_seconds(pipeline, rec)
        start = actual if actual is not None else requested
        if start is None:
            continue
        end = _return_seconds(pipeline, rec, recs, start)
        start_air, end_air = on_air(pipeline, start), on_air(pipeline, end)
        if end_air is not None and end_air <= now:
            continue  # over; a break whose end is unknown stays on until its cue-in
        candidate = NextBreak(rec.cue_id, start, start_air, end, end_air, rec.status)
        if best is None or candidate.start < best.start:
            best = candidate
    return best


def _return_seconds(
    pipeline: Pipeline, out: CueRecord, recs: list[CueRecord], start: float
) -> float | None:
    for rec in recs:
        if rec.cue_id == out.cue_id and rec.role == "in" and rec.status not in _OVER:
            requested, actual = cue_seconds(pipeline, rec)
            return actual if actual is not None else requested
    duration = getattr(out.cue, "break_duration", None)
    if duration is None:
        return None
    return start + duration / PTS_HZ


def countdown_html(pipeline: Pipeline, now: float | None = None) -> str:
    """``next break ... on air in 4.1 s ... returns in 34.1 s`` (or in a break: since ...)."""
    now = time.time() if now is None else now
    brk = next_break(pipeline, now)
    if brk is None:
        return "<span class='s35-countdown'>no break coming</span>"
    name = brk.cue_id or "break"
    parts: list[str] = []
    if brk.start_on_air is not None and brk.start_on_air <= now:
        parts.append(
            f"<b style='color:{WARN}'>in break</b> {name} since {stream_time(brk.start)} "
            f"(on air {countdown(brk.start_on_air - now)})"
        )
    else:
        eta = "" if brk.start_on_air is None else f" on air {countdown(brk.start_on_air - now)}"
        parts.append(
            f"next break <b>{name}</b> at {stream_time(brk.start)}"
            f" ({wall_time(brk.start_on_air)}){eta}"
        )
    if brk.end is not None:
        eta = "" if brk.end_on_air is None else f" {countdown(brk.end_on_air - now)}"
        parts.append(f"returns at {stream_time(brk.end)} ({wall_time(brk.end_on_air)}){eta}")
    return f"<span class='s35-countdown'>{' &middot; '.join(parts)}</span>"


def cue_rows(pipeline: Pipeline, *, details: bool = False) -> list[dict[str, Any]]:
    """One row per cue for people: state, stream times (requested vs actual when moved),
    on-air wall time, pre-roll; with ``details`` the 90 kHz ticks and the hex too."""
    rows = []
    for rec in list(pipeline.cues):
        requested, actual = cue_seconds(pipeline, rec)
        at = actual if actual is not None else requested
        shift = rec.shift
        moved = shift is not None and abs(shift) >= 0.5 / PTS_HZ
        row: dict[str, Any] = {
            "cue": rec.cue_id or "-",
            "side": rec.role or "-",
            "state": rec.status,
            "splice (stream time)": stream_time(at),
            "on air (wall)": wall_time(on_air(pipeline, at)),
            "requested → actual": (
                f"{stream_time(requested)} → {stream_time(actual)} ({shift:+.3f} s, next IDR)"
                if moved
                else ""
            ),
            "pre-roll": "" if rec.preroll is None else f"{rec.preroll:.3f} s",
            "note": rec.error or "",
        }
        if details:
            row["splice_pts"] = "" if rec.splice_pts is None else str(rec.splice_pts)
            row["requested_pts"] = "" if rec.requested_pts is None else str(rec.requested_pts)
            row["hex"] = rec.cue.to_hex()
        rows.append(row)
    return rows


__all__ = [
    "STATE_COLORS",
    "STATE_LABELS",
    "Latency",
    "NextBreak",
    "added_latency",
    "countdown",
    "countdown_html",
    "cue_rows",
    "cue_seconds",
    "next_break",
    "on_air",
    "state_html",
    "stream_time",
    "wall_time",
]
