"""``scte35lab probe|verify --workers N | --scheduler ADDR [--parquet OUT/] FILES...``: many
captures (or one huge one) on Dask. ``cli.probe`` and ``cli.inject`` add these options to
their parsers and hand the parsed arguments here (with their table writer) when more than
one capture or a cluster is asked for."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from typing import Any

import pandas as pd

from scte35lab.errors import InputFormatError

Writer = Callable[[pd.DataFrame, str], None]
MANY_TABLES = ("sources", "pids", "frames", "cues", "errors", "keyframes", "summary")


def add_options(p: argparse.ArgumentParser) -> None:
    """More captures after the first, and where to run them."""
    p.add_argument("more", nargs="*", metavar="FILE", help="more captures (paths, globs, URLs)")
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=_workers, metavar="N", help="run on a local Dask cluster of N processes"
    )
    where.add_argument(
        "--scheduler", metavar="ADDR", help="run on the Dask scheduler at ADDR (tcp://host:8786)"
    )
    p.add_argument(
        "--parquet", metavar="OUT", help="write every table as a parquet dataset OUT/<table>/"
    )


def _workers(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of workers: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"workers must be >= 1, not {n}")
    return n


def wanted(args: argparse.Namespace) -> bool:
    """Whether these arguments ask for the many-capture path."""
    return bool(args.more or args.workers or args.scheduler or args.parquet)


def _progress(args: argparse.Namespace) -> bool:
    shown = getattr(args, "progress", None)
    return bool(sys.stderr.isatty()) if shown is None else shown


def _start(args: argparse.Namespace) -> Any:
    import distributed  # noqa: F401 - its logging is set up on import: quieten it after

    # lazy for speed: Dask loads here, and only --workers/--scheduler runs need it
    from scte35lab.scale.cluster import runner

    if not getattr(args, "debug", False):
        logging.getLogger("distributed").setLevel(logging.WARNING)
    run = runner(args.scheduler, args.workers)
    if args.workers:
        print(f"dask dashboard: {run.dashboard_link}", file=sys.stderr, flush=True)
    return run


def _report_failures(sources: pd.DataFrame) -> int:
    bad = sources[~sources["ok"]]
    for row in bad.itertuples():
        print(f"warning: {row.source}: {row.failure}", file=sys.stderr)
    if len(bad) == len(sources):
        print("error: no capture could be read", file=sys.stderr)
        return 2
    return 0


def probe_many_command(args: argparse.Namespace, write_table: Writer) -> int:
    """``probe`` over several captures or on a cluster: one table with a ``source`` column."""
    # lazy for speed: scte35lab.scale imports Dask (~0.4 s), only many-capture runs need it
    from scte35lab.scale import probe_many

    table = {"summary": "sources"}.get(args.table, args.table)
    if table not in MANY_TABLES:
        raise InputFormatError(
            f"--table {args.table} is for one capture; give one of these: " + ", ".join(MANY_TABLES)
        )
    run = _start(args)
    try:
        m = probe_many(
            [args.file, *args.more], client=run.client, pids=args.pids, progress=_progress(args)
        )
        if args.parquet:
            m.to_parquet(args.parquet)
            tables = {"sources": m.sources.compute()}
            table = "sources"
        else:
            tables = m.compute() if table != "keyframes" else {"keyframes": m.keyframes.compute()}
    finally:
        run.close()
    sources = tables.get("sources")
    write_table(tables[table].reset_index(drop=True), args.format)
    return _report_failures(sources) if sources is not None else 0


def verify_many_command(args: argparse.Namespace, write_table: Writer) -> int:
    """``verify`` over several captures or on a cluster: every cue, then one line per
    capture; exit 1 when a cue fails, 2 when no capture could be read."""
    # lazy for speed: scte35lab.scale imports Dask (~0.4 s), only many-capture runs need it
    from scte35lab.scale import verify_many

    if args.schedule:
        raise InputFormatError("--schedule checks one capture: give one file without a cluster")
    run = _start(args)
    try:
        m = verify_many(
            [args.file, *args.more],
            client=run.client,
            preroll=args.preroll,
            progress=_progress(args),
        )
        if args.parquet:
            m.to_parquet(args.parquet)
        tables = m.compute()
    finally:
        run.close()
    summary = tables["summary"]
    report = tables["report"]
    if args.format == "table":
        cols = ["source", "pid", "command_name", "splice_event_id", "splice_time",
                "offset_frames", "preroll", "ok", "reasons"]  # fmt: skip
        if len(report):
            write_table(report[cols], "table")
        for line in summary["summary"]:
            print(line)
    else:
        write_table(report, args.format)
        for line in summary["summary"]:
            print(line, file=sys.stderr)
    read = summary[summary["failure"].isna()]
    if not len(read):
        print("error: no capture could be read", file=sys.stderr)
        return 2
    return 0 if summary["ok"].all() else 1
