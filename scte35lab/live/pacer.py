"""Real-time pacing of TS that is already there (the injector's look-ahead when the input
stops): each chunk goes out when its PCR says, not all at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np

from scte35lab.clock import PCR_HZ, PCR_WRAP
from scte35lab.ts.packets import TS_PACKET_SIZE, packet_table

CHUNK = 7 * TS_PACKET_SIZE  # one SRT payload: the paced output is as smooth as SRT sends it


def pcr_schedule(data: bytes, chunk: int = CHUNK) -> list[tuple[float, bytes]]:
    """``data`` (whole TS packets) cut into chunks, each with the seconds after the first
    PCR in ``data`` at which it is due (the newest PCR at or before the chunk's start; 0
    before the first PCR). PCR wrap-around is followed."""
    n = len(data) // TS_PACKET_SIZE
    if not n:
        return []
    rows = np.frombuffer(data, dtype=np.uint8, count=n * TS_PACKET_SIZE).reshape(n, -1)
    t = packet_table(rows)
    pcr_at = np.full(n, -1, dtype=np.int64)
    if len(t.pcr_index):
        # one PCR PID: the first PCR-carrying PID sets the clock
        first_pid = t.pid[t.pcr_index[0]]
        keep = t.pid[t.pcr_index] == first_pid
        idx, pcr = t.pcr_index[keep], t.pcr[keep]
        steps = np.diff(pcr, prepend=pcr[0]) % PCR_WRAP  # follows a wrap
        steps[steps > PCR_WRAP // 2] = 0  # a jump back (a new time base): no wait
        pcr_at[idx] = np.cumsum(steps)
    filled = np.maximum.accumulate(pcr_at)
    per = max(1, chunk // TS_PACKET_SIZE)
    out = []
    for a in range(0, n, per):
        due = filled[a]
        out.append(
            (max(0.0, float(due) / PCR_HZ), data[a * TS_PACKET_SIZE : (a + per) * TS_PACKET_SIZE])
        )
    return out


def send_paced(
    data: bytes,
    emit: Callable[[bytes], None],
    stop: threading.Event,
    chunk: int = CHUNK,
    idle: Callable[[float], None] | None = None,
) -> float:
    """Emit ``data`` chunk by chunk at the pace of its PCR, starting now; returns when all is
    out (or ``stop`` is set: the rest goes at once). ``idle(seconds)`` is called in a wait
    longer than 40 ms for each 20 ms of it (to keep packets flowing). Returns the seconds it
    took."""
    t0 = time.monotonic()
    for due, part in pcr_schedule(data, chunk):
        while not stop.is_set():
            wait = t0 + due - time.monotonic()
            if wait <= 0:
                break
            step = min(wait, 0.02)
            if idle is not None and wait > 0.04:
                idle(step)
            stop.wait(step)
        emit(part)
    return time.monotonic() - t0
