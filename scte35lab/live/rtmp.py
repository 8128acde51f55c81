"""RTMP ingest: nginx with Debian's ``libnginx-mod-rtmp``, a key check, and TS hand-off.

OBS publishes to ``rtmp://host:port/live`` with its stream key as the stream name. nginx asks
scte35lab whether the key is valid (``on_publish`` to a small loopback HTTP endpoint served
here, which checks the store's salted hash). A valid key is answered with a redirect that
renames the stream to a fixed token, so the key appears in no command line; a wrong key is
answered 403 and nginx drops the publisher. ``exec_push`` then runs FFmpeg, which plays the
stream from nginx and writes it, remuxed to MPEG-TS with codecs copied, to a Unix socket
the pipeline listens on. When OBS leaves, nginx stops that FFmpeg; when it comes back, a new
one connects: the pipeline sees a new ingest and carries on.

nginx runs as a child process with a generated config, pid file and logs in a temporary
directory, on the ports given (``port=0`` picks a free one).
"""

from __future__ import annotations

import contextlib
import http.server
import logging
import os
import re
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

from scte35lab.live.errors import RtmpServerError
from scte35lab.live.process import ManagedProcess, find_tool

log = logging.getLogger(__name__)

RTMP_MODULE = Path("/usr/lib/nginx/modules/ngx_rtmp_module.so")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def free_port(kind: int = socket.SOCK_STREAM, host: str = "127.0.0.1") -> int:
    """A port the OS says is free now on ``host`` (TCP by default, ``SOCK_DGRAM`` for UDP)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class PublishEvent:
    """One publish attempt or end, as nginx reported it (never the key itself)."""

    t: float
    kind: str  # "accepted", "rejected", "done"
    stream: str | None
    addr: str | None


class RtmpIngest:
    """One stream's ingest: the TS connections nginx's FFmpeg makes for that stream."""

    def __init__(self, server: RtmpServer, token: str, check_key: Callable[[str], bool]):
        self.server = server
        self.token = token
        self.check_key = check_key
        self.socket_path = server.workdir / f"ingest-{token}.sock"
        self._sock: socket.socket | None = None

    def __repr__(self) -> str:
        return f"<RtmpIngest {self.token} at {self.server.url}>"

    def listen(self) -> None:
        """Open the Unix socket FFmpeg will connect to."""
        self.socket_path.unlink(missing_ok=True)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(str(self.socket_path))
        s.listen(4)
        self._sock = s

    def accept(self, timeout: float = 0.5) -> socket.socket | None:
        """The next TS connection from nginx's FFmpeg, or ``None`` after ``timeout`` s."""
        if self._sock is None:
            return None
        self._sock.settimeout(timeout)
        try:
            conn, _ = self._sock.accept()
        except (TimeoutError, OSError):
            return None
        conn.settimeout(None)
        return conn

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None
        self.socket_path.unlink(missing_ok=True)


class _HookHandler(http.server.BaseHTTPRequestHandler):
    server_version = "scte35lab-rtmp-hook"

    def log_message(self, format: str, *args: object) -> None:
        return  # requests carry the key: never log them

    def _reply(self, code: int, location: str | None = None) -> None:
        self.send_response(code)
        if location is not None:
            self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        rtmp: RtmpServer = self.server.rtmp  # type: ignore[attr-defined]
        n = int(self.headers.get("Content-Length") or 0)
        form = dict(parse_qsl(self.rfile.read(n).decode("utf-8", "replace")))
        if self.path.startswith("/on_publish_done"):
            rtmp._done(form.get("clientid"), form.get("addr"))
            self._reply(200)
            return
        if not self.path.startswith("/on_publish"):
            self._reply(404)
            return
        token = rtmp._check(
            form.get("app"), form.get("name", ""), form.get("addr"), form.get("clientid")
        )
        if token is None:
            self._reply(403)
        else:
            self._reply(302, token)  # nginx-rtmp renames the published stream to the token


class RtmpServer:
    """nginx with the RTMP module on ``host:port``, app ``app``, checking keys via a callback.

    Register each stream with :meth:`add_stream` (a token and a key check) before or after
    :meth:`start`; ``url`` is what OBS is given as Server. Use as a context manager or call
    :meth:`stop`: nginx, its FFmpeg children and the hook server all stop.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 1935,
        app: str = "live",
        workdir: str | os.PathLike[str] | None = None,
        on_event: Callable[[PublishEvent], None] | None = None,
    ) -> None:
        if not _TOKEN.match(app):
            raise RtmpServerError(f"RTMP app name {app!r} must be letters, digits, _ or -")
        self.host = host
        self.port = port or free_port(host=host if host != "0.0.0.0" else "127.0.0.1")
        self.app = app
        self._own_dir: tempfile.TemporaryDirectory[str] | None = None
        if workdir is None:
            self._own_dir = tempfile.TemporaryDirectory(prefix="scte35lab-rtmp-")
            workdir = self._own_dir.name
        self.workdir = Path(workdir)
        self._streams: dict[str, RtmpIngest] = {}
        self._publishing: dict[str, str] = {}  # nginx client id -> token, while publishing
        self._lock = threading.Lock()
        self.events: list[PublishEvent] = []
        self._on_event = on_event
        self._http: http.server.ThreadingHTTPServer | None = None
        self._http_thread: threading.Thread | None = None
        self.process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        """What OBS takes as its Server: ``rtmp://host:port/app``."""
        host = "127.0.0.1" if self.host == "0.0.0.0" else self.host
        return f"rtmp://{host}:{self.port}/{self.app}"

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<RtmpServer {self.url} {state}, streams {sorted(self._streams)}>"

    # -- streams and keys ----------------------------------------------------------------
    def add_stream(self, token: str, check_key: Callable[[str], bool]) -> RtmpIngest:
        """Accept publishes whose key passes ``check_key``; their TS arrives on the result."""
        if not _TOKEN.match(token):
            raise RtmpServerError(f"stream token {token!r} must be letters, digits, _ or -")
        ingest = RtmpIngest(self, token, check_key)
        ingest.listen()
        with self._lock:
            if token in self._streams:
                ingest.close()
                raise RtmpServerError(f"stream {token!r} is already registered")
            self._streams[token] = ingest
        return ingest

    def remove_stream(self, token: str) -> None:
        with self._lock:
            ingest = self._streams.pop(token, None)
            for c in [c for c, t in self._publishing.items() if t == token]:
                del self._publishing[c]
        if ingest is not None:
            ingest.close()

    def _event(self, kind: str, stream: str | None, addr: str | None) -> None:
        ev = PublishEvent(time.time(), kind, stream, addr)
        self.events.append(ev)
        log.info("rtmp: publish %s (stream %s from %s)", kind, stream or "-", addr or "?")
        if self._on_event is not None:
            self._on_event(ev)

    def _check(
        self, app: str | None, key: str, addr: str | None, client: str | None = None
    ) -> str | None:
        if app != self.app or not key:
            self._event("rejected", None, addr)
            return None
        with self._lock:
            streams = list(self._streams.values())
        for ingest in streams:
            try:
                ok = ingest.check_key(key)
            except Exception:  # a broken check refuses, it does not crash the hook
                log.exception("rtmp: key check for stream %s failed", ingest.token)
                ok = False
            if ok:
                with self._lock:  # one publisher a stream: an older entry's done was lost
                    for c in [c for c, t in self._publishing.items() if t == ingest.token]:
                        del self._publishing[c]
                    self._publishing[client or ""] = ingest.token
                self._event("accepted", ingest.token, addr)
                return ingest.token
        self._event("rejected", None, addr)
        return None

    def publishing(self, token: str) -> bool:
        """Whether a publisher is on stream ``token`` now (accepted, not yet done)."""
        with self._lock:
            return token in self._publishing.values()

    def _done(self, client: str | None, addr: str | None) -> None:
        # nginx names the stream here by the key it was published with, not the token it
        # was renamed to: the client id tells which publish ended
        with self._lock:
            token = self._publishing.pop(client or "", None)
        self._event("done", token, addr)

    # -- nginx ---------------------------------------------------------------------------
    def config(self, hook_port: int) -> str:
        """The nginx configuration: RTMP only, everything under ``workdir``."""
        ffmpeg = find_tool("ffmpeg")
        d = self.workdir
        user = "user root;\n" if os.geteuid() == 0 else ""
        play_host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        exec_push = " ".join(
            [
                ffmpeg,
                "-hide_banner -nostdin -loglevel warning -analyzeduration 2000000",
                f"-i rtmp://{play_host}:{self.port}/{self.app}/$name",
                # -flush_packets 1: each packet goes to the pipeline as it comes, not in
                # 32 KB bursts a few tenths of a second apart
                "-map 0:v? -map 0:a? -c copy -f mpegts -pcr_period 20 -flush_packets 1",
                f"unix:{d}/ingest-$name.sock 2>>{d}/exec-$name.log",
            ]
        )
        return f"""# generated by scte35lab.live.rtmp
load_module {RTMP_MODULE};
daemon off;
master_process on;
worker_processes 1;
{user}pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 256; }}
rtmp {{
    server {{
        listen {self.host}:{self.port};
        chunk_size 4096;
        application {self.app} {{
            live on;
            record off;
            allow play 127.0.0.1;
            deny play all;
            drop_idle_publisher 10s;
            wait_key on;
            wait_video on;
            on_publish http://127.0.0.1:{hook_port}/on_publish;
            on_publish_done http://127.0.0.1:{hook_port}/on_publish_done;
            exec_push {exec_push};
            respawn on;
            respawn_timeout 1s;
        }}
    }}
}}
"""

    def start(self, timeout: float = 5.0) -> RtmpServer:
        """Start the hook endpoint and nginx; returns once nginx accepts connections."""
        if not RTMP_MODULE.exists():
            raise RtmpServerError(
                f"the nginx RTMP module is not installed ({RTMP_MODULE}); "
                "Debian: apt-get install -y nginx libnginx-mod-rtmp"
            )
        nginx = find_tool("nginx")
        bind_host = "0.0.0.0" if self.host in ("", "0.0.0.0") else self.host
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((bind_host, self.port))
            except OSError as exc:
                raise RtmpServerError(
                    f"RTMP port {self.port} on {bind_host} is not free: {exc.strerror}"
                ) from exc
        self._http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _HookHandler)
        self._http.daemon_threads = True
        self._http.rtmp = self  # type: ignore[attr-defined]
        self._http_thread = threading.Thread(
            target=self._http.serve_forever, name="rtmp-hook", daemon=True
        )
        self._http_thread.start()
        d = self.workdir
        conf = d / "nginx.conf"
        conf.write_text(self.config(self._http.server_address[1]))
        self.process = ManagedProcess(
            "nginx",
            [
                nginx,
                "-p",
                str(self.workdir),
                "-e",
                str(self.workdir / "error.log"),
                "-c",
                str(conf),
            ],
            stop_timeout=3.0,
        ).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.process.running:
                self.process.wait(1)
                errors = self._errors()
                self.stop()
                raise RtmpServerError(f"nginx did not start on port {self.port}: {errors}")
            if self._listening():
                log.info("rtmp: nginx listening at %s", self.url)
                return self
            time.sleep(0.05)
        self.stop()
        raise RtmpServerError(f"nginx did not listen on port {self.port} in {timeout:g} s")

    def _listening(self) -> bool:
        """Whether our nginx (not some other process) listens on the RTMP port."""
        import psutil

        assert self.process is not None and self.process.pid is not None
        try:
            master = psutil.Process(self.process.pid)
            procs = [master, *master.children()]
            return any(
                c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == self.port
                for p in procs
                for c in p.net_connections(kind="tcp")
            )
        except psutil.Error:
            return False

    def _errors(self) -> str:
        lines = [] if self.process is None else self.process.lines(3)
        with contextlib.suppress(OSError):
            lines += (self.workdir / "error.log").read_text().splitlines()[-3:]
        return " | ".join(lines) or "(no message)"

    def exec_log(self, token: str) -> list[str]:
        """The stderr lines of the ingest FFmpeg nginx ran for stream ``token``."""
        try:
            return (self.workdir / f"exec-{token}.log").read_text().splitlines()
        except OSError:
            return []

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.running

    def stop(self) -> None:
        """Stop nginx (and the FFmpeg it runs), the hook server and the ingest sockets."""
        if self.process is not None:
            self.process.stop()
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        with self._lock:
            streams = list(self._streams.values())
            self._streams.clear()
        for ingest in streams:
            ingest.close()
        if self._own_dir is not None:
            with contextlib.suppress(OSError):
                self._own_dir.cleanup()
            self._own_dir = None

    def __enter__(self) -> RtmpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
