"""The ``scte35lab`` command line: thin faces over the public functions.

Every command prints JSON, CSV or a table on stdout. Exit codes: 0 all is well; 1 a check
failed, there was nothing to check, or a cue was not placed; 2 bad input (a bad option, a
file that is not what it should be) - one line on stderr, never a traceback or argparse's
usage block (``--debug`` shows the traceback for bug reports). SIGTERM stops a command the
way Ctrl-C does: outputs written so far are removed, never left half-written (exit 143).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import NoReturn

from scte35lab.errors import Scte35Error

log = logging.getLogger("scte35lab")

# Modules that each add one or more subcommands with ``add_parser(subparsers)``.
COMMAND_MODULES = (
    "scte35lab.cli.cue",
    "scte35lab.cli.probe",
    "scte35lab.cli.manifest",
    "scte35lab.cli.inject",
    "scte35lab.cli.live",
    "scte35lab.cli.desk",
)


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line naming the option, not a usage block."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {self.prog}: {message} (see --help)", file=sys.stderr)
        sys.exit(2)


class Terminated(BaseException):
    """SIGTERM arrived: unwinds like Ctrl-C, so unfinished outputs are removed."""


@contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """While a command runs, SIGTERM raises :class:`Terminated` (main thread, default
    handler only; the previous handler comes back afterwards)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous is not signal.SIG_DFL:
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise Terminated

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available subcommand."""
    parser = OneLineParser(
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
        with _sigterm_unwinds():
            return int(args.func(args) or 0)
    except Terminated:
        print(f"{args.command}: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    except Scte35Error as exc:
        _fail(f"{args.command}: {exc}", args.debug)
    except BrokenPipeError:  # the reader (``| head``) has gone: not an error
        _silence_stdout()
        return 0
    except FileNotFoundError as exc:
        _fail(f"{args.command}: no such file: {exc.filename}", args.debug)
    except OSError as exc:
        _fail(
            f"{args.command}: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), args.debug
        )
    except KeyboardInterrupt:
        print(f"{args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the user's boundary: one line, never a traceback
        _fail(
            f"{args.command}: internal error ({type(exc).__name__}: {exc}); "
            "rerun with --debug for the details",
            args.debug,
        )
    return 2


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so flushing at exit does not fail again."""
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _fail(message: str, debug: bool) -> None:
    if debug:
        log.exception(message)
    print(f"error: {message}", file=sys.stderr)
