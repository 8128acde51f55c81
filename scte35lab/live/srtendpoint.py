"""Where SRT goes and how (``SrtEndpoint``: URL, passphrase kept out of sight, options, the
FEC packet filter checked before any tool starts), and what an SRT failure was.
"""

from __future__ import annotations

import logging
import re
import socket
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from scte35lab.errors import ComponentError
from scte35lab.live.errors import (
    SrtConnectionError,
    SrtPassphraseError,
    SrtUrlError,
)
from scte35lab.redaction import redact

log = logging.getLogger(__name__)


TS_PACKET = 188
SRT_CHUNK = 7 * TS_PACKET  # 1316: seven TS packets per SRT packet, the live-mode norm
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
