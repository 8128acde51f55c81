"""TS into a child process's stdin in whole 1316-byte units (``TsPipeWriter``), off the
caller's thread, and what became of each byte written (``pipe_delivery``).
"""

from __future__ import annotations

import bisect
import logging
import queue
import threading
from typing import Any

from scte35lab.live.srtendpoint import SRT_CHUNK, TS_PACKET

log = logging.getLogger(__name__)
_MAX_ATOMIC_WRITE = 3 * SRT_CHUNK  # <= PIPE_BUF (4096): each write lands in the pipe whole


class TsPipeWriter(threading.Thread):
    """Writes TS to a child's stdin in whole 1316-byte units, off the caller's thread.

    Each write is at most three units (3948 bytes, under PIPE_BUF), so the pipe only ever
    holds whole units and a reader taking 1316 bytes at a time gets seven whole TS packets.
    A full queue drops data rather than stall the pipeline; drops are counted, and the
    stream offsets they covered kept (:meth:`fate`).
    """

    def __init__(self, name: str, max_queue_bytes: int = 4 << 20) -> None:
        super().__init__(name=f"{name}-writer", daemon=True)
        self._q: queue.Queue[tuple[int, int, bytes] | None] = queue.Queue()
        self._pending = bytearray()
        self._queued = 0
        self._max = max_queue_bytes
        self._lock = threading.Lock()
        self._pipe: Any = None
        self.bytes_accepted = 0  # bytes given to write() that were queued
        self.bytes_written = 0  # bytes the child's pipe took
        self.bytes_dropped = 0
        self.failed: BaseException | None = None
        self._written_end = 0  # stream offset up to which every block not dropped was written
        self._dropped_ends: list[int] = []  # dropped ranges [start, end), merged, in order
        self._dropped_starts: list[int] = []

    def _dropped(self, start: int, end: int) -> None:
        """Record stream offsets [start, end) as dropped (call with the lock held)."""
        if end <= start:
            return
        starts, ends = self._dropped_starts, self._dropped_ends
        i = bisect.bisect_left(starts, start)  # a queued block fails after later drops
        starts.insert(i, start)
        ends.insert(i, end)
        for j in (i, i - 1):  # merge with the neighbours it touches
            if 0 <= j < len(starts) - 1 and ends[j] == starts[j + 1]:
                ends[j] = ends.pop(j + 1)
                starts.pop(j + 1)

    def fate(self, end: int) -> str:
        """What became of stream byte ``end - 1``: ``written`` (the child's pipe took it),
        ``dropped`` (never given to the child) or ``pending``."""
        with self._lock:
            i = bisect.bisect_right(self._dropped_ends, end - 1)
            if i < len(self._dropped_ends) and self._dropped_starts[i] <= end - 1:
                return "dropped"
            return "written" if end <= self._written_end else "pending"

    def attach(self, pipe: Any) -> None:
        self._pipe = pipe

    def drop(self, data: bytes) -> int:
        """Count ``data`` as given and dropped at once (nothing to feed: not started, stopped
        or exited), with the partial unit still held; returns the stream offset past it."""
        with self._lock:
            start = self.bytes_accepted - len(self._pending)
            self.bytes_accepted += len(data)
            self.bytes_dropped += len(self._pending) + len(data)
            self._dropped(start, self.bytes_accepted)
            self._pending.clear()
            return self.bytes_accepted

    def write(self, data: bytes) -> int:
        """Queue ``data``; returns the stream offset just past it (in bytes accepted)."""
        with self._lock:
            start = self.bytes_accepted - len(self._pending)
            self._pending += data
            whole = len(self._pending) - len(self._pending) % SRT_CHUNK
            if whole:
                block = bytes(self._pending[:whole])
                del self._pending[:whole]
                if self.failed is not None or self._queued + len(block) > self._max:
                    self.bytes_dropped += len(block)
                    self._dropped(start, start + whole)
                else:
                    self._queued += len(block)
                    self._q.put((start, start + whole, block))
            self.bytes_accepted += len(data)
            return self.bytes_accepted

    def flush_tail(self) -> None:
        """Pad what is left to a whole unit with null packets and queue it."""
        with self._lock:
            rem = len(self._pending)
            start = self.bytes_accepted - rem
            if rem % TS_PACKET:
                del self._pending[rem - rem % TS_PACKET :]
                self._dropped(start + len(self._pending), start + rem)  # a torn TS packet
            if self._pending:
                end = start + len(self._pending)
                nulls = (SRT_CHUNK - len(self._pending)) // TS_PACKET
                self._pending += _NULL_PACKET * nulls
                self._q.put((start, end, bytes(self._pending)))
                self._pending.clear()

    def close(self) -> None:
        self._q.put(None)

    def run(self) -> None:
        while True:
            item = self._q.get()
            if item is None:
                break
            start, end, block = item  # [start, end): the stream offsets (padding aside)
            with self._lock:
                self._queued -= len(block)
            if self.failed is not None or self._pipe is None:
                with self._lock:
                    self.bytes_dropped += len(block)
                    self._dropped(start, end)
                continue
            try:
                for i in range(0, len(block), _MAX_ATOMIC_WRITE):
                    self._pipe.write(block[i : i + _MAX_ATOMIC_WRITE])
                    self.bytes_written += min(_MAX_ATOMIC_WRITE, len(block) - i)
                with self._lock:
                    self._written_end = end
            except (BrokenPipeError, OSError, ValueError) as exc:
                self.failed = exc
                with self._lock:
                    self.bytes_dropped += len(block)
                    self._dropped(start, end)


_NULL_PACKET = bytes([0x47, 0x1F, 0xFF, 0x10]) + b"\xff" * 184


def pipe_delivery(writer: TsPipeWriter | None, end: int) -> tuple[str, float | None]:
    """``delivery()`` of a sender feeding a child through ``writer``."""
    if writer is None or not 0 < end <= writer.bytes_accepted:
        raise ValueError(f"offset {end} is outside the stream written")
    return writer.fate(end), None
