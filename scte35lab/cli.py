"""The ``scte35lab`` command line: thin faces over the public functions.

Every command prints JSON, CSV or a table on stdout. Bad input gives one line on stderr and
exit code 2, never a traceback (``--debug`` shows it for bug reports).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from scte35lab.errors import Scte35Error

log = logging.getLogger("scte35lab")

# Modules that each add one or more subcommands with ``add_parser(subparsers)``.
COMMAND_MODULES = (
    "scte35lab.cli_cue",
    "scte35lab.cli_probe",
    "scte35lab.cli_manifest",
    "scte35lab.cli_inject",
    "scte35lab.cli_live",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="scte35lab",
        description="Design, inject, push and verify SCTE-35 ad markers in MPEG-TS.",
    )
    parser.add_argument("--debug", action="store_true", help="log details and tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the process exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed its one-line usage error
        return 2 if exc.code not in (0, None) else 0
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except Scte35Error as exc:
        _fail(f"{args.command}: {exc}", args.debug)
    except FileNotFoundError as exc:
        _fail(f"{args.command}: no such file: {exc.filename}", args.debug)
    except OSError as exc:
        _fail(
            f"{args.command}: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), args.debug
        )
    except KeyboardInterrupt:
        print(f"{args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the user's boundary: one line, never a traceback
        _fail(
            f"{args.command}: internal error ({type(exc).__name__}: {exc}); "
            "rerun with --debug for the details",
            args.debug,
        )
    return 2


def _fail(message: str, debug: bool) -> None:
    if debug:
        log.exception(message)
    print(f"error: {message}", file=sys.stderr)
