"""The probe's TR 101 290 timing and continuity checks, a chunk of packets at a time with
numpy: continuity_counter (1.4), PCR repetition and discontinuity (2.3), PAT and PMT
repetition (1.3a, 1.5a) and PES timestamp gaps (2.5)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from scte35lab.clock import PCR_HZ, PTS_HZ, PTS_WRAP
from scte35lab.ts.packets import NULL_PID, PCR_WRAP, PacketTable
from scte35lab.ts.psi import PAT_PID
from scte35lab.ts.scan_result import MAX_ERRORS_PER_TYPE, ErrorLog
from scte35lab.ts.sections import PidSections

PCR_REPETITION = PCR_HZ * 40 // 1000  # TR 101 290 2.3a: 40 ms
PCR_JUMP = PCR_HZ // 10  # TR 101 290 2.3b: 100 ms
PSI_INTERVAL = PCR_HZ // 2  # TR 101 290 1.3a / 1.5a: 0.5 s
PTS_INTERVAL = PTS_HZ * 7 // 10  # TR 101 290 2.5: 700 ms

PsiGaps = Callable[[int, np.ndarray, np.ndarray], None]


class TransportChecks:
    """What the checks carry from chunk to chunk, and the checks themselves."""

    def __init__(self, errors: ErrorLog) -> None:
        self.errors = errors
        self.last_cc = np.full(8192, -1, dtype=np.int16)
        # a discontinuity_indicator seen since the PID's last payload packet / last PCR
        # (an adaptation-field-only packet announces a jump in what follows it)
        self.cc_disc = np.zeros(8192, dtype=bool)
        self.pcr_disc = np.zeros(8192, dtype=bool)
        self.last_pcr: dict[int, tuple[int, int]] = {}  # pid -> (packet, pcr)
        self.pcr_parts: dict[int, tuple[list[np.ndarray], list[np.ndarray]]] = {}
        self.last_dts: dict[int, tuple[int, int]] = {}
        # PAT/PMT intervals are checked chunk by chunk, so no list of every arrival grows:
        # this chunk's arrivals, the reference PCR at each PID's last arrival that had one,
        # and the late ones (at most MAX_ERRORS_PER_TYPE a PID; beyond that only counted),
        # reported at the end, by PID in order of first arrival
        self.psi_arrivals: dict[int, list[tuple[int, int]]] = {}  # PID -> (packet, offset)
        self.psi_clock: dict[int, int] = {}
        self.psi_late: dict[int, list[tuple[int, int, int]]] = {}  # PID -> (packet, offset, gap)
        self.psi_late_more: dict[int, int] = {}
        self.ref_last: tuple[int, int] | None = None  # last (packet, PCR) of the reference
        self.ref_pcr_pid: int | None = None

    # ------------------------------------------------------------ continuity

    def cc(
        self,
        t: PacketTable,
        groups: dict[int, np.ndarray],
        base: int,
        offset0: int,
        ps: int,
        disc_rows: np.ndarray,
        sections: PidSections,
    ) -> None:
        """continuity_counter of each payload packet = previous + 1 (or a duplicate), unless
        a discontinuity_indicator is set on it or on an adaptation-field-only packet of the
        PID since the previous payload packet (ISO/IEC 13818-1 2.4.3.5). A section being
        assembled on a PID with a CC error is dropped."""
        carry = self.cc_disc
        marked = len(disc_rows) > 0
        for pid, g in groups.items():
            if pid == NULL_PID:
                continue
            payload = t.payload_len[g] > 0
            if marked or carry[pid]:
                # discontinuities counted up to each packet; a payload packet is excused by
                # any since the payload packet before it (the chunk's first: by the carry)
                n_disc = np.cumsum((t.af_flags[g] & 0x80) != 0)
                at = np.flatnonzero(payload)
                upto = n_disc[at]
                disc = np.diff(upto, prepend=0) > 0
                if len(at):
                    disc[0] |= bool(carry[pid])
                    carry[pid] = n_disc[-1] > upto[-1]
                else:
                    carry[pid] |= n_disc[-1] > 0
                g = g[at]
            else:
                g = g[payload]
                disc = None
            if not len(g):
                continue
            cc = t.cc[g].astype(np.int16)
            prev = np.empty_like(cc)
            prev[0] = self.last_cc[pid]
            prev[1:] = cc[:-1]
            bad = (prev >= 0) & (cc != ((prev + 1) & 0x0F)) & (cc != prev)
            if disc is not None:
                bad &= ~disc
            self.last_cc[pid] = cc[-1]
            if bad.any():
                for j in np.flatnonzero(bad).tolist():
                    i = int(g[j])
                    what = f"continuity_counter {int(cc[j])} after {int(prev[j])}"
                    self.errors.in_chunk("cc_error", 1, i, (base, offset0, ps), pid, what)
                    asm = sections.get(pid)
                    if asm is not None:
                        asm.reset()

    # ------------------------------------------------------------------- PCR

    def pcr(
        self,
        t: PacketTable,
        groups: dict[int, np.ndarray],
        base: int,
        offset0: int,
        ps: int,
        disc_rows: np.ndarray,
    ) -> None:
        """PCR steps on each PCR PID. A discontinuity_indicator on the PCR packet, or on any
        packet of the PID since its previous PCR (an adaptation-field-only packet), starts a
        new time base: the step is then reported as information, not as an error."""
        carry = self.pcr_disc
        pids = t.pid[t.pcr_index]
        if len(disc_rows):
            # PIDs marked in this chunk that carry no PCR in it: the mark waits for their next
            carry[np.setdiff1d(t.pid[disc_rows], pids)] = True
        if not len(t.pcr_index):
            return
        for pid in np.unique(pids).tolist():
            sel = pids == pid
            idx = t.pcr_index[sel]
            val = t.pcr[sel]
            parts = self.pcr_parts.setdefault(pid, ([], []))
            parts[0].append(idx + base)
            parts[1].append(val)
            if self.ref_pcr_pid is None:
                self.ref_pcr_pid = pid
            last = self.last_pcr.get(pid)
            prev = np.concatenate(([last[1] if last else -1], val[:-1]))
            d = (val - prev) % PCR_WRAP
            disc = (t.af_flags[idx] & 0x80) != 0
            if len(disc_rows) or carry[pid]:
                g = groups[pid]
                n_disc = np.cumsum((t.af_flags[g] & 0x80) != 0)
                upto = n_disc[np.searchsorted(g, idx)]
                disc = np.diff(upto, prepend=0) > 0
                disc[0] |= bool(carry[pid])
                carry[pid] = n_disc[-1] > upto[-1]
            has_prev = prev >= 0
            wrapped = has_prev & (val < prev) & (d < PCR_JUMP)
            back = has_prev & (d >= PCR_WRAP // 2) & ~disc
            jump = has_prev & (d > PCR_JUMP) & (d < PCR_WRAP // 2) & ~disc
            rep = has_prev & (d > PCR_REPETITION) & (d <= PCR_JUMP) & ~disc
            self.last_pcr[pid] = (int(base + idx[-1]), int(val[-1]))
            for kind, pri, mask, what in (
                ("pcr_discontinuity_error", 2, jump, "PCR jumped forward"),
                ("pcr_discontinuity_error", 2, back, "PCR went backwards"),
                ("pcr_repetition_error", 2, rep, "PCRs more than 40 ms apart"),
                ("pcr_wrap", 0, wrapped, "PCR wrapped at 2^33"),
                ("discontinuity_indicator", 0, disc & has_prev, "discontinuity_indicator set"),
            ):
                for j in np.flatnonzero(mask).tolist():
                    i = int(idx[j])
                    dv = int(d[j]) if d[j] < PCR_WRAP // 2 else int(d[j]) - PCR_WRAP
                    step = f"{what} ({dv / PCR_HZ * 1000:.1f} ms)"
                    self.errors.in_chunk(kind, pri, i, (base, offset0, ps), pid, step)

    # -------------------------------------------------------- PES timestamps

    def dts(
        self, pid: int, dts: np.ndarray, gi: np.ndarray, base: int, offset0: int, ps: int
    ) -> None:
        """TR 101 290 2.5: a PID's decoding timestamps (``dts``, -1: none, of the PES starts
        at rows ``gi``) no more than 700 ms apart; a wrap at 2^33 is information."""
        last = self.last_dts.get(pid)
        have = np.flatnonzero(dts >= 0)
        if not len(have):
            return
        d = dts[have]
        prev = np.concatenate(([last[1] if last else -1], d[:-1]))
        gap = (d - prev) % PTS_WRAP
        has_prev = prev >= 0
        wrapped = has_prev & (d < prev) & (gap < PTS_WRAP // 2)
        late = has_prev & (gap > PTS_INTERVAL) & (gap < PTS_WRAP // 2)
        self.last_dts[pid] = (int(base + gi[have[-1]]), int(d[-1]))
        for kind, pri, mask, what in (
            ("pts_wrap", 0, wrapped, "timestamps wrapped at 2^33"),
            ("pts_error", 2, late, "timestamps more than 700 ms apart"),
        ):
            for j in np.flatnonzero(mask).tolist():
                i = int(gi[have[j]])
                step = f"{what} ({int(prev[j])} -> {int(d[j])})"
                self.errors.in_chunk(kind, pri, i, (base, offset0, ps), pid, step)

    # ------------------------------------------------- PAT / PMT repetition

    def arrived(self, pid: int, packet: int, offset: int) -> None:
        """A PAT or PMT section arrived on ``pid`` (a repeat counts)."""
        self.psi_arrivals.setdefault(pid, []).append((packet, offset))

    def arrived_many(self, pid: int, packets: list[int], offsets: list[int]) -> None:
        """Several arrivals on ``pid``, in order."""
        self.psi_arrivals.setdefault(pid, []).extend(zip(packets, offsets, strict=True))

    def psi_intervals(self, base: int, gaps: PsiGaps) -> None:
        """TR 101 290 1.3a / 1.5a: PAT and each PMT at least every 0.5 s (in the PCR time of
        the first PCR PID), for this chunk's arrivals; ``gaps`` notes the late ones
        (:meth:`psi_gaps`, or a caller's that wraps it)."""
        arrivals, self.psi_arrivals = self.psi_arrivals, {}
        ref = self.ref_pcr_pid
        idx = val = None
        parts = None if ref is None else self.pcr_parts.get(ref)
        if parts and parts[0] and len(parts[0][-1]) and parts[0][-1][0] >= base:
            idx, val = parts[0][-1], parts[1][-1]  # the reference's PCRs in this chunk
        for pid, arr in arrivals.items():
            self.psi_late.setdefault(pid, [])
            if ref is None:
                continue
            a = np.asarray(arr, dtype=np.int64)
            before = -1 if self.ref_last is None else self.ref_last[1]
            if idx is not None:
                j = np.searchsorted(idx, a[:, 0], side="right") - 1
                clock = np.where(j >= 0, val[np.maximum(j, 0)], before)
            else:
                clock = np.full(len(a), before, dtype=np.int64)
            have = clock >= 0
            if have.any():
                gaps(pid, a[have], clock[have].astype(np.int64))
        if idx is not None:
            self.ref_last = (int(idx[-1]), int(val[-1]))

    def psi_gaps(self, pid: int, a: np.ndarray, clock: np.ndarray) -> None:
        """Note the arrivals ``a`` (packet, offset) of ``pid`` that came late, by ``clock``."""
        prev = self.psi_clock.get(pid)
        if prev is not None:
            clock = np.concatenate(([prev], clock))
        else:
            a = a[1:]
        self.psi_clock[pid] = int(clock[-1])
        gap = np.diff(clock) % PCR_WRAP
        late = np.flatnonzero((gap > PSI_INTERVAL) & (gap < PCR_WRAP // 2))
        if not len(late):
            return
        kept = self.psi_late[pid]
        room = max(0, MAX_ERRORS_PER_TYPE - len(kept))
        sel = late[:room]
        kept += zip(a[sel, 0].tolist(), a[sel, 1].tolist(), gap[sel].tolist(), strict=True)
        if len(late) > room:
            self.psi_late_more[pid] = self.psi_late_more.get(pid, 0) + len(late) - room

    def report_psi_intervals(self) -> None:
        """The late PAT and PMT arrivals, as pat_error / pmt_error, at the end."""
        for pid, late in self.psi_late.items():
            kind, name = ("pat_error", "PAT") if pid == PAT_PID else ("pmt_error", "PMT")
            for packet, offset, gap in late:
                what = f"{name} interval {gap / PCR_HZ:.3f} s > 0.5 s"
                self.errors.add(kind, 1, packet, offset, pid, what)
            more = self.psi_late_more.get(pid, 0)
            if more:
                self.errors.count(kind, more)
