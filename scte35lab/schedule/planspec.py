"""Names of cue plans, as plain strings that survive CSV, JSON and the store.

A plan spec is ``"splice_insert"`` or ``"time_signal:<pairs>"`` where ``<pairs>`` joins pair
names with ``+`` (``"time_signal:break+provider_po"``). Bare ``"time_signal"`` means
``"time_signal:provider_po"``.
"""

from __future__ import annotations

from scte35lab.schedule.errors import ScheduleError

# segmentation_type_id (start, end) for each pair, from ANSI/SCTE 35 Table 23.
SEGMENTATION_PAIRS: dict[str, tuple[int, int]] = {
    "break": (0x22, 0x23),
    "provider_ad": (0x30, 0x31),
    "distributor_ad": (0x32, 0x33),
    "provider_po": (0x34, 0x35),
    "distributor_po": (0x36, 0x37),
}
PLAN_KINDS = ("splice_insert", "time_signal")
DEFAULT_PAIRS = ("provider_po",)


def parse_plan_spec(spec: str) -> tuple[str, tuple[str, ...]]:
    """``(kind, pairs)`` for a plan spec; raises ``ScheduleError`` naming what is unknown."""
    if not isinstance(spec, str):
        raise ScheduleError(f"a plan spec is a string, not {type(spec).__name__}", field="plan")
    kind, _, rest = spec.strip().partition(":")
    kind = kind.strip()
    if kind not in PLAN_KINDS:
        raise ScheduleError(
            f"unknown cue plan {spec!r}: use one of {', '.join(PLAN_KINDS)}", field="plan"
        )
    if kind == "splice_insert":
        if rest.strip():
            raise ScheduleError(
                f"plan {spec!r}: splice_insert takes no segmentation pairs", field="plan"
            )
        return kind, ()
    pairs = tuple(p.strip() for p in rest.split("+") if p.strip()) or DEFAULT_PAIRS
    unknown = [p for p in pairs if p not in SEGMENTATION_PAIRS]
    if unknown:
        raise ScheduleError(
            f"plan {spec!r}: unknown segmentation pair(s) {', '.join(unknown)}; "
            f"use {', '.join(SEGMENTATION_PAIRS)}",
            field="plan",
        )
    if len(set(pairs)) != len(pairs):
        raise ScheduleError(f"plan {spec!r} names a pair twice", field="plan")
    return kind, pairs


def normalize_plan_spec(spec: str) -> str:
    """The canonical spelling of ``spec`` (``"time_signal"`` -> ``"time_signal:provider_po"``)."""
    kind, pairs = parse_plan_spec(spec)
    return kind if not pairs else f"{kind}:{'+'.join(pairs)}"
