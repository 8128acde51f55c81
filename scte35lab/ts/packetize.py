"""Sections to TS packets: pointer_field, 0xFF stuffing, continuity_counter.

The reverse of :mod:`scte35lab.ts.sections`. A packet in which a section starts has
payload_unit_start_indicator set and a pointer_field to the first section starting in it;
after the last section the packet is filled with 0xFF (ISO/IEC 13818-1 2.4.4.2).
"""

from __future__ import annotations

from collections.abc import Iterable

from scte35lab.ts.packets import packet_bytes


class SectionPacketizer:
    """Turns sections for one PID into packets, keeping the continuity_counter across calls."""

    def __init__(self, pid: int, cc: int = 0) -> None:
        self.pid = pid
        self.cc = cc & 0x0F

    def packets(self, sections: bytes | Iterable[bytes], *, pack: bool = False) -> list[bytes]:
        """TS packets carrying ``sections``.

        With ``pack`` several sections share packets back to back; without it each section
        starts in a packet of its own (what most SCTE-35 injectors do).
        """
        if isinstance(sections, bytes | bytearray):
            sections = [bytes(sections)]
        sections = [bytes(s) for s in sections]
        if not pack:
            out: list[bytes] = []
            for s in sections:
                out += self._packetize(s, [0])
            return out
        starts = []
        pos = 0
        for s in sections:
            starts.append(pos)
            pos += len(s)
        return self._packetize(b"".join(sections), starts)

    def _packetize(self, stream: bytes, starts: list[int]) -> list[bytes]:
        out = []
        pos = 0
        k = 0  # index of the next section start not yet announced
        while pos < len(stream):
            while k < len(starts) and starts[k] < pos:
                k += 1
            if k < len(starts) and starts[k] < pos + 183:
                payload = bytes([starts[k] - pos]) + stream[pos : pos + 183]
                pusi = True
                pos += 183
            elif k < len(starts) and starts[k] == pos + 183:
                # The next section would start in the last byte, where no pointer can
                # announce it: end this packet one byte early with stuffing.
                payload = stream[pos : pos + 183]
                pusi = False
                pos += 183
            else:
                payload = stream[pos : pos + 184]
                pusi = False
                pos += 184
            out.append(packet_bytes(self.pid, payload, cc=self.cc, pusi=pusi))
            self.cc = (self.cc + 1) & 0x0F
        return out


def packetize_section(section: bytes, pid: int, cc: int = 0) -> tuple[list[bytes], int]:
    """One section as TS packets on ``pid``; returns the packets and the next counter."""
    p = SectionPacketizer(pid, cc)
    packets = p.packets(section)
    return packets, p.cc
