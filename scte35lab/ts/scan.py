"""One pass over a transport stream: PSI, PES timestamps, access units, SCTE-35, TR 101 290.

The hot path is numpy over large chunks of packets: header fields, continuity counters,
PCRs and PES timestamps are computed for whole chunks at once. Python loops only over the
packets that matter: PSI and SCTE-35 payloads, and the first packets of each video access
unit (to read its NAL headers). Results come back as numpy arrays and record lists; the
analysis layer turns them into DataFrames.

:class:`Scanner` finds the packets and hands each chunk to its parts, one job each: the
sections and the PSI followed (``ts.scan_psi``, through the shared ``PsiFollower``), the
cues (``ts.scan_cues``), the TR 101 290 checks (``ts.scan_checks``) and the frames and
access units (``ts.scan_frames``); ``ts.scan_result`` holds what they give.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Callable
from typing import Any, BinaryIO

import numpy as np

from scte35lab.errors import StreamError
from scte35lab.ts.filemap import FileMap
from scte35lab.ts.packets import (
    SYNC_BYTE,
    TS_PACKET_SIZE,
    find_sync,
    header_words,
    packet_table,
    pid_groups,
)
from scte35lab.ts.psi import AUDIO, OTHER, SCTE35, VIDEO, PsiFollower
from scte35lab.ts.scan_checks import (
    PCR_JUMP,
    PCR_REPETITION,
    PSI_INTERVAL,
    PTS_INTERVAL,
    TransportChecks,
)
from scte35lab.ts.scan_cues import MAX_CUE_PES, PES_PROBE_LIMIT, CueReader
from scte35lab.ts.scan_frames import (
    NAL_SCAN_PACKETS,
    FrameTable,
    _FrameLists,  # noqa: F401 - ts.ranges, ts.stitch use it
)
from scte35lab.ts.scan_psi import SectionReader
from scte35lab.ts.scan_result import (
    MAX_ERRORS_PER_TYPE,
    NULL,
    PSI,
    ErrorLog,
    PidInfo,
    PidRoles,
    ScanResult,
)

log = logging.getLogger(__name__)

CHUNK_BYTES = 16 << 20

_SI_PIDS = {0x00: "pat", 0x01: "cat", 0x10: "nit", 0x11: "sdt", 0x12: "eit", 0x14: "tdt"}


class _Part:
    """A scanner attribute kept by one of its parts, under the name ``ts.ranges`` and
    ``ts.stitch`` read and set it by (their carry state is the scanner's)."""

    def __init__(self, path: str) -> None:
        self.part, self.name = path.split(".")

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return getattr(getattr(obj, self.part), self.name)

    def __set__(self, obj: Any, value: Any) -> None:
        setattr(getattr(obj, self.part), self.name, value)


class Scanner:
    """Reads a transport stream once and fills a :class:`ScanResult`."""

    # the carry state, by the names ts.ranges and ts.stitch use
    _last_cc = _Part("checks.last_cc")
    _cc_disc = _Part("checks.cc_disc")
    _pcr_disc = _Part("checks.pcr_disc")
    _last_pcr = _Part("checks.last_pcr")
    _pcr_parts = _Part("checks.pcr_parts")
    _last_dts = _Part("checks.last_dts")
    _psi_arrivals = _Part("checks.psi_arrivals")
    _psi_clock = _Part("checks.psi_clock")
    _psi_late = _Part("checks.psi_late")
    _psi_late_more = _Part("checks.psi_late_more")
    _ref_last = _Part("checks.ref_last")
    _ref_pcr_pid = _Part("checks.ref_pcr_pid")
    _frames = _Part("frames.lists")
    _open_size = _Part("frames.open_size")
    _pending = _Part("frames.pending")
    _hevc = _Part("frames.hevc")
    _pes_open = _Part("cues.pes_open")
    _pes_probe = _Part("cues.pes_probe")
    _assemblers = _Part("sections.assemblers")
    _psi_repeat = _Part("sections.repeat")
    _pmt_pids = _Part("psi.pmt_pids")
    _last_section = _Part("psi.last_sections")
    _section_roles = _Part("roles.section")
    _pes_roles = _Part("roles.pes")
    _video = _Part("roles.video")
    _error_counts = _Part("errors.counts")

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
        self.errors = ErrorLog(self.r)
        self.roles = PidRoles()
        self.checks = TransportChecks(self.errors)
        self.frames = FrameTable()
        self.cues = CueReader(self.r, self.errors, self.roles)
        self.psi = PsiFollower()  # the PAT and PMTs, followed as the demux follows them
        self.sections = SectionReader(
            self.r, self.errors, self.roles, self.checks, self.cues, self.psi
        )
        self._base = 0  # global index of the chunk's first packet
        self._pkt_cols: dict[str, list[np.ndarray]] = {}
        # where reading stands between chunks: the stream offset of the first byte not yet
        # processed, the packet size once found, and whether that offset is a packet start
        self.position = 0
        self._ps: int | None = None
        self._synced = False
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
        fmap = FileMap.of(f)
        if fmap is not None:
            with fmap:
                ended = self._scan_map(fmap, f, stop)
            if ended is not None:
                return ended
        return self._scan_reads(f, stop)

    def _scan_map(self, fmap: FileMap, f: BinaryIO, stop: int | None) -> bool | None:
        """Chunks viewed in the map of the plain file ``f`` (no copy), falling where
        :meth:`_scan_reads` puts them; None when the map ends before the file does (it grew,
        or was cut, since it was mapped): then ``f`` is at :attr:`position` to read on from."""
        cap = self.chunk_bytes + 4096
        shift = f.tell() - self.position  # the file offset of stream offset 0
        while True:
            start = self.position
            at = start + shift
            # A page of the map past the file's end raises SIGBUS, which no handler can turn
            # into an error: a capture cut while it is probed would kill the process. So each
            # view stops at the size the file has now; what the map does not hold (a cut
            # file's new end, or a growing capture's new bytes) is read with readinto. The
            # file can still be cut while a chunk is processed (after its size was checked);
            # that window is one chunk's processing.
            size = fmap.size_now()
            have = max(0, min(cap, min(size, fmap.length) - at))
            eof = have < cap
            if eof and size != fmap.length:
                f.seek(at)
                return None
            end, padded = self._read_chunk(fmap.view(at, at + have), start, eof)
            ended = self._chunk_read(start, have, end, padded, eof, stop)
            if ended is not None:
                f.seek(at + have)  # where a read of this chunk would have left it
                return ended
            fmap.release(end + shift)  # the next chunk begins there

    def _scan_reads(self, f: BinaryIO, stop: int | None) -> bool:
        """Chunks read (copied) into a buffer of the scanner's own: any stream, and what
        the map of a plain file did not hold."""
        cap = self.chunk_bytes + 4096
        buf = bytearray(cap)
        mv = memoryview(buf)
        have = 0  # valid bytes in buf, from stream offset ``position``
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
            start = self.position
            a = np.frombuffer(buf, dtype=np.uint8, count=have)
            end, padded = self._read_chunk(a, start, eof)
            ended = self._chunk_read(start, have, end, padded, eof, stop)
            if ended is not None:
                return ended
            # move the unread tail to the front; it is read again from ``position`` on resuming
            tail = start + have - end
            if tail:
                buf[:tail] = buf[have - tail : have]
            have = tail

    def _read_chunk(self, a: np.ndarray, origin: int, eof: bool) -> tuple[int, int]:
        """Process the packets of the chunk ``a``, the stream's bytes from offset ``origin``;
        return the offset to read on from (a sync or packet may begin in the bytes after it)
        and how many zero bytes padded a last packet cut short (only at ``eof``)."""
        ps, synced = self._ps, self._synced
        have = len(a)
        pos = 0
        padded = 0
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
                        self._note_skip(origin + pos, skipped, start=ps is None)
                    pos = have - keep
                    break
                q, size = found
                m2ts_prefix = ps is None and size == 192 and origin + q == 4
                if q > pos and not m2ts_prefix:
                    self._note_skip(origin + pos, q - pos, start=ps is None)
                pos = q
                if ps is None:
                    ps = size
                    self.r.packet_size = ps
                    log.debug("packet size %d, first sync at %d", ps, origin + q)
                synced = True
            m = (have - pos) // ps
            if eof and not padded and have - pos - m * ps >= TS_PACKET_SIZE:
                # The last 192/204-byte packet may end without its suffix: the rest of the
                # chunk, copied with zeros after it (a view of a map cannot grow).
                padded = ps - (have - pos - m * ps)
                a = np.concatenate((a[pos:], np.zeros(padded, dtype=np.uint8)))
                origin, have, pos = origin + pos, len(a), 0
                m += 1
            if m == 0:
                break
            rows = a[pos : pos + m * ps].reshape(m, ps)
            head = header_words(rows)
            bad = np.flatnonzero((head >> 24) != SYNC_BYTE)
            k = int(bad[0]) if len(bad) else m
            if k:
                self._process(rows[:k], origin + pos, head[:k])
            pos += k * ps
            if k < m:
                synced = False  # resync from here; the skip is reported as sync_loss
                continue
            break
        self._ps, self._synced = ps, synced
        return origin + pos, padded

    def _chunk_read(
        self, start: int, have: int, end: int, padded: int, eof: bool, stop: int | None
    ) -> bool | None:
        """After the ``have`` bytes from ``start`` were read up to ``end``: progress and the
        offset to resume from; True when the stream ended, False when ``stop`` is reached,
        None to read on."""
        if self.progress is not None:
            self.progress(end - padded)
        self.position = end
        if not eof and stop is not None and end >= stop:
            return False  # the unread tail is read again from ``position`` on resuming
        if not eof:
            return None
        tail = start + have + padded - end
        if tail and self._synced and tail < TS_PACKET_SIZE:
            self.errors.add(
                "truncated_packet",
                2,
                packet=self._base,
                offset=end,
                detail=f"{tail} bytes at the end are not a whole packet",
            )
        self.r.bytes = start + have
        return True

    def _note_skip(self, offset: int, n: int, *, start: bool) -> None:
        if start and offset == 0:
            self.errors.add(
                "leading_bytes",
                0,
                packet=0,
                offset=0,
                detail=f"{n} bytes before the first sync byte (capture starts mid-packet)",
            )
        else:
            self.errors.add(
                "sync_loss", 1, packet=self._base, offset=offset, detail=f"{n} bytes skipped"
            )

    # -------------------------------------------------------------- processing

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
                what = "transport_error_indicator set"
                self.errors.in_chunk(
                    "transport_error", 2, i, (base, offset0, ps), int(t.pid[i]), what
                )
        disc_rows = np.flatnonzero(t.af_flags & 0x80)
        self._check_cc(t, groups, base, offset0, ps, disc_rows)
        self.checks.pcr(t, groups, base, offset0, ps, disc_rows)
        if self.want_packets:
            self._keep_packets(t, base, offset0, ps, n)
        # PSI and SCTE-35, in packet order; a new PMT changes roles for what follows.
        self.sections.read(rows, t, groups, base, offset0, ps)
        self.checks.psi_intervals(base, self._psi_gaps)
        self.frames.read(
            rows,
            t,
            groups,
            base,
            offset0,
            ps,
            pid_info=self.r.pid_info,
            pes_roles=self.roles.pes,
            pid_filter=self.pid_filter,
            check_dts=self._check_dts,
        )
        self._base += n

    # the checks ts.ranges wraps (to note what a range's start state did not know)

    def _check_cc(self, t, groups, base, offset0, ps, disc_rows) -> None:
        self.checks.cc(t, groups, base, offset0, ps, disc_rows, self.sections.assemblers)

    def _check_dts(self, pid, dts, gi, base, offset0, ps) -> None:
        self.checks.dts(pid, dts, gi, base, offset0, ps)

    def _psi_gaps(self, pid: int, a: np.ndarray, clock: np.ndarray) -> None:
        self.checks.psi_gaps(pid, a, clock)

    def _report_psi_intervals(self) -> None:
        self.checks.report_psi_intervals()

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

    # ------------------------------------------------------------------ finish

    def _finish(self) -> None:
        self.cues.finish()
        self.sections.truncated(self._base)
        r = self.r
        r.packets = self._base
        self._report_psi_intervals()
        r.frames = self.frames.columns()
        for pid, (idx, val) in self.checks.pcr_parts.items():
            r.pcr_packet[pid] = np.concatenate(idx)
            r.pcr_value[pid] = np.concatenate(val)
        if self.want_packets:
            r.packet_columns = (
                {k: np.concatenate(v) for k, v in self._pkt_cols.items()} if self._pkt_cols else {}
            )
        # PID_error (TR 101 290 1.6): a PID the PMT announces that never appears
        for pid, info in r.pid_info.items():
            if info.program_number is not None and info.codec != "pmt" and not r.counts[pid]:
                if info.role == SCTE35:
                    continue  # an SCTE-35 PID is silent between cues
                self.errors.add(
                    "pid_error",
                    1,
                    packet=None,
                    offset=None,
                    pid=pid,
                    detail=f"PID announced in program {info.program_number} never appears",
                )
        self.errors.close()
        if r.packets == 0:
            log.info("no transport packets found")


__all__ = [
    "AUDIO",
    "CHUNK_BYTES",
    "MAX_CUE_PES",
    "MAX_ERRORS_PER_TYPE",
    "NAL_SCAN_PACKETS",
    "NULL",
    "OTHER",
    "PCR_JUMP",
    "PCR_REPETITION",
    "PES_PROBE_LIMIT",
    "PSI",
    "PSI_INTERVAL",
    "PTS_INTERVAL",
    "SCTE35",
    "VIDEO",
    "PidInfo",
    "ScanResult",
    "Scanner",
]
