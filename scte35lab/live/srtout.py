"""The SRT output stage: the last stage of the live chain, and the evidence of delivery.

One sender at a time (a *connection*, numbered from 1), restarted with exponential backoff
when its peer is gone. What it adds to handing bytes on:

- **A clean start on every connection.** The distributor's stream starts with PAT, PMT and
  then an IDR frame: until the injector reports an IDR in the output (its
  ``key_offsets``), output is not sent; at the IDR the last PAT and PMT packets sent are
  sent again (the very packets, continuity counters included, so the next ones follow on),
  then the stream from the IDR on.
- **Delivery evidence per copy.** For a copy of a cue (its end offset in the output and the
  connection that took it) :meth:`delivery` asks that connection's sender what became of the
  bytes: acknowledged by the receiver (libsrt), only written (a sender that cannot see
  acknowledgements), still pending, unconfirmed (the connection died first) or dropped.
- **Lost bytes per outage.** From a connection's death to the next clean start, the bytes
  written but never acknowledged and the output not sent at all are counted, reported once
  in an ``srt_outage`` event, stored, and summed in the stats (``bytes_lost``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scte35lab.errors import ComponentError
from scte35lab.live.errors import SrtConnectionError
from scte35lab.live.ledger import Copy
from scte35lab.live.sender import Sender

log = logging.getLogger(__name__)

TS = 188
PAT_PID = 0


@dataclass
class Outage:
    """One SRT outage: from a connection's loss to the next connection's clean start."""

    started_at: float  # Unix seconds
    bytes_unacked: int | None  # written to the lost connection, never acknowledged
    bytes_unsent: int = 0  # output not handed to any connection meanwhile
    ended_at: float | None = None
    began: float = field(default_factory=time.monotonic, repr=False)  # for its length

    @property
    def bytes_lost(self) -> int | None:
        if self.bytes_unacked is None:
            return None
        return self.bytes_unacked + self.bytes_unsent


@dataclass
class _Connection:
    sender: Sender
    start: int | None = None  # output offset of the first byte sent (after the gate)
    prefix: int = 0  # bytes of PAT/PMT sent before it
    given: int = 0  # bytes handed to the sender, prefix included
    lost_counted: bool = False
    dead: bool = False


class SrtOutput:
    """The SRT output stage (see the module docstring).

    ``factory()`` makes a :class:`~scte35lab.live.sender.Sender` for each connection.
    """

    def __init__(
        self,
        factory: Callable[[], Sender],
        *,
        on_event: Callable[..., None],
        on_outage: Callable[[Outage], None],
        backoff_max: float,
        stopping: threading.Event,
        where: str,
    ) -> None:
        self._factory = factory
        self._event = on_event
        self._on_outage = on_outage
        self.backoff_max = backoff_max
        self._stopping = stopping
        self.where = where
        self.conns: dict[int, _Connection] = {}
        self.gen = 0
        self.up = False
        self.attempts = 0
        self.next_try = 0.0
        self.fatal: ComponentError | None = None
        self.lock = threading.RLock()
        self.outages: list[Outage] = []
        self._open: Outage | None = None
        self.bytes_unsent = 0  # output never handed to a connection (gates, outages)
        self._psi: dict[int, list[bytes]] = {}  # PID -> packets of its last section
        self._pmt_pid: int | None = None

    # -- connections ---------------------------------------------------------------------
    @property
    def sender(self) -> Sender | None:
        """The current connection's sender (``None`` between a loss and the next start)."""
        conn = self.conns.get(self.gen)
        return None if conn is None or conn.dead else conn.sender

    def start(self) -> None:
        """Start a new connection (the next generation)."""
        with self.lock:
            sender = self._factory()
            self.gen += 1
            self.conns[self.gen] = _Connection(sender)
            self.attempts += 1
            sender.start()
            # connections that never carried a byte (retries while the peer was away), and
            # any but the last 64, are forgotten: their copies were settled long ago
            for old in [g for g in self.conns if g < self.gen]:
                if not self.conns[old].given or old < self.gen - 64:
                    del self.conns[old]

    def _ready(self, sender: Sender | None) -> bool:
        # a sender with statistics knows when it is connected; FFmpeg connects only once
        # bytes flow, so it is fed as soon as it runs
        if sender is None or not sender.running:
            return False
        return sender.connected.is_set() or not sender.stats_available

    # -- the byte path -------------------------------------------------------------------
    def write(self, out: bytes, base: int, keys: list[int], pmt_pid: int | None) -> None:
        """Send output ``out`` (which starts at output offset ``base``); ``keys`` are the
        output offsets of IDR frames' first packets, ``pmt_pid`` the PMT's PID."""
        with self.lock:
            self._pmt_pid = pmt_pid
            conn = self.conns.get(self.gen)
            if conn is not None and not conn.dead and not conn.sender.running:
                self._lost(conn, conn.sender.failure())  # its outage starts now, not at check()
            if conn is None or conn.dead or not self._ready(conn.sender):
                self._unsent(len(out))
                self._note_psi(out, 0, len(out))
                return
            if conn.start is None and base == 0:  # the stream's own start: PAT, PMT, IDR
                conn.start = 0
                data = out
                self._note_psi(out, 0, len(out))
            elif conn.start is None:  # the gate: from an IDR on, after PAT and PMT
                k = next((o for o in keys if base <= o < base + len(out)), None)
                if k is None:
                    self._unsent(len(out))
                    self._note_psi(out, 0, len(out))
                    return
                cut = k - base
                self._note_psi(out, 0, cut)
                prefix = b"".join(self._psi.get(PAT_PID, [])) + (
                    b"".join(self._psi.get(pmt_pid, [])) if pmt_pid is not None else b""
                )
                self._note_psi(out, cut, len(out))
                self._unsent(cut)
                conn.start, conn.prefix = k, len(prefix)
                data = prefix + out[cut:]
                self._opened(conn)
            else:
                data = out
                self._note_psi(out, 0, len(out))
            conn.sender.write(data)
            conn.given += len(data)

    def _unsent(self, n: int) -> None:
        self.bytes_unsent += n
        if self._open is not None:
            self._open.bytes_unsent += n

    def _note_psi(self, out: bytes, a: int, b: int) -> None:
        """Keep the last PAT and PMT packets of ``out[a:b]`` (whole packets)."""
        if b - a < TS:
            return
        n = (b - a) // TS
        arr = np.frombuffer(out, dtype=np.uint8, count=n * TS, offset=a).reshape(n, TS)
        pid = ((arr[:, 1].astype(np.uint16) & 0x1F) << 8) | arr[:, 2]
        want = pid == PAT_PID
        if self._pmt_pid is not None:
            want |= pid == self._pmt_pid
        for i in np.flatnonzero(want).tolist():
            p = int(pid[i])
            pkt = bytes(out[a + i * TS : a + (i + 1) * TS])
            if pkt[1] & 0x40:  # a section starts here
                self._psi[p] = [pkt]
            elif p in self._psi:
                self._psi[p].append(pkt)

    def _opened(self, conn: _Connection | None) -> None:
        """A connection's stream started (``None``: the output stopped): close the outage
        before it, if any."""
        outage, self._open = self._open, None
        if outage is None:
            return
        outage.ended_at = time.time()
        lost = outage.bytes_lost
        took = time.monotonic() - outage.began  # not the wall clock: NTP may step it
        how = "stream resumed at an IDR" if conn is not None else "output stopped"
        self._event(
            "srt_outage",
            f"SRT {how} after {took:.1f} s: "
            + (
                f"{lost} bytes never reached the distributor ({outage.bytes_unacked} written "
                f"but not acknowledged, {outage.bytes_unsent} not sent)"
                if lost is not None
                else f"{outage.bytes_unsent} bytes not sent; what the lost connection had "
                "written is unknown (its sender cannot see acknowledgements)"
            ),
            bytes_unacked=outage.bytes_unacked,
            bytes_unsent=outage.bytes_unsent,
            bytes_lost=lost,
        )
        self._on_outage(outage)

    @property
    def bytes_lost(self) -> int:
        """Bytes the distributor never got, over every outage so far (the open one too)."""
        total = sum(o.bytes_lost or 0 for o in self.outages)
        return total

    # -- evidence --------------------------------------------------------------------------
    def handed(self, end: int) -> int | None:
        """The connection that took the packet ending at output offset ``end``."""
        conn = self.conns.get(self.gen)
        if conn is None or conn.start is None or end - TS < conn.start:
            return None
        return self.gen

    def delivery(self, copy: Copy) -> tuple[str, float | None]:
        """What became of one copy: ``acked`` (with the time), ``written``, ``pending``,
        ``unconfirmed`` or ``dropped``."""
        if copy.gen is None:
            return "dropped", None
        conn = self.conns.get(copy.gen)
        if conn is None or conn.start is None:
            return "dropped", None
        end = copy.end - conn.start + conn.prefix
        try:
            return conn.sender.delivery(end)
        except ValueError:  # not in a whole message yet: still with the sender
            return "pending", None

    # -- supervision -----------------------------------------------------------------------
    def check(self) -> None:
        """Notice a connect or a loss; restart a dead sender when its backoff is over."""
        now = time.monotonic()
        with self.lock:
            conn = self.conns.get(self.gen)
            if conn is not None and not conn.dead:
                s = conn.sender
                if s.running:
                    if s.connected.is_set() and not self.up:
                        self.up = True
                        self.attempts = 0
                        self._event("srt_connected", f"SRT connected to {self.where}")
                    return
                err = s.failure()  # it ended: the peer went away, refused, or rejected us
                s.stop(0.5)
                self._lost(conn, err)
                self.up = False
                conn.dead = True  # kept: its copies' evidence stays readable
                if err is not None and not isinstance(err, SrtConnectionError):
                    self.fatal = err  # wrong passphrase or URL: retrying will not help
                    self._event("error", f"SRT sender cannot continue: {err}")
                    return
                delay = min(self.backoff_max, 0.5 * 2 ** max(self.attempts - 1, 0))
                self.next_try = now + delay
                self._event(
                    "srt_retry", f"SRT reconnect in {delay:.1f} s (attempt {self.attempts + 1})"
                )
                return
        if self.fatal is None and now >= self.next_try and not self._stopping.is_set():
            try:
                self.start()
            except ComponentError as exc:
                self.fatal = exc
                self._event("error", f"SRT sender cannot start: {exc}")

    def _lost(self, conn: _Connection, err: ComponentError | None) -> None:
        """A connection died: what it was given and never acknowledged opens an outage."""
        if conn.lost_counted:
            return
        conn.lost_counted = True
        unacked = conn.given - _srt_acked(conn.sender) if conn.sender.acks else None
        if self._open is not None:  # a retry that never connected: the same outage goes on
            if unacked and self._open.bytes_unacked is not None:
                self._open.bytes_unacked += unacked
            return
        outage = Outage(time.time(), unacked)
        self.outages.append(outage)
        self._open = outage
        was = "gone" if conn.sender.connected.is_set() else "not reachable"
        self._event(
            "srt_down",
            f"SRT peer {was}: {err}; "
            + (
                f"{unacked} bytes written were never acknowledged"
                if unacked is not None
                else "what it had written is unknown (no acknowledgements from this sender)"
            ),
            bytes_unacked=unacked,
        )

    def stop(self) -> None:
        """Stop the current sender: it sends what it holds and waits for the acknowledgements
        (a sender that sees them); what stays unacknowledged is counted as lost, and an
        outage still open is closed."""
        with self.lock:
            if self._open is not None:
                self._opened(None)
            conn = self.conns.get(self.gen)
            if conn is None or conn.dead:
                return
            conn.sender.stop()
            conn.dead = True
            if conn.sender.acks and conn.given - _srt_acked(conn.sender) > 0 and conn.start:
                unacked = conn.given - _srt_acked(conn.sender)
                outage = Outage(time.time(), unacked, ended_at=time.time())
                self.outages.append(outage)
                self._event(
                    "srt_outage",
                    f"SRT stopped with {unacked} bytes written but never acknowledged",
                    bytes_unacked=unacked,
                    bytes_unsent=0,
                    bytes_lost=unacked,
                )
                self._on_outage(outage)
            self.up = False


def _srt_acked(sender: Any) -> int:
    """Bytes the receiver's SRT acknowledged (the sender's own count where it keeps one
    apart from its confirmed deliveries)."""
    return int(getattr(sender, "srt_acked_bytes", sender.acked_bytes))
