"""The live pipeline: OBS over RTMP in, SCTE-35 cues in, SRT out, with stats, logs and recovery.

```python
from scte35lab.live import Pipeline
p = Pipeline("srt://distributor:9000", store="lab.db", stream="main",
             passphrase_env="MAIN_SRT_PASSPHRASE").start()
p.cue_out(duration=30); p.cue_in(); p.send(cue); p.stop()
```

The flow is a chain of stages over TS bytes (the same stages as the file path):
ingest (nginx ``exec_push`` FFmpeg, or FFmpeg reading a URL) -> :class:`StreamMeter` (reads,
never changes) -> the injector stage (``scte35lab.ts.inject``, the last thing that writes
TS) -> the recorder (optional) and the SRT output stage (:mod:`scte35lab.live.srtout`). A
supervisor thread, five times a second, settles each cue from the output stage's evidence
(:mod:`scte35lab.live.ledger`: ``delivered`` only once the SRT receiver acknowledged it) and
logs it to scte35_logs (which marks its ad_marker inserted only when delivered); once a
second it turns the meter's and the sender's figures into one stats row (callbacks and
stream_analytics); and it restarts the sender with backoff when the peer is gone.

The default sender is libsrt in this process (:mod:`scte35lab.live.srtsend`): it sets the
passphrase as a socket option, so no process's argv holds it, and it sees which bytes the
receiver acknowledged. ``sender="srt-live-transmit"`` or ``"ffmpeg"`` take the passphrase in
their argv and cannot see acknowledgements: their cues end ``written``, never ``delivered``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from scte35lab.cue import Cue
from scte35lab.errors import ComponentError, Scte35Error
from scte35lab.live.cpumeter import CpuMeter
from scte35lab.live.errors import SrtConnectionError
from scte35lab.live.fallback import RtmpFallback
from scte35lab.live.ffmpeg import FFmpegRemux, FFmpegSrtSender
from scte35lab.live.ledger import CueLedger, CueRecord
from scte35lab.live.meter import StreamMeter
from scte35lab.live.pacer import send_paced
from scte35lab.live.rtmp import RtmpIngest, RtmpServer
from scte35lab.live.seam import SeamMarker
from scte35lab.live.srt import SrtEndpoint, SrtSender
from scte35lab.live.srtout import Outage, SrtOutput
from scte35lab.live.srtsend import LibSrtSender
from scte35lab.live.transcode import Transcoder, TranscodeSettings, settings_from
from scte35lab.outfile import atomic_file
from scte35lab.schedule import EventIdAllocator, Schedule, Store, StreamClock
from scte35lab.schedule.keys import redact
from scte35lab.schedule.store import ANALYTICS_COLUMNS
from scte35lab.ts.inject import Injector
from scte35lab.ts.pes import CLOCK, PTS_WRAP
from scte35lab.ts.sdt import ServiceNamer

log = logging.getLogger(__name__)

SENDERS = {"libsrt": LibSrtSender, "srt-live-transmit": SrtSender, "ffmpeg": FFmpegSrtSender}
ARGV_SECRET_SENDERS = ("srt-live-transmit", "ffmpeg")  # they take the passphrase in argv
MODES = ("passthrough", "transcode")
MAX_TRANSCODER_RESTARTS = 3  # per ingest: a stream it cannot take is not retried for ever
TRANSCODER_DRAIN_S = 10.0  # how long the end of an ingest waits for the encoder's backlog


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
    ) -> None:
        if sender not in SENDERS:
            raise ComponentError(f"sender {sender!r} is not one of {', '.join(SENDERS)}")
        if mode is None:
            mode = "passthrough" if transcode is None else "transcode"
        if mode not in MODES:
            raise ComponentError(f"mode {mode!r} is not one of {', '.join(MODES)}")
        if mode == "passthrough" and transcode is not None:
            raise ComponentError("transcode settings were given with mode='passthrough'")
        self.mode = mode
        # transcode: libx264 re-encodes, with an IDR forced at every splice point
        self.transcode = settings_from(transcode) if mode == "transcode" else None
        self._tc: Transcoder | None = None
        self._tc_failures = 0  # transcoder failures on the current ingest
        self._tc_lock = threading.Lock()
        self._forced_before: list[int] = []  # IDRs forced by transcoders of past sessions
        self.stream = stream
        self.store = Store(store) if isinstance(store, str | os.PathLike) else store
        self._own_store = isinstance(store, str | os.PathLike)
        try:  # a bad setting must not leave the store this pipeline opened open
            if passphrase is None and passphrase_env is not None:
                passphrase = os.environ.get(passphrase_env)
                if passphrase is None:
                    raise ComponentError(
                        f"environment variable {passphrase_env} (the SRT passphrase) is not set"
                    )
            if passphrase is None and self.store is not None:
                with contextlib.suppress(Exception):
                    passphrase = self.store.srt_passphrase(stream)
            if isinstance(srt, SrtEndpoint):
                endpoint = srt if passphrase is None else srt.with_(passphrase=passphrase)
            else:
                endpoint = SrtEndpoint.parse(srt, passphrase=passphrase)
            if latency_ms is not None:
                endpoint = endpoint.with_(latency_ms=latency_ms)
            if streamid is not None:
                endpoint = endpoint.with_(streamid=streamid)
            if packet_filter is not None:  # SRT FEC, e.g. "fec,cols:10,rows:5"
                endpoint = endpoint.with_(packet_filter=packet_filter)
            if endpoint.packet_filter and sender == "ffmpeg":
                FFmpegSrtSender(endpoint)  # raises: FFmpeg's srt:// has no packet filter
            self.endpoint = endpoint
            # an optional second destination over RTMP (audio and video: FLV has no SCTE-35)
            self._fallback = (
                None
                if rtmp_fallback is None
                else RtmpFallback(
                    rtmp_fallback,
                    name=f"rtmp-fallback-{stream}",
                    on_event=lambda kind, message: self._event(kind, message),
                    backoff_max=backoff_max,
                )
            )
            # the service name and provider the distributor sees (SDT), for the whole run
            self._namer = (
                None if service_name is None else ServiceNamer(service_name, service_provider)
            )
        except BaseException:
            if self._own_store and self.store is not None:
                self.store.close()
            raise
        self.sender_kind = sender
        self._key = key
        self.ingest_spec = ingest
        self._rtmp = rtmp_server
        self._own_rtmp = rtmp_server is None and ingest == "rtmp"
        self._rtmp_args = dict(host=rtmp_host, port=rtmp_port, app=rtmp_app)
        self._schedule_arg = schedule
        self.preroll = preroll
        self.record_path = None if record is None else Path(record)
        self.record_input_path = None if record_input is None else Path(record_input)
        # A local HLS window of exactly what goes out (the TS after injection), for preview.
        self.hls_preview_dir = None if hls_preview is None else Path(hls_preview)
        self._hls: Any = None
        self._on_stats = [on_stats] if on_stats else []
        self._on_event = [on_event] if on_event else []
        self.backoff_max = backoff_max
        self.realtime_input = realtime_input
        # bytes taken from the ingest at a time: smaller reads add less latency per byte,
        # larger ones cost less CPU per byte (numpy per call); ~16 KB is ~16 ms at 8 Mbit/s
        self.read_size = read_size
        self.events: list[LiveEvent] = []
        self.stats_rows: list[dict[str, Any]] = []
        self.ledger = CueLedger(preroll, on_placed=self._cue_placed, on_settled=self._cue_settled)
        self.meter = StreamMeter()
        self.out_meter = StreamMeter()
        self.clock: StreamClock | None = None
        self.margin = 1.0
        self.stage_times: deque[float] = deque(maxlen=100_000)  # wall seconds per read
        self.stage_cpu_times: deque[float] = deque(maxlen=100_000)  # CPU seconds per read
        self._tick_times: list[float] = []
        self._resume_clock = False
        self._seam: SeamMarker | None = None
        self._inj: Injector | None = None
        self._inj_lock = threading.Lock()
        self._event_ids: Any = None
        self._open_break: tuple[int, str] | None = None  # (splice_event_id, cue_id)
        self._ondemand = 0
        self._stopping = threading.Event()
        self._srt = SrtOutput(
            lambda: SENDERS[self.sender_kind](self.endpoint, name=f"srt-{self.stream}"),
            on_event=self._event,
            on_outage=self._store_outage,
            backoff_max=backoff_max,
            stopping=self._stopping,
            where=self.endpoint.display,
        )
        self._out_bytes = 0
        self._input_away_since: float | None = None  # monotonic: the ingest ended
        self._threads: list[threading.Thread] = []
        self._ingest: RtmpIngest | None = None
        self._remux: FFmpegRemux | None = None
        self._rec: IO[bytes] | None = None
        self._rec_in: IO[bytes] | None = None
        self._files = contextlib.ExitStack()  # the records: renamed into place at stop
        self._lock = threading.Lock()
        self._started = False
        self._cpu = CpuMeter()
        self.sessions = 0
        self._ingest_died = False

    def __repr__(self) -> str:
        state = "running" if self._started and not self._stopping.is_set() else "stopped"
        return (
            f"<Pipeline {self.stream!r} {state}: {self.ingest_url or self.ingest_spec} -> "
            f"{self.endpoint.display} via {self.sender_kind}, {self.mode}>"
        )

    # -- callbacks and events ----------------------------------------------------------
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
        return None if self._rtmp is None else self._rtmp.url

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
            self._inj = Injector(preroll=self.preroll, margin=self.margin)
            self._load_schedule()
            self._open_files()
            self._warn_argv_secrets()
            self._srt.start()
            if self._fallback is not None:
                self._fallback.start()
            self._first_connect(connect_timeout)
            self._start_ingest()
        except BaseException:
            self.stop()
            raise
        if self.store is not None:
            with contextlib.suppress(Exception):
                self.store.set_status(self.stream, "starting")
        for target, name in ((self._supervise, "supervisor"), (self._ingest_loop, "ingest")):
            t = threading.Thread(target=target, name=f"{self.stream}-{name}", daemon=True)
            t.start()
            self._threads.append(t)
        how = self.mode if self.transcode is None else f"transcode: {self.transcode.describe()}"
        self._event(
            "start",
            f"pipeline started: {self.ingest_url or self.ingest_spec} -> "
            f"{self.endpoint.display} ({self.sender_kind}, {how})",
        )
        return self

    def _open_files(self) -> None:
        if self.record_path is not None:
            self._rec = self._files.enter_context(atomic_file(self.record_path))
        if self.record_input_path is not None:
            self._rec_in = self._files.enter_context(atomic_file(self.record_input_path))
        if self.hls_preview_dir is not None:
            from scte35lab.manifest import HlsLive

            self._hls = HlsLive(self.hls_preview_dir)

    def _warn_argv_secrets(self) -> None:
        if self.sender_kind in ARGV_SECRET_SENDERS and self.endpoint.passphrase:
            msg = (
                f"the {self.sender_kind} sender takes the SRT passphrase on its command line, "
                "where any user of this machine can read it (ps), and it cannot see what the "
                "receiver acknowledged: cues will be 'written', never 'delivered'. The default "
                "sender (libsrt) has neither limit."
            )
            log.warning("pipeline %s: %s", self.stream, msg)
            self._event("warning", msg)

    def _first_connect(self, timeout: float) -> None:
        sender = self._srt.sender
        assert sender is not None
        if isinstance(sender, FFmpegSrtSender):
            return  # FFmpeg connects only once input flows; failures show in check()
        try:
            sender.wait_connected(timeout)
            self._srt.check()
        except SrtConnectionError as exc:
            self._event("srt_down", f"SRT peer not reachable yet, will retry: {exc}")
        # passphrase and URL errors propagate: they need the user, not a retry

    def _start_ingest(self) -> None:
        if self.ingest_spec == "rtmp":
            if self._rtmp is None:
                self._rtmp = RtmpServer(**self._rtmp_args).start()  # type: ignore[arg-type]
            self._ingest = self._rtmp.add_stream(_token(self.stream), self._check_key)
        else:
            self._remux = _remux(self.ingest_spec, realtime=self.realtime_input)
            self._remux.start()

    def _check_key(self, key: str) -> bool:
        if self.store is not None:
            return self.store.verify_stream_key(self.stream, key)
        if self._key is None:
            return False
        import hmac

        return hmac.compare_digest(key.encode(), self._key.encode())

    def stop(self) -> None:
        """Stop everything within a few seconds; no child process is left behind."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self._ingest is not None and self._rtmp is not None:
            self._rtmp.remove_stream(self._ingest.token)
        if self._remux is not None:
            self._remux.stop()
        for t in self._threads:  # the ingest thread drains the transcoder before it ends
            t.join(3 if self.transcode is None else 3 + TRANSCODER_DRAIN_S)
        self._close_transcoder()
        self._flush_stage()
        self._srt.stop()
        if self._fallback is not None:
            self._fallback.stop()
        self._settle(final=True)
        if self._own_rtmp and self._rtmp is not None:
            self._rtmp.stop()
        try:  # the records are complete: they take their names now
            self._files.close()
        except OSError as exc:
            self._event("error", f"the record could not be finished: {exc}")
        if self._hls is not None:
            try:
                self._hls.close()
            except (OSError, Scte35Error) as exc:
                log.warning("HLS preview: could not finish the playlist: %s", exc)
        if self.store is not None and self._started:
            with contextlib.suppress(Exception):
                self.store.end_stream(self.stream)
        if self._started:
            self._event("stop", "pipeline stopped")
        if self._own_store and self.store is not None:
            self.store.close()

    def __enter__(self) -> Pipeline:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the byte path -------------------------------------------------------------------
    def _ingest_loop(self) -> None:
        while not self._stopping.is_set():
            conn = self._next_source()
            if conn is None:
                continue
            self.sessions += 1
            if self.sessions > 1:
                self._new_session()
            self._event("ingest_connected", f"ingest {self.sessions} started")
            if self._ingest_died:
                self._ingest_died = False
                self._event("ingest_restarted", "the ingest FFmpeg was restarted")
            if self.transcode is not None:
                self._tc_failures = 0
                self._open_transcoder()
            try:
                while not self._stopping.is_set():
                    data = conn()
                    if not data:
                        break
                    self._on_ingest(data)
            except OSError as exc:
                log.warning("pipeline %s: ingest read failed: %s", self.stream, exc)
            except Exception as exc:  # a bug or a bad stream must be said, not hang silently
                log.exception("pipeline %s: ingest failed", self.stream)
                self._event("error", f"ingest failed: {type(exc).__name__}: {exc}")
            self._close_transcoder()
            if self._remux is not None or self._stopping.is_set():
                break
            # the ingest ended: what the injector holds goes out at its own pace (not in a
            # burst), its cues still waiting for the publisher; then wait for the next one
            self._input_away_since = time.monotonic()
            self._flush_stage(paced=True)
            if self._publisher_still_on():
                self._ingest_died = True
                self._event(
                    "ingest_died",
                    "the ingest FFmpeg exited while the publisher is still on: nginx restarts it",
                )
            else:
                self._event("ingest_ended", "ingest ended: waiting for the publisher")

    def _publisher_still_on(self, wait: float = 1.0) -> bool:
        """True when the RTMP publisher is still on after its ingest ended (the FFmpeg
        between nginx and us died); its leaving is reported by nginx within ``wait`` s."""
        if self._rtmp is None or self._ingest is None:
            return False
        deadline = time.monotonic() + wait
        while self._rtmp.publishing(self._ingest.token):
            if time.monotonic() >= deadline or self._stopping.is_set():
                return not self._stopping.is_set()
            time.sleep(0.05)
        return False

    def _new_session(self) -> None:
        """A publisher came back: a new ingest, with new timestamps, continuity counters and
        maybe a new PMT. A fresh injector takes it, carrying on the old one's SCTE-35 PID
        counter and PMT version line; the schedule is mapped onto its PTS so that stream
        time keeps counting from the first session's start."""
        with self._inj_lock:  # the old one was flushed when its ingest ended
            old = self._inj
            self._inj = Injector(preroll=self.preroll, margin=self.margin, follows=old)
        self.ledger.new_input()
        self.meter = StreamMeter()
        self._resume_clock = True
        self._seam = SeamMarker()  # the new ingest's counters and time base start again

    def _next_source(self) -> Callable[[], bytes] | None:
        if self._ingest is not None:
            sock = self._ingest.accept(0.5)
            if sock is None:
                return None
            sock.settimeout(1.0)

            def read() -> bytes:
                while not self._stopping.is_set():
                    try:
                        return sock.recv(self.read_size)
                    except TimeoutError:
                        continue
                return b""

            return read
        if self._remux is not None and self._remux.stdout is not None and self.sessions == 0:
            out = self._remux.stdout
            return lambda: out.read(self.read_size)
        time.sleep(0.2)
        return None

    # -- transcode mode: ingest -> Transcoder -> (its thread) the TS stages below ----------
    def _open_transcoder(self, *, restart: bool = False) -> None:
        """A transcoder for this ingest; one that replaces a failed one takes over the IDRs
        still due (same time base; a new ingest's cues are planned on its own)."""
        assert self.transcode is not None
        tc = Transcoder(self.transcode, self._on_ts, name=f"{self.stream}-transcode")
        if restart:
            with self._lock:
                due = [r.splice_pts for r in self.cues if not r.final]
            for pts in due:
                if pts is not None:
                    tc.force_idr(pts)
        with self._tc_lock:
            self._tc = tc
        tc.start()

    @property
    def transcoder_forced(self) -> list[int]:
        """Transcode mode: the PTS of every frame the encoder made an IDR for a splice point."""
        tc = self._tc
        return self._forced_before + (list(tc.forced) if tc is not None else [])

    def _close_transcoder(self) -> None:
        with self._tc_lock:  # the ingest thread and stop() may both get here
            tc, self._tc = self._tc, None
        if tc is not None:
            if not tc.close(TRANSCODER_DRAIN_S):
                self._event(
                    "error",
                    f"the transcoder did not finish its last {TRANSCODER_DRAIN_S:g} s of "
                    "backlog: the rest of its output was dropped",
                )
            self._forced_before += tc.forced
            if tc.error is not None:
                self._event("error", f"transcoder stopped: {tc.error}")

    def _on_ingest(self, data: bytes) -> None:
        if self._rec_in is not None:
            self._rec_in.write(data)
        tc = self._tc
        if self.transcode is None:
            self._on_ts(data)
            return
        if tc is None:  # the transcoder gave up on this ingest: nothing goes out untranscoded
            return
        try:
            tc.feed(data)
        except ComponentError as exc:
            if tc.error is None:
                self._event("error", f"{exc}; bytes dropped")
                return
            self._close_transcoder()
            self._tc_failures += 1
            if self._tc_failures >= MAX_TRANSCODER_RESTARTS:
                self._event(
                    "error",
                    f"{exc}; failed {self._tc_failures} times on this ingest: its bytes are "
                    "dropped until the next one",
                )
                return
            # a fresh encoder takes the stream on; its counters start again
            self._seam = SeamMarker()
            self._open_transcoder(restart=True)
            self._event("transcoder_restarted", f"{exc}; transcoder restarted")

    def _on_ts(self, data: bytes) -> None:
        t0, c0 = time.perf_counter(), time.thread_time()
        if self._seam is not None:
            data = self._seam.feed(data)
        if self._namer is not None:
            data = self._namer.feed(data)
        self.meter.feed(data)
        if self.meter.first_video_pts is not None:
            if self.clock is None:
                self._start_clock(self.meter.first_video_pts)
            elif self._resume_clock:
                self._resume(self.meter.first_video_pts)
        out, start = self._stage_feed(data)
        self._emit(out, start)
        # time spent on these bytes by our stages (meter, injector, hand-off): the latency
        # they add on top of the injector's deliberate look-ahead
        dt = time.perf_counter() - t0
        self.stage_times.append(dt)
        self.stage_cpu_times.append(time.thread_time() - c0)
        self._tick_times.append(dt)

    def _stage_feed(self, data: bytes) -> tuple[bytes, int]:
        """The injector's output for ``data``, and where it starts in the injector's output."""
        assert self._inj is not None
        with self._inj_lock:
            out = self._inj.feed(data)
            return out, self._inj.bytes_out - len(out)

    def _flush_stage(self, *, paced: bool = False) -> None:
        """Send what the stages hold. ``paced``: the input went away and may come back, so
        the held cues keep waiting, and the held look-ahead goes out at the pace of its PCR
        (a burst would leave the distributor with nothing after it)."""
        if self._inj is None:
            return
        with self._inj_lock:
            inj = self._inj
            tail = b"" if self._namer is None else self._namer.flush()
            out = (inj.feed(tail) if tail else b"") + inj.flush(keep_waiting=paced)
            start = inj.bytes_out - len(out)
        if not paced:
            self._emit(out, start)
            return
        pos = [start]

        def emit(part: bytes) -> None:
            self._emit(part, pos[0], inj)
            pos[0] += len(part)

        took = send_paced(out, emit, self._stopping)
        if out:
            self._event(
                "held_sent", f"the held {len(out)} bytes went out at their own pace in {took:.1f} s"
            )

    def _emit(self, out: bytes, inj_start: int, inj: Injector | None = None) -> None:
        """Hand the injector's output ``out`` (which starts at ``inj_start`` in its output) to
        the recorder, the preview, the SRT output stage and the fallback, and find the cue
        copies in it."""
        if not out:
            return
        inj = inj or self._inj
        with self._lock:
            base = self._out_bytes
            if self._rec is not None:
                self._rec.write(out)
            if self._hls is not None:
                self._preview(out)
            keys: list[int] = []
            if inj is not None:
                end = inj_start + len(out)
                keys = [base + k - inj_start for k in inj.key_offsets if inj_start <= k < end]
            self._srt.write(out, base, keys, None if inj is None else inj.pmt_pid)
            if self._fallback is not None:
                self._fallback.write(out)
            self.ledger.watch(out, base, None if inj is None else inj.pid, self._srt.handed)
            self._out_bytes += len(out)
            self.out_meter.feed(out)

    def _preview(self, out: bytes) -> None:
        """Feed the HLS preview; a failure there stops the preview, never the push."""
        try:
            self._hls.write(out)
        except (OSError, Scte35Error) as exc:
            self._hls = None
            self._event("error", f"HLS preview stopped: {exc}")

    def _start_clock(self, first_pts: int) -> None:
        from datetime import UTC, datetime

        self.clock = StreamClock(first_pts, datetime.now(UTC))
        if self.store is not None:
            with contextlib.suppress(Exception):
                self.store.start_stream(self.stream, first_pts=first_pts)
        self._event("clock", f"stream time zero is PTS {first_pts}", first_pts=first_pts)
        self._plan_schedule()

    def _resume(self, first_pts: int) -> None:
        """Map stream time onto a returning publisher's PTS and re-plan what is still ahead."""
        from datetime import UTC, datetime

        self._resume_clock = False
        assert self.clock is not None and self.clock.started_at is not None
        now_s = (datetime.now(UTC) - self.clock.started_at).total_seconds()
        shifted = (first_pts - round(now_s * 90_000)) % PTS_WRAP
        old_clock = self.clock
        self.clock = StreamClock(shifted, self.clock.started_at)
        if self.store is not None:
            with contextlib.suppress(Exception):
                self.store.start_stream(self.stream, first_pts=shifted, at=self.clock.started_at)
        self._event(
            "ingest_resumed",
            f"publisher back at stream time {now_s:.1f} s: schedule mapped onto PTS {first_pts}",
            first_pts=first_pts,
            stream_time=now_s,
        )
        self._input_away_since = None
        # the cues that were waiting for the publisher: those whose splice point is still
        # ahead go to the new injector (scheduled ones re-planned on the new clock, the rest
        # at the same stream time); the others were settled missed when their time passed
        with self.ledger.lock:
            waiting = [r for r in self.cues if r.status == "pending" and not r.copies]
            for r in waiting:
                self.ledger.records.remove(r)
        planned = self._planned_on_clock() if self.schedule is not None else []
        by_key = {(pc.cue_id, pc.role): pc for pc in planned}
        again = 0
        for r in waiting:
            pc = by_key.pop((r.cue_id, r.role), None)
            if pc is not None:
                pts, cue = pc.splice_pts, pc.cue
                t = pc.splice_time
            else:
                t = old_clock.seconds(r.requested_pts or 0, near=now_s)
                pts = self.clock.pts(t)
                cue = r.cue.with_splice_time((pts - r.cue.pts_adjustment) % PTS_WRAP)
            if t <= now_s:
                r.status, r.error = "missed", "its splice point passed while the input was away"
                self.ledger.add(r)
                self._cue_settled(r)
                continue
            self._add(cue, pts=pts, cue_id=r.cue_id, role=r.role)
            again += 1
        done = {(r.cue_id, r.role) for r in self.cues}
        for pc in by_key.values():
            if pc.splice_time >= now_s + self.preroll and (pc.cue_id, pc.role) not in done:
                self._add(pc.cue, pts=pc.splice_pts, cue_id=pc.cue_id, role=pc.role)
                again += 1
        self._event("schedule", f"{again} waiting cue(s) handed to the new ingest's injector")

    def _planned_on_clock(self) -> list[Any]:
        assert self.schedule is not None and self.clock is not None
        if self.store is not None:
            return self.store.plan(self.stream, self.schedule, clock=self.clock)
        return self.schedule.cues(allocator=self._event_ids, clock=self.clock)

    # -- supervision and stats -----------------------------------------------------------
    def _supervise(self) -> None:
        next_tick = time.monotonic() + 1.0
        while not self._stopping.wait(max(0.0, min(0.2, next_tick - time.monotonic()))):
            try:
                self._srt.check()
                if self._fallback is not None:
                    self._fallback.check()
                self._settle()
                if time.monotonic() >= next_tick:
                    next_tick += 1.0
                    self._stats_tick()
            except Exception as exc:  # a bug must be said, and supervision must go on
                log.exception("pipeline %s: supervision failed", self.stream)
                self._event("error", f"supervision failed: {type(exc).__name__}: {exc}")

    def _stats_tick(self) -> None:
        row: dict[str, Any] = {"ts": time.time(), "stream": self.stream}
        row.update(self.meter.second())
        sender = self._srt.sender
        srt = None
        if sender is not None and sender.stats_available:
            srt = sender.stats.last_second()
        row["srt_stats_available"] = SENDERS[self.sender_kind].stats_available
        row["srt_connected"] = self._srt.up
        row["srt_acks"] = SENDERS[self.sender_kind].acks
        row["mode"] = self.mode
        if self._fallback is not None:
            row.update(self._fallback.stats())
        tc = self._tc
        if tc is not None:
            row.update(tc.second())
        if srt:
            row.update(srt)
        cpu, mem = self._cpu.sample(self._child_pids())
        row["cpu_percent"] = cpu
        row["memory_mb"] = None if mem is None else mem / 2**20
        rec = self._rec
        if rec is not None:
            with contextlib.suppress(OSError, ValueError):
                row["record_mb"] = rec.tell() / 2**20
        times, self._tick_times = self._tick_times, []
        if times:
            times.sort()
            row["stage_ms_p50"] = 1000 * times[len(times) // 2]
            row["stage_ms_p99"] = 1000 * times[min(len(times) - 1, int(len(times) * 0.99))]
        row["bytes_out"] = self._out_bytes
        row["bytes_unsent"] = self._srt.bytes_unsent
        row["bytes_lost"] = self._srt.bytes_lost
        self.stats_rows.append(row)
        if self.store is not None:
            stored = {k: row.get(k) for k in ("ts", *ANALYTICS_COLUMNS)}
            try:
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

    def _child_pids(self) -> list[int]:
        """The processes this pipeline started (and so their children): nginx when it is
        ours, the URL ingest's FFmpeg, a sender or fallback process."""
        owners = [
            self._rtmp if self._own_rtmp else None,
            self._remux,
            self._srt.sender,
            None if self._fallback is None else self._fallback.push,
        ]
        pids = []
        for o in owners:
            proc = getattr(o, "process", None) if o is not None else None
            pid = getattr(proc, "pid", None) if proc is not None else None
            if pid is None and isinstance(o, FFmpegRemux):
                pid = o.pid
            if pid is not None:
                pids.append(pid)
        return pids

    # -- cues ----------------------------------------------------------------------------
    @property
    def cues(self) -> list[CueRecord]:
        """Every cue handled so far (see :mod:`scte35lab.live.ledger` for their states)."""
        return self.ledger.records

    def _settle(self, *, final: bool = False) -> None:
        self.ledger.settle(
            self._srt.delivery,
            self.out_meter.last_video_pts,
            input_due=self._due_while_away,
            final=final,
        )

    def _due_while_away(self, rec: CueRecord) -> bool:
        """While the input is away: has the cue's splice point passed in wall-clock time?
        (Then no returning input can reach it: its frames would come after it.)"""
        if self._input_away_since is None or self.clock is None:
            return False
        pts = rec.splice_pts if rec.splice_pts is not None else rec.requested_pts
        if pts is None or self.clock.started_at is None:
            return False
        now_s = time.time() - self.clock.started_at.timestamp()
        return now_s >= self.clock.seconds(pts, near=now_s)

    def _stream_time(self, pts: int | None) -> str:
        if pts is None or self.clock is None:
            return "-"
        t = self.clock.seconds(pts, near=self._near())
        return f"{int(t // 3600):02d}:{int(t % 3600 // 60):02d}:{t % 60:06.3f}"

    def _near(self) -> float:
        if self.clock is None or self.clock.started_at is None:
            return 0.0
        return time.time() - self.clock.started_at.timestamp()

    def _cue_placed(self, rec: CueRecord) -> None:
        """The cue's first copy is in the output; a splice moved to the next IDR is said."""
        shift = rec.shift
        if shift is None or abs(shift) < 0.5 / CLOCK:
            return
        self._event(
            "cue_moved",
            f"cue {rec.label()}: asked for {self._stream_time(rec.requested_pts)}, splices at "
            f"{self._stream_time(rec.splice_pts)} ({shift:+.3f} s): the next IDR frame",
            cue_id=rec.cue_id,
            role=rec.role,
            requested_pts=rec.requested_pts,
            splice_pts=rec.splice_pts,
            shift=shift,
        )

    def _cue_settled(self, rec: CueRecord) -> None:
        """Say and store what became of a cue."""
        rec.settled_at = time.time()
        pre = "" if rec.preroll is None else f", pre-roll {rec.preroll:.3f} s"
        how = {
            "delivered": "delivered: the distributor acknowledged it",
            "written": "written",
        }.get(rec.status, rec.status)
        where = (
            f"splice {self._stream_time(rec.splice_pts)} (PTS {rec.splice_pts})"
            if rec.splice_pts is not None
            else f"asked for {self._stream_time(rec.requested_pts)}"
        )
        self._event(
            f"cue_{rec.status}",
            f"cue {rec.label()} {where}: {how}{pre}" + (f": {rec.error}" if rec.error else ""),
            cue_id=rec.cue_id,
            role=rec.role,
            splice_pts=rec.splice_pts,
            requested_pts=rec.requested_pts,
            state=rec.status,
            preroll=rec.preroll,
        )
        if self.store is None:
            return
        try:
            self.store.log_cue(
                self.stream,
                rec.cue,
                cue_id=rec.cue_id,
                role=rec.role,
                state=rec.status,
                error=rec.error,
                splice_pts=rec.splice_pts,
                preroll=rec.preroll,
                requested_pts=rec.requested_pts,
            )
        except Exception:
            log.exception("pipeline %s: logging cue failed", self.stream)

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

    def _load_schedule(self) -> None:
        sched = self._schedule_arg
        if isinstance(sched, str | os.PathLike):
            path = Path(sched)
            sched = (
                Schedule.from_json(path)
                if path.suffix.lower() == ".json"
                else Schedule.from_csv(path)
            )
        if sched is None and self.store is not None:
            with contextlib.suppress(Exception):
                stored = self.store.schedule(self.stream)
                sched = stored if len(stored) else None
        if sched is not None:
            sched.check()
        self.schedule = sched
        if self.store is not None:
            self._event_ids = self.store.event_ids(self.stream)
            self._ondemand = _last_ondemand(self.store.markers(self.stream))
        else:
            self._event_ids = EventIdAllocator()

    def _plan_schedule(self) -> None:
        """Plan the schedule on this session's clock and hand its cues to the injector."""
        if self.schedule is None or self.clock is None:
            return
        planned = self._planned_on_clock()
        for pc in planned:
            self._add(pc.cue, pts=pc.splice_pts, cue_id=pc.cue_id, role=pc.role)
        self._event("schedule", f"{len(planned)} scheduled cue(s) handed to the injector")

    def _add(
        self,
        cue: Cue,
        *,
        pts: int | None = None,
        immediate: bool = False,
        cue_id: str | None = None,
        role: str | None = None,
    ) -> CueRecord:
        if self._inj is None or self._stopping.is_set():
            raise ComponentError(f"pipeline {self.stream!r} is not running")
        label = "/".join(x for x in (cue_id, role) if x) or None
        with self._inj_lock:
            placement = self._inj.add(cue, pts=pts, immediate=immediate, label=label)
        rec = self.ledger.add(CueRecord(placement, cue_id, role))
        tc = self._tc
        if tc is not None and pts is not None:
            tc.force_idr(pts)  # transcode: the splice point gets an IDR of its own
        return rec

    def _next_splice_pts(self) -> int:
        """The earliest splice point an on-demand cue can take: just after the newest frame
        the injector has seen (it holds the pre-roll, so the cue still arrives in time), or
        in transcode mode the newest the encoder has taken (the IDR is forced at the next);
        the injector moves the cue to the IDR at or after it."""
        if self._input_away_since is not None:
            away = time.monotonic() - self._input_away_since
            raise ComponentError(
                f"pipeline {self.stream!r}: the input has been away for {away:.0f} s, so there "
                "is no video to splice on; an on-demand cue waits for the publisher's return"
            )
        tc = self._tc
        # transcode: the newest frame the encoder has taken (it codes the next ones, so an
        # IDR can still be forced there); passthrough: the newest frame the injector holds
        last = tc.last_pts if tc is not None and tc.last_pts is not None else None
        if last is None:
            last = self.meter.last_video_pts
        if last is None:
            raise ComponentError(
                f"pipeline {self.stream!r} has no video yet: cannot place an on-demand cue"
            )
        return (last + 9000) % PTS_WRAP  # 0.1 s on

    def cue_out(self, duration: float = 30.0, *, auto_return: bool = True) -> CueRecord:
        """Start an ad break now: a splice_insert out at the next IDR past the pre-roll."""
        from scte35lab.cue import TICKS_PER_SECOND

        if self._event_ids is None:
            raise ComponentError(f"pipeline {self.stream!r} is not started: start() it first")
        pts = self._next_splice_pts()
        self._ondemand += 1
        cue_id = f"ondemand-{self._ondemand}"
        event_id = self._event_ids.allocate(f"{cue_id}/splice")
        cue = Cue.splice_insert(
            event_id,
            out_of_network=True,
            pts_time=pts,
            break_duration=round(duration * TICKS_PER_SECOND),
            auto_return=auto_return,
        )
        self._open_break = (event_id, cue_id)
        rec = self._add(cue, pts=pts, cue_id=cue_id, role="out")
        self._event("cue_requested", f"cue_out {cue_id} ({duration:g} s) requested", cue_id=cue_id)
        self._record_break(cue_id, pts, duration, event_id, auto_return)
        return rec

    def _record_break(
        self, cue_id: str, pts: int, duration: float, event_id: int, auto_return: bool
    ) -> None:
        """An on-demand break gets its ad_markers row (origin 'on_demand'), which its cue's
        log entry marks inserted once it has gone out, as for scheduled breaks."""
        if self.store is None or self.clock is None:
            return
        from scte35lab.schedule import AdBreak

        now = self.meter.last_video_pts
        near = 0.0 if now is None else self.clock.seconds(now)
        brk = AdBreak(
            start=max(0.0, self.clock.seconds(pts, near=near)),
            duration=duration,
            cue_id=cue_id,
            splice_event_id=event_id,
            auto_return=auto_return,
            plan="splice_insert",
            notes="called while live (cue_out)",
        )
        try:
            self.store.add_marker(self.stream, brk)
        except Exception as exc:
            log.exception("pipeline %s: storing the on-demand break failed", self.stream)
            self._event("error", f"on-demand break {cue_id} not stored: {exc}")

    def cue_in(self) -> CueRecord:
        """End the open ad break now (a splice_insert in at the next IDR past the pre-roll)."""
        if self._open_break is None:
            raise ComponentError("cue_in: no ad break is open (call cue_out first)")
        event_id, cue_id = self._open_break
        pts = self._next_splice_pts()
        cue = Cue.splice_insert(event_id, out_of_network=False, pts_time=pts)
        self._open_break = None
        rec = self._add(cue, pts=pts, cue_id=cue_id, role="in")
        self._event("cue_requested", f"cue_in {cue_id} requested", cue_id=cue_id)
        return rec

    def send(self, cue: Cue | bytes | str, *, cue_id: str | None = None) -> CueRecord:
        """Send any cue: one with a splice time splices at that PTS (moved to the IDR at or
        after it); one without (splice_immediate) splices at the next IDR past the pre-roll."""
        if not isinstance(cue, Cue):
            cue = Cue.decode(cue)
        pts = cue.splice_point
        role = {True: "out", False: "in"}.get(cue.out_of_network_indicator)  # type: ignore[arg-type]
        if pts is None:
            pts = self._next_splice_pts()
            cue = cue.with_splice_time((pts - cue.pts_adjustment) % PTS_WRAP)
        return self._add(cue, pts=pts, cue_id=cue_id, role=role)

    def cancel(self, cue_id: str) -> list[CueRecord]:
        """Withdraw the cues of ``cue_id`` still to go out; they end ``cancelled``. A
        splice_insert whose copies already went out is cancelled on the wire too (a
        splice_insert with splice_event_cancel_indicator, sent at once)."""
        found = [r for r in self.cues if r.cue_id == cue_id and not r.final]
        if not found:
            raise ComponentError(f"no cue {cue_id!r} is on its way out: nothing to cancel")
        for rec in found:
            with self._inj_lock:
                withdrawn = self._inj is not None and self._inj.cancel(rec.placement)
            if not withdrawn and rec.cue.splice_event_id is not None:
                self._add(
                    Cue.splice_insert_cancel(rec.cue.splice_event_id),
                    immediate=True,
                    cue_id=cue_id,
                    role=None,
                )
            with self.ledger.lock:
                if rec.final:
                    continue
                rec.status, rec.error = "cancelled", "cancelled by the operator"
            self._cue_settled(rec)
        if self._open_break is not None and self._open_break[1] == cue_id:
            self._open_break = None
        return found

    def cue_frame(self) -> Any:
        """Every cue handled so far, one row each, as a DataFrame: its state, the pre-roll
        of the copy that counted, the splice point as stream time and, for a splice moved to
        the next IDR, by how much (``moved``)."""
        with self.ledger.lock:
            recs = list(self.cues)
        df = self.ledger.frame(recs)
        df.insert(2, "splice_time", [self._stream_time(r.splice_pts) for r in recs])
        df["moved"] = [
            "" if x is None or x != x or abs(x) < 1e-6 else f"{x:+.3f} s"
            for x in df["shift"].tolist()
        ]
        return df


def _last_ondemand(markers: Any) -> int:
    """The highest N of the stream's stored ``ondemand-N`` breaks (earlier runs'), so a new
    run's on-demand breaks never take over their markers."""
    import re

    ids = markers.loc[markers["origin"] == "on_demand", "cue_id"]
    found = [int(m.group(1)) for c in ids if (m := re.fullmatch(r"ondemand-(\d+)", str(c)))]
    return max(found, default=0)


def _token(stream: str) -> str:
    import re

    tok = re.sub(r"[^A-Za-z0-9_-]", "_", stream)[:64]
    return tok or "stream"


def _remux(source: str, *, realtime: bool) -> FFmpegRemux:
    from scte35lab.live.ffmpeg import remux_argv

    r = FFmpegRemux(source)
    if realtime:
        argv = remux_argv(source)
        argv.insert(argv.index("-i"), "-re")
        r.argv = argv
    return r


def _as_list(x: Iterable[Any] | None) -> list[Any]:
    return [] if x is None else list(x)
