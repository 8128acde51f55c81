"""``scte35lab inject``, ``condition`` and ``verify``: cues into a capture, IDRs under them,
and the proof.

- ``inject IN OUT --cue B64 --at 10 [--cue B64 --at 40 ...]`` or ``--schedule FILE``
- ``condition IN OUT --at 10,40`` (``--at`` repeated or comma-separated) ``[--cue ... |
  --schedule FILE]`` to inject in the same pass
- ``verify FILE [--preroll 4] [--schedule FILE]``: exit 1 when any cue fails, or when there
  is no cue at all (``--allow-empty`` accepts that)

Tables go to stdout (aligned text, CSV or JSON). Bad input (also input that is not MPEG-TS)
is one line on stderr and exit code 2 (``scte35lab.cli.main`` turns ``Scte35Error``/``OSError``
into that). ``inject`` exits 1, naming each cue and why, when a cue was not placed, and then
writes no output (``--allow-missed`` writes it anyway); outputs appear whole or not at all.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from scte35lab.analysis.verify import verify
from scte35lab.cli.common import FORMATS, write_table
from scte35lab.cli.scale import add_options, verify_many_command, wanted
from scte35lab.cue import Cue
from scte35lab.errors import CuesNotPlacedError, InputFormatError, StreamError
from scte35lab.live.condition import condition, parse_times
from scte35lab.schedule import Schedule
from scte35lab.ts.inject import inject


def add_parser(subparsers: Any) -> None:
    """Register ``inject``, ``condition`` and ``verify``."""
    p = subparsers.add_parser(
        "inject",
        help="put SCTE-35 cues into a TS file on their own PID",
        description="Write IN to OUT with cues on an SCTE-35 PID (stream_type 0x86, CUEI), "
        "each snapped to the first IDR at or after its time and sent --preroll seconds "
        "before it, repeated every --repeat-every seconds until it.",
    )
    p.add_argument("input", help="MPEG-TS file (188-byte packets)")
    p.add_argument("output", help="MPEG-TS file to write")
    _cue_options(p, at_help="seconds from stream start for the --cue in the same position")
    p.add_argument("--pid", type=_pid, help="SCTE-35 PID (default: the input's own, else 500+)")
    p.add_argument("--preroll", type=_seconds, default=4.0, help="pre-roll, s (default 4)")
    p.add_argument(
        "--repeat-every", type=_seconds, default=1.0, help="repeat interval, s (0: no repeats)"
    )
    p.add_argument(
        "--exact", action="store_true", help="splice at the exact time, not the next IDR"
    )
    p.add_argument(
        "--existing",
        choices=("add", "replace", "keep"),
        default="add",
        help="SCTE-35 already in the input: add ours to its PID, replace it, or keep it apart",
    )
    p.add_argument("--program", type=int, help="program_number to inject into (default: first)")
    p.add_argument(
        "--allow-missed",
        action="store_true",
        help="write OUT and exit 0 even when a cue could not be placed (default: exit 1, no OUT)",
    )
    p.add_argument("--format", choices=FORMATS, default="table", help="report format")
    p.set_defaults(func=inject_command)

    p = subparsers.add_parser(
        "condition",
        help="re-encode video so an IDR lands on each splice time (FFmpeg, libx264)",
        description="Re-encode IN's video with libx264 so that an IDR lands exactly on each "
        "splice time, keeping audio and every PTS; optionally inject cues in the same pass.",
    )
    p.add_argument("input", help="MPEG-TS file")
    p.add_argument("output", help="MPEG-TS file to write")
    p.add_argument(
        "--at",
        action="append",
        default=[],
        metavar="SECONDS",
        help="splice time(s), s from stream start: repeat or comma-separate (10,40)",
    )
    p.add_argument("--cue", action="append", default=[], metavar="B64", help="cue per --at time")
    p.add_argument("--schedule", help="schedule file (JSON or CSV): its breaks' edges and cues")
    p.add_argument("--gop", type=_seconds, default=2.0, help="regular keyframe interval, s")
    p.add_argument("--sc-threshold", type=int, default=0, help="x264 scene-cut threshold (0: off)")
    p.add_argument("--preset", default="veryfast", help="x264 preset")
    p.add_argument("--crf", type=float, default=20, help="x264 CRF (default 20)")
    p.add_argument("--bitrate", help="video bitrate instead of CRF, e.g. 4M")
    p.add_argument("--preroll", type=_seconds, default=4.0, help="pre-roll when injecting")
    p.add_argument("--ffmpeg", help="ffmpeg executable (default: ffmpeg on PATH)")
    p.add_argument(
        "--allow-missed",
        action="store_true",
        help="with cues: write OUT and exit 0 even when a cue could not be placed",
    )
    p.add_argument("--format", choices=FORMATS, default="table", help="report format")
    p.set_defaults(func=condition_command)

    p = subparsers.add_parser(
        "verify",
        help="check every cue: on an IDR, pre-roll, repeats, pairing (exit 1 on failure)",
        description="One row per cue: splice point, nearest IDR and offset, pre-roll, "
        "repeats, out/in pairing, ok and reasons; a one-line summary. Exit 1 if any fails.",
    )
    p.add_argument("file", help="MPEG-TS capture")
    p.add_argument("--preroll", type=_seconds, default=4.0, help="minimum pre-roll, s")
    p.add_argument("--schedule", help="schedule file (JSON or CSV): flag breaks with no cue")
    p.add_argument(
        "--allow-empty",
        action="store_true",
        help="exit 0 when there is no cue to check (default: exit 1, nothing was proven)",
    )
    p.add_argument("--format", choices=FORMATS, default="table", help="table format")
    add_options(p)
    p.set_defaults(func=verify_command)


def _cue_options(p: argparse.ArgumentParser, *, at_help: str) -> None:
    p.add_argument(
        "--cue", action="append", default=[], metavar="B64", help="cue (base64 or hex); repeat"
    )
    p.add_argument("--at", action="append", default=[], metavar="SECONDS", help=at_help)
    p.add_argument("--schedule", help="schedule file (JSON or CSV) instead of --cue")


def _pid(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a PID: {text!r}") from None
    if not 0x20 <= value <= 0x1FFE:
        raise argparse.ArgumentTypeError(f"PID {value} out of range 32..8190")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text} is not >= 0")
    return value


def _times(values: list[str]) -> list[float]:
    out: list[float] = []
    for v in values:
        for part in v.split(","):
            if part.strip():
                out.append(parse_times(part)[0])
    return out


def load_schedule(path: str) -> Any:
    """A ``Schedule`` from a JSON or CSV file (by its suffix)."""
    if not Path(path).is_file():
        raise StreamError(f"no such schedule file: {path}")
    if path.lower().endswith(".csv"):
        return Schedule.from_csv(path)
    return Schedule.from_json(Path(path))


def _cues(args: argparse.Namespace, times: list[float] | None = None) -> Any:
    """What to inject: a schedule, or --cue values paired with times (or their own)."""
    if args.schedule and args.cue:
        raise InputFormatError("give --cue or --schedule, not both")
    if args.schedule:
        return load_schedule(args.schedule)
    cues = [Cue.decode(c) for c in args.cue]
    if times is None:
        times = _times(args.at)
    if not times:
        return cues
    if len(times) != len(cues):
        raise InputFormatError(
            f"{len(cues)} --cue for {len(times)} --at time(s): give one time per cue"
        )
    return list(zip(times, cues, strict=True))


def inject_command(args: argparse.Namespace) -> int:
    """Run ``inject``; print the placement report; exit 1 (and write nothing) when a cue was
    not placed, unless ``--allow-missed``."""

    cues = _cues(args)
    if not args.schedule and not args.cue:
        raise InputFormatError("nothing to inject: give --cue B64 [--at S] or --schedule FILE")
    try:
        report = inject(
            args.input,
            args.output,
            cues,
            pid=args.pid,
            preroll=args.preroll,
            repeat_every=args.repeat_every or None,
            snap_to_idr=not args.exact,
            existing=args.existing,
            program=args.program,
            strict=not args.allow_missed,
        )
    except CuesNotPlacedError as exc:
        report = exc.report
        failed = True
    else:
        failed = False
    write_table(report.drop(columns=["base64"]) if args.format == "table" else report, args.format)
    return _say_placements(report, args, failed, "inject")


def _say_placements(report: pd.DataFrame, args: argparse.Namespace, failed: bool, cmd: str) -> int:
    """One stderr line per cue not placed as asked (and why); exit 1 when any was missed
    and the output was therefore not written."""
    sys.stdout.flush()
    for row in report.itertuples():
        if row.status == "placed":
            continue
        level = "warning" if row.status == "late" or args.allow_missed else "error"
        print(
            f"{level}: {cmd}: cue {row.Index} ({_cue_name(row)}): {row.status}: {row.reason}",
            file=sys.stderr,
        )
    if failed:
        missed = int((report["status"] == "missed").sum())
        print(
            f"error: {cmd}: {missed} of {len(report)} cue(s) not placed: {args.output} not "
            "written (--allow-missed writes it anyway)",
            file=sys.stderr,
        )
        return 1
    return 0


def _cue_name(row: Any) -> str:
    """A report row's cue in a few words: command, event id, label."""
    event = row.splice_event_id if pd.notna(row.splice_event_id) else row.segmentation_event_id
    parts = [str(row.command_name)]
    if pd.notna(event):
        parts.append(f"event {event}")
    if isinstance(row.label, str) and row.label:
        parts.append(row.label)
    return " ".join(parts)


def condition_command(args: argparse.Namespace) -> int:
    """Run ``condition`` (and inject when cues are given); print the IDR table; exit 1 (and
    write nothing) when a cue was not placed, unless ``--allow-missed``."""
    times = _times(args.at)
    cues = None
    if args.schedule or args.cue:
        cues = _cues(args, times)
        if args.schedule:
            times = sorted({t for b in cues.breaks for t in (b.start, b.end)} | set(times))
    if not times:
        raise InputFormatError("no splice times: give --at SECONDS (repeat or 10,40)")
    try:
        df = _condition(args, times, cues)
    except CuesNotPlacedError as exc:
        return _say_placements(exc.report, args, True, "condition")
    write_table(df, args.format)
    report = df.attrs.get("inject")
    return 0 if report is None else _say_placements(report, args, False, "condition")


def _condition(args: argparse.Namespace, times: list[float], cues: Any) -> pd.DataFrame:
    """``condition()`` with the command's options."""
    return condition(
        args.input,
        args.output,
        times,
        cues=cues,
        gop=args.gop or None,
        sc_threshold=args.sc_threshold,
        preset=args.preset,
        crf=args.crf,
        video_bitrate=args.bitrate,
        preroll=args.preroll,
        ffmpeg=args.ffmpeg,
        strict=cues is not None and not args.allow_missed,
    )


def verify_command(args: argparse.Namespace) -> int:
    """Run ``verify``; print the table and the summary line; exit 1 when a cue fails."""
    if wanted(args):
        return verify_many_command(args, write_table)
    schedule = load_schedule(args.schedule) if args.schedule else None
    df = verify(args.file, preroll=args.preroll, schedule=schedule)
    for line in df.attrs.get("warnings", []):
        print(f"warning: {line}", file=sys.stderr)
    if args.format == "table":
        cols = [
            "pid",
            "cue_id",
            "command_name",
            "kind",
            "splice_event_id",
            "segmentation_event_id",
            "first_arrival_time",
            "splice_time",
            "offset_frames",
            "preroll",
            "sends",
            "paired",
            "ok",
            "reasons",
        ]
        if "tag" in df.columns:  # a playlist or MPD: one row per cue tag
            cols = ["line", "tag", "kind", "id", "segment", "signalled_time", "ok", "reasons"]
        if len(df):
            write_table(df[[c for c in cols if c in df.columns]], "table")
        print(df.attrs["summary"])
    else:
        write_table(pd.DataFrame(df), args.format)
        print(df.attrs["summary"], file=sys.stderr)
    if not len(df) and not args.allow_empty:
        print(
            f"error: verify: {args.file}: no cues found: nothing to verify "
            "(--allow-empty accepts that)",
            file=sys.stderr,
        )
        return 1
    return 0 if bool(df["ok"].all()) else 1
