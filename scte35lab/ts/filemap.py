"""A capture file read through a memory map: the scanner's chunks as views of the page cache.

Reading a local file with ``readinto`` copies every byte from the page cache into the
scanner's buffer; on a machine whose probes share memory bandwidth that copy is a good part
of a probe's cost. A read-only map hands out the same bytes as numpy views, without the copy.
Only plain files are mapped: an OS file object (``open(path, "rb")``, unbuffered or not) on a
regular, non-empty file. Anything else (pipes, ``BytesIO``, fsspec files, gzip or other
wrappers whose ``fileno()`` is not the bytes they give) is read as before.
"""

from __future__ import annotations

import contextlib
import io
import mmap
import os
import stat
from types import TracebackType
from typing import Any

import numpy as np


def plain_file_fd(f: Any) -> int | None:
    """The descriptor of ``f`` when it reads a regular, non-empty file as it is on disk."""
    raw = f.raw if isinstance(f, io.BufferedReader | io.BufferedRandom) else f
    if not isinstance(raw, io.FileIO) or raw.closed or not raw.readable():
        return None
    fd = raw.fileno()
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_size <= 0:
        return None
    return fd


class FileMap:
    """A read-only map of a whole regular file, handing out ``uint8`` views of it.

    Close it (or use it as a context manager): the map holds a descriptor of its own.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._mm: mmap.mmap | None = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
        advice = getattr(mmap, "MADV_SEQUENTIAL", None)
        if advice is not None:
            self._mm.madvise(advice)  # read ahead further and drop pages behind sooner
        self.length = len(self._mm)  # the file's size when mapped
        self._whole: np.ndarray | None = np.frombuffer(self._mm, dtype=np.uint8)
        self._kept: int | None = None  # the first page not let go of (see ``release``)

    @classmethod
    def of(cls, f: Any) -> FileMap | None:
        """A map of the file ``f`` reads, or None when it is not a plain file or cannot be
        mapped (then read it as a stream)."""
        try:
            fd = plain_file_fd(f)
            return None if fd is None else cls(fd)
        except (OSError, ValueError):
            return None

    def size_now(self) -> int:
        """The file's size now: it grows while a capture is still being written, and may have
        been cut since it was mapped."""
        return os.fstat(self.fd).st_size

    def view(self, start: int, stop: int) -> np.ndarray:
        """File bytes ``[start, stop)`` without a copy (read-only). Only bytes the file still
        holds may be looked at: a page past its end raises SIGBUS."""
        if self._whole is None:
            raise ValueError("the file map is closed")
        if self._kept is None:
            self._kept = start - start % mmap.PAGESIZE
        return self._whole[start:stop]

    def release(self, before: int) -> None:
        """Let go of the pages before file offset ``before``, not to be looked at again.

        They stay in the page cache, but leave this process's resident set, which would
        otherwise grow by the whole file as it is read (and a worker's memory monitor counts
        it). Viewing them again would read them back from the page cache."""
        end = before - before % mmap.PAGESIZE
        if self._mm is None or self._kept is None or end <= self._kept:
            return
        advice = getattr(mmap, "MADV_DONTNEED", None)
        if advice is not None:
            self._mm.madvise(advice, self._kept, end - self._kept)
        self._kept = end

    def close(self) -> None:
        """Unmap now. A view still alive (one held by the traceback of an exception raised
        while a chunk was read) keeps the map until it goes; the map is released with it."""
        self._whole = None
        mm, self._mm = self._mm, None
        if mm is not None:
            # on BufferError: unmapped, and its descriptor closed, when the last view goes
            with contextlib.suppress(BufferError):
                mm.close()

    def __enter__(self) -> FileMap:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
