"""LiveDashboard over a real loopback pipeline: FFmpeg's test source publishes over RTMP
(the stand-in OBS), srt-live-transmit listens as the stand-in distributor. The buttons are
clicked from Python; the tests check what the dashboard then holds and shows, and what went
out on the wire."""

from __future__ import annotations

import re
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from scte35lab import probe
from scte35lab.live import FFmpegTestSource, Pipeline, SrtListener
from scte35lab.live.rtmp import free_port
from scte35lab.schedule import Store
from scte35lab.widgets import LiveDashboard, cue_checks
from scte35lab.widgets.live_dashboard import chart_figure, smoothed_fps
from scte35lab.widgets.obs_panel import ObsPanel
from scte35lab.widgets.stream_time import cue_seconds, stream_time

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
    pipeline = Pipeline(f"srt://127.0.0.1:{port}", store=store, stream="main", rtmp_port=0)
    d = LiveDashboard(pipeline, duration=2.0, refresh=0.5)
    obs = ObsPanel(pipeline)
    r = Run(d, pipeline, work / "received.ts")
    source = None
    try:
        r.seen["obs_before_start"] = obs.status.value
        r.seen["latency_idle"] = d.latency.value
        d.cue_out_button.click()
        r.seen["before_start"] = (d.cue_frame().copy(), len(pipeline.cues))
        t0 = time.monotonic()
        d.start_button.click()
        r.seen["start_click_s"] = time.monotonic() - t0
        r.seen["state_after_click"] = d.state
        assert d.wait(15) == "live", d.status.value
        r.seen["status_live"] = d.status.value
        r.seen["obs_waiting"] = obs.status.value
        r.seen["obs_fields"] = obs.fields.value
        r.seen["obs_settings"] = obs.settings.value
        source = FFmpegTestSource(f"{pipeline.ingest_url}/{key}", gop=25).start()
        assert _until(lambda: "OBS connected at" in obs.status.value, 15), obs.status.value
        r.seen["obs_connected"] = obs.status.value
        r.seen["obs_late"] = ObsPanel(pipeline).status.value  # attached after the fact
        assert _until(lambda: any(s.get("fps") for s in d.samples), 20), list(d.samples)
        # video has left the injector (it holds the first pre-roll + look-ahead): a cue sent
        # before that goes out ahead of the SRT connection's first keyframe
        assert _until(lambda: pipeline.out_meter.last_video_pts is not None, 15)
        d.cue_in_button.click()
        r.seen["cue_in_refused"] = d.cue_frame().copy()
        d.cue_out_button.click()
        r.seen["note"] = d.cue_note.value
        rec = r.seen["out_record"] = pipeline.cues[-1]
        # both readings count to the same point: the IDR the injector moved the cue to (on a
        # busy machine that can be the one after next, more than the 1.6 s between readings)
        assert _until(lambda: rec.splice_pts is not None, 10), rec
        label = stream_time(cue_seconds(pipeline, rec)[1])  # as the countdown prints it
        _until(lambda: "next break" in d.countdown.value and label in d.countdown.value, 3)
        first = d.countdown.value
        time.sleep(1.6)
        _until(lambda: d.countdown.value != first, 5)  # a drawing pass since (slow under load)
        r.seen["countdown"] = (first, d.countdown.value)
        r.seen["countdown_at"] = time.time()
        time.sleep(1.0)
        d.cue_in_button.click()
        assert _until(
            lambda: len(pipeline.cues) == 2 and all(c.status == "delivered" for c in pipeline.cues),
            20,
        ), pipeline.cue_frame()
        # the drawing thread shows the last cue's state on its next pass (slow under load)
        _until(lambda: d.cue_log.value.count("s35-state-delivered") == 2, 10)
        time.sleep(0.6)  # and the charts once more
        r.seen["numbers"] = d.numbers.value
        r.seen["charts"] = bytes(d.charts.value)
        r.seen["cue_log"] = d.cue_log.value
        d.details.value = True
        r.seen["cue_log_details"] = d.cue_log.value
        r.seen["samples"] = d.frame()
        d.stop_button.click()
        r.seen["stopped"] = d.wait(15)
        time.sleep(1.2)  # a drawing pass after the stop must not bring live figures back
        r.seen["status_stopped"] = d.status.value
        r.seen["numbers_stopped"] = d.numbers.value
        r.seen["countdown_stopped"] = d.countdown.value
        r.seen["note_stopped"] = d.cue_note.value
        r.seen["obs_stopped"] = obs.status.value
    finally:
        if source is not None:
            source.stop()
        if d.state not in ("stopped", "error"):
            pipeline.stop()
        listener.stop()
        d.close()
        store.close()
    return r


STREAM_TIME = r"\d\d:\d\d:\d\d\.\d{3}"
WALL = r"\d\d:\d\d:\d\d"


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


def test_the_added_latency_is_said_with_its_parts(run):
    text = run.seen["latency_idle"]
    assert "added latency 5.12 s" in text
    assert "pre-roll 4 s + look-ahead 1 s" in text and "SRT latency 0.12 s" in text


def test_the_obs_panel_shows_the_real_server_url_once_started(run):
    assert "not started" in run.seen["obs_before_start"]
    url = run.pipeline.ingest_url
    assert url is not None and not url.endswith(":1935/live")  # rtmp_port=0: a random port
    assert f"waiting for OBS at {url}" in run.seen["obs_waiting"]
    assert f"value='{url}'" in run.seen["obs_fields"] and ">copy</button>" in run.seen["obs_fields"]
    assert url in run.seen["obs_settings"]
    assert re.search(f"OBS connected at {WALL}", run.seen["obs_connected"])
    assert re.search(f"OBS connected at {WALL}", run.seen["obs_late"])
    assert "stopped at" in run.seen["obs_stopped"]


def test_cue_out_says_when_the_break_starts_and_why(run):
    note = run.seen["note"]
    rec = run.seen["out_record"]
    t = run.pipeline.clock.seconds(rec.requested_pts, near=10)
    expected = f"{int(t // 3600):02d}:{int(t % 3600 // 60):02d}:{t % 60:06.3f}"
    assert f"<b class='s35-note-time'>{expected}</b>" in note
    assert re.search(f"on air at the distributor at {WALL} \\(in \\d+\\.\\d s\\)", note)
    assert "the stream runs 5.12 s behind OBS" in note and "next keyframe" in note


def test_the_countdown_to_the_break_and_its_return_moves(run):
    first, second = run.seen["countdown"]
    pattern = (
        f"next break <b>ondemand-1</b> at ({STREAM_TIME}) \\({WALL}\\) on air in ([\\d.]+) s"
        f".*returns at ({STREAM_TIME}) \\({WALL}\\) in ([\\d.]+) s"
    )
    a, b = re.search(pattern, first), re.search(pattern, second)
    assert a and b, (first, second)
    assert float(b[2]) < float(a[2])
    assert float(b[4]) - float(b[2]) == pytest.approx(2.0, abs=1.1)  # the 2 s break
    # the second reading counts down to when the splice (moved to its IDR) is on air
    rec = run.seen["out_record"]
    clock = run.pipeline.clock
    splice = clock.seconds(rec.splice_pts, near=10)
    on_air = clock.started_at.timestamp() + splice + 5.12
    assert float(b[2]) == pytest.approx(on_air - run.seen["countdown_at"], abs=0.8)
    assert b[1] == f"{int(splice // 3600):02d}:{int(splice % 3600 // 60):02d}:{splice % 60:06.3f}"


def test_the_cue_log_shows_stream_times_and_states(run):
    html = run.seen["cue_log"]
    assert html.count("s35-state-delivered") == 2
    assert len(re.findall(f"<td>{STREAM_TIME}</td>", html)) >= 2
    assert "ondemand-1" in html and "s35-state-refused" in html
    rec = run.pipeline.cues[0]
    assert "<th>hex</th>" not in html and rec.cue.to_hex() not in html  # one click away
    assert f"<td>{rec.splice_pts}</td>" not in html
    details = run.seen["cue_log_details"]
    assert f"<td>{rec.splice_pts}</td>" in details
    assert f"<td class='s35-hex'>{rec.cue.to_hex()}</td>" in details


def test_charts_and_numbers_follow_the_pipeline_stats(run):
    samples = run.seen["samples"]
    assert {"bitrate_kbps", "fps", "srt_rtt_ms", "srt_pkt_loss"} <= set(samples.columns)
    assert samples["fps_smooth"].dropna().iloc[-1] == pytest.approx(25, abs=0.3)
    assert re.search(r"frames per second: <b>2[45]\.?\d*</b>", run.seen["numbers"])
    assert "SRT: <b style='color:#1a7f37'>up</b>" in run.seen["numbers"]
    assert run.seen["charts"][:8] == b"\x89PNG\r\n\x1a\n"


def test_cue_out_and_cue_in_put_a_break_on_idrs_on_the_wire(run):
    checks = cue_checks(probe(run.received))
    first = checks[~checks["repeat"]]
    assert [k.split(":")[0] for k in first["key"]] == ["splice_insert/out", "splice_insert/in"]
    assert (first["offset_frames"] == 0).all(), first
    out, back = first["splice_time"]
    assert back > out


def test_stop_clears_the_live_figures(run):
    assert run.seen["stopped"] == "stopped"
    assert ">stopped<" in run.seen["status_stopped"]
    assert ">stopped</span>" in run.seen["numbers_stopped"]
    assert "SRT" not in run.seen["numbers_stopped"]
    assert ">stopped</span>" in run.seen["countdown_stopped"]
    note = run.seen["note_stopped"]  # the last cue's note keeps its times, not a countdown
    assert re.search(f"on air at the distributor at {WALL}\\.", note), note
    assert "s35-state-delivered" in note
    assert any(e.kind == "stop" for e in run.dashboard.events)


def _rows(fps: list[float], frames: list[int]) -> pd.DataFrame:
    return pd.DataFrame({"t": range(len(fps)), "fps": fps, "frames": frames})


def test_fps_is_counted_over_a_window_of_frames_not_per_second():
    # a steady 30 fps source whose one-second windows hold 26..31 frames (PTS jitter)
    frames = [31, 26, 30, 31, 26, 30, 31, 26]
    spans = [1.0, 25 / 30 + 0.02, 29 / 30, 1.0, 25 / 30 - 0.01, 29 / 30, 1.0, 25 / 30]
    fps = [(n - 1) / s for n, s in zip(frames, spans, strict=True)]
    smooth = smoothed_fps(_rows(fps, frames))
    assert max(fps) - min(fps) > 0.8
    assert (smooth.iloc[2:] - 30).abs().max() < 0.4
    assert smooth.iloc[2:].max() - smooth.iloc[2:].min() < max(fps) - min(fps)


def test_a_loss_count_of_zero_is_drawn_from_zero_on_whole_numbers():
    df = _rows([25.0] * 4, [26] * 4).assign(
        srt_pkt_loss=[0, 0, 0, 0], srt_rtt_ms=[0.4, 0.5, 0.4, 0.5], bitrate_kbps=[900.0] * 4
    )
    df["fps_smooth"] = smoothed_fps(df)
    df["bitrate_smooth"] = df["bitrate_kbps"]
    fig, latest = chart_figure(df)
    axes = {ax.get_title(): ax for ax in fig.axes}
    loss = axes["SRT packets lost (total)"]
    assert loss.get_ylim() == (0.0, 1.0)
    assert all(float(t).is_integer() for t in loss.get_yticks())
    assert all(ax.get_ylim()[0] == 0 for ax in fig.axes)
    assert "frames per second: <b>25</b>" in latest
