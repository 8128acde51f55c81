"""A child program fed TS on its stdin: the one life cycle of the live path's process outputs.

srt-live-transmit sending SRT (:class:`~scte35lab.live.srt.SrtSender`), FFmpeg sending SRT
(:class:`~scte35lab.live.ffmpeg.FFmpegSrtSender`) and FFmpeg pushing RTMP
(:class:`~scte35lab.live.fallback.RtmpFallbackPush`) each read the stream on stdin and send it
on. :class:`ProcessOutput` holds what they share: starting the program (a
:class:`~scte35lab.live.process.ManagedProcess`, secrets redacted) with the writer thread that
feeds it (:class:`~scte35lab.live.tspipe.TsPipeWriter`), watching its stderr for its state,
naming its failure, waiting for it to connect, stopping it so it sends what it holds, and
counting every byte given to :meth:`~ProcessOutput.write`: written into the pipe, or
dropped (before ``start()``, after ``stop()``, once the program exited, or with the queue
full). A subclass gives its command line, what its lines mean and what a failure was.

An instance runs once; restarting (with backoff) is the owner's job, with a new instance.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import Self

from scte35lab.errors import ComponentError
from scte35lab.live.errors import ProcessExitedError
from scte35lab.live.process import ManagedProcess
from scte35lab.live.tspipe import _NULL_PACKET, TsPipeWriter, pipe_delivery
from scte35lab.redaction import redact

log = logging.getLogger(__name__)


class ProcessOutput(ABC):
    """A program reading TS on its stdin and sending it on (see the module docstring).

    ``display`` is where it sends, safe to show; ``secrets`` are hidden in every line kept,
    the command line shown and every error. ``on_state(state)`` hears ``connected`` and
    ``disconnected`` as the program's lines tell them.
    """

    tool = ""  # the program, as errors name it
    stats_available = False
    acks = False  # a pipe says nothing of what the far end received
    error: type[ComponentError] = ProcessExitedError  # what this output's failures raise
    stop_timeout = 3.0  # stop()'s default: the program's time to finish on its own
    process_stop_timeout = 3.0  # from the stop signal to SIGKILL
    failure_lines = 1  # stderr lines quoted in a failure
    tail_nulls = 0  # null TS packets sent after the last data when connected (see stop())

    def __init__(
        self,
        name: str,
        display: str,
        *,
        secrets: Iterable[str] = (),
        max_queue_bytes: int = 4 << 20,
        on_state: Callable[[str], None] | None = None,
    ) -> None:
        self.name = name
        self.display = display
        self.secrets = [s for s in secrets if s]
        self.connected = threading.Event()
        self.disconnected = threading.Event()
        self.process: ManagedProcess | None = None
        self.writer = TsPipeWriter(name, max_queue_bytes=max_queue_bytes)
        self._on_state = on_state
        self._lock = threading.Lock()  # write() against stop()
        self._stopped = False

    def __repr__(self) -> str:
        state = (
            "not started"
            if self.process is None
            else "connected"
            if self.connected.is_set() and self.running
            else "running, not connected"
            if self.running
            else "stopped"
        )
        return f"<{type(self).__name__} {self.name} {self.tool} -> {self.display} {state}>"

    # -- what a subclass gives -----------------------------------------------------------
    @abstractmethod
    def argv(self) -> list[str]:
        """The command line (it may hold secrets: show ``process.display_argv`` instead)."""

    @abstractmethod
    def state_of(self, line: str) -> str | None:
        """What a (redacted) stderr line says: ``connected``, ``disconnected`` or nothing."""

    @abstractmethod
    def failure_of(self, lines: list[str], detail: str) -> ComponentError:
        """The error for the program's end, from its stderr ``lines``; ``detail`` names the
        program, its exit status and its last lines, to be quoted."""

    def prepare(self) -> None:
        """Checks and set-up before the program starts (resolve the host, paths)."""
        return None

    def started(self) -> None:
        """Work beside the running program (a statistics reader, say)."""
        return None

    def finished(self) -> None:
        """Clean-up once the program has stopped."""
        return None

    def early_failure(self) -> ComponentError | None:
        """A failure the program shows while it still runs (and would only retry)."""
        return None

    def not_connected(self, timeout: float) -> ComponentError:
        """The error when :meth:`wait_connected` ran out of time."""
        return self.error(f"{self.name}: not connected to {self.display} after {timeout:g} s")

    def linger(self, timeout: float) -> float:
        """Seconds the program may take, once its input is closed, to send what it holds."""
        return timeout

    # -- life cycle ----------------------------------------------------------------------
    def redact(self, text: str) -> str:
        """``text`` with this output's secrets (and any ``passphrase=``-style value) hidden."""
        return redact(text, self.secrets)

    def start(self) -> Self:
        """Start the program and the thread feeding it; returns ``self``. Runs once."""
        if self.process is not None:
            raise self.error(
                f"{self.name} was already started: make a new {type(self).__name__} to restart"
            )
        self.prepare()
        self.process = ManagedProcess(
            self.name,
            self.argv(),
            secrets=self.secrets,
            stdin=True,
            on_line=self._line,
            stop_timeout=self.process_stop_timeout,
        ).start()
        self.writer.attach(self.process.stdin)
        self.writer.start()
        self.started()
        return self

    def _line(self, line: str) -> None:
        state = self.state_of(line)
        if state is None:
            return
        (self.connected if state == "connected" else self.disconnected).set()
        log.info("%s: %s %s", self.name, state, self.display)
        if self._on_state is not None:
            self._on_state(state)

    @property
    def running(self) -> bool:
        """Whether the program has started and not yet exited."""
        return self.process is not None and self.process.running

    def failure(self) -> ComponentError | None:
        """Why the program is not (or no longer) running, once it exited; else ``None``.

        ``None`` too after an orderly :meth:`stop` that the program finished cleanly.
        """
        p = self.process
        if p is None or p.running or (p.stopping and p.returncode == 0):
            return None
        detail = f"{self.tool} exited with status {p.returncode}: {p.tail(self.failure_lines)}"
        return self.failure_of(p.lines(), self.redact(detail))

    def wait_connected(self, timeout: float = 10.0) -> None:
        """Block until the program says it connected; raise the error naming why it will not.

        FFmpeg opens its output only once input arrives: write some TS before or meanwhile.
        """
        if self.process is None:
            raise self.error(f"{self.name} is not started")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.connected.wait(0.05):
                return
            if not self.process.running:
                self.process.wait(1)
                time.sleep(0.05)  # let the reader take the last lines
                raise self.failure() or self.error(
                    f"{self.name}: {self.tool} exited: {self.process.tail(2)}"
                )
            early = self.early_failure()
            if early is not None:
                raise early
        raise self.not_connected(timeout)

    # -- bytes -------------------------------------------------------------------------------
    def write(self, data: bytes) -> int:
        """Queue TS bytes, never blocking; returns the stream offset just past them.

        Bytes are dropped, and counted in ``dropped_bytes``, before ``start()``, after
        ``stop()``, once the program has exited, and when the queue is full.
        """
        with self._lock:
            if self._stopped or not self.running:
                return self.writer.drop(data)
            return self.writer.write(data)

    def delivery(self, end: int) -> tuple[str, float | None]:
        """What became of stream byte ``end - 1`` (``write()`` offsets): ``("written",
        None)`` once the program's pipe took it, ``("dropped", None)`` if it never will, else
        ``("pending", None)``. Never ``acked``: a program fed through a pipe does not say."""
        return pipe_delivery(self.writer, end)

    @property
    def bytes_in(self) -> int:
        """Bytes given to :meth:`write` so far."""
        return self.writer.bytes_accepted

    @property
    def written_bytes(self) -> int:
        """Bytes the program's pipe took (null padding included)."""
        return self.writer.bytes_written

    @property
    def dropped_bytes(self) -> int:
        """Bytes given to :meth:`write` that never reached the program."""
        return self.writer.bytes_dropped

    @property
    def acked_bytes(self) -> int:
        """Bytes the far end acknowledged: unknown through a pipe, so 0."""
        return 0

    @property
    def confirmed_bytes(self) -> int:
        """Bytes the pipe took while the program ran connected (nothing more precise)."""
        if not self.connected.is_set() or not self.running:
            return 0
        return self.writer.bytes_written

    def stop(self, timeout: float | None = None) -> None:
        """Hand the program what is queued, close its input so it sends what it holds and
        ends (up to :meth:`linger` seconds), then stop it and whatever it spawned."""
        timeout = self.stop_timeout if timeout is None else timeout
        with self._lock:
            self._stopped = True
        if self.process is not None:
            self.writer.flush_tail()
            if self.tail_nulls and self.connected.is_set():
                # a loss of the last data packet then shows as a gap the receiver reports,
                # so SRT retransmits it before the end
                self.writer.write(_NULL_PACKET * self.tail_nulls)
            self.writer.close()
            self.writer.join(min(timeout, 1.0))
            grace = self.linger(timeout) if self.process.running else 0.0
            if grace > 0:
                if self.process.stdin is not None:
                    with contextlib.suppress(OSError, ValueError):
                        self.process.stdin.close()
                self.process.wait(grace)
            self.process.stop(max(timeout - grace, 1.0))
        self.finished()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
