"""The live pipeline: OBS over RTMP in, SCTE-35 cues in, SRT out, with stats, logs and recovery.

```python
from scte35lab.live import Pipeline
p = Pipeline("srt://distributor:9000", store="lab.db", stream="main",
             passphrase_env="MAIN_SRT_PASSPHRASE").start()
p.cue_out(duration=30); p.cue_in(); p.send(cue); p.stop()
```

A chain of TS stages plus a supervisor, each part in a module of its own: ingest (``ingest``;
``transcoding`` first in transcode mode) -> stages (``livechain``: seam marker, SDT namer,
meter, injector) -> outputs (``outflow``: SRT, records, preview, fallback, the cue ledger);
``inputloss`` keeps the output going while the input is away. Five times a second the
supervisor lets the SRT output notice a loss or a return and settles each cue from the
output's evidence (``ledger``: ``delivered`` only once the receiver acknowledged it;
``cuedesk`` says and stores it); once a second ``livestats`` writes the stats row.

The default sender is libsrt in this process (:mod:`scte35lab.live.srtsend`): it sets the
passphrase as a socket option, so no process's argv holds it, and it sees which bytes the
receiver acknowledged. ``sender="srt-live-transmit"`` or ``"ffmpeg"`` take the passphrase in
their argv and cannot see acknowledgements: their cues end ``written``, never ``delivered``.
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from scte35lab.cue import Cue
from scte35lab.errors import ComponentError
from scte35lab.live.cuedesk import CueDesk
from scte35lab.live.events import EventLog, LiveEvent
from scte35lab.live.ingest import LiveIngest
from scte35lab.live.inputloss import InputLoss
from scte35lab.live.ledger import CueLedger, CueRecord
from scte35lab.live.livechain import LiveChain
from scte35lab.live.livestats import LiveStats
from scte35lab.live.meter import StreamMeter
from scte35lab.live.outflow import OutFlow
from scte35lab.live.rtmp import RtmpServer
from scte35lab.live.settings import LiveSettings
from scte35lab.live.srt import SrtEndpoint
from scte35lab.live.storelog import StoreLog
from scte35lab.live.transcode import TranscodeSettings
from scte35lab.live.transcoding import DRAIN_S, TranscodeSlot
from scte35lab.schedule import Schedule, Store, StreamClock

log = logging.getLogger(__name__)


class Pipeline:
    """One stream: RTMP (or URL) in, cues in, SRT out. See the module docstring."""

    def __init__(
        self,
        srt: str | SrtEndpoint,
        *,
        stream: str = "main",
        store: Store | str | os.PathLike[str] | None = None,
        key: str | None = None,
        ingest: str = "rtmp",
        rtmp_server: RtmpServer | None = None,
        rtmp_host: str = "127.0.0.1",
        rtmp_port: int = 1935,
        rtmp_app: str = "live",
        passphrase: str | None = None,
        passphrase_env: str | None = None,
        latency_ms: int | None = None,
        streamid: str | None = None,
        schedule: Schedule | str | os.PathLike[str] | None = None,
        preroll: float = 4.0,
        sender: str = "libsrt",
        record: str | os.PathLike[str] | None = None,
        record_input: str | os.PathLike[str] | None = None,
        hls_preview: str | os.PathLike[str] | None = None,
        service_name: str | None = None,
        packet_filter: str | None = None,
        rtmp_fallback: str | None = None,
        service_provider: str = "",
        on_stats: Callable[[dict[str, Any]], None] | None = None,
        on_event: Callable[[LiveEvent], None] | None = None,
        mode: str | None = None,
        transcode: TranscodeSettings | dict[str, Any] | str | None = None,
        backoff_max: float = 8.0,
        realtime_input: bool = True,
        read_size: int = 12 * 1316,
        splice_on_slate: bool = False,
    ) -> None:
        self.store = Store(store) if isinstance(store, str | os.PathLike) else store
        self._own_store = isinstance(store, str | os.PathLike)
        self.stream = stream
        try:  # a bad setting must not leave the store this pipeline opened open
            s = self.settings = LiveSettings.build(
                srt,
                stream=stream,
                store=self.store,
                passphrase=passphrase,
                passphrase_env=passphrase_env,
                latency_ms=latency_ms,
                streamid=streamid,
                packet_filter=packet_filter,
                sender=sender,
                mode=mode,
                transcode=transcode,
                preroll=preroll,
                record=record,
                record_input=record_input,
                hls_preview=hls_preview,
                key=key,
                ingest=ingest,
                rtmp=dict(host=rtmp_host, port=rtmp_port, app=rtmp_app),
                schedule=schedule,
                service_name=service_name,
                service_provider=service_provider,
                rtmp_fallback=rtmp_fallback,
                backoff_max=backoff_max,
                realtime_input=realtime_input,
                read_size=read_size,
                splice_on_slate=splice_on_slate,
            )
            self._build(s, rtmp_server)
        except BaseException:
            if self._own_store and self.store is not None:
                self.store.close()
            raise
        self._say.listeners += [on_event] if on_event else []
        self.livestats.listeners += [on_stats] if on_stats else []

    def _build(self, s: LiveSettings, rtmp_server: RtmpServer | None) -> None:
        """The parts, each owning its state, and the callbacks that join them."""
        self.endpoint, self.mode, self.transcode = s.endpoint, s.mode, s.transcode
        self.sender_kind, self.preroll, self.margin = s.sender, s.preroll, s.margin
        self._say = EventLog(s.stream, s.endpoint.secrets + ([s.key] if s.key else []))
        self.events: list[LiveEvent] = self._say.events
        self._store_log = StoreLog(self.store, s.stream)
        self._stopping = threading.Event()
        self._started = False
        self._threads: list[threading.Thread] = []
        # the stages (one chain per ingest session) and, in transcode mode, the encoder
        self.chain = LiveChain(s, self._stopping)
        self._tc = (
            None
            if s.transcode is None
            else TranscodeSlot(
                s.transcode,
                self._on_ts,
                name=f"{s.stream}-transcode",
                on_event=self._say,
                due=lambda: [r.splice_pts for r in self.cues if not r.final and r.splice_pts],
            )
        )
        # the cues: asked for at the desk, followed through the output by the ledger
        self.ledger = CueLedger(
            s.preroll,
            on_placed=lambda rec: self.desk.placed(rec),
            on_settled=lambda rec: self.desk.settled(rec),
        )
        self.desk = CueDesk(
            s.stream,
            store=self.store,
            schedule=s.schedule,
            preroll=s.preroll,
            ledger=self.ledger,
            on_event=self._say,
            add=self.chain.add,
            cancel=self.chain.cancel,
            force_idr=lambda pts: self._tc.force_idr(pts) if self._tc is not None else None,
            newest_pts=self._newest_pts,
        )
        self.desk.splice_on_slate = s.splice_on_slate
        # the edges: the ingest processes in, the SRT output and the other outputs out
        self.ingest = LiveIngest(
            s.ingest,
            s.stream,
            check_key=self._check_key,
            rtmp_server=rtmp_server,
            rtmp=s.rtmp,
            realtime=s.realtime_input,
            read_size=s.read_size,
            stopping=self._stopping,
        )
        self.flow = OutFlow(
            s, self.ledger, self._stopping, say=self._say, on_outage=self._store_log.outage
        )
        self.outputs, self.out_meter = self.flow.outputs, self.flow.meter
        self.loss = InputLoss(self.chain, self.flow, self.desk, self.ingest, self._tc, self._say)
        self.livestats = LiveStats(s, self.chain, self.flow, self.ingest, self._tc, self._store_log)
        self.stats_rows = self.livestats.rows  # one a second (see stats())
        self.stage_times = self.livestats.stage_times  # wall seconds per read
        self.stage_cpu_times = self.livestats.stage_cpu_times  # CPU seconds per read

    def __repr__(self) -> str:
        state = "running" if self._started and not self._stopping.is_set() else "stopped"
        return (
            f"<Pipeline {self.stream!r} {state}: {self.ingest_url or self.settings.ingest} -> "
            f"{self.endpoint.display} via {self.sender_kind}, {self.mode}>"
        )

    # -- callbacks, events and what others read --------------------------------------------
    def on_stats(self, fn: Callable[[dict[str, Any]], None]) -> None:
        """Call ``fn(row)`` with each second's stats row."""
        self.livestats.listeners.append(fn)

    def on_event(self, fn: Callable[[LiveEvent], None]) -> None:
        """Call ``fn(event)`` on start, stop, reconnect and cue events."""
        self._say.listeners.append(fn)

    def endpoint_redact(self, text: str) -> str:
        """``text`` with the passphrase, the stream key and URL-borne secrets hidden."""
        return self._say.redact(text)

    @property
    def ingest_url(self) -> str | None:
        """Where OBS should publish (Server), when the ingest is RTMP."""
        return self.ingest.url

    @property
    def clock(self) -> StreamClock | None:
        """Stream time zero (the first video PTS) and when it was."""
        return self.desk.clock

    @property
    def sessions(self) -> int:
        """How many ingest sessions began (each returning publisher starts one)."""
        return self.ingest.sessions

    @property
    def cues(self) -> list[CueRecord]:
        """Every cue handled so far (see :mod:`scte35lab.live.ledger` for their states)."""
        return self.ledger.records

    @property
    def transcoder_forced(self) -> list[int]:
        """Transcode mode: the PTS of every frame the encoder made an IDR for a splice point."""
        return [] if self._tc is None else self._tc.forced

    @property
    def meter(self) -> StreamMeter:
        """What the current ingest session brings in (bit rate, fps, size, PTS)."""
        return self.chain.meter

    def stats(self) -> Any:
        """Every stats row so far as a DataFrame (one row per second)."""
        return self.livestats.frame()

    # -- life cycle ----------------------------------------------------------------------
    def start(self, connect_timeout: float = 4.0) -> Pipeline:
        """Start the SRT side, then the ingest; returns ``self``.

        A wrong passphrase or an unusable URL raises at once (naming which). A peer that
        does not answer yet is retried in the background with backoff.
        """
        if self._started:
            raise ComponentError(f"pipeline {self.stream!r} was already started")
        self._started = True
        try:
            self.chain.start()
            self.desk.load()
            if (warning := self.settings.argv_warning) is not None:
                self._say("warning", warning, level=logging.WARNING)
            self.flow.open(connect_timeout)
            self.ingest.start()
        except BaseException:
            self.stop()
            raise
        self._store_log.status("starting")
        for target, name in ((self._supervise, "supervisor"), (self._ingest_loop, "ingest")):
            t = threading.Thread(target=target, name=f"{self.stream}-{name}", daemon=True)
            t.start()
            self._threads.append(t)
        where = self.ingest_url or self.settings.ingest
        self._say("start", f"pipeline started: {where} -> {self.settings.output}")
        return self

    def _check_key(self, key: str) -> bool:
        if self.store is not None:
            return self.store.verify_stream_key(self.stream, key)
        mine = self.settings.key
        return mine is not None and hmac.compare_digest(key.encode(), mine.encode())

    def stop(self) -> None:
        """Stop everything within a few seconds; no child process is left behind."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self.ingest.stop_input()
        for t in self._threads:  # the ingest thread drains the transcoder before it ends
            t.join(3 if self.transcode is None else 3 + DRAIN_S)
        self.loss.join(3)
        if self._tc is not None:
            self._tc.close()
        # cues still waiting stay waiting: the ledger says what became of them
        fed = self.chain.flush(keep_waiting=not self.ingest.once)
        if fed is not None:
            self.flow.emit(*fed)
        self.outputs.close()
        self.flow.settle(final=True)
        self.ingest.stop()
        if self._started:
            self._store_log.ended()
            self._say("stop", "pipeline stopped")
        if self._own_store and self.store is not None:
            self.store.close()

    def __enter__(self) -> Pipeline:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the byte path -------------------------------------------------------------------
    def _ingest_loop(self) -> None:
        while not self._stopping.is_set():
            read = self.ingest.next_source()
            if read is None:
                continue
            self.ingest.sessions += 1
            resumed = self.loss.session_began()  # (the last one's held output went out)
            if not resumed and self.ingest.sessions > 1:
                self.ledger.new_input()
                self.chain.start(returning=True)
            self._say("ingest_connected", f"ingest {self.ingest.sessions} started")
            self.loss.returned()
            if self._tc is not None and not resumed:
                self._tc.open()
            try:
                while not self._stopping.is_set() and (data := read()):
                    self.outputs.came_in(data)
                    if self._tc is None:
                        self._on_ts(data)
                    elif self._tc.feed(data):  # a fresh encoder: its counters start again
                        self.chain.fresh_seam()
            except OSError as exc:
                log.warning("pipeline %s: ingest read failed: %s", self.stream, exc)
            except Exception as exc:  # a bug or a bad stream must be said, not hang silently
                log.exception("pipeline %s: ingest failed", self.stream)
                self._say("error", f"ingest failed: {type(exc).__name__}: {exc}")
            if not self.loss.session_ended(not (self.ingest.once or self._stopping.is_set())):
                break

    def _on_ts(self, data: bytes) -> None:
        """One read through the chain and out; its time is the stages' added latency."""
        t0, c0 = time.perf_counter(), time.thread_time()
        out, start, inj = self.chain.feed(data)
        if (first := self.chain.first_pts()) is not None:  # stream time zero, or a return
            if self.clock is None:
                self.desk.start_clock(first)
            else:
                self.desk.resume(first)
        if out:
            self.loss.output_began()
        self.flow.emit(out, start, inj)
        self.livestats.read_took(time.perf_counter() - t0, time.thread_time() - c0)

    # -- supervision ---------------------------------------------------------------------
    def _supervise(self) -> None:
        next_tick = time.monotonic() + 1.0
        while not self._stopping.wait(max(0.0, min(0.2, next_tick - time.monotonic()))):
            try:
                self.flow.check()
                self.flow.settle(input_due=self.desk.due_while_away)
                if time.monotonic() >= next_tick:
                    next_tick += 1.0
                    self.livestats.tick()
            except Exception as exc:  # a bug must be said, and supervision must go on
                log.exception("pipeline %s: supervision failed", self.stream)
                self._say("error", f"supervision failed: {type(exc).__name__}: {exc}")

    # -- cues ----------------------------------------------------------------------------
    def _newest_pts(self) -> int | None:
        # transcode: the newest frame the encoder has taken (it codes the next ones, so an
        # IDR can still be forced there); passthrough: the newest frame the injector holds
        last = None if self._tc is None else self._tc.last_pts
        return self.meter.last_video_pts if last is None else last

    def cue_out(self, duration: float = 30.0, *, auto_return: bool = True) -> CueRecord:
        """Start an ad break now: a splice_insert out at the next IDR past the pre-roll."""
        return self.desk.cue_out(duration, auto_return=auto_return)

    def cue_in(self) -> CueRecord:
        """End the open ad break now (a splice_insert in at the next IDR past the pre-roll)."""
        return self.desk.cue_in()

    def send(self, cue: Cue | bytes | str, *, cue_id: str | None = None) -> CueRecord:
        """Send any cue (see :meth:`CueDesk.send`)."""
        return self.desk.send(cue, cue_id=cue_id)

    def cancel(self, cue_id: str) -> list[CueRecord]:
        """Withdraw the cues of ``cue_id`` still to go out (see :meth:`CueDesk.cancel`)."""
        return self.desk.cancel(cue_id)

    def cue_frame(self) -> Any:
        """Every cue handled so far, one row each, as a DataFrame (see :meth:`CueDesk.frame`)."""
        return self.desk.frame()
