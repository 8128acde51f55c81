"""Packet tables: sync search, packet sizes, vectorised header fields."""

from __future__ import annotations

import numpy as np

from scte35lab.ts.packets import find_sync, packet_bytes, packet_table, stuffed_adaptation


def _pcr_adaptation(pcr: int, *, random_access: bool = False, discontinuity: bool = False) -> bytes:
    base, ext = divmod(pcr, 300)
    flags = 0x10 | (0x40 if random_access else 0) | (0x80 if discontinuity else 0)
    return bytes(
        [
            flags,
            (base >> 25) & 0xFF,
            (base >> 17) & 0xFF,
            (base >> 9) & 0xFF,
            (base >> 1) & 0xFF,
            ((base & 1) << 7) | 0x7E | (ext >> 8),
            ext & 0xFF,
        ]
    )


def _stream(n: int = 12) -> bytes:
    return b"".join(packet_bytes(0x100, bytes([k]) * 184, cc=k & 15) for k in range(n))


def test_find_sync_detects_188_192_and_204_byte_packets():
    ts = _stream()
    packets = [ts[i : i + 188] for i in range(0, len(ts), 188)]
    m2ts = b"".join(b"\x00\x01\x02\x03" + p for p in packets)
    rs = b"".join(p + bytes(16) for p in packets)
    assert find_sync(ts) == (0, 188)
    assert find_sync(m2ts) == (4, 192)
    assert find_sync(rs) == (0, 204)


def test_find_sync_skips_a_partial_first_packet():
    ts = _stream()
    assert find_sync(ts[100:]) == (88, 188)


def test_find_sync_needs_a_run_of_sync_bytes_not_a_lone_0x47():
    noise = bytes([0x47, 1, 2, 3, 4]) * 80  # a 0x47 every 5 bytes, never at a packet stride
    assert find_sync(noise + _stream(), run=5) == (400, 188)


def test_header_fields_are_read_for_every_packet():
    pkts = [
        packet_bytes(0x1FFF, b"", cc=0),
        packet_bytes(0x0100, b"\x00" * 10, cc=5, pusi=True),
        packet_bytes(0x0101, b"", cc=9, adaptation=_pcr_adaptation(123456789, random_access=True)),
        packet_bytes(0x0101, b"\x01" * 20, cc=10, adaptation=stuffed_adaptation(164)),
    ]
    rows = np.frombuffer(b"".join(pkts), dtype=np.uint8).reshape(-1, 188)
    t = packet_table(rows)
    assert t.pid.tolist() == [0x1FFF, 0x100, 0x101, 0x101]
    assert t.pusi.tolist() == [False, True, False, False]
    assert t.cc.tolist() == [0, 5, 9, 10]
    assert t.afc.tolist() == [1, 1, 2, 3]
    assert t.payload_len.tolist() == [184, 184, 0, 20]
    assert t.random_access.tolist() == [False, False, True, False]
    assert t.pcr_index.tolist() == [2]
    assert t.pcr.tolist() == [123456789]


def test_pcr_uses_all_33_base_bits_and_the_extension():
    pcr = ((1 << 33) - 1) * 300 + 299
    rows = np.frombuffer(
        packet_bytes(0x100, b"", cc=0, adaptation=_pcr_adaptation(pcr)), dtype=np.uint8
    ).reshape(1, 188)
    assert packet_table(rows).pcr.tolist() == [pcr]
