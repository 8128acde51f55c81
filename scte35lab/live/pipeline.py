"""The live pipeline: OBS over RTMP in, SCTE-35 cues in, SRT out, with stats, logs and recovery.

```python
from scte35lab.live import Pipeline
p = Pipeline("srt://distributor:9000", store="lab.db", stream="main",
             passphrase_env="MAIN_SRT_PASSPHRASE").start()
p.cue_out(duration=30); p.cue_in(); p.send(cue); p.stop()
```

A pipeline is a chain of TS stages plus a supervisor. The chain (``scte35lab.ts.chain``, the
same as the file path's): ingest (:mod:`~scte35lab.live.ingest`; in transcode mode through
:mod:`~scte35lab.live.transcoding` first) -> seam marker (a returning publisher) -> SDT
namer -> :class:`StreamMeter` (reads only) -> the injector (the last thing that writes TS)
-> the outputs (:mod:`~scte35lab.live.outputs`: the SRT output stage, records, preview,
fallback). The supervisor thread, five times a second, lets the SRT output notice a loss or
a return, settles each cue from the output's evidence (:mod:`~scte35lab.live.ledger`:
``delivered`` only once the SRT receiver acknowledged it; :mod:`~scte35lab.live.cuedesk`
says and stores it), and once a second writes the stats row.

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
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scte35lab.cue import Cue
from scte35lab.errors import ComponentError
from scte35lab.live.cpumeter import CpuMeter
from scte35lab.live.cuedesk import CueDesk
from scte35lab.live.errors import SrtConnectionError
from scte35lab.live.fallback import RtmpFallback
from scte35lab.live.ffmpeg import FFmpegSrtSender
from scte35lab.live.filler import InputLossFiller
from scte35lab.live.ingest import LiveIngest
from scte35lab.live.ledger import CueLedger, CueRecord
from scte35lab.live.meter import StreamMeter
from scte35lab.live.outputs import Outputs
from scte35lab.live.pacer import send_paced
from scte35lab.live.rtmp import RtmpServer
from scte35lab.live.seam import SeamMarker
from scte35lab.live.settings import LiveSettings
from scte35lab.live.srt import SrtEndpoint
from scte35lab.live.srtout import Outage, SrtOutput
from scte35lab.live.transcode import TranscodeSettings
from scte35lab.live.transcoding import DRAIN_S, TranscodeSlot
from scte35lab.redaction import redact
from scte35lab.schedule import Schedule, Store, StreamClock
from scte35lab.schedule.store import ANALYTICS_COLUMNS
from scte35lab.ts.chain import Chain, Tap
from scte35lab.ts.inject import Injector
from scte35lab.ts.sdt import ServiceNamer

log = logging.getLogger(__name__)


@dataclass
class LiveEvent:
    """Something that happened to a running pipeline (start, stop, reconnect, cue, ...)."""

    t: float  # Unix seconds
    kind: str
    message: str
    data: dict[str, Any] = field(default_factory=dict)


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
        self.events: list[LiveEvent] = []
        self._on_event = [on_event] if on_event else []
        self._on_stats = [on_stats] if on_stats else []
        self._key = key
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
            )
            # an optional second destination over RTMP (audio and video: FLV has no SCTE-35)
            fallback = (
                None
                if rtmp_fallback is None
                else RtmpFallback(
                    rtmp_fallback,
                    name=f"rtmp-fallback-{stream}",
                    on_event=lambda kind, message: self._event(kind, message),
                    backoff_max=backoff_max,
                )
            )
        except BaseException:
            if self._own_store and self.store is not None:
                self.store.close()
            raise
        self.endpoint, self.mode, self.transcode = s.endpoint, s.mode, s.transcode
        self.sender_kind, self.preroll, self.margin = s.sender, s.preroll, s.margin
        if splice_on_slate and s.mode != "transcode":
            if self._own_store and self.store is not None:
                self.store.close()
            raise ComponentError("splice_on_slate needs transcode mode (a slate to splice on)")
        self._stopping = threading.Event()
        self.ledger = CueLedger(s.preroll, on_placed=self._placed, on_settled=self._settled)
        self.desk = CueDesk(
            stream,
            store=self.store,
            schedule=schedule,
            preroll=s.preroll,
            ledger=self.ledger,
            on_event=self._event,
            add=self._add_to_injector,
            cancel=self._cancel_in_injector,
            force_idr=lambda pts: self._tc.force_idr(pts) if self._tc is not None else None,
            newest_pts=self._newest_pts,
        )
        # transcode: a cue due while the input is lost splices on an IDR of the slate
        self.desk.splice_on_slate = splice_on_slate
        self._srt = SrtOutput(
            lambda: s.sender_class(s.endpoint, name=f"srt-{stream}"),
            on_event=self._event,
            on_outage=self._store_outage,
            backoff_max=backoff_max,
            stopping=self._stopping,
            where=s.endpoint.display,
        )
        self.outputs = Outputs(
            self._srt,
            fallback=fallback,
            record=s.record,
            record_input=s.record_input,
            hls_preview=s.hls_preview,
            on_event=self._event,
        )
        self.ingest = LiveIngest(
            ingest,
            stream,
            check_key=self._check_key,
            rtmp_server=rtmp_server,
            rtmp=s.rtmp,
            realtime=realtime_input,
            read_size=read_size,
            stopping=self._stopping,
        )
        self._tc = (
            None
            if s.transcode is None
            else TranscodeSlot(
                s.transcode,
                self._on_ts,
                name=f"{stream}-transcode",
                on_event=self._event,
                due=lambda: [r.splice_pts for r in self.cues if not r.final and r.splice_pts],
            )
        )
        self._namer = None if service_name is None else ServiceNamer(service_name, service_provider)
        self.meter = StreamMeter()
        self.out_meter = StreamMeter()
        self.stats_rows: list[dict[str, Any]] = []
        self.stage_times: deque[float] = deque(maxlen=100_000)  # wall seconds per read
        self.stage_cpu_times: deque[float] = deque(maxlen=100_000)  # CPU seconds per read
        self._tick_times: list[float] = []
        self._inj: Injector | None = None
        self._chain: Chain | None = None
        self._inj_lock = threading.Lock()
        self._lock = threading.Lock()
        self._out_bytes = 0
        self._resume_clock = False
        self._threads: list[threading.Thread] = []
        self._drain: threading.Thread | None = None
        self._input_back = threading.Event()  # a new ingest's output began: no more filler
        self._held_out = threading.Event()  # the last ingest's held output has gone out
        self._filler = InputLossFiller() if s.mode == "passthrough" else None
        self._started = False
        self._ingest_died = False
        self._cpu = CpuMeter()

    def __repr__(self) -> str:
        state = "running" if self._started and not self._stopping.is_set() else "stopped"
        return (
            f"<Pipeline {self.stream!r} {state}: {self.ingest_url or self.settings.ingest} -> "
            f"{self.endpoint.display} via {self.sender_kind}, {self.mode}>"
        )

    # -- callbacks, events and what others read --------------------------------------------
    def on_stats(self, fn: Callable[[dict[str, Any]], None]) -> None:
        """Call ``fn(row)`` with each second's stats row."""
        self._on_stats.append(fn)

    def on_event(self, fn: Callable[[LiveEvent], None]) -> None:
        """Call ``fn(event)`` on start, stop, reconnect and cue events."""
        self._on_event.append(fn)

    def _event(self, kind: str, message: str, **data: Any) -> None:
        ev = LiveEvent(time.time(), kind, self.endpoint_redact(message), data)
        self.events.append(ev)
        log.info("pipeline %s: %s: %s", self.stream, kind, ev.message)
        for fn in self._on_event:
            try:
                fn(ev)
            except Exception:
                log.exception("pipeline %s: event callback failed", self.stream)

    def endpoint_redact(self, text: str) -> str:
        """``text`` with the passphrase, the stream key and URL-borne secrets hidden."""
        return redact(text, self.endpoint.secrets + ([self._key] if self._key else []))

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
        return self.ingest.sessions

    @property
    def cues(self) -> list[CueRecord]:
        """Every cue handled so far (see :mod:`scte35lab.live.ledger` for their states)."""
        return self.ledger.records

    @property
    def transcoder_forced(self) -> list[int]:
        """Transcode mode: the PTS of every frame the encoder made an IDR for a splice point."""
        return [] if self._tc is None else self._tc.forced

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
            self._new_chain(Injector(preroll=self.preroll, margin=self.margin))
            self.desk.load()
            if self.settings.argv_secret:
                msg = (
                    f"the {self.sender_kind} sender takes the SRT passphrase on its command "
                    "line, where any user of this machine can read it (ps), and it cannot see "
                    "what the receiver acknowledged: cues will be 'written', never "
                    "'delivered'. The default sender (libsrt) has neither limit."
                )
                log.warning("pipeline %s: %s", self.stream, msg)
                self._event("warning", msg)
            self.outputs.open()
            self._first_connect(connect_timeout)
            self.ingest.start()
        except BaseException:
            self.stop()
            raise
        if self.store is not None:
            try:
                self.store.set_status(self.stream, "starting")
            except Exception:
                log.exception("pipeline %s: storing the status failed", self.stream)
        for target, name in ((self._supervise, "supervisor"), (self._ingest_loop, "ingest")):
            t = threading.Thread(target=target, name=f"{self.stream}-{name}", daemon=True)
            t.start()
            self._threads.append(t)
        how = self.mode if self.transcode is None else f"transcode: {self.transcode.describe()}"
        self._event(
            "start",
            f"pipeline started: {self.ingest_url or self.settings.ingest} -> "
            f"{self.endpoint.display} ({self.sender_kind}, {how})",
        )
        return self

    def _first_connect(self, timeout: float) -> None:
        sender = self._srt.sender
        if sender is None or isinstance(sender, FFmpegSrtSender):
            return  # FFmpeg connects only once input flows; failures show in check()
        try:
            sender.wait_connected(timeout)
            self._srt.check()
        except SrtConnectionError as exc:
            self._event("srt_down", f"SRT peer not reachable yet, will retry: {exc}")
        # passphrase and URL errors propagate: they need the user, not a retry

    def _check_key(self, key: str) -> bool:
        if self.store is not None:
            return self.store.verify_stream_key(self.stream, key)
        return self._key is not None and hmac.compare_digest(key.encode(), self._key.encode())

    def stop(self) -> None:
        """Stop everything within a few seconds; no child process is left behind."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self.ingest.stop_input()
        for t in self._threads:  # the ingest thread drains the transcoder before it ends
            t.join(3 if self.transcode is None else 3 + DRAIN_S)
        if self._drain is not None:
            self._drain.join(3)
        if self._tc is not None:
            self._tc.close()
        self._flush_chain(keep=not self.ingest.once)
        self.outputs.close()
        self.ledger.settle(self._srt.delivery, self.out_meter.last_video_pts, final=True)
        self.ingest.stop()
        if self.store is not None and self._started:
            try:
                self.store.end_stream(self.stream)
            except Exception:
                log.exception("pipeline %s: storing the end failed", self.stream)
        if self._started:
            self._event("stop", "pipeline stopped")
        if self._own_store and self.store is not None:
            self.store.close()

    def __enter__(self) -> Pipeline:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the byte path -------------------------------------------------------------------
    def _new_chain(self, inj: Injector) -> None:
        """The stages for one ingest session: (seam) -> (SDT namer) -> meter -> injector."""
        with self._inj_lock:
            self._inj = inj
            seam = SeamMarker() if self.ingest.sessions > 1 else None
            self._chain = Chain([seam, self._namer, Tap(self.meter.feed), inj])

    def _fresh_seam(self) -> None:
        """A new time base and new counters from here on: mark the seam."""
        with self._inj_lock:
            assert self._chain is not None
            stages = self._chain.stages
            if stages and isinstance(stages[0], SeamMarker):
                stages[0] = SeamMarker()
            else:
                stages.insert(0, SeamMarker())

    def _ingest_loop(self) -> None:
        while not self._stopping.is_set():
            read = self.ingest.next_source()
            if read is None:
                continue
            self.ingest.sessions += 1
            resumed = self._tc is not None and self._tc.holding
            if self._drain is not None and not resumed:  # the held output goes out first
                self._held_out.wait()
            if resumed:  # transcode: the new ingest goes on where the loss frames are
                assert self._tc is not None
                self._tc.resume()
                if self._tc.last_pts is not None:
                    self.desk.resume(self._tc.last_pts)
            elif self.ingest.sessions > 1:
                self.meter = StreamMeter()
                self.ledger.new_input()
                self._resume_clock = True
                follows = self._inj
                self._new_chain(Injector(preroll=self.preroll, margin=self.margin, follows=follows))
            self._event("ingest_connected", f"ingest {self.ingest.sessions} started")
            if self._ingest_died:
                self._ingest_died = False
                self._event("ingest_restarted", "the ingest FFmpeg was restarted")
            if self._tc is not None and not resumed:
                self._tc.open()
            try:
                while not self._stopping.is_set() and (data := read()):
                    self.outputs.came_in(data)
                    if self._tc is None:
                        self._on_ts(data)
                    elif self._tc.feed(data):  # a fresh encoder: its counters start again
                        self._fresh_seam()
            except OSError as exc:
                log.warning("pipeline %s: ingest read failed: %s", self.stream, exc)
            except Exception as exc:  # a bug or a bad stream must be said, not hang silently
                log.exception("pipeline %s: ingest failed", self.stream)
                self._event("error", f"ingest failed: {type(exc).__name__}: {exc}")
            lost = not (self.ingest.once or self._stopping.is_set())
            if self._tc is not None and lost and self._tc.hold():
                self._input_lost()  # the transcoder keeps the stream going
                continue
            if self._tc is not None:
                self._tc.close()
            if not lost:
                break
            self._input_ended()

    def _input_lost(self) -> None:
        """Transcode mode's input loss: the encoder goes on with the last frame, black and
        the slate; waiting cues wait; the publisher's leaving is told apart from a crash."""
        self.desk.input_away_since = time.monotonic()
        if self.ingest.publisher_on():
            self._ingest_died = True
            self._event(
                "ingest_died",
                "the ingest FFmpeg exited while the publisher is still on: nginx restarts it",
            )
        else:
            self._event("ingest_ended", "ingest ended: waiting for the publisher")
        assert self.transcode is not None
        self._event(
            "input_lost",
            f"input lost since {time.strftime('%H:%M:%S')}: encoding {self.transcode.loss}",
        )

    def _input_ended(self) -> None:
        """The ingest ended: what the injector holds goes out at its own pace (a burst would
        leave the distributor with nothing after it) while we learn whether the publisher
        left or only its FFmpeg died; waiting cues keep waiting for the next ingest."""
        self.desk.input_away_since = time.monotonic()
        if self._drain is not None:  # the last loss's filler (its input never got going)
            self._input_back.set()
            self._drain.join()
        self._input_back.clear()
        self._held_out.clear()
        self._drain = threading.Thread(target=self._hold_on, name=f"{self.stream}-drain")
        self._drain.start()
        if self.ingest.publisher_on():
            self._ingest_died = True
            self._event(
                "ingest_died",
                "the ingest FFmpeg exited while the publisher is still on: nginx restarts it",
            )
        else:
            self._event("ingest_ended", "ingest ended: waiting for the publisher")

    def _hold_on(self) -> None:
        """The input is away: its held output goes out at its own pace, then (passthrough)
        null packets with a running PCR keep the SRT session and the bit rate alive until
        the input is back (see :mod:`scte35lab.live.filler`)."""
        self._flush_chain(paced=True)
        self._held_out.set()
        filler = self._filler
        if filler is None or self._input_back.is_set() or self._stopping.is_set():
            return
        since = time.strftime("%H:%M:%S")
        self._event(
            "input_lost",
            f"input lost since {since}: null packets and a running PCR keep the SRT "
            f"session up at {filler.rate * 8 / 1000:.0f} kbit/s",
        )
        filler.start()
        step, t = 0.02, time.monotonic()
        while not (self._input_back.is_set() or self._stopping.is_set()):
            self._emit_raw(filler.fill(step))
            t += step
            self._stopping.wait(max(0.0, t - time.monotonic()))

    def _emit_raw(self, out: bytes) -> None:
        """Output made here (filler), not by the injector: no IDRs, no cues in it."""
        if not out:
            return
        with self._lock:
            if self._input_back.is_set():
                return  # the input's own output has begun
            pmt = None if self._inj is None else self._inj.pmt_pid
            self.outputs.write(out, self._out_bytes, [], pmt)
            self._out_bytes += len(out)

    def _on_ts(self, data: bytes) -> None:
        t0, c0 = time.perf_counter(), time.thread_time()
        assert self._chain is not None and self._inj is not None
        with self._inj_lock:
            out = self._chain.feed(data)
            start = self._inj.bytes_out - len(out)
        first = self.meter.first_video_pts
        if first is not None:
            if self.clock is None:
                self.desk.start_clock(first)
            elif self._resume_clock:
                self._resume_clock = False
                self.desk.resume(first)
        if out and not self._input_back.is_set():
            with self._lock:  # the filler stops before this output goes
                self._input_back.set()
            if self._drain is not None:
                self._event("input_back", "the returning input's own output goes out again")
        self._emit(out, start, self._inj)
        # time spent on these bytes by our stages (meter, injector, hand-off): the latency
        # they add on top of the injector's deliberate look-ahead
        dt = time.perf_counter() - t0
        self.stage_times.append(dt)
        self.stage_cpu_times.append(time.thread_time() - c0)
        self._tick_times.append(dt)

    def _flush_chain(self, *, paced: bool = False, keep: bool = False) -> None:
        """Send what the stages hold. ``paced``: the input went away and may come back, so
        the injector's waiting cues keep waiting and its look-ahead goes out at its PCR pace.
        ``keep``: the pipeline stops with cues waiting; the ledger says what became of them."""
        if self._chain is None or self._inj is None:
            return
        with self._inj_lock:
            inj = self._inj
            out = self._chain.flush(last=lambda stage: inj.flush(keep_waiting=paced or keep))
            start = inj.bytes_out - len(out)
        if not paced:
            self._emit(out, start, inj)
            return
        pos = [start]

        def emit(part: bytes) -> None:
            self._emit(part, pos[0], inj)
            pos[0] += len(part)

        filler = self._filler
        idle = None if filler is None else (lambda secs: self._emit_raw(filler.nulls(secs)))
        took = send_paced(out, emit, self._stopping, idle=idle)
        if out:
            msg = f"the held {len(out)} bytes went out at their own pace in {took:.1f} s"
            self._event("held_sent", msg)

    def _emit(self, out: bytes, inj_start: int, inj: Injector) -> None:
        """The injector's output ``out`` (starting at ``inj_start`` in its output) to the
        outputs, and the cue copies in it to the ledger."""
        if not out:
            return
        with self._lock:
            base = self._out_bytes
            end = inj_start + len(out)
            keys = [base + k - inj_start for k in inj.key_offsets if inj_start <= k < end]
            self.outputs.write(out, base, keys, inj.pmt_pid)
            if self._filler is not None:
                self._filler.observe(out, inj.pmt_pid)
            self.ledger.watch(out, base, inj.pid, self._srt.handed)
            self._out_bytes += len(out)
            self.out_meter.feed(out)

    # -- supervision and stats -----------------------------------------------------------
    def _supervise(self) -> None:
        next_tick = time.monotonic() + 1.0
        while not self._stopping.wait(max(0.0, min(0.2, next_tick - time.monotonic()))):
            try:
                self._srt.check()
                if self.outputs.fallback is not None:
                    self.outputs.fallback.check()
                self.ledger.settle(
                    self._srt.delivery,
                    self.out_meter.last_video_pts,
                    input_due=self.desk.due_while_away,
                )
                if time.monotonic() >= next_tick:
                    next_tick += 1.0
                    self._stats_tick()
            except Exception as exc:  # a bug must be said, and supervision must go on
                log.exception("pipeline %s: supervision failed", self.stream)
                self._event("error", f"supervision failed: {type(exc).__name__}: {exc}")

    def _stats_tick(self) -> None:
        row: dict[str, Any] = {"ts": time.time(), "stream": self.stream, "mode": self.mode}
        row.update(self.meter.second())
        row["srt_stats_available"] = self.settings.sender_class.stats_available
        row["srt_connected"] = self._srt.up
        row["srt_acks"] = self.settings.sender_class.acks
        if self.outputs.fallback is not None:
            row.update(self.outputs.fallback.stats())
        if self._tc is not None:
            row.update(self._tc.second())
        sender = self._srt.sender
        if sender is not None and sender.stats_available:
            row.update(sender.stats.last_second() or {})
        cpu, mem = self._cpu.sample(self.ingest.pids() + self.outputs.pids())
        row["cpu_percent"] = cpu
        row["memory_mb"] = None if mem is None else mem / 2**20
        if self.outputs.record_bytes is not None:
            row["record_mb"] = self.outputs.record_bytes / 2**20
        times, self._tick_times = sorted(self._tick_times), []
        if times:
            row["stage_ms_p50"] = 1000 * times[len(times) // 2]
            row["stage_ms_p99"] = 1000 * times[min(len(times) - 1, int(len(times) * 0.99))]
        row["bytes_out"] = self._out_bytes
        row["bytes_unsent"] = self._srt.bytes_unsent
        row["bytes_lost"] = self._srt.bytes_lost
        self.stats_rows.append(row)
        if self.store is not None:
            try:
                stored = {k: row.get(k) for k in ("ts", *ANALYTICS_COLUMNS)}
                self.store.add_analytics(self.stream, stored)
            except Exception:
                log.exception("pipeline %s: storing analytics failed", self.stream)
        for fn in self._on_stats:
            try:
                fn(row)
            except Exception:
                log.exception("pipeline %s: stats callback failed", self.stream)

    def stats(self) -> Any:
        """Every stats row so far as a DataFrame (one row per second)."""
        import pandas as pd

        df = pd.DataFrame(self.stats_rows)
        if not df.empty:
            df["ts"] = pd.to_datetime(df["ts"], unit="s", utc=True)
        return df

    def _store_outage(self, outage: Outage) -> None:
        if self.store is None:
            return
        try:
            self.store.add_outage(
                self.stream,
                started_at=outage.started_at,
                ended_at=outage.ended_at,
                bytes_unacked=outage.bytes_unacked,
                bytes_unsent=outage.bytes_unsent,
            )
        except Exception:
            log.exception("pipeline %s: storing an SRT outage failed", self.stream)

    # -- cues ----------------------------------------------------------------------------
    def _placed(self, rec: CueRecord) -> None:
        self.desk.placed(rec)

    def _settled(self, rec: CueRecord) -> None:
        self.desk.settled(rec)

    def _add_to_injector(self, cue: Cue, **kw: Any) -> Any:
        if self._inj is None or self._stopping.is_set():
            raise ComponentError(f"pipeline {self.stream!r} is not running")
        with self._inj_lock:
            return self._inj.add(cue, **kw)

    def _cancel_in_injector(self, placement: Any) -> bool:
        with self._inj_lock:
            return self._inj is not None and self._inj.cancel(placement)

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
