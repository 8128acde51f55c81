"""condition(): real FFmpeg re-encodes put an IDR on each splice time and keep the timeline;
with the injector after it, verify() passes for every cue at 25, 29.97 and 30 fps."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import av
import pytest

from scte35lab import Cue, condition, probe, verify
from scte35lab.cli import main
from scte35lab.errors import ComponentError
from scte35lab.live.condition import parse_times

FFMPEG = shutil.which("ffmpeg")
pytestmark = pytest.mark.skipif(FFMPEG is None, reason="needs Debian's ffmpeg")
RATES = {"25": "25", "29.97": "30000/1001", "30": "30"}
TICKS = 90_000


def encode(path: Path, rate: str, *, seconds: float = 11, source: str = "testsrc2") -> Path:
    """A GOP of 3 s that does not line up with the splice times; B-frames; AAC."""
    fps = eval(rate)  # "30000/1001" -> 29.97
    lavfi = f"{source}=size=320x180:rate={rate}"
    cmd = [
        FFMPEG, "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", lavfi, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
        "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast",
        "-g", str(round(3 * fps)), "-bf", "2", "-b:v", "150k", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "48k", "-ac", "1", "-f", "mpegts", str(path),
    ]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True)
    return path


@pytest.fixture(scope="module")
def conditioned(tmp_path_factory):
    """Per frame rate: the source, and its conditioned + injected copy (break 5 s - 8 s)."""
    d = tmp_path_factory.mktemp("condition")
    made = {}
    for name, rate in RATES.items():
        src = encode(d / f"src_{name}.ts", rate)
        dst = d / f"out_{name}.ts"
        cues = [
            (5.0, Cue.splice_insert(40, break_duration=3 * TICKS)),
            (8.0, Cue.splice_insert(40, out_of_network=False)),
        ]
        df = condition(src, dst, [5.0, 8.0], cues=cues)
        made[name] = (src, dst, df)
    return made


@pytest.mark.parametrize("fps", list(RATES))
def test_after_condition_and_inject_verify_passes_for_every_cue(conditioned, fps):
    src, dst, df = conditioned[fps]
    assert not verify(src.read_bytes()).shape[0]  # no cues before
    v = verify(dst)
    assert v["ok"].all(), v.attrs["summary"]
    assert len(v) == 2 and v["paired"].all()
    assert (v["offset_frames"] == 0).all() and (v["preroll"] >= 4.0).all()
    assert df.attrs["inject"]["status"].tolist() == ["placed", "placed"]


@pytest.mark.parametrize("fps", list(RATES))
def test_condition_puts_an_idr_on_the_first_frame_at_or_after_each_splice_time(conditioned, fps):
    src, _, df = conditioned[fps]
    frame_ms = 1000 / eval(RATES[fps])
    assert df["idr_pts"].notna().all()
    assert ((df["idr_offset_ms"] >= 0) & (df["idr_offset_ms"] < frame_ms)).all()
    before = probe(src).keyframes["stream_time"].tolist()
    assert not any(abs(t - 5.0) < 0.04 or abs(t - 8.0) < 0.04 for t in before)
    if fps != "29.97":  # 5 s and 8 s are on the 25 and 30 fps frame grid
        assert df["idr_at_splice"].all()


def _packets(path: Path, kind: str) -> list[tuple[int | None, bytes]]:
    with av.open(str(path)) as c:
        return [(pk.pts, bytes(pk)) for pk in c.demux(getattr(c.streams, kind)[0]) if pk.size]


@pytest.mark.parametrize("fps", list(RATES))
def test_condition_keeps_the_audio_packets_and_every_video_pts(conditioned, fps):
    src, dst, _ = conditioned[fps]
    assert _packets(dst, "audio") == _packets(src, "audio")
    assert sorted(p for p, _ in _packets(dst, "video")) == sorted(
        p for p, _ in _packets(src, "video")
    )


def test_scene_cut_keyframes_are_off_by_default_and_can_be_turned_on(tmp_path):
    a = encode(tmp_path / "a.ts", "25", seconds=3)
    b = encode(tmp_path / "b.ts", "25", seconds=3, source="smptebars")
    joined = tmp_path / "cut.ts"
    joined.write_bytes(a.read_bytes() + b.read_bytes())  # a hard cut at 3 s
    src = tmp_path / "cut_src.ts"
    subprocess.run(
        [FFMPEG, "-loglevel", "error", "-y", "-i", str(joined), "-c", "copy", str(src)],
        check=True,
    )
    counts = {}
    for sc in (0, None):
        out = tmp_path / f"sc_{sc}.ts"
        condition(src, out, [1.0], gop=10.0, sc_threshold=sc)
        counts[sc] = probe(out).keyframes["stream_time"].round(2).tolist()
    assert counts[0] == [0.0, 1.0]
    assert len(counts[None]) > 2 and any(2.9 < t < 3.2 for t in counts[None])


def test_a_missing_ffmpeg_is_a_component_error_that_names_it(tmp_path):
    src = encode(tmp_path / "s.ts", "25", seconds=2)
    with pytest.raises(ComponentError, match="/nonexistent/ffmpeg is not installed"):
        condition(src, tmp_path / "o.ts", [1.0], ffmpeg="/nonexistent/ffmpeg")
    assert not (tmp_path / "o.ts").exists()


def test_splice_times_are_taken_repeated_or_comma_separated():
    assert parse_times(["10,40", "25", 7.5]) == [7.5, 10.0, 25.0, 40.0]


def test_cli_condition_takes_at_repeated_and_comma_separated(tmp_path, capsys):
    src = encode(tmp_path / "s.ts", "25", seconds=4)
    out = tmp_path / "o.ts"
    assert main(["condition", str(src), str(out), "--at", "1,2.2", "--at", "3", "--gop", "10"]) == 0
    assert probe(out).keyframes["stream_time"].tolist() == [0.0, 1.0, 2.2, 3.0]
    assert "idr_at_splice" in capsys.readouterr().out


def test_cli_condition_errors_are_one_line_and_exit_2(tmp_path, capsys):
    src = encode(tmp_path / "s.ts", "25", seconds=2)
    rc = main(
        ["condition", str(src), str(tmp_path / "o.ts"), "--at", "1", "--ffmpeg", "/no/ffmpeg"]
    )
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.count("\n") == 0 and "/no/ffmpeg" in err and "Traceback" not in err
    assert main(["condition", str(src), str(tmp_path / "o.ts"), "--at", "soon"]) == 2
    assert "not a number" in capsys.readouterr().err
