"""SRT forward error correction (libsrt's packet filter) with the real srt-live-transmit.

A sender with ``fec,cols:10,rows:5`` pushes a TS through a UDP hop that loses 3 % of the
data packets to a listener that was told nothing about FEC (libsrt adopts the caller's
filter); the capture must equal what was sent, and both sides' reports must show FEC at
work. Filter strings are checked before any tool starts, the same way libsrt checks them.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from live_helpers import LossyHop, feed, strip_null_tail, udp_port

from scte35lab.live.errors import SrtUrlError
from scte35lab.live.ffmpeg import FFmpegSrtSender
from scte35lab.live.process import ManagedProcess, find_tool
from scte35lab.live.srt import SrtEndpoint, SrtListener, SrtSender, check_packet_filter

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("no_child_left")]
FEC = "fec,cols:10,rows:5"


@pytest.mark.parametrize("side", ["caller", "listener"])
def test_fec_through_three_percent_loss_delivers_every_ts_packet(
    side: str, tmp_path: Path, source_ts: bytes
) -> None:
    """Either side may ask for FEC: the other adopts it (libsrt's handshake)."""
    port = udp_port()
    cap = tmp_path / "capture.ts"
    hop = LossyHop(port, 0.03)
    on_listener = FEC if side == "listener" else None
    on_caller = FEC if side == "caller" else None
    listener = SrtListener(port, cap, latency_ms=300, stats_every=25, packet_filter=on_listener)
    sender = SrtSender(
        SrtEndpoint("127.0.0.1", hop.port, latency_ms=300, packet_filter=on_caller),
        stats_every=25,
    )
    try:
        listener.start()
        sender.start()
        sender.wait_connected(5)
        assert sender.process is not None and listener.process is not None
        shown = (sender if side == "caller" else listener).process.display_argv
        assert "packetfilter=fec,cols:10,rows:5" in shown
        feed(sender, source_ts, rate_bps=3e6)
        time.sleep(0.5)
    finally:
        sender.stop()
        time.sleep(0.3)
        listener.stop()
        hop.close()
    assert hop.dropped > 10
    assert strip_null_tail(cap.read_bytes()) == source_ts
    sent, got = sender.stats.latest, listener.stats.latest
    assert sent is not None and got is not None
    # the link worked: every packet of the TS went out, with a round trip measured
    assert sent.packets_sent >= len(source_ts) // 1316 and sent.rtt_ms > 0
    # FEC was negotiated as configured: one FEC packet per row of 10 and one per column
    # of 5, so about 0.3 per media packet ...
    media = sent.packets_sent - sent.packets_retransmitted - sent.fec_sent
    assert 0.24 < sent.fec_sent / media < 0.34, sent
    # ... which the listener received, and with which it rebuilt lost packets: every gap
    # it saw was filled by FEC or by a retransmission
    assert got.fec_received > 0.5 * sent.fec_sent, got
    assert got.packets_received_lost > 0 and got.fec_rebuilt > 0, got
    assert got.fec_rebuilt + sent.packets_retransmitted >= got.packets_received_lost


def test_without_a_filter_no_fec_packet_is_sent(tmp_path: Path, source_ts: bytes) -> None:
    port = udp_port()
    listener = SrtListener(port, tmp_path / "cap.ts", stats_every=25)
    sender = SrtSender(SrtEndpoint("127.0.0.1", port), stats_every=25)
    try:
        listener.start()
        sender.start()
        sender.wait_connected(5)
        feed(sender, source_ts[: 1316 * 200], rate_bps=4e6)
        time.sleep(0.3)
    finally:
        sender.stop()
        listener.stop()
    sent, got = sender.stats.latest, listener.stats.latest
    assert sent is not None and got is not None  # reports come every 25 packets:
    assert sent.packets_sent >= 175 and got.packets_received >= 175  # the last may not
    assert sent.fec_sent == 0 and got.fec_received == 0


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("xyz,cols:3", "unknown filter type 'xyz'"),
        ("FEC,cols:10", "unknown filter type 'FEC'"),
        ("fec,cols:1", "cols must be 2 or more"),
        ("fec,cols:ten", "cols 'ten' is not a whole number"),
        ("fec,cols:10,rows:0", "rows must be 1 or more"),
        ("fec,cols:10,rows:-1", "rows must be 1 or more"),
        ("fec,cols:10,layout:diagonal", "layout 'diagonal'"),
        ("fec,cols:10,arq:sometimes", "arq 'sometimes'"),
        ("fec,cols:10,depth:4", "unknown FEC parameter 'depth'"),
        ("fec,cols:10,rows:5,", "'' is not KEY:VALUE"),
        ("fec,cols=10", "holds '='"),
        ("fec,cols:10,cols:5", "'cols' is given twice"),
        ("fec,rows:5", "'cols' is required"),
        ("fec,cols: 10", "holds ' '"),
        ("", "is empty"),
    ],
)
def test_a_malformed_packet_filter_is_refused_naming_the_problem(text: str, names: str) -> None:
    with pytest.raises(SrtUrlError, match=re.escape(names)) as err:
        SrtEndpoint("127.0.0.1", 9000, packet_filter=text)
    assert "packet filter" in str(err.value)
    if text and " " not in text:  # the same through the URL option
        with pytest.raises(SrtUrlError, match=re.escape(names)):
            SrtEndpoint.parse(f"srt://127.0.0.1:9000?packetfilter={text}")


LIBSRT_REFUSES = [
    "xyz,cols:3",
    "fec,cols:1",
    "fec,cols:10,rows:0",
    "fec,cols:10,layout:diag",
    "fec,cols:10,arq:sometimes",
    "fec,cols:10,depth:4",
    "fec,cols=10",
]
LIBSRT_TAKES = [
    "fec",
    "fec,cols:10",
    "fec,cols:10,rows:-5",
    "fec,cols:10,rows:5,layout:staircase,arq:onreq",
    "fec,cols:20,rows:1,arq:never",
]


def test_the_filter_check_agrees_with_libsrt() -> None:
    """What is refused early, srt-live-transmit refuses too ("Bad parameters"); what passes,
    it takes. (Stricter here: a repeated key and a missing ``cols`` with other keys.)"""
    for text in LIBSRT_REFUSES + LIBSRT_TAKES:
        port = udp_port()
        uri = f"srt://127.0.0.1:{port}?mode=listener&packetfilter={text}"
        proc = ManagedProcess("filter-check", [find_tool("srt-live-transmit"), uri, "file://con"])
        try:
            proc.start()
            proc.wait(1.0)
            took = proc.running
        finally:
            proc.stop(2)
        libsrt = "bad parameters" not in proc.tail(5).lower()
        assert took == libsrt, (text, proc.tail(5))
        if text in LIBSRT_TAKES:
            assert took, (text, proc.tail(5))
            check_packet_filter(text)
        else:
            assert not took, (text, proc.tail(5))
            with pytest.raises(SrtUrlError):
                check_packet_filter(text)


def test_different_filters_on_the_two_sides_are_a_named_error(tmp_path: Path) -> None:
    port = udp_port()
    listener = SrtListener(port, tmp_path / "cap.ts", packet_filter=FEC)
    sender = SrtSender(SrtEndpoint("127.0.0.1", port, packet_filter="fec,cols:8,rows:5"))
    try:
        listener.start()
        sender.start()
        t0 = time.monotonic()
        with pytest.raises(SrtUrlError, match="packet filter") as err:
            sender.wait_connected(5)
        assert time.monotonic() - t0 < 4
        assert "fec,cols:8,rows:5" in str(err.value)
    finally:
        sender.stop()
        listener.stop()
    assert listener.rejections and not listener.accepted.is_set()


def test_the_ffmpeg_sender_refuses_fec_and_names_the_sender_that_can() -> None:
    ep = SrtEndpoint.parse(f"srt://127.0.0.1:9000?packetfilter={FEC}")
    with pytest.raises(SrtUrlError, match="cannot do FEC") as err:
        FFmpegSrtSender(ep)
    assert "srt-live-transmit" in str(err.value) and FEC in str(err.value)
    assert FFmpegSrtSender(ep.with_(packet_filter=None)).endpoint.packet_filter is None
