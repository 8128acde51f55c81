"""Benchmark ``inject()``: a 60 s 8 Mbit/s capture, as a multiple of real time and of a copy.

Makes (once, in bench/out/, git-ignored) a 60 s 720p30 H.264/AAC capture at about 8 Mbit/s
with the ffmpeg CLI, then times, in one run, with the file in the page cache:

- a plain file copy (``shutil.copyfile``): the floor for reading and writing the bytes,
- a Python read/write loop in the same 3.9 MB chunks ``inject()`` reads,
- ``ffmpeg -c copy`` to MPEG-TS (a remux: what a pipeline without scte35lab would run),
- ``scte35lab.inject()`` with a splice_insert out/in pair every 10 s (snapped to IDRs,
  4 s pre-roll, repeated every second),

best of ``--repeat`` runs each. Prints seconds, MB/s, multiple of real time and of the copy,
and checks the output (its cues decode, every splice point is an IDR) with ``verify()``.

Usage: ``.venv/bin/python bench/inject.py [--repeat N]``
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))

from scte35lab import Cue, inject, verify  # noqa: E402

SECONDS = 60
CUE_EVERY = 10.0
CHUNK = 188 * 21_000


def encode(path: Path) -> None:
    """720p30 test pattern + tone, ~8 Mbit/s, IDR every 2 s, timeline from 10 s."""
    cmd = [
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
        "-t", str(SECONDS),
        "-c:v", "libx264", "-preset", "ultrafast", "-g", "60", "-keyint_min", "60",
        "-sc_threshold", "0", "-b:v", "8M", "-maxrate", "8M", "-bufsize", "16M",
        "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k",
        "-output_ts_offset", "10", "-muxdelay", "0", "-muxpreload", "0",
        "-f", "mpegts", str(path),
    ]  # fmt: skip
    print(f"encoding {path.name} ({SECONDS} s) with ffmpeg ...", file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True)


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def python_copy(src: Path, dst: Path) -> None:
    with open(src, "rb") as f, open(dst, "wb") as g:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            g.write(chunk)


def ffmpeg_remux(src: Path, dst: Path) -> None:
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(src)]
    cmd += ["-map", "0", "-c", "copy", "-f", "mpegts", str(dst)]
    subprocess.run(cmd, check=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    src = OUT / "inject_60s.ts"
    if not src.exists():
        encode(src)
    dst = OUT / "inject_60s.out.ts"
    size = src.stat().st_size
    cues = []
    for k in range(int(SECONDS // CUE_EVERY)):
        start = 4.0 + k * CUE_EVERY  # on the 2 s IDR grid: nothing to snap
        cues.append((start, Cue.splice_insert(1000 + k, break_duration=4 * 90_000)))
        cues.append((start + 4.0, Cue.splice_insert(1000 + k, out_of_network=False)))
    src.read_bytes()  # into the page cache

    results = {
        "file copy (shutil.copyfile)": best(lambda: shutil.copyfile(src, dst), args.repeat),
        "Python read/write loop": best(lambda: python_copy(src, dst), args.repeat),
        "ffmpeg -c copy -f mpegts": best(lambda: ffmpeg_remux(src, dst), max(1, args.repeat // 2)),
        "scte35lab inject()": best(lambda: inject(src, dst, cues), args.repeat),
    }
    copy = results["file copy (shutil.copyfile)"]
    mb = size / 1e6
    print(f"input: {src.name}, {mb:.1f} MB, {SECONDS} s of 720p30 H.264 + AAC (~8 Mbit/s)")
    print(f"{'':30} {'seconds':>8} {'MB/s':>8} {'x real time':>12} {'x copy time':>12}")
    for name, t in results.items():
        print(f"{name:30} {t:8.3f} {mb / t:8.0f} {SECONDS / t:12.0f} {t / copy:12.1f}")
    rate = SECONDS / results["scte35lab inject()"]
    v = verify(dst)
    print(v.attrs["summary"])
    print(f"goal >= 100x real time: {'met' if rate >= 100 else 'NOT met'} ({rate:.0f}x)")
    return 0 if v["ok"].all() else 1


if __name__ == "__main__":
    sys.exit(main())
