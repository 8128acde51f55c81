"""PES headers and timestamps (ISO/IEC 13818-1 2.4.3.6), one at a time and vectorised.

PTS and DTS are 33-bit counts of a 90 kHz clock: they wrap at 2**33 (about 26.5 hours).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scte35lab.clock import PTS_HZ, PTS_MASK, PTS_WRAP, pts_diff  # noqa: F401 (re-exported)
from scte35lab.ts.packets import TS_PACKET_SIZE, packet_bytes, stuffed_adaptation
from scte35lab.ts.psi import SCTE35_TABLE_ID

# the 90 kHz clock under the names ts.pes has always exported
CLOCK = PTS_HZ

# stream_ids whose PES header has no optional fields (13818-1 Table 2-21).
_NO_HEADER_IDS = frozenset({0xBC, 0xBE, 0xBF, 0xF0, 0xF1, 0xF2, 0xF8, 0xFF})
SCTE35_PES_STREAM_ID = 0xFC
"""The metadata stream_id FFmpeg's mpegts muxer gives SCTE-35 when it rewrites them as PES."""


def decode_timestamp(b: bytes | bytearray, pos: int = 0) -> int:
    """The 33-bit value of a 5-byte PTS/DTS field (marker bits ignored)."""
    return (
        ((b[pos] >> 1) & 0x07) << 30
        | b[pos + 1] << 22
        | (b[pos + 2] >> 1) << 15
        | b[pos + 3] << 7
        | b[pos + 4] >> 1
    )


def encode_timestamp(prefix: int, ts: int) -> bytes:
    """A 5-byte PTS/DTS field: 4-bit ``prefix`` (2 = PTS only, 3 = PTS of both, 1 = DTS)."""
    ts &= PTS_MASK
    return bytes(
        [
            (prefix << 4) | ((ts >> 29) & 0x0E) | 1,
            (ts >> 22) & 0xFF,
            ((ts >> 14) & 0xFE) | 1,
            (ts >> 7) & 0xFF,
            ((ts << 1) & 0xFE) | 1,
        ]
    )


@dataclass(frozen=True)
class PesHeader:
    """The fields of a PES header the analysis needs."""

    stream_id: int
    pes_packet_length: int
    header_length: int  # bytes before the elementary stream data
    pts: int | None
    dts: int | None
    data_alignment: bool = False


def parse_pes_header(data: bytes | bytearray) -> PesHeader | None:
    """Parse the PES header at the start of ``data``; None if it is not one (or is cut)."""
    if len(data) < 6 or data[0] != 0 or data[1] != 0 or data[2] != 1:
        return None
    stream_id = data[3]
    length = (data[4] << 8) | data[5]
    if stream_id in _NO_HEADER_IDS:
        return PesHeader(stream_id, length, 6, None, None)
    if len(data) < 9 or (data[6] & 0xC0) != 0x80:
        return None
    flags = data[7] >> 6
    hlen = 9 + data[8]
    pts = dts = None
    if flags & 2 and len(data) >= 14:
        pts = decode_timestamp(data, 9)
        dts = pts
        if flags == 3 and len(data) >= 19:
            dts = decode_timestamp(data, 14)
    return PesHeader(stream_id, length, hlen, pts, dts, bool(data[6] & 0x04))


def build_pes(
    stream_id: int, payload: bytes, *, pts: int | None = None, dts: int | None = None
) -> bytes:
    """A PES packet with optional PTS/DTS (PES_packet_length 0 when it would not fit)."""
    opt = b""
    flags = 0
    if pts is not None:
        if dts is not None and dts != pts:
            flags = 0xC0
            opt = encode_timestamp(3, pts) + encode_timestamp(1, dts)
        else:
            flags = 0x80
            opt = encode_timestamp(2, pts)
    header_rest = bytes([0x84 if stream_id == SCTE35_PES_STREAM_ID else 0x80, flags, len(opt)])
    length = 3 + len(opt) + len(payload)
    if length > 0xFFFF:
        length = 0
    return (
        b"\x00\x00\x01"
        + bytes([stream_id, length >> 8, length & 0xFF])
        + header_rest
        + opt
        + payload
    )


def pes_packets(pes: bytes, pid: int, cc: int) -> tuple[list[bytes], int]:
    """Split a PES packet into TS packets (adaptation-field stuffing in the last one).

    Returns the packets and the next continuity_counter.
    """
    out: list[bytes] = []
    pos = 0
    while pos < len(pes) or not out:
        chunk = pes[pos : pos + 184]
        pad = 184 - len(chunk)
        out.append(
            packet_bytes(pid, chunk, cc=cc, pusi=pos == 0, adaptation=stuffed_adaptation(pad))
        )
        cc = (cc + 1) & 0x0F
        pos += 184
    assert all(len(p) == TS_PACKET_SIZE for p in out)
    return out, cc


@dataclass
class PesTimestamps:
    """Vectorised PES header fields of the packets where a PES starts."""

    valid: np.ndarray  # bool: a PES start code is there
    stream_id: np.ndarray  # uint8
    pes_packet_length: np.ndarray  # int32
    header_length: np.ndarray  # int16: bytes before the ES data
    pts: np.ndarray  # int64, -1 when absent
    dts: np.ndarray  # int64, -1 when absent (equal to pts when only a PTS is sent)


def _ts_vec(b: np.ndarray) -> np.ndarray:
    b = b.astype(np.int64)
    return (
        ((b[:, 0] >> 1) & 7) << 30
        | b[:, 1] << 22
        | (b[:, 2] >> 1) << 15
        | b[:, 3] << 7
        | b[:, 4] >> 1
    )


def pes_timestamps(rows: np.ndarray, payload_start: np.ndarray) -> PesTimestamps:
    """PES header fields for packets ``rows`` (n, >=188) whose payload starts at ``payload_start``.

    A header whose optional fields do not fit in the first packet is marked valid with
    timestamps -1; the caller may reparse it from more bytes.
    """
    n = len(rows)
    cols = np.minimum(payload_start.astype(np.int64)[:, None] + np.arange(19), TS_PACKET_SIZE - 1)
    h = rows[np.arange(n)[:, None], cols]
    room = TS_PACKET_SIZE - payload_start.astype(np.int64)
    valid = (room >= 9) & (h[:, 0] == 0) & (h[:, 1] == 0) & (h[:, 2] == 1)
    stream_id = h[:, 3]
    plen = (h[:, 4].astype(np.int32) << 8) | h[:, 5]
    no_opt = np.isin(stream_id, list(_NO_HEADER_IDS))
    flags = np.where(no_opt, 0, h[:, 7] >> 6)
    hlen = np.where(no_opt, 6, 9 + h[:, 8].astype(np.int16)).astype(np.int16)
    has_pts = valid & ((flags & 2) != 0) & (room >= 14)
    has_dts = has_pts & (flags == 3) & (room >= 19)
    pts = np.where(has_pts, _ts_vec(h[:, 9:14]), -1)
    dts = np.where(has_dts, _ts_vec(h[:, 14:19]), pts)
    return PesTimestamps(valid, stream_id, plen, hlen, pts, dts)


def pes_section(pes: bytes | bytearray) -> tuple[PesHeader | None, bytes | None]:
    """A whole private PES (header first) read as FFmpeg's remuxed SCTE-35: its header, and
    the section its payload starts with (table_id 0xFC) cut at its section_length, which may
    come out short; ``(header, None)`` when the payload does not start like one."""
    h = parse_pes_header(pes)
    if h is None:
        return None, None
    length = h.pes_packet_length
    data = bytes(pes[h.header_length : 6 + length] if length else pes[h.header_length :])
    if len(data) < 3 or data[0] != SCTE35_TABLE_ID:
        return h, None
    return h, data[: 3 + (((data[1] & 0x0F) << 8) | data[2])]
