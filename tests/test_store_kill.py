"""A real writer process, killed mid-write, leaves the store consistent; readers run alongside."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import struct
import subprocess
import sys
import time
from pathlib import Path

import scte35lab
from scte35lab.schedule import Store

BATCH = 60_000  # rows per transaction: big enough that SQLite spills pages to the WAL mid-write

WRITER = r"""
import sys
import numpy as np
import pandas as pd
from scte35lab.schedule import AdBreak, Schedule, Store

store = Store(sys.argv[1])
n = int(sys.argv[2])
k = int(sys.argv[3])  # the first batch number: a restarted writer carries on
while True:
    df = pd.DataFrame({
        "ts": np.full(n, 1.8e9 + k),
        "bitrate_kbps": np.full(n, float(k)),   # which batch a row belongs to
        "srt_pkt_loss": np.arange(n),
    })
    print(f"begin {k}", flush=True)
    store.add_analytics("live", df)
    # and a multi-row schedule save, so markers are rewritten while being killed as well
    store.save_schedule("live", Schedule(
        [AdBreak(60 * i + k, 30, cue_id=f"b{i}", notes=f"batch {k}") for i in range(50)]))
    print(f"commit {k}", flush=True)
    k += 1
"""


def _env() -> dict[str, str]:
    root = str(Path(scte35lab.__file__).resolve().parents[1])
    return {**os.environ, "PYTHONPATH": root}


def _uncommitted_wal_frames(wal: Path) -> int:
    """Frames of the current WAL generation written after its last commit frame."""
    data = wal.read_bytes() if wal.exists() else b""
    if len(data) < 32:
        return 0
    page_size = struct.unpack(">I", data[8:12])[0]
    salts = data[16:24]
    frames, last_commit, pos = 0, 0, 32
    while pos + 24 + page_size <= len(data):
        header = data[pos : pos + 24]
        if header[8:16] != salts:
            break
        frames += 1
        if struct.unpack(">I", header[4:8])[0] != 0:  # db size after commit: a commit frame
            last_commit = frames
        pos += 24 + page_size
    return frames - last_commit


def _start_writer(path: Path, first_batch: int = 0) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(BATCH), str(first_batch)],
        stdout=subprocess.PIPE,
        text=True,
        env=_env(),
    )


def _check_consistent(path: Path, last_begun: int) -> int:
    """Assert the file is whole after a kill during batch ``last_begun``; batches kept."""
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    with Store(path) as store:
        a = store.analytics("live")
        counts = a.groupby("bitrate_kbps").size()
        # every batch is all there or not there at all, and batches are never skipped
        assert (counts == BATCH).all(), counts[counts != BATCH]
        batches = sorted(int(b) for b in counts.index)
        assert batches == list(range(len(batches)))
        assert len(batches) in (last_begun, last_begun + 1)
        m = store.markers("live")
        assert len(m) in (0, 50)
        assert m["notes"].nunique() <= 1  # one schedule save, never half of two
        return len(batches)


def _wait_for_wal_write(wal: Path, timeout: float = 10.0) -> None:
    """Return once the WAL file is written to: the writer is inside its transaction."""
    before = wal.stat().st_mtime_ns if wal.exists() else None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = wal.stat().st_mtime_ns if wal.exists() else None
        if now != before:
            return
        time.sleep(0.001)


def test_writer_killed_mid_write_leaves_the_store_consistent(tmp_path):
    path = tmp_path / "live.db"
    wal = path.with_name(path.name + "-wal")
    with Store(path) as store:
        store.add_stream("live")
    rng = random.Random(35)
    mid_write_kills = 0
    batches = 0
    for _attempt in range(8):
        proc = _start_writer(path, first_batch=batches)
        assert proc.stdout is not None
        target = None
        while True:  # let one batch commit, then kill during the next one
            line = proc.stdout.readline()
            assert line, "writer exited early"
            word, k = line.split()
            if word == "commit" and target is None:
                target = int(k) + 1
            elif word == "begin" and target is not None and int(k) == target:
                break
        # batch ``target`` is being prepared; once SQLite spills its pages into the WAL the
        # transaction is open and uncommitted: kill it a moment after that.
        _wait_for_wal_write(wal)
        time.sleep(rng.uniform(0.0, 0.01))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        assert proc.returncode == -signal.SIGKILL
        if _uncommitted_wal_frames(wal) > 0:
            mid_write_kills += 1
        batches = _check_consistent(path, last_begun=target)
        if mid_write_kills >= 2:
            break
    # the kill did land inside a transaction (uncommitted pages in the WAL), more than once
    assert mid_write_kills >= 2


def test_reader_sees_whole_batches_while_a_writer_runs(tmp_path):
    path = tmp_path / "live.db"
    with Store(path) as store:
        store.add_stream("live")
    proc = _start_writer(path)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("begin")
        reads, worst = 0, 0.0
        deadline = time.monotonic() + 3.0
        with Store(path, timeout=0.5) as reader:
            while time.monotonic() < deadline:
                t = time.perf_counter()
                df = reader.analytics("live", since=1.8e9)
                worst = max(worst, time.perf_counter() - t)
                counts = df.groupby("bitrate_kbps").size()
                assert (counts == BATCH).all()  # a snapshot never shows half a batch
                reads += 1
        assert reads >= 5
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout:
            proc.stdout.close()
