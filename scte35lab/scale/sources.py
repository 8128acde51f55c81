"""Which captures a ``probe_many`` call means, and how a worker opens one.

A source is a local path or an fsspec URL (``s3://``, ``http://``, ...); the workers must be
able to read it (a shared disk or object store on a real cluster).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable
from typing import Any, BinaryIO

from scte35lab.errors import InputFormatError, StreamError

SourceList = str | os.PathLike | Iterable[str | os.PathLike]


def is_url(source: str) -> bool:
    return "://" in source and not source.startswith("file://")


def expand(sources: SourceList) -> list[str]:
    """A path, a glob, a URL, or a list of them, as a list of sources in the given order
    (each glob sorted). A glob that matches nothing is kept, to fail as that source."""
    items = [sources] if isinstance(sources, str | os.PathLike) else list(sources)
    out: list[str] = []
    for item in items:
        text = os.fspath(item)
        if not is_url(text) and glob.has_magic(text):
            matched = sorted(glob.glob(text))
            out += matched or [text]
        else:
            out.append(text)
    if not out:
        raise InputFormatError("no captures given")
    return out


class SourceOpener:
    """Opens one source for binary reading in whichever process runs it (picklable)."""

    def __init__(self, source: str) -> None:
        self.source = source

    def __call__(self) -> BinaryIO:
        if is_url(self.source):
            import fsspec

            return fsspec.open(self.source, "rb").open()
        try:
            return open(self.source, "rb")
        except OSError as e:
            raise StreamError(f"cannot open {self.source!r}: {e.strerror}") from e

    def size(self) -> int:
        """The source's size in bytes."""
        if is_url(self.source):
            import fsspec

            fs, path = fsspec.core.url_to_fs(self.source)
            return int(fs.size(path))
        try:
            return os.path.getsize(self.source)
        except OSError as e:
            raise StreamError(f"cannot open {self.source!r}: {e.strerror}") from e

    def __repr__(self) -> str:
        return f"SourceOpener({self.source!r})"


def opener_of(source: str) -> Any:
    return SourceOpener(source)
