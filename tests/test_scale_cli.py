"""The many-capture CLI: ``--workers N`` starts (and stops) a local Dask cluster and prints
its dashboard; several files run in-process without it; bad options are one line, exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from scte35lab.analysis import probe

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_streams"


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env["DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT"] = "2s"  # an absent scheduler, quickly
    return subprocess.run(
        [sys.executable, "-m", "scte35lab", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def test_probe_with_workers_starts_a_cluster_prints_its_dashboard_and_stops_it(
    tmp_path, no_child_left
):
    files = [str(SAMPLES / n) for n in ("cues_ok.ts", "cues_packed.ts", "two_programs.ts")]
    run = _cli("probe", "--workers", "2", "--parquet", str(tmp_path / "pq"), *files)
    assert run.returncode == 0, run.stderr
    assert "dask dashboard: http://" in run.stderr
    assert "Traceback" not in run.stderr
    frames = pd.read_parquet(tmp_path / "pq" / "frames")
    assert len(frames) == sum(len(probe(f).frames) for f in files)
    assert list(dict.fromkeys(frames["source"])) == files


def test_verify_of_several_files_in_process_reports_each_and_exits_1_on_a_failure():
    files = [str(SAMPLES / "cues_ok.ts"), str(SAMPLES / "cue_late.ts"), "/no/such/file.ts"]
    run = _cli("verify", *files)
    assert run.returncode == 1, run.stderr
    lines = run.stdout.splitlines()
    assert any(line.startswith("PASS") and "cues_ok.ts" in line for line in lines)
    assert any(line.startswith("FAIL") and "cue_late.ts" in line for line in lines)
    assert any("/no/such/file.ts" in line and "cannot open" in line for line in lines)


def test_probe_of_several_files_prints_one_table_with_a_source_column():
    files = [str(SAMPLES / "cues_ok.ts"), str(SAMPLES / "cues_packed.ts")]
    run = _cli("probe", "--format", "csv", *files)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("source,packet,offset,pid")
    assert len(lines) - 1 == sum(len(probe(f).cues) for f in files)


def test_bad_scale_options_are_one_line_and_exit_2():
    run = _cli("probe", "--workers", "0", str(SAMPLES / "cues_ok.ts"))
    assert run.returncode == 2
    assert "workers must be >= 1" in run.stderr
    run = _cli("probe", "--table", "packets", str(SAMPLES / "cues_ok.ts"), str(SAMPLES / "x.ts"))
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and "--table packets" in run.stderr
    run = _cli("probe", "--scheduler", "tcp://127.0.0.1:9", str(SAMPLES / "cues_ok.ts"))
    assert run.returncode == 2
    assert "cannot reach the Dask scheduler" in run.stderr
    assert "Traceback" not in run.stderr
