"""Shared pieces of the live tests: free ports, paced TS feeding, a datagram recorder."""

from __future__ import annotations

import collections
import contextlib
import random
import socket
import threading
import time
from pathlib import Path

import psutil

from scte35lab.live.cpumeter import process_key
from scte35lab.live.process import ManagedProcess, find_tool
from scte35lab.live.rtmp import free_port

PASSPHRASE = "correct horse battery staple"
NULL_PACKET = bytes([0x47, 0x1F, 0xFF, 0x10]) + b"\xff" * 184


def udp_port() -> int:
    return free_port(socket.SOCK_DGRAM)


def tcp_port() -> int:
    return free_port(socket.SOCK_STREAM)


def feed(sender, data: bytes, *, rate_bps: float = 4e6, chunk: int = 1316 * 10) -> None:
    """Write ``data`` to a sender at about ``rate_bps``, as a live source would."""
    t0 = time.monotonic()
    for i in range(0, len(data), chunk):
        sender.write(data[i : i + chunk])
        due = t0 + (i + chunk) * 8 / rate_bps
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def strip_null_tail(data: bytes) -> bytes:
    """``data`` without the null packets a sender pads its last SRT packet with."""
    while data.endswith(NULL_PACKET):
        data = data[: -len(NULL_PACKET)]
    return data


# Processes that session-wide fixtures keep running on purpose (the shared headless
# browser of the browser tests, with everything it started): never a test's leftover.
SHARED: set[tuple[int, int]] = set()


def running_children() -> list[psutil.Process]:
    """This process's descendants that are still running (zombies excluded)."""
    out = []
    for p in psutil.Process().children(recursive=True):
        try:
            if p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.Error:
            pass
    return out


def live_children() -> list[psutil.Process]:
    """Descendants still running, except those of session-wide fixtures (``SHARED``) and
    anything those started."""
    out = []
    for p in running_children():
        try:
            lineage = [p, *p.parents()]
            if not any(process_key(q) in SHARED for q in lineage):
                out.append(p)
        except psutil.Error:
            pass
    return out


class DatagramRecorder:
    """An SRT listener that forwards each SRT payload as one UDP datagram to a socket here,
    so a test can see the payload sizes the sender chose."""

    def __init__(self, srt_port: int, passphrase: str | None = None) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        # seconds of stream, not the default ~90 datagrams: a recorder thread that a busy
        # machine leaves unscheduled for a while must not drop what the receiver delivered
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.sizes: collections.Counter[int] = collections.Counter()
        self.data = bytearray()
        self.times: list[float] = []  # monotonic arrival time of each payload
        uri = f"srt://127.0.0.1:{srt_port}?mode=listener"
        if passphrase:
            uri += f"&passphrase={passphrase}"
        self.proc = ManagedProcess(
            "srt-udp",
            [
                find_tool("srt-live-transmit"),
                uri,
                f"udp://127.0.0.1:{self.sock.getsockname()[1]}",
            ],
            secrets=[passphrase or ""],
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                d = self.sock.recv(65536)
            except TimeoutError:
                continue
            self.times.append(time.monotonic())
            self.sizes[len(d)] += 1
            self.data += d

    def start(self) -> DatagramRecorder:
        self.proc.start()
        self._thread.start()
        time.sleep(0.3)
        return self

    def stop(self) -> None:
        self.proc.stop()
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


class LossyHop:
    """A UDP relay between an SRT caller and listener that drops ``loss`` of the data
    packets (datagrams over 1000 bytes: media, retransmissions and FEC alike)."""

    def __init__(self, target_port: int, loss: float, seed: int = 7) -> None:
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind(("127.0.0.1", 0))
        self.back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.back.bind(("127.0.0.1", 0))
        self.port = self.front.getsockname()[1]
        self.target = ("127.0.0.1", target_port)
        self.loss = loss
        self.rng = random.Random(seed)
        self.dropped = 0
        self.forwarded = 0
        self.caller: tuple[str, int] | None = None
        self._stop = threading.Event()
        for s in (self.front, self.back):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)  # drops are ours only
            s.settimeout(0.1)
        self._threads = [
            threading.Thread(target=self._forward, daemon=True),
            threading.Thread(target=self._backward, daemon=True),
        ]
        for t in self._threads:
            t.start()

    def _forward(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self.front.recvfrom(65536)
            except TimeoutError:
                continue
            self.caller = addr
            if len(data) > 1000 and self.rng.random() < self.loss:  # data packets only
                self.dropped += 1
                continue
            self.forwarded += 1
            self.back.sendto(data, self.target)

    def _backward(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.back.recv(65536)
            except TimeoutError:
                continue
            if self.caller is not None:
                self.front.sendto(data, self.caller)

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(1)
        self.front.close()
        self.back.close()


def read(path: Path) -> bytes:
    return Path(path).read_bytes()


def register_shared(before: set[tuple[int, int]]) -> None:
    """Mark the descendants started since ``before`` (a ``snapshot()``) as session-wide."""
    for p in running_children():
        try:
            key = process_key(p)
        except psutil.Error:
            continue
        if key not in before:
            SHARED.add(key)


def snapshot() -> set[tuple[int, int]]:
    """The identities of the descendants running now."""
    out = set()
    for p in running_children():
        with contextlib.suppress(psutil.Error):
            out.add(process_key(p))
    return out


def wait_for_video(pipeline, timeout: float = 15.0) -> None:
    """Wait until the pipeline's clock has started (its first video frame came in)."""
    deadline = time.monotonic() + timeout
    while pipeline.clock is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert pipeline.clock is not None, "no video reached the pipeline"


class LibSrtReceiver:
    """A stand-in distributor on libsrt in this process: an SRT listener keeping what it
    receives. With ``tsbpd=False`` each packet is handed over as it arrives (not a latency
    later), so what it holds is what its SRT acknowledged, even when it is stopped abruptly."""

    def __init__(
        self,
        port: int,
        *,
        passphrase: str | None = None,
        latency_ms: int = 120,
        tsbpd: bool = True,
    ) -> None:
        import ctypes

        from scte35lab.live import srtlib

        self._ctypes, self._srtlib = ctypes, srtlib
        self.lib = lib = srtlib.load()
        self.data = bytearray()
        self.messages = 0
        self.conn = srtlib.SRT_INVALID_SOCK
        self._stop = threading.Event()
        self.sock = lib.srt_create_socket()
        assert srtlib.set_int(lib, self.sock, srtlib.SRTO_TRANSTYPE, srtlib.SRTT_LIVE)
        assert srtlib.set_int(lib, self.sock, srtlib.SRTO_LATENCY, latency_ms)
        assert srtlib.set_int(lib, self.sock, srtlib.SRTO_TSBPDMODE, int(tsbpd))
        assert srtlib.set_int(lib, self.sock, srtlib.SRTO_RCVTIMEO, 50)
        if passphrase:
            assert srtlib.set_str(lib, self.sock, srtlib.SRTO_PASSPHRASE, passphrase)
        addr = srtlib.sockaddr("127.0.0.1", port)
        assert lib.srt_bind(self.sock, addr, len(addr)) == 0, srtlib.last_error(lib)
        assert lib.srt_listen(self.sock, 1) == 0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        lib, srtlib = self.lib, self._srtlib
        self.conn = lib.srt_accept(self.sock, None, None)
        if self.conn == srtlib.SRT_INVALID_SOCK:
            return
        buf = self._ctypes.create_string_buffer(1500)
        while not self._stop.is_set():
            n = lib.srt_recvmsg(self.conn, buf, 1500)
            if n > 0:
                self.data += buf.raw[:n]
                self.messages += 1
            elif lib.srt_getsockstate(self.conn) != srtlib.SRTS_CONNECTED:
                break

    def stop(self) -> None:
        """The distributor goes away: its sockets close, what it got stays in ``data``."""
        if self.conn != self._srtlib.SRT_INVALID_SOCK:
            self.lib.srt_close(self.conn)
        self.lib.srt_close(self.sock)
        self._stop.set()
        self._thread.join(2)
