"""Signal the seam where a returning publisher's new ingest joins the stream.

When OBS reconnects, nginx starts a new FFmpeg: its continuity_counters start again and its
timestamps are a new time base. The distributor must see one valid stream, so before the
first packet of each PID of the new ingest this stage puts one adaptation-field-only packet
(no payload, so it does not count in the continuity_counter) with discontinuity_indicator
set (ISO/IEC 13818-1 2.4.3.5): the counter may jump there, and on the PCR PID the next PCR
starts a new time base. Everything else passes unchanged. It runs before the injector, so
the injector stays the last thing that writes TS.
"""

from __future__ import annotations

import numpy as np

NULL_PID = 0x1FFF


def discontinuity_packet(pid: int, cc: int) -> bytes:
    """An adaptation-field-only packet on ``pid`` with discontinuity_indicator set."""
    header = bytes([0x47, (pid >> 8) & 0x1F, pid & 0xFF, 0x20 | (cc & 0x0F)])
    return header + bytes([183, 0x80]) + b"\xff" * 182


class SeamMarker:
    """Marks the first packet of every PID it sees with a discontinuity (see module doc)."""

    def __init__(self) -> None:
        self.seen: set[int] = {NULL_PID}
        self._rest = b""
        self.marked: list[int] = []

    def feed(self, data: bytes) -> bytes:
        """``data`` (any length) with the marks added; a partial packet waits for the next."""
        buf = self._rest + data if self._rest else data
        n = len(buf) - len(buf) % 188
        self._rest = buf[n:]
        if not n:
            return b""
        a = np.frombuffer(buf, dtype=np.uint8, count=n).reshape(-1, 188)
        pid = ((a[:, 1].astype(np.uint16) & 0x1F) << 8) | a[:, 2]
        uniq, first = np.unique(pid, return_index=True)
        new = [
            (int(i), int(p)) for p, i in zip(uniq, first, strict=True) if int(p) not in self.seen
        ]
        if not new:
            return buf[:n]
        out = bytearray()
        pos = 0
        for i, p in sorted(new):
            self.seen.add(p)
            self.marked.append(p)
            has_payload = bool(a[i, 3] & 0x10)
            cc = int(a[i, 3] & 0x0F)
            out += buf[pos * 188 : i * 188]
            out += discontinuity_packet(p, (cc - 1) if has_payload else cc)
            pos = i
        out += buf[pos * 188 : n]
        return bytes(out)

    def flush(self) -> bytes:
        """What is left (a partial packet), unchanged."""
        rest, self._rest = self._rest, b""
        return rest
