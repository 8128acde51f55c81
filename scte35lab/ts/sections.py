"""Section reassembly from TS payloads (ISO/IEC 13818-1 2.4.4.1-2, pointer_field).

In a packet with payload_unit_start_indicator set, the first payload byte is pointer_field:
the number of bytes, after it, that finish the section already in progress. Then sections
follow back to back; a table_id of 0xFF means the rest of the packet is stuffing. A section
may span any number of packets, and one packet may hold several sections.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

STUFFING = 0xFF
MAX_SECTION = 4096  # private sections may be up to 4096 bytes; PSI up to 1024


@dataclass
class SectionAssembler:
    """Collects one PID's sections. Feed it payloads in order; it returns whole sections.

    ``dropped`` counts bytes thrown away (a continuation with no section in progress, a
    section cut short by a new one or by a reset after a continuity error).
    """

    _buf: bytearray = field(default_factory=bytearray)
    _need: int = 0  # total length of the section in _buf, 0 while the header is incomplete
    _active: bool = False
    dropped: int = 0
    truncated: int = 0  # sections abandoned before their end

    def reset(self) -> None:
        """Forget a section in progress (after a continuity error)."""
        if self._active:
            self.truncated += 1
            self.dropped += len(self._buf)
        self._buf.clear()
        self._need = 0
        self._active = False

    @property
    def in_progress(self) -> bool:
        return self._active

    def push(self, payload: bytes | bytearray | memoryview, pusi: bool) -> list[bytes]:
        """Add one packet's payload; return the sections it completes."""
        out: list[bytes] = []
        payload = bytes(payload)
        if pusi:
            if not payload:
                return out
            pointer = payload[0]
            head = payload[1 : 1 + pointer]
            if self._active:
                self._feed(head, out)
                if self._active:  # the new section starts before this one ended
                    self.reset()
            else:
                self.dropped += len(head)
            self._start(payload[1 + pointer :], out)
        elif self._active:
            self._feed(payload, out)
        else:
            self.dropped += len(payload)
        return out

    def _start(self, data: bytes, out: list[bytes]) -> None:
        pos = 0
        while pos < len(data) and data[pos] != STUFFING:
            self._buf.clear()
            self._need = 0
            self._active = True
            used = self._feed(data[pos:], out)
            if self._active:
                return
            pos += used

    def _feed(self, data: bytes, out: list[bytes]) -> int:
        """Append to the section in progress; return the bytes used."""
        if not self._need:
            take = max(0, 3 - len(self._buf))
            self._buf += data[:take]
            if len(self._buf) < 3:
                return len(data)
            self._need = 3 + (((self._buf[1] & 0x0F) << 8) | self._buf[2])
            data = data[take:]
            used = take
        else:
            used = 0
        take = self._need - len(self._buf)
        self._buf += data[:take]
        used += min(take, len(data))
        if len(self._buf) >= self._need:
            out.append(bytes(self._buf))
            self._buf.clear()
            self._need = 0
            self._active = False
        return used


class PidSections:
    """One :class:`SectionAssembler` per PID, made on first use: the one place every stage
    that follows sections gets its assemblers from."""

    def __init__(self, assemblers: dict[int, SectionAssembler] | None = None) -> None:
        self._asm: dict[int, SectionAssembler] = dict(assemblers or {})

    def assembler(self, pid: int) -> SectionAssembler:
        """The assembler of ``pid`` (a new one the first time)."""
        asm = self._asm.get(pid)
        if asm is None:
            asm = self._asm[pid] = SectionAssembler()
        return asm

    def push(self, pid: int, payload: bytes | bytearray | memoryview, pusi: bool) -> list[bytes]:
        """Add one packet's payload on ``pid``; return the sections it completes."""
        return self.assembler(pid).push(payload, pusi)

    def reset(self) -> None:
        """Forget every section in progress (after a loss of sync)."""
        for asm in self._asm.values():
            asm.reset()

    def get(self, pid: int, default: SectionAssembler | None = None) -> SectionAssembler | None:
        """The assembler of ``pid`` if it has one, else ``default``."""
        return self._asm.get(pid, default)

    def items(self):
        """``(pid, assembler)`` pairs."""
        return self._asm.items()
