"""One pass over a transport stream: PSI, PES timestamps, access units, SCTE-35, TR 101 290.

The hot path is numpy over large chunks of packets: header fields, continuity counters,
PCRs and PES timestamps are computed for whole chunks at once. Python loops only over the
packets that matter: PSI and SCTE-35 payloads, and the first packets of each video access
unit (to read its NAL headers). Results come back as numpy arrays and record lists; the
analysis layer turns them into DataFrames.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np

from scte35lab.clock import PCR_HZ, PTS_HZ, PTS_WRAP
from scte35lab.cue.crc import crc32_mpeg2
from scte35lab.errors import StreamError
from scte35lab.ts import nal
from scte35lab.ts.packets import (
    NULL_PID,
    PCR_WRAP,
    SYNC_BYTE,
    TS_PACKET_SIZE,
    find_sync,
    header_words,
    packet_table,
    pid_groups,
)
from scte35lab.ts.pes import parse_pes_header, pes_timestamps
from scte35lab.ts.psi import (
    AUDIO_STREAM_TYPES,
    PAT_PID,
    PMT_TABLE_ID,
    PRIVATE_CODECS,
    SCTE35_STREAM_TYPE,
    SCTE35_TABLE_ID,
    STREAM_TYPES,
    VIDEO_STREAM_TYPES,
    Pat,
    Pmt,
    section_length,
)
from scte35lab.ts.sections import PidSections

log = logging.getLogger(__name__)

CHUNK_BYTES = 16 << 20
MAX_ERRORS_PER_TYPE = 10_000
NAL_SCAN_PACKETS = 48  # give up looking for the first slice header after this many packets
PES_PROBE_LIMIT = 8  # PES on a stream_type 0x06 PID that are not cues before we stop looking
MAX_CUE_PES = 4096
PCR_REPETITION = PCR_HZ * 40 // 1000  # TR 101 290 2.3a: 40 ms
PCR_JUMP = PCR_HZ // 10  # TR 101 290 2.3b: 100 ms
PSI_INTERVAL = PCR_HZ // 2  # TR 101 290 1.3a / 1.5a: 0.5 s
PTS_INTERVAL = PTS_HZ * 7 // 10  # TR 101 290 2.5: 700 ms

# roles
VIDEO, AUDIO, SCTE35, PSI, NULL, OTHER = "video", "audio", "scte35", "psi", "null", "other"

_SI_PIDS = {0x00: "pat", 0x01: "cat", 0x10: "nit", 0x11: "sdt", 0x12: "eit", 0x14: "tdt"}
_AUDIO_CODECS = frozenset({"ac3", "eac3", "dts", "opus"})


def _reread_cut_headers(
    ts: Any, cut: np.ndarray, rows: np.ndarray, t: Any, g: np.ndarray, starts: np.ndarray
) -> None:
    """PES headers that go on past their first packet (ISO 13818-1 allows it, e.g. after a
    long adaptation field): read them again from the PID's next packets in the chunk."""
    nexts = np.append(starts[1:], len(g))
    for k in cut.tolist():
        s = int(starts[k])
        data = bytearray()
        for jj in range(s, min(int(nexts[k]), s + 4)):
            i = int(g[jj])
            if t.payload_len[i] > 0:
                data += rows[i, int(t.payload_start[i]) : TS_PACKET_SIZE].tobytes()
            if len(data) >= 19:
                break
        h = parse_pes_header(bytes(data))
        if h is None:
            continue
        ts.valid[k] = True
        ts.stream_id[k] = h.stream_id
        ts.pes_packet_length[k] = h.pes_packet_length
        ts.header_length[k] = h.header_length
        ts.pts[k] = -1 if h.pts is None else h.pts
        ts.dts[k] = ts.pts[k] if h.dts is None else h.dts


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
class _Pes:
    """A PES being collected on a PID whose content we look at (0x06: maybe SCTE-35)."""

    packet: int
    offset: int
    data: bytearray


@dataclass
class _Pending:
    """A video access unit whose first slice header lies beyond the chunk read so far."""

    row: int  # index into the frame lists
    data: bytearray
    packets: int


class _FrameLists:
    def __init__(self) -> None:
        self.cols: dict[str, list[np.ndarray]] = {
            k: []
            for k in (
                "pid",
                "packet",
                "offset",
                "pts",
                "dts",
                "stream_id",
                "random_access",
                "header_length",
            )
        }
        self.n = 0
        # filled per row later (Python-side, indexed by global frame row)
        self.size: list[int] = []
        self.keyframe: list[bool] = []
        self.recovery_point: list[bool] = []
        self.picture_type: list[str | None] = []


class Scanner:
    """Reads a transport stream once and fills a :class:`ScanResult`."""

    def __init__(
        self,
        *,
        packets: bool = False,
        pids: set[int] | None = None,  # PES PIDs to read (video is always read)
        progress: Callable[[int], None] | None = None,
        chunk_bytes: int = CHUNK_BYTES,
    ) -> None:
        self.want_packets = packets
        self.pid_filter = pids
        self.progress = progress
        self.chunk_bytes = chunk_bytes
        self.r = ScanResult()
        self._base = 0  # global index of the chunk's first packet
        self._last_cc = np.full(8192, -1, dtype=np.int16)
        # a discontinuity_indicator seen since the PID's last payload packet / last PCR
        # (an adaptation-field-only packet announces a jump in what follows it)
        self._cc_disc = np.zeros(8192, dtype=bool)
        self._pcr_disc = np.zeros(8192, dtype=bool)
        self._last_pcr: dict[int, tuple[int, int]] = {}  # pid -> (packet, pcr)
        self._pcr_parts: dict[int, tuple[list[np.ndarray], list[np.ndarray]]] = {}
        self._assemblers = PidSections()
        self._section_roles = np.zeros(8192, dtype=bool)
        self._pes_roles = np.zeros(8192, dtype=bool)
        self._video = np.zeros(8192, dtype=bool)
        self._pes_probe: dict[int, int] = {}  # 0x06 PID -> PES seen that were not cues
        self._pes_open: dict[int, _Pes] = {}
        self._pmt_pids: dict[int, int] = {}  # PMT PID -> program_number
        self._last_section: dict[int, bytes] = {}
        # PAT/PMT intervals are checked chunk by chunk, so no list of every arrival grows:
        # this chunk's arrivals, the reference PCR at each PID's last arrival that had one,
        # and the late ones (at most MAX_ERRORS_PER_TYPE a PID; beyond that only counted),
        # reported at the end, by PID in order of first arrival
        self._psi_arrivals: dict[int, list[tuple[int, int]]] = {}  # PID -> (packet, offset)
        self._psi_clock: dict[int, int] = {}
        self._psi_late: dict[int, list[tuple[int, int, int]]] = {}  # PID -> (packet, offset, gap)
        self._psi_late_more: dict[int, int] = {}
        self._ref_last: tuple[int, int] | None = None  # last (packet, PCR) of the reference
        self._psi_repeat: dict[int, bytes | None] = {}
        self._psi_bad = False
        self._ref_pcr_pid: int | None = None
        self._frames = _FrameLists()
        self._open_size: dict[int, int] = {}  # pid -> frame row whose size is still growing
        self._pending: dict[int, _Pending] = {}
        self._hevc: dict[int, nal.HevcState] = {}
        self._error_counts: dict[str, int] = {}
        self._pkt_cols: dict[str, list[np.ndarray]] = {}
        self._last_dts: dict[int, tuple[int, int]] = {}
        # where reading stands between chunks: the stream offset of the first byte not yet
        # processed, the packet size once found, and whether that offset is a packet start
        self.position = 0
        self._ps: int | None = None
        self._synced = False
        self._section_roles[PAT_PID] = True
        for pid, name in _SI_PIDS.items():
            self.r.pid_info[pid] = PidInfo(pid, PSI, codec=name)

    # ----------------------------------------------------------------- reading

    def scan(
        self, source: str | os.PathLike | bytes | bytearray | memoryview | BinaryIO
    ) -> ScanResult:
        """Read all of ``source`` (path, bytes or binary file object)."""
        if isinstance(source, bytes | bytearray | memoryview):
            self._scan_stream(io.BytesIO(bytes(source)))
        elif isinstance(source, str | os.PathLike):
            try:
                f = open(source, "rb")  # noqa: SIM115 - closed below
            except OSError as e:
                raise StreamError(f"cannot open {os.fspath(source)!r}: {e.strerror}") from e
            with f:
                self._scan_stream(f)
        elif hasattr(source, "read"):
            self._scan_stream(source)
        else:
            raise StreamError(
                f"cannot probe a {type(source).__name__}: give a path, bytes or a file"
            )
        self._finish()
        return self.r

    def scan_until(self, f: BinaryIO, stop: int | None = None) -> bool:
        """Read ``f``, positioned at :attr:`position`, chunk by chunk until ``position`` reaches
        ``stop`` (a chunk boundary) or the stream ends; True when it ended. Chunks fall where a
        whole-stream :meth:`scan` puts them, so a scan split at chunk boundaries and resumed
        from the same state (in another process, from the same offset) reads the same chunks."""
        return self._scan_stream(f, stop)

    def finish(self) -> ScanResult:
        """End-of-stream checks and the final tables, after the last :meth:`scan_until`."""
        self._finish()
        return self.r

    def _scan_stream(self, f: BinaryIO, stop: int | None = None) -> bool:
        cap = self.chunk_bytes + 4096
        buf = bytearray(cap + 256)  # slack to pad a last 192/204-byte packet cut short
        mv = memoryview(buf)
        padded = 0
        have = 0  # valid bytes in buf
        consumed = self.position  # file offset of buf[0]
        ps = self._ps
        synced = self._synced
        eof = False
        readinto = getattr(f, "readinto", None)
        while True:
            if not eof and have < cap:
                if readinto is not None:
                    n = readinto(mv[have:cap])
                else:
                    data = f.read(cap - have)
                    n = len(data)
                    buf[have : have + n] = data
                if not n:
                    eof = True
                have += n or 0
                if not eof and have < cap:
                    continue
            a = np.frombuffer(buf, dtype=np.uint8, count=have)
            pos = 0
            while True:
                if not synced:
                    found = find_sync(a, pos, packet_size=ps, run=5)
                    if found is not None and not eof:
                        q, size = found
                        if (have - q) // size < 5:
                            found = None  # too close to the end to trust: read more first
                    if found is None:
                        # keep a tail in which a sync may still begin
                        keep = 0 if eof else min(have - pos, 5 * 204)
                        skipped = have - pos - keep
                        if skipped:
                            self._note_skip(consumed + pos, skipped, start=ps is None)
                        pos = have - keep
                        break
                    q, size = found
                    m2ts_prefix = ps is None and size == 192 and consumed + q == 4
                    if q > pos and not m2ts_prefix:
                        self._note_skip(consumed + pos, q - pos, start=ps is None)
                    pos = q
                    if ps is None:
                        ps = size
                        self.r.packet_size = ps
                        log.debug("packet size %d, first sync at %d", ps, consumed + q)
                    synced = True
                m = (have - pos) // ps
                if eof and not padded and have - pos - m * ps >= TS_PACKET_SIZE:
                    # The last 192/204-byte packet may end without its suffix.
                    padded = ps - (have - pos - m * ps)
                    buf[have : have + padded] = bytes(padded)
                    have += padded
                    a = np.frombuffer(buf, dtype=np.uint8, count=have)
                    m += 1
                if m == 0:
                    break
                rows = a[pos : pos + m * ps].reshape(m, ps)
                head = header_words(rows)
                bad = np.flatnonzero((head >> 24) != SYNC_BYTE)
                k = int(bad[0]) if len(bad) else m
                if k:
                    self._process(rows[:k], consumed + pos, head[:k])
                pos += k * ps
                if k < m:
                    synced = False  # resync from here; the skip is reported as sync_loss
                    continue
                break
            # move the unread tail to the front
            tail = have - pos
            if tail:
                buf[:tail] = buf[pos:have]
            consumed += pos
            have = tail
            if self.progress is not None:
                self.progress(consumed - padded)
            self.position, self._ps, self._synced = consumed, ps, synced
            if not eof and stop is not None and consumed >= stop:
                return False  # the unread tail is read again from ``position`` on resuming
            if eof:
                if have and synced and have < TS_PACKET_SIZE:
                    self._error(
                        "truncated_packet",
                        2,
                        packet=self._base,
                        offset=consumed,
                        detail=f"{have} bytes at the end are not a whole packet",
                    )
                self.r.bytes = consumed + have - padded
                return True

    def _note_skip(self, offset: int, n: int, *, start: bool) -> None:
        if start and offset == 0:
            self._error(
                "leading_bytes",
                0,
                packet=0,
                offset=0,
                detail=f"{n} bytes before the first sync byte (capture starts mid-packet)",
            )
        else:
            self._error(
                "sync_loss", 1, packet=self._base, offset=offset, detail=f"{n} bytes skipped"
            )

    # -------------------------------------------------------------- processing

    def _error(
        self,
        kind: str,
        priority: int,
        *,
        packet: int | None,
        offset: int | None,
        pid: int | None = None,
        detail: str = "",
    ) -> None:
        n = self._error_counts.get(kind, 0) + 1
        self._error_counts[kind] = n
        if n > MAX_ERRORS_PER_TYPE:
            return
        self.r.errors.append(
            {
                "type": kind,
                "priority": priority,
                "packet": packet,
                "offset": offset,
                "pid": pid,
                "detail": detail,
            }
        )

    def _process(self, rows: np.ndarray, offset0: int, head: np.ndarray) -> None:
        """All the work for ``len(rows)`` whole, synchronised packets starting at ``offset0``."""
        n = len(rows)
        base = self._base
        ps = self.r.packet_size
        t = packet_table(rows, head)
        counts = np.bincount(t.pid, minlength=8192)
        self.r.counts += counts
        groups = pid_groups(t.pid, counts)

        if t.tei.any():
            for i in np.flatnonzero(t.tei)[:100].tolist():
                self._error(
                    "transport_error",
                    2,
                    packet=base + i,
                    offset=offset0 + i * ps,
                    pid=int(t.pid[i]),
                    detail="transport_error_indicator set",
                )
        disc_rows = np.flatnonzero(t.af_flags & 0x80)
        self._check_cc(t, groups, base, offset0, ps, disc_rows)
        self._check_pcr(t, groups, base, offset0, ps, disc_rows)
        if self.want_packets:
            self._keep_packets(t, base, offset0, ps, n)

        # PSI and SCTE-35, in packet order; a new PMT changes roles for what follows.
        skip = self._psi_repeats(rows, t, groups, base, offset0, ps)
        start = 0
        while start < n:
            mask = self._section_roles[t.pid[start:]] & (t.payload_len[start:] > 0)
            if skip is not None:
                mask &= ~skip[start:]
            idx = np.flatnonzero(mask) + start
            changed_at = None
            for i in idx.tolist():
                if self._section_packet(rows, t, i, base, offset0, ps):
                    changed_at = i + 1
                    break
            if changed_at is None:
                break
            start = changed_at
        self._psi_intervals(base)
        self._pes_frames(rows, t, groups, base, offset0, ps)
        self._base += n

    def _psi_repeats(self, rows, t, groups, base, offset0, ps) -> np.ndarray | None:
        """Packets that repeat the last PAT/PMT packet byte for byte, up to the first that
        does not: they need no parsing, only their arrival is recorded."""
        skip = None
        for pid, last in self._psi_repeat.items():
            g = groups.get(pid)
            if last is None or g is None or len(last) != TS_PACKET_SIZE - 4:
                continue
            same = (t.payload_start[g] == 4) & t.pusi[g]
            same &= (rows[g, 4:TS_PACKET_SIZE] == np.frombuffer(last, dtype=np.uint8)).all(axis=1)
            stop = np.argmin(same) if not same.all() else len(same)
            if not stop:
                continue
            hit = g[:stop]
            if skip is None:
                skip = np.zeros(len(rows), dtype=bool)
            skip[hit] = True
            self._psi_arrivals.setdefault(pid, []).extend(
                zip((hit + base).tolist(), (hit * ps + offset0).tolist(), strict=True)
            )
        return skip

    # ------------------------------------------------------------------ checks

    def _check_cc(self, t, groups, base, offset0, ps, disc_rows) -> None:
        """continuity_counter of each payload packet = previous + 1 (or a duplicate), unless
        a discontinuity_indicator is set on it or on an adaptation-field-only packet of the
        PID since the previous payload packet (ISO/IEC 13818-1 2.4.3.5)."""
        carry = self._cc_disc
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
            prev[0] = self._last_cc[pid]
            prev[1:] = cc[:-1]
            bad = (prev >= 0) & (cc != ((prev + 1) & 0x0F)) & (cc != prev)
            if disc is not None:
                bad &= ~disc
            self._last_cc[pid] = cc[-1]
            if bad.any():
                for j in np.flatnonzero(bad).tolist():
                    i = int(g[j])
                    self._error(
                        "cc_error",
                        1,
                        packet=base + i,
                        offset=offset0 + i * ps,
                        pid=pid,
                        detail=f"continuity_counter {int(cc[j])} after {int(prev[j])}",
                    )
                    asm = self._assemblers.get(pid)
                    if asm is not None:
                        asm.reset()

    def _check_pcr(self, t, groups, base, offset0, ps, disc_rows) -> None:
        """PCR steps on each PCR PID. A discontinuity_indicator on the PCR packet, or on any
        packet of the PID since its previous PCR (an adaptation-field-only packet), starts a
        new time base: the step is then reported as information, not as an error."""
        carry = self._pcr_disc
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
            parts = self._pcr_parts.setdefault(pid, ([], []))
            parts[0].append(idx + base)
            parts[1].append(val)
            if self._ref_pcr_pid is None:
                self._ref_pcr_pid = pid
            last = self._last_pcr.get(pid)
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
            self._last_pcr[pid] = (int(base + idx[-1]), int(val[-1]))
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
                    self._error(
                        kind,
                        pri,
                        packet=base + i,
                        offset=offset0 + i * ps,
                        pid=pid,
                        detail=f"{what} ({dv / PCR_HZ * 1000:.1f} ms)",
                    )

    def _keep_packets(self, t, base, offset0, ps, n) -> None:
        pcr = np.full(n, -1, dtype=np.int64)
        pcr[t.pcr_index] = t.pcr
        cols = {
            "packet": np.arange(base, base + n, dtype=np.int64),
            "offset": offset0 + np.arange(n, dtype=np.int64) * ps,
            "pid": t.pid,
            "pusi": t.pusi,
            "cc": t.cc,
            "afc": t.afc,
            "tei": t.tei,
            "scrambling": t.scrambling,
            "payload_len": t.payload_len,
            "random_access": t.random_access,
            "discontinuity": t.discontinuity,
            "pcr": pcr,
        }
        for k, v in cols.items():
            self._pkt_cols.setdefault(k, []).append(np.asarray(v).copy())

    # -------------------------------------------------------- sections and PSI

    def _section_packet(self, rows, t, i, base, offset0, ps) -> bool:
        """Handle one payload packet on a section PID; True if PSI roles changed."""
        pid = int(t.pid[i])
        if not self._section_roles[pid]:
            return False  # its role changed earlier in this chunk
        info = self.r.pid_info.get(pid)
        payload = rows[i, int(t.payload_start[i]) : TS_PACKET_SIZE].tobytes()
        pusi = bool(t.pusi[i])
        if (info is not None and info.role == SCTE35 and info.carriage == "pes") or (
            info is not None and info.carriage == "probe"
        ):
            self._pes_content(pid, payload, pusi, base + i, offset0 + i * ps)
            return False
        asm = self._assemblers.assembler(pid)
        psi = info is None or info.role == PSI
        if psi and pusi and not asm.in_progress and payload == self._psi_repeat.get(pid):
            # PAT/PMT repeat byte for byte: nothing new but its arrival
            self._psi_arrivals.setdefault(pid, []).append((base + i, offset0 + i * ps))
            return False
        changed = False
        self._psi_bad = False
        for section in asm.push(payload, pusi):
            changed |= self._section(pid, section, base + i, offset0 + i * ps)
        if psi and pusi:
            ok = not asm.in_progress and not self._psi_bad and payload[0] == 0
            self._psi_repeat[pid] = payload if ok else None
        return changed

    def _section(self, pid: int, section: bytes, packet: int, offset: int) -> bool:
        info = self.r.pid_info.get(pid)
        if info is not None and info.role == SCTE35:
            if section[0] == SCTE35_TABLE_ID:
                self._cue(pid, section, packet, offset, carriage="section")
            return False
        # PSI: identical repeats need no CRC and no parse
        if self._last_section.get(pid) == section:
            self._psi_arrivals.setdefault(pid, []).append((packet, offset))
            return False
        if crc32_mpeg2(section) != 0:
            self._psi_bad = True
            self._error(
                "crc_error",
                2,
                packet=packet,
                offset=offset,
                pid=pid,
                detail=f"table_id 0x{section[0]:02x} CRC_32 does not match",
            )
            return False
        self._psi_arrivals.setdefault(pid, []).append((packet, offset))
        if pid == PAT_PID:
            if section[0] != 0x00:
                self._error(
                    "pat_error",
                    1,
                    packet=packet,
                    offset=offset,
                    pid=pid,
                    detail=f"table_id 0x{section[0]:02x} on PID 0",
                )
                return False
            self._last_section[pid] = section
            return self._pat(Pat.parse(section, verify_crc=False), packet)
        if pid in self._pmt_pids and section[0] == PMT_TABLE_ID:
            self._last_section[pid] = section
            try:
                pmt = Pmt.parse(section, verify_crc=False)
            except StreamError as e:
                self._error("pmt_error", 1, packet=packet, offset=offset, pid=pid, detail=str(e))
                return False
            return self._pmt(pid, pmt, packet, offset)
        return False

    def _pat(self, pat: Pat, packet: int) -> bool:
        self.r.pat = pat
        new = {pid: n for n, pid in pat.pmt_pids.items()}
        if new == self._pmt_pids:
            return False
        self._pmt_pids = new
        for pid, number in new.items():
            self._section_roles[pid] = True
            self.r.pid_info[pid] = PidInfo(
                pid, PSI, program_number=number, codec="pmt", since=packet
            )
        return True

    def _pmt(self, pid: int, pmt: Pmt, packet: int, offset: int) -> bool:
        old = self.r.programs.get(pmt.program_number)
        if old is not None:
            self._error(
                "pmt_change",
                0,
                packet=packet,
                offset=offset,
                pid=pid,
                detail=f"program {pmt.program_number} PMT version {old.version_number} -> "
                f"{pmt.version_number}",
            )
        self.r.programs[pmt.program_number] = pmt
        cuei = pmt.registration == "CUEI"
        for es in pmt.streams:
            epid = es.elementary_pid
            st = es.stream_type
            reg = es.registration
            codec = STREAM_TYPES.get(st, f"0x{st:02x}")
            carriage = None
            if st == 0x06:
                for tag, _body in es.descriptors:
                    if tag in PRIVATE_CODECS:
                        codec = PRIVATE_CODECS[tag]
                        break
                else:
                    if reg == "Opus":
                        codec = "opus"
            if st == SCTE35_STREAM_TYPE or (reg == "CUEI" and st in (0x05, 0x86)):
                role, carriage, codec = SCTE35, "section", "scte_35"
            elif st in VIDEO_STREAM_TYPES:
                role = VIDEO
            elif st in AUDIO_STREAM_TYPES or codec in _AUDIO_CODECS:
                role = AUDIO
            elif st == 0x06 and codec == "private_pes":
                role, carriage = OTHER, "probe"
            else:
                role = OTHER
            prev = self.r.pid_info.get(epid)
            if prev is not None and prev.carriage == "pes" and st == 0x06:
                role, carriage, codec = SCTE35, "pes", "scte_35"
            since = prev.since if prev is not None and prev.role == role else packet
            self.r.pid_info[epid] = PidInfo(
                epid,
                role,
                program_number=pmt.program_number,
                stream_type=st,
                codec=codec,
                registration=reg or (None if not cuei or role != SCTE35 else "CUEI"),
                carriage=carriage,
                since=since,
            )
            self._section_roles[epid] = role == SCTE35 or carriage == "probe"
            self._pes_roles[epid] = role in (VIDEO, AUDIO) or (role == OTHER and carriage is None)
            self._video[epid] = role == VIDEO
        if pmt.pcr_pid != NULL_PID and pmt.pcr_pid not in self.r.pid_info:
            self.r.pid_info[pmt.pcr_pid] = PidInfo(
                pmt.pcr_pid, OTHER, program_number=pmt.program_number, codec="pcr", since=packet
            )
        return True

    # ------------------------------------------------------------------ SCTE-35

    def _pes_content(self, pid: int, payload: bytes, pusi: bool, packet: int, offset: int) -> None:
        """Collect PES on a PID that may carry SCTE-35 the way FFmpeg remuxes it."""
        if pusi:
            done = self._pes_open.pop(pid, None)
            if done is not None:
                self._pes_done(pid, done)
            self._pes_open[pid] = _Pes(packet, offset, bytearray(payload))
        else:
            cur = self._pes_open.get(pid)
            if cur is None:
                return
            cur.data += payload
            cur.packet, cur.offset = packet, offset
            if len(cur.data) > MAX_CUE_PES:
                self._pes_open.pop(pid)
                self._pes_done(pid, cur)
                return
        cur = self._pes_open.get(pid)
        if cur is not None and len(cur.data) >= 6:
            length = (cur.data[4] << 8) | cur.data[5]
            if length and len(cur.data) >= 6 + length:
                self._pes_open.pop(pid)
                self._pes_done(pid, cur)

    def _pes_done(self, pid: int, pes: _Pes) -> None:
        info = self.r.pid_info[pid]
        h = parse_pes_header(pes.data)
        found = False
        if h is not None:
            length = h.pes_packet_length
            data = bytes(
                pes.data[h.header_length : 6 + length] if length else pes.data[h.header_length :]
            )
            if len(data) >= 3 and data[0] == SCTE35_TABLE_ID:
                n = section_length(data)
                section = data[:n]
                if len(section) == n and crc32_mpeg2(section) == 0:
                    found = True
                    if info.carriage != "pes":
                        log.info("PID %d carries SCTE-35 as PES (FFmpeg remux form)", pid)
                        info.role, info.carriage, info.codec = SCTE35, "pes", "scte_35"
                        self._pes_roles[pid] = False
                    self._cue(pid, section, pes.packet, pes.offset, carriage="pes", pes_pts=h.pts)
                elif info.carriage == "pes":
                    self._cue(pid, section, pes.packet, pes.offset, carriage="pes", pes_pts=h.pts)
                    found = True
        if not found and info.carriage == "probe":
            seen = self._pes_probe.get(pid, 0) + 1
            self._pes_probe[pid] = seen
            es = pes.data[h.header_length : h.header_length + 2] if h is not None else b""
            if len(es) == 2 and es[0] == 0xFF and es[1] & 0xF6 == 0xF0:
                info.role, info.codec = AUDIO, "aac"  # ADTS syncword, as in M2TS from FFmpeg
                seen = PES_PROBE_LIMIT
            if seen >= PES_PROBE_LIMIT:
                info.carriage = None
                self._section_roles[pid] = False
                self._pes_roles[pid] = True
                info.since = pes.packet + 1

    def _cue(
        self,
        pid: int,
        section: bytes,
        packet: int,
        offset: int,
        *,
        carriage: str,
        pes_pts: int | None = None,
    ) -> None:
        ok = crc32_mpeg2(section) == 0
        if not ok:
            self._error(
                "scte35_crc_error",
                2,
                packet=packet,
                offset=offset,
                pid=pid,
                detail="SCTE-35 section CRC_32 does not match",
            )
        self.r.cues.append(
            {
                "packet": packet,
                "offset": offset,
                "pid": pid,
                "carriage": carriage,
                "pes_pts": pes_pts,
                "section": section,
                "crc_ok": ok,
            }
        )

    # -------------------------------------------------------------- PES frames

    def _pes_frames(self, rows, t, groups, base, offset0, ps) -> None:
        fr = self._frames
        for pid, g in groups.items():
            if not self._pes_roles[pid]:
                continue
            info = self.r.pid_info[pid]
            if self.pid_filter is not None and pid not in self.pid_filter and info.role != VIDEO:
                continue  # video stays: cue arrivals are measured against it
            pl = t.payload_len[g].astype(np.int64)
            starts = np.flatnonzero(t.pusi[g] & (pl > 0) & (g + base >= info.since))
            # sizes: payload bytes from each start to the next start
            cs = np.concatenate(([0], np.cumsum(pl)))
            open_row = self._open_size.get(pid)
            if open_row is not None:
                end = starts[0] if len(starts) else len(g)
                fr.size[open_row] += int(cs[end])
            if not len(starts):
                if pid in self._pending:
                    self._continue_pending(pid, rows, t, g)
                continue
            if pid in self._pending:
                self._continue_pending(pid, rows, t, g[: starts[0]])
                self._pending.pop(pid, None)
            ends = np.append(starts[1:], len(g))
            sizes = (cs[ends] - cs[starts]).tolist()
            gi = g[starts]
            ts = pes_timestamps(rows[gi], t.payload_start[gi])
            cut = np.flatnonzero(TS_PACKET_SIZE - t.payload_start[gi].astype(np.int64) < 19)
            if len(cut):
                _reread_cut_headers(ts, cut, rows, t, g, starts)
            first_row = fr.n
            k = len(gi)
            fr.cols["pid"].append(np.full(k, pid, dtype=np.uint16))
            fr.cols["packet"].append(gi.astype(np.int64) + base)
            fr.cols["offset"].append(gi.astype(np.int64) * ps + offset0)
            fr.cols["pts"].append(ts.pts)
            fr.cols["dts"].append(ts.dts)
            fr.cols["stream_id"].append(ts.stream_id)
            fr.cols["random_access"].append(t.random_access[gi])
            hl = np.where(ts.valid, ts.header_length, 0).astype(np.int64)
            fr.cols["header_length"].append(hl)
            fr.size += [s - h for s, h in zip(sizes, hl.tolist(), strict=True)]
            fr.n += k
            self._open_size[pid] = fr.n - 1
            fr.keyframe += [False] * k
            fr.recovery_point += [False] * k
            fr.picture_type += [None] * k
            if info.role == VIDEO:
                self._access_units(pid, info.codec, rows, t, g, starts, ts, first_row)
            self._check_dts(pid, ts.dts, gi, base, offset0, ps)

    def _check_dts(self, pid, dts, gi, base, offset0, ps) -> None:
        last = self._last_dts.get(pid)
        have = np.flatnonzero(dts >= 0)
        if not len(have):
            return
        d = dts[have]
        prev = np.concatenate(([last[1] if last else -1], d[:-1]))
        gap = (d - prev) % PTS_WRAP
        has_prev = prev >= 0
        wrapped = has_prev & (d < prev) & (gap < PTS_WRAP // 2)
        late = has_prev & (gap > PTS_INTERVAL) & (gap < PTS_WRAP // 2)
        self._last_dts[pid] = (int(base + gi[have[-1]]), int(d[-1]))
        for kind, pri, mask, what in (
            ("pts_wrap", 0, wrapped, "timestamps wrapped at 2^33"),
            ("pts_error", 2, late, "timestamps more than 700 ms apart"),
        ):
            for j in np.flatnonzero(mask).tolist():
                i = int(gi[have[j]])
                self._error(
                    kind,
                    pri,
                    packet=base + i,
                    offset=offset0 + i * ps,
                    pid=pid,
                    detail=f"{what} ({int(prev[j])} -> {int(d[j])})",
                )

    def _access_units(self, pid, codec, rows, t, g, starts, ts, first_row) -> None:
        hevc = codec == "hevc"
        if not hevc and codec != "h264":
            return
        state = self._hevc.setdefault(pid, nal.HevcState()) if hevc else None
        n_g = len(g)
        nexts = np.append(starts[1:], n_g).tolist()
        pstart = t.payload_start
        plen = t.payload_len
        hl = ts.header_length.tolist()
        valid = ts.valid.tolist()
        # most access units are read from their first packet at once; the rest below
        gi = g[starts]
        es = np.where(ts.valid, pstart[gi].astype(np.int64) + ts.header_length, 999)
        if hevc:
            b = nal.hevc_pictures(rows[gi, :TS_PACKET_SIZE], es, state)
            names = nal.HEVC_PICTURE_NAMES
        else:
            b = nal.h264_pictures(rows[gi, :TS_PACKET_SIZE], es)
            names = nal.H264_PICTURE_NAMES
        n = len(starts)
        fr = self._frames
        fr.keyframe[first_row : first_row + n] = b.keyframe.tolist()
        fr.picture_type[first_row : first_row + n] = names[b.slice_type].tolist()  # -1: None
        todo = ~b.done
        for k, s in enumerate(starts.tolist()):
            if not valid[k] or not todo[k]:
                continue
            i = int(g[s])
            es = int(pstart[i]) + hl[k]
            data = (
                bytearray(rows[i, es:TS_PACKET_SIZE].tobytes())
                if es < TS_PACKET_SIZE
                else bytearray()
            )
            j = s + 1
            stop = min(nexts[k], s + NAL_SCAN_PACKETS)
            while True:
                info = nal.hevc_picture(data, state) if hevc else nal.h264_picture(data)
                if info.complete or j >= stop:
                    break
                # more bytes: the next packets of this PID in the chunk
                upto = min(stop, j + 4)
                for jj in range(j, upto):
                    ii = int(g[jj])
                    if plen[ii] > 0:
                        data += rows[ii, int(pstart[ii]) : TS_PACKET_SIZE].tobytes()
                j = upto
            if info.complete or nexts[k] < n_g or s + NAL_SCAN_PACKETS <= n_g - 1:
                self._set_picture(first_row + k, info)
            else:
                # the access unit goes on in the next chunk
                self._pending[pid] = _Pending(first_row + k, data, j - s)

    def _continue_pending(self, pid, rows, t, g) -> None:
        """Feed an access unit left pending by the last chunk the packets ``g`` of its PID."""
        p = self._pending.get(pid)
        if p is None:
            return
        hevc = self.r.pid_info[pid].codec == "hevc"
        state = self._hevc.setdefault(pid, nal.HevcState()) if hevc else None
        info = None
        for ii in g.tolist():
            if p.packets >= NAL_SCAN_PACKETS:
                break
            if t.pusi[ii]:
                break
            if t.payload_len[ii] > 0:
                p.data += rows[ii, int(t.payload_start[ii]) : TS_PACKET_SIZE].tobytes()
            p.packets += 1
            info = nal.hevc_picture(p.data, state) if hevc else nal.h264_picture(p.data)
            if info.complete:
                break
        if info is None:
            info = nal.hevc_picture(p.data, state) if hevc else nal.h264_picture(p.data)
        self._set_picture(p.row, info)
        if info.complete or p.packets >= NAL_SCAN_PACKETS or (len(g) and t.pusi[g].any()):
            self._pending.pop(pid, None)

    def _set_picture(self, row: int, info: nal.PictureInfo) -> None:
        fr = self._frames
        fr.keyframe[row] = info.keyframe
        fr.recovery_point[row] = info.recovery_point
        fr.picture_type[row] = info.picture_type

    # ------------------------------------------------------------------ finish

    def _psi_intervals(self, base: int) -> None:
        """TR 101 290 1.3a / 1.5a: PAT and each PMT at least every 0.5 s (in the PCR time of
        the first PCR PID), for this chunk's arrivals."""
        arrivals, self._psi_arrivals = self._psi_arrivals, {}
        ref = self._ref_pcr_pid
        idx = val = None
        parts = None if ref is None else self._pcr_parts.get(ref)
        if parts and parts[0] and len(parts[0][-1]) and parts[0][-1][0] >= base:
            idx, val = parts[0][-1], parts[1][-1]  # the reference's PCRs in this chunk
        for pid, arr in arrivals.items():
            self._psi_late.setdefault(pid, [])
            if ref is None:
                continue
            a = np.asarray(arr, dtype=np.int64)
            before = -1 if self._ref_last is None else self._ref_last[1]
            if idx is not None:
                j = np.searchsorted(idx, a[:, 0], side="right") - 1
                clock = np.where(j >= 0, val[np.maximum(j, 0)], before)
            else:
                clock = np.full(len(a), before, dtype=np.int64)
            have = clock >= 0
            if have.any():
                self._psi_gaps(pid, a[have], clock[have].astype(np.int64))
        if idx is not None:
            self._ref_last = (int(idx[-1]), int(val[-1]))

    def _psi_gaps(self, pid: int, a: np.ndarray, clock: np.ndarray) -> None:
        """Note the arrivals ``a`` (packet, offset) of ``pid`` that came late, by ``clock``."""
        prev = self._psi_clock.get(pid)
        if prev is not None:
            clock = np.concatenate(([prev], clock))
        else:
            a = a[1:]
        self._psi_clock[pid] = int(clock[-1])
        gap = np.diff(clock) % PCR_WRAP
        late = np.flatnonzero((gap > PSI_INTERVAL) & (gap < PCR_WRAP // 2))
        if not len(late):
            return
        kept = self._psi_late[pid]
        room = max(0, MAX_ERRORS_PER_TYPE - len(kept))
        sel = late[:room]
        kept += zip(a[sel, 0].tolist(), a[sel, 1].tolist(), gap[sel].tolist(), strict=True)
        if len(late) > room:
            self._psi_late_more[pid] = self._psi_late_more.get(pid, 0) + len(late) - room

    def _report_psi_intervals(self) -> None:
        for pid, late in self._psi_late.items():
            kind, name = ("pat_error", "PAT") if pid == PAT_PID else ("pmt_error", "PMT")
            for packet, offset, gap in late:
                self._error(
                    kind,
                    1,
                    packet=packet,
                    offset=offset,
                    pid=pid,
                    detail=f"{name} interval {gap / PCR_HZ:.3f} s > 0.5 s",
                )
            more = self._psi_late_more.get(pid, 0)
            if more:
                self._error_counts[kind] = self._error_counts.get(kind, 0) + more

    def _finish(self) -> None:
        for pid, pes in list(self._pes_open.items()):
            self._pes_done(pid, pes)
        self._pes_open.clear()
        for pid, asm in self._assemblers.items():
            if asm.in_progress:
                self._error(
                    "section_truncated",
                    2,
                    packet=self._base,
                    offset=None,
                    pid=pid,
                    detail="stream ends inside a section",
                )
        self.r.packets = self._base
        self._report_psi_intervals()
        fr = self._frames
        cols = {
            k: (np.concatenate(v) if v else np.zeros(0, dtype=np.int64)) for k, v in fr.cols.items()
        }
        cols["size"] = np.asarray(fr.size, dtype=np.int64)
        cols["keyframe"] = np.asarray(fr.keyframe, dtype=bool)
        cols["recovery_point"] = np.asarray(fr.recovery_point, dtype=bool)
        cols["picture_type"] = np.asarray(fr.picture_type, dtype=object)
        if len(cols["packet"]):
            order = np.argsort(cols["packet"], kind="stable")
            cols = {k: v[order] for k, v in cols.items()}
        self.r.frames = cols
        for pid, (idx, val) in self._pcr_parts.items():
            self.r.pcr_packet[pid] = np.concatenate(idx)
            self.r.pcr_value[pid] = np.concatenate(val)
        if self.want_packets:
            self.r.packet_columns = (
                {k: np.concatenate(v) for k, v in self._pkt_cols.items()} if self._pkt_cols else {}
            )
        # PID_error (TR 101 290 1.6): a PID the PMT announces that never appears
        for pid, info in self.r.pid_info.items():
            if info.program_number is not None and info.codec != "pmt" and not self.r.counts[pid]:
                if info.role == SCTE35:
                    continue  # an SCTE-35 PID is silent between cues
                self._error(
                    "pid_error",
                    1,
                    packet=None,
                    offset=None,
                    pid=pid,
                    detail=f"PID announced in program {info.program_number} never appears",
                )
        for kind, n in self._error_counts.items():
            if n > MAX_ERRORS_PER_TYPE:
                self.r.errors.append(
                    {
                        "type": kind,
                        "priority": 0,
                        "packet": None,
                        "offset": None,
                        "pid": None,
                        "detail": f"{n - MAX_ERRORS_PER_TYPE} more {kind} not listed",
                    }
                )
        if self.r.packets == 0:
            log.info("no transport packets found")
