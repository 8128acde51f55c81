"""Child processes at the edges of the live path: start, watch, stop; never leave orphans.

Every external program (FFmpeg, srt-live-transmit, nginx) runs behind a
:class:`ManagedProcess`: an argument list (never a shell string), its own process group so
that stopping it also stops whatever it spawned, a thread that keeps its last stderr lines
with secrets redacted, and a ``stop()`` that escalates from a polite signal to SIGKILL within
a few seconds.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Any

import psutil

from scte35lab.live.errors import ProcessExitedError, ToolMissingError
from scte35lab.redaction import REDACTED, redact

log = logging.getLogger(__name__)

_PACKAGES = {
    "ffmpeg": "ffmpeg",
    "ffprobe": "ffmpeg",
    "srt-live-transmit": "srt-tools",
    "nginx": "nginx libnginx-mod-rtmp",
}


def find_tool(name: str) -> str:
    """The full path of program ``name``, or ``ToolMissingError`` saying how to install it."""
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin:/usr/bin")
    if path is None:
        pkg = _PACKAGES.get(name, name)
        raise ToolMissingError(
            f"{name} is not installed or not on PATH (Debian: apt-get install -y {pkg})"
        )
    return path


def _kill_tree(pid: int, pgid: int | None, sig: int) -> None:
    """Send ``sig`` to the process group and to every descendant of ``pid`` still alive."""
    procs: list[psutil.Process] = []
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    if pgid is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.send_signal(sig)


class ScratchDir:
    """Where a child's files go (statistics, configuration): ``given`` if set, else a
    temporary folder made on first use and removed by :meth:`cleanup`."""

    def __init__(self, prefix: str, given: str | os.PathLike[str] | None = None) -> None:
        self.prefix = prefix
        self.given = None if given is None else Path(given)
        self._own: tempfile.TemporaryDirectory[str] | None = None

    def path(self) -> Path:
        """The folder (made now if it is ours and not made yet)."""
        if self.given is not None:
            return self.given
        if self._own is None:
            self._own = tempfile.TemporaryDirectory(prefix=self.prefix)
        return Path(self._own.name)

    def cleanup(self) -> None:
        """Remove the folder if it is ours; a given one is left alone."""
        own, self._own = self._own, None
        if own is not None:
            with contextlib.suppress(OSError):
                own.cleanup()


class ManagedProcess:
    """One external program: argv list in, stderr lines (redacted) out, a clean stop.

    ``secrets`` are hidden in every line kept or logged and in ``display_argv``. ``stdin=True``
    gives a pipe to write to; ``stdout`` is ``None`` (discarded), ``"pipe"`` or a path or
    open binary file to write to. ``on_line`` sees each (redacted) stderr line as it comes.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        secrets: Iterable[str] = (),
        stdin: bool = False,
        stdout: str | os.PathLike[str] | IO[bytes] | None = None,
        env: dict[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        stop_signal: int = signal.SIGTERM,
        stop_timeout: float = 3.0,
        on_line: Callable[[str], None] | None = None,
        keep_lines: int = 400,
    ) -> None:
        if isinstance(argv, str):
            raise TypeError("argv must be a list of arguments, not a shell string")
        self.name = name
        self.argv = [str(a) for a in argv]
        # longest first: a secret inside another (a user name in a stream key) must not
        # leave the rest of the longer one showing
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._stdin = stdin
        self._stdout = stdout
        self._env = env
        self._cwd = cwd
        self.stop_signal = stop_signal
        self.stop_timeout = stop_timeout
        self._on_line = on_line
        self._lines: deque[str] = deque(maxlen=keep_lines)
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._finalizer: weakref.finalize | None = None
        self._stopping = False
        self.started_at: float | None = None
        self.ended_at: float | None = None

    # -- presentation ------------------------------------------------------------------------
    def redact(self, text: str) -> str:
        """``text`` with this process's secrets and ``passphrase=``-style values hidden."""
        for secret in self._secrets:  # whole secrets first: they may contain spaces
            text = text.replace(secret, REDACTED)
        return redact(text)

    @property
    def display_argv(self) -> str:
        """The command line as a shell would show it, secrets redacted: safe to log or print."""
        return self.redact(shlex.join(self.argv))

    def __repr__(self) -> str:
        state = (
            "not started"
            if self._proc is None
            else f"pid {self._proc.pid} running"
            if self.running
            else f"exited {self.returncode}"
        )
        return f"<{type(self).__name__} {self.name} {state}: {self.display_argv}>"

    # -- life cycle --------------------------------------------------------------------------
    def start(self) -> ManagedProcess:
        """Start the program in its own process group; returns ``self``."""
        if self._proc is not None:
            raise ProcessExitedError(f"{self.name} was already started")
        out: Any
        close_out = False
        if self._stdout is None:
            out = subprocess.DEVNULL
        elif self._stdout == "pipe":
            out = subprocess.PIPE
        elif isinstance(self._stdout, str | os.PathLike):
            out = open(Path(self._stdout), "wb")  # noqa: SIM115 - closed after Popen
            close_out = True
        else:
            out = self._stdout
        log.info("%s: starting: %s", self.name, self.display_argv)
        try:
            self._proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE if self._stdin else subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.PIPE,
                env=self._env,
                cwd=self._cwd,
                start_new_session=True,
                bufsize=0,
            )
        except FileNotFoundError as exc:
            raise ToolMissingError(f"{self.name}: cannot run {self.argv[0]}: not found") from exc
        finally:
            if close_out:
                out.close()
        self.started_at = time.monotonic()
        # Safety net: a process object dropped or the interpreter exiting stops the group.
        self._finalizer = weakref.finalize(
            self, _kill_tree, self._proc.pid, self._proc.pid, signal.SIGKILL
        )
        self._reader = threading.Thread(
            target=self._read_stderr, name=f"{self.name}-stderr", daemon=True
        )
        self._reader.start()
        return self

    def _read_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        buf = b""
        stream = self._proc.stderr
        while True:
            try:
                chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(4096)
            except (OSError, ValueError):
                break
            if not chunk:
                break
            buf += chunk
            *lines, buf = buf.replace(b"\r", b"\n").split(b"\n")
            for raw in lines:
                self._take_line(raw)
        if buf:
            self._take_line(buf)

    def _take_line(self, raw: bytes) -> None:
        line = self.redact(raw.decode("utf-8", "replace").rstrip())
        if not line:
            return
        self._lines.append(line)
        log.debug("%s: %s", self.name, line)
        if self._on_line is not None:
            try:
                self._on_line(line)
            except Exception:  # a faulty watcher must not stop the reader
                log.exception("%s: line handler failed", self.name)

    @property
    def pid(self) -> int | None:
        """The process id, once started."""
        return None if self._proc is None else self._proc.pid

    @property
    def stdin(self) -> IO[bytes] | None:
        """The pipe to the program's standard input (``stdin=True``)."""
        return None if self._proc is None else self._proc.stdin

    @property
    def stdout(self) -> IO[bytes] | None:
        """The pipe from the program's standard output (``stdout="pipe"``)."""
        return None if self._proc is None else self._proc.stdout

    @property
    def running(self) -> bool:
        """Whether the program has started and not yet exited."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def returncode(self) -> int | None:
        """The exit status (negative: killed by that signal), or ``None`` while running."""
        return None if self._proc is None else self._proc.poll()

    @property
    def stopping(self) -> bool:
        """Whether ``stop()`` has been called (an exit now is expected, not a failure)."""
        return self._stopping

    def lines(self, last: int | None = None) -> list[str]:
        """The program's last stderr lines, secrets redacted."""
        lines = list(self._lines)
        return lines if last is None else lines[-last:]

    def tail(self, last: int = 5) -> str:
        """The last stderr lines as one string, for error messages."""
        return " | ".join(self.lines(last)) or "(no output)"

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait up to ``timeout`` seconds for the program to exit; its status or ``None``."""
        if self._proc is None:
            return None
        try:
            return self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout: float | None = None) -> int | None:
        """Stop the program and everything it spawned; returns its exit status.

        Closes stdin (tools that stop at end of input finish cleanly), sends the stop signal
        to the process group, waits up to ``timeout`` (``stop_timeout``) seconds, then SIGKILLs
        the group and any descendant still alive.
        """
        if self._proc is None:
            return None
        self._stopping = True
        timeout = self.stop_timeout if timeout is None else timeout
        proc = self._proc
        pid = proc.pid
        try:
            descendants = psutil.Process(pid).children(recursive=True)
        except psutil.Error:
            descendants = []
        if proc.stdin is not None:
            with contextlib.suppress(OSError, ValueError):
                proc.stdin.close()
        if proc.poll() is None:
            _kill_tree(pid, pid, self.stop_signal)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("%s: did not stop in %.1f s: killing it", self.name, timeout)
                _kill_tree(pid, pid, signal.SIGKILL)
                proc.wait(5)
        # Children that left the group (setsid) or outlived their parent: kill them too.
        for child in descendants:
            with contextlib.suppress(psutil.Error):
                if child.is_running() and child.status() != psutil.STATUS_ZOMBIE:
                    child.kill()
                    child.wait(2)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        if self._reader is not None:
            self._reader.join(2)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        if self._finalizer is not None:
            self._finalizer.detach()
        self.ended_at = self.ended_at or time.monotonic()
        log.info("%s: stopped (status %s)", self.name, proc.returncode)
        return proc.returncode

    def __enter__(self) -> ManagedProcess:
        return self if self._proc is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
