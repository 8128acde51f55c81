"""Outputs that appear whole or not at all.

A capture cut short on a packet boundary probes as a complete, shorter capture: nothing in
it says it was cut. So every output file is written under a temporary name in the same
folder (``.NAME.partial-PID-RANDOM``), flushed to disk, and renamed onto its final name only
when it is complete; a failure of any kind (an error, Ctrl-C, ``SystemExit`` - the CLI turns
SIGTERM into one) removes the temporary file. A folder of outputs (HLS, DASH) is built in a
temporary sibling folder and renamed into place; into a folder that already exists, only
the files this run wrote are moved in, each atomically, manifests (``.m3u8``, ``.mpd``)
last, so a reader never sees a manifest that points at segments not there yet.

After SIGKILL or a power cut a ``.NAME.partial-*`` file or folder may stay behind; never a
partial file under the final name.

A base module: it imports nothing of ours.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

MANIFEST_SUFFIXES = (".m3u8", ".m3u", ".mpd")
"""Files moved into an existing folder last: they point at the others."""


def partial_name(path: str | os.PathLike) -> Path:
    """A temporary name next to ``path``: ``.NAME.partial-PID-RANDOM``."""
    p = Path(path)
    return p.with_name(f".{p.name}.partial-{os.getpid()}-{secrets.token_hex(4)}")


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "wb", **kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temporary file next to ``path`` for writing; on success flush, fsync and rename
    it onto ``path``; on any exception (``KeyboardInterrupt`` and ``SystemExit`` too)
    remove it and re-raise."""
    if not mode.startswith("w") or "+" in mode:
        raise ValueError(f"atomic_file writes a new file: mode {mode!r} is not 'w' or 'wb'")
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as f:
        yield f
        f.flush()
        os.fsync(f.fileno())


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path next to ``path`` for a writer that takes a name (FFmpeg); renamed
    onto ``path`` when the block ends without an exception, removed when it does not."""
    final = Path(path)
    tmp = partial_name(final)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"nothing was written to {tmp}")
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary sibling folder to build a folder of outputs in.

    On success, when ``path`` does not exist the folder is renamed to it (one step); when it
    does, each file written is moved into it with ``os.replace``, manifests last, and files
    already there that this run did not write are left alone. On any exception the
    temporary folder is removed and ``path`` is not created.
    """
    final = Path(path)
    if final.exists() and not final.is_dir():
        raise NotADirectoryError(f"{final} exists and is not a folder")
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_name(final)
    tmp.mkdir()
    try:
        yield tmp
        if not final.exists():
            try:
                os.rename(tmp, final)
                return
            except OSError:
                if not final.is_dir():  # not someone else's folder made meanwhile
                    raise
        _move_into(tmp, final)
        shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _move_into(src: Path, dst: Path) -> None:
    files = [p for p in sorted(src.rglob("*")) if p.is_file()]
    files.sort(key=lambda p: p.suffix.lower() in MANIFEST_SUFFIXES)
    for f in files:
        target = dst / f.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(f, target)


__all__ = ["MANIFEST_SUFFIXES", "atomic_file", "atomic_folder", "atomic_path", "partial_name"]
