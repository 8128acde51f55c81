"""The MPEG-TS clocks, defined once: 90 kHz PTS/DTS, 27 MHz PCR, and their 33-bit wraps.

PTS and DTS count a 90 kHz clock in 33 bits (ISO/IEC 13818-1 2.4.3.6), so they wrap at
2**33, about 26.5 hours; PCR is that base times 300 plus a 9-bit extension, a 27 MHz count
that wraps at 2**33 * 300. Every layer takes its clock constants and wrap arithmetic here.
"""

from __future__ import annotations

PTS_HZ = 90_000
"""Ticks per second of PTS, DTS and every SCTE-35 time (pts_time, break_duration)."""
PCR_HZ = 27_000_000
"""Ticks per second of the program clock reference."""
PTS_WRAP = 1 << 33
"""Where PTS/DTS wrap back to 0."""
PTS_MASK = PTS_WRAP - 1
PCR_WRAP = PTS_WRAP * 300
"""Where PCR (in 27 MHz units) wraps back to 0."""
_HALF = 1 << 32


def pts_diff(a: int, b: int) -> int:
    """``a - b`` on the 33-bit circle, in ``[-2**32, 2**32)``: the shorter way round."""
    return ((a - b + _HALF) & PTS_MASK) - _HALF


def pts_unwrap(pts: int, near: int) -> int:
    """``pts`` moved by whole wraps to the value nearest ``near`` (an unwrapped tick count)."""
    return near + pts_diff(pts, near)
