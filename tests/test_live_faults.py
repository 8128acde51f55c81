"""Faults on the SRT side, with the real programs: a peer that goes away and comes back, and
a lossy UDP hop between sender and listener."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from live_helpers import (
    PASSPHRASE,
    LossyHop,
    feed,
    live_children,
    strip_null_tail,
    udp_port,
    wait_for_video,
)

from scte35lab import probe
from scte35lab.live import FFmpegTestSource, Pipeline, SrtEndpoint, SrtListener, SrtSender
from scte35lab.schedule import AdBreak, Schedule, Store

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("no_child_left")]
TICKS = 90_000


def _out_time(p: Pipeline) -> float | None:
    last = p.out_meter.last_video_pts
    return None if last is None or p.clock is None else p.clock.seconds(last)


def test_srt_peer_gone_for_3s_reconnects_resumes_and_reports_the_missed_cue(tmp_path: Path):
    store = Store(tmp_path / "lab.db")
    store.add_stream("main")
    key = store.new_stream_key("main")
    port = udp_port()
    cap = tmp_path / "capture.ts"
    listener = SrtListener(port, cap, passphrase=PASSPHRASE).start()
    # the first break's cue copies go out from 6 s to 9 s of output: the peer is away then
    sched = Schedule([AdBreak(10, 2, cue_id="during-outage"), AdBreak(20, 2, cue_id="after")])
    p = Pipeline(
        f"srt://127.0.0.1:{port}",
        store=store,
        passphrase=PASSPHRASE,
        schedule=sched,
        rtmp_port=0,
        backoff_max=1.0,
    )
    obs = None
    try:
        p.start()
        obs = FFmpegTestSource(f"{p.ingest_url}/{key}", duration=28).start()
        deadline = time.monotonic() + 30
        while (_out_time(p) or 0) < 5.5 and time.monotonic() < deadline:
            time.sleep(0.05)
        listener.stop()  # the distributor goes away ...
        down_at = _out_time(p)
        time.sleep(3)
        listener = SrtListener(port, cap, passphrase=PASSPHRASE).start()  # ... and is back
        obs.wait(40)
        time.sleep(1)
    finally:
        if obs is not None:
            obs.stop()
        p.stop()
        listener.stop()
    kinds = [e.kind for e in p.events]
    assert kinds.count("srt_connected") >= 2 and "srt_down" in kinds and "srt_retry" in kinds
    status = {(r.cue_id, r.role): r.status for r in p.cues}
    # its first copy (4 s pre-roll) fell in the outage; a later one may have got through
    assert status[("during-outage", "out")] in ("missed", "late", "unconfirmed")
    assert status[("after", "out")] == "delivered" and status[("after", "in")] == "delivered"
    logs = store.logs("main")
    failed = logs[~logs["success"]]
    assert "during-outage" in set(failed["cue_id"])
    assert set(failed["state"]) <= {"missed", "late", "unconfirmed"}
    assert not any(
        e.kind == "cue_delivered"
        and e.data["cue_id"] == "during-outage"
        and e.data["role"] == "out"
        for e in p.events
    )
    markers = store.markers("main").set_index("cue_id")
    assert not markers.loc["during-outage", "inserted"] and markers.loc["after", "inserted"]
    # the capture resumes after the outage, and the later break is in it on an IDR
    capture = probe(cap)
    zero = p.clock.first_pts
    video = capture.frames[capture.frames["pid"] == capture.keyframes["pid"].iloc[0]]
    times = ((video["pts"].astype("int64") - zero) % 2**33) / TICKS
    assert times.max() > 24 and (times > down_at + 4).sum() > 200
    after = capture.cues[capture.cues["splice_event_id"] == 2]
    assert len(after) and set(after["splice_point"]) <= set(capture.keyframes["pts"])
    store.close()


def test_three_percent_loss_loses_no_packet_and_stats_show_retransmits(tmp_path: Path) -> None:
    src = tmp_path / "src.ts"
    enc = FFmpegTestSource(str(src), fmt="mpegts", realtime=False, duration=8).start()
    assert enc.wait(30) == 0
    data = src.read_bytes()
    port = udp_port()
    cap = tmp_path / "capture.ts"
    hop = LossyHop(port, 0.03)
    with SrtListener(port, cap, passphrase=PASSPHRASE, latency_ms=300):
        sender = SrtSender(
            SrtEndpoint("127.0.0.1", hop.port, passphrase=PASSPHRASE, latency_ms=300),
            stats_every=25,
        ).start()
        try:
            sender.wait_connected(5)
            feed(sender, data, rate_bps=3e6)
            time.sleep(0.5)
        finally:
            sender.stop()
            time.sleep(0.3)
    hop.close()
    assert hop.dropped > 10
    assert strip_null_tail(cap.read_bytes()) == data
    latest = sender.stats.latest
    assert latest is not None and latest.packets_retransmitted >= hop.dropped * 0.8
    assert sender.stats.frame()["packets_retransmitted"].iloc[-1] == latest.packets_retransmitted


def test_obs_reconnect_resumes_without_restarting_srt_and_replans_the_schedule(tmp_path: Path):
    from scte35lab import verify

    store = Store(tmp_path / "lab.db")
    store.add_stream("main")
    key = store.new_stream_key("main")
    port = udp_port()
    cap = tmp_path / "capture.ts"
    listener = SrtListener(port, cap, passphrase=PASSPHRASE).start()
    p = Pipeline(
        f"srt://127.0.0.1:{port}",
        store=store,
        passphrase=PASSPHRASE,
        rtmp_port=0,
        schedule=Schedule([AdBreak(4, 2, cue_id="first"), AdBreak(24, 4, cue_id="second")]),
        service_name="Lab Main",
        service_provider="scte35lab",
    )
    try:
        p.start()
        for seconds in (12, 20):  # OBS streams, drops out, and comes back a second later
            obs = FFmpegTestSource(f"{p.ingest_url}/{key}", duration=seconds).start()
            try:
                obs.wait(seconds + 20)
            finally:
                obs.stop()
            time.sleep(1)
    finally:
        p.stop()
        listener.stop()
    kinds = [e.kind for e in p.events]
    assert kinds.count("ingest_connected") == 2 and "ingest_resumed" in kinds
    assert "ingest_ended" in kinds and "ingest_died" not in kinds  # OBS left: not a crash
    assert kinds.count("srt_connected") == 1 and "srt_down" not in kinds
    resumed = next(e for e in p.events if e.kind == "ingest_resumed")
    assert 12 < resumed.data["stream_time"] < 20
    status = {(r.cue_id, r.role): r.status for r in p.cues}
    assert status[("first", "out")] == "delivered"
    assert status[("second", "out")] == "delivered" and status[("second", "in")] == "delivered"
    assert store.markers("main").set_index("cue_id")["inserted"].all()
    table = verify(cap)
    second = table[table["splice_event_id"] == 2]
    assert len(second) == 2 and second["ok"].all(), second
    capture = probe(cap)
    video = capture.frames[capture.frames["pid"] == capture.keyframes["pid"].iloc[0]]
    assert len(video) > 0.8 * 25 * (12 + 20 - 2 * 3)  # both sessions reached the distributor
    # where the new ingest joins, every counter jump and the new time base are signalled,
    # and the SCTE-35 PID's counter goes on: probe finds no continuity or PCR error
    seams = capture.errors[capture.errors["type"].isin(["cc_error", "pcr_discontinuity_error"])]
    assert seams.empty, seams
    sdt = json.loads(
        subprocess.run(
            ["ffprobe", "-v", "error", "-show_programs", "-of", "json", str(cap)],
            capture_output=True,
            check=True,
            timeout=30,
        ).stdout
    )["programs"][0]["tags"]
    assert sdt == {"service_name": "Lab Main", "service_provider": "scte35lab"}
    store.close()


def test_three_streams_side_by_side_each_with_its_key_destination_and_cues(tmp_path: Path):
    from scte35lab import verify
    from scte35lab.live import RtmpServer

    store = Store(tmp_path / "lab.db")
    names = ("one", "two", "three")
    keys, listeners, pipelines, sources = {}, {}, {}, []
    with RtmpServer(port=0) as server:
        try:
            for i, name in enumerate(names):
                store.add_stream(name)
                keys[name] = store.new_stream_key(name)
                port = udp_port()
                listeners[name] = SrtListener(port, tmp_path / f"{name}.ts").start()
                pipelines[name] = Pipeline(
                    f"srt://127.0.0.1:{port}",
                    store=store,
                    stream=name,
                    rtmp_server=server,
                    schedule=Schedule([AdBreak(4 + 2 * i, 4, cue_id=f"{name}-brk")]),
                ).start()
            for name in names:
                sources.append(FFmpegTestSource(f"{server.url}/{keys[name]}", duration=16).start())
            for s in sources:
                s.wait(40)
        finally:
            for s in sources:
                s.stop()
            for p in pipelines.values():
                p.stop()
            for lst in listeners.values():
                lst.stop()
    for i, name in enumerate(names):
        table = verify(tmp_path / f"{name}.ts")
        assert len(table) == 2 and table["ok"].all(), (name, table)
        assert sorted(table["splice_time"].round(1)) == [4.0 + 2 * i, 8.0 + 2 * i]
        logs = store.logs(name)
        assert set(logs["cue_id"]) == {f"{name}-brk"} and logs["success"].all()
    store.close()


def test_a_dead_ingest_ffmpeg_is_restarted_and_said_so(tmp_path: Path) -> None:
    import signal

    from scte35lab import verify

    port = udp_port()
    cap = tmp_path / "capture.ts"
    listener = SrtListener(port, cap, passphrase=PASSPHRASE).start()
    p = Pipeline(
        f"srt://127.0.0.1:{port}",
        key="the-stream-key",
        passphrase=PASSPHRASE,
        rtmp_port=0,
        schedule=Schedule([AdBreak(14, 2, cue_id="after")]),
    )
    obs = None
    try:
        p.start()
        obs = FFmpegTestSource(f"{p.ingest_url}/the-stream-key", duration=24).start()
        wait_for_video(p)
        time.sleep(3)
        victims = [c for c in live_children() if any("ingest-main.sock" in a for a in c.cmdline())]
        assert len(victims) == 1, victims
        victims[0].send_signal(signal.SIGKILL)  # the FFmpeg between nginx and the pipeline
        obs.wait(40)
        time.sleep(1)
    finally:
        if obs is not None:
            obs.stop()
        p.stop()
        listener.stop()
    kinds = [e.kind for e in p.events]
    assert "ingest_died" in kinds and "ingest_restarted" in kinds, kinds
    assert kinds.index("ingest_died") < kinds.index("ingest_restarted")
    assert "srt_down" not in kinds and kinds.count("srt_connected") == 1
    table = verify(cap)
    assert len(table) == 2 and table["ok"].all(), table  # the break after the restart
    capture = probe(cap)
    video = capture.frames[capture.frames["pid"] == capture.keyframes["pid"].iloc[0]]
    assert len(video) > 25 * 16  # 24 s published: the stream went on after the restart
