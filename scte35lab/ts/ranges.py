"""One capture scanned as byte ranges, each from its own state, then stitched into one result.

The :class:`~scte35lab.ts.scan.Scanner` is a state machine over chunks of packets. A range
starts and stops at a chunk boundary of the whole-stream scan, so it reads the very chunks a
single pass reads. What a range needs from before it is the scanner's *carry state* (PSI
roles, sections, PES and access units in progress, the last continuity counter, PCR and DTS of
each PID, ...). A range is scanned either from the exact state the previous range ended in, or
speculatively from a state built by scanning an *overlap* of whole chunks before it. The
stitch accepts a speculative range only when its start state is the exact one as far as
anything it did depended on it; otherwise it has the range scanned again from the exact state.
So the stitched result (``ts.stitch``) is the single pass's result, whatever the stream holds.

Rows that belong to an earlier range but grow in this one (the size of the PES open at the
start, the picture of an access unit whose slice header comes later) come back as patches.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np

from scte35lab.ts.packets import NULL_PID, TS_PACKET_SIZE, find_sync
from scte35lab.ts.scan import (
    CHUNK_BYTES,
    Scanner,
    _FrameLists,
)

_UNSET = "?"  # picture_type of a carried row that this range did not resolve
FRAME_COLUMNS = ("pid", "packet", "offset", "pts", "dts", "stream_id", "random_access")


@dataclass(frozen=True)
class Range:
    """Bytes ``[start, stop)`` of a stream (``stop`` None: to the end), first packet ``base``,
    scanned after an overlap from ``warm`` (== ``start``: none; 0: from the stream start)."""

    index: int
    start: int
    stop: int | None
    base: int
    warm: int
    warm_base: int
    packet_size: int


@dataclass
class RangeOutput:
    """What scanning one range gave: rows appended, patches to carried rows, its end state."""

    range: Range
    exact: bool  # scanned from the exact state (not speculatively)
    frames: dict[str, np.ndarray]
    size_patch: dict[int, int]  # pid -> bytes added to the row open at the start
    picture_patch: dict[int, tuple[bool, bool, str | None]]  # pid -> its picture, if resolved
    cues: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    error_counts: dict[str, int]
    counts: np.ndarray
    pcr_parts: dict[int, tuple[list[np.ndarray], list[np.ndarray]]]
    psi_late: dict[int, list[tuple[int, int, int]]]
    psi_late_more: dict[int, int]
    packet_columns: dict[str, list[np.ndarray]]
    new_rows: dict[int, int]  # pid -> row (in ``frames``) open at the end, if opened here
    start_state: bytes | None  # speculative: the state the range started from
    first_cc: dict[int, tuple[int, bool]] = field(default_factory=dict)
    first_dts: dict[int, int] = field(default_factory=dict)
    first_psi: dict[int, int] = field(default_factory=dict)
    end_state: bytes = b""
    ended: bool = False


class RangeScanner(Scanner):
    """A :class:`Scanner` that also notes, for PIDs whose last continuity counter or DTS its
    start state did not know, the first one it met, so the stitch can tell whether the exact
    state would have reported an error there."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._cc_unknown = np.zeros(8192, dtype=bool)
        self._dts_unknown = False
        self._dts_known: set[int] = set()
        self.first_cc: dict[int, tuple[int, bool]] = {}
        self.first_dts: dict[int, int] = {}
        self._psi_known: set[int] | None = None
        self.first_psi: dict[int, int] = {}
        self._carried: list[int] = []

    def begin(self, *, speculative: bool) -> None:
        """Start a range here: forget what came before but the carry state."""
        if speculative:
            self._cc_unknown = self._last_cc < 0
            self._cc_disc[self._cc_unknown] = False
            self._dts_unknown = True
        else:
            self._cc_unknown = np.zeros(8192, dtype=bool)
            self._dts_unknown = False
        self._dts_known = set(self._last_dts)
        self._psi_known = set(self._psi_clock) if speculative else None
        self.first_cc = {}
        self.first_dts = {}
        self.first_psi = {}
        r = self.r
        r.cues, r.errors, r.frames = [], [], {}
        r.counts = np.zeros(8192, dtype=np.int64)
        self._error_counts = {}
        self._pcr_parts = {}
        self._psi_late = {}
        self._psi_late_more = {}
        self._pkt_cols = {}
        # one placeholder row per PID whose last frame is still growing
        carried = sorted(set(self._open_size) | set(self._pending))
        fr = _FrameLists()
        k = len(carried)
        if k:
            fr.cols["pid"].append(np.asarray(carried, dtype=np.uint16))
            for c in fr.cols:
                if c != "pid":
                    fr.cols[c].append(np.zeros(k, dtype=np.int64))
        fr.n = k
        fr.size = [0] * k
        fr.keyframe = [False] * k
        fr.recovery_point = [False] * k
        fr.picture_type = [_UNSET] * k
        row = {pid: j for j, pid in enumerate(carried)}
        self._open_size = {pid: row[pid] for pid in self._open_size}
        for pid, p in self._pending.items():
            p.row = row[pid]
        self._carried = carried
        self._frames = fr

    def _check_cc(self, t, groups, base, offset0, ps, disc_rows) -> None:
        unknown = self._cc_unknown
        if unknown.any():
            for pid, g in groups.items():
                if pid == NULL_PID or not unknown[pid]:
                    continue
                payload = np.flatnonzero(t.payload_len[g] > 0)
                if not len(payload):
                    continue
                j = int(payload[0])
                disc = bool(self._cc_disc[pid]) or bool((t.af_flags[g[: j + 1]] & 0x80).any())
                self.first_cc[pid] = (int(t.cc[g[j]]), disc)
                unknown[pid] = False
        super()._check_cc(t, groups, base, offset0, ps, disc_rows)

    def _check_dts(self, pid, dts, gi, base, offset0, ps) -> None:
        if self._dts_unknown and pid not in self._dts_known and pid not in self.first_dts:
            have = np.flatnonzero(dts >= 0)
            if len(have):
                self.first_dts[pid] = int(dts[have[0]])
        super()._check_dts(pid, dts, gi, base, offset0, ps)

    def _psi_gaps(self, pid: int, a: np.ndarray, clock: np.ndarray) -> None:
        known = self._psi_known
        if known is not None and pid not in known and pid not in self.first_psi:
            self.first_psi[pid] = int(clock[0])
        super()._psi_gaps(pid, a, clock)

    def take(self) -> dict[str, Any]:
        """The rows this range appended and its patches; leaves only the carry state."""
        fr = self._frames
        k = len(self._carried)
        # placeholders are the first array of each column; an empty range gives None
        cols: dict[str, Any] = {
            c: (np.concatenate(v[1 if k else 0 :]) if len(v) > (1 if k else 0) else None)
            for c, v in fr.cols.items()
        }
        cols["size"] = np.asarray(fr.size[k:], dtype=np.int64)
        cols["keyframe"] = np.asarray(fr.keyframe[k:], dtype=bool)
        cols["recovery_point"] = np.asarray(fr.recovery_point[k:], dtype=bool)
        cols["picture_type"] = np.asarray(fr.picture_type[k:], dtype=object)
        size_patch = {pid: fr.size[j] for j, pid in enumerate(self._carried)}
        picture_patch = {
            pid: (fr.keyframe[j], fr.recovery_point[j], fr.picture_type[j])
            for j, pid in enumerate(self._carried)
            if fr.picture_type[j] != _UNSET
        }
        new_rows = {pid: row - k for pid, row in self._open_size.items() if row >= k}
        r = self.r
        out = {
            "frames": cols,
            "size_patch": size_patch,
            "picture_patch": picture_patch,
            "cues": r.cues,
            "errors": r.errors,
            "error_counts": self._error_counts,
            "counts": r.counts,
            "pcr_parts": self._pcr_parts,
            "psi_late": self._psi_late,
            "psi_late_more": self._psi_late_more,
            "packet_columns": self._pkt_cols,
            "new_rows": new_rows,
            "first_cc": self.first_cc,
            "first_dts": self.first_dts,
            "first_psi": self.first_psi,
        }
        self.begin(speculative=False)
        return out

    def state(self) -> bytes:
        """The carry state, pickled (outputs taken first)."""
        progress, self.progress = self.progress, None
        try:
            return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)
        finally:
            self.progress = progress


# ------------------------------------------------------------------ planning


@dataclass(frozen=True)
class Grid:
    """Where a whole-stream scan's chunks end while the stream stays in sync: at
    ``first + j * step``; packet ``n`` starts at ``sync + n * packet_size``."""

    sync: int
    first: int
    step: int
    packet_size: int

    def base(self, offset: int) -> int:
        return (offset - self.sync) // self.packet_size


def chunk_grid(f: BinaryIO, chunk_bytes: int = CHUNK_BYTES) -> Grid | None:
    """The chunk grid of the stream ``f`` (read from its start), None when it has no
    boundary inside (shorter than a chunk, or no sync in its first chunk)."""
    cap = chunk_bytes + 4096
    f.seek(0)
    head = f.read(cap)
    if len(head) < cap:
        return None
    found = find_sync(np.frombuffer(head, dtype=np.uint8), 0, run=5)
    if found is None:
        return None
    q, ps = found
    return Grid(q, q + ((cap - q) // ps) * ps, (cap // ps) * ps, ps)


def plan_ranges(
    f: BinaryIO,
    size: int,
    parts: int,
    *,
    chunk_bytes: int = CHUNK_BYTES,
    overlap: int | None = None,
) -> list[Range]:
    """Up to ``parts`` ranges of about equal size on the chunk grid, each (but the first)
    warmed up from at least ``overlap`` bytes (default: one chunk) before its start."""
    grid = chunk_grid(f, chunk_bytes)
    cap = chunk_bytes + 4096
    points: list[int] = []
    if grid is not None:
        b = grid.first
        while b + cap <= size:
            points.append(b)
            b += grid.step
    ps = grid.packet_size if grid is not None else TS_PACKET_SIZE
    n = len(points)
    picked = sorted({round(i * (n + 1) / parts) - 1 for i in range(1, parts)} - {-1})
    picked = [j for j in picked if 0 <= j < n]
    warm_chunks = -(-(chunk_bytes if overlap is None else overlap) // (grid.step if grid else 1))
    ranges: list[Range] = []
    starts = [None, *picked]
    for i, j in enumerate(starts):
        stop = points[starts[i + 1]] if i + 1 < len(starts) else None
        if j is None:
            ranges.append(Range(i, 0, stop, 0, 0, 0, ps))
            continue
        w = j - warm_chunks
        warm = points[w] if w >= 0 else 0
        warm_base = grid.base(warm) if w >= 0 else 0
        ranges.append(Range(i, points[j], stop, grid.base(points[j]), warm, warm_base, ps))
    return ranges


# ------------------------------------------------------------------ scanning


def scan_range(
    open_source: Callable[[], BinaryIO],
    rng: Range,
    *,
    state: bytes | None = None,
    packets: bool = False,
    pids: set[int] | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> RangeOutput:
    """Scan one range: from ``state`` (the exact end state of the range before), from the
    stream start, or speculatively after its overlap."""
    with open_source() as f:
        if state is not None:
            sc: RangeScanner = pickle.loads(state)
            exact = True
        else:
            sc = RangeScanner(packets=packets, pids=pids, chunk_bytes=chunk_bytes)
            exact = rng.warm == 0
            if not exact:
                # a cold start at a packet boundary in the middle of the stream
                sc.position, sc._ps, sc._synced = rng.warm, rng.packet_size, True
                sc._base = rng.warm_base
                sc.r.packet_size = rng.packet_size
            if sc.position < rng.start:
                f.seek(sc.position)
                sc.scan_until(f, rng.start)
        sc.begin(speculative=not exact)
        start_state = None if exact else sc.state()
        ended = False
        if rng.stop is None or sc.position < rng.stop:
            f.seek(sc.position)
            ended = sc.scan_until(f, rng.stop)
        cc_unknown = sc._cc_unknown.copy()
        taken = sc.take()
        sc._cc_unknown = cc_unknown  # which PIDs this range never met, for the stitch
        return RangeOutput(
            range=rng,
            exact=exact,
            start_state=start_state,
            end_state=sc.state(),
            ended=ended,
            **taken,
        )
