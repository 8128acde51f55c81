"""Benchmark ``probe_many`` (and ``probe_ranges``) on Dask: in-process vs 1 vs 2 workers.

Makes, in a temporary folder that is deleted at the end, >= 2 GB of captures: 30 s of 720p30
H.264/AAC at ~8 Mbit/s from the ffmpeg CLI with a splice_insert every 10 s injected by
scte35lab, then looped by ``ffmpeg -stream_loop -c copy`` into equal files. Each run probes
all of them (everything read into the page cache first):

- in-process (``probe_many`` without a cluster) in a child process, for its peak RSS;
- a ``LocalCluster`` of 1, then 2 single-threaded worker processes (a fresh cluster per run;
  the time excludes starting it and a first small probe on each worker, as on a standing
  cluster); each worker's peak RSS read on the worker;
- for the ceiling of this machine, two plain processes (no Dask), half the captures each;
- one more capture (``--split-gb``, 1 GB) probed as byte ranges (``probe_ranges``) on 2
  workers vs ``probe()``, checked equal.

Every run's tables (pids, frames, cues, errors, sources) are hashed row by row per capture
and compared with the in-process run's.

CPU seconds per GB, because the other work on a shared machine moves wall time far more:
"probing" is the in-process run's probe, or the CPU of the worker threads that ran the
tasks (read per thread on each worker); "wkr other" the workers' other threads (event loop:
heartbeats, monitors, sizing, pickling and sending results; the offload thread); "client"
the process of the client, the scheduler and the nannies (a LocalCluster keeps them in one
process), which is left out of the per-worker figures but shares the cores (in-process: the
concatenation of the tables). Wall time is the best of ``--repeat``, CPU seconds from the
run that probed with the least. Last, what a second busy core costs on this machine (ALU
loop, and memory copy), in processes of their own. Each run is a process of its own
(started without the MALLOC_TRIM_THRESHOLD_ a Dask nanny leaves behind).

Usage: ``.venv/bin/python bench/scale.py [--gb 2.0] [--files 8] [--repeat 3] [--split-gb 1]
[--keep DIR]`` (``--keep``: make the captures there once and reuse them)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scte35lab.cue import Cue  # noqa: E402
from scte35lab.ts.inject import inject  # noqa: E402

BASE_SECONDS = 30


def make_captures(folder: Path, gb: float, files: int, split_gb: float) -> list[Path]:
    """``files`` captures of ``gb`` GB in all, then one of ``split_gb`` GB (last)."""
    base = folder / "base.plain.ts"
    cmd = [
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=30:duration={BASE_SECONDS}",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={BASE_SECONDS}",
        "-c:v", "libx264", "-preset", "ultrafast", "-g", "60", "-sc_threshold", "0",
        "-b:v", "8M", "-maxrate", "8M", "-bufsize", "16M", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "128k", "-muxdelay", "0", "-muxpreload", "0",
        "-f", "mpegts", str(base),
    ]  # fmt: skip
    subprocess.run(cmd, check=True)
    cued = folder / "base.ts"
    inject(str(base), str(cued), [(float(t), Cue.splice_insert(t)) for t in (6, 16, 26)])
    base.unlink()
    each = gb * 1e9 / files
    out = [_loop(cued, each, folder / f"capture_{k:02d}.ts") for k in range(files)]
    out.append(_loop(cued, split_gb * 1e9, folder / "one_capture.ts"))
    cued.unlink()
    return out


def _loop(src: Path, size: float, dst: Path) -> Path:
    """``src`` looped by FFmpeg (timestamps kept running) to about ``size`` bytes."""
    loops = max(1, round(size / src.stat().st_size))
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-stream_loop", str(loops - 1), "-i", str(src), "-map", "0", "-c", "copy",
         "-f", "mpegts", str(dst)],
        check=True,
    )  # fmt: skip
    return dst


def warm(paths: list[Path]) -> None:
    for p in paths:
        with open(p, "rb") as f:
            while f.read(16 << 20):
                pass


def _warm_worker() -> None:
    """Imports and first-call caches, once per worker, on a sample capture."""
    from scte35lab.scale.many import probe_one

    probe_one(str(ROOT / "sample_streams" / "cues_ok.ts"))


def _peak_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _cpu_s() -> float:
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def _worker_threads(dask_worker: Any) -> dict[int, tuple[bool, float]]:
    """This worker process's threads: thread id -> (runs tasks, CPU seconds so far)."""
    tasks = {t.native_id for t in dask_worker.executors["default"]._threads}
    return {t.id: (t.id in tasks, t.user_time + t.system_time) for t in psutil.Process().threads()}


def _thread_split(before: dict, after: dict) -> tuple[float, float]:
    """CPU seconds between two ``_worker_threads`` readings: task threads, the others."""
    task = other = 0.0
    for tid, (is_task, cpu) in after.items():
        used = cpu - before.get(tid, (False, 0.0))[1]
        if is_task:
            task += used
        else:
            other += used
    return task, other


def _alu() -> None:
    x = 0
    for i in range(8_000_000):
        x += i * i


def _copy() -> None:
    a = np.ones(64 << 20, dtype=np.uint8)
    b = np.empty_like(a)
    for _ in range(64):  # 4 GB through two 64 MB arrays: memory bandwidth bound
        np.copyto(b, a)


def _timed(name: str, start: Any, out: Any) -> None:
    """One machine test in a process of its own, started with the others by ``start``."""
    start.wait()
    c = time.process_time()
    {"alu": _alu, "copy": _copy}[name]()
    out.put(time.process_time() - c)


def machine() -> dict[str, float]:
    """What a second busy core costs the first, per CPU second: alone / paired for an ALU
    loop (two vCPUs that were one core's hyperthreads would lose ~30 % here) and for a
    memory copy (shared memory bandwidth). The best of 5 each."""
    ctx = multiprocessing.get_context("spawn")
    out = {}
    for name in ("alu", "copy"):
        best = {}
        for _ in range(5):
            for n in (1, 2):
                start, q = ctx.Barrier(n), ctx.Queue()
                procs = [ctx.Process(target=_timed, args=(name, start, q)) for _ in range(n)]
                for p in procs:
                    p.start()
                cpu = max(q.get() for _ in procs)
                for p in procs:
                    p.join()
                best[n] = min(best.get(n, cpu), cpu)
        out[name] = best[1] / best[2]
    return out


def digest(tables: dict) -> dict[str, str]:
    """A hash of every table's rows, per source (so runs that split the captures differently
    compare equal only when every row of every table is)."""
    out = {}
    for name, df in sorted(tables.items()):
        for source, rows in df.groupby("source", sort=True, observed=True):
            h = pd.util.hash_pandas_object(rows.reset_index(drop=True), index=True)
            cols = ",".join(f"{c}:{t}" for c, t in rows.dtypes.items())
            key = f"{name}:{source}"
            out[key] = hashlib.sha1(h.to_numpy().tobytes() + cols.encode()).hexdigest()
    return out


def child(mode: str, paths: list[str]) -> dict:
    """One measurement, in a process of its own (see ``run``)."""
    from scte35lab.analysis import probe
    from scte35lab.scale import probe_many, probe_ranges
    from scte35lab.scale.cluster import runner

    if mode == "in-process":
        _warm_worker()
        go = os.environ.get("SCALE_BENCH_GO")
        if go:  # start together with the other plain process
            Path(f"{go}.{os.getpid()}").touch()
            while not os.path.exists(go):
                time.sleep(0.001)
        cpu0, t0 = _cpu_s(), time.time()
        m = probe_many(paths, progress=False)  # in-process: every capture probed here
        cpu1 = _cpu_s()
        tables = m.compute()  # the tables of all captures concatenated
        t1 = time.time()
        return {"seconds": t1 - t0, "t0": t0, "t1": t1, "probe_cpu": cpu1 - cpu0,
                "other_cpu": 0.0, "client_cpu": _cpu_s() - cpu1, "rss_kb": [_peak_kb()],
                "digest": digest(tables)}  # fmt: skip
    workers = int(mode.split(":")[1])
    run = runner(workers=workers)
    try:
        # as on a standing cluster: imports and first-call caches on each worker's task
        # thread (one task per worker), and in this (the client's) process
        warm = [run.client.submit(_warm_worker, pure=False, workers=[w], allow_other_workers=False)
                for w in run.client.scheduler_info()["workers"]]  # fmt: skip
        run.client.gather(warm)
        _warm_worker()
        if mode.startswith("split"):
            t = time.perf_counter()
            want = probe(paths[0], progress=False)
            single = time.perf_counter() - t
            t = time.perf_counter()
            got = probe_ranges(paths[0], parts=2 * workers, client=run.client)
            dt = time.perf_counter() - t
            same = all(
                getattr(got, n).equals(getattr(want, n)) for n in ("frames", "cues", "errors")
            )
            st = got.stitch_stats
            return {"seconds": dt, "single": single, "same": same, "ranges": st.ranges,
                    "rescanned": st.rescanned}  # fmt: skip
        before = run.client.run(_worker_threads)
        client0, t = _cpu_s(), time.perf_counter()
        with probe_many(paths, client=run.client) as m:
            tables = m.compute()
            dt = time.perf_counter() - t
            client_cpu = _cpu_s() - client0
            after = run.client.run(_worker_threads)
            split = [_thread_split(before[w], after[w]) for w in after]
            rss = run.client.run(_peak_kb)
    finally:
        run.close()
    return {"seconds": dt, "probe_cpu": sum(s[0] for s in split),
            "other_cpu": sum(s[1] for s in split), "client_cpu": client_cpu,
            "rss_kb": sorted(rss.values()), "digest": digest(tables)}  # fmt: skip


def two_processes(paths: list[Path]) -> dict:
    """The ceiling without Dask: two plain processes, half the captures each, started
    together once both have imported everything; timed from their own clocks."""
    go = Path(tempfile.mkdtemp(prefix="scale-go-")) / "go"
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}
    env["PYTHONPATH"] = str(ROOT)
    env["SCALE_BENCH_GO"] = str(go)
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--child", "in-process", *map(str, half)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for half in (paths[0::2], paths[1::2])
    ]
    try:
        while len(list(go.parent.glob("go.*"))) < len(procs):
            time.sleep(0.01)
        go.touch()
        outs = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    finally:
        shutil.rmtree(go.parent, ignore_errors=True)
    return {
        "seconds": max(o["t1"] for o in outs) - min(o["t0"] for o in outs),
        "probe_cpu": sum(o["probe_cpu"] for o in outs),
        "other_cpu": 0.0,
        "client_cpu": sum(o["client_cpu"] for o in outs),
        "rss_kb": [o["rss_kb"][0] for o in outs],
        "digest": dict(sorted(kv for o in outs for kv in o["digest"].items())),
    }


def run(mode: str, paths: list[Path]) -> dict:
    """``child(mode)`` in a fresh process, without the MALLOC_TRIM_THRESHOLD_ that Dask's
    nanny leaves in the environment of the process that started a cluster."""
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, *map(str, paths)],
        capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gb", type=float, default=2.0, help="total size of the captures")
    ap.add_argument("--files", type=int, default=8, help="how many captures")
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs")
    ap.add_argument("--split-gb", type=float, default=1.0, help="the one capture split")
    ap.add_argument("--tmp", help="folder for the temporary captures (default: system temp)")
    ap.add_argument("--keep", help="make the captures in this folder once and keep them")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("paths", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.paths)))
        return
    if args.keep:
        folder = Path(args.keep)
        folder.mkdir(parents=True, exist_ok=True)
    else:
        folder = Path(tempfile.mkdtemp(prefix="scte35lab-scale-", dir=args.tmp))
    try:
        made = sorted(folder.glob("capture_*.ts"))
        if args.keep and len(made) == args.files and (folder / "one_capture.ts").exists():
            paths, one = made, folder / "one_capture.ts"
        else:
            print(f"making {args.gb} GB of captures in {folder} ...", file=sys.stderr, flush=True)
            *paths, one = make_captures(folder, args.gb, args.files, args.split_gb)
        total = sum(p.stat().st_size for p in paths) / 1e6
        one_mb = one.stat().st_size / 1e6
        load0 = os.getloadavg()[0]
        tries: dict[str, list[dict]] = {}
        for _ in range(args.repeat):
            warm(paths)
            for name, mode in (
                ("in-process", "in-process"), ("1 worker", "workers:1"),
                ("2 workers", "workers:2"), ("2 processes", "processes"),
            ):  # fmt: skip
                r = two_processes(paths) if mode == "processes" else run(mode, paths)
                tries.setdefault(name, []).append(r)
        warm([one])
        split = run("split:2", [one])
        box = machine()
        load = os.getloadavg()[0]
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    want = tries["in-process"][0]["digest"]
    runs = {}
    for name, rs in tries.items():
        # wall time at its best of N; CPU seconds at the run where probing took least
        runs[name] = min(rs, key=lambda r: r["seconds"]) | {
            "best_cpu": _cpus(min(rs, key=lambda r: r["probe_cpu"])),
            "same": all(r["digest"] == want for r in rs),
        }
    report(runs, split, total, one_mb, len(paths), args.repeat, load0, load)
    print(f"this machine, per CPU second with the other core busy too: ALU loop "
          f"{box['alu']:.0%}, 64 MB memory copy {box['copy']:.0%} of alone")  # fmt: skip


def _cpus(r: dict) -> tuple[float, float, float]:
    return (r["probe_cpu"], r["other_cpu"], r["client_cpu"])


def report(runs, split, total, one_mb, files, repeat, load0, load) -> None:
    """The table: wall time, throughput and speed-up (best of ``repeat``), CPU seconds per
    GB of the probing threads, of the workers' other threads and of the client's process."""
    gb = total / 1000
    base = runs["in-process"]
    one = runs["1 worker"]["seconds"]
    print(f"\n{files} captures, {gb:.2f} GB (720p30 H.264/AAC ~8 Mbit/s, looped), best of "
          f"{repeat}; load average {load0:.2f} before, {load:.2f} after")  # fmt: skip
    print(f"{'':12} {'wall':>6} {'':>6} {'MB/s':>7} {'speed':>6} | {'CPU s per GB':^28} |")
    print(f"{'run':12} {'s':>6} {'MB/s':>6} {'/worker':>7} {'-up':>6} | "
          f"{'probing':>8} {'wkr other':>9} {'client':>8} | peak RSS (MB)")  # fmt: skip
    for name, r in runs.items():
        workers = {"in-process": 1, "1 worker": 1, "2 workers": 2, "2 processes": 2}[name]
        mbs = total / r["seconds"]
        probe_cpu, other_cpu, client_cpu = r["best_cpu"]
        rss_text = ", ".join(f"{k / 1024:.0f}" for k in r["rss_kb"])
        if "worker" in name:
            rss_text += " (each worker)"
        print(f"{name:12} {r['seconds']:6.2f} {mbs:6.0f} {mbs / workers:7.0f} "
              f"{one / r['seconds']:5.2f}x | {probe_cpu / gb:8.3f} {other_cpu / gb:9.3f} "
              f"{client_cpu / gb:8.3f} | {rss_text}")  # fmt: skip
    base_cpu = base["best_cpu"][0]
    for name in ("1 worker", "2 workers", "2 processes"):
        r = runs[name]
        workers = 1 if name == "1 worker" else 2
        wall = base["seconds"] / r["seconds"] / workers
        task, other, _ = r["best_cpu"]
        what = "process" if name == "2 processes" else "worker"
        whole = "" if what == "process" else f", whole worker {base_cpu / (task + other):.0%}"
        print(f"{name}: per {what} wall throughput {wall:.0%} of in-process; "
              f"per CPU second probing {base_cpu / task:.0%}{whole}")  # fmt: skip
    print(f"2 workers vs 1: {one / runs['2 workers']['seconds']:.2f}x")
    same = all(r["same"] for r in runs.values())
    print(f"every run gave the same tables, row for row, as in-process: {same}")
    s = split
    print(f"one capture ({one_mb:.0f} MB) as {s['ranges']} ranges on 2 workers: "
          f"{s['seconds']:.2f} s vs probe() {s['single']:.2f} s "
          f"({s['single'] / s['seconds']:.2f}x), identical: {s['same']}, "
          f"ranges scanned twice: {s['rescanned']}")  # fmt: skip


if __name__ == "__main__":
    main()
