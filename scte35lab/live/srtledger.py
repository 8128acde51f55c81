"""What became of every byte an in-process SRT sender was given: the delivery ledger.

:class:`DeliveryLedger` keeps the stream as segments: one per message while it is pending,
then, once settled (``acked``, ``unconfirmed`` or ``dropped``), as runs ``(end, state, t)``,
merged when they share a state and poll, so memory follows the number of ACK polls. Beyond
:data:`MAX_RUNS` the oldest runs of one state are merged (their ``t`` then is the latest of
the merged runs). How a message earns its state is the sender's business
(:mod:`scte35lab.live.srtsend`).
"""

from __future__ import annotations

import bisect
import collections
import threading

MAX_RUNS = 20_000
STATES = ("acked", "pending", "unconfirmed", "dropped")


class Seg:
    """A stretch of the stream: one message while pending, merged runs once settled."""

    __slots__ = ("end", "start", "state", "t")

    def __init__(self, start: int, end: int, state: str, t: float | None = None) -> None:
        self.start, self.end, self.state, self.t = start, end, state, t


class Msg:
    """A message queued for or handed to libsrt, not settled yet."""

    __slots__ = ("clean", "data", "drops_before", "handed", "left_t", "seg")

    def __init__(self, seg: Seg | None, data: bytes) -> None:
        self.seg = seg  # None for a probe (no stream bytes)
        self.data = data
        self.handed = 0.0
        self.left_t = 0.0
        self.drops_before = 0
        self.clean: bool | None = None


class DeliveryLedger:
    """What became of every stream byte: settled runs (``history``) then the unsettled tail.

    Offsets count bytes given to ``write()``. Thread-safe through the owner's lock: every
    method here is called with ``lock`` held.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ends: list[int] = []  # settled history: run i covers [ends[i-1], ends[i])
        self.states: list[str] = []
        self.times: list[float | None] = []
        self.live: collections.deque[Seg] = collections.deque()  # from the first unsettled
        self.offset = 0  # end of the last segment (the sender adds its remainder)
        self.totals = dict.fromkeys(STATES, 0)

    def add(self, nbytes: int, state: str) -> Seg:
        seg = Seg(self.offset, self.offset + nbytes, state)
        self.offset += nbytes
        self.totals[state] += nbytes
        self.live.append(seg)
        self._retire()
        return seg

    def settle(self, seg: Seg, state: str, t: float | None = None) -> None:
        n = seg.end - seg.start
        self.totals[seg.state] -= n
        self.totals[state] += n
        seg.state, seg.t = state, t
        self._retire()

    def _retire(self) -> None:
        while self.live and self.live[0].state != "pending":
            seg = self.live.popleft()
            if seg.end == seg.start:
                continue
            if self.states and self.states[-1] == seg.state and self.times[-1] == seg.t:
                self.ends[-1] = seg.end
            else:
                self.ends.append(seg.end)
                self.states.append(seg.state)
                self.times.append(seg.t)
        if len(self.ends) > MAX_RUNS:
            self._compact()

    def _compact(self) -> None:
        """Merge neighbouring runs of one state in the older half (``t``: the later one)."""
        half = len(self.ends) // 2
        ends, states, times = self.ends[:1], self.states[:1], self.times[:1]
        for i in range(1, half):
            if states[-1] == self.states[i]:
                ends[-1] = self.ends[i]
                ti = self.times[i]
                times[-1] = (
                    ti if times[-1] is None or (ti is not None and ti > times[-1]) else times[-1]
                )
            else:
                ends.append(self.ends[i])
                states.append(self.states[i])
                times.append(self.times[i])
        self.ends = ends + self.ends[half:]
        self.states = states + self.states[half:]
        self.times = times + self.times[half:]

    def state_at(self, pos: int) -> tuple[str, float | None]:
        i = bisect.bisect_right(self.ends, pos)
        if i < len(self.ends):
            return self.states[i], self.times[i]
        for seg in self.live:
            if seg.start <= pos < seg.end:
                return ("pending", None) if seg.state == "pending" else (seg.state, seg.t)
        return "pending", None  # the remainder not yet a whole message

    @property
    def runs(self) -> int:
        return len(self.ends)
