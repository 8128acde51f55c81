"""``scte35lab probe FILE``: one of the probe tables on stdout as a table, CSV or JSON.

The CLI owner wires it in with ``probe.add_parser(subparsers)``; the parser's default
``func`` is :func:`probe_command`, which returns the exit code (2 on bad input, with one line
on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Any

import pandas as pd

from scte35lab.analysis import probe
from scte35lab.cli.common import FORMATS, write_table
from scte35lab.cli.scale import add_options, probe_many_command, wanted
from scte35lab.errors import Scte35Error
from scte35lab.manifest import probe_mpd, probe_playlist

log = logging.getLogger(__name__)

TABLES = ("pids", "frames", "cues", "errors", "packets", "keyframes", "summary")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``probe`` on an ``argparse`` subparsers object; returns its parser."""
    p = subparsers.add_parser(
        "probe",
        help="tables of a TS capture: pids, frames, cues, errors, packets",
        description="Read an MPEG-TS capture once and print one of its tables.",
    )
    p.add_argument(
        "file",
        help="TS capture (188/192/204-byte packets), '-' for stdin, or an HLS playlist "
        "(.m3u8) or DASH MPD (.mpd), path or URL, whose cue signalling is read",
    )
    p.add_argument("--table", choices=TABLES, default="cues", help="which table (default: cues)")
    p.add_argument(
        "--format", choices=FORMATS, default="table", help="output format (default: table)"
    )
    p.add_argument(
        "--pid",
        type=_pid,
        action="append",
        dest="pids",
        help="only this PID (decimal or 0x hex); repeat for more",
    )
    p.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=None, help="progress bar"
    )
    add_options(p)
    p.set_defaults(func=probe_command)
    return p


def _pid(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a PID: {text!r}") from None
    if not 0 <= value <= 0x1FFF:
        raise argparse.ArgumentTypeError(f"PID {value} out of range 0..8191")
    return value


def probe_command(args: argparse.Namespace) -> int:
    """Run ``probe`` for parsed ``args``; print the table; return the exit code."""
    if wanted(args):
        return probe_many_command(args, write_table)
    reader = _manifest_reader(args.file)
    if reader is not None:
        return _manifest_command(args, reader)
    source: Any = sys.stdin.buffer if args.file == "-" else args.file
    try:
        p = probe(
            source,
            pids=args.pids,
            progress=args.progress,
            packets=args.table == "packets",
        )
    except (Scte35Error, OSError) as e:
        if getattr(args, "debug", False):
            raise  # scte35lab.cli logs the traceback with --debug
        print(f"error: probe: {e}", file=sys.stderr)
        return 2
    if args.table == "summary":
        summary = p.summary()
        if args.format == "json":
            sys.stdout.write(json.dumps(summary, default=str) + "\n")
        else:
            df = pd.DataFrame([summary]) if args.format == "csv" else None
            if df is not None:
                df.to_csv(sys.stdout, index=False)
            else:
                for k, v in summary.items():
                    sys.stdout.write(f"{k:14} {v}\n")
        return 0
    df: pd.DataFrame = getattr(p, args.table)
    try:
        write_table(df, args.format)
        sys.stdout.flush()
    except BrokenPipeError:
        # the reader (``| head``) has gone: not an error, and no traceback at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _manifest_reader(target: str) -> Any:
    """``probe_playlist`` or ``probe_mpd`` when ``target`` names a manifest, else None."""
    path = target.split("?", 1)[0].split("#", 1)[0].lower()
    if path.endswith((".m3u8", ".m3u")):
        return probe_playlist
    if path.endswith(".mpd"):
        return probe_mpd
    return None


def _manifest_command(args: argparse.Namespace, reader: Any) -> int:
    """The cue signalling of a playlist or MPD, as the cues table."""
    if args.table != "cues" or args.pids:
        print(
            "error: probe: manifests have only a cues table (no --table other than cues, no --pid)",
            file=sys.stderr,
        )
        return 2
    try:
        df = reader(args.file)
    except (Scte35Error, OSError) as e:
        if getattr(args, "debug", False):
            raise
        print(f"error: probe: {e}", file=sys.stderr)
        return 2
    write_table(df, args.format)
    sys.stdout.flush()
    for line in df.warning_lines() if hasattr(df, "warning_lines") else []:
        print(f"warning: {line}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point (``python -m scte35lab.cli.probe FILE ...``)."""
    parser = argparse.ArgumentParser(prog="scte35lab")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    args = parser.parse_args(["probe", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
