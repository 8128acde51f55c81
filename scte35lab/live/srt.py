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

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from scte35lab.errors import ComponentError
from scte35lab.live.errors import (
    SrtConnectionError,
)
from scte35lab.live.process import ManagedProcess, ScratchDir, find_tool
from scte35lab.live.procoutput import ProcessOutput
from scte35lab.live.sender import Sender
from scte35lab.live.srtendpoint import (  # noqa: F401 (the names live.srt has always given)
    FEC_ARQ,
    FEC_KEYS,
    FEC_LAYOUTS,
    MODES,
    SRT_CHUNK,
    TS_PACKET,
    SrtEndpoint,
    check_packet_filter,
    classify_srt_failure,
    srt_error,
)
from scte35lab.live.srtstats import SrtSample, SrtStats, _StatsTail
from scte35lab.live.tspipe import TsPipeWriter, pipe_delivery  # noqa: F401 (as for srtendpoint)

log = logging.getLogger(__name__)


class PipedSrtSender(ProcessOutput, Sender):
    """An SRT sender that is a child program fed through a pipe: what srt-live-transmit's
    and FFmpeg's senders share beyond :class:`ProcessOutput` (the endpoint, checked before
    the program starts, and SRT's failures named from the program's messages)."""

    error = SrtConnectionError

    def __init__(
        self,
        endpoint: SrtEndpoint,
        *,
        name: str,
        on_state: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(name, endpoint.display, secrets=endpoint.secrets, on_state=on_state)
        self.endpoint = endpoint

    def prepare(self) -> None:
        """Check that the URL resolves before the program starts."""
        self.endpoint.resolve()

    def failure_of(self, lines: list[str], detail: str) -> ComponentError:
        kind = classify_srt_failure(lines, self.endpoint, connected=self.connected.is_set())
        return srt_error(kind, self.endpoint, detail)

    def not_connected(self, timeout: float) -> ComponentError:
        return srt_error("refused", self.endpoint, f"not connected after {timeout:g} s")


class SrtSender(PipedSrtSender):
    """``srt-live-transmit`` sending the TS written to it to an SRT peer, reporting stats.

    ``start()`` launches it; ``wait_connected()`` returns once the peer accepted, or raises
    the error that names what went wrong (passphrase, refused, URL). ``write()`` takes TS
    bytes from any thread. ``stats`` holds the time-normalised statistics. It cannot see
    what the receiver acknowledged (``acks = False``): :meth:`delivery` says ``written``
    at most. The life cycle and byte accounting are :class:`ProcessOutput`'s.
    """

    stats_available = True
    tool = "srt-live-transmit"
    process_stop_timeout = 2.0
    failure_lines = 2
    tail_nulls = 7 * 10

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
        super().__init__(endpoint, name=name, on_state=on_state)
        self.stats_every = stats_every
        self._scratch = ScratchDir("scte35lab-srt-", workdir)
        self.stats = SrtStats()
        self._on_sample = on_sample
        self._tail: _StatsTail | None = None
        self.stats_path: Path | None = None

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

    def state_of(self, line: str) -> str | None:
        low = line.lower()
        if "target connected" in low or "accepted srt target connection" in low:
            return "connected"
        return "disconnected" if "target disconnected" in low else None

    def _sample(self, sample: SrtSample) -> None:
        if self._on_sample is not None:
            self._on_sample(sample)

    def prepare(self) -> None:
        """Check that the URL resolves; choose where the statistics go."""
        super().prepare()
        self.stats_path = self._scratch.path() / f"{self.name}-{os.getpid()}-{id(self)}.json"
        self.stats_path.unlink(missing_ok=True)

    def started(self) -> None:
        assert self.stats_path is not None
        self._tail = _StatsTail(self.stats_path, self.stats, self._sample)
        self._tail.start()

    def early_failure(self) -> ComponentError | None:
        """A rejected passphrase, URL or filter shows at once while the tool keeps retrying."""
        assert self.process is not None
        kind = classify_srt_failure(self.process.lines(), self.endpoint, connected=False)
        if kind in ("passphrase", "url", "filter"):
            return srt_error(kind, self.endpoint, self.process.tail(1))
        return None

    @property
    def confirmed_bytes(self) -> int:
        """TS bytes the SRT socket has sent, by its own statistics (unique packets x 1316)."""
        latest = self.stats.latest
        return 0 if latest is None else latest.payload_bytes_sent

    def linger(self, timeout: float) -> float:
        """srt-live-transmit reads stdin in batches of ten chunks (measured) and sends a short
        last batch only at end of input, and its live-mode socket does not linger: once
        stdin is closed, about twice the SRT latency is allowed for the last packets (and
        any retransmission) before the tool is signalled."""
        if not self.connected.is_set():
            return 0.0
        latency = (self.endpoint.latency_ms or 120) / 1000
        return min(2 * latency + 0.2, 1.0)

    def finished(self) -> None:
        if self._tail is not None:
            self._tail.stop()
        self._scratch.cleanup()


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
        self._scratch = ScratchDir("scte35lab-srt-")
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
            stats_path = self._scratch.path() / f"{self.name}.json"
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
        self._scratch.cleanup()

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
