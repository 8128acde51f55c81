"""LiveDashboard over a real loopback pipeline: FFmpeg's test source publishes over RTMP
(the stand-in OBS), srt-live-transmit listens as the stand-in distributor. The buttons are
clicked from Python; the tests check what the dashboard then holds and shows, and what went
out on the wire."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from scte35lab import probe
from scte35lab.live import FFmpegTestSource, Pipeline, SrtListener
from scte35lab.live.rtmp import free_port
from scte35lab.schedule import Store
from scte35lab.widgets import LiveDashboard, cue_checks

pytestmark = pytest.mark.slow


def _until(check, timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return check()


@dataclass
class Run:
    """What one loopback session left: snapshots of the dashboard at each step."""

    dashboard: LiveDashboard
    pipeline: Pipeline
    received: Path
    seen: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Run:
    work = tmp_path_factory.mktemp("live")
    store = Store(work / "lab.db")
    store.add_stream("main")
    key = store.new_stream_key("main")
    port = free_port(socket.SOCK_DGRAM)
    listener = SrtListener(port, work / "received.ts").start()
    pipeline = Pipeline(
        f"srt://127.0.0.1:{port}", store=store, stream="main", rtmp_port=free_port()
    )
    d = LiveDashboard(pipeline, duration=2.0, refresh=0.5)
    r = Run(d, pipeline, work / "received.ts")
    source = None
    try:
        d.cue_out_button.click()
        r.seen["before_start"] = (d.cue_frame().copy(), len(pipeline.cues))
        t0 = time.monotonic()
        d.start_button.click()
        r.seen["start_click_s"] = time.monotonic() - t0
        r.seen["state_after_click"] = d.state
        assert d.wait(15) == "live", d.status.value
        r.seen["status_live"] = d.status.value
        source = FFmpegTestSource(f"{pipeline.ingest_url}/{key}", gop=25).start()
        assert _until(lambda: any(s.get("fps") for s in d.samples), 20), list(d.samples)
        d.cue_in_button.click()
        r.seen["cue_in_refused"] = d.cue_frame().copy()
        d.cue_out_button.click()
        time.sleep(2.5)
        d.cue_in_button.click()
        assert _until(
            lambda: len(pipeline.cues) == 2 and all(c.status == "delivered" for c in pipeline.cues),
            20,
        ), pipeline.cue_frame()
        # the drawing thread shows the last cue sent on its next pass (slow under load)
        _until(lambda: d.cue_log.value.count("<td>sent</td>") == 2, 10)
        time.sleep(0.6)  # and the charts once more
        r.seen["numbers"] = d.numbers.value
        r.seen["charts"] = bytes(d.charts.value)
        r.seen["cue_log"] = d.cue_log.value
        r.seen["samples"] = d.frame()
        d.stop_button.click()
        r.seen["stopped"] = d.wait(15)
        r.seen["status_stopped"] = d.status.value
    finally:
        if source is not None:
            source.stop()
        if d.state not in ("stopped", "error"):
            pipeline.stop()
        listener.stop()
        d.close()
        store.close()
    return r


def test_cue_buttons_are_refused_until_the_pipeline_is_live(run):
    log, sent = run.seen["before_start"]
    assert sent == 0
    assert list(log["status"]) == ["refused"]
    assert "the pipeline is idle, not live" in log["error"].iloc[0]


def test_start_runs_off_the_kernel_thread_and_reports_live(run):
    assert run.seen["start_click_s"] < 0.5
    assert run.seen["state_after_click"] == "starting"
    assert ">live<" in run.seen["status_live"]


def test_cue_in_without_an_open_break_is_refused_in_the_log(run):
    log = run.seen["cue_in_refused"]
    assert "no ad break is open" in log["error"].iloc[-1]


def test_charts_and_numbers_follow_the_pipeline_stats(run):
    samples = run.seen["samples"]
    assert {"bitrate_kbps", "fps", "srt_rtt_ms", "srt_pkt_loss"} <= set(samples.columns)
    assert samples["fps"].dropna().iloc[-1] == pytest.approx(25, abs=1)
    assert "frames per second: <b>25</b>" in run.seen["numbers"]
    assert "SRT: <b style='color:#1a7f37'>up</b>" in run.seen["numbers"]
    assert run.seen["charts"][:8] == b"\x89PNG\r\n\x1a\n"


def test_the_cue_log_shows_each_cue_as_sent(run):
    html = run.seen["cue_log"]
    assert html.count("<td>sent</td>") == 2
    assert "ondemand-1" in html and "refused" in html


def test_cue_out_and_cue_in_put_a_break_on_idrs_on_the_wire(run):
    checks = cue_checks(probe(run.received))
    first = checks[~checks["repeat"]]
    assert [k.split(":")[0] for k in first["key"]] == ["splice_insert/out", "splice_insert/in"]
    assert (first["offset_frames"] == 0).all(), first
    out, back = first["splice_time"]
    assert back > out


def test_stop_stops_the_pipeline(run):
    assert run.seen["stopped"] == "stopped"
    assert ">stopped<" in run.seen["status_stopped"]
    assert any(e.kind == "stop" for e in run.dashboard.events)
