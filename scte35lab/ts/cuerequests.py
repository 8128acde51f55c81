"""What the injector is asked to send and what became of it: cue requests and placements.

A :class:`CueRequest` is one cue and when it splices (seconds from stream time zero, an
absolute PTS, the cue's own splice point, or immediately); :func:`cue_requests` turns
everything :func:`scte35lab.ts.inject.inject` accepts (a ``Schedule``, cues, pairs) into
requests. A :class:`Placement` is the injector's answer for one request: where the cue
went, with how much pre-roll, or why it did not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from scte35lab.clock import PTS_HZ, PTS_WRAP, pts_diff
from scte35lab.cue import Cue
from scte35lab.errors import InputFormatError

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class CueRequest:
    """A cue to send and when it splices.

    ``at`` is seconds from stream time zero (the first video PTS); ``pts`` an absolute splice
    PTS (90 kHz, mod 2**33); with neither, the cue's own splice point is used. ``immediate``
    sends a splice_immediate cue once, as it is, when the video reaches ``at``.
    """

    cue: Cue
    at: float | None = None
    pts: int | None = None
    immediate: bool = False
    label: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.cue, Cue):
            self.cue = Cue.decode(self.cue)
        if self.pts is not None:
            self.pts = int(self.pts) % PTS_WRAP
        if self.at is None and self.pts is None and not self.immediate:
            point = self.cue.splice_point
            if point is None:
                raise InputFormatError(
                    f"{self.cue.command_name} cue has no splice time: give it a time "
                    "(seconds from stream start) or ask for immediate=True"
                )
            self.pts = point

    def describe(self) -> str:
        """The cue in a few words for logs and errors: command, event id, label."""
        cue = self.cue
        ident = cue.splice_event_id
        if ident is None and cue.segmentation_descriptors:
            ident = cue.segmentation_descriptors[0].segmentation_event_id
        label = f" ({self.label})" if self.label else ""
        return f"{cue.command_name} {ident if ident is not None else ''}{label}".strip()


@dataclass
class Placement:
    """What became of one :class:`CueRequest`.

    ``status``: ``pending`` (its IDR not seen yet), ``placed``, ``late`` (placed, but the
    stream did not reach back ``preroll`` before the splice point), ``missed`` (the stream
    ended before its splice point), ``cancelled`` (withdrawn before it was placed).
    ``reason`` says why a cue is ``late`` or ``missed`` in words. PTS are 33-bit;
    ``arrivals`` are the arrival PTS of each copy sent (None: before the first video frame).
    """

    request: CueRequest
    requested_pts: int | None = None
    splice_pts: int | None = None
    cue: Cue | None = None
    arrivals: list[int | None] = field(default_factory=list)
    preroll: float | None = None
    status: str = "pending"
    reason: str | None = None
    _target: int | None = None  # unwrapped requested PTS
    _done: bool = False

    def as_row(self, zero: int | None) -> dict[str, Any]:
        """One report row (seconds counted from stream time zero ``zero``)."""
        cue = self.cue or self.request.cue
        seg = cue.segmentation_descriptors

        def secs(pts: int | None) -> float | None:
            return None if pts is None or zero is None else pts_diff(pts, zero) / PTS_HZ

        first = self.arrivals[0] if self.arrivals else None
        return {
            "label": self.request.label,
            "command_name": cue.command_name,
            "splice_event_id": cue.splice_event_id,
            "segmentation_event_id": seg[0].segmentation_event_id if seg else None,
            "segmentation_type_id": seg[0].segmentation_type_id if seg else None,
            "requested_pts": self.requested_pts,
            "requested_time": secs(self.requested_pts),
            "splice_pts": self.splice_pts,
            "splice_time": secs(self.splice_pts),
            "first_arrival_time": secs(first),
            "preroll": self.preroll,
            "sends": len(self.arrivals),
            "status": self.status,
            "reason": self.reason,
            "base64": None if self.cue is None else self.cue.to_base64(),
        }


# The report's columns, in as_row's order; the numeric ones' dtypes (ids and PTS nullable
# integers, times float seconds with NaN for none); text columns keep what pandas infers.
REPORT_COLUMNS = (
    "label",
    "command_name",
    "splice_event_id",
    "segmentation_event_id",
    "segmentation_type_id",
    "requested_pts",
    "requested_time",
    "splice_pts",
    "splice_time",
    "first_arrival_time",
    "preroll",
    "sends",
    "status",
    "reason",
    "base64",
)
REPORT_DTYPES: dict[str, Any] = {
    **dict.fromkeys(
        (
            "splice_event_id",
            "segmentation_event_id",
            "segmentation_type_id",
            "requested_pts",
            "splice_pts",
        ),
        "Int64",
    ),
    **dict.fromkeys(("requested_time", "splice_time", "first_arrival_time", "preroll"), float),
    "sends": np.int64,
}


def placement_table(placements: Iterable[Placement], zero: int | None) -> pd.DataFrame:
    """One row per placement (see :meth:`Placement.as_row`), numbers with
    :data:`REPORT_DTYPES`."""
    import pandas as pd

    rows = [p.as_row(zero) for p in placements]
    return pd.DataFrame(rows, columns=list(REPORT_COLUMNS)).astype(REPORT_DTYPES)


CueInput = Any  # Cue | CueRequest | (seconds, Cue) | PlannedCue | Schedule | bytes | str


def cue_requests(cues_or_schedule: CueInput | Iterable[CueInput]) -> list[CueRequest]:
    """Normalise what :func:`inject` accepts into :class:`CueRequest` objects.

    Accepted: a ``Schedule`` (its planned cues, timed in seconds from stream start), one or
    many ``Cue`` (spliced at their own splice point), ``CueRequest``, ``PlannedCue``,
    ``(seconds, cue)`` pairs, and cues as bytes, base64 or hex.
    """
    if hasattr(cues_or_schedule, "cues") and hasattr(cues_or_schedule, "breaks"):
        return [as_request(p) for p in cues_or_schedule.cues()]
    if isinstance(cues_or_schedule, Cue | CueRequest | bytes | bytearray | str) or (
        isinstance(cues_or_schedule, tuple)
        and len(cues_or_schedule) == 2
        and isinstance(cues_or_schedule[0], int | float)
    ):
        return [as_request(cues_or_schedule)]
    return [as_request(c) for c in cues_or_schedule]


def as_request(item: Any) -> CueRequest:
    """One item of what :func:`cue_requests` accepts, as a :class:`CueRequest`."""
    if isinstance(item, CueRequest):
        return item
    if isinstance(item, Cue | bytes | bytearray | str):
        return CueRequest(item if isinstance(item, Cue) else Cue.decode(item))
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], int | float):
        return CueRequest(item[1], at=float(item[0]))
    if hasattr(item, "splice_time") and hasattr(item, "cue"):  # schedule.PlannedCue
        label = f"{getattr(item, 'cue_id', '')}/{getattr(item, 'role', '')}".strip("/")
        if getattr(item, "splice_pts", None) is not None:
            return CueRequest(item.cue, pts=item.splice_pts, label=label or None)
        return CueRequest(item.cue, at=float(item.splice_time), label=label or None)
    raise InputFormatError(
        f"cannot inject a {type(item).__name__}: give Cue, (seconds, Cue), CueRequest or Schedule"
    )


__all__ = [
    "REPORT_COLUMNS",
    "REPORT_DTYPES",
    "CueInput",
    "CueRequest",
    "Placement",
    "as_request",
    "cue_requests",
    "placement_table",
]
