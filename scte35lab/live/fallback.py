"""An optional second destination: the same stream pushed over RTMP (FLV) by FFmpeg.

Some distributors also take RTMP, and a backup ingest is often RTMP. :class:`RtmpFallbackPush`
runs FFmpeg reading the output MPEG-TS from its stdin and publishing it, streams copied, as
FLV (``-map 0:v? -map 0:a? -c copy -f flv URL``).

FLV has no place for SCTE-35: the RTMP fallback carries audio and video only, and the cues
travel on the SRT push alone. (The SCTE-35 PID is left out by the stream map, so FFmpeg
neither fails on it nor sends it.)

Facts this relies on, measured with Debian's FFmpeg 5.1 and nginx-rtmp:

- FFmpeg prints ``Output #0, flv, to 'URL'`` only once the RTMP server accepted the publish
  (``connected``); a refused TCP connection shows as "Connection refused", a host that does
  not resolve as "Failed to resolve hostname", and a publish the server turned down (nginx
  ``on_publish`` answering 403) only as "Input/output error" before that line.
- FFmpeg names the URL, stream key included, in its messages: every line kept, the command
  line shown, and every error are redacted (the key, any user:password, any query value).

Writing never blocks the caller: TS goes through a bounded queue
(:class:`~scte35lab.live.tspipe.TsPipeWriter`) and what does not fit is dropped and counted.
An instance runs once; restarting (with backoff) is the pipeline's job, with a new instance.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from urllib.parse import parse_qsl, urlsplit

from scte35lab.errors import ComponentError
from scte35lab.live.ffmpeg import ffmpeg_argv
from scte35lab.live.procoutput import ProcessOutput
from scte35lab.redaction import REDACTED, redact

log = logging.getLogger(__name__)

SCHEMES = ("rtmp", "rtmps")


class RtmpFallbackError(ComponentError):
    """The RTMP fallback push failed: refused, bad URL, rejected by the server, or lost."""


def rtmp_secrets(url: str) -> list[str]:
    """What to hide of an RTMP URL: the stream key (last path part), user and password,
    and every query value."""
    parts = urlsplit(url)
    out = [parts.password or "", parts.username or ""]
    path = parts.path.strip("/")
    if path:
        out.append(path.rsplit("/", 1)[-1])
    out += [v for _, v in parse_qsl(parts.query, keep_blank_values=True)]
    return [s for s in out if s]


def _display(url: str) -> str:
    """``url`` with the stream key and any credentials replaced by ``***``."""
    parts = urlsplit(url)
    _, at, hostport = parts.netloc.rpartition("@")
    app, _, key = parts.path.strip("/").rpartition("/")
    shown = "/".join(x for x in (app, REDACTED if key else "") if x)
    creds = f"{REDACTED}@" if at else ""
    query = f"?{REDACTED}" if parts.query else ""
    return f"{parts.scheme}://{creds}{hostport}/{shown}{query}"


def check_rtmp_url(url: str) -> str:
    """``url`` when it can be published to: ``rtmp[s]://host[:port]/app/stream_key``."""
    if not isinstance(url, str):
        raise RtmpFallbackError(f"an RTMP URL is a string like rtmp://host/app/key, not {url!r}")
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise RtmpFallbackError(
            f"RTMP fallback URL must start rtmp:// or rtmps:// (want rtmp://host/app/key), "
            f"not {parts.scheme or 'no scheme'}://"
        )
    try:
        port = parts.port
    except ValueError as exc:
        raise RtmpFallbackError(f"bad port in RTMP fallback URL {_display(url)}") from exc
    if not parts.hostname:
        raise RtmpFallbackError(f"RTMP fallback URL has no host: {_display(url)}")
    if port == 0:
        raise RtmpFallbackError(f"bad port in RTMP fallback URL {_display(url)}")
    path = parts.path.strip("/")
    if "/" not in path or not path.rsplit("/", 1)[1]:
        raise RtmpFallbackError(
            f"RTMP fallback URL {_display(url)} needs an app and a stream key: "
            "rtmp://host[:port]/app/stream_key"
        )
    return url


class RtmpFallbackPush(ProcessOutput):
    """FFmpeg publishing the TS written to it over RTMP as FLV, audio and video only.

    ``start()`` launches FFmpeg; ``write(ts)`` queues TS bytes from any thread and never
    blocks; ``connected`` is set once the server accepted the publish; ``failure()`` says why
    it stopped (connection refused, bad URL, rejected by the server, connection lost), with
    the stream key redacted. ``secrets`` adds strings to hide beyond those in the URL. The
    life cycle and byte accounting are :class:`~scte35lab.live.procoutput.ProcessOutput`'s.
    """

    tool = "ffmpeg"
    error = RtmpFallbackError

    def __init__(
        self,
        url: str,
        *,
        name: str = "rtmp-fallback",
        secrets: list[str] | None = None,
        max_queue_bytes: int = 2 << 20,
        rw_timeout_s: float = 10.0,
    ) -> None:
        hidden = [*rtmp_secrets(str(url)), *(secrets or [])]
        try:
            checked = check_rtmp_url(url)
        except RtmpFallbackError as exc:
            raise RtmpFallbackError(redact(str(exc), hidden)) from None
        super().__init__(name, _display(checked), secrets=hidden, max_queue_bytes=max_queue_bytes)
        self._url = checked
        self.max_queue_bytes = max_queue_bytes
        self.rw_timeout_s = rw_timeout_s

    def argv(self) -> list[str]:
        """The command line (holds the stream key: show ``process.display_argv`` instead)."""
        return [
            *ffmpeg_argv("info"),
            "-f",
            "mpegts",
            # a short probe: output opens (and the publish starts) ~2 s after input does
            "-analyzeduration",
            "2000000",
            "-i",
            "pipe:0",
            # FLV carries no SCTE-35 (nor any data stream): audio and video only
            "-map",
            "0:v?",
            "-map",
            "0:a?",
            "-c",
            "copy",
            "-rw_timeout",
            str(round(self.rw_timeout_s * 1e6)),
            "-flvflags",
            "no_duration_filesize",
            "-f",
            "flv",
            self._url,
        ]

    def state_of(self, line: str) -> str | None:
        return "connected" if line.startswith("Output #0") else None

    @property
    def bytes_out(self) -> int:
        """Bytes FFmpeg's input pipe took (what was not dropped, once written)."""
        return self.written_bytes

    def failure_of(self, lines: list[str], detail: str) -> ComponentError:
        """Refused, unresolvable or bad URL, timed out, rejected by the server, or lost."""
        text = "\n".join(lines).lower()
        where = self.display
        if "connection refused" in text:
            msg = f"RTMP fallback: connection refused by {where} (nothing listens there)"
        elif "failed to resolve" in text:
            msg = f"RTMP fallback: bad URL {where}: the host cannot be resolved"
        elif any(m in text for m in ("protocol not found", "invalid argument", "no such file")):
            msg = f"RTMP fallback: bad URL {where}"
        elif "timed out" in text or "connection timeout" in text:
            msg = f"RTMP fallback: {where} did not answer in time (connection timed out)"
        elif not self.connected.is_set() and any(
            m in text for m in ("input/output error", "server error", "netstream")
        ):
            msg = (
                f"RTMP fallback: publish rejected by the server at {where} "
                "(wrong stream key or app?)"
            )
        elif self.connected.is_set():
            msg = f"RTMP fallback: connection to {where} lost"
        elif "invalid data found" in text or "could not find codec" in text:
            msg = f"RTMP fallback: FFmpeg could not read the TS it was given for {where}"
        else:
            msg = f"RTMP fallback to {where}: FFmpeg exited"
        return RtmpFallbackError(self.redact(f"{msg} ({detail})"))

    def not_connected(self, timeout: float) -> ComponentError:
        return RtmpFallbackError(
            f"RTMP fallback: not publishing to {self.display} after {timeout:g} s"
        )


class RtmpFallback:
    """The pipeline's RTMP fallback: one :class:`RtmpFallbackPush` at a time, replaced with
    exponential backoff (capped at ``backoff_max`` s) when it stops. ``on_event(kind,
    message)`` hears ``rtmp_fallback_connected`` and ``rtmp_fallback_down`` (redacted)."""

    def __init__(
        self,
        url: str,
        *,
        name: str = "rtmp-fallback",
        on_event: Callable[[str, str], None] | None = None,
        backoff_max: float = 8.0,
    ) -> None:
        self.url = url
        self.name = name
        self.display = RtmpFallbackPush(url, name=name).display  # checks the URL, redacted
        self.on_event = on_event or (lambda kind, message: None)
        self.backoff_max = backoff_max
        self.push: RtmpFallbackPush | None = None
        self.restarts = 0
        self._attempts = 0
        self._next_try = 0.0
        self._up = False
        self._closed = False
        self._bytes_before = 0  # bytes taken and dropped by pushes already replaced
        self._dropped_before = 0
        self._lock = threading.Lock()  # check() (supervisor) against stop()

    def __repr__(self) -> str:
        return f"<RtmpFallback -> {self.display} {'up' if self._up else 'down'}>"

    def start(self) -> RtmpFallback:
        self.push = RtmpFallbackPush(self.url, name=self.name).start()
        self._attempts += 1
        return self

    def write(self, data: bytes) -> None:
        """Hand TS on (never blocks; dropped and counted while no push runs)."""
        push = self.push
        if push is not None:
            push.write(data)
        else:
            self._dropped_before += len(data)

    def check(self) -> None:
        """Notice a connect or a stop; start a new push when the backoff is over."""
        with self._lock:
            if not self._closed:
                self._check()

    def _check(self) -> None:
        push, now = self.push, time.monotonic()
        if push is not None and push.running:
            if push.connected.is_set() and not self._up:
                self._up, self._attempts = True, 0
                self.on_event("rtmp_fallback_connected", f"RTMP fallback to {self.display} up")
            return
        if push is not None:
            err = push.failure()
            push.stop(0.5)
            self._bytes_before += push.bytes_in
            self._dropped_before += push.dropped_bytes
            self.push, self._up = None, False
            delay = min(self.backoff_max, 0.5 * 2 ** max(self._attempts - 1, 0))
            self._next_try = now + delay
            self.on_event(
                "rtmp_fallback_down",
                f"RTMP fallback to {self.display} stopped ({err or 'exited'}); "
                f"retry in {delay:.1f} s",
            )
            return
        if now >= self._next_try:
            try:
                self.start()
                self.restarts += 1
            except ComponentError as exc:  # an unusable URL: retrying will not help
                self._closed = True
                self.on_event("error", f"RTMP fallback cannot start: {exc}")

    def stats(self) -> dict[str, object]:
        push = self.push
        return {
            "rtmp_fallback_connected": self._up,
            "rtmp_fallback_bytes_in": self._bytes_before + (push.bytes_in if push else 0),
            "rtmp_fallback_dropped_bytes": self._dropped_before
            + (push.dropped_bytes if push else 0),
            "rtmp_fallback_restarts": self.restarts,
        }

    def stop(self) -> None:
        with self._lock:
            self._closed = True
            if self.push is not None:
                self.push.stop()
