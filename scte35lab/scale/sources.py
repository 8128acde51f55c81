"""Which captures a ``probe_many`` call means, and how a worker opens one.

A source is a local path or an fsspec URL (``s3://``, ``http://``, ...); the workers must be
able to read it (a shared disk or object store on a real cluster).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable
from typing import BinaryIO

from scte35lab.errors import InputFormatError, StreamError

SourceList = str | os.PathLike | Iterable[str | os.PathLike]


def is_url(source: str) -> bool:
    """Whether ``source`` is read through fsspec (``file://`` included)."""
    return "://" in source


def expand(sources: SourceList) -> list[str]:
    """A path, a glob, a URL, or a list of them, as a list of sources in the given order
    (each glob sorted). A glob that matches nothing is kept, to fail as that source."""
    items = [sources] if isinstance(sources, str | os.PathLike) else list(sources)
    out: list[str] = []
    for item in items:
        text = os.fspath(item)
        if not glob.has_magic(text):
            out.append(text)
        elif is_url(text):
            import fsspec

            fs, path = fsspec.core.url_to_fs(text)
            out += [fs.unstrip_protocol(m) for m in sorted(fs.glob(path))] or [text]
        else:
            out += sorted(glob.glob(text)) or [text]
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

            try:
                return fsspec.open(self.source, "rb").open()
            except (OSError, ValueError) as e:
                raise StreamError(f"cannot open {self.source!r}: {e}") from e
        try:
            return open(self.source, "rb")
        except OSError as e:
            raise StreamError(f"cannot open {self.source!r}: {e.strerror}") from e

    def size(self) -> int:
        """The source's size in bytes."""
        if is_url(self.source):
            import fsspec

            try:
                fs, path = fsspec.core.url_to_fs(self.source)
                return int(fs.size(path))
            except (OSError, ValueError) as e:
                raise StreamError(f"cannot open {self.source!r}: {e}") from e
        try:
            return os.path.getsize(self.source)
        except OSError as e:
            raise StreamError(f"cannot open {self.source!r}: {e.strerror}") from e

    def __repr__(self) -> str:
        return f"SourceOpener({self.source!r})"
