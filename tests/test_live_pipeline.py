"""The live pipeline end to end on loopback: FFmpeg as OBS over RTMP (nginx), the injector,
srt-live-transmit to a listener with a passphrase writing a capture, SQLite for the record.

One bounded run (~22 s of stream) is shared by the tests of this module; each test checks
one rule on its real output.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pytest
from live_helpers import PASSPHRASE, live_children, udp_port, wait_for_video

from scte35lab import probe
from scte35lab.live import FFmpegTestSource, Pipeline, SrtListener
from scte35lab.schedule import AdBreak, Schedule, Store

pytestmark = pytest.mark.slow

PREROLL = 4.0
TICKS = 90_000


def _packets(data: bytes, pids: set[int]) -> list[bytes]:
    a = np.frombuffer(data[: len(data) - len(data) % 188], dtype=np.uint8).reshape(-1, 188)
    pid = ((a[:, 1].astype(np.uint16) & 0x1F) << 8) | a[:, 2]
    keep = np.isin(pid, list(pids))
    return [bytes(r) for r in a[keep]]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One live session: a scheduled break at 6 s, an on-demand cue_out, then the end."""
    d: Path = tmp_path_factory.mktemp("live")
    logger = logging.getLogger("scte35lab")
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Keep(level=logging.DEBUG)
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    store = Store(d / "lab.db")
    store.add_stream("main")
    key = store.new_stream_key("main")
    port = udp_port()
    stats: list[dict] = []
    listener = SrtListener(port, d / "capture.ts", passphrase=PASSPHRASE).start()
    pipeline = Pipeline(
        f"srt://127.0.0.1:{port}",
        store=store,
        stream="main",
        passphrase=PASSPHRASE,
        schedule=Schedule([AdBreak(6, 5, cue_id="brk-1")]),
        rtmp_port=0,
        preroll=PREROLL,
        record=d / "sent.ts",
        record_input=d / "ingest.ts",
        hls_preview=d / "preview",
        on_stats=stats.append,
    )
    obs = None
    try:
        pipeline.start()
        obs = FFmpegTestSource(f"{pipeline.ingest_url}/{key}", duration=22).start()
        wait_for_video(pipeline)
        time.sleep(12)  # past the break's in-point (12 s): a splice of its own
        ondemand = pipeline.cue_out(duration=3)
        obs.wait(30)
        time.sleep(1)
    finally:
        if obs is not None:
            obs.stop()
        pipeline.stop()
        listener.stop()
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    yield {
        "dir": d,
        "store": store,
        "key": key,
        "pipeline": pipeline,
        "stats": stats,
        "logs": records,
        "ondemand": ondemand,
        "capture": probe(d / "capture.ts"),
    }
    store.close()


def test_every_cue_in_the_capture_lands_on_an_idr_with_the_preroll(run) -> None:
    cap = run["capture"]
    cues = cap.cues
    idrs = set(cap.keyframes["pts"].astype(int))
    splices = set(cues["splice_point"].astype(int))
    assert len(splices) == 3, cues[["command_name", "splice_point"]]  # out, in, on demand
    assert splices <= idrs
    first = cues.groupby("splice_point")["preroll"].max()
    assert (first >= PREROLL).all(), first
    assert (cues["preroll"] > 0).all()  # repeats never after the splice point


def test_scheduled_break_splices_at_its_stream_time(run) -> None:
    cap = run["capture"]
    zero = int(cap.frames[cap.frames["pid"] == cap.keyframes["pid"].iloc[0]]["pts"].min())
    outs = cap.cues[cap.cues["splice_event_id"] == 1]
    times = sorted({(int(p) - zero) / TICKS for p in outs["splice_point"]})
    assert times == [6.0, 12.0]  # 2 s GOP: 6 s and 11 s move to the IDRs at 6 s and 12 s


def test_passthrough_keeps_audio_and_video_packets_unchanged(run) -> None:
    d = run["dir"]
    cap = run["capture"]
    av = set(cap.pids[cap.pids["codec"].astype(str).isin(["h264", "aac"])]["pid"].astype(int))
    assert len(av) == 2
    ingest = _packets((d / "ingest.ts").read_bytes(), av)
    captured = _packets((d / "capture.ts").read_bytes(), av)
    assert len(ingest) > 1000
    assert captured == ingest


def test_sent_cues_are_logged_and_their_markers_marked_inserted(run) -> None:
    store = run["store"]
    logs = store.logs("main")
    assert logs["success"].all(), logs
    assert sorted(zip(logs["cue_id"], logs["role"], strict=True)) == [
        ("brk-1", "in"),
        ("brk-1", "out"),
        ("ondemand-1", "out"),
    ]
    cap_hex = {bytes.fromhex(h).hex() for h in logs["section_hex"]}
    import base64

    sent = {base64.b64decode(b).hex() for b in run["capture"].cues["base64"]}
    assert cap_hex == sent  # what the log says went out is exactly what the capture holds
    markers = store.markers("main")
    assert markers.set_index("cue_id").loc["brk-1", "inserted"]


def test_an_on_demand_break_gets_its_own_marker_but_joins_no_schedule(run) -> None:
    store = run["store"]
    m = store.markers("main").set_index("cue_id")
    row = m.loc["ondemand-1"]
    assert row["origin"] == "on_demand" and row["inserted"] and row["duration"] == 3
    cap = run["capture"]
    zero = int(cap.frames[cap.frames["pid"] == cap.keyframes["pid"].iloc[0]]["pts"].min())
    rec = run["ondemand"]
    # the break starts where it was asked for; it splices at the next IDR (2 s GOP)
    assert 0 <= (rec.splice_pts - zero) / TICKS - row["start"] <= 2.0
    assert m.loc["brk-1", "origin"] == "schedule"
    assert [b.cue_id for b in store.schedule("main")] == ["brk-1"]
    rec = run["ondemand"]
    assert rec.status == "delivered" and rec.splice_pts in set(run["capture"].keyframes["pts"])


def test_stats_reach_the_callbacks_and_stream_analytics_each_second(run) -> None:
    stats = run["stats"]
    assert len(stats) >= 20
    steady = [r for r in stats if r["fps"]]
    assert len(steady) >= 15
    assert all(abs(r["fps"] - 25) < 1.5 for r in steady)
    assert {(r["width"], r["height"]) for r in steady} == {(320, 180)}
    assert {r["video_codec"] for r in steady} == {"h264"}
    assert {r["keyframe_interval_s"] for r in steady if r["keyframe_interval_s"]} == {2.0}
    assert {r["audio_codec"] for r in steady} == {"aac"}
    assert any(r.get("srt_rtt_ms") is not None for r in stats)
    assert all(r["srt_stats_available"] for r in stats)
    stored = run["store"].analytics("main")
    assert len(stored) == len(stats)
    assert stored["bitrate_kbps"].max() > 300
    assert stored["srt_rtt_ms"].notna().sum() >= 15


def test_secrets_appear_in_no_log_event_or_store(run) -> None:
    text = "\n".join(run["logs"]) + "\n".join(e.message for e in run["pipeline"].events)
    assert PASSPHRASE not in text and run["key"] not in text
    assert "passphrase=***" in text  # the URL was logged, redacted
    db = (run["dir"] / "lab.db").read_bytes()
    assert PASSPHRASE.encode() not in db and run["key"].encode() not in db
    assert PASSPHRASE not in repr(run["pipeline"])


def test_no_child_process_remains_after_stop(run) -> None:
    assert live_children() == []


def test_ffmpeg_sender_delivers_cues_and_never_invents_srt_stats(tmp_path: Path) -> None:
    from scte35lab import verify

    store = Store(tmp_path / "lab.db")
    store.add_stream("main")
    key = store.new_stream_key("main")
    port = udp_port()
    stats: list[dict] = []
    with SrtListener(port, tmp_path / "capture.ts", passphrase=PASSPHRASE):
        p = Pipeline(
            f"srt://127.0.0.1:{port}",
            store=store,
            passphrase=PASSPHRASE,
            sender="ffmpeg",
            schedule=Schedule([AdBreak(4, 4, cue_id="brk")]),
            rtmp_port=0,
            on_stats=stats.append,
        ).start()
        try:
            obs = FFmpegTestSource(f"{p.ingest_url}/{key}", duration=14).start()
            try:
                obs.wait(40)
            finally:
                obs.stop()
            time.sleep(1)
        finally:
            p.stop()
    table = verify(tmp_path / "capture.ts")
    assert len(table) == 2 and table["ok"].all(), table
    logs = store.logs("main")  # FFmpeg sees no acknowledgement: written, never delivered
    assert (logs["state"] == "written").all() and not logs["success"].any()
    assert not store.markers("main")["inserted"].any()
    assert any(e.kind == "warning" and "command line" in e.message for e in p.events)
    assert stats and not any(r["srt_stats_available"] for r in stats)
    assert not any(
        k.startswith("srt_") and k not in ("srt_stats_available", "srt_connected", "srt_acks")
        for r in stats
        for k in r
    )
    assert store.analytics("main")["srt_rtt_ms"].isna().all()
    assert live_children() == []
    store.close()


def test_cue_out_before_start_is_a_component_error() -> None:
    from scte35lab.errors import ComponentError
    from scte35lab.live import Pipeline

    with pytest.raises(ComponentError, match="not started"):
        Pipeline("srt://127.0.0.1:9").cue_out(duration=10)


def test_hls_preview_holds_what_went_out_with_its_cue_tags(run) -> None:
    from scte35lab import probe_playlist

    playlist = run["dir"] / "preview" / "index.m3u8"
    text = playlist.read_text()
    assert "#EXT-X-ENDLIST" in text and "#EXT-X-DATERANGE" in text
    tags = probe_playlist(playlist)
    sent = set(probe(run["dir"] / "sent.ts").cues["base64"])
    assert set(tags["base64"].dropna()) <= sent and len(set(tags["base64"].dropna())) >= 2
