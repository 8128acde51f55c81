"""CRC-32/MPEG-2 (ISO/IEC 13818-1 Annex A): polynomial 0x04C11DB7, init 0xFFFFFFFF, MSB first.

Computed through zlib's reflected CRC-32 on bit-reversed bytes, which gives the same value at C
speed; ``crc32_mpeg2_reference`` is the plain bitwise definition the tests compare it with.
"""

from __future__ import annotations

import zlib

_REVERSE = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def crc32_mpeg2(data: bytes) -> int:
    """The CRC_32 of ``data``; a section including its own CRC_32 gives 0."""
    reflected = zlib.crc32(bytes(data).translate(_REVERSE)) ^ 0xFFFFFFFF
    return int.from_bytes(reflected.to_bytes(4, "little").translate(_REVERSE), "big")


def crc32_mpeg2_holds(section: bytes) -> bool:
    """Whether ``section``, ending in its own CRC_32, checks (its CRC-32/MPEG-2 is 0): the
    reflected CRC of the bit-reversed bytes is then all ones, so nothing needs converting."""
    return zlib.crc32(section.translate(_REVERSE)) == 0xFFFFFFFF


def crc32_mpeg2_reference(data: bytes) -> int:
    """Bit-by-bit CRC-32/MPEG-2, straight from the definition (slow; for tests)."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else (crc << 1)
            crc &= 0xFFFFFFFF
    return crc
