"""probe_many / verify_many / probe_ranges on a real Dask cluster: a ``dask scheduler`` and
two ``dask worker`` processes started on loopback by this module, reached by address, and
stopped at its end (bounded time, no process left)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
from live_helpers import running_children
from scale_helpers import assert_same_probe, generated_capture

from scte35lab import probe_many, verify_many
from scte35lab.analysis import probe, verify
from scte35lab.scale import probe_ranges
from scte35lab.scale.tables import probe_tables, verify_tables

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_streams"
DASK = str(Path(sys.executable).parent / "dask")
CHUNK = 128 << 10


def _stop(procs: list[subprocess.Popen]) -> None:
    """Workers first, then the scheduler: SIGTERM, and SIGKILL after 10 s."""
    for p in reversed(procs):
        if p.poll() is None:
            p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory):
    """The address of a scheduler with two single-threaded workers, all on 127.0.0.1."""
    folder = tmp_path_factory.mktemp("dask")
    info = folder / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = (folder / "cluster.log").open("wb")
    procs = [
        subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(info)],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=folder,
        )
    ]  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not info.exists() or not info.read_text().strip():
            assert procs[0].poll() is None, (folder / "cluster.log").read_text()
            assert time.monotonic() < deadline, "the scheduler did not start in 60 s"
            time.sleep(0.2)
        address = json.loads(info.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        for k in range(2):
            procs.append(
                subprocess.Popen(
                    [DASK, "worker", address, "--nthreads", "1", "--no-nanny",
                     "--no-dashboard", "--host", "127.0.0.1", "--name", f"w{k}",
                     "--local-directory", str(folder / f"w{k}")],
                    stdout=log, stderr=subprocess.STDOUT, env=env, cwd=folder,
                )
            )  # fmt: skip
        from distributed import Client

        with Client(address, timeout="30s") as c:
            c.wait_for_workers(2, timeout=60)
        yield address
    finally:
        _stop(procs)
        log.close()
        ours = {p.pid for p in procs}
        assert not [p for p in running_children() if p.pid in ours]
        assert all(not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"
                   for pid in ours)  # fmt: skip


@pytest.fixture(scope="module")
def capture(tmp_path_factory) -> Path:
    return generated_capture(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bad")
    data = bytearray((SAMPLES / "cues_ok.ts").read_bytes())
    del data[100_000:101_000]  # a cut: sync lost, continuity broken
    data[200_003] ^= 0x0F
    damaged = folder / "damaged.ts"
    damaged.write_bytes(bytes(data[:-100]))  # ends mid-packet
    text = folder / "notes.txt"
    text.write_text("not a transport stream\n" * 5000)
    return {"damaged": damaged, "text": text, "missing": folder / "missing.ts"}


def test_range_probe_split_four_ways_on_the_cluster_equals_probe(scheduler, capture):
    got = probe_ranges(capture, parts=4, client=scheduler, chunk_bytes=CHUNK)
    assert got.stitch_stats.ranges == 4
    assert got.stitch_stats.rescanned == 0
    assert_same_probe(got, probe(capture, chunk_bytes=CHUNK))


def test_probe_many_keeps_every_source_and_reports_the_bad_ones(scheduler, capture, bad_inputs):
    sources = [capture, bad_inputs["damaged"], bad_inputs["text"], bad_inputs["missing"]]
    split = 1 << 20
    with probe_many(sources, client=scheduler, split_bytes=split, chunk_bytes=CHUNK) as m:
        t = m.compute()
    names = [str(s) for s in sources]
    src = t["sources"].set_index("source")
    assert list(src.index) == names
    # split: no range over split_bytes, at least one a worker
    assert src.loc[str(capture), "ranges"] == -(-capture.stat().st_size // split) >= 2
    assert src.loc[names[3], "ok"] == False  # noqa: E712 - a pandas cell
    assert "missing.ts" in src.loc[names[3], "failure"]
    # a text file is not MPEG-TS: named, per source, like a missing one
    assert src.loc[names[2], "ok"] == False  # noqa: E712 - a pandas cell
    assert "not MPEG-TS" in src.loc[names[2], "failure"]
    assert src[["ok"]].sum().item() == 2
    # the split capture's rows are exactly its own probe()'s
    want = probe_tables(probe(capture, chunk_bytes=CHUNK), str(capture))
    for name in ("pids", "frames", "cues", "errors"):
        got = t[name][t[name]["source"] == str(capture)].reset_index(drop=True)
        pd.testing.assert_frame_equal(got, want[name], obj=name)
    errors = t["errors"]
    damaged = set(errors[errors["source"] == names[1]]["type"])
    assert {"sync_loss", "cc_error", "truncated_packet"} <= damaged
    assert list(errors[errors["source"] == names[2]]["type"]) == ["source_error"]
    missing = errors[errors["source"] == names[3]]
    assert list(missing["type"]) == ["source_error"]


def test_parquet_is_written_and_read_back_by_pandas_equal(scheduler, tmp_path, bad_inputs):
    sources = [SAMPLES / "cues_ok.ts", SAMPLES / "two_programs.ts", bad_inputs["missing"]]
    with probe_many(sources, client=scheduler) as m:
        folders = m.to_parquet(tmp_path / "out")
        t = m.compute()
    assert sorted(Path(f).name for f in folders) == sorted(t)
    for name, df in t.items():
        back = pd.read_parquet(tmp_path / "out" / name)
        pd.testing.assert_frame_equal(back, df, obj=name)
    assert len(list((tmp_path / "out" / "frames").glob("*.parquet"))) == 3


def test_verify_many_is_one_report_across_sources_with_a_summary_each(scheduler, bad_inputs):
    names = ["cues_ok.ts", "cue_late.ts", "cue_off_idr.ts"]
    sources = [SAMPLES / n for n in names] + [bad_inputs["missing"]]
    with verify_many(sources, client=scheduler) as v:
        t = v.compute()
    report, summary = t["report"], t["summary"]
    for n in names:
        want = verify_tables(verify(SAMPLES / n), str(SAMPLES / n))
        got = report[report["source"] == str(SAMPLES / n)].reset_index(drop=True)
        pd.testing.assert_frame_equal(got, want["report"])
    assert list(summary["ok"]) == [True, False, False, False]
    # the same capture split into ranges on the cluster gives the same report
    with verify_many(sources[:1], client=scheduler, split_bytes=100_000, chunk_bytes=16_384) as v:
        split = v.compute()["report"]
    pd.testing.assert_frame_equal(split, report[report["source"] == str(sources[0])])
    assert summary["failure"].isna().tolist() == [True, True, True, False]
    assert "late" in summary["summary"].iloc[1]


def test_cli_probe_on_the_scheduler_writes_parquet(scheduler, capture, tmp_path):
    out = tmp_path / "pq"
    run = subprocess.run(
        [sys.executable, "-m", "scte35lab", "probe", "--scheduler", scheduler,
         "--parquet", str(out), "--format", "csv", str(capture), str(SAMPLES / "cues_ok.ts")],
        capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    cues = pd.read_parquet(out / "cues")
    assert set(cues["source"]) == {str(capture), str(SAMPLES / "cues_ok.ts")}
    assert len(cues) == len(probe(capture).cues) + len(probe(SAMPLES / "cues_ok.ts").cues)
    assert run.stdout.splitlines()[0].startswith("source,ok,failure")
