"""SRT with Haivision's ``srt-live-transmit``: endpoints, the sender with JSON stats, a listener.

``srt-live-transmit`` is the default SRT sender because it is the one that reports what the
link does (RTT, loss, retransmits, rates) as JSON: ``-statspf:json -statsout:FILE -s:N``
writes one object every N packets, each holding counters for that interval only and a
``time`` in milliseconds, so :class:`SrtStats` turns them into per-second rates and running
totals. ``-chunk:1316`` makes each SRT packet carry exactly seven TS packets (measured: it
reads whole chunks from stdin). It ignores end of input and retries by itself unless told
``-a:no``; scte35lab runs it with ``-a:no`` and reconnects itself, so it knows when the peer
is gone and can report the cues that fall due meanwhile.

Both tools print the URL, passphrase included, in some messages: every line kept here is
redacted, and ``SrtEndpoint`` never shows its passphrase.

Forward error correction is libsrt's packet filter (``packet_filter="fec,cols:10,rows:5"``,
URL option ``packetfilter``), checked here before any tool starts (see
:func:`check_packet_filter`). Measured with libsrt 1.5.1: either side may set it and the
other adopts it, so a listener without one accepts a caller's FEC; two different settings
make the listener reject the caller ("Packet Filter settings error"). With a filter the JSON
reports count the FEC packets (``packetsFilterExtra``) and, on the receiving side, the
packets FEC rebuilt (``packetsFilterSupply``) and could not (``packetsFilterLoss``).
FFmpeg 5.1's ``srt://`` has no such option and silently ignores it in the URL.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import logging
import os
import queue
import re
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from scte35lab.errors import ComponentError
from scte35lab.live.errors import (
    SrtConnectionError,
    SrtPassphraseError,
    SrtUrlError,
)
from scte35lab.live.process import ManagedProcess, find_tool
from scte35lab.redaction import redact

log = logging.getLogger(__name__)

TS_PACKET = 188
SRT_CHUNK = 7 * TS_PACKET  # 1316: seven TS packets per SRT packet, the live-mode norm
_MAX_ATOMIC_WRITE = 3 * SRT_CHUNK  # <= PIPE_BUF (4096): each write lands in the pipe whole
_PASSPHRASE_MESSAGES = (
    "incorrect passphrase",
    "password required or unexpected",
    "badsecret",
    "error:unsecure",
)
_URL_MESSAGES = ("failed to resolve", "bad parameters", "invalid argument")
_FILTER_MESSAGES = ("packet filter settings error", "error:filter", "srto_packetfilter")
MODES = ("caller", "listener")

# libsrt 1.5's only built-in packet filter and what its "fec" accepts (fec.cpp verifyConfig)
FEC_KEYS = ("cols", "rows", "layout", "arq")
FEC_LAYOUTS = ("even", "staircase")
FEC_ARQ = ("always", "onreq", "never")
_FILTER_FORBIDDEN = set(" \t\r\n&?#=/;\"'")
_WHOLE = re.compile(r"^[+-]?[0-9]{1,6}$")


def check_packet_filter(text: str) -> dict[str, str]:
    """The parameters of libsrt packet filter ``text``; ``SrtUrlError`` naming what is wrong.

    The syntax is libsrt's: ``fec[,KEY:VALUE...]`` with ``cols`` (>= 2: one FEC packet per
    row of that many packets), ``rows`` (1: row FEC only; N >= 2: also one per column of N;
    -N <= -2: column FEC only), ``layout`` (``even`` or ``staircase``) and ``arq``
    (``always``, ``onreq``, ``never``: whether retransmission still runs beside FEC).
    Measured: ``fec,cols:10,rows:5`` adds 0.3 FEC packets per media packet, ``rows:1`` 0.1,
    ``rows:-5`` 0.2. A bare ``fec`` takes the peer's settings; with any
    parameter, ``cols`` is required. libsrt itself lets through a repeated key (the last one
    wins) and a missing ``cols``; both are refused here as they are mistakes.
    """
    if not isinstance(text, str) or not text:
        raise SrtUrlError(f"SRT packet filter {text!r} is empty: want e.g. fec,cols:10,rows:5")
    shown = text if len(text) <= 80 else text[:77] + "..."
    bad = sorted(_FILTER_FORBIDDEN & set(text))
    if bad:
        raise SrtUrlError(
            f"SRT packet filter {shown!r} holds {''.join(bad)!r}: the syntax is "
            "fec,KEY:VALUE,... (e.g. fec,cols:10,rows:5)"
        )
    kind, *items = text.split(",")
    if kind != "fec":
        raise SrtUrlError(
            f"SRT packet filter {shown!r}: unknown filter type {kind!r} "
            "(libsrt has one built in: fec, as in fec,cols:10,rows:5)"
        )
    params: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition(":")
        if not sep or not key or not value:
            raise SrtUrlError(
                f"SRT packet filter {shown!r}: {item!r} is not KEY:VALUE "
                f"(keys: {', '.join(FEC_KEYS)})"
            )
        if key not in FEC_KEYS:
            raise SrtUrlError(
                f"SRT packet filter {shown!r}: unknown FEC parameter {key!r} "
                f"(known: {', '.join(FEC_KEYS)})"
            )
        if key in params:
            raise SrtUrlError(f"SRT packet filter {shown!r}: {key!r} is given twice")
        params[key] = value
    if params and "cols" not in params:
        raise SrtUrlError(
            f"SRT packet filter {shown!r}: 'cols' is required (e.g. fec,cols:10,rows:5); "
            "a bare 'fec' takes the peer's settings"
        )
    for key in ("cols", "rows"):
        if key in params:
            if not _WHOLE.match(params[key]):
                raise SrtUrlError(
                    f"SRT packet filter {shown!r}: {key} {params[key]!r} is not a whole number"
                )
            n = int(params[key])
            if key == "cols" and n < 2:
                raise SrtUrlError(f"SRT packet filter {shown!r}: cols must be 2 or more")
            if key == "rows" and -2 < n < 1:
                raise SrtUrlError(
                    f"SRT packet filter {shown!r}: rows must be 1 or more, or -2 or less "
                    "(column FEC only)"
                )
    if params.get("layout", "even") not in FEC_LAYOUTS:
        raise SrtUrlError(
            f"SRT packet filter {shown!r}: layout {params['layout']!r} is not "
            f"{' or '.join(FEC_LAYOUTS)}"
        )
    if params.get("arq", "onreq") not in FEC_ARQ:
        raise SrtUrlError(
            f"SRT packet filter {shown!r}: arq {params['arq']!r} is not one of {', '.join(FEC_ARQ)}"
        )
    return params


@dataclass(frozen=True)
class SrtEndpoint:
    """Where SRT goes and how: ``srt://host:port`` plus the socket options scte35lab sets.

    ``latency_ms`` is the SRT latency in milliseconds (FFmpeg wants microseconds:
    :meth:`ffmpeg_url` converts). ``maxbw`` is bytes per second. ``passphrase`` is never
    shown (``repr``, ``str`` and :attr:`display` leave it out).
    """

    host: str
    port: int
    mode: str = "caller"
    passphrase: str | None = field(default=None, repr=False)
    pbkeylen: int | None = None
    latency_ms: int | None = None
    streamid: str | None = None
    maxbw: int | None = None
    peer_idle_timeout_ms: int | None = None
    connect_timeout_ms: int | None = None
    packet_filter: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise SrtUrlError(f"SRT mode {self.mode!r} is not one of {', '.join(MODES)}")
        if not isinstance(self.port, int) or not 0 < self.port < 65536:
            raise SrtUrlError(f"SRT port {self.port!r} is not in 1..65535")
        if self.mode == "caller" and not self.host:
            raise SrtUrlError("an SRT caller needs a host: srt://host:port")
        if self.passphrase is not None and not 10 <= len(self.passphrase) <= 79:
            raise SrtPassphraseError("an SRT passphrase must be 10 to 79 characters long")
        if self.pbkeylen not in (None, 16, 24, 32):
            raise SrtUrlError(f"pbkeylen must be 16, 24 or 32 (bytes), not {self.pbkeylen}")
        if self.packet_filter is not None:
            check_packet_filter(self.packet_filter)

    @classmethod
    def parse(cls, url: str, *, passphrase: str | None = None, **options: Any) -> SrtEndpoint:
        """An endpoint from ``srt://host:port[?latency=ms&streamid=..&mode=..&maxbw=..]``.

        The passphrase is not accepted in the URL (it would end up in logs and shell
        history): pass it as ``passphrase=`` (read it from an environment variable).
        """
        if not isinstance(url, str):
            raise SrtUrlError(f"an SRT URL is a string like srt://host:port, not {url!r}")
        parts = urlsplit(url.strip())
        if parts.scheme != "srt":
            raise SrtUrlError(f"not an SRT URL (want srt://host:port): {_scrub(url)}")
        try:
            port = parts.port
        except ValueError as exc:
            raise SrtUrlError(f"bad port in SRT URL {_scrub(url)}") from exc
        if port is None:
            raise SrtUrlError(f"SRT URL has no port (want srt://host:port): {_scrub(url)}")
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if "passphrase" in query or parts.password:
            raise SrtUrlError(
                "do not put the SRT passphrase in the URL: pass it separately "
                "(scte35lab push --passphrase-env VAR)"
            )
        kw: dict[str, Any] = {}
        names = {
            "latency": ("latency_ms", int),
            "streamid": ("streamid", str),
            "mode": ("mode", str),
            "pbkeylen": ("pbkeylen", int),
            "maxbw": ("maxbw", int),
            "peeridletimeo": ("peer_idle_timeout_ms", int),
            "conntimeo": ("connect_timeout_ms", int),
            "packetfilter": ("packet_filter", str),
        }
        for key, value in query.items():
            if key not in names:
                raise SrtUrlError(
                    f"unknown SRT URL option {key!r}; known: {', '.join(sorted(names))}"
                )
            attr, conv = names[key]
            try:
                kw[attr] = conv(value)
            except ValueError as exc:
                raise SrtUrlError(f"SRT URL option {key}={value!r} is not valid") from exc
        kw.update(options)
        return cls(parts.hostname or "", port, passphrase=passphrase, **kw)

    @property
    def display(self) -> str:
        """The URL without the passphrase (``passphrase=***`` when one is set)."""
        return self._url(self.latency_ms, hide=True, mode_always=False)

    def __str__(self) -> str:
        return self.display

    def with_(self, **changes: Any) -> SrtEndpoint:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def resolve(self) -> str:
        """The host's IPv4/IPv6 address; ``SrtUrlError`` naming the host if it has none."""
        if not self.host:
            return ""
        try:
            infos = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_DGRAM)
        except socket.gaierror as exc:
            raise SrtUrlError(
                f"SRT host {self.host!r} cannot be resolved ({exc.strerror}): check the URL"
            ) from exc
        return str(infos[0][4][0])

    def _url(
        self, latency: int | None, *, hide: bool, mode_always: bool, streamid: bool = True
    ) -> str:
        params: list[tuple[str, str]] = []
        if mode_always or self.mode != "caller":
            params.append(("mode", self.mode))
        if latency is not None:
            params.append(("latency", str(latency)))
        if self.passphrase:
            params.append(("passphrase", "***" if hide else self.passphrase))
        if self.pbkeylen:
            params.append(("pbkeylen", str(self.pbkeylen)))
        if self.streamid and streamid:
            params.append(("streamid", quote(self.streamid, safe="")))
        if self.maxbw is not None:
            params.append(("maxbw", str(self.maxbw)))
        if self.peer_idle_timeout_ms is not None:
            params.append(("peeridletimeo", str(self.peer_idle_timeout_ms)))
        if self.connect_timeout_ms is not None:
            params.append(("conntimeo", str(self.connect_timeout_ms)))
        if self.packet_filter:
            params.append(("packetfilter", self.packet_filter))
        host = f"[{self.host}]" if ":" in self.host else self.host
        query = "&".join(f"{k}={v}" for k, v in params)
        return f"srt://{host}:{self.port}" + (f"?{query}" if query else "")

    def slt_uri(self) -> str:
        """The URI for ``srt-live-transmit`` (latency in ms). Holds the passphrase: never log."""
        return self._url(self.latency_ms, hide=False, mode_always=True)

    def ffmpeg_url(self, *, linger_s: int = 2) -> str:
        """The URL for FFmpeg's ``srt://`` protocol: latency in µs, ``linger`` so the last
        second is not lost at close. The stream id goes in ``-srt_streamid`` instead (see
        :meth:`ffmpeg_options`). Holds the passphrase: never log it."""
        latency = None if self.latency_ms is None else self.latency_ms * 1000
        url = self._url(latency, hide=False, mode_always=True, streamid=False)
        return url + ("&" if "?" in url else "?") + f"linger={linger_s}"

    def ffmpeg_options(self) -> list[str]:
        """Output options FFmpeg takes outside the URL (the stream id)."""
        return ["-srt_streamid", self.streamid] if self.streamid else []

    @property
    def secrets(self) -> list[str]:
        """What to redact from anything a tool prints about this endpoint."""
        return [self.passphrase] if self.passphrase else []


def _scrub(url: str) -> str:
    return redact(url)


def classify_srt_failure(lines: list[str], endpoint: SrtEndpoint, *, connected: bool) -> str:
    """Which way an SRT connection failed, from the tool's (redacted) messages."""
    text = "\n".join(lines).lower()
    if any(m in text for m in _PASSPHRASE_MESSAGES):
        return "passphrase"
    if any(m in text for m in _FILTER_MESSAGES):
        return "filter"
    if any(m in text for m in _URL_MESSAGES):
        return "url"
    return "gone" if connected else "refused"


def srt_error(kind: str, endpoint: SrtEndpoint, detail: str = "") -> ComponentError:
    """The error for a failure ``kind`` (see :func:`classify_srt_failure`) at ``endpoint``."""
    where = f"{endpoint.host or '*'}:{endpoint.port}"
    tail = f" ({detail})" if detail else ""
    if kind == "passphrase":
        return SrtPassphraseError(
            f"SRT peer at {where} rejected the passphrase: wrong, missing, or set on one "
            f"side only{tail}"
        )
    if kind == "url":
        return SrtUrlError(f"SRT URL {endpoint.display} is not usable{tail}")
    if kind == "filter":
        mine = endpoint.packet_filter or "none"
        return SrtUrlError(
            f"SRT peer at {where} rejected the packet filter (FEC) settings: ours are "
            f"{mine!r}, the peer's differ; set the same on both sides or on one only{tail}"
        )
    if kind == "gone":
        return SrtConnectionError(f"SRT peer at {where} went away{tail}")
    return SrtConnectionError(
        f"no SRT listener answered at {where} (connection refused or timed out){tail}"
    )


# --------------------------------------------------------------------------- stats


@dataclass(frozen=True)
class SrtSample:
    """One time-normalised SRT statistics sample (rates per second, totals since start)."""

    t: float  # monotonic seconds when read
    elapsed_s: float  # seconds since the SRT socket started (the tool's own clock)
    interval_s: float  # seconds the underlying report covered
    rtt_ms: float
    bandwidth_mbps: float  # estimated link bandwidth
    send_rate_mbps: float
    packets_per_s: float
    packets_sent: int  # totals since the sender started
    packets_lost: int
    packets_retransmitted: int
    packets_dropped: int
    bytes_sent: int
    payload_bytes_sent: int  # (unique packets - in flight) x 1316: TS bytes acknowledged
    buffer_ms: float  # send buffer
    flight: int
    # receiving side (a listener's reports) and packet filter (FEC) counters, totals
    packets_received: int = 0
    packets_received_lost: int = 0  # gaps seen, before retransmission or FEC filled them
    fec_sent: int = 0  # FEC packets sent (send.packetsFilterExtra; packets_sent has them)
    fec_received: int = 0  # FEC packets this side received (recv.packetsFilterExtra)
    fec_rebuilt: int = 0  # lost packets FEC rebuilt here (recv.packetsFilterSupply)
    fec_unrecovered: int = 0  # lost packets FEC could not rebuild (recv.packetsFilterLoss)
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


class SrtStats:
    """Running totals and per-second rates from ``srt-live-transmit``'s JSON reports."""

    def __init__(self, *, chunk: int = SRT_CHUNK) -> None:
        self.chunk = chunk
        self.samples: list[SrtSample] = []
        self._last_time_ms: float | None = None
        self._totals = dict.fromkeys(
            (
                "sent",
                "unique",
                "lost",
                "retrans",
                "dropped",
                "bytes",
                "recv",
                "recv_lost",
                "fec_sent",
                "fec_recv",
                "fec_rebuilt",
                "fec_unrecovered",
            ),
            0,
        )
        self._lock = threading.Lock()

    def feed_line(self, line: str) -> SrtSample | None:
        """Take one JSON report line; returns the sample it makes, or ``None`` if not one."""
        line = line.strip().rstrip(",")
        if not line.startswith("{"):
            return None
        try:
            d = json.loads(line)
            send, link = d["send"], d["link"]
            recv = d.get("recv") or {}
            time_ms = float(d["time"])
        except (ValueError, KeyError, TypeError):
            log.debug("srt stats: not a report: %.80s", line)
            return None
        with self._lock:
            prev = self._last_time_ms
            self._last_time_ms = time_ms
            interval = (time_ms - prev) / 1000 if prev is not None and time_ms > prev else None
            if interval is None:
                interval = time_ms / 1000 if time_ms > 0 else 1.0
            tot = self._totals
            tot["sent"] += int(send.get("packets", 0))
            tot["unique"] += int(send.get("packetsUnique", send.get("packets", 0)))
            tot["lost"] += int(send.get("packetsLost", 0))
            tot["retrans"] += int(send.get("packetsRetransmitted", 0))
            tot["dropped"] += int(send.get("packetsDropped", 0))
            tot["bytes"] += int(send.get("bytes", 0))
            tot["recv"] += int(recv.get("packets", 0))
            tot["recv_lost"] += int(recv.get("packetsLost", 0))
            tot["fec_sent"] += int(send.get("packetsFilterExtra", 0))
            tot["fec_recv"] += int(recv.get("packetsFilterExtra", 0))
            tot["fec_rebuilt"] += int(recv.get("packetsFilterSupply", 0))
            tot["fec_unrecovered"] += int(recv.get("packetsFilterLoss", 0))
            flight = int(d.get("window", {}).get("flight", 0))
            sample = SrtSample(
                t=time.monotonic(),
                elapsed_s=time_ms / 1000,
                interval_s=interval,
                rtt_ms=float(link.get("rtt", 0.0)),
                bandwidth_mbps=float(link.get("bandwidth", 0.0)),
                send_rate_mbps=float(send.get("mbitRate", 0.0)),
                packets_per_s=int(send.get("packets", 0)) / interval if interval else 0.0,
                packets_sent=tot["sent"],
                packets_lost=tot["lost"],
                packets_retransmitted=tot["retrans"],
                packets_dropped=tot["dropped"],
                bytes_sent=tot["bytes"],
                payload_bytes_sent=max(tot["unique"] - flight, 0) * self.chunk,
                buffer_ms=float(send.get("msBuf", 0.0)),
                flight=flight,
                packets_received=tot["recv"],
                packets_received_lost=tot["recv_lost"],
                fec_sent=tot["fec_sent"],
                fec_received=tot["fec_recv"],
                fec_rebuilt=tot["fec_rebuilt"],
                fec_unrecovered=tot["fec_unrecovered"],
                raw=d,
            )
            self.samples.append(sample)
            if len(self.samples) > 4096:
                del self.samples[:1024]
        return sample

    @property
    def latest(self) -> SrtSample | None:
        """The newest sample, or ``None`` before the first report."""
        with self._lock:
            return self.samples[-1] if self.samples else None

    def last_second(self, now: float | None = None) -> dict[str, float] | None:
        """Rates over the reports of the last second (or the newest one if none is that new)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if not self.samples:
                return None
            recent = [s for s in self.samples if now - s.t <= 1.0] or [self.samples[-1]]
        span = sum(s.interval_s for s in recent) or 1.0
        newest = recent[-1]
        return {
            "srt_rtt_ms": newest.rtt_ms,
            "srt_bandwidth_mbps": newest.bandwidth_mbps,
            "srt_send_rate_mbps": sum(s.send_rate_mbps * s.interval_s for s in recent) / span,
            "srt_packets_per_s": sum(s.packets_per_s * s.interval_s for s in recent) / span,
            "srt_pkt_loss": newest.packets_lost,
            "srt_pkt_retrans": newest.packets_retransmitted,
            "srt_pkt_dropped": newest.packets_dropped,
            "srt_buffer_ms": newest.buffer_ms,
            "srt_fec_sent": newest.fec_sent,
        }

    def frame(self) -> Any:
        """Every sample as a DataFrame, one row per report."""
        import pandas as pd

        with self._lock:
            rows = [{k: v for k, v in s.__dict__.items() if k != "raw"} for s in self.samples]
        return pd.DataFrame(rows)


class _StatsTail(threading.Thread):
    """Follows a stats file as the tool appends to it and feeds each line to ``SrtStats``."""

    def __init__(self, path: Path, stats: SrtStats, on_sample: Callable[[SrtSample], None]):
        super().__init__(name="srt-stats", daemon=True)
        self.path = path
        self.stats = stats
        self.on_sample = on_sample
        self._stop_event = threading.Event()

    def run(self) -> None:
        pos = 0
        partial = ""
        while not self._stop_event.is_set():
            self._stop_event.wait(0.1)
            try:
                with open(self.path, encoding="utf-8", errors="replace") as f:
                    f.seek(pos)
                    data = f.read()
                    pos = f.tell()
            except FileNotFoundError:
                continue
            if not data:
                continue
            *lines, partial = (partial + data).split("\n")
            for line in lines:
                sample = self.stats.feed_line(line)
                if sample is not None:
                    self.on_sample(sample)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(2)


# --------------------------------------------------------------------------- sender


def start_fed(
    name: str,
    argv: list[str],
    *,
    secrets: list[str],
    on_line: Callable[[str], None],
    stop_timeout: float,
    max_queue_bytes: int = 4 << 20,
) -> tuple[ManagedProcess, TsPipeWriter]:
    """Start a child that reads TS on its stdin, and the writer thread that feeds it."""
    process = ManagedProcess(
        name, argv, secrets=secrets, stdin=True, on_line=on_line, stop_timeout=stop_timeout
    ).start()
    writer = TsPipeWriter(name, max_queue_bytes=max_queue_bytes)
    writer.attach(process.stdin)
    writer.start()
    return process, writer


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
                self.bytes_dropped += len(block)
                with self._lock:
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
                self.bytes_dropped += len(block)
                with self._lock:
                    self._dropped(start, end)


_NULL_PACKET = bytes([0x47, 0x1F, 0xFF, 0x10]) + b"\xff" * 184


def pipe_delivery(writer: TsPipeWriter | None, end: int) -> tuple[str, float | None]:
    """``delivery()`` of a sender feeding a child through ``writer``."""
    if writer is None or not 0 < end <= writer.bytes_accepted:
        raise ValueError(f"offset {end} is outside the stream written")
    return writer.fate(end), None


class SrtSender:
    """``srt-live-transmit`` sending the TS written to it to an SRT peer, reporting stats.

    ``start()`` launches it; ``wait_connected()`` returns once the peer accepted, or raises
    the error that names what went wrong (passphrase, refused, URL). ``write()`` takes TS
    bytes from any thread. ``stats`` holds the time-normalised statistics. It cannot see
    what the receiver acknowledged (``acks = False``): :meth:`delivery` says ``written``
    at most.
    """

    stats_available = True
    acks = False
    tool = "srt-live-transmit"

    def __init__(
        self,
        endpoint: SrtEndpoint,
        *,
        stats_every: int = 50,
        workdir: str | os.PathLike[str] | None = None,
        name: str = "srt-sender",
        on_sample: Callable[[SrtSample], None] | None = None,
        on_state: Callable[[str], None] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.name = name
        self.stats_every = stats_every
        self._workdir = workdir
        self._own_dir: tempfile.TemporaryDirectory[str] | None = None
        self.stats = SrtStats()
        self._on_sample = on_sample
        self._on_state = on_state
        self.connected = threading.Event()
        self.disconnected = threading.Event()
        self.process: ManagedProcess | None = None
        self.writer: TsPipeWriter | None = None
        self._tail: _StatsTail | None = None
        self.stats_path: Path | None = None

    def __repr__(self) -> str:
        state = "connected" if self.connected.is_set() else "not connected"
        return f"<{type(self).__name__} {self.tool} -> {self.endpoint.display} {state}>"

    def argv(self) -> list[str]:
        """The command line (holds the passphrase: show ``process.display_argv`` instead)."""
        assert self.stats_path is not None
        dest = self.endpoint.slt_uri()
        return [
            find_tool("srt-live-transmit"),
            "-a:no",
            f"-chunk:{SRT_CHUNK}",
            "-statspf:json",
            f"-statsout:{self.stats_path}",
            f"-s:{self.stats_every}",
            "-loglevel:warn",
            "file://con",
            dest,
        ]

    def _dir(self) -> Path:
        if self._workdir is not None:
            return Path(self._workdir)
        if self._own_dir is None:
            self._own_dir = tempfile.TemporaryDirectory(prefix="scte35lab-srt-")
        return Path(self._own_dir.name)

    def _line(self, line: str) -> None:
        low = line.lower()
        if "target connected" in low or "accepted srt target connection" in low:
            self.connected.set()
            self._state("connected")
        elif "target disconnected" in low:
            self.disconnected.set()
            self._state("disconnected")

    def _state(self, state: str) -> None:
        log.info("%s: %s %s", self.name, state, self.endpoint.display)
        if self._on_state is not None:
            self._on_state(state)

    def _sample(self, sample: SrtSample) -> None:
        if self._on_sample is not None:
            self._on_sample(sample)

    def start(self) -> SrtSender:
        """Launch the sender (checks the URL resolves first); returns ``self``."""
        self.endpoint.resolve()
        self.stats_path = self._dir() / f"{self.name}-{os.getpid()}-{id(self)}.json"
        self.stats_path.unlink(missing_ok=True)
        self.process, self.writer = start_fed(
            self.name,
            self.argv(),
            secrets=self.endpoint.secrets,
            on_line=self._line,
            stop_timeout=2.0,
        )
        self._tail = _StatsTail(self.stats_path, self.stats, self._sample)
        self._tail.start()
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.running

    def failure(self) -> ComponentError | None:
        """Why the sender is not (or no longer) sending, once it has stopped; else ``None``."""
        if self.process is None or self.process.running:
            return None
        kind = classify_srt_failure(
            self.process.lines(), self.endpoint, connected=self.connected.is_set()
        )
        return srt_error(kind, self.endpoint, self.process.tail(2))

    def wait_connected(self, timeout: float = 10.0) -> None:
        """Block until the peer accepted; raise the named error if it will not."""
        deadline = time.monotonic() + timeout
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.connected.wait(0.05):
                return
            if not self.process.running:
                self.process.wait(1)
                time.sleep(0.05)  # let the reader take the last lines
                err = self.failure()
                assert err is not None
                raise err
            # a rejected passphrase shows at once while the tool keeps retrying: stop early
            if classify_srt_failure(self.process.lines(), self.endpoint, connected=False) in (
                "passphrase",
                "url",
                "filter",
            ):
                err = srt_error(
                    classify_srt_failure(self.process.lines(), self.endpoint, connected=False),
                    self.endpoint,
                    self.process.tail(1),
                )
                raise err
        raise srt_error("refused", self.endpoint, f"not connected after {timeout:g} s")

    def write(self, data: bytes) -> int:
        """Queue TS bytes for sending; returns the stream offset just past them."""
        if self.writer is None:
            raise SrtConnectionError(f"{self.name} is not started")
        return self.writer.write(data)

    def delivery(self, end: int) -> tuple[str, float | None]:
        """What became of stream byte ``end - 1`` (``write()`` offsets): ``("written", None)``
        once the tool's pipe took it, ``("dropped", None)`` if it never will, else
        ``("pending", None)``. Never ``acked``: the tool does not say."""
        return pipe_delivery(self.writer, end)

    @property
    def written_bytes(self) -> int:
        """Bytes the tool's pipe took (null padding included)."""
        return 0 if self.writer is None else self.writer.bytes_written

    @property
    def dropped_bytes(self) -> int:
        """Bytes given to ``write()`` that never reached the tool."""
        return 0 if self.writer is None else self.writer.bytes_dropped

    @property
    def confirmed_bytes(self) -> int:
        """TS bytes the SRT socket has sent, by its own statistics (unique packets x 1316)."""
        latest = self.stats.latest
        return 0 if latest is None else latest.payload_bytes_sent

    def stop(self, timeout: float = 3.0) -> None:
        """Send what is queued, give SRT time to deliver it, then stop the tool.

        srt-live-transmit reads stdin in batches of ten chunks (measured) and sends a short
        last batch only at end of input, and its live-mode socket does not linger: so stdin
        is closed once the queue is written, then about twice the SRT latency is allowed
        for the last packets (and any retransmission) before the tool is signalled.
        """
        if self.writer is not None:
            self.writer.flush_tail()
            if self.connected.is_set():
                # null packets after the last data: a loss of the last data packet shows as
                # a gap the receiver reports, so SRT retransmits it before the end
                self.writer.write(_NULL_PACKET * 7 * 10)
            self.writer.close()
            self.writer.join(min(timeout, 1.0))
        if self.process is not None:
            if self.process.running and self.connected.is_set():
                if self.process.stdin is not None:
                    with contextlib.suppress(OSError):
                        self.process.stdin.close()
                latency = (self.endpoint.latency_ms or 120) / 1000
                time.sleep(min(2 * latency + 0.2, 1.0))
            self.process.stop(timeout)
        if self._tail is not None:
            self._tail.stop()
        if self._own_dir is not None:
            with contextlib.suppress(OSError):
                self._own_dir.cleanup()
            self._own_dir = None


class SrtListener:
    """``srt-live-transmit`` as an SRT listener writing what it receives to a file.

    The stand-in distributor of tests and the demo: it accepts one caller at a time (and the
    next after that one leaves) and appends the TS it receives to ``path``.

    It takes a caller's FEC without being told (libsrt adopts the peer's packet filter);
    ``packet_filter`` makes it demand one (a caller with different settings is rejected).
    ``stats_every=N`` writes the receiving side's JSON reports every N packets into
    ``stats`` (packets received and lost, FEC packets received and packets FEC rebuilt).
    """

    def __init__(
        self,
        port: int,
        path: str | os.PathLike[str],
        *,
        passphrase: str | None = None,
        latency_ms: int | None = None,
        host: str = "127.0.0.1",
        name: str = "srt-listener",
        packet_filter: str | None = None,
        stats_every: int | None = None,
    ) -> None:
        self.endpoint = SrtEndpoint(
            host,
            port,
            mode="listener",
            passphrase=passphrase,
            latency_ms=latency_ms,
            packet_filter=packet_filter,
        )
        self.path = Path(path)
        self.name = name
        self.stats_every = stats_every
        self.stats = SrtStats()
        self.process: ManagedProcess | None = None
        self.accepted = threading.Event()
        self.connections = 0
        self.rejections: list[str] = []
        self._own_dir: tempfile.TemporaryDirectory[str] | None = None
        self._tail: _StatsTail | None = None

    def __repr__(self) -> str:
        return f"<SrtListener {self.endpoint.display} -> {self.path}>"

    def _line(self, line: str) -> None:
        low = line.lower()
        if "accepted srt source connection" in low:
            self.connections += 1
            self.accepted.set()
        elif "rsp(reject)" in low:
            self.rejections.append(line)

    def start(self) -> SrtListener:
        """Start listening; returns once the socket is bound (or raises)."""
        argv = [find_tool("srt-live-transmit"), f"-chunk:{SRT_CHUNK}", "-loglevel:warn"]
        stats_path: Path | None = None
        if self.stats_every:
            self._own_dir = tempfile.TemporaryDirectory(prefix="scte35lab-srt-")
            stats_path = Path(self._own_dir.name) / f"{self.name}.json"
            argv += ["-statspf:json", f"-statsout:{stats_path}", f"-s:{self.stats_every}"]
        argv += [self.endpoint.slt_uri(), "file://con"]
        out = open(self.path, "ab")  # noqa: SIM115 - handed to the child, closed below
        try:
            self.process = ManagedProcess(
                self.name,
                argv,
                secrets=self.endpoint.secrets,
                stdout=out,
                on_line=self._line,
                stop_timeout=2.0,
            ).start()
        finally:
            out.close()
        if stats_path is not None:
            self._tail = _StatsTail(stats_path, self.stats, lambda _sample: None)
            self._tail.start()
        try:
            _wait_udp_bound(self.endpoint.port, self.process, 3.0)
        except SrtConnectionError:
            self.stop()
            raise
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.running

    def stop(self, timeout: float = 3.0) -> None:
        if self.process is not None:
            self.process.stop(timeout)
        if self._tail is not None:
            self._tail.stop()  # reads what the tool wrote last before it is removed
            self._tail = None
        if self._own_dir is not None:
            with contextlib.suppress(OSError):
                self._own_dir.cleanup()
            self._own_dir = None

    def __enter__(self) -> SrtListener:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _wait_udp_bound(port: int, process: ManagedProcess, timeout: float) -> None:
    """Wait until some process has UDP ``port`` bound (the listener is ready)."""
    import psutil

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.running:
            raise SrtConnectionError(
                f"SRT listener on port {port} exited at once: {process.tail(3)}"
            )
        try:
            p = psutil.Process(process.pid)
            if any(c.laddr and c.laddr.port == port for c in p.net_connections(kind="udp")):
                return
        except (psutil.Error, AttributeError):
            pass
        time.sleep(0.05)
