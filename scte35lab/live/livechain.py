"""The TS stages one ingest session passes through, (seam) -> (SDT namer) -> meter ->
injector, rebuilt for each session, and the lock that keeps a cue request off a feed in
progress. A returning publisher's chain starts with a seam marker and an injector that follows
the last one (its waiting cues and its place in the output)."""

from __future__ import annotations

import threading
from typing import Any

from scte35lab.cue import Cue
from scte35lab.errors import ComponentError
from scte35lab.live.meter import StreamMeter
from scte35lab.live.seam import SeamMarker
from scte35lab.live.settings import LiveSettings
from scte35lab.ts.chain import Chain, Tap
from scte35lab.ts.inject import Injector
from scte35lab.ts.sdt import ServiceNamer

Fed = tuple[bytes, int, Injector]  # output, where it starts in the injector's output, injector


class LiveChain:
    """One live stream's stage chain (see the module docstring)."""

    def __init__(self, s: LiveSettings, stopping: threading.Event) -> None:
        self.stream = s.stream
        self.preroll, self.margin = s.preroll, s.margin
        self.namer = (
            None if s.service_name is None else ServiceNamer(s.service_name, s.service_provider)
        )
        self.stopping = stopping  # the pipeline is stopping: no more cues
        self.meter = StreamMeter()  # the current session's input
        self.injector: Injector | None = None
        self.lock = threading.Lock()
        self._chain: Chain | None = None
        self._first_told = False  # this session's first video PTS was handed out

    def start(self, *, returning: bool = False) -> None:
        """The stages for a new ingest session; ``returning``: one came before it."""
        with self.lock:
            follows = self.injector if returning else None
            inj = Injector(preroll=self.preroll, margin=self.margin, follows=follows)
            if returning:
                self.meter = StreamMeter()
            seam = SeamMarker() if returning else None
            self.injector = inj
            self._first_told = False
            self._chain = Chain([seam, self.namer, Tap(self.meter.feed), inj])

    def fresh_seam(self) -> None:
        """A new time base and new counters from here on (a fresh encoder): mark the seam."""
        with self.lock:
            assert self._chain is not None
            stages = self._chain.stages
            if stages and isinstance(stages[0], SeamMarker):
                stages[0] = SeamMarker()
            else:
                stages.insert(0, SeamMarker())

    def feed(self, data: bytes) -> Fed:
        """``data`` through the stages: what the injector let go, and where it starts."""
        with self.lock:
            assert self._chain is not None and self.injector is not None
            out = self._chain.feed(data)
            return out, self.injector.bytes_out - len(out), self.injector

    def flush(self, *, keep_waiting: bool) -> Fed | None:
        """What the stages hold; ``keep_waiting``: the injector's waiting cues stay waiting
        (the input may come back, or the ledger says what became of them)."""
        with self.lock:
            inj = self.injector
            if self._chain is None or inj is None:
                return None
            out = self._chain.flush(last=lambda stage: inj.flush(keep_waiting=keep_waiting))
            return out, inj.bytes_out - len(out), inj

    def first_pts(self) -> int | None:
        """This session's first video PTS, once: on the first call that finds it."""
        if self._first_told:
            return None
        first = self.meter.first_video_pts
        self._first_told = first is not None
        return first

    @property
    def pmt_pid(self) -> int | None:
        """The program's PMT PID as the injector found it (``None`` before its PAT)."""
        return None if self.injector is None else self.injector.pmt_pid

    def add(self, cue: Cue, **kw: Any) -> Any:
        """Give ``cue`` to the injector (see :meth:`Injector.add`)."""
        if self.injector is None or self.stopping.is_set():
            raise ComponentError(f"pipeline {self.stream!r} is not running")
        with self.lock:
            return self.injector.add(cue, **kw)

    def cancel(self, placement: Any) -> bool:
        """Withdraw a placement the injector has not written yet; whether it could."""
        with self.lock:
            return self.injector is not None and self.injector.cancel(placement)
