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

import contextlib
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from scte35lab.errors import ComponentError
from scte35lab.live.errors import (
    SrtConnectionError,
)
from scte35lab.live.process import ManagedProcess, find_tool
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
from scte35lab.live.tspipe import (
    _NULL_PACKET,
    TsPipeWriter,
    pipe_delivery,
    start_fed,
)

log = logging.getLogger(__name__)


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
