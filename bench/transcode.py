"""Benchmark transcode mode's encoder against the FFmpeg CLI on the same input and settings.

Takes bench/live.py's input (made once in bench/out/: 720p25 H.264/AAC MPEG-TS, ~8 Mbit/s) and
re-encodes 60 s of it, as fast as each can, to 640x360 25 fps libx264 veryfast/zerolatency
1500 kbit/s with a 2 s GOP and AAC 128 kbit/s, into MPEG-TS:

- scte35lab: ``Transcoder`` (PyAV decode, libx264 with an IDR forced every 7.3 s as splice
  points would ask, AAC, mpegts with copyts), fed in 16 KB pieces as the live pipeline does;
- peer: ``ffmpeg -i in.ts -s 640x360 -c:v libx264 ... -c:a aac -f mpegts out.ts`` with the
  same forced keyframes (``-force_key_frames``).

Prints wall time, speed (times real time) and CPU seconds for each, and the ratios.

Usage: ``.venv/bin/python bench/transcode.py [--seconds N]``
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))

from live import make_input  # noqa: E402  (bench/live.py: the same 720p25 8 Mbit/s input)

from scte35lab import probe  # noqa: E402
from scte35lab.live.process import find_tool  # noqa: E402
from scte35lab.live.transcode import Transcoder, TranscodeSettings  # noqa: E402

SETTINGS = TranscodeSettings(
    video_bitrate=1_500_000,
    size=(640, 360),
    fps=25,
    preset="veryfast",
    tune="zerolatency",
    gop=2.0,
    audio_bitrate=128_000,
    threads=2,
)
SPLICE_EVERY = 7.3


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def ours(src: Path, seconds: int) -> tuple[float, float, int]:
    first = int(probe(src).frames.query("role == 'video'")["pts"].min())
    out = bytearray()
    tc = Transcoder(SETTINGS, out.extend, feed_timeout=60)
    c0, t0 = time.process_time(), time.perf_counter()
    tc.start()
    for k in range(1, int(seconds / SPLICE_EVERY) + 1):
        tc.force_idr(first + round(k * SPLICE_EVERY * 90_000))
    with open(src, "rb") as f:
        while chunk := f.read(16 * 1024):
            tc.feed(chunk)
    tc.close(timeout=600)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if tc.error is not None:
        raise SystemExit(f"transcoder failed: {tc.error}")
    return wall, cpu, len(probe(bytes(out)).keyframes)


def peer(src: Path, seconds: int, dst: Path) -> tuple[float, float, int]:
    times = ",".join(f"{k * SPLICE_EVERY:g}" for k in range(1, int(seconds / SPLICE_EVERY) + 1))
    s = SETTINGS
    argv = [
        find_tool("ffmpeg"),
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-i",
        str(src),
        "-s",
        f"{s.size[0]}x{s.size[1]}",
        "-r",
        f"{s.fps:g}",
        "-c:v",
        "libx264",
        "-preset",
        s.preset,
        "-tune",
        str(s.tune),
        "-b:v",
        str(s.video_bitrate),
        "-g",
        str(round(s.gop * s.fps)),
        "-sc_threshold",
        "0",
        "-forced-idr",
        "1",
        "-force_key_frames",
        times,
        "-threads",
        str(s.threads),
        "-c:a",
        "aac",
        "-b:a",
        str(s.audio_bitrate),
        "-f",
        "mpegts",
        str(dst),
    ]
    c0, t0 = children_cpu(), time.perf_counter()
    subprocess.run(argv, check=True)
    return time.perf_counter() - t0, children_cpu() - c0, len(probe(dst).keyframes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=60)
    args = ap.parse_args()
    src = make_input(args.seconds)
    print(f"input: {src.name}, {src.stat().st_size / 1e6:.1f} MB; {SETTINGS.describe()}")
    results = {
        "scte35lab Transcoder": ours(src, args.seconds),
        "ffmpeg CLI": peer(src, args.seconds, OUT / "transcode_peer.ts"),
    }
    for name, (wall, cpu, idr) in results.items():
        print(
            f"{name:22} {wall:6.2f} s wall = {args.seconds / wall:5.1f}x real time, "
            f"{cpu:6.2f} CPU s, {idr} IDRs"
        )
    (w1, c1, _), (w2, c2, _) = results.values()
    print(f"ratio (peer / ours): wall {w2 / w1:.2f}x, CPU {c2 / c1:.2f}x")


if __name__ == "__main__":
    main()
