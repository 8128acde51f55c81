"""The in-process libsrt sender: the binding's struct layout, and delivery states that hold.

Real components only, on loopback: libsrt itself (an in-process receiver where the test must
see both ends, or must have no child process at all), ``srt-live-transmit`` as the listening
distributor writing to a file, and ``LossyHop`` for loss.
"""

from __future__ import annotations

import ctypes
import logging
import os
import secrets
import signal
import threading
import time
from pathlib import Path

import pytest
from live_helpers import PASSPHRASE, LossyHop, feed, live_children, strip_null_tail, udp_port

from scte35lab.live import srtlib
from scte35lab.live.errors import (
    SrtConnectionError,
    SrtPassphraseError,
    SrtUrlError,
    ToolMissingError,
)
from scte35lab.live.srt import SRT_CHUNK, SrtEndpoint, SrtListener
from scte35lab.live.srtsend import MAX_RUNS, DeliveryLedger, LibSrtSender

pytestmark = pytest.mark.usefixtures("no_child_left")

WIRE = SRT_CHUNK + srtlib.SRT_DATA_HDR_SIZE  # what libsrt counts a 1316-byte packet as


class InProcessReceiver:
    """An SRT listener on libsrt in this process, keeping what it receives (no child)."""

    def __init__(self, port: int, *, passphrase: str | None = None, latency_ms: int = 120) -> None:
        self.lib = srtlib.load()
        self.port = port
        self.data = bytearray()
        self.messages = 0
        self.conn = srtlib.SRT_INVALID_SOCK
        self._stop = threading.Event()
        self.sock = self.lib.srt_create_socket()
        assert srtlib.set_int(self.lib, self.sock, srtlib.SRTO_TRANSTYPE, srtlib.SRTT_LIVE)
        assert srtlib.set_int(self.lib, self.sock, srtlib.SRTO_LATENCY, latency_ms)
        assert srtlib.set_int(self.lib, self.sock, srtlib.SRTO_RCVTIMEO, 100)
        if passphrase:
            assert srtlib.set_str(self.lib, self.sock, srtlib.SRTO_PASSPHRASE, passphrase)
        addr = srtlib.sockaddr("127.0.0.1", port)
        assert self.lib.srt_bind(self.sock, addr, len(addr)) == 0, srtlib.last_error(self.lib)
        assert self.lib.srt_listen(self.sock, 1) == 0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self.conn = self.lib.srt_accept(self.sock, None, None)
        if self.conn == srtlib.SRT_INVALID_SOCK:
            return
        buf = ctypes.create_string_buffer(1500)
        while not self._stop.is_set():
            n = self.lib.srt_recvmsg(self.conn, buf, 1500)
            if n > 0:
                self.data += buf.raw[:n]
                self.messages += 1
            elif self.lib.srt_getsockstate(self.conn) != srtlib.SRTS_CONNECTED:
                break

    def wait_messages(self, n: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.messages < n and time.monotonic() < deadline:
            time.sleep(0.01)

    def close(self) -> None:
        self._stop.set()
        self.lib.srt_close(self.sock)
        self._thread.join(2)
        if self.conn != srtlib.SRT_INVALID_SOCK:
            self.lib.srt_close(self.conn)


def caller(port: int, *, latency_ms: int = 120, packet_filter: str | None = None) -> int:
    """A live-mode libsrt caller connected to ``port``."""
    lib = srtlib.load()
    sock = lib.srt_create_socket()
    assert srtlib.set_int(lib, sock, srtlib.SRTO_TRANSTYPE, srtlib.SRTT_LIVE)
    assert srtlib.set_int(lib, sock, srtlib.SRTO_LATENCY, latency_ms)
    if packet_filter:
        assert srtlib.set_str(lib, sock, srtlib.SRTO_PACKETFILTER, packet_filter)
    addr = srtlib.sockaddr("127.0.0.1", port)
    assert lib.srt_connect(sock, addr, len(addr)) == 0, srtlib.last_error(lib)
    return sock


def filled_stats(lib: ctypes.CDLL, sock: int) -> tuple[srtlib.TraceBStats, bytes]:
    """Statistics read into a buffer 64 bytes longer than the struct, pre-filled with 0xAA:
    the struct and the raw buffer (to see how far libsrt wrote)."""
    size = ctypes.sizeof(srtlib.TraceBStats)
    raw = (ctypes.c_ubyte * (size + 64))(*([0xAA] * (size + 64)))
    ptr = ctypes.cast(raw, ctypes.POINTER(srtlib.TraceBStats))
    assert lib.srt_bistats(sock, ptr, 0, 1) == 0, srtlib.last_error(lib)
    return srtlib.TraceBStats.from_buffer_copy(bytes(raw)[:size]), bytes(raw)


def ts_messages(n: int) -> list[bytes]:
    """``n`` distinct 1316-byte payloads of seven TS packets each."""
    out = []
    for i in range(n):
        pkt = bytes([0x47, 0x01, 0x00, 0x10 | (i & 0x0F)]) + i.to_bytes(4, "big") * 46
        out.append(pkt * 7)
    return out


# --------------------------------------------------------------------------- binding


def test_struct_layout_matches_libsrt_counts_after_n_messages() -> None:
    """After N messages both ends' counters, first fields to last, say exactly N, and libsrt
    writes exactly sizeof(SRT_TRACEBSTATS) bytes."""
    lib = srtlib.load()
    assert srtlib.version(lib).startswith("1.5.")
    n = 50
    port = udp_port()
    rx = InProcessReceiver(port, latency_ms=200)
    tx = caller(port, latency_ms=200, packet_filter="fec,cols:10,rows:1")
    try:
        for msg in ts_messages(n):  # paced: ACK/ACKACK pairs give an RTT measurement
            assert lib.srt_sendmsg(tx, msg, len(msg), -1, 0) == SRT_CHUNK
            time.sleep(0.01)
        rx.wait_messages(n, 5)
        assert rx.messages == n
        deadline = time.monotonic() + 3
        while srtlib.get_int(lib, tx, srtlib.SRTO_SNDDATA) and time.monotonic() < deadline:
            time.sleep(0.01)
        s, raw = filled_stats(lib, tx)
        r, rraw = filled_stats(lib, rx.conn)
    finally:
        lib.srt_close(tx)
        rx.close()
    size = ctypes.sizeof(srtlib.TraceBStats)
    # the library wrote up to the struct's end and not a byte further
    assert rraw[size:] == b"\xaa" * 64 and raw[size:] == b"\xaa" * 64
    assert rraw[size - 8 : size] == (n * WIRE).to_bytes(8, "little")  # byteRecvUnique, last
    # sender: the first block, the filter block and the 1.5.0 block at the end
    assert 0 < s.msTimeStamp < 10_000
    assert s.pktSentUniqueTotal == n and s.pktSentUnique == n
    assert s.byteSentUniqueTotal == n * WIRE and s.byteSentUnique == n * WIRE
    assert s.pktSndFilterExtraTotal == n // 10  # one row-FEC packet per 10
    assert s.pktSentTotal == n + s.pktRetransTotal + s.pktSndFilterExtraTotal
    assert s.pktRecvTotal == 0 and s.pktRecvUniqueTotal == 0 and s.byteRecvUnique == 0
    assert s.pktSndDropTotal == 0 and s.byteSndDropTotal == 0
    assert s.pktRecvACKTotal > 0 and s.pktSentACKTotal == 0
    assert 0 < s.msRTT < 50  # loopback (libsrt starts from 100 ms until measured)
    assert s.byteMSS == 1500
    assert s.msSndTsbPdDelay == 200 and s.msRcvTsbPdDelay == 200
    assert s.pktSndBuf == 0 and s.byteSndBuf == 0 and s.buffer_read()
    assert s.byteAvailSndBuf > 0 and s.pktFlowWindow > 0
    # receiver: the same exchange seen from the other end
    assert r.pktRecvUniqueTotal == n and r.pktRecvUnique == n
    assert r.byteRecvUniqueTotal == n * WIRE and r.byteRecvUnique == n * WIRE
    assert r.pktRcvFilterExtraTotal == n // 10 and r.pktRcvFilterLossTotal == 0
    assert r.pktSentUniqueTotal == 0 and r.pktSentACKTotal > 0
    assert r.pktRcvDropTotal == 0 and r.byteRcvUndecryptTotal == 0 and r.pktRcvUndecrypt == 0
    assert bytes(rx.data) == b"".join(ts_messages(n))


def test_unacknowledged_packets_show_in_snd_buf_and_sndd_data_alike() -> None:
    """With every data packet lost, the send buffer holds exactly what was sent: pktSndBuf,
    byteSndBuf (44 header bytes a packet) and SRTO_SNDDATA agree."""
    lib = srtlib.load()
    k = 30
    port = udp_port()
    rx = InProcessReceiver(port, latency_ms=400)
    hop = LossyHop(port, loss=1.0)
    tx = caller(hop.port, latency_ms=400)
    try:
        for msg in ts_messages(k):
            assert lib.srt_sendmsg(tx, msg, len(msg), -1, 0) == SRT_CHUNK
        time.sleep(0.3)
        s, _ = filled_stats(lib, tx)
        snddata = srtlib.get_int(lib, tx, srtlib.SRTO_SNDDATA)
    finally:
        lib.srt_close(tx)
        rx.close()
        hop.close()
    assert s.pktSndBuf == k == snddata
    assert s.byteSndBuf == k * WIRE
    assert s.pktSentUniqueTotal == k and s.pktSndDropTotal == 0
    # no packet reached the receiver: no loss report, so nothing to retransmit in live mode
    assert s.pktSentTotal == k and s.pktRetransTotal == 0 and s.pktSndLossTotal == 0
    assert s.pktFlightSize == k
    assert 0 < s.msSndBuf <= 400 and s.msSndTsbPdDelay == 400
    assert rx.messages == 0


# --------------------------------------------------------------------------- errors


def _endpoint(port: int, **kw) -> SrtEndpoint:
    kw.setdefault("passphrase", PASSPHRASE)
    return SrtEndpoint("127.0.0.1", port, **kw)


@pytest.mark.slow
def test_a_wrong_passphrase_is_a_named_passphrase_error(tmp_path: Path) -> None:
    port = udp_port()
    with SrtListener(port, tmp_path / "rx.ts", passphrase=PASSPHRASE):
        sender = LibSrtSender(_endpoint(port, passphrase="not the right one at all")).start()
        with pytest.raises(SrtPassphraseError, match="passphrase"):
            sender.wait_connected(5)
        assert isinstance(sender.failure(), SrtPassphraseError)
        assert not sender.running and not sender.connected.is_set()
        sender.stop()
        missing = LibSrtSender(_endpoint(port, passphrase=None)).start()
        with pytest.raises(SrtPassphraseError):
            missing.wait_connected(5)
        missing.stop()


def test_no_listener_is_a_connection_error_within_the_connect_timeout() -> None:
    sender = LibSrtSender(_endpoint(udp_port(), connect_timeout_ms=800)).start()
    t0 = time.monotonic()
    with pytest.raises(SrtConnectionError, match="no SRT listener answered"):
        sender.wait_connected(5)
    assert time.monotonic() - t0 < 1.5
    assert isinstance(sender.failure(), SrtConnectionError)
    sender.stop()


def test_an_unresolvable_host_is_a_url_error() -> None:
    sender = LibSrtSender(SrtEndpoint("no-such-host.invalid", 9000))
    with pytest.raises(SrtUrlError, match=r"no-such-host\.invalid"):
        sender.start()


@pytest.mark.slow
def test_a_packet_filter_mismatch_is_a_url_error(tmp_path: Path) -> None:
    port = udp_port()
    with SrtListener(
        port, tmp_path / "rx.ts", passphrase=PASSPHRASE, packet_filter="fec,cols:10,rows:5"
    ):
        sender = LibSrtSender(_endpoint(port, packet_filter="fec,cols:8,rows:4")).start()
        with pytest.raises(SrtUrlError, match="packet filter"):
            sender.wait_connected(5)
        sender.stop()


# --------------------------------------------------------------------------- delivery


def _message_ends(written: int) -> range:
    return range(SRT_CHUNK, written + 1, SRT_CHUNK)


@pytest.mark.slow
def test_everything_written_is_acknowledged_and_arrives_byte_exact(
    tmp_path: Path, source_ts: bytes
) -> None:
    port = udp_port()
    out = tmp_path / "rx.ts"
    data = source_ts[: len(source_ts) // 2 // 188 * 188]  # three seconds, whole TS packets
    with SrtListener(port, out, passphrase=PASSPHRASE):
        sender = LibSrtSender(_endpoint(port, latency_ms=120)).start()
        sender.wait_connected(5)
        feed(sender, data, rate_bps=len(source_ts) * 8 / 6)
        pending = sender.delivery(len(data))
        t0 = time.monotonic()
        sender.stop()
        stop_s = time.monotonic() - t0
        time.sleep(0.3)
    assert pending == ("pending", None)
    assert stop_s < 1.5
    assert sender.written_bytes == sender.acked_bytes == len(data)
    assert sender.dropped_bytes == 0 and sender.unconfirmed_bytes == 0
    states = [sender.delivery(e) for e in [*_message_ends(len(data)), len(data)]]
    assert {s for s, _ in states} == {"acked"}
    times = [t for _, t in states]
    assert times == sorted(times) and times[-1] <= time.monotonic()
    received = out.read_bytes()
    assert strip_null_tail(received) == data
    assert len(received) - len(data) < SRT_CHUNK  # only the null packets of the last message
    assert sender.failure() is None and sender.disconnected.is_set()
    row = sender.stats.last_second()
    assert row is not None and row["srt_bytes_acked"] > 0 and row["srt_rtt_ms"] >= 0
    assert set(row) >= {"srt_send_rate_mbps", "srt_pkt_loss", "srt_buffer_ms", "srt_fec_sent"}
    assert len(sender.stats.frame()) >= 2


def _stream_until_the_listener_goes(
    tmp_path: Path, source_ts: bytes, how: str
) -> tuple[LibSrtSender, bytes, float, list[str]]:
    """Feed the source at real time; after 2 s the listener is stopped (``how="stop"``: it
    closes, dropping what it still buffers) or frozen (``"freeze"``: it falls silent, like
    a cut network; thawed and stopped after the sender gave up). Returns the sender after
    ``stop()``, the bytes received, how long the sender took to notice, and its states."""
    port = udp_port()
    out = tmp_path / "rx.ts"
    listener = SrtListener(port, out, passphrase=PASSPHRASE).start()
    states: list[str] = []
    sender = LibSrtSender(
        _endpoint(port, latency_ms=120, peer_idle_timeout_ms=1500), on_state=states.append
    ).start()
    sender.wait_connected(5)
    rate = len(source_ts) * 8 / 6
    feeder = threading.Thread(target=feed, args=(sender, source_ts), kwargs={"rate_bps": rate})
    feeder.start()
    noticed = float("inf")
    try:
        time.sleep(2.0)
        assert listener.process is not None
        if how == "freeze":
            os.kill(listener.process.pid, signal.SIGSTOP)
        else:
            listener.stop()
        gone = time.monotonic()
        if sender.disconnected.wait(2.5):
            noticed = time.monotonic() - gone
    finally:
        if how == "freeze" and listener.process is not None:
            os.kill(listener.process.pid, signal.SIGCONT)
        feeder.join(10)
        sender.stop()
        listener.stop()
    return sender, out.read_bytes(), noticed, states


def _assert_every_acked_byte_arrived(sender: LibSrtSender, sent: bytes, received: bytes) -> None:
    written, acked = sender.written_bytes, sender.acked_bytes
    assert 0 < acked <= written
    assert sender.dropped_bytes > 0  # what came after the break was never handed to libsrt
    ends = list(_message_ends(len(sent)))
    acked_ends = [e for e in ends if sender.delivery(e)[0] == "acked"]
    assert acked_ends == list(_message_ends(acked))  # here the acked messages are a prefix
    assert len(received) >= acked
    assert received[:acked] == sent[:acked]
    assert written - acked >= written - len(received) - SRT_CHUNK
    after = {sender.delivery(e)[0] for e in ends if e > acked}
    assert after <= {"unconfirmed", "dropped"}


@pytest.mark.slow
def test_a_listener_stopped_midstream_leaves_no_acked_byte_unreceived(
    tmp_path: Path, source_ts: bytes
) -> None:
    """The listener closes (its last ~latency of acknowledged packets never reach its file):
    the sender notices at once, and no byte it calls acked is missing from the file."""
    sender, received, noticed, states = _stream_until_the_listener_goes(tmp_path, source_ts, "stop")
    err = sender.failure()
    assert isinstance(err, SrtConnectionError) and "went away" in str(err)
    assert states == ["connected", "disconnected"]
    assert noticed < 1.5
    _assert_every_acked_byte_arrived(sender, source_ts, received)


@pytest.mark.slow
def test_a_silent_listener_is_noticed_within_the_peer_idle_timeout(
    tmp_path: Path, source_ts: bytes
) -> None:
    sender, received, noticed, states = _stream_until_the_listener_goes(
        tmp_path, source_ts, "freeze"
    )
    err = sender.failure()
    assert isinstance(err, SrtConnectionError) and "went away" in str(err)
    assert states == ["connected", "disconnected"]
    assert 1.0 < noticed < 1.5 + 0.5  # SRTO_PEERIDLETIMEO=1500 ms, plus libsrt's timer tick
    _assert_every_acked_byte_arrived(sender, source_ts, received)


@pytest.mark.slow
def test_through_five_percent_loss_no_message_is_acked_that_did_not_arrive(
    tmp_path: Path, source_ts: bytes
) -> None:
    port = udp_port()
    out = tmp_path / "rx.ts"
    data = source_ts[: len(source_ts) * 2 // 3 // SRT_CHUNK * SRT_CHUNK]
    with SrtListener(port, out, passphrase=PASSPHRASE):
        hop = LossyHop(port, loss=0.05)
        try:
            sender = LibSrtSender(_endpoint(hop.port, latency_ms=200)).start()
            sender.wait_connected(5)
            feed(sender, data, rate_bps=len(source_ts) * 8 / 6)
            sender.stop()
            time.sleep(0.4)
        finally:
            hop.close()
    assert hop.dropped > 0
    received = out.read_bytes()
    got = {received[i : i + SRT_CHUNK] for i in range(0, len(received), SRT_CHUNK)}
    acked = [e for e in _message_ends(len(data)) if sender.delivery(e)[0] == "acked"]
    assert acked, "nothing was acknowledged"
    missing = [e for e in acked if data[e - SRT_CHUNK : e] not in got]
    assert missing == []
    assert sender.acked_bytes == len(acked) * SRT_CHUNK
    assert sender.acked_bytes + sender.unconfirmed_bytes == sender.written_bytes == len(data)


# --------------------------------------------------------------------------- secrets


def test_the_passphrase_is_in_no_argv_repr_or_log(caplog: pytest.LogCaptureFixture) -> None:
    secret = "s3cret-" + secrets.token_hex(12)
    port = udp_port()
    caplog.set_level(logging.DEBUG)
    rx = InProcessReceiver(port, passphrase=secret)
    sender = LibSrtSender(SrtEndpoint("127.0.0.1", port, passphrase=secret)).start()
    try:
        sender.wait_connected(5)
        sender.write(b"".join(ts_messages(20)))
        rx.wait_messages(20, 3)
        assert live_children() == []
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    continue
                assert secret.encode() not in cmdline, f"pid {pid}"
        texts = [repr(sender), str(sender), repr(sender.endpoint), str(sender.endpoint)]
    finally:
        sender.stop()
        rx.close()
    assert bytes(rx.data[: 20 * SRT_CHUNK]) == b"".join(ts_messages(20))
    wrong = LibSrtSender(
        SrtEndpoint("127.0.0.1", udp_port(), passphrase=secret, connect_timeout_ms=300)
    ).start()
    with pytest.raises(SrtConnectionError) as info:
        wrong.wait_connected(3)
    wrong.stop()
    texts += [str(info.value), repr(wrong), *(r.getMessage() for r in caplog.records)]
    assert caplog.records, "the sender logs its connection"
    assert not [t for t in texts if secret in t]


# --------------------------------------------------------------------------- the other senders


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["srt-live-transmit", "ffmpeg"])
def test_the_child_process_senders_say_written_never_acked(
    kind: str, tmp_path: Path, source_ts: bytes
) -> None:
    from scte35lab.live.ffmpeg import FFmpegSrtSender
    from scte35lab.live.srt import SrtSender

    port = udp_port()
    data = source_ts[: len(source_ts) // 6 // 188 * 188]  # one second
    cls = SrtSender if kind == "srt-live-transmit" else FFmpegSrtSender
    with SrtListener(port, tmp_path / "rx.ts", passphrase=PASSPHRASE) as listener:
        sender = cls(_endpoint(port)).start()
        try:
            assert sender.acks is False
            if kind == "ffmpeg":
                sender.write(data[:SRT_CHUNK])  # FFmpeg opens its output on the first input
            sender.wait_connected(5)
            end = sender.write(data[SRT_CHUNK:] if kind == "ffmpeg" else data)
            deadline = time.monotonic() + 3
            while sender.delivery(end - end % SRT_CHUNK)[0] == "pending":
                assert time.monotonic() < deadline
                time.sleep(0.05)
            assert sender.delivery(end)[0] == "pending"  # the partial message waits
            listener.stop()
            assert sender.process is not None
            deadline = time.monotonic() + 8
            while sender.running:  # it notices the peer is gone when it next sends, and exits
                assert time.monotonic() < deadline
                sender.write(data[:SRT_CHUNK])
                time.sleep(0.02)
            for _ in range(10):  # the pipe breaks on the first write after the tool exited
                end = sender.write(data[:SRT_CHUNK])
                time.sleep(0.02)
        finally:
            sender.stop()
    assert sender.delivery(end) == ("dropped", None)
    assert sender.delivery(SRT_CHUNK) == ("written", None)
    assert sender.dropped_bytes >= SRT_CHUNK
    assert sender.written_bytes >= len(data) - len(data) % SRT_CHUNK
    states = {sender.delivery(e)[0] for e in range(SRT_CHUNK, end + 1, SRT_CHUNK)}
    assert states <= {"written", "dropped"}


def test_the_delivery_ledger_stays_bounded_and_keeps_every_state() -> None:
    """Settled runs merge when they share a state and poll; past MAX_RUNS the older half
    merges by state, so memory stays bounded while no byte changes state."""
    ledger = DeliveryLedger()
    segs = [ledger.add(SRT_CHUNK, "pending") for _ in range(3 * MAX_RUNS)]
    expect = []
    for i, seg in enumerate(segs):
        state = "unconfirmed" if i % 997 == 0 else "acked"
        t = None if state == "unconfirmed" else float(i // 3)  # three messages a poll
        ledger.settle(seg, state, t)
        expect.append((state, t))
    assert ledger.runs <= MAX_RUNS
    assert ledger.totals["pending"] == 0
    assert ledger.totals["unconfirmed"] == SRT_CHUNK * sum(s == "unconfirmed" for s, _ in expect)
    for i, (state, t) in enumerate(expect):
        got_state, got_t = ledger.state_at(i * SRT_CHUNK + SRT_CHUNK - 1)
        assert got_state == state
        if state == "acked":
            assert got_t is not None and got_t >= t  # merged runs keep their latest time
    recent = len(expect) - 10
    assert ledger.state_at(recent * SRT_CHUNK) == expect[recent]  # recent runs stay exact


def test_a_missing_libsrt_names_the_debian_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(srtlib, "LIBRARY_NAMES", ("libsrt-not-installed.so.1.5",))
    with pytest.raises(ToolMissingError, match=r"libsrt1\.5-gnutls"):
        srtlib._load_once.__wrapped__()
