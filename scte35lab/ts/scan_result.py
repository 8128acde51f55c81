"""What one pass over a transport stream gives (:class:`ScanResult`), and the state its parts
share while reading: the role of each PID (:class:`PidRoles`) and the findings
(:class:`ErrorLog`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scte35lab.ts.packets import TS_PACKET_SIZE
from scte35lab.ts.psi import Pat, Pmt

MAX_ERRORS_PER_TYPE = 10_000

# roles beside those psi.classify_stream gives (VIDEO, AUDIO, SCTE35, OTHER)
PSI, NULL = "psi", "null"


@dataclass
class PidInfo:
    """What the PSI says about one PID (the latest PMT wins)."""

    pid: int
    role: str
    program_number: int | None = None
    stream_type: int | None = None
    codec: str | None = None
    registration: str | None = None
    carriage: str | None = None  # SCTE-35: "section" (0x86) or "pes" (found by content)
    since: int = 0  # packet index from which this role holds


@dataclass
class ScanResult:
    """Everything one pass found, as arrays and records (see analysis.probe for tables)."""

    packet_size: int = TS_PACKET_SIZE
    packets: int = 0
    bytes: int = 0
    counts: np.ndarray = field(default_factory=lambda: np.zeros(8192, dtype=np.int64))
    pid_info: dict[int, PidInfo] = field(default_factory=dict)
    programs: dict[int, Pmt] = field(default_factory=dict)
    pat: Pat | None = None
    frames: dict[str, np.ndarray] = field(default_factory=dict)
    cues: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    packet_columns: dict[str, np.ndarray] | None = None
    pcr_packet: dict[int, np.ndarray] = field(default_factory=dict)
    pcr_value: dict[int, np.ndarray] = field(default_factory=dict)


@dataclass
class PidRoles:
    """Which PIDs are read how, as masks over the 8192 PIDs the numpy path indexes: their
    sections (PSI, SCTE-35, a private PES that may hold SCTE-35), their PES starts (frames),
    and which are video."""

    section: np.ndarray = field(default_factory=lambda: np.zeros(8192, dtype=bool))
    pes: np.ndarray = field(default_factory=lambda: np.zeros(8192, dtype=bool))
    video: np.ndarray = field(default_factory=lambda: np.zeros(8192, dtype=bool))


class ErrorLog:
    """The findings of one scan: each a record in ``result.errors`` (up to
    MAX_ERRORS_PER_TYPE of a type), every one counted in ``counts``."""

    def __init__(self, result: ScanResult) -> None:
        self.result = result
        self.counts: dict[str, int] = {}

    def add(
        self,
        kind: str,
        priority: int,
        packet: int | None,
        offset: int | None,
        pid: int | None = None,
        detail: str = "",
    ) -> None:
        """One finding of ``kind`` (TR 101 290 priority 1 or 2; 0: information) at
        ``packet`` (its index) and ``offset`` (its byte offset)."""
        n = self.counts.get(kind, 0) + 1
        self.counts[kind] = n
        if n <= MAX_ERRORS_PER_TYPE:
            self.result.errors.append(_record(kind, priority, packet, offset, pid, detail))

    def in_chunk(
        self, kind: str, priority: int, row: int, chunk: tuple[int, int, int], pid: int, detail: str
    ) -> None:
        """A finding at ``row`` of the chunk ``(base, offset0, packet_size)`` whose first
        packet is number ``base`` at byte ``offset0``."""
        base, offset0, ps = chunk
        self.add(kind, priority, base + row, offset0 + row * ps, pid, detail)

    def count(self, kind: str, n: int) -> None:
        """``n`` more findings of ``kind`` that are counted only."""
        self.counts[kind] = self.counts.get(kind, 0) + n

    def close(self) -> None:
        """One record per type that had more findings than were listed."""
        for kind, n in self.counts.items():
            if n > MAX_ERRORS_PER_TYPE:
                more = f"{n - MAX_ERRORS_PER_TYPE} more {kind} not listed"
                self.result.errors.append(_record(kind, 0, None, None, None, more))


def _record(
    kind: str, priority: int, packet: int | None, offset: int | None, pid: int | None, detail: str
) -> dict[str, Any]:
    return {
        "type": kind,
        "priority": priority,
        "packet": packet,
        "offset": offset,
        "pid": pid,
        "detail": detail,
    }
