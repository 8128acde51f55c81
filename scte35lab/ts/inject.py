"""Inject SCTE-35 cues into an MPEG-TS file: :func:`inject`, and the injector's public names.

:func:`inject` reads a capture (a path, bytes or a binary file) and writes it with the cues
on their own SCTE-35 PID, through an :class:`Injector` run as the one stage of a
:class:`~scte35lab.ts.chain.Chain` (as the live pipeline runs it among its stages). What the
injector does to the stream, and where each cue goes, is told in
:mod:`scte35lab.ts.injector`; this module also gives the names callers import from here:
:class:`Injector`, :class:`CueRequest`, :class:`Placement`, :func:`cue_requests`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, BinaryIO, Unpack

from scte35lab.errors import CuesNotPlacedError, StreamError
from scte35lab.inputkind import require_ts, source_name
from scte35lab.outfile import atomic_file
from scte35lab.ts.chain import Chain
from scte35lab.ts.cueplacer import NULL_SEARCH_FRAMES
from scte35lab.ts.cuerequests import CueInput, CueRequest, Placement, cue_requests
from scte35lab.ts.injector import MAX_HOLD_BYTES, Injector, InjectorOptions
from scte35lab.ts.packets import TS_PACKET_SIZE
from scte35lab.ts.pmtrewrite import (
    CUE_IDENTIFIER_TAG,
    CUE_STREAM_ALL_COMMANDS,
    DEFAULT_PID,
    EXISTING_MODES,
    NULL_PACKET,
)
from scte35lab.ts.videoframes import NAL_SCAN_PACKETS

if TYPE_CHECKING:
    import pandas as pd

CHUNK = TS_PACKET_SIZE * 21_000  # ~3.9 MB per read in inject()


Source = str | os.PathLike | bytes | bytearray | memoryview | BinaryIO


def _open_source(src: Source) -> tuple[BinaryIO | bytes, bool]:
    """(readable or bytes, whether we opened it and must close it); refuses input that is
    not MPEG-TS with a :class:`NotTransportStreamError`."""
    if isinstance(src, bytes | bytearray | memoryview):
        return require_ts(bytes(src)), False
    if isinstance(src, str | os.PathLike):
        try:
            f = open(src, "rb")  # noqa: SIM115 - closed by the caller
        except FileNotFoundError:
            raise
        except OSError as e:
            raise StreamError(f"cannot open {os.fspath(src)!r}: {e.strerror}") from e
        try:
            return require_ts(f, source_name(src)), True
        except BaseException:
            f.close()
            raise
    if hasattr(src, "read"):
        return require_ts(src), False
    raise StreamError(f"cannot inject into a {type(src).__name__}: give a path, bytes or a file")


def _chunks(src: BinaryIO | bytes, size: int) -> Iterator[bytes]:
    """``src`` in reads of ``size`` bytes."""
    if isinstance(src, bytes):
        for i in range(0, len(src), size):
            yield src[i : i + size]
        return
    yield from iter(lambda: src.read(size), b"")


def inject(
    src: Source,
    dst: str | os.PathLike | BinaryIO,
    cues_or_schedule: CueInput | Iterable[CueInput],
    *,
    strict: bool = False,
    **options: Unpack[InjectorOptions],
) -> pd.DataFrame:
    """Write ``src`` to ``dst`` with cues on their own SCTE-35 PID; returns one row per cue.

    ``cues_or_schedule``: a ``Schedule``, ``Cue`` objects (spliced at their own splice
    point), ``(seconds, Cue)`` pairs (seconds from stream time zero) or ``CueRequest``s.
    ``options`` are :class:`Injector`'s (``pid``, ``preroll``, ``repeat_every``,
    ``snap_to_idr``, ``existing``, ``program``, ``margin``): see it for what they mean and
    :mod:`scte35lab.ts.injector` for the rules.

    A cue that could not be placed is not an exception by default: its row has ``status``
    ``missed`` (and ``reason`` says why), so check ``(report["status"] == "missed").any()``
    - ``late`` cues were placed with less pre-roll than asked. ``strict=True`` raises
    :class:`CuesNotPlacedError` instead (its ``report`` is the table) and, when ``dst`` is
    a path, leaves no output. A path ``dst`` is written under a temporary name and renamed
    only when complete. Input that is not MPEG-TS raises :class:`NotTransportStreamError`.
    """
    inj = Injector(cues_or_schedule, **options)
    source, close = _open_source(src)
    try:
        if isinstance(dst, str | os.PathLike):
            same = (
                isinstance(src, str | os.PathLike)
                and os.path.exists(dst)
                and os.path.samefile(src, dst)
            )
            if same:
                raise StreamError(f"inject would overwrite its input {os.fspath(src)!r}")
            with contextlib.ExitStack() as stack:
                try:
                    out = stack.enter_context(atomic_file(dst, "wb"))
                except OSError as e:
                    raise StreamError(f"cannot write {os.fspath(dst)!r}: {e.strerror}") from e
                _run(inj, source, out)
                _check(inj, strict)
        else:
            _run(inj, source, dst)
            _check(inj, strict)
    finally:
        if close:
            source.close()
    return inj.report()


def _check(inj: Injector, strict: bool) -> None:
    """The stream had somewhere to inject; with ``strict``, every cue was placed."""
    if inj.pid is None:
        raise StreamError("no PAT/PMT found in the input: nothing to inject into")
    missed = [p for p in inj.placements if p.status not in ("placed", "late")]
    if strict and missed:
        raise CuesNotPlacedError(
            f"{len(missed)} of {len(inj.placements)} cue(s) not placed: "
            + "; ".join(f"{p.request.describe()}: {p.reason or p.status}" for p in missed),
            report=inj.report(),
        )


def _run(inj: Injector, src: BinaryIO | bytes, out: BinaryIO) -> None:
    """The injector as the one stage of a chain from ``src`` to ``out``: the pieces it
    lets go are written as they are, views of the input where nothing changed."""
    Chain([inj]).pump(_chunks(src, CHUNK), out.writelines)


__all__ = [
    "CHUNK",
    "CUE_IDENTIFIER_TAG",
    "CUE_STREAM_ALL_COMMANDS",
    "DEFAULT_PID",
    "EXISTING_MODES",
    "MAX_HOLD_BYTES",
    "NAL_SCAN_PACKETS",
    "NULL_PACKET",
    "NULL_SEARCH_FRAMES",
    "CueInput",
    "CueRequest",
    "Injector",
    "InjectorOptions",
    "Placement",
    "cue_requests",
    "inject",
]
