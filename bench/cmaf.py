"""Benchmark CMAF beside the TS path on the same input, one run: packaging (``package_hls``
TS segments, ``package_dash`` EventStreams, ``package_cmaf`` emsg v1 and with an event track,
FFmpeg's own dash muxer with no cues) and reading back (``probe`` + ``verify`` of the TS
capture and of the CMAF MPD).

Input: bench/out/bench_60s.ts (60 s 720p30 H.264/AAC at ~8 Mbit/s with a splice_insert every
30 s, made once by bench/probe.py's encoder). Prints wall time (best of ``--repeat``), speed as
a multiple of real time, and what was written or found (segments, cues, verify verdict), so
the numbers are checked against each other.

Usage: ``.venv/bin/python bench/cmaf.py [--repeat N] [--input FILE]``
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

from scte35lab import package_cmaf, package_dash, package_hls, probe, verify  # noqa: E402


def ensure_input(path: Path) -> Path:
    sys.path.insert(0, str(ROOT / "bench"))
    from probe import ensure  # bench/probe.py: the shared 8 Mbit/s test capture

    return ensure(path, 60)


def ffmpeg_dash(src: Path, out: Path) -> str:
    cmd = [
        "ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y", "-copyts",
        "-i", str(src), "-map", "0:v", "-map", "0:a", "-c", "copy",
        "-tag:v", "avc1", "-tag:a", "mp4a",
        "-f", "dash", "-seg_duration", "2", "-use_template", "1", "-use_timeline", "1",
        str(out / "manifest.mpd"),
    ]  # fmt: skip
    subprocess.run(cmd, check=True)
    return f"{len(list(out.glob('chunk-stream0-*.m4s')))} video segs, no cues"


def hls(src: Path, out: Path) -> str:
    pkg = package_hls(src, out, segment=2.0)
    return f"{len(pkg.segments)} segs, {len(pkg.cues)} cue rows"


def dash(src: Path, out: Path) -> str:
    pkg = package_dash(src, out, segment=2.0)
    return f"{len(list(out.glob('video-*.m4s')))} video segs, {len(pkg.events)} events"


def cmaf(src: Path, out: Path) -> str:
    pkg = package_cmaf(src, out, segment=2.0)
    return f"{len(list(out.glob('video-*.m4s')))} video segs, {len(pkg.events)} emsg"


def cmaf_track(src: Path, out: Path) -> str:
    pkg = package_cmaf(src, out, segment=2.0, event_track=True)
    return f"{len(list(out.glob('event-*.m4s')))} event segs, {len(pkg.events)} emsg"


def best(fn: Callable[[Path, Path], str], src: Path, repeat: int) -> tuple[float, str, Path]:
    times, note = [], ""
    keep = Path(tempfile.mkdtemp(prefix="bench-cmaf-"))
    for _ in range(repeat):
        out = Path(tempfile.mkdtemp(prefix="bench-cmaf-"))
        t0 = time.perf_counter()
        note = fn(src, out)
        times.append(time.perf_counter() - t0)
        shutil.rmtree(keep)
        keep = out
    return min(times), note, keep


def timed_read(target: Path, repeat: int) -> tuple[float, float, str]:
    probes, verifies, note = [], [], ""
    for _ in range(repeat):
        t0 = time.perf_counter()
        p = probe(target)
        t1 = time.perf_counter()
        report = verify(p)
        t2 = time.perf_counter()
        probes.append(t1 - t0)
        verifies.append(t2 - t1)
        verdict = report.attrs["summary"].split(": ", 1)[1].split(";")[0]
        note = f"{len(p.frames)} samples, {len(p.cues)} cue rows; verify: {verdict}"
    return min(probes), min(verifies), note


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
    print(f"input {src.name}: {size / 1e6:.1f} MB, {media:.1f} s, {len(p.cues)} cue rows")
    print(f"{'packaging':<36} {'wall s':>8} {'x realtime':>11}  written")
    kept: dict[str, Path] = {}
    rows = [
        ("ffmpeg -f dash (no cues)", ffmpeg_dash),
        ("scte35lab package_hls (TS)", hls),
        ("scte35lab package_dash (EventStream)", dash),
        ("scte35lab package_cmaf (emsg v1)", cmaf),
        ("scte35lab package_cmaf (+ evte track)", cmaf_track),
    ]
    for name, fn in rows:
        wall, note, out = best(fn, src, args.repeat)
        print(f"{name:<36} {wall:>8.3f} {media / wall:>11.1f}  {note}")
        kept[name] = out
    print(f"{'reading back':<36} {'probe s':>8} {'verify s':>11}  found")
    cmaf_out = kept["scte35lab package_cmaf (+ evte track)"]
    for name, target in (
        ("TS capture", src),
        ("CMAF MPD (video+audio+evte)", cmaf_out / "manifest.mpd"),
        ("CMAF HLS master (video+audio)", cmaf_out / "master.m3u8"),
    ):
        t_probe, t_verify, note = timed_read(target, args.repeat)
        print(f"{name:<36} {t_probe:>8.3f} {t_verify:>11.3f}  {note}")
    for out in kept.values():
        shutil.rmtree(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
