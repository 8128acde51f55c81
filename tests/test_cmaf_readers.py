"""Independent readers of what package_cmaf wrote: FFmpeg's ffprobe and PyAV demux and decode
the CMAF video (emsg boxes in every segment) with the TS keyframes at the same PTS."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import av
import pytest

from scte35lab import package_cmaf, probe

SAMPLES = Path(__file__).resolve().parents[1] / "sample_streams"
CUES_OK = SAMPLES / "cues_ok.ts"


@pytest.fixture(scope="module", params=[1, 0], ids=["emsg-v1", "emsg-v0"])
def track_file(request, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp(f"cmaf-readers-v{request.param}")
    package_cmaf(CUES_OK, out, emsg_version=request.param, event_track=True)
    joined = out / "video.mp4"  # the CMAF track file: init segment + media segments
    with open(joined, "wb") as f:
        for part in [out / "init-video.m4s", *sorted(out.glob("video-*.m4s"))]:
            f.write(part.read_bytes())
    assert b"emsg" in joined.read_bytes()
    return joined


def _ts_keyframes() -> list[int]:
    return probe(CUES_OK).keyframes["pts"].tolist()


def test_ffprobe_reads_every_video_packet_with_keyframes_at_the_ts_pts(track_file):
    cmd = ["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "packet=pts,flags"]
    run = subprocess.run(
        [*cmd, "-of", "json", str(track_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    packets = json.loads(run.stdout)["packets"]
    assert len(packets) == 250
    assert [int(p["pts"]) for p in packets if "K" in p["flags"]] == _ts_keyframes()


def test_pyav_decodes_every_frame_and_its_keyframes_match_the_ts(track_file):
    with av.open(str(track_file)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
    assert len(frames) == 250
    assert (frames[0].width, frames[0].height) == (320, 180)
    assert [f.pts for f in frames if f.key_frame] == _ts_keyframes()
    assert frames[0].time_base.denominator == 90000


def test_ffprobe_sees_the_event_track_as_a_data_track(tmp_path, track_file):
    out = track_file.parent
    joined = tmp_path / "event.mp4"
    joined.write_bytes(
        b"".join(p.read_bytes() for p in [out / "init-event.m4s", *sorted(out.glob("event-*.m4s"))])
    )
    cmd = ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,codec_tag_string"]
    run = subprocess.run(
        [*cmd, "-show_entries", "packet=pts", "-of", "json", str(joined)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    info = json.loads(run.stdout)
    assert info["streams"][0]["codec_tag_string"] == "evte"
    assert [int(p["pts"]) for p in info["packets"]] == [900000 + 180000 * k for k in range(5)]


def test_probe_of_ffmpegs_own_fragmented_mp4_agrees_with_ffprobe(tmp_path):
    # one file, video and audio interleaved in each moof, no styp: FFmpeg's mp4 muxer
    frag = tmp_path / "frag.mp4"
    cmd = ["ffmpeg", "-v", "error", "-y", "-i", str(CUES_OK), "-map", "0:v", "-map", "0:a"]
    cmd += ["-c", "copy", "-bsf:a", "aac_adtstoasc", "-movflags"]
    cmd += ["frag_keyframe+empty_moov+default_base_moof", str(frag)]
    subprocess.run(cmd, check=True, timeout=60)
    p = probe(frag)
    assert set(p.pids["role"]) == {"video", "audio"} and len(p.errors) == 0
    for kind, role in (("v", "video"), ("a", "audio")):
        ask = ["-show_entries", "stream=time_base:packet=pts,flags", "-of", "json", str(frag)]
        run = subprocess.run(
            ["ffprobe", "-v", "error", "-select_streams", kind, *ask],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        info = json.loads(run.stdout)
        num, den = map(int, info["streams"][0]["time_base"].split("/"))
        want = [int(pk["pts"]) * 90000 * num // den for pk in info["packets"]]
        rows = p.frames[p.frames["role"] == role]
        assert rows["pts"].tolist() == want
        if role == "video":
            keys = [
                int(pk["pts"]) * 90000 * num // den for pk in info["packets"] if "K" in pk["flags"]
            ]
            assert p.keyframes["pts"].tolist() == keys
