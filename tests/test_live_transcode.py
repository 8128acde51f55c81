"""Transcode mode: libx264 re-encodes the ingest and forces an IDR at every splice point.

The stand-in OBS sends a 5 s GOP and the encoder's own is 10 s, so no regular IDR is at a
splice point: every cue that lands on an IDR in the capture landed on one made for it. One
bounded live run (~22 s) is shared by the end-to-end tests; the settings rules run on a
file, without the network.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from live_helpers import PASSPHRASE, live_children, udp_port, wait_for_video

from scte35lab import probe, verify
from scte35lab.errors import ComponentError
from scte35lab.live import FFmpegTestSource, Pipeline, SrtListener
from scte35lab.live.transcode import Transcoder, TranscodeSettings
from scte35lab.schedule import AdBreak, Schedule, Store
from scte35lab.widgets import LiveDashboard

PREROLL = 4.0
TICKS = 90_000
SETTINGS = "size=256x144,fps=30,bitrate=400k,preset=ultrafast,gop=10,abitrate=64k,muxrate=900k"


@pytest.fixture(scope="module")
def long_gop_ts(tmp_path_factory) -> Path:
    """8 s of H.264 (10 s GOP, B-frames, 25 fps) and AAC in MPEG-TS, made by FFmpeg."""
    path = tmp_path_factory.mktemp("tc") / "src.ts"
    argv = FFmpegTestSource(
        str(path), fmt="mpegts", duration=8, realtime=False, gop=250, bframes=2
    ).argv
    subprocess.run(argv, check=True, timeout=60)
    return path


def _transcode_file(src: Path, settings: TranscodeSettings, force_at: list[float]) -> tuple:
    out = bytearray()
    tc = Transcoder(settings, out.extend).start()
    data = src.read_bytes()
    first = int(probe(src).frames.query("role == 'video'")["pts"].iloc[0])  # the IDR
    for t in force_at:
        tc.force_idr(first + round(t * TICKS))
    for i in range(0, len(data), 13160):
        tc.feed(data[i : i + 13160])
    tc.close()
    assert tc.error is None
    return probe(bytes(out)), first, tc


def test_a_requested_splice_point_gets_an_idr_exactly_there(long_gop_ts: Path) -> None:
    s = TranscodeSettings.parse("size=256x144,preset=ultrafast,gop=20")
    p, first, tc = _transcode_file(long_gop_ts, s, [2.0, 5.52])
    idr = {(int(x) - first) / TICKS for x in p.keyframes["pts"]}
    assert idr == {0.0, 2.0, 5.52}  # 25 fps: 5.52 s is frame 138
    assert [(x - first) / TICKS for x in tc.forced] == [2.0, 5.52]


def test_a_splice_point_between_frames_gets_the_next_frame(long_gop_ts: Path) -> None:
    s = TranscodeSettings.parse("fps=30,preset=ultrafast,gop=20")
    p, first, _ = _transcode_file(long_gop_ts, s, [3.01])
    idr = sorted((int(x) - first) / TICKS for x in p.keyframes["pts"])
    assert idr == [0.0, pytest.approx(91 / 30)]  # the first 30 fps slot at or after 3.01 s


def test_timestamps_are_kept_and_the_frame_rate_is_converted(long_gop_ts: Path) -> None:
    s = TranscodeSettings.parse("fps=30,size=160x90,preset=ultrafast")
    p, first, tc = _transcode_file(long_gop_ts, s, [])
    video = p.frames.query("role == 'video'")
    assert int(video["pts"].min()) == first
    steps = set(video["pts"].sort_values().diff().dropna().astype(int))
    assert steps == {3000}  # 30 fps on the 90 kHz clock
    assert tc.duplicated > 0 and len(video) == pytest.approx(8 * 30, abs=2)
    assert set(p.pids["codec"].dropna().astype(str)) >= {"h264", "aac"}


def test_muxrate_gives_a_constant_rate_stream_stuffed_with_nulls(long_gop_ts: Path) -> None:
    s = TranscodeSettings.parse("bitrate=300k,preset=ultrafast,abitrate=64k,muxrate=800k")
    p, _, _ = _transcode_file(long_gop_ts, s, [])
    pids = p.pids.set_index("pid")
    assert pids.loc[0x1FFF, "packets"] > 100
    total = pids["bitrate"].sum()
    assert total == pytest.approx(800_000, rel=0.05)


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ("bitrate=fast", "bitrate"),
        ("size=641x360", "size"),
        ("preset=quick", "preset"),
        ("tune=loud", "tune"),
        ("gop=0", "gop"),
        ("arate=12345", "audio_rate"),
        ("muxrate=100k", "muxrate"),
        ("colour=red", "colour"),
        ("bitrate=inf", "video_bitrate"),
        ("threads=-1", "threads"),
    ],
)
def test_bad_transcode_settings_name_the_setting(spec: str, named: str) -> None:
    with pytest.raises(ComponentError, match=named):
        TranscodeSettings.parse(spec)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A live session in transcode mode: a break at 7 s for 5 s, and one on-demand cue."""
    d: Path = tmp_path_factory.mktemp("live-tc")
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
        schedule=Schedule([AdBreak(7, 5, cue_id="brk-1")]),
        rtmp_port=0,
        preroll=PREROLL,
        transcode=SETTINGS,
        on_stats=stats.append,
    )
    dashboard = LiveDashboard(pipeline, refresh=0.5)
    obs = None
    try:
        pipeline.start()
        url = f"{pipeline.ingest_url}/{key}"
        obs = FFmpegTestSource(url, duration=22, gop=125, bframes=2).start()
        wait_for_video(pipeline)
        time.sleep(11)  # after the break
        ondemand = pipeline.cue_out(duration=3)
        dashboard.redraw()
        numbers = dashboard.numbers.value
        obs.wait(30)
        time.sleep(1)
    finally:
        if obs is not None:
            obs.stop()
        pipeline.stop()
        listener.stop()
        dashboard.close()
    yield {
        "numbers": numbers,
        "store": store,
        "pipeline": pipeline,
        "stats": stats,
        "ondemand": ondemand,
        "capture": probe(d / "capture.ts"),
    }
    store.close()


@pytest.mark.slow
def test_transcode_every_cue_lands_on_an_idr_with_the_preroll(run) -> None:
    table = verify(run["capture"], preroll=PREROLL)
    assert len(table) == 3, table  # out, in, on demand
    assert table["ok"].all(), table[["splice_time", "nearest_idr_time", "reasons"]]


@pytest.mark.slow
def test_transcode_forces_idrs_at_the_scheduled_stream_times(run) -> None:
    cap = run["capture"]
    zero = int(cap.frames.query("role == 'video'")["pts"].min())
    times = sorted({(int(p) - zero) / TICKS for p in cap.cues["splice_point"]})
    assert {7.0, 12.0} <= set(times)  # not moved to a GOP boundary (5 s in, 10 s out)
    forced = {(p - zero) / TICKS for p in run["pipeline"].transcoder_forced}
    assert set(times) <= forced


@pytest.mark.slow
def test_transcode_on_demand_cue_gets_its_own_idr(run) -> None:
    rec = run["ondemand"]
    cap = run["capture"]
    assert rec.status == "delivered"
    assert rec.splice_pts in set(cap.keyframes["pts"].astype(int))
    assert rec.splice_pts in run["pipeline"].transcoder_forced


@pytest.mark.slow
def test_transcode_output_has_the_settings_and_its_stats(run) -> None:
    steady = [r for r in run["stats"] if r.get("fps")]
    assert len(steady) >= 12
    assert {(r["width"], r["height"]) for r in steady} == {(256, 144)}
    assert all(abs(r["fps"] - 30) < 2 for r in steady[2:])
    assert all(r["mode"] == "transcode" for r in run["stats"])
    enc = [r for r in run["stats"] if "transcode_fps" in r]
    assert len(enc) >= 12 and any(abs(r["transcode_fps"] - 30) < 3 for r in enc)
    assert any(r.get("transcode_speed", 0) > 0.8 for r in enc)
    pids = run["capture"].pids.set_index("pid")
    assert pids.loc[0x1FFF, "packets"] > 0  # CBR mux: null stuffing went out too


@pytest.mark.slow
def test_the_dashboard_shows_the_encoder_figures_in_transcode_mode(run) -> None:
    assert "encoder: <b>" in run["numbers"] and "IDRs forced <b>" in run["numbers"]


@pytest.mark.slow
def test_transcode_leaves_no_child_process(run) -> None:
    assert live_children() == []


def test_an_ingest_without_video_is_a_named_transcoder_error(tmp_path: Path) -> None:
    path = tmp_path / "audio.ts"
    argv = FFmpegTestSource(str(path), fmt="mpegts", duration=3, realtime=False).argv
    argv.insert(argv.index("-c:v"), "-vn")
    subprocess.run(argv, check=True, timeout=60)
    tc = Transcoder(TranscodeSettings(), lambda b: None).start()
    data = path.read_bytes()
    with pytest.raises(ComponentError, match="no video stream"):
        for i in range(0, len(data), 13160):
            tc.feed(data[i : i + 13160])
        tc.close()
        tc.feed(b"\x47")  # after the failure, a feed says why
    tc.close()
    assert not tc.running


@pytest.mark.slow
def test_a_transcoder_that_keeps_failing_is_restarted_then_given_up_and_said_so(
    tmp_path: Path,
) -> None:
    path = tmp_path / "audio.ts"
    argv = FFmpegTestSource(str(path), fmt="mpegts", duration=30, realtime=False).argv
    argv.insert(argv.index("-c:v"), "-vn")
    subprocess.run(argv, check=True, timeout=60)
    port = udp_port()
    events: list = []
    with SrtListener(port, tmp_path / "capture.ts"):
        p = Pipeline(
            f"srt://127.0.0.1:{port}",
            ingest=str(path),  # played in real time
            transcode="preset=ultrafast",
            on_event=events.append,
        )
        try:
            p.start()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not any(
                "failed 3 times" in e.message for e in events
            ):
                time.sleep(0.1)
        finally:
            p.stop()
    restarts = [e for e in events if e.kind == "transcoder_restarted"]
    assert len(restarts) == 2 and all("no video stream" in e.message for e in restarts)
    gave_up = [e for e in events if "failed 3 times" in e.message]
    assert len(gave_up) == 1 and gave_up[0].kind == "error"
    assert p.stats_rows == [] or all(not r.get("fps") for r in p.stats_rows)
    assert live_children() == []


def test_timestamps_are_kept_across_the_pts_wrap(tmp_path: Path, long_gop_ts: Path) -> None:
    src = tmp_path / "wrap.ts"
    offset = f"{2**33 / TICKS - 3:.6f}"  # the same picture starting 3 s before PTS wraps
    argv = ["ffmpeg", "-v", "error", "-i", str(long_gop_ts), "-c", "copy", "-copyts"]
    argv += ["-output_ts_offset", offset, "-f", "mpegts", str(src)]
    subprocess.run(argv, check=True, timeout=60)
    s = TranscodeSettings.parse("size=160x90,preset=ultrafast,gop=20")
    p, first, tc = _transcode_file(src, s, [4.0])
    assert first > 2**33 - 4 * TICKS
    video = p.frames.query("role == 'video'")
    assert first in set(video["pts"].astype(int))  # kept, not shifted near 0
    forced = (first + 4 * TICKS) % 2**33
    assert tc.forced == [forced] and forced in set(p.keyframes["pts"].astype(int))


def test_obs_gone_8s_in_transcode_mode_the_slate_goes_out_and_pts_run_on(tmp_path: Path):
    """MediaLive's input loss: the last frame (1 s), black (1 s), then the slate colour, with
    timestamps going on; the return is an IDR; a cue inside the loss is missed then."""
    import io
    import itertools

    import av
    import numpy as np
    from live_helpers import DatagramRecorder

    from scte35lab import verify

    port = udp_port()
    rec = DatagramRecorder(port, passphrase=PASSPHRASE).start()
    settings = "size=256x144,fps=25,bitrate=300k,preset=ultrafast,gop=2,loss_color=1E40AF"
    sched = Schedule([AdBreak(16, 2, cue_id="in-loss"), AdBreak(30, 2, cue_id="after")])
    p = Pipeline(
        f"srt://127.0.0.1:{port}",
        key="the-stream-key",
        passphrase=PASSPHRASE,
        rtmp_port=0,
        transcode=settings,
        schedule=sched,
    )
    try:
        p.start()
        for seconds in (12, 16):
            obs = FFmpegTestSource(f"{p.ingest_url}/the-stream-key", duration=seconds).start()
            obs.wait(seconds + 20)
            obs.stop()
            if seconds == 12:
                time.sleep(8)  # OBS is away for 8 s
        time.sleep(1)
    finally:
        p.stop()
        time.sleep(0.5)  # the receiver writes out what it got within its latency
        rec.stop()
    kinds = [e.kind for e in p.events]
    assert "input_lost" in kinds and kinds.count("ingest_resumed") == 1
    assert "srt_down" not in kinds
    states = {(r.cue_id, r.role): r.status for r in p.cues}
    assert states[("in-loss", "out")] == "missed"
    assert states[("after", "out")] == "delivered" and states[("after", "in")] == "delivered"
    data = bytes(rec.data[: len(rec.data) // 188 * 188])
    cap = probe(data)
    # one video timeline, no gap: frames 40 ms apart all the way through the loss (up to
    # the second ingest's end: stopping sends what is held at once)
    zero = p.desk.zero_mono  # stream time is monotonic: a stepped wall clock moves nothing
    end = [e.mono - zero for e in p.events if e.kind == "ingest_ended"][-1] - 1
    video = cap.frames[cap.frames["pid"] == cap.keyframes["pid"].iloc[0]]
    t = np.sort([p.clock.seconds(int(x), near=20) for x in video["pts"]])
    steps = np.diff(t[t < end])
    gaps = [b - a for a, b in itertools.pairwise(rec.times)]
    hole = (t[steps.argmax()], steps.max(), end)
    assert len(video) > 25 * 30 and steps.max() <= 0.1, (hole, max(gaps), p.stats_rows[-2:])
    assert max(gaps) < 1.0
    # the cues after the return are on IDRs with their pre-roll
    table = verify(cap)
    after = table[table["splice_event_id"] == 2]
    assert len(after) == 2 and after["ok"].all(), after
    # what went out during the loss: black, then the slate colour (blue)
    lost = next(e for e in p.events if e.kind == "input_lost").mono - zero
    colours = {}
    untimed = 0  # a frame the decoder gives without a PTS (the capture's cut last one)
    with av.open(io.BytesIO(data), format="mpegts") as c:
        for frame in c.decode(video=0):
            if frame.pts is None:
                untimed += 1
                continue
            t = p.clock.seconds(int(frame.pts), near=lost)
            if lost + 1.3 < t < lost + 1.8 or lost + 3 < t < lost + 6:
                rgb = frame.to_ndarray(format="rgb24").reshape(-1, 3).mean(axis=0)
                colours.setdefault("black" if t < lost + 2 else "slate", []).append(rgb)
    assert untimed <= 2, untimed
    black = np.mean(colours["black"], axis=0)
    slate = np.mean(colours["slate"], axis=0)
    assert black.max() < 30, black
    assert slate[2] > 150 and slate[0] < 60, slate  # #1E40AF: blue


def test_splice_on_slate_places_a_cue_due_in_the_loss_on_a_forced_idr_of_the_slate(
    tmp_path: Path,
):
    from scte35lab import verify

    port = udp_port()
    cap = tmp_path / "capture.ts"
    with SrtListener(port, cap, passphrase=PASSPHRASE):
        p = Pipeline(
            f"srt://127.0.0.1:{port}",
            key="the-stream-key",
            passphrase=PASSPHRASE,
            rtmp_port=0,
            transcode="size=256x144,fps=25,bitrate=300k,preset=ultrafast,gop=10",
            schedule=Schedule([AdBreak(12.3, 2, cue_id="on-slate")]),
            splice_on_slate=True,
        ).start()
        try:
            obs = FFmpegTestSource(f"{p.ingest_url}/the-stream-key", duration=10).start()
            obs.wait(30)
            obs.stop()
            time.sleep(12)  # the break falls in the loss; the slate carries it out
        finally:
            p.stop()
    rec = {(r.cue_id, r.role): r for r in p.cues}
    out = rec[("on-slate", "out")]
    assert out.status == "delivered" and out.splice_pts in p.transcoder_forced
    table = verify(cap)
    assert len(table) == 2 and table["ok"].all(), table


def test_splice_on_slate_needs_transcode_mode() -> None:
    with pytest.raises(ComponentError, match="splice_on_slate needs transcode"):
        Pipeline("srt://127.0.0.1:9000", splice_on_slate=True)
