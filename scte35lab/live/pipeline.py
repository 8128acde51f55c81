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
TS) -> the recorder (optional) and the SRT sender. A supervisor thread, once a second, turns
the meter's and the sender's figures into one stats row (callbacks and stream_analytics),
confirms cues that went out on the wire (then logs them to scte35_logs, which marks their
ad_marker inserted), reports cues that fell due while the SRT peer was away as missed, and
restarts the sender with backoff when the peer is gone.
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

import numpy as np
import psutil

from scte35lab.cue import Cue
from scte35lab.errors import ComponentError, Scte35Error
from scte35lab.live.errors import SrtConnectionError
from scte35lab.live.fallback import RtmpFallback
from scte35lab.live.ffmpeg import FFmpegRemux, FFmpegSrtSender
from scte35lab.live.meter import StreamMeter
from scte35lab.live.rtmp import RtmpIngest, RtmpServer
from scte35lab.live.seam import SeamMarker
from scte35lab.live.srt import SrtEndpoint, SrtSender
from scte35lab.live.transcode import Transcoder, TranscodeSettings, settings_from
from scte35lab.schedule import EventIdAllocator, Schedule, Store, StreamClock
from scte35lab.schedule.store import ANALYTICS_COLUMNS
from scte35lab.ts.inject import Injector, Placement
from scte35lab.ts.pes import PTS_WRAP, pts_diff
from scte35lab.ts.sdt import ServiceNamer
from scte35lab.ts.sections import SectionAssembler

log = logging.getLogger(__name__)

SENDERS = {"srt-live-transmit": SrtSender, "ffmpeg": FFmpegSrtSender}
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


@dataclass
class CueRecord:
    """One cue on its way out: placed by the injector, seen in the output, then confirmed
    by the SRT sender (``sent``) or reported ``missed``."""

    placement: Placement
    cue_id: str | None
    role: str | None
    status: str = "pending"  # pending -> placed -> sent | late | missed
    copies: list[tuple[int, int | None]] = field(default_factory=list)  # (end offset, gen)
    section: bytes | None = None
    error: str | None = None
    due_at: float | None = None  # monotonic time the output passed its splice point

    @property
    def cue(self) -> Cue:
        return self.placement.cue or self.placement.request.cue

    @property
    def splice_pts(self) -> int | None:
        return self.placement.splice_pts


class _SenderSlot:
    """The current SRT sender, restarted with exponential backoff when its peer is gone."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.p = pipeline
        self.sender: SrtSender | FFmpegSrtSender | None = None
        self.base = 0  # global output offset at which the current sender started
        self.gen = 0  # which sender instance: copies handed to it are confirmed by it
        self.final: dict[int, int] = {}  # gen -> global offset its peer had when it stopped
        self.attempts = 0
        self.next_try = 0.0
        self.up = False
        self.lock = threading.Lock()
        self.fatal: ComponentError | None = None

    def _new(self) -> SrtSender | FFmpegSrtSender:
        cls = SENDERS[self.p.sender_kind]
        return cls(
            self.p.endpoint,
            name=f"srt-{self.p.stream}",
            on_state=lambda s: None,
        )

    def start(self) -> None:
        with self.lock:
            self.sender = self._new()
            self.base = self.p._out_bytes
            self.gen += 1
            self.attempts += 1
            self.sender.start()

    def write(self, data: bytes) -> int | None:
        """Hand ``data`` on; the sender generation that took it, ``None`` if dropped."""
        s = self.sender
        if s is None or not s.running:
            return None
        if s.stats_available and not s.connected.is_set():
            return None  # live: what the peer cannot take now is not queued for later
        s.write(data)
        return self.gen

    def confirmed(self, gen: int | None) -> int:
        """Global output offset up to which generation ``gen``'s peer has the bytes."""
        if gen is None:
            return -1
        if gen != self.gen:
            return self.final.get(gen, -1)
        s = self.sender
        if s is None or not s.connected.is_set():
            return self.final.get(gen, -1)
        return self.base + s.confirmed_bytes

    def _retire(self) -> None:
        s = self.sender
        if s is not None:
            self.final[self.gen] = self.base + s.confirmed_bytes if s.connected.is_set() else -1

    def check(self) -> None:
        """Notice a connect or a loss; restart a dead sender when its backoff is over."""
        s = self.sender
        now = time.monotonic()
        if s is not None and s.running:
            if s.connected.is_set() and not self.up:
                self.up = True
                self.attempts = 0
                self.p._event("srt_connected", f"SRT connected to {self.p.endpoint.display}")
            return
        if s is not None:  # it exited: the peer went away, refused, or rejected us
            err = s.failure()
            if self.up:
                self.p._event("srt_down", f"SRT peer gone: {err}")
            self.up = False
            s.stop(0.5)
            self._retire()
            self.sender = None
            if err is not None and not isinstance(err, SrtConnectionError):
                self.fatal = err  # wrong passphrase or URL: retrying will not help
                self.p._event("error", f"SRT sender cannot continue: {err}")
                return
            delay = min(self.p.backoff_max, 0.5 * 2 ** max(self.attempts - 1, 0))
            self.next_try = now + delay
            self.p._event(
                "srt_retry", f"SRT reconnect in {delay:.1f} s (attempt {self.attempts + 1})"
            )
            return
        if self.fatal is None and now >= self.next_try and not self.p._stopping.is_set():
            try:
                self.start()
            except ComponentError as exc:
                self.fatal = exc
                self.p._event("error", f"SRT sender cannot start: {exc}")

    def stop(self) -> None:
        with self.lock:
            s = self.sender
            if s is not None:
                s.stop()
                # an orderly stop closes its input and lets SRT deliver it: all handed is out
                self.final[self.gen] = self.p._out_bytes if s.connected.is_set() else -1
                self.sender = None
            self.up = False


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
        sender: str = "srt-live-transmit",
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
        self.cues: list[CueRecord] = []
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
        self._sections = SectionAssembler()
        self._event_ids: Any = None
        self._open_break: tuple[int, str] | None = None  # (splice_event_id, cue_id)
        self._ondemand = 0
        self._slot = _SenderSlot(self)
        self._out_bytes = 0
        self._dropped_while_down = 0
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._ingest: RtmpIngest | None = None
        self._remux: FFmpegRemux | None = None
        self._rec: IO[bytes] | None = None
        self._rec_in: IO[bytes] | None = None
        self._lock = threading.Lock()
        self._started = False
        self._proc = psutil.Process()
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
        secrets = self.endpoint.secrets + ([self._key] if self._key else [])
        for s in sorted(secrets, key=len, reverse=True):
            text = text.replace(s, "***")
        return text

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
            self._slot.start()
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
            self._rec = open(self.record_path, "wb")  # noqa: SIM115 - closed in stop()
        if self.record_input_path is not None:
            self._rec_in = open(self.record_input_path, "wb")  # noqa: SIM115
        if self.hls_preview_dir is not None:
            from scte35lab.manifest import HlsLive

            self._hls = HlsLive(self.hls_preview_dir)

    def _first_connect(self, timeout: float) -> None:
        sender = self._slot.sender
        assert sender is not None
        if isinstance(sender, FFmpegSrtSender):
            return  # FFmpeg connects only once input flows; failures show in check()
        try:
            sender.wait_connected(timeout)
            self._slot.check()
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
        self._slot.stop()
        if self._fallback is not None:
            self._fallback.stop()
        self._confirm_cues(final=True)
        if self._own_rtmp and self._rtmp is not None:
            self._rtmp.stop()
        for f in (self._rec, self._rec_in):
            if f is not None:
                with contextlib.suppress(OSError):
                    f.close()
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
            # the ingest ended: send what the injector holds, then wait for the next one
            self._flush_stage()
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
        self._sections = SectionAssembler()
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
                due = [r.splice_pts for r in self.cues if r.status in ("pending", "placed")]
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
        self._emit(self._stage_feed(data))
        # time spent on these bytes by our stages (meter, injector, hand-off): the latency
        # they add on top of the injector's deliberate look-ahead
        dt = time.perf_counter() - t0
        self.stage_times.append(dt)
        self.stage_cpu_times.append(time.thread_time() - c0)
        self._tick_times.append(dt)

    def _stage_feed(self, data: bytes) -> bytes:
        assert self._inj is not None
        with self._inj_lock:
            return self._inj.feed(data)

    def _flush_stage(self) -> None:
        if self._inj is None:
            return
        with self._inj_lock:
            tail = b"" if self._namer is None else self._namer.flush()
            out = (self._inj.feed(tail) if tail else b"") + self._inj.flush()
        self._emit(out)

    def _emit(self, out: bytes) -> None:
        if not out:
            return
        with self._lock:
            if self._rec is not None:
                self._rec.write(out)
            if self._hls is not None:
                self._preview(out)
            gen = self._slot.write(out)
            if gen is None:
                self._dropped_while_down += len(out)
            if self._fallback is not None:
                self._fallback.write(out)
            self._watch_cues(out, self._out_bytes, gen)
            self._out_bytes += len(out)
            self.out_meter.feed(out)

    def _preview(self, out: bytes) -> None:
        """Feed the HLS preview; a failure there stops the preview, never the push."""
        try:
            self._hls.write(out)
        except (OSError, Scte35Error) as exc:
            self._hls = None
            self._event("error", f"HLS preview stopped: {exc}")

    def _watch_cues(self, out: bytes, base: int, gen: int | None) -> None:
        """Find the SCTE-35 sections in ``out`` and note where each cue's copies went."""
        pid = None if self._inj is None else self._inj.pid
        if pid is None:
            return
        n = len(out) - len(out) % 188
        a = np.frombuffer(out, dtype=np.uint8, count=n).reshape(-1, 188)
        hits = np.flatnonzero((((a[:, 1].astype(np.uint16) & 0x1F) << 8) | a[:, 2]) == pid)
        for off in (hits * 188).tolist():
            b1 = out[off + 1]
            pkt = out[off : off + 188]
            afc = (pkt[3] >> 4) & 3
            if not afc & 1:
                continue
            start = 4 + (1 + pkt[4] if afc & 2 else 0)
            for section in self._sections.push(pkt[start:], bool(b1 & 0x40)):
                for rec in self.cues:
                    if rec.section is None and rec.placement.cue is not None:
                        rec.section = rec.placement.cue.encode()
                    if rec.section == section:
                        rec.copies.append((base + off + 188, gen))
                        if rec.status == "pending":
                            rec.status = "placed"
                        break

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
        with self._lock:
            unsent = [r for r in self.cues if r.status == "pending" and not r.copies]
            for r in unsent:
                self.cues.remove(r)
        if self.schedule is None:
            for r in unsent:
                self._settle_unsent(r)
            return
        planned = self._planned_on_clock()
        ahead = [pc for pc in planned if pc.splice_time >= now_s + self.preroll]
        keys = {(pc.cue_id, pc.role) for pc in ahead}
        for r in unsent:
            if (r.cue_id, r.role) not in keys:
                self._settle_unsent(r)
        done = {(r.cue_id, r.role) for r in self.cues}
        for pc in ahead:
            if (pc.cue_id, pc.role) not in done:
                self._add(pc.cue, pts=pc.splice_pts, cue_id=pc.cue_id, role=pc.role)
        self._event("schedule", f"{len(ahead)} scheduled cue(s) re-planned after the return")

    def _settle_unsent(self, rec: CueRecord) -> None:
        rec.status = "missed"
        rec.error = "not sent: the publisher left before the cue could go out"
        with self._lock:
            self.cues.append(rec)
        self._log_cue(rec, False)

    def _planned_on_clock(self) -> list[Any]:
        assert self.schedule is not None and self.clock is not None
        if self.store is not None:
            return self.store.plan(self.stream, self.schedule, clock=self.clock)
        return self.schedule.cues(allocator=self._event_ids, clock=self.clock)

    # -- supervision and stats -----------------------------------------------------------
    def _supervise(self) -> None:
        next_tick = time.monotonic() + 1.0
        while not self._stopping.wait(max(0.0, min(0.2, next_tick - time.monotonic()))):
            self._slot.check()
            if self._fallback is not None:
                self._fallback.check()
            self._confirm_cues()
            if time.monotonic() >= next_tick:
                next_tick += 1.0
                self._stats_tick()

    def _stats_tick(self) -> None:
        row: dict[str, Any] = {"ts": time.time(), "stream": self.stream}
        row.update(self.meter.second())
        sender = self._slot.sender
        srt = None
        if sender is not None and sender.stats_available:
            srt = sender.stats.last_second()
        row["srt_stats_available"] = SENDERS[self.sender_kind].stats_available
        row["srt_connected"] = self._slot.up
        row["mode"] = self.mode
        if self._fallback is not None:
            row.update(self._fallback.stats())
        tc = self._tc
        if tc is not None:
            row.update(tc.second())
        if srt:
            row.update(srt)
        try:
            with self._proc.oneshot():
                cpu = self._proc.cpu_percent()
                mem = self._proc.memory_info().rss
            for child in self._proc.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    cpu += child.cpu_percent()
                    mem += child.memory_info().rss
        except psutil.Error:
            cpu, mem = None, None
        row["cpu_percent"] = cpu
        row["memory_mb"] = None if mem is None else mem / 2**20
        if self.record_path is not None:
            with contextlib.suppress(OSError):
                row["record_mb"] = self.record_path.stat().st_size / 2**20
        times, self._tick_times = self._tick_times, []
        if times:
            times.sort()
            row["stage_ms_p50"] = 1000 * times[len(times) // 2]
            row["stage_ms_p99"] = 1000 * times[min(len(times) - 1, int(len(times) * 0.99))]
        row["bytes_out"] = self._out_bytes
        row["bytes_dropped_while_down"] = self._dropped_while_down
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

    # -- cues ----------------------------------------------------------------------------
    def _confirm_cues(self, *, final: bool = False) -> None:
        """Settle each cue: ``sent`` once its first copy (the one with the full pre-roll) is
        confirmed by the SRT sender; ``late`` when only a later copy got through (the peer
        was away when it was due); ``missed`` when none did."""
        out_pts = self.out_meter.last_video_pts
        now = time.monotonic()
        for rec in self.cues:
            if rec.status not in ("pending", "placed"):
                continue
            if rec.copies:
                off, gen = rec.copies[0]
                if gen is not None and off <= self._slot.confirmed(gen):
                    rec.status = "sent"
                    self._log_cue(rec, True)
                    continue
            due = (
                rec.splice_pts is not None
                and out_pts is not None
                and pts_diff(out_pts, rec.splice_pts) >= 0
            )
            if due and rec.due_at is None:
                rec.due_at = now
            if not final and (rec.due_at is None or now - rec.due_at < 1.5):
                continue  # give the confirmation of the last copies time to arrive
            later = any(g is not None and o <= self._slot.confirmed(g) for o, g in rec.copies)
            if later:
                rec.status = "late"
                rec.error = (
                    "SRT peer down when the cue was due: it reached the distributor only "
                    f"after its {self.preroll:g} s pre-roll"
                )
            elif rec.copies or due:
                rec.status = "missed"
                rec.error = "SRT peer down: the cue did not reach the distributor"
            else:
                rec.status = "missed"
                rec.error = (
                    f"not sent: the stream ended before it could go out ({rec.placement.status})"
                )
            self._log_cue(rec, False)

    def _log_cue(self, rec: CueRecord, ok: bool) -> None:
        kind = "cue_sent" if ok else "cue_missed"
        self._event(
            kind,
            f"cue {rec.cue_id or '-'} {rec.role or ''} splice PTS {rec.splice_pts}: "
            + ("went out" if ok else rec.error or "missed"),
            cue_id=rec.cue_id,
            role=rec.role,
            splice_pts=rec.splice_pts,
        )
        if self.store is None:
            return
        try:
            self.store.log_cue(
                self.stream,
                rec.cue,
                cue_id=rec.cue_id,
                role=rec.role,
                success=ok,
                error=None if ok else rec.error,
                splice_pts=rec.splice_pts,
            )
        except Exception:
            log.exception("pipeline %s: logging cue failed", self.stream)

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
        rec = CueRecord(placement, cue_id, role)
        with self._lock:
            self.cues.append(rec)
        tc = self._tc
        if tc is not None and pts is not None:
            tc.force_idr(pts)  # transcode: the splice point gets an IDR of its own
        return rec

    def _next_splice_pts(self) -> int:
        """The earliest splice point an on-demand cue can take: just after the newest frame
        the injector has seen (it holds the pre-roll, so the cue still arrives in time), or
        in transcode mode the newest the encoder has taken (the IDR is forced at the next);
        the injector moves the cue to the IDR at or after it."""
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

    def cue_frame(self) -> Any:
        """Every cue handled so far, one row each, as a DataFrame."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "cue_id": r.cue_id,
                    "role": r.role,
                    "splice_pts": r.splice_pts,
                    "status": r.status,
                    "placement": r.placement.status,
                    "copies": len(r.copies),
                    "error": r.error,
                    "hex": r.cue.to_hex(),
                }
                for r in self.cues
            ]
        )


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
