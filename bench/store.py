"""Sustained analytics inserts with a concurrent reader: scte35lab ``Store`` vs plain sqlite3.

Both sides run the same workload for the same time on a fresh file with the same table:
a writer appends stream_analytics samples as fast as it can while a reader in another
process (a notebook dashboard) asks for the newest 600 samples every 10 ms.

- scte35lab: ``Store.add_analytics`` with DataFrame batches (WAL, one transaction per batch).
- peer: plain ``sqlite3`` as most code writes it: one INSERT and one commit per sample, the
  default rollback journal (the ratio is against this one); and the same in WAL mode, to show
  what batching alone buys.

Goal (issue 5): >= 10,000 rows/s batched, reads never blocked for more than 50 ms.

    .venv/bin/python bench/store.py [--seconds 5] [--batch 1000]
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing as mp
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from scte35lab.schedule import Store
from scte35lab.schedule.store import ANALYTICS_COLUMNS, migration_scripts

log = logging.getLogger("bench.store")

READ_SQL = (
    "SELECT * FROM (SELECT ts, bitrate_kbps, fps, srt_rtt_ms, srt_send_rate_mbps, srt_pkt_loss, "
    "srt_pkt_retrans, cpu_percent, memory_mb FROM stream_analytics WHERE stream_id = 1 "
    "ORDER BY ts DESC, id DESC LIMIT 600) ORDER BY ts"
)
READ_PERIOD = 0.010


def _samples(start: int, n: int) -> pd.DataFrame:
    """``n`` plausible samples (1 Hz timeline), numbered from ``start``."""
    i = np.arange(start, start + n)
    return pd.DataFrame(
        {
            "ts": 1.8e9 + i.astype("float64"),
            "bitrate_kbps": 4500 + (i % 97),
            "fps": 29.97,
            "srt_rtt_ms": 20 + (i % 13) * 0.5,
            "srt_send_rate_mbps": 4.6,
            "srt_pkt_loss": i % 5,
            "srt_pkt_retrans": i % 3,
            "cpu_percent": 30 + (i % 40),
            "memory_mb": 512.0,
        }
    )


def _reader(path: str, use_store: bool, stop: mp.Event, ready: mp.Event, out: mp.Queue) -> None:
    """Poll the newest 600 samples until told to stop; report each read's latency."""
    latencies: list[float] = []
    errors = 0
    if use_store:
        store = Store(path)
        ready.set()
        while not stop.is_set():
            t = time.perf_counter()
            df = store.analytics("bench", last=600)
            latencies.append(time.perf_counter() - t)
            assert len(df) <= 600
            time.sleep(READ_PERIOD)
        store.close()
    else:
        conn = sqlite3.connect(path, timeout=10.0)
        ready.set()
        while not stop.is_set():
            t = time.perf_counter()
            try:
                rows = conn.execute(READ_SQL).fetchall()
                pd.DataFrame(rows, columns=["ts", *ANALYTICS_COLUMNS])
            except sqlite3.OperationalError:  # "database is locked" after the timeout
                errors += 1
            latencies.append(time.perf_counter() - t)
            time.sleep(READ_PERIOD)
        conn.close()
    out.put((latencies, errors))


def _run(name: str, path: Path, seconds: float, write_one_round, use_store: bool) -> dict:
    ctx = mp.get_context("spawn")
    stop, ready, out = ctx.Event(), ctx.Event(), ctx.Queue()
    reader = ctx.Process(target=_reader, args=(str(path), use_store, stop, ready, out))
    reader.start()
    ready.wait(30)
    rows = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        rows += write_one_round(rows)
    elapsed = time.perf_counter() - t0
    stop.set()
    latencies, errors = out.get(timeout=60)
    reader.join()
    lat_ms = np.array(latencies) * 1000
    result = {
        "side": name,
        "rows/s": rows / elapsed,
        "read p50 ms": float(np.percentile(lat_ms, 50)),
        "read p99 ms": float(np.percentile(lat_ms, 99)),
        "read max ms": float(lat_ms.max()),
        "reads": len(lat_ms),
        "read errors": errors,
        "rows": rows,
    }
    log.info("%s: %s", name, result)
    return result


def bench(seconds: float, batch: int, workdir: Path) -> pd.DataFrame:
    """Run both sides; one row of results each."""
    # scte35lab Store: batched, WAL
    store_path = workdir / "store.db"
    store = Store(store_path)
    store.add_stream("bench")

    def store_round(done: int) -> int:
        return store.add_analytics("bench", _samples(done, batch))

    ours = _run(f"scte35lab Store (batches of {batch})", store_path, seconds, store_round, True)
    store.close()

    peers = [
        ("sqlite3, one commit per row", "peer.db", None),
        ("sqlite3 WAL, one commit per row", "peer_wal.db", "WAL"),
    ]
    results = [ours]
    for name, file_name, journal in peers:
        results.append(_run_peer(name, workdir / file_name, journal, seconds))
    return pd.DataFrame(results).set_index("side")


def _run_peer(name: str, path: Path, journal: str | None, seconds: float) -> dict:
    """Plain sqlite3, the same schema, one INSERT and one commit per sample."""
    conn = sqlite3.connect(path)
    if journal:
        conn.execute(f"PRAGMA journal_mode={journal}")
    for _, _, sql in migration_scripts():
        conn.executescript(sql)
    conn.execute("INSERT INTO streams (name, created_at) VALUES ('bench', 0)")
    conn.commit()
    insert = (
        f"INSERT INTO stream_analytics (stream_id, ts, {', '.join(ANALYTICS_COLUMNS)}) "
        f"VALUES (1, {', '.join('?' * (1 + len(ANALYTICS_COLUMNS)))})"
    )

    def peer_round(done: int) -> int:
        # the same sample values; rows go in one at a time, as they arrive
        df = _samples(done, 100)
        for row in df.itertuples(index=False, name=None):
            conn.execute(insert, tuple(v.item() if hasattr(v, "item") else v for v in row))
            conn.commit()
        return len(df)

    try:
        return _run(name, path, seconds, peer_round, False)
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="run time per side")
    parser.add_argument("--batch", type=int, default=1000, help="rows per Store transaction")
    parser.add_argument("--dir", type=Path, default=None, help="where to put the databases")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        df = bench(args.seconds, args.batch, Path(tmp))
    ours, peer = df.iloc[0], df.iloc[1]  # the ratio is against plain sqlite3 as most code uses it
    with pd.option_context("display.width", 200, "display.float_format", "{:,.1f}".format):
        print(
            f"stream_analytics inserts for {args.seconds:g} s per side; a reader in another "
            f"process reads the newest 600 samples every {READ_PERIOD * 1000:g} ms"
        )
        print(df.drop(columns="rows").to_string())
    print(
        f"ratio rows/s (Store / peer): {ours['rows/s'] / peer['rows/s']:,.1f}x; "
        f"read max ratio (peer / Store): {peer['read max ms'] / ours['read max ms']:,.1f}x"
    )
    rate_ok = ours["rows/s"] >= 10_000
    read_ok = ours["read max ms"] <= 50 and ours["read errors"] == 0
    print(
        f"goal >= 10,000 rows/s batched: {'PASS' if rate_ok else 'FAIL'} "
        f"({ours['rows/s']:,.0f}); reads never blocked > 50 ms: "
        f"{'PASS' if read_ok else 'FAIL'} (max {ours['read max ms']:.1f} ms)"
    )


if __name__ == "__main__":
    main()
