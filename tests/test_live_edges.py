"""The process wrappers at the edges of the live path, each against the real program.

FFmpeg, srt-live-transmit and nginx run for real on loopback; ports are picked at run time;
every test ends with no child process left.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from live_helpers import (
    PASSPHRASE,
    DatagramRecorder,
    feed,
    live_children,
    strip_null_tail,
    udp_port,
)

from scte35lab import probe
from scte35lab.errors import ComponentError
from scte35lab.live.errors import (
    SrtConnectionError,
    SrtPassphraseError,
    SrtUrlError,
)
from scte35lab.live.ffmpeg import FFmpegSrtSender, FFmpegTestSource
from scte35lab.live.process import ManagedProcess
from scte35lab.live.rtmp import RtmpServer
from scte35lab.live.srt import SrtEndpoint, SrtListener, SrtSender, SrtStats
from scte35lab.schedule import Store

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("no_child_left")]


def test_srt_sender_delivers_the_ts_byte_for_byte(tmp_path: Path, source_ts: bytes) -> None:
    port = udp_port()
    cap = tmp_path / "cap.ts"
    with SrtListener(port, cap, passphrase=PASSPHRASE):
        sender = SrtSender(SrtEndpoint("127.0.0.1", port, passphrase=PASSPHRASE)).start()
        try:
            sender.wait_connected(5)
            feed(sender, source_ts)
        finally:
            sender.stop()
        time.sleep(0.3)
    assert strip_null_tail(cap.read_bytes()) == source_ts


@pytest.mark.parametrize("sender_cls", [SrtSender, FFmpegSrtSender])
def test_every_srt_payload_is_seven_ts_packets(sender_cls, source_ts: bytes) -> None:
    port = udp_port()
    rec = DatagramRecorder(port).start()
    sender = sender_cls(SrtEndpoint("127.0.0.1", port, latency_ms=200))
    try:
        sender.start()
        # odd-sized writes: the sender side must still cut whole 1316-byte units
        feed(sender, source_ts[: 1316 * 300], chunk=564 * 3 + 188)
        sender.wait_connected(5)
        time.sleep(0.5)
    finally:
        sender.stop()
        time.sleep(0.3)
        rec.stop()
    assert sum(rec.sizes.values()) >= 250
    assert set(rec.sizes) == {1316}, rec.sizes
    assert strip_null_tail(bytes(rec.data)) == source_ts[: 1316 * 300]


def test_srt_stats_are_rates_per_second_and_running_totals(source_ts: bytes) -> None:
    port = udp_port()
    rec = DatagramRecorder(port).start()
    sender = SrtSender(SrtEndpoint("127.0.0.1", port), stats_every=20)
    try:
        sender.start()
        sender.wait_connected(5)
        feed(sender, source_ts, rate_bps=2e6)  # ~2.4 s at 2 Mbit/s
        time.sleep(0.5)
    finally:
        sender.stop()
        rec.stop()
    samples = sender.stats.samples
    assert len(samples) >= 8
    # 2 Mbit/s of 1316-byte payloads is ~190 packets a second, whatever N the tool used
    steady = [s.packets_per_s for s in samples[2:-2]]
    assert 120 < sum(steady) / len(steady) < 260
    totals = [s.packets_sent for s in samples]
    assert totals == sorted(totals) and totals[-1] >= len(source_ts) // 1316 - 20
    assert all(s.rtt_ms >= 0 for s in samples)
    second = sender.stats.last_second(now=samples[-1].t)
    assert second is not None and second["srt_pkt_loss"] == 0


def test_srt_stats_parser_turns_interval_counts_into_rates() -> None:
    stats = SrtStats()
    a = stats.feed_line(
        '{"time":1000,"link":{"rtt":2.5,"bandwidth":11.0},'
        '"send":{"packets":100,"packetsUnique":98,"packetsRetransmitted":2,"mbitRate":1.0}}'
    )
    b = stats.feed_line(
        '{"time":1500,"link":{"rtt":3.0,"bandwidth":12.0},'
        '"send":{"packets":100,"packetsUnique":100,"packetsLost":1,"mbitRate":2.1}}'
    )
    assert a is not None and b is not None
    assert b.interval_s == pytest.approx(0.5)
    assert b.packets_per_s == pytest.approx(200.0)
    assert (b.packets_sent, b.packets_retransmitted, b.packets_lost) == (200, 2, 1)
    assert b.payload_bytes_sent == 198 * 1316
    assert stats.feed_line("not json") is None


@pytest.mark.parametrize("sender_cls", [SrtSender, FFmpegSrtSender])
def test_wrong_passphrase_is_a_passphrase_error(sender_cls, tmp_path: Path, source_ts) -> None:
    port = udp_port()
    with SrtListener(port, tmp_path / "cap.ts", passphrase=PASSPHRASE):
        sender = sender_cls(SrtEndpoint("127.0.0.1", port, passphrase="not the right one"))
        try:
            sender.start()
            sender.write(source_ts[: 1316 * 20])
            with pytest.raises(SrtPassphraseError, match=r"127\.0\.0\.1:\d+.*passphrase") as exc:
                sender.wait_connected(8)
            assert "not the right one" not in str(exc.value)
            assert all("not the right one" not in line for line in sender.process.lines())
        finally:
            sender.stop()


@pytest.mark.parametrize("sender_cls", [SrtSender, FFmpegSrtSender])
def test_refused_connection_names_the_peer(sender_cls, source_ts) -> None:
    port = udp_port()  # nobody listens there
    sender = sender_cls(SrtEndpoint("127.0.0.1", port, connect_timeout_ms=1000))
    try:
        sender.start()
        sender.write(source_ts[: 1316 * 20])
        with pytest.raises(
            SrtConnectionError, match=rf"no SRT listener answered at 127\.0\.0\.1:{port}"
        ):
            sender.wait_connected(8)
    finally:
        sender.stop()


def test_bad_srt_urls_are_url_errors() -> None:
    for url in ("http://example.com:9000", "srt://host-without-port", "srt://h:99999"):
        with pytest.raises(SrtUrlError):
            SrtEndpoint.parse(url)
    with pytest.raises(SrtUrlError, match="passphrase"):
        SrtEndpoint.parse("srt://127.0.0.1:9000?passphrase=secretsecret")
    with pytest.raises(SrtUrlError, match=r"nonexistent\.invalid"):
        SrtSender(SrtEndpoint.parse("srt://nonexistent.invalid:9000")).start()
    assert issubclass(SrtUrlError, ComponentError)


def test_latency_is_milliseconds_for_srt_live_transmit_and_microseconds_for_ffmpeg() -> None:
    ep = SrtEndpoint.parse(
        "srt://10.0.0.1:9000?latency=250&streamid=live/main", passphrase=PASSPHRASE
    )
    assert "latency=250&" in ep.slt_uri() and "streamid=live%2Fmain" in ep.slt_uri()
    assert "latency=250000&" in ep.ffmpeg_url() and "linger=" in ep.ffmpeg_url()
    assert ep.ffmpeg_options() == ["-srt_streamid", "live/main"]
    for shown in (repr(ep), str(ep), ep.display):
        assert PASSPHRASE not in shown


def test_secrets_are_redacted_from_argv_and_output() -> None:
    proc = ManagedProcess(
        "echo",
        ["sh", "-c", f"echo 'url srt://h:1?passphrase={PASSPHRASE}' >&2", "x", PASSPHRASE],
        secrets=[PASSPHRASE],
    ).start()
    proc.wait(5)
    proc.stop()
    assert PASSPHRASE not in proc.display_argv and PASSPHRASE not in repr(proc)
    assert proc.lines() and all(PASSPHRASE not in line for line in proc.lines())
    with pytest.raises(TypeError):
        ManagedProcess("shell", "ffmpeg -i x")  # type: ignore[arg-type]


def test_stop_ends_the_whole_process_group() -> None:
    proc = ManagedProcess("tree", ["sh", "-c", "sleep 60 & sleep 60 & wait"]).start()
    time.sleep(0.3)
    assert len(live_children()) >= 3
    t0 = time.monotonic()
    proc.stop()
    assert time.monotonic() - t0 < 4
    assert live_children() == []


def test_rtmp_publish_with_the_stored_key_hands_on_ts(tmp_path: Path) -> None:
    store = Store(tmp_path / "lab.db")
    store.add_stream("main")
    key = store.new_stream_key("main")
    with RtmpServer(port=0) as server:
        ingest = server.add_stream("main", lambda k: store.verify_stream_key("main", k))
        obs = FFmpegTestSource(f"{server.url}/{key}", duration=7).start()
        try:
            conn = ingest.accept(15)
            assert conn is not None, server.exec_log("main")
            data = bytearray()
            while chunk := conn.recv(65536):
                data += chunk
            conn.close()
        finally:
            obs.stop()
        assert all(key not in " ".join(server.exec_log("main")) for _ in [0])
        assert key not in (tmp_path / "lab.db").read_bytes().decode("latin-1")
    p = probe(bytes(data))
    codecs = set(p.pids["codec"].astype(str))
    assert {"h264", "aac"} <= codecs, p.pids
    assert p.keyframes.shape[0] >= 2
    assert [e.kind for e in server.events] == ["accepted", "done"]


def test_rtmp_wrong_stream_key_is_refused(tmp_path: Path) -> None:
    store = Store(tmp_path / "lab.db")
    store.add_stream("main")
    store.new_stream_key("main")
    with RtmpServer(port=0) as server:
        ingest = server.add_stream("main", lambda k: store.verify_stream_key("main", k))
        obs = FFmpegTestSource(f"{server.url}/wrong-key-123456", duration=5).start()
        try:
            assert obs.wait(15) not in (0, None)
            assert ingest.accept(1) is None
        finally:
            obs.stop()
    assert [e.kind for e in server.events] == ["rejected"]
    assert all("wrong-key-123456" not in line for line in obs.lines())


def test_rtmp_server_port_in_use_is_an_rtmp_error(tmp_path: Path) -> None:
    with RtmpServer(port=0) as first:
        second = RtmpServer(port=first.port)
        with pytest.raises(ComponentError, match=str(first.port)):
            second.start()


def test_srt_sender_in_listener_mode_lets_the_distributor_pull(tmp_path: Path, source_ts) -> None:
    port = udp_port()
    cap = tmp_path / "pulled.ts"
    sender = SrtSender(SrtEndpoint.parse(f"srt://:{port}?mode=listener"), name="srt-pull")
    sender.start()
    puller = ManagedProcess(
        "puller",
        ["srt-live-transmit", f"srt://127.0.0.1:{port}?mode=caller", "file://con"],
        stdout=cap,
    )
    try:
        time.sleep(0.3)
        puller.start()
        sender.wait_connected(5)
        feed(sender, source_ts)
    finally:
        sender.stop()
        time.sleep(0.3)
        puller.stop()
    assert strip_null_tail(cap.read_bytes()) == source_ts
