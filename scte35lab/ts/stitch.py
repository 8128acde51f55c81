"""Stitching ranges scanned by ``ts.ranges`` into the single-pass result.

Ranges are taken in order. The first (and any scanned from the stream start or from an
exact state) is exact; a speculative one is accepted when :func:`agrees` finds that its start
state holds wherever the range depended on it, and its end state is then made exact by
:func:`_complete`. Otherwise ``rescan`` scans it again from the exact state. The rows are then
joined onto the last exact state, the carried rows patched, and the end-of-stream checks run.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from scte35lab.clock import PCR_WRAP, PTS_WRAP
from scte35lab.ts.ranges import FRAME_COLUMNS, Range, RangeOutput, RangeScanner
from scte35lab.ts.scan import (
    MAX_ERRORS_PER_TYPE,
    PSI_INTERVAL,
    PTS_INTERVAL,
    Scanner,
    ScanResult,
    _FrameLists,
)
from scte35lab.ts.sections import PidSections


def _info(sc: Scanner) -> dict[int, tuple]:
    return {
        pid: (i.role, i.program_number, i.stream_type, i.codec, i.registration, i.carriage)
        for pid, i in sc.r.pid_info.items()
    }


def sections_in_progress(sc: Scanner) -> dict[int, tuple[bytes, int]]:
    """PID -> (bytes so far, length) of each section the scanner is in the middle of."""
    return {pid: (bytes(a._buf), a._need) for pid, a in sc._assemblers.items() if a.in_progress}


def agrees(exact: RangeScanner, spec: RangeScanner, out: RangeOutput) -> bool:
    """Whether a range scanned from ``spec`` did all that one scanned from ``exact`` would."""
    if (exact.position, exact._ps, exact._synced, exact._base) != (
        spec.position,
        spec._ps,
        spec._synced,
        spec._base,
    ):
        return False
    e, s = exact.r, spec.r
    if e.packet_size != s.packet_size or e.pat != s.pat or e.programs != s.programs:
        return False
    if _info(exact) != _info(spec):
        return False
    for name in ("_section_roles", "_pes_roles", "_video", "_pcr_disc"):
        if not np.array_equal(getattr(exact, name), getattr(spec, name)):
            return False
    for name in ("_pmt_pids", "_last_section", "_psi_repeat", "_pes_probe", "_last_pcr"):
        if getattr(exact, name) != getattr(spec, name):
            return False
    if {p: h.extra_slice_header_bits for p, h in exact._hevc.items()} != {
        p: h.extra_slice_header_bits for p, h in spec._hevc.items()
    }:
        return False
    pes = [(p, x.packet, x.offset, bytes(x.data)) for p, x in exact._pes_open.items()]
    if pes != [(p, x.packet, x.offset, bytes(x.data)) for p, x in spec._pes_open.items()]:
        return False
    if sections_in_progress(exact) != sections_in_progress(spec) or set(exact._open_size) != set(
        spec._open_size
    ):
        return False
    pend = {p: (bytes(x.data), x.packets) for p, x in exact._pending.items()}
    if pend != {p: (bytes(x.data), x.packets) for p, x in spec._pending.items()}:
        return False
    # continuity counters: the known ones equal; the first met of the others no error
    known = ~spec._cc_unknown
    if not np.array_equal(exact._last_cc[known], spec._last_cc[known]) or not np.array_equal(
        exact._cc_disc[known], spec._cc_disc[known]
    ):
        return False
    for pid, (cc, disc) in out.first_cc.items():
        last = int(exact._last_cc[pid])
        if last >= 0 and not (disc or exact._cc_disc[pid]) and cc not in (last, (last + 1) & 15):
            return False
    # DTS: the same for each PID the start knew; the first of the others no error
    for pid in spec._dts_known:
        if exact._last_dts.get(pid) != spec._last_dts[pid]:
            return False
    for pid, d in out.first_dts.items():
        last = exact._last_dts.get(pid)
        if last is None:
            continue
        gap = (d - last[1]) % PTS_WRAP
        if gap < PTS_WRAP // 2 and (d < last[1] or gap > PTS_INTERVAL):
            return False
    # PAT/PMT intervals: the same reference clock; a PID's first arrival here not late
    if (exact._ref_pcr_pid, exact._ref_last) != (spec._ref_pcr_pid, spec._ref_last):
        return False
    if any(exact._psi_clock.get(p) != c for p, c in spec._psi_clock.items()):
        return False
    for pid, c in out.first_psi.items():
        last = exact._psi_clock.get(pid)
        if last is not None and PSI_INTERVAL < (c - last) % PCR_WRAP < PCR_WRAP // 2:
            return False
    return (exact.want_packets, exact.pid_filter, exact.chunk_bytes) == (
        spec.want_packets,
        spec.pid_filter,
        spec.chunk_bytes,
    )


def _complete(end: RangeScanner, exact: RangeScanner, spec: RangeScanner, out: RangeOutput) -> None:
    """Make the end state of an accepted speculative range the exact one: what it never met
    comes from ``exact`` (the state before it), and dict orders follow the exact history."""
    still = end._cc_unknown
    end._last_cc[still] = exact._last_cc[still]
    end._cc_disc[still] |= exact._cc_disc[still]
    for pid, v in exact._last_dts.items():
        if pid not in spec._dts_known and pid not in out.first_dts:
            end._last_dts[pid] = v
    for pid, c in exact._psi_clock.items():
        end._psi_clock.setdefault(pid, c)
    base = out.range.base
    before = exact.r.pid_info
    for pid, info in end.r.pid_info.items():
        if info.since < base and pid in before:
            info.since = before[pid].since
    end.r.pid_info = _ordered(end.r.pid_info, before)
    end.r.programs = _ordered(end.r.programs, exact.r.programs)
    merged = {p: end._assemblers.get(p, a) for p, a in exact._assemblers.items()}
    merged.update({p: a for p, a in end._assemblers.items() if p not in merged})
    end._assemblers = PidSections(merged)


def _ordered(d: dict, like: dict) -> dict:
    out = {k: d[k] for k in like if k in d}
    out.update({k: v for k, v in d.items() if k not in out})
    return out


@dataclass
class StitchStats:
    """How the ranges were taken: speculative ones accepted, and ones scanned again."""

    ranges: int = 0
    accepted: int = 0
    rescanned: int = 0


def stitch(
    outputs: list[RangeOutput], rescan: Callable[[Range, bytes], RangeOutput]
) -> tuple[ScanResult, StitchStats]:
    """The single-pass result from the ranges' outputs, in order. ``rescan(range, state)``
    scans a range again from an exact state when its speculative start did not hold."""
    stats = StitchStats(ranges=len(outputs))
    taken: list[RangeOutput] = []
    exact: RangeScanner | None = None
    for out in outputs:
        if exact is not None and getattr(exact, "_ended", False):
            break  # the stream ended before this range (it lost sync and drifted)
        if out.exact or exact is None:
            end = pickle.loads(out.end_state)
        else:
            spec = pickle.loads(out.start_state)
            if agrees(exact, spec, out):
                end = pickle.loads(out.end_state)
                _complete(end, exact, spec, out)
                stats.accepted += 1
            else:
                out = rescan(out.range, pickle.dumps(exact, protocol=pickle.HIGHEST_PROTOCOL))
                end = pickle.loads(out.end_state)
                stats.rescanned += 1
        end._ended = out.ended
        taken.append(out)
        exact = end
    assert exact is not None
    return _assemble(exact, taken), stats


def _assemble(final: RangeScanner, outputs: list[RangeOutput]) -> ScanResult:
    """Join the ranges' rows onto the last exact state and finish as a single pass would."""
    counts: dict[str, int] = {}
    errors: list[dict[str, Any]] = []
    cues: list[dict[str, Any]] = []
    pcr: dict[int, tuple[list[np.ndarray], list[np.ndarray]]] = {}
    late: dict[int, list[tuple[int, int, int]]] = {}
    more: dict[int, int] = {}
    pkt: dict[str, list[np.ndarray]] = {}
    total = np.zeros(8192, dtype=np.int64)
    names = (*FRAME_COLUMNS, "header_length", "size", "keyframe", "recovery_point", "picture_type")
    parts: dict[str, list[np.ndarray]] = {c: [] for c in names}
    rows = 0
    open_row: dict[int, int] = {}
    size_fix: dict[int, int] = {}
    picture_fix: dict[int, tuple[bool, bool, str | None]] = {}
    for out in outputs:
        used: dict[str, int] = {}
        for e in out.errors:
            kind = e["type"]
            used[kind] = used.get(kind, 0) + 1
            if counts.get(kind, 0) + used[kind] <= MAX_ERRORS_PER_TYPE:
                errors.append(e)
        for kind, n in out.error_counts.items():
            counts[kind] = counts.get(kind, 0) + n
        cues += out.cues
        total += out.counts
        for pid, (idx, val) in out.pcr_parts.items():
            have = pcr.setdefault(pid, ([], []))
            have[0].extend(idx)
            have[1].extend(val)
        for pid, rows_late in out.psi_late.items():
            kept = late.setdefault(pid, [])
            room = max(0, MAX_ERRORS_PER_TYPE - len(kept))
            kept += rows_late[:room]
            extra = len(rows_late) - len(rows_late[:room]) + out.psi_late_more.get(pid, 0)
            if extra:
                more[pid] = more.get(pid, 0) + extra
        for k, v in out.packet_columns.items():
            pkt.setdefault(k, []).extend(v)
        for pid, inc in out.size_patch.items():
            row = open_row[pid]
            size_fix[row] = size_fix.get(row, 0) + inc
        for pid, pic in out.picture_patch.items():
            picture_fix[open_row[pid]] = pic
        f = out.frames
        if f["packet"] is not None:
            for c in names:
                parts[c].append(f[c])
            for pid, r in out.new_rows.items():
                open_row[pid] = rows + r
            rows += len(f["packet"])
    fr = _FrameLists()
    for c in fr.cols:
        fr.cols[c] = [np.concatenate(parts[c])] if parts[c] else []
    fr.n = rows
    size = np.concatenate(parts["size"]) if rows else np.zeros(0, dtype=np.int64)
    keyframe = np.concatenate(parts["keyframe"]) if rows else np.zeros(0, dtype=bool)
    recovery = np.concatenate(parts["recovery_point"]) if rows else np.zeros(0, dtype=bool)
    picture = np.concatenate(parts["picture_type"]) if rows else np.zeros(0, dtype=object)
    for row, inc in size_fix.items():
        size[row] += inc
    for row, (kf, rp, pt) in picture_fix.items():
        keyframe[row], recovery[row], picture[row] = kf, rp, pt
    fr.size, fr.keyframe, fr.recovery_point, fr.picture_type = size, keyframe, recovery, picture
    final._frames = fr
    final._open_size, final._pending = {}, {}
    final.r.cues, final.r.errors, final.r.counts = cues, errors, total
    final._error_counts = counts
    final._pcr_parts, final._pkt_cols = pcr, pkt
    final._psi_late, final._psi_late_more = late, more
    return final.finish()
