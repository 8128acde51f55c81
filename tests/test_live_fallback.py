"""The RTMP fallback push against the real programs: FFmpeg publishing to nginx-rtmp.

A TS with a SCTE-35 PID (the pipeline's output) is fed in real time to
:class:`RtmpFallbackPush`; nginx (``RtmpServer``) checks the stream key and hands the stream
on as TS, which must hold the video. Failures (refused, rejected, bad URL) are named, the
key is never shown, and no child process is left.
"""

from __future__ import annotations

import threading
import time

import pytest
from live_helpers import feed, tcp_port

from scte35lab import Cue, inject, probe
from scte35lab.live.fallback import RtmpFallbackError, RtmpFallbackPush
from scte35lab.live.ffmpeg import FFmpegTestSource
from scte35lab.live.rtmp import RtmpServer

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("no_child_left")]
KEY = "fallback-Key-7f3c9a12e4"
SECONDS = 10.0


@pytest.fixture(scope="module")
def cued_ts(tmp_path_factory) -> bytes:
    """Ten seconds of small H.264/AAC test picture with a cue on a SCTE-35 PID."""
    d = tmp_path_factory.mktemp("src")
    src = FFmpegTestSource(
        str(d / "plain.ts"), fmt="mpegts", realtime=False, duration=SECONDS, size="160x90"
    ).start()
    assert src.wait(30) == 0, src.tail()
    inject(d / "plain.ts", d / "cued.ts", [(5.0, Cue.splice_insert(1, break_duration=180_000))])
    data = (d / "cued.ts").read_bytes()
    assert len(probe(data).cues) >= 1
    return data


class _Reader(threading.Thread):
    """Accepts the TS connection nginx's FFmpeg makes and reads it to the end."""

    def __init__(self, ingest) -> None:
        super().__init__(daemon=True)
        self.ingest = ingest
        self.data = bytearray()

    def run(self) -> None:
        conn = self.ingest.accept(15)
        if conn is None:
            return
        with conn:
            conn.settimeout(10)
            while chunk := conn.recv(65536):
                self.data += chunk


def test_fallback_pushes_the_video_over_rtmp_and_never_shows_the_key(cued_ts: bytes) -> None:
    with RtmpServer(port=0) as server:
        ingest = server.add_stream("fallback", lambda k: k == KEY)
        reader = _Reader(ingest)
        reader.start()
        push = RtmpFallbackPush(f"{server.url}/{KEY}")
        try:
            push.start()
            # real time: the whole TS over its own duration, as the pipeline hands it on
            feed(push, cued_ts, rate_bps=len(cued_ts) * 8 / SECONDS)
            assert push.connected.is_set() and push.running
        finally:
            push.stop()
        reader.join(15)
        deadline = time.monotonic() + 5  # nginx calls on_publish_done once the publish closed
        while "done" not in [e.kind for e in server.events] and time.monotonic() < deadline:
            time.sleep(0.05)
        events = [e.kind for e in server.events]
    assert push.failure() is None and push.process is not None
    assert push.process.returncode == 0, push.process.tail()
    assert push.bytes_in == len(cued_ts) and push.dropped_bytes == 0
    # nginx handed the stream on: H.264 frames, keyframes among them, and the audio
    got = probe(bytes(reader.data))
    assert {"h264", "aac"} <= set(got.pids["codec"].astype(str)), got.pids
    video = got.frames[got.frames["pid"] == got.keyframes["pid"].iloc[0]]
    # the publish starts ~2.3 s in (probe), nginx hands on ~3.5 s later, at a keyframe
    assert len(video) >= 25 * 2 and len(got.keyframes) >= 2, len(video)
    assert got.cues.empty  # FLV cannot carry SCTE-35: the SRT push is where cues go
    assert events == ["accepted", "done"]
    # the stream key shows nowhere: not in the command line, the output, the repr
    shown = [push.process.display_argv, repr(push), push.display, *push.process.lines()]
    assert any("Output #0" in line for line in shown)
    assert all(KEY not in text for text in shown)
    assert push.display == f"{server.url}/***"


def test_a_refused_connection_is_named_and_the_key_not_shown(cued_ts: bytes) -> None:
    port = tcp_port()  # nothing listens there
    push = RtmpFallbackPush(f"rtmp://127.0.0.1:{port}/live/{KEY}")
    try:
        push.start()
        push.write(cued_ts)  # unpaced: FFmpeg probes it at once
        with pytest.raises(RtmpFallbackError, match="connection refused") as err:
            push.wait_connected(10)
        t0 = time.monotonic()
        push.write(cued_ts[: 188 * 70])  # after the failure: dropped, counted, not blocking
        assert time.monotonic() - t0 < 0.1
    finally:
        push.stop()
    assert KEY not in str(err.value) and str(port) in str(err.value)
    failure = push.failure()
    assert failure is not None and "connection refused" in str(failure)
    assert not push.connected.is_set() and not push.running
    assert push.dropped_bytes >= 188 * 70
    assert all(KEY not in line for line in push.process.lines())


def test_a_publish_the_server_refuses_is_named_rejected(cued_ts: bytes) -> None:
    with RtmpServer(port=0) as server:
        server.add_stream("fallback", lambda k: k == "another-key-0000")
        push = RtmpFallbackPush(f"{server.url}/{KEY}")
        try:
            push.start()
            push.write(cued_ts)  # unpaced: FFmpeg probes it at once
            with pytest.raises(RtmpFallbackError, match="rejected by the server") as err:
                push.wait_connected(10)
        finally:
            push.stop()
        assert [e.kind for e in server.events] == ["rejected"]
    assert KEY not in str(err.value)


@pytest.mark.parametrize(
    ("url", "names"),
    [
        ("http://127.0.0.1/live/" + KEY, "rtmp://"),
        ("rtmp:///live/" + KEY, "no host"),
        ("rtmp://127.0.0.1:99999/live/" + KEY, "bad port"),
        ("rtmp://127.0.0.1/" + KEY, "needs an app and a stream key"),
        ("rtmp://127.0.0.1/live/", "needs an app and a stream key"),
    ],
)
def test_a_bad_url_is_refused_before_ffmpeg_starts(url: str, names: str) -> None:
    with pytest.raises(RtmpFallbackError, match=names) as err:
        RtmpFallbackPush(url)
    assert KEY not in str(err.value)


def test_an_unresolvable_host_is_a_bad_url(cued_ts: bytes) -> None:
    push = RtmpFallbackPush(f"rtmp://nonexistent.invalid/live/{KEY}")
    try:
        push.start()
        push.write(cued_ts)  # unpaced: FFmpeg probes it at once
        with pytest.raises(RtmpFallbackError, match=r"bad URL.*cannot be resolved") as err:
            push.wait_connected(10)
    finally:
        push.stop()
    assert KEY not in str(err.value)


def test_an_instance_runs_once_and_writes_before_start_are_dropped(cued_ts: bytes) -> None:
    push = RtmpFallbackPush(f"rtmp://127.0.0.1:{tcp_port()}/live/{KEY}")
    assert push.write(cued_ts[:1316]) == 1316 and push.dropped_bytes == 1316
    try:
        push.start()
        with pytest.raises(RtmpFallbackError, match="already started"):
            push.start()
    finally:
        push.stop()
    push.write(cued_ts[:1316])
    assert push.bytes_in == 2 * 1316 and push.dropped_bytes >= 2 * 1316


def test_the_pipeline_pushes_srt_with_fec_and_the_rtmp_fallback_side_by_side(tmp_path) -> None:
    from live_helpers import PASSPHRASE, udp_port

    from scte35lab import verify
    from scte35lab.live import Pipeline, SrtListener
    from scte35lab.schedule import AdBreak, Schedule

    port = udp_port()
    events: list = []
    stats: list[dict] = []
    with RtmpServer(port=0) as backup:
        reader = _Reader(backup.add_stream("backup", lambda k: k == KEY))
        reader.start()
        listener = SrtListener(port, tmp_path / "capture.ts", passphrase=PASSPHRASE).start()
        p = Pipeline(
            f"srt://127.0.0.1:{port}",
            key="obs-key-123456",
            passphrase=PASSPHRASE,
            packet_filter="fec,cols:10,rows:5",
            rtmp_fallback=f"{backup.url}/{KEY}",
            rtmp_port=0,
            schedule=Schedule([AdBreak(6, 4, cue_id="brk")]),  # on the 2 s GOP
            on_event=events.append,
            on_stats=stats.append,
        )
        obs = None
        try:
            p.start()
            obs = FFmpegTestSource(f"{p.ingest_url}/obs-key-123456", duration=16).start()
            obs.wait(40)
            time.sleep(1)
        finally:
            if obs is not None:
                obs.stop()
            p.stop()
            listener.stop()
        reader.join(15)
    kinds = [e.kind for e in events]
    assert "rtmp_fallback_connected" in kinds and "rtmp_fallback_down" not in kinds
    table = verify(tmp_path / "capture.ts")
    assert len(table) == 2 and table["ok"].all(), table  # cues go by SRT, with FEC
    assert sum(r.get("srt_fec_sent", 0) for r in stats) > 100
    assert any(r.get("rtmp_fallback_connected") for r in stats)
    got = probe(bytes(reader.data))  # what the backup RTMP server received
    video = got.frames[got.frames["pid"] == got.keyframes["pid"].iloc[0]]
    assert len(video) >= 25 * 5 and got.cues.empty
    shown = "\n".join(e.message for e in events) + repr(p)
    assert KEY not in shown and PASSPHRASE not in shown


def test_the_ffmpeg_sender_with_fec_is_refused_when_the_pipeline_is_made() -> None:
    from scte35lab.live import Pipeline
    from scte35lab.live.errors import SrtUrlError

    with pytest.raises(SrtUrlError, match="cannot do FEC"):
        Pipeline("srt://127.0.0.1:9000", packet_filter="fec,cols:10", sender="ffmpeg")


def test_a_key_holding_the_user_name_is_hidden_whole() -> None:
    from scte35lab.live.process import ManagedProcess

    url = "rtmp://bob:pw@127.0.0.1:1935/live/bob-7f3k9q"
    assert "7f3k9q" not in RtmpFallbackPush(url).display
    p = ManagedProcess("x", ["true", url], secrets=["bob", "pw", "bob-7f3k9q"])
    assert "7f3k9q" not in p.display_argv and "bob" not in p.display_argv
