"""StreamMeter on the shared demultiplexer: what it reads from a real capture."""

from __future__ import annotations

from pathlib import Path

from scte35lab import probe
from scte35lab.live.meter import StreamMeter

SAMPLES = Path(__file__).resolve().parent.parent / "sample_streams"


def test_meter_reads_size_frames_keyframes_and_audio_in_live_sized_reads():
    path = SAMPLES / "h264_aac.ts"
    data = path.read_bytes()
    meter = StreamMeter()
    for i in range(0, len(data), 1316):
        meter.feed(data[i : i + 1316])
    frames = probe(path, progress=False).frames
    video = frames[frames["role"] == "video"]
    # the last frame ends only when another starts: it is not counted yet
    assert meter.frames == len(video) - 1
    assert meter.keyframes == int(video["keyframe"].iloc[:-1].sum())
    assert (meter.width, meter.height) == (320, 180)
    assert meter.first_video_pts == int(video["pts"].iloc[0])
    assert meter.codec == "h264" and meter.audio_codec == "aac"
    assert meter.audio_rate in (44100, 48000) and meter.audio_channels in (1, 2)
    figures = meter.second()
    assert figures["fps"] is not None and abs(figures["fps"] - 25) < 0.5
    assert figures["width"] == 320 and meter.bytes == len(data)


def test_meter_counts_hevc_keyframes():
    meter = StreamMeter()
    meter.feed((SAMPLES / "hevc_aac.ts").read_bytes())
    assert meter.codec == "hevc" and meter.keyframes >= 2
    assert meter.keyframe_interval_s == 1.0
