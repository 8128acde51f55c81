"""``AdBreak`` and ``Schedule``: ad breaks in seconds from stream time zero, and their clock.

Stream time zero is the PTS of the first video frame (DESIGN.md). ``StreamClock`` maps those
seconds to PTS, ``(first_pts + round(seconds * 90000)) % 2**33``, and to wall-clock time.
"""

from __future__ import annotations

import io
import json
import math
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from scte35lab.errors import InvalidFieldError
from scte35lab.schedule.errors import ScheduleError, ScheduleValidationError
from scte35lab.schedule.eventids import EventIdAllocator
from scte35lab.schedule.plans import PlannedCue, plan_schedule
from scte35lab.schedule.planspec import normalize_plan_spec
from scte35lab.schedule.streamclock import StreamClock
from scte35lab.schedule.timecode import format_time, parse_time
from scte35lab.schedule.validation import ScheduleRules, ValidationIssue, validate_breaks

KINDS = ("midroll", "preroll", "postroll")
SCHEDULE_FORMAT_VERSION = 1
_UINT32 = 2**32 - 1


def _opt_int(value: Any, name: str, hi: int = _UINT32) -> int | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            value = int(text, 0)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                raise InvalidFieldError(f"{text!r} is not an integer", field=name) from None
    if isinstance(value, bool):
        raise InvalidFieldError(f"{value!r} is not an integer", field=name)
    if isinstance(value, float):
        if not value.is_integer():
            raise InvalidFieldError(f"{value!r} is not a whole number", field=name)
        value = int(value)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidFieldError(f"{value!r} is not an integer", field=name) from None
    if number != value:
        raise InvalidFieldError(f"{value!r} is not a whole number", field=name)
    if not 0 <= number <= hi:
        raise InvalidFieldError(f"{number} is outside 0..{hi}", field=name)
    return number


def _opt_str(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value)
    return text if text != "" else None


def _bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "1", "yes", "y"):
            return True
        if text in ("false", "0", "no", "n"):
            return False
    elif isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    raise InvalidFieldError(f"{value!r} is not true or false", field=name)


def _new_cue_id() -> str:
    return f"brk-{uuid.uuid4().hex[:10]}"


@dataclass(frozen=True)
class AdBreak:
    """One ad break: when (seconds from stream time zero), how long, and the ids its cues carry.

    ``start`` and ``duration`` also accept ``"HH:MM:SS.mmm"`` strings. ``cue_id`` names the break
    in the store and in cue logs (generated when not given). Event ids left ``None`` are
    allocated when the break is planned. ``plan`` overrides the schedule's cue plan for this
    break (``"splice_insert"``, ``"time_signal:break+provider_po"``, ...).
    """

    start: float
    duration: float
    kind: str = "midroll"
    cue_id: str = field(default_factory=_new_cue_id)
    splice_event_id: int | None = None
    segmentation_event_id: int | None = None
    provider_avail_id: int | None = None
    upid_type: int | None = None
    upid: str | None = None
    avail_num: int | None = None
    avails_expected: int | None = None
    auto_return: bool = True
    plan: str | None = None
    notes: str = ""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "start", parse_time(self.start))
        duration = parse_time(self.duration)
        if not duration > 0:
            raise InvalidFieldError(
                f"break {self.cue_id!r}: duration must be above 0 s, not {duration:g}",
                structure="AdBreak",
                field="duration",
            )
        set_(self, "duration", duration)
        kind = str(self.kind).strip().lower().replace("-", "").replace("_", "")
        if kind not in KINDS:
            raise InvalidFieldError(
                f"break {self.cue_id!r}: kind {self.kind!r} is not one of {', '.join(KINDS)}",
                structure="AdBreak",
                field="kind",
            )
        set_(self, "kind", kind)
        if not isinstance(self.cue_id, str) or not self.cue_id.strip():
            raise InvalidFieldError(
                "cue_id must be a non-empty string", structure="AdBreak", field="cue_id"
            )
        for name in ("splice_event_id", "segmentation_event_id", "provider_avail_id"):
            set_(self, name, _opt_int(getattr(self, name), name))
        for name in ("upid_type", "avail_num", "avails_expected"):
            set_(self, name, _opt_int(getattr(self, name), name, 0xFF))
        set_(self, "upid", _opt_str(self.upid))
        if (self.upid is None) != (self.upid_type in (None, 0)):
            raise InvalidFieldError(
                f"break {self.cue_id!r}: give upid and a non-zero upid_type together",
                structure="AdBreak",
                field="upid",
            )
        set_(self, "auto_return", _bool(self.auto_return, "auto_return"))
        plan = _opt_str(self.plan)
        set_(self, "plan", None if plan is None else normalize_plan_spec(plan))
        set_(self, "notes", _opt_str(self.notes) or "")

    @property
    def end(self) -> float:
        """Seconds from time zero at which the break ends (its in-point)."""
        return self.start + self.duration

    @classmethod
    def at(
        cls, start: str | float, duration: str | float, *, fps: float | None = None, **kw: Any
    ) -> AdBreak:
        """An ``AdBreak`` from timecodes, ``HH:MM:SS:FF`` included when ``fps`` is given."""
        return cls(parse_time(start, fps), parse_time(duration, fps), **kw)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values, every field."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, fps: float | None = None) -> AdBreak:
        """An ``AdBreak`` from ``to_dict`` output; unknown keys are an error."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ScheduleError(f"unknown ad break field(s): {', '.join(unknown)}")
        kw = {k: v for k, v in d.items() if _opt_str(v) is not None or k == "notes"}
        for key in ("start", "duration"):
            if key not in kw:
                raise ScheduleError(f"an ad break needs {key}", field=key)
            kw[key] = parse_time(kw[key], fps)
        return cls(**kw)


_FRAME_COLUMNS: dict[str, str] = {
    "cue_id": "str",
    "start": "float64",
    "duration": "float64",
    "end": "float64",
    "kind": "category",
    "plan": "str",
    "splice_event_id": "Int64",
    "segmentation_event_id": "Int64",
    "provider_avail_id": "Int64",
    "upid_type": "Int64",
    "upid": "str",
    "avail_num": "Int64",
    "avails_expected": "Int64",
    "auto_return": "bool",
    "notes": "str",
}


class Schedule:
    """An ordered set of ``AdBreak``s (by start, unique ``cue_id``), a cue plan and rules.

    ``plan`` is the cue plan for breaks that do not name their own. ``validate()`` lists every
    broken rule; ``check()`` raises ``ScheduleValidationError`` with all of them.
    """

    def __init__(
        self,
        breaks: Iterable[AdBreak] = (),
        *,
        plan: str = "splice_insert",
        rules: ScheduleRules | None = None,
    ) -> None:
        self.plan = normalize_plan_spec(plan)
        self.rules = rules if rules is not None else ScheduleRules()
        self._breaks: list[AdBreak] = []
        seen: set[str] = set()
        for b in breaks:
            self._check_new(b, seen)
            seen.add(b.cue_id)
            self._breaks.append(b)
        self._breaks.sort(key=lambda b: (b.start, b.cue_id))

    @staticmethod
    def _check_new(brk: AdBreak, cue_ids: set[str] | Iterable[str]) -> None:
        if not isinstance(brk, AdBreak):
            raise ScheduleError(f"a schedule holds AdBreak objects, not {type(brk).__name__}")
        if brk.cue_id in cue_ids:
            raise ScheduleError(
                f"the schedule already has a break with cue_id {brk.cue_id!r}", field="cue_id"
            )

    # -- the set ---------------------------------------------------------------------------
    def add(self, brk: AdBreak) -> AdBreak:
        """Insert ``brk`` in start order; a second break with the same ``cue_id`` is an error."""
        self._check_new(brk, {b.cue_id for b in self._breaks})
        self._breaks.append(brk)
        self._breaks.sort(key=lambda b: (b.start, b.cue_id))
        return brk

    def remove(self, cue_id: str) -> AdBreak:
        """Take out and return the break named ``cue_id``."""
        brk = self[cue_id]
        self._breaks.remove(brk)
        return brk

    def replace(self, cue_id: str, **changes: Any) -> AdBreak:
        """Change fields of the break ``cue_id`` (breaks are immutable; this swaps it)."""
        old = self.remove(cue_id)
        try:
            return self.add(replace(old, **changes))
        except Exception:
            self.add(old)
            raise

    @property
    def breaks(self) -> tuple[AdBreak, ...]:
        """The breaks in start order."""
        return tuple(self._breaks)

    def __iter__(self) -> Iterator[AdBreak]:
        return iter(tuple(self._breaks))

    def __len__(self) -> int:
        return len(self._breaks)

    def __getitem__(self, key: int | str) -> AdBreak:
        if isinstance(key, str):
            for b in self._breaks:
                if b.cue_id == key:
                    return b
            raise KeyError(key)
        return self._breaks[key]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Schedule):
            return NotImplemented
        return (self._breaks, self.plan, self.rules) == (other._breaks, other.plan, other.rules)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        head = f"Schedule({len(self)} break(s), plan={self.plan!r}"
        if not self._breaks:
            return head + ")"
        first, last = self._breaks[0], self._breaks[-1]
        return f"{head}, {format_time(first.start)}–{format_time(last.end)})"

    def _repr_html_(self) -> str:
        return self.to_frame().to_html(index=False)

    # -- rules -----------------------------------------------------------------------------
    def validate(self) -> list[ValidationIssue]:
        """Every broken rule, each with a sentence naming the breaks and the numbers."""
        return validate_breaks(self._breaks, self.rules)

    def check(self) -> Schedule:
        """``self`` when valid, else ``ScheduleValidationError`` listing every issue."""
        issues = self.validate()
        if issues:
            raise ScheduleValidationError(issues)
        return self

    # -- cues ------------------------------------------------------------------------------
    def cues(
        self,
        allocator: EventIdAllocator | None = None,
        clock: StreamClock | None = None,
    ) -> list[PlannedCue]:
        """The cues every break becomes under its plan; see ``scte35lab.schedule.plans``."""
        return plan_schedule(self, allocator=allocator, clock=clock)

    # -- DataFrame / CSV / JSON ------------------------------------------------------------
    def to_frame(self, clock: StreamClock | None = None) -> pd.DataFrame:
        """One row per break. With ``clock``: ``start_pts``/``end_pts`` and, if the clock
        knows its wall time, ``start_wall``/``end_wall`` (UTC)."""
        rows = [{**b.to_dict(), "end": b.end} for b in self._breaks]
        df = pd.DataFrame(rows, columns=list(_FRAME_COLUMNS))
        for name, dtype in _FRAME_COLUMNS.items():
            if dtype == "category":
                df[name] = pd.Categorical(df[name], categories=list(KINDS))
            elif dtype == "str":
                df[name] = (
                    df[name].astype("str")
                    if name in ("cue_id", "notes")
                    else (df[name].astype("object").where(df[name].notna(), None).astype("str"))
                )
            else:
                df[name] = df[name].astype(dtype)
        if clock is not None:
            df["start_pts"] = pd.array([clock.pts(b.start) for b in self._breaks], dtype="int64")
            df["end_pts"] = pd.array([clock.pts(b.end) for b in self._breaks], dtype="int64")
            if clock.started_at is not None:
                df["start_wall"] = pd.to_datetime(
                    [clock.wall(b.start) for b in self._breaks], utc=True
                )
                df["end_wall"] = pd.to_datetime([clock.wall(b.end) for b in self._breaks], utc=True)
        return df

    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        *,
        fps: float | None = None,
        plan: str = "splice_insert",
        rules: ScheduleRules | None = None,
    ) -> Schedule:
        """A schedule from a frame with ``AdBreak`` field columns (derived columns ignored).

        ``start``/``duration`` may hold seconds or timecodes (frame timecode needs ``fps``).
        """
        names = [f.name for f in fields(AdBreak)]
        for required in ("start", "duration"):
            if required not in df.columns:
                raise ScheduleError(f"the frame has no {required!r} column", field=required)
        breaks = []
        for i, row in enumerate(df.to_dict("records")):
            d = {k: row[k] for k in names if k in row}
            try:
                breaks.append(AdBreak.from_dict(d, fps=fps))
            except ScheduleError as exc:
                raise ScheduleError(f"row {i}: {exc}") from exc
            except InvalidFieldError as exc:
                raise InvalidFieldError(f"row {i}: {exc}") from exc
        return cls(breaks, plan=plan, rules=rules)

    def to_csv(self, path: str | Path | None = None) -> str | None:
        """CSV of the breaks (seconds, written so floats read back exactly); text if no path."""
        df = self.to_frame()
        text = df.to_csv(index=False, lineterminator="\n")
        if path is None:
            return text
        Path(path).write_text(text, encoding="utf-8")
        return None

    @classmethod
    def from_csv(
        cls,
        source: str | Path | io.TextIOBase,
        *,
        fps: float | None = None,
        plan: str = "splice_insert",
        rules: ScheduleRules | None = None,
    ) -> Schedule:
        """A schedule from a CSV path or file object; ``start`` may be timecodes."""
        df = pd.read_csv(source, dtype=str, keep_default_na=False)
        return cls.from_frame(df, fps=fps, plan=plan, rules=rules)

    def to_dict(self) -> dict[str, Any]:
        """Plain values: format version, plan, rules, breaks."""
        return {
            "schedule_format": SCHEDULE_FORMAT_VERSION,
            "plan": self.plan,
            "rules": self.rules.to_dict(),
            "breaks": [b.to_dict() for b in self._breaks],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, fps: float | None = None) -> Schedule:
        """The inverse of ``to_dict``."""
        version = d.get("schedule_format", SCHEDULE_FORMAT_VERSION)
        if version != SCHEDULE_FORMAT_VERSION:
            raise ScheduleError(
                f"schedule format {version!r} is not one this version reads "
                f"({SCHEDULE_FORMAT_VERSION})"
            )
        try:
            rules = ScheduleRules(**d.get("rules", {}))
        except TypeError as exc:
            raise ScheduleError(f"schedule rules are not valid: {exc}", field="rules") from exc
        breaks = [AdBreak.from_dict(b, fps=fps) for b in d.get("breaks", [])]
        return cls(breaks, plan=d.get("plan", "splice_insert"), rules=rules)

    def to_json(self, path: str | Path | None = None, *, indent: int | None = 2) -> str | None:
        """JSON of ``to_dict()``; text if no path."""
        text = json.dumps(self.to_dict(), indent=indent)
        if path is None:
            return text
        Path(path).write_text(text, encoding="utf-8")
        return None

    @classmethod
    def from_json(cls, source: str | Path, *, fps: float | None = None) -> Schedule:
        """A schedule from JSON text or a path to a JSON file."""
        text = str(source)
        if isinstance(source, Path) or not text.lstrip().startswith("{"):
            text = Path(source).read_text(encoding="utf-8")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ScheduleError(f"schedule JSON is not valid: {exc}") from exc
        return cls.from_dict(data, fps=fps)


def utcnow() -> datetime:
    """Timezone-aware now, in UTC."""
    return datetime.now(UTC)
