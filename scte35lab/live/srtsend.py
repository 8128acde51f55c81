"""The in-process SRT sender on libsrt: it knows, message by message, what the receiver got.

:class:`LibSrtSender` is an SRT caller in this process (see :mod:`scte35lab.live.srtlib`):
the passphrase is a socket option, never a command-line argument, and the library's own
counters say what happened to every byte written.

How acknowledgements are known
------------------------------
One thread owns the socket. It sends whole 1316-byte messages (in live mode one message is
one SRT packet) and counts those libsrt accepted (``handed``). Between sends it polls
``srt_bistats(sock, &s, clear=0, instantaneous=1)`` (every ``poll_interval``, 5 ms, while
anything is unsettled). libsrt keeps every packet in its send buffer, from the moment
``srt_sendmsg`` returns until it is acknowledged or dropped, and removes packets only from
the head, in order (a received ACK moves the head up to its sequence number; a too-late
drop moves it past the dropped ones); ``pktSndBuf`` is the number still there. So
``handed - pktSndBuf`` messages have left the buffer, the oldest first, and the messages
that left between two polls are a known range. ``SRTO_SNDDATA`` reads the same counter
(``getCurrBufSize`` in 1.5.1); measured with every data packet lost on the way, N messages
after sending: ``pktSndBuf == SRTO_SNDDATA == N`` and ``byteSndBuf == N x (1316 + 44)``.
The send buffer counts are read only when libsrt gets its lock at once; a poll where it did
not (all three buffer fields 0) is skipped.

A message that left the buffer is *acknowledged* only when all of these hold, so that
``acked`` is never said without evidence:

1. No sender drop near it: ``pktSndDropTotal`` (which in 1.5.1 counts drop *events*) is the
   same one poll after it left as one poll before. libsrt counts a drop just after it
   changed the buffer, hence the poll of look-ahead. (In 1.5.1 the sender drops only
   inside ``srt_sendmsg``, so on this thread; the look-ahead does not rely on it.)
2. It was acknowledged well before the receiver could have given up on it: a receiver with
   too-late packet drop (the live default) skips a packet it still misses at its play time
   and then acknowledges past it. Its play time is about the SRT latency after sending (the
   receiver's clock for it starts when the handshake reached it, so not sooner), so a
   message whose acknowledgement was seen ``latency - max(20 ms, latency / 4)`` or more
   after it was handed is ``unconfirmed``, never ``acked``. (Measured on loopback: ACKs come
   15-25 ms after sending, p99.9, at 0.8 to 8 Mbit/s; a loaded machine delays a few beyond
   60 ms. Through 5 % loss the receiver skipped a packet near the start in 3 of 5 runs and
   acknowledged past it; each such message came out ``unconfirmed``.)
3. The receiver was alive past the message's play time: a receiver buffers each packet for
   the latency before handing it to its application, and one that closes meanwhile has
   acknowledged bytes its application never got (measured at 0.8 Mbit/s, latency 120 ms:
   ``srt-live-transmit`` stopped mid-stream had acknowledged ten messages, 130 ms, that never
   reached its file). So the message waits until an ACK arrives that the receiver sent
   later than ``handed + latency + RTT + 50 ms``. During a stream ACKs come
   every 10 ms; when the input pauses (longer than the latency plus 0.1 s) at a message
   boundary, the thread sends one message of null TS packets (a *probe*, counted in
   ``padding_bytes``) to get one. Probes go only between whole messages, so the TS bytes
   written arrive unchanged and in order; ``stop()`` ends with one when needed.

A message is ``acked`` at the poll where the last condition is met (``t`` of
:meth:`LibSrtSender.delivery`).

A silent peer is noticed within ``peer_idle_timeout_ms`` (default 5 s): libsrt 1.5.1 breaks
the connection only after 16 expirations of a timer that grows by at least 300 ms each
(measured: 5.1 s with ``SRTO_PEERIDLETIMEO=1500``), so the thread also gives up when data
has waited in the send buffer that long without an ACK or NAK from the peer.

When the socket turns BROKEN or CLOSED, every message still
unsettled is ``unconfirmed`` (it may or may not have arrived); messages still queued, and
bytes written while not connected or beyond the queue bound, are ``dropped``: never handed
to libsrt. Settled ranges are kept by :class:`~scte35lab.live.srtledger.DeliveryLedger`;
the socket is made and connected by :mod:`scte35lab.live.srtsocket`, and the per-second
statistics come from :mod:`scte35lab.live.srtsamples`.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from scte35lab.errors import ComponentError
from scte35lab.live import srtlib
from scte35lab.live.errors import SrtConnectionError, SrtUrlError
from scte35lab.live.sender import Sender
from scte35lab.live.srtendpoint import SRT_CHUNK, TS_PACKET, SrtEndpoint, srt_error
from scte35lab.live.srtledger import MAX_RUNS, STATES, DeliveryLedger, Msg  # noqa: F401 (names srtsend gives)
from scte35lab.live.srtsamples import LibSrtSample, LibSrtStats, sample_of  # noqa: F401 (as above)
from scte35lab.live.srtsocket import configured_socket, connect

log = logging.getLogger(__name__)

NULL_PACKET = bytes([0x47, 0x1F, 0xFF, 0x10]) + b"\xff" * 184
_ALIVE_MARGIN_S = 0.05  # receiver's application picks a released packet up within this
_PROBE = NULL_PACKET * (SRT_CHUNK // TS_PACKET)


@dataclass
class _Poll:
    t: float
    drops: int  # pktSndDropTotal
    acks: int  # pktRecvACKTotal
    replies: int  # ACKs and NAKs received: the peer's signs of life


class LibSrtSender(Sender):
    """An SRT caller on libsrt in this process, with exact per-message delivery states.

    ``write()`` never blocks: it cuts the TS into 1316-byte messages and queues them for the
    sending thread (or drops them, counted, when not connected or when more than
    ``max_queue_bytes`` wait). :meth:`delivery` says what became of any written byte.
    """

    stats_available = True
    acks = True
    tool = "libsrt"

    def __init__(
        self,
        endpoint: SrtEndpoint,
        *,
        name: str = "srt-sender",
        on_state: Callable[[str], None] | None = None,
        max_queue_bytes: int = 2 << 20,
        poll_interval: float = 0.005,
    ) -> None:
        if endpoint.mode != "caller":
            raise SrtUrlError(
                f"the libsrt sender calls its peer; {endpoint.display} asks it to listen "
                "(use mode=caller, or the srt-live-transmit sender)"
            )
        self.endpoint = endpoint
        self.name = name
        self.stats = LibSrtStats()
        self.connected = threading.Event()
        self.disconnected = threading.Event()
        self.padding_bytes = 0  # null packets added by flush() and probes
        self._on_state = on_state
        self._max_queue = max_queue_bytes
        self._poll_interval = poll_interval
        self._ledger = DeliveryLedger()
        self._cond = threading.Condition(self._ledger.lock)
        self._remainder = bytearray()
        self._queue: collections.deque[Msg] = collections.deque()
        self._queued_bytes = 0
        self._sock = srtlib.SRT_INVALID_SOCK
        self._lib: ctypes.CDLL | None = None
        self._address = ""
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._abort = threading.Event()
        self._failure: ComponentError | None = None
        self._finished = threading.Event()
        self._handed_pending = 0  # stream bytes handed to libsrt, not settled
        self._srt_acked = 0  # stream bytes of messages libsrt saw acknowledged (left cleanly)
        self._sent: collections.deque[Msg] = collections.deque()  # in libsrt's send buffer
        self._left: collections.deque[Msg] = collections.deque()  # left it, not settled
        self._judge: list[Msg] = []  # left at the last poll: judged at the next

    def __repr__(self) -> str:
        state = "connected" if self.connected.is_set() else "not connected"
        return f"<{type(self).__name__} {self.tool} -> {self.endpoint.display} {state}>"

    # ------------------------------------------------------------------ public face

    def start(self) -> LibSrtSender:
        """Resolve the host, create and configure the socket, connect in the background."""
        self._address = self.endpoint.resolve()
        self._lib = srtlib.load()
        self._sock = configured_socket(self._lib, self.endpoint)
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        """From ``start()`` until the connection failed or closed."""
        return self._thread is not None and not self._finished.is_set()

    def failure(self) -> ComponentError | None:
        """Why the sender stopped, once it has (``None`` while running or after ``stop()``)."""
        return None if self.running else self._failure

    def wait_connected(self, timeout: float = 10.0) -> None:
        """Return once connected; raise the error naming why not (or a timeout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.connected.wait(0.02):
                return
            if self._finished.is_set():
                raise self._failure or SrtConnectionError(f"{self.name} stopped before connecting")
        raise srt_error("refused", self.endpoint, f"not connected after {timeout:g} s")

    def write(self, data: bytes) -> int:
        """Queue TS bytes; returns the stream offset just past them. Never blocks."""
        with self._cond:
            up = self.connected.is_set() and not self.disconnected.is_set()
            if not up or self._stopping.is_set():
                self._drop_remainder()
                if data:
                    self._ledger.add(len(data), "dropped")
                return self._end()
            self._remainder += data
            whole = len(self._remainder) - len(self._remainder) % SRT_CHUNK
            if whole and self._queued_bytes + whole > self._max_queue:
                self._drop_remainder()
                return self._end()
            for i in range(0, whole, SRT_CHUNK):
                seg = self._ledger.add(SRT_CHUNK, "pending")
                self._queue.append(Msg(seg, bytes(self._remainder[i : i + SRT_CHUNK])))
            if whole:
                self._queued_bytes += whole
                del self._remainder[:whole]
                self._cond.notify()
            return self._end()

    def flush(self) -> None:
        """Pad the remainder (its whole TS packets) with null packets to a whole message."""
        with self._cond:
            rem = len(self._remainder)
            whole_packets = rem - rem % TS_PACKET
            up = self.connected.is_set() and not self.disconnected.is_set()
            if not whole_packets or not up:
                self._drop_remainder()
                return
            pad = SRT_CHUNK - whole_packets
            data = bytes(self._remainder[:whole_packets]) + NULL_PACKET * (pad // TS_PACKET)
            self._queue.append(Msg(self._ledger.add(whole_packets, "pending"), data))
            self._queued_bytes += SRT_CHUNK
            self.padding_bytes += pad
            if rem > whole_packets:
                self._ledger.add(rem - whole_packets, "dropped")  # a torn TS packet: not sent
            self._remainder.clear()
            self._cond.notify()

    def delivery(self, end: int) -> tuple[str, float | None]:
        """The state of the message holding stream byte ``end - 1``: ``("acked", t)``,
        ``("pending", None)``, ``("unconfirmed", None)`` or ``("dropped", None)``."""
        with self._cond:
            if not 0 < end <= self._end():
                raise ValueError(f"offset {end} is outside the stream written (0, {self._end()}]")
            return self._ledger.state_at(end - 1)

    @property
    def written_bytes(self) -> int:
        """Stream bytes in messages libsrt accepted."""
        with self._cond:
            t = self._ledger.totals
            return t["acked"] + t["unconfirmed"] + self._handed_pending

    @property
    def srt_acked_bytes(self) -> int:
        """Stream bytes of messages that left libsrt's send buffer by the receiver's ACK
        (no drop among them): what the receiver's SRT got, whether or not it lived to
        play it out. The byte count of an outage is written minus this."""
        with self._cond:
            return self._srt_acked

    @property
    def acked_bytes(self) -> int:
        """Stream bytes of messages the receiver acknowledged (see the module docstring)."""
        with self._cond:
            return self._ledger.totals["acked"]

    @property
    def unconfirmed_bytes(self) -> int:
        """Stream bytes handed to libsrt whose arrival cannot be confirmed."""
        with self._cond:
            return self._ledger.totals["unconfirmed"]

    @property
    def dropped_bytes(self) -> int:
        """Bytes given to ``write()`` that were never handed to libsrt."""
        with self._cond:
            return self._ledger.totals["dropped"]

    @property
    def ledger_runs(self) -> int:
        """How many settled runs the ledger holds (its memory)."""
        with self._cond:
            return self._ledger.runs

    def stop(self, timeout: float = 3.0) -> None:
        """Flush, send what is queued, wait (up to ``timeout``) until every message is
        settled, then close. Afterwards :meth:`delivery` is final."""
        if self._thread is None:
            return
        if self.connected.is_set():
            self.flush()
        else:
            with self._cond:
                self._drop_remainder()
        self._stopping.set()
        with self._cond:
            self._cond.notify()
        if not self.connected.is_set() and self._lib is not None and not self._finished.is_set():
            self._abort.set()
            self._lib.srt_close(self._sock)  # ends a connect in progress
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._abort.set()
            with self._cond:
                self._cond.notify()
            self._thread.join(2.0)

    # ------------------------------------------------------------------ internals

    def _end(self) -> int:
        return self._ledger.offset + len(self._remainder)

    def _drop_remainder(self) -> None:
        if self._remainder:
            self._ledger.add(len(self._remainder), "dropped")
            self._remainder.clear()

    def _state(self, state: str) -> None:
        log.info("%s: %s %s", self.name, state, self.endpoint.display)
        if self._on_state is not None:
            self._on_state(state)

    def _run(self) -> None:
        lib = self._lib
        assert lib is not None
        try:
            failure = connect(lib, self._sock, self._address, self.endpoint)
            if failure is not None:
                if not self._abort.is_set():  # stop() closed the socket: no failure
                    self._failure = failure
                return
            self.connected.set()
            self._state("connected")
            self._pump(lib)
        except Exception as exc:
            log.exception("%s: sending thread failed", self.name)
            self._failure = SrtConnectionError(f"{self.name}: sending failed: {exc}")
        finally:
            with self._cond:
                self._settle_all()
            with contextlib.suppress(Exception):
                lib.srt_close(self._sock)
            if self.connected.is_set():
                self.disconnected.set()
                self._state("disconnected")
            self._finished.set()

    def _settle_all(self) -> None:
        """The end: handed and unsettled -> unconfirmed; queued or partial -> dropped."""
        for msg in (*self._left, *self._sent):
            self._settle(msg, "unconfirmed", None)
        self._left.clear()
        self._sent.clear()
        self._judge.clear()
        while self._queue:
            msg = self._queue.popleft()
            if msg.seg is not None:
                self._ledger.settle(msg.seg, "dropped")
        self._queued_bytes = 0
        self._drop_remainder()

    def _settle(self, msg: Msg, state: str, t: float | None) -> None:
        if msg.seg is not None:
            self._handed_pending -= msg.seg.end - msg.seg.start
            self._ledger.settle(msg.seg, state, t)

    def _send(self, lib: ctypes.CDLL, msg: Msg) -> bool:
        """Hand one message to libsrt; on refusal its bytes are ``dropped``."""
        msg.handed = time.monotonic()
        ok = lib.srt_sendmsg(self._sock, msg.data, len(msg.data), -1, 0) == len(msg.data)
        with self._cond:
            if ok:
                self._sent.append(msg)
                if msg.seg is not None:
                    self._handed_pending += msg.seg.end - msg.seg.start
                else:
                    self.padding_bytes += len(msg.data)
            elif msg.seg is not None:
                self._ledger.settle(msg.seg, "dropped")
        return ok

    def _pump(self, lib: ctypes.CDLL) -> None:
        """The sending thread's loop: send, poll the statistics, settle, sample."""
        sock = self._sock
        latency_s = (srtlib.get_int(lib, sock, srtlib.SRTO_PEERLATENCY) or 120) / 1000
        # a receiver skips a packet no sooner than its play time, ~latency after sending
        skip_guard = latency_s - max(0.02, latency_s / 4)
        idle_s = (self.endpoint.peer_idle_timeout_ms or 5000) / 1000
        heard = time.monotonic()  # when the peer last answered
        busy_since: float | None = None  # since when data has waited in the send buffer
        handed = 0  # messages libsrt accepted
        left = 0  # of those, how many have left its send buffer
        prev: _Poll | None = None
        alive_at = float("-inf")
        last_send = last_probe = time.monotonic()
        next_sample = last_send + 1.0
        prev_sample: tuple[float, srtlib.TraceBStats] | None = None
        while True:
            with self._cond:
                if not self._queue and not self._abort.is_set():
                    if self._stopping.is_set() and not self._sent and not self._left:
                        return
                    busy = self._sent or self._left
                    self._cond.wait(self._poll_interval if busy else 0.1)
                batch = list(self._queue)
                self._queue.clear()
                self._queued_bytes = 0
            if self._abort.is_set():
                with self._cond:
                    self._queue.extendleft(reversed(batch))
                return
            for msg in batch:
                if self._send(lib, msg):
                    handed += 1
                    last_send = msg.handed
            now = time.monotonic()
            state = lib.srt_getsockstate(sock)
            if state != srtlib.SRTS_CONNECTED:
                if not self._stopping.is_set() or self._sent or self._left:
                    self._failure = srt_error(
                        "gone",
                        self.endpoint,
                        f"socket {srtlib.SOCKET_STATES.get(state, state)} with "
                        f"{len(self._sent) + len(self._left)} messages unacknowledged",
                    )
                return
            s = srtlib.bistats(lib, sock)
            if s is None or not s.buffer_read():
                continue
            rtt_s = s.msRTT / 1000
            poll = _Poll(
                now, s.pktSndDropTotal, s.pktRecvACKTotal, s.pktRecvACKTotal + s.pktRecvNAKTotal
            )
            if prev is not None and poll.replies > prev.replies:
                heard = now
            with self._cond:
                if prev is not None and poll.acks > prev.acks:
                    alive_at = max(alive_at, prev.t - rtt_s)
                # (1, 2) judge the messages seen leaving at the previous poll
                for msg in self._judge:
                    msg.clean = (
                        poll.drops == msg.drops_before and msg.left_t - msg.handed < skip_guard
                    )
                    if poll.drops == msg.drops_before and msg.seg is not None:
                        self._srt_acked += msg.seg.end - msg.seg.start
                self._judge.clear()
                # the messages that left the send buffer since then: the oldest ones
                for _ in range(max(handed - s.pktSndBuf - left, 0)):
                    msg = self._sent.popleft()
                    msg.left_t = now
                    msg.drops_before = prev.drops if prev is not None else poll.drops
                    self._left.append(msg)
                    self._judge.append(msg)
                    left += 1
                if not self._sent:
                    busy_since = None
                elif busy_since is None:
                    busy_since = self._sent[0].handed
                silent = busy_since is not None and now - max(heard, busy_since) > idle_s
                if silent:
                    self._failure = srt_error(
                        "gone",
                        self.endpoint,
                        f"no answer for {now - max(heard, busy_since or now):.1f} s "
                        f"with {len(self._sent)} messages unacknowledged",
                    )
                    return
                # (3) settle from the head, in order
                while self._left and self._left[0].clean is not None:
                    msg = self._left[0]
                    if msg.clean and msg.seg is not None:
                        if alive_at < msg.handed + latency_s + rtt_s + _ALIVE_MARGIN_S:
                            break
                        self._settle(msg, "acked", now)
                    elif msg.seg is not None:
                        self._settle(msg, "unconfirmed", None)
                    self._left.popleft()
                # the input paused at a message boundary while a message waits to be seen
                # alive: queue a probe (queued, so it keeps its place before later data)
                pause = latency_s + rtt_s + 0.1
                if (
                    self._left
                    and self._left[0].clean is True
                    and not self._queue
                    and not self._remainder
                    and now - max(last_send, last_probe) > pause
                ):
                    last_probe = now
                    self._queue.append(Msg(None, _PROBE))
                unacked = self._handed_pending
                acked = self._ledger.totals["acked"]
            prev = poll
            if now >= next_sample:
                next_sample = now + 1.0
                self.stats.add(sample_of(s, prev_sample, now, unacked, acked))
                prev_sample = (now, s)
