"""MPEG-TS packets as numpy tables: sync search, packet size, vectorised header fields.

ISO/IEC 13818-1 2.4.3.2: a transport packet is 188 bytes starting with the sync byte 0x47.
M2TS (Blu-ray, AVCHD) prefixes each with a 4-byte arrival timestamp (192 bytes); DVB-ASI
captures may append 16 Reed-Solomon bytes (204 bytes). Tables here are indexed by packet,
with columns taken from every row of a ``(n, packet_size)`` view whose column 0 is the sync
byte, so the prefix or suffix of 192/204-byte packets never matters.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from scte35lab.clock import PCR_WRAP  # noqa: F401 (re-exported: ts.packets has always had it)
from scte35lab.errors import StreamError

log = logging.getLogger(__name__)

SYNC_BYTE = 0x47
TS_PACKET_SIZE = 188
PACKET_SIZES = (188, 192, 204)
NULL_PID = 0x1FFF
_SYNC_RUN = 5  # packets kept back while the sync is unsure


def find_sync(
    data: bytes | bytearray | memoryview | np.ndarray,
    start: int = 0,
    *,
    sizes: tuple[int, ...] = PACKET_SIZES,
    run: int = 5,
    packet_size: int | None = None,
) -> tuple[int, int] | None:
    """First offset >= start where ``run`` sync bytes follow at one packet stride.

    Returns ``(offset, packet_size)``; near the end of ``data`` a shorter run (down to one
    whole packet) is accepted. ``packet_size`` fixes the stride once it is known.
    """
    a = data if isinstance(data, np.ndarray) else np.frombuffer(data, dtype=np.uint8)
    n = len(a)
    order = (packet_size,) if packet_size else sizes
    window = 1 << 16
    lo = start
    while lo < n:
        hi = min(n, lo + window)
        cands = np.flatnonzero(a[lo:hi] == SYNC_BYTE) + lo
        for q in cands.tolist():
            for ps in order:
                avail = (n - q) // ps
                if avail == 0:
                    # Not one whole packet left: only a lone sync byte at the very end.
                    continue
                need = min(run, avail)
                if all(a[q + k * ps] == SYNC_BYTE for k in range(1, need)):
                    return q, ps
        lo = hi
        window <<= 1
    return None


@dataclass
class PacketTable:
    """Header fields of ``n`` consecutive packets (numpy arrays, one entry per packet)."""

    pid: np.ndarray  # uint16
    pusi: np.ndarray  # bool
    tei: np.ndarray  # bool: transport_error_indicator
    scrambling: np.ndarray  # uint8: transport_scrambling_control
    afc: np.ndarray  # uint8: adaptation_field_control
    cc: np.ndarray  # uint8: continuity_counter
    af_len: np.ndarray  # uint8: adaptation_field_length (0 without an adaptation field)
    af_flags: np.ndarray  # uint8: the adaptation field flag byte (0 when absent)
    payload_start: np.ndarray  # int16: offset of the payload in the packet
    payload_len: np.ndarray  # int16: payload bytes (0 without payload)
    pcr_index: np.ndarray  # int64: indices of packets that carry a PCR
    pcr: np.ndarray  # int64: their PCR, 27 MHz units

    @property
    def has_payload(self) -> np.ndarray:
        return self.payload_len > 0

    @property
    def random_access(self) -> np.ndarray:
        return (self.af_flags & 0x40) != 0

    @property
    def discontinuity(self) -> np.ndarray:
        return (self.af_flags & 0x80) != 0

    def __len__(self) -> int:
        return len(self.pid)


def header_words(rows: np.ndarray) -> np.ndarray:
    """The 4-byte packet headers of a ``(n, packet_size)`` array as native uint32 words."""
    return rows[:, :4].view(">u4")[:, 0].astype(np.uint32)


def packet_table(rows: np.ndarray, head: np.ndarray | None = None) -> PacketTable:
    """Vectorised header fields of a ``(n, packet_size)`` uint8 array (sync byte in column 0).

    The 4-byte header is read as one big-endian word per packet (``head``, if the caller has
    it already); adaptation field bytes are read only for the packets that have one.
    """
    n = len(rows)
    h = header_words(rows) if head is None else head
    pid = ((h >> 8) & 0x1FFF).astype(np.uint16)
    afc = ((h >> 4) & 3).astype(np.uint8)
    af_idx = np.flatnonzero(afc >= 2)
    af_len = np.zeros(n, dtype=np.uint8)
    af_flags = np.zeros(n, dtype=np.uint8)
    if len(af_idx):
        ab = rows[af_idx, 4:6]
        af_len[af_idx] = ab[:, 0]
        af_flags[af_idx] = np.where(ab[:, 0] > 0, ab[:, 1], 0)
    payload_start = np.full(n, 4, dtype=np.int16)
    payload_start[af_idx] = 5 + af_len[af_idx].astype(np.int16)
    payload_len = np.where(
        (afc & 1).astype(bool), np.maximum(TS_PACKET_SIZE - payload_start, 0), 0
    ).astype(np.int16)
    pcr_index = af_idx[((af_flags[af_idx] & 0x10) != 0) & (af_len[af_idx] >= 7)]
    if len(pcr_index):
        p = rows[pcr_index, 6:12].astype(np.int64)
        base = (p[:, 0] << 25) | (p[:, 1] << 17) | (p[:, 2] << 9) | (p[:, 3] << 1) | (p[:, 4] >> 7)
        ext = ((p[:, 4] & 1) << 8) | p[:, 5]
        pcr = base * 300 + ext
    else:
        pcr = np.zeros(0, dtype=np.int64)
    return PacketTable(
        pid=pid,
        pusi=((h >> 22) & 1).astype(bool),
        tei=((h >> 23) & 1).astype(bool),
        scrambling=((h >> 6) & 3).astype(np.uint8),
        afc=afc,
        cc=(h & 0x0F).astype(np.uint8),
        af_len=af_len,
        af_flags=af_flags,
        payload_start=payload_start,
        payload_len=payload_len,
        pcr_index=pcr_index.astype(np.int64),
        pcr=pcr,
    )


def pid_groups(pid: np.ndarray, counts: np.ndarray) -> dict[int, np.ndarray]:
    """Indices of each PID's packets, in order: ``{pid: indices}`` (``counts`` = bincount)."""
    present = np.flatnonzero(counts)
    if len(present) <= 16:
        return {int(p): np.flatnonzero(pid == p) for p in present}
    order = np.argsort(pid, kind="stable")
    bounds = np.cumsum(counts[present])
    return dict(zip(present.tolist(), np.split(order, bounds[:-1]), strict=True))


def packet_bytes(
    pid: int,
    payload: bytes,
    *,
    cc: int,
    pusi: bool = False,
    adaptation: bytes | None = None,
    stuffing: int = 0xFF,
) -> bytes:
    """One 188-byte packet; a short payload is padded with ``stuffing`` bytes (0xFF).

    ``adaptation`` is the adaptation field body (flags and what follows, without its length
    byte). PSI payloads may be padded with 0xFF after the last section; PES payloads must not
    be padded that way: see :func:`pes_packet_bytes`.
    """
    if not 0 <= pid <= NULL_PID:
        raise ValueError(f"PID {pid} out of range")
    afc = 1
    af = b""
    if adaptation is not None:
        afc = 3 if payload else 2
        af = bytes([len(adaptation)]) + adaptation
    room = TS_PACKET_SIZE - 4 - len(af)
    if len(payload) > room:
        raise ValueError(f"payload of {len(payload)} bytes does not fit in {room}")
    header = bytes(
        [
            SYNC_BYTE,
            (0x40 if pusi else 0) | (pid >> 8),
            pid & 0xFF,
            (afc << 4) | (cc & 0x0F),
        ]
    )
    return header + af + payload + bytes([stuffing]) * (room - len(payload))


def stuffed_adaptation(length: int, flags: int = 0) -> bytes | None:
    """An adaptation field body filling ``length`` bytes in total (length byte included)."""
    if length <= 0:
        return None
    if length == 1:
        return b""
    return bytes([flags]) + b"\xff" * (length - 2)


def iter_rows(buf: np.ndarray, offset: int, packet_size: int) -> np.ndarray:
    """A ``(n, packet_size)`` view of the whole packets of ``buf`` from ``offset``."""
    n = (len(buf) - offset) // packet_size
    return buf[offset : offset + n * packet_size].reshape(n, packet_size)


class PacketAligner:
    """Cuts a byte stream, fed in any chunking, into runs of whole 188-byte packets in sync.

    ``split(data)`` yields ``(piece, rows, head)`` in stream order: ``rows`` (an ``(n, 188)``
    uint8 view of ``piece``) and ``head`` (their header words) for packets in sync, both
    None for bytes outside sync (before the first sync byte, after a loss), which the caller
    passes on or skips. A partial packet, and up to five packets' worth while the sync is
    unsure, wait in ``tail`` for the next call. With ``strict``, a stream whose first sync
    shows another packet size (M2TS 192, 204 with parity) raises :class:`StreamError`.
    """

    def __init__(self, *, strict: bool = False, name: str = "TS") -> None:
        self.tail = b""
        self.synced = False
        self.losses = 0
        self.strict = strict
        self.name = name
        self._ever = False

    def split(self, data: bytes | bytearray | memoryview):
        """Yield the pieces of ``self.tail + data`` that are ready (see the class doc)."""
        buf = self.tail + bytes(data) if self.tail else bytes(data)
        self.tail = b""
        mv = memoryview(buf)
        pos, n = 0, len(buf)
        run = _SYNC_RUN * TS_PACKET_SIZE
        while pos < n:
            if not self.synced:
                size = None if self.strict and not self._ever else TS_PACKET_SIZE
                found = find_sync(mv[pos:], packet_size=size)
                if found is None or (found[0] > 0 and n - pos - found[0] < run):
                    keep = min(n - pos, run)
                    if n - pos - keep:
                        yield mv[pos : n - keep], None, None
                    self.tail = buf[n - keep :]
                    return
                skip, size = found
                if size != TS_PACKET_SIZE:
                    raise StreamError(f"{self.name} handles 188-byte packets, not {size}")
                if skip:
                    log.warning("%d bytes before the TS sync byte", skip)
                    yield mv[pos : pos + skip], None, None
                pos += skip
                self.synced = self._ever = True
            m = (n - pos) // TS_PACKET_SIZE
            if not m:
                self.tail = buf[pos:]
                return
            rows = np.frombuffer(buf, np.uint8, m * TS_PACKET_SIZE, pos).reshape(m, -1)
            head = header_words(rows)
            bad = np.flatnonzero((head >> 24) != SYNC_BYTE)
            k = int(bad[0]) if len(bad) else m
            if k:
                yield mv[pos : pos + k * TS_PACKET_SIZE], rows[:k], head[:k]
            pos += k * TS_PACKET_SIZE
            if k < m:
                log.warning("TS sync lost: resynchronising")
                self.synced = False
                self.losses += 1
