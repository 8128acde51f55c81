"""Benchmark HLS packaging: scte35lab ``package_hls`` beside FFmpeg's own HLS muxer, one run.

Input: bench/out/bench_60s.ts (60 s 720p30 H.264/AAC at ~8 Mbit/s with a splice_insert every
30 s, made once by bench/probe.py's encoder). Each packager writes 2 s segments and a VOD
playlist from the same file in the page cache; FFmpeg (``-c copy -f hls``) writes no cue
tags at all, scte35lab writes DATERANGE + CUE-OUT/IN + OATCLS and forces cuts at splices.
The live path (``HlsLive`` fed 1316-byte SRT-sized chunks) is timed too.

Prints wall time (best of ``--repeat``), speed as a multiple of real time, segments written
and cue tags, so the numbers are checked against each other.

Usage: ``.venv/bin/python bench/hls.py [--repeat N] [--input FILE]``
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))

from scte35lab import probe  # noqa: E402
from scte35lab.manifest import HlsLive, package_hls  # noqa: E402

CUE_TAGS = ("#EXT-X-DATERANGE", "#EXT-X-CUE-OUT", "#EXT-X-CUE-IN", "#EXT-OATCLS-SCTE35")


def ensure_input(path: Path) -> Path:
    sys.path.insert(0, str(ROOT / "bench"))
    from probe import ensure  # bench/probe.py: the shared 8 Mbit/s test capture

    return ensure(path, 60)


def run_ffmpeg(src: Path, out: Path) -> None:
    cmd = [
        "ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y", "-copyts",
        "-i", str(src), "-map", "0:v", "-map", "0:a", "-c", "copy",
        "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod",
        "-hls_segment_filename", str(out / "seg_%05d.ts"), str(out / "index.m3u8"),
    ]  # fmt: skip
    subprocess.run(cmd, check=True)


def run_scte35lab(src: Path, out: Path) -> None:
    package_hls(src, out, segment=2.0)


def run_live(src: Path, out: Path) -> None:
    with open(src, "rb") as f, HlsLive(out, segment=2.0, window=6) as live:
        while chunk := f.read(1316):
            live.write(chunk)


def best(fn: Callable[[Path, Path], None], src: Path, repeat: int) -> tuple[float, Path]:
    times = []
    keep = Path(tempfile.mkdtemp(prefix="bench-hls-"))
    for _ in range(repeat):
        out = Path(tempfile.mkdtemp(prefix="bench-hls-"))
        t0 = time.perf_counter()
        fn(src, out)
        times.append(time.perf_counter() - t0)
        shutil.rmtree(keep)
        keep = out
    return min(times), keep


def describe(out: Path) -> tuple[int, int]:
    text = (out / "index.m3u8").read_text()
    segments = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
    tags = sum(1 for line in text.splitlines() if line.startswith(CUE_TAGS))
    return segments, tags


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--input", type=Path, default=OUT / "bench_60s.ts")
    args = ap.parse_args()
    if shutil.which("ffmpeg") is None:
        print("ffmpeg not found: apt-get install ffmpeg", file=sys.stderr)
        return 2
    src = ensure_input(args.input)
    p = probe(src)
    video = p.frames[p.frames["role"] == "video"]
    media = float(video["stream_time"].max()) + 1 / 30
    size = src.stat().st_size
    src.read_bytes()  # into the page cache
    print(f"input {src.name}: {size / 1e6:.1f} MB, {media:.1f} s, {len(p.cues)} cues")
    head = ("packager", "wall s", "x realtime", "MB/s", "segments", "cue tags")
    print(f"{head[0]:<34} {head[1]:>8} {head[2]:>11} {head[3]:>8} {head[4]:>9} {head[5]:>9}")
    rows = [
        ("ffmpeg -f hls (no cue tags)", run_ffmpeg),
        ("scte35lab package_hls", run_scte35lab),
        ("scte35lab HlsLive, 1316 B chunks", run_live),
    ]
    for name, fn in rows:
        wall, out = best(fn, src, args.repeat)
        if name.startswith("scte35lab HlsLive"):
            segments, tags = len(list(out.glob("seg_*.ts"))), describe(out)[1]
            seg_text = f"{segments} kept"
        else:
            segments, tags = describe(out)
            seg_text = str(segments)
        print(
            f"{name:<34} {wall:>8.3f} {media / wall:>11.1f} {size / 1e6 / wall:>8.1f} "
            f"{seg_text:>9} {tags:>9}"
        )
        shutil.rmtree(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
