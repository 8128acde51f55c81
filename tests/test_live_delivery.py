"""A live cue is 'delivered' only when the distributor's SRT acknowledged it: the store's
ledger, cue by cue, against what the stand-in distributor's captures really hold, through
SRT outages, OBS drops and a lossy hop (issue 13)."""

from __future__ import annotations

import base64
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from live_helpers import (
    PASSPHRASE,
    LibSrtReceiver,
    LossyHop,
    live_children,
    udp_port,
    wait_for_video,
)

from scte35lab import probe
from scte35lab.live import FFmpegTestSource, Pipeline, SrtListener
from scte35lab.schedule import AdBreak, Schedule, Store

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("no_child_left")]


def _received(paths: list[Path]) -> tuple[set[str], list]:
    """The cue sections (hex) in the captures, and each capture's probe."""
    found: set[str] = set()
    probes = []
    for path in paths:
        if not path.exists() or path.stat().st_size < 188:
            continue
        p = probe(path)
        probes.append(p)
        found |= {base64.b64decode(b).hex() for b in p.cues["base64"].dropna()}
    return found, probes


def _many_breaks(n: int, first: float = 4.0, every: float = 2.5) -> Schedule:
    return Schedule([AdBreak(first + every * i, 1, cue_id=f"b{i}") for i in range(n)])


def test_srt_peer_killed_five_times_ledger_matches_what_the_receiver_holds(tmp_path: Path):
    store = Store(tmp_path / "lab.db")
    store.add_stream("main")
    key = store.new_stream_key("main")
    port = udp_port()
    receivers: list[LibSrtReceiver] = []
    stops: list[float] = []  # monotonic times each receiver went away

    def listen() -> LibSrtReceiver:
        # the distributor writes each packet out as it gets it (no latency buffer), so what
        # it holds is what its SRT acknowledged, however abruptly it goes
        receivers.append(LibSrtReceiver(port, passphrase=PASSPHRASE, tsbpd=False))
        return receivers[-1]

    receiver = listen()
    p = Pipeline(
        f"srt://127.0.0.1:{port}?peeridletimeo=1500",
        store=store,
        passphrase=PASSPHRASE,
        schedule=_many_breaks(14),
        rtmp_port=0,
        backoff_max=0.5,
    )
    rng = random.Random(13)
    obs = None
    try:
        p.start()
        obs = FFmpegTestSource(f"{p.ingest_url}/{key}", duration=44).start()
        wait_for_video(p)
        for _ in range(5):
            time.sleep(rng.uniform(2.0, 4.0))
            receiver.stop()  # the distributor goes away at a random moment ...
            stops.append(time.monotonic())
            time.sleep(rng.uniform(0.5, 2.5))
            receiver = listen()  # ... and comes back
        obs.wait(60)
        time.sleep(1.5)
    finally:
        if obs is not None:
            obs.stop()
        p.stop()
        receiver.stop()
        stops.append(time.monotonic())
    logs = store.logs("main")
    caps = []
    for i, r in enumerate(receivers):
        caps.append(tmp_path / f"capture{i}.ts")
        caps[-1].write_bytes(bytes(r.data))
    found, probes = _received(caps)
    assert len(logs) == len(p.cues) >= 20 and set(logs["state"]) <= {
        "delivered",
        "late",
        "unconfirmed",
        "missed",
    }
    states = dict(zip(logs["section_hex"], logs["state"], strict=True))
    # every cue in a capture was delivered, late or unconfirmed: never missed
    for hexed in found:
        assert states.get(hexed) in ("delivered", "late", "unconfirmed"), (hexed, states)
    # every delivered cue is in a capture
    assert {h for h, s in states.items() if s == "delivered"} <= found
    # the outages and what they cost, said once and consistently
    outages = store.outages("main")
    events = [e for e in p.events if e.kind == "srt_outage"]
    assert len(outages) == len(events) >= 5
    assert (outages["bytes_lost"] > 0).all()
    lost = int(outages["bytes_lost"].sum())
    assert p.stats_rows[-1]["bytes_lost"] == p.flow.srt.bytes_lost == lost
    # bytes lost = written minus received; what the sender added itself (each connection's
    # PAT+PMT, null padding) is in received, not written. Never fewer: a byte not counted
    # lost was acknowledged, so the receiver holds it. At most a few packets more an outage:
    # what the receiver got but had not acknowledged yet (SRT acknowledges every 10 ms) when
    # it went away counts as lost, as the sender cannot know it arrived.
    received = sum(len(r.data) for r in receivers)
    added = sum(c.prefix + c.sender.padding_bytes for c in p.flow.srt.conns.values())
    unaccounted = (p.flow.bytes_out - received) - (lost - added)
    numbers = (p.flow.bytes_out, received, lost, added)
    assert unaccounted <= 1316, numbers
    assert -unaccounted <= 1316 * 4 * len(outages), numbers
    # each reconnection's stream starts clean: PAT, PMT, then an IDR frame
    for cap in probes[1:]:
        pk = cap.packets
        pmt = int(cap.pids.loc[cap.pids["codec"] == "pmt", "pid"].iloc[0])
        assert pk["pid"].iloc[0] == 0 and pk["pid"].iloc[1] == pmt
        video_pid = int(cap.keyframes["pid"].iloc[0])
        first_video = int(pk.loc[pk["pid"] == video_pid, "packet"].iloc[0])
        assert cap.frames[cap.frames["pid"] == video_pid]["keyframe"].iloc[0]
        assert cap.keyframes["packet"].iloc[0] == first_video
    # markers: inserted exactly when their out cue was delivered
    markers = store.markers("main").set_index("cue_id")
    outs = logs[logs["role"] == "out"].set_index("cue_id")
    assert (markers.loc[outs.index, "inserted"] == (outs["state"] == "delivered")).all()
    store.close()


def test_obs_gone_for_8s_cues_due_meanwhile_are_missed_then_and_held_video_is_paced(
    tmp_path: Path,
):
    store = Store(tmp_path / "lab.db")
    store.add_stream("main")
    key = store.new_stream_key("main")
    port = udp_port()
    cap = tmp_path / "capture.ts"
    listener = SrtListener(port, cap, passphrase=PASSPHRASE).start()
    # OBS streams 0-12 s, is away 12-20 s (wall), comes back: b1 (16 s) falls in the gap,
    # b2 (30 s) is after the return, b0 (5 s) before the drop
    sched = Schedule(
        [AdBreak(5, 2, cue_id="b0"), AdBreak(16, 2, cue_id="b1"), AdBreak(30, 2, cue_id="b2")]
    )
    p = Pipeline(
        f"srt://127.0.0.1:{port}",
        store=store,
        passphrase=PASSPHRASE,
        schedule=sched,
        rtmp_port=0,
    )
    returned = None
    try:
        p.start()
        obs = FFmpegTestSource(f"{p.ingest_url}/{key}", duration=12).start()
        obs.wait(30)
        obs.stop()
        time.sleep(8)
        returned = time.time()
        obs = FFmpegTestSource(f"{p.ingest_url}/{key}", duration=22).start()
        obs.wait(40)
        obs.stop()
        time.sleep(1)
    finally:
        p.stop()
        listener.stop()
    status = {(r.cue_id, r.role): r for r in p.cues}
    assert (
        status[("b0", "out")].status == "delivered" and status[("b0", "in")].status == "delivered"
    )
    assert (
        status[("b2", "out")].status == "delivered" and status[("b2", "in")].status == "delivered"
    )
    b1 = status[("b1", "out")]
    assert b1.status == "missed" and "input was away" in (b1.error or "")
    assert b1.settled_at is not None and b1.settled_at < returned  # said when it passed
    missed_events = [e for e in p.events if e.kind == "cue_missed"]
    assert all(e.data["cue_id"] == "b1" for e in missed_events)
    # nothing that still went out was reported lost first
    assert not any(
        e.kind in ("cue_missed", "cue_cancelled") and e.data["cue_id"] in ("b0", "b2")
        for e in p.events
    )
    held = next(e for e in p.events if e.kind == "held_sent")
    took = float(held.message.rsplit(" in ", 1)[1].split()[0])
    assert took >= p.preroll  # ~5 s of held video out over ~5 s, not in a burst
    found, _ = _received([cap])
    states = {r.cue.encode().hex(): r.status for r in p.cues}
    assert {h for h, s in states.items() if s == "delivered"} <= found
    assert all(states.get(h) in ("delivered", "late", "unconfirmed") for h in found)
    store.close()


def test_five_percent_loss_no_cue_is_delivered_that_did_not_arrive(tmp_path: Path) -> None:
    port = udp_port()
    cap = tmp_path / "capture.ts"
    hop = LossyHop(port, 0.05, seed=3)
    try:
        with SrtListener(port, cap, passphrase=PASSPHRASE, latency_ms=200):
            p = Pipeline(
                f"srt://127.0.0.1:{hop.port}?latency=200",
                key="the-stream-key",
                passphrase=PASSPHRASE,
                schedule=_many_breaks(4, first=5.0, every=3.0),
                rtmp_port=0,
            ).start()
            try:
                obs = FFmpegTestSource(f"{p.ingest_url}/the-stream-key", duration=20).start()
                obs.wait(40)
                obs.stop()
                time.sleep(1)
            finally:
                p.stop()
    finally:
        hop.close()
    assert hop.dropped > 20
    found, _ = _received([cap])
    delivered = {r.cue.encode().hex() for r in p.cues if r.status == "delivered"}
    assert len(delivered) >= 6 and delivered <= found


def test_no_child_of_a_live_run_has_the_passphrase_or_stream_key_in_its_argv(tmp_path: Path):
    port = udp_port()
    seen: list[str] = []
    with SrtListener(port, tmp_path / "capture.ts", passphrase=PASSPHRASE) as listener:
        p = Pipeline(
            f"srt://127.0.0.1:{port}",
            key="sk-live-0123456789",
            passphrase=PASSPHRASE,
            rtmp_port=0,
            schedule=_many_breaks(1),
        ).start()
        obs = FFmpegTestSource(f"{p.ingest_url}/sk-live-0123456789", duration=10).start()
        try:
            wait_for_video(p)
            stand_ins = {listener.process.pid, obs.pid}
            for _ in range(10):
                for child in live_children():
                    try:
                        lineage = {child.pid, *(q.pid for q in child.parents())}
                        if lineage & stand_ins:
                            continue  # the test's own distributor and OBS
                        with open(f"/proc/{child.pid}/cmdline", "rb") as f:
                            seen.append(f.read().decode(errors="replace"))
                    except (OSError, psutil.Error):
                        pass
                time.sleep(0.3)
        finally:
            obs.stop()
            p.stop()
    assert any("nginx" in c for c in seen) and any("ffmpeg" in c for c in seen), seen
    assert not any(PASSPHRASE in c or "sk-live-0123456789" in c for c in seen)


def test_cpu_percent_counts_the_pipeline_and_its_children_not_other_children(tmp_path: Path):
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    port = udp_port()
    try:
        with SrtListener(port, tmp_path / "capture.ts", passphrase=PASSPHRASE):
            p = Pipeline(
                f"srt://127.0.0.1:{port}",
                key="the-stream-key",
                passphrase=PASSPHRASE,
                rtmp_port=0,
            ).start()
            obs = FFmpegTestSource(f"{p.ingest_url}/the-stream-key", duration=10).start()
            try:
                wait_for_video(p)
                mine = psutil.Process(burner.pid)
                mine.cpu_percent()
                time.sleep(4)
                burned = mine.cpu_percent()
            finally:
                obs.stop()
                p.stop()
    finally:
        burner.send_signal(signal.SIGKILL)
        burner.wait()
    cpu = [r["cpu_percent"] for r in p.stats_rows[-4:] if r.get("cpu_percent") is not None]
    # the unrelated child was busy all along (a share of a core on a loaded machine) ...
    assert burned > 25
    assert cpu and max(cpu) < 0.7 * burned, (cpu, burned)  # ... and not counted
    assert all(c > 0 for c in cpu)  # the pipeline's own work and children are


def test_a_break_moved_to_the_next_idr_says_so_in_event_log_store_and_cue_frame(tmp_path: Path):
    store = Store(tmp_path / "lab.db")
    store.add_stream("main")
    key = store.new_stream_key("main")
    port = udp_port()
    with SrtListener(port, tmp_path / "capture.ts", passphrase=PASSPHRASE):
        p = Pipeline(
            f"srt://127.0.0.1:{port}",
            store=store,
            passphrase=PASSPHRASE,
            schedule=Schedule([AdBreak(6.4, 3, cue_id="moved")]),  # OBS's IDRs: every 2 s
            rtmp_port=0,
        ).start()
        obs = FFmpegTestSource(f"{p.ingest_url}/{key}", duration=14).start()
        try:
            obs.wait(40)
        finally:
            obs.stop()
            p.stop()
    ev = next(e for e in p.events if e.kind == "cue_moved" and e.data["role"] == "out")
    assert 1.5 < ev.data["shift"] < 1.7 and "00:00:06.400" in ev.message
    logs = store.logs("main").set_index("role")
    assert 1.5 < logs.loc["out", "shift"] < 1.7
    assert logs.loc["out", "requested_pts"] != logs.loc["out", "splice_pts"]
    assert 1.5 < store.markers("main").set_index("cue_id").loc["moved", "shift"] < 1.7
    frame = p.cue_frame().set_index("role")
    assert frame.loc["out", "moved"].startswith("+1.6") and frame.loc["out", "splice_time"] == (
        "00:00:08.000"
    )
    store.close()


def test_obs_gone_8s_in_passthrough_keeps_srt_up_with_nulls_and_a_running_pcr(tmp_path: Path):
    import itertools

    import numpy as np
    from live_helpers import DatagramRecorder

    from scte35lab.ts.packets import packet_table

    port = udp_port()
    rec = DatagramRecorder(port, passphrase=PASSPHRASE).start()
    p = Pipeline(
        f"srt://127.0.0.1:{port}", key="the-stream-key", passphrase=PASSPHRASE, rtmp_port=0
    )
    try:
        p.start()
        for seconds in (10, 12):
            obs = FFmpegTestSource(f"{p.ingest_url}/the-stream-key", duration=seconds).start()
            obs.wait(seconds + 20)
            obs.stop()
            if seconds == 10:
                time.sleep(8)  # OBS is away for 8 s
        time.sleep(1)
    finally:
        p.stop()
        rec.stop()
    kinds = [e.kind for e in p.events]
    assert "input_lost" in kinds and "srt_down" not in kinds and kinds.count("srt_connected") == 1
    lost = next(e for e in p.events if e.kind == "input_lost")
    back = next(e for e in p.events if e.kind == "ingest_resumed")
    assert back.mono - lost.mono > 3  # the filler ran for seconds
    # from the loss until the returning input's own output begins (its first video plus the
    # injector's look-ahead), the distributor was never without packets for 100 ms (the
    # input's own bursts are its own: FFmpeg hands on what nginx relays)
    ended = next(e for e in p.events if e.kind == "ingest_ended").mono
    output_back = next(e for e in p.events if e.kind == "input_back").mono
    window = [t for t in rec.times if ended < t < output_back]
    gaps = [b - a for a, b in itertools.pairwise(window)]
    assert len(window) > 1000 and max(gaps) < 0.1, max(gaps)
    # and its TS clock ran on: on the PCR PID, PCRs at most 100 ms apart, but for the one
    # new time base at the return (signalled by the seam marker)
    data = bytes(rec.data[: len(rec.data) // 188 * 188])
    t = packet_table(np.frombuffer(data, dtype=np.uint8).reshape(-1, 188))
    pid = np.bincount(t.pid[t.pcr_index]).argmax()
    pcr = t.pcr[t.pid[t.pcr_index] == pid]
    steps = np.diff(pcr) / 27e6
    assert len(pcr) > 400 and (np.abs(steps) > 0.1).sum() <= 1, steps[np.abs(steps) > 0.1]
