"""Where a live pipeline's TS comes from: an RTMP publisher (nginx with the RTMP module, its
``exec_push`` FFmpeg handing each publish over a unix socket) or FFmpeg reading a URL.

The edges of the chain are processes; this class starts, watches and stops them and hands the
ingest thread one reader per session (a publish, or the URL's whole stream).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable

from scte35lab.live.ffmpeg import FFmpegRemux, remux_argv
from scte35lab.live.rtmp import RtmpIngest, RtmpServer

Reader = Callable[[], bytes]


def stream_token(stream: str) -> str:
    """The stream's name as nginx-rtmp may carry it (letters, digits, ``_``, ``-``)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", stream)[:64] or "stream"


class LiveIngest:
    """The ingest side of one stream (see the module docstring)."""

    def __init__(
        self,
        spec: str,
        stream: str,
        *,
        check_key: Callable[[str], bool],
        rtmp_server: RtmpServer | None,
        rtmp: dict,
        realtime: bool,
        read_size: int,
        stopping: threading.Event,
    ) -> None:
        self.spec = spec
        self.stream = stream
        self._check_key = check_key
        self.rtmp = rtmp_server
        self.own_rtmp = rtmp_server is None and spec == "rtmp"
        self._rtmp_args = rtmp
        self.realtime = realtime
        self.read_size = read_size
        self._stopping = stopping
        self.ingest: RtmpIngest | None = None
        self.remux: FFmpegRemux | None = None
        self.sessions = 0

    @property
    def url(self) -> str | None:
        """Where OBS should publish (Server), when the ingest is RTMP."""
        return None if self.rtmp is None else self.rtmp.url

    def start(self) -> None:
        if self.spec == "rtmp":
            if self.rtmp is None:
                self.rtmp = RtmpServer(**self._rtmp_args).start()
            self.ingest = self.rtmp.add_stream(stream_token(self.stream), self._check_key)
        else:
            self.remux = FFmpegRemux(self.spec)
            if self.realtime:
                argv = remux_argv(self.spec)
                argv.insert(argv.index("-i"), "-re")
                self.remux.argv = argv
            self.remux.start()

    def next_source(self) -> Reader | None:
        """The next session's reader, or ``None`` (none yet: call again)."""
        if self.ingest is not None:
            sock = self.ingest.accept(0.5)
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
        if self.remux is not None and self.remux.stdout is not None and self.sessions == 0:
            out = self.remux.stdout
            return lambda: out.read(self.read_size)
        time.sleep(0.2)
        return None

    @property
    def once(self) -> bool:
        """A URL ingest is one session: its end is the end of the stream."""
        return self.remux is not None

    def publisher_on(self, wait: float = 1.0) -> bool:
        """True when the RTMP publisher is still on after its ingest ended (the FFmpeg
        between nginx and us died); its leaving is reported by nginx within ``wait`` s."""
        if self.rtmp is None or self.ingest is None:
            return False
        deadline = time.monotonic() + wait
        while self.rtmp.publishing(self.ingest.token):
            if time.monotonic() >= deadline or self._stopping.is_set():
                return not self._stopping.is_set()
            time.sleep(0.05)
        return False

    def pids(self) -> list[int]:
        """The processes this side started: nginx when it is ours, the URL's FFmpeg."""
        out = []
        if self.own_rtmp and self.rtmp is not None and self.rtmp.process is not None:
            out.append(self.rtmp.process.pid)
        if self.remux is not None and self.remux.pid is not None:
            out.append(self.remux.pid)
        return [p for p in out if p is not None]

    def stop_input(self) -> None:
        """Stop taking input (the ingest thread's reads end)."""
        if self.ingest is not None and self.rtmp is not None:
            self.rtmp.remove_stream(self.ingest.token)
        if self.remux is not None:
            self.remux.stop()

    def stop(self) -> None:
        """Stop the RTMP server if it is this stream's own."""
        if self.own_rtmp and self.rtmp is not None:
            self.rtmp.stop()
