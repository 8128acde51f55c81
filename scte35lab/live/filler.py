"""What goes out while a passthrough input is lost: null packets at the stream's bit rate
with a running PCR, and PAT and PMT now and then, so the SRT session and the distributor's
TS clock stay alive (AWS Elemental MediaLive's ``DROP_PROGRAM`` behaviour on TS outputs).

There is nothing to encode a picture with in passthrough, so no slate: the program's PIDs
pause. The PCR goes on from the last one sent at wall-clock pace on the PCR PID, in
adaptation-field-only packets (which, carrying no payload, keep that PID's continuity
counter as it was); PAT and PMT repeat the last ones sent, their counters going on. When the
input returns, the seam marker signals the new time base and the counter jumps.
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np

from scte35lab.clock import PCR_HZ, PCR_WRAP
from scte35lab.ts.packets import NULL_PID, TS_PACKET_SIZE, packet_table

PCR_EVERY_S = 0.04  # TR 101 290's limit: a PCR at least every 40 ms
PSI_EVERY_S = 0.5
NULL_PACKET = bytes([0x47, 0x1F, 0xFF, 0x10]) + b"\xff" * 184


def pcr_packet(pid: int, cc: int, pcr: int) -> bytes:
    """An adaptation-field-only packet on ``pid`` carrying ``pcr`` (27 MHz units)."""
    base, ext = divmod(pcr % PCR_WRAP, 300)
    field = bytes(
        [
            0x10,  # PCR_flag
            (base >> 25) & 0xFF,
            (base >> 17) & 0xFF,
            (base >> 9) & 0xFF,
            (base >> 1) & 0xFF,
            ((base & 1) << 7) | 0x7E | (ext >> 8),
            ext & 0xFF,
        ]
    )
    head = bytes([0x47, (pid >> 8) & 0x1F, pid & 0xFF, 0x20 | (cc & 0x0F)])
    return head + bytes([183]) + field + b"\xff" * (183 - len(field))


class InputLossFiller:
    """Watches the output (``observe``) and, while the input is lost, makes what goes out
    instead (``fill``): see the module docstring."""

    def __init__(self) -> None:
        self.pcr_pid: int | None = None
        self._pcr: int | None = None  # the last PCR the output carried ...
        self._pcr_at = 0.0  # ... and the monotonic time it went out
        self._pcr_sent: int | None = None  # the last PCR this filler sent (or that one)
        self._cc: dict[int, int] = {}  # PID -> last continuity_counter sent
        self._psi: dict[int, bytes] = {}  # PAT / PMT PID -> its last packet (one-packet section)
        self.pmt_pid: int | None = None
        self._total = 0  # bytes seen, and (time, total) now and then: the rate over ~10 s
        self._marks: deque[tuple[float, int]] = deque(maxlen=20)
        self._next_pcr = 0.0
        self._next_psi = 0.0

    def observe(self, out: bytes, pmt_pid: int | None) -> None:
        """Take note of one output chunk: PCR, counters, PAT/PMT, bit rate."""
        n = len(out) // TS_PACKET_SIZE
        now = time.monotonic()
        self._total += len(out)
        if not self._marks or now - self._marks[-1][0] >= 0.5:
            self._marks.append((now, self._total))
        if not n:
            return
        self.pmt_pid = pmt_pid
        rows = np.frombuffer(out, dtype=np.uint8, count=n * TS_PACKET_SIZE).reshape(n, -1)
        t = packet_table(rows)
        if len(t.pcr_index):
            self.pcr_pid = int(t.pid[t.pcr_index[-1]])
            self._pcr, self._pcr_at = int(t.pcr[-1]), now
        pids = t.pid.astype(np.int64)
        last = {int(p): i for i, p in enumerate(pids.tolist())}  # each PID's last packet
        for pid, i in last.items():
            if pid != NULL_PID:
                self._cc[pid] = int(t.cc[i])
            if pid in (0, pmt_pid) and t.pusi[i] and t.payload_len[i] > 0:
                self._psi[pid] = bytes(out[i * TS_PACKET_SIZE : (i + 1) * TS_PACKET_SIZE])

    @property
    def rate(self) -> float:
        """The output's rate (bytes per second) over its last ~10 s, at least 64 kbit/s."""
        if len(self._marks) < 2:
            return 8_000.0
        (t0, b0), (t1, b1) = self._marks[0], self._marks[-1]
        return max((b1 - b0) / (t1 - t0), 8_000.0) if t1 > t0 else 8_000.0

    def nulls(self, seconds: float) -> bytes:
        """Null packets only, ``seconds`` worth at the rate (between paced held output)."""
        return NULL_PACKET * max(1, int(self.rate * seconds) // TS_PACKET_SIZE)

    def start(self) -> None:
        """The loss begins now: PCR and PSI are due at once."""
        self._next_pcr = self._next_psi = 0.0
        self._pcr_sent = self._pcr

    def fill(self, seconds: float) -> bytes:
        """``seconds`` worth of output: nulls at the rate, with PCR and PSI when due."""
        now = time.monotonic()
        out = bytearray()
        if self.pcr_pid is not None and self._pcr is not None and now >= self._next_pcr:
            due = self._pcr + round((now - self._pcr_at) * PCR_HZ)
            # a call that comes late (a busy machine) first sends the PCRs it missed, so the
            # clock never steps by more than PCR_EVERY_S however this thread was scheduled
            step = round(PCR_EVERY_S * PCR_HZ)
            last = due if self._pcr_sent is None else self._pcr_sent
            cc = self._cc.get(self.pcr_pid, 0)
            for pcr in [*range(last + step, due, step), due]:
                out += pcr_packet(self.pcr_pid, cc, pcr)
            self._pcr_sent = due
            self._next_pcr = now + PCR_EVERY_S
        if now >= self._next_psi:
            for pid in (0, self.pmt_pid):
                pkt = self._psi.get(pid) if pid is not None else None
                if pkt is None:
                    continue
                cc = (self._cc.get(pid, 0) + 1) & 0x0F
                self._cc[pid] = cc
                out += pkt[:3] + bytes([(pkt[3] & 0xF0) | cc]) + pkt[4:]
            self._next_psi = now + PSI_EVERY_S
        want = int(self.rate * seconds) // TS_PACKET_SIZE
        out += NULL_PACKET * max(0, want - len(out) // TS_PACKET_SIZE)
        return bytes(out)
