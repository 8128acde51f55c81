"""The SQLite file under the store: one connection per thread, one transaction per write,
the schema upgraded on open by the numbered scripts in ``migrations/``, and the row types.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import pandas as pd

from scte35lab.schedule.errors import StoreError
from scte35lab.schedule.streamclock import StreamClock

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


_MIGRATION = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migration_scripts() -> list[tuple[int, str, str]]:
    """``(version, file name, SQL)`` for every schema migration shipped, in order."""
    root = resources.files("scte35lab.schedule") / "migrations"
    found = []
    for entry in root.iterdir():
        m = _MIGRATION.match(entry.name)
        if m:
            found.append((int(m[1]), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _, _ in found]
    if versions != list(range(1, len(found) + 1)):
        raise StoreError(f"migration scripts are not numbered 1..n: {versions}")
    return found


SCHEMA_VERSION = len(migration_scripts())


def _epoch(at: datetime | float | int | None) -> float:
    if at is None:
        return time.time()
    if isinstance(at, datetime):
        if at.tzinfo is None:
            raise StoreError("times must be timezone-aware datetimes (e.g. datetime.now(UTC))")
        return at.timestamp()
    if isinstance(at, pd.Timestamp):  # pragma: no cover - Timestamp is a datetime
        return at.timestamp()
    if isinstance(at, int | float) and not isinstance(at, bool):
        return float(at)
    raise StoreError(f"a time is a datetime or Unix seconds, not {type(at).__name__}")


def _utc(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def _to_datetimes(values: Any) -> pd.Series:
    """Unix seconds -> UTC timestamps, at the microsecond a float of seconds can hold."""
    seconds = np.array(values, dtype="float64")  # None -> NaN -> NaT
    micros = np.round(seconds * 1e6)
    stamps = np.where(np.isnan(micros), np.iinfo("int64").min, micros).astype("int64")
    return pd.Series(pd.DatetimeIndex(stamps.view("datetime64[us]"), tz=None).tz_localize("UTC"))


@dataclass(frozen=True)
class Stream:
    """A stream's stored settings. Holds no secret: only whether a stream key is set and the
    name of the environment variable that holds the SRT passphrase."""

    id: int
    name: str
    description: str
    has_stream_key: bool
    srt_destination: str | None
    srt_passphrase_env: str | None
    status: str
    is_live: bool
    bitrate_kbps: float | None
    width: int | None
    height: int | None
    fps: float | None
    first_pts: int | None
    started_at: datetime | None
    ended_at: datetime | None
    created_at: datetime

    @property
    def resolution(self) -> str | None:
        """``"WIDTHxHEIGHT"`` or ``None``."""
        return None if self.width is None or self.height is None else f"{self.width}x{self.height}"

    @property
    def clock(self) -> StreamClock | None:
        """The stream's clock once it has a first PTS (set by ``Store.start_stream``)."""
        if self.first_pts is None:
            return None
        return StreamClock(self.first_pts, self.started_at)


StreamRef = str | int | Stream
_STREAM_COLUMNS = (
    "id, name, description, stream_key_hash IS NOT NULL, srt_destination, srt_passphrase_env, "
    "status, is_live, bitrate_kbps, width, height, fps, first_pts, started_at, ended_at, "
    "created_at"
)


def _stream_from_row(row: tuple[Any, ...]) -> Stream:
    (
        id_,
        name,
        desc,
        has_key,
        dest,
        env,
        status,
        live,
        kbps,
        w,
        h,
        fps,
        first_pts,
        started,
        ended,
        created,
    ) = row
    return Stream(
        id_,
        name,
        desc,
        bool(has_key),
        dest,
        env,
        status,
        bool(live),
        kbps,
        w,
        h,
        fps,
        first_pts,
        _utc(started),
        _utc(ended),
        _utc(created),
    )


def _parse_resolution(resolution: str | tuple[int, int] | None) -> tuple[int | None, int | None]:
    if resolution is None:
        return None, None
    if isinstance(resolution, str):
        m = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", resolution)
        if not m:
            raise StoreError(f"resolution {resolution!r} is not WIDTHxHEIGHT", field="resolution")
        return int(m[1]), int(m[2])
    w, h = resolution
    return int(w), int(h)


class StoreDb:
    """The SQLite file under a ``Store``: connections, transactions, schema migrations.

    Safe to share between threads (each thread gets its own connection) and between
    processes (WAL: readers never wait for the writer).
    """

    def __init__(self, path: str | Path, *, timeout: float = 10.0) -> None:
        self.path = Path(path)
        self._timeout = timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._conns: list[sqlite3.Connection] = []
        self._closed = False
        try:
            self._migrate()
        except sqlite3.Error as exc:
            self.close()
            raise StoreError(f"cannot open {self.path} as a scte35lab store: {exc}") from exc
        except BaseException:
            self.close()
            raise

    # -- connections and transactions -----------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError(f"the store {self.path} is closed")
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
            with self._lock:
                self._conns.append(conn)
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it commits, or none of it.

        Nested uses join the outermost transaction, so a composite write (``plan``: allocate
        ids, then save markers) is still one transaction.
        """
        conn = self._conn()
        depth = getattr(self._local, "depth", 0)
        if depth:
            self._local.depth = depth + 1
            try:
                yield conn
            finally:
                self._local.depth = depth
            return
        conn.execute("BEGIN IMMEDIATE")
        self._local.depth = 1
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:  # SQLite may have rolled back already
                conn.execute("ROLLBACK")
            raise
        finally:
            self._local.depth = 0
        try:
            conn.execute("COMMIT")
        except sqlite3.Error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for reads that take more than one statement."""
        conn = self._conn()
        if getattr(self._local, "depth", 0):  # inside a write: it is already one snapshot
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def close(self) -> None:
        """Close every connection this store opened."""
        with self._lock:
            for conn in self._conns:
                conn.close()
            self._conns.clear()
            self._closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._closed:
            return f"Store({str(self.path)!r}, closed)"
        return f"Store({str(self.path)!r}, schema_version={self.schema_version})"

    # -- schema ----------------------------------------------------------------------------
    @property
    def schema_version(self) -> int:
        """The file's schema version (``PRAGMA user_version``)."""
        return self._conn().execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        conn = self._conn()
        current = self.schema_version
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {current}, made by a newer scte35lab; this "
                f"version reads up to {SCHEMA_VERSION}"
            )
        for version, name, sql in migration_scripts():
            if version <= current:
                continue
            # executescript runs the script as written, so BEGIN/COMMIT make it one
            # transaction together with the version bump: a crash leaves the old version.
            try:
                conn.executescript(
                    f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;"
                )
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise StoreError(f"migration {name} failed on {self.path}: {exc}") from exc
            log.info("store %s: migrated schema to version %d (%s)", self.path, version, name)

    def _stream_id(self, stream: StreamRef) -> int:
        if isinstance(stream, Stream):
            return stream.id
        if isinstance(stream, int) and not isinstance(stream, bool):
            row = self._conn().execute("SELECT id FROM streams WHERE id = ?", (stream,)).fetchone()
            if row is None:
                raise StoreError(f"no stream with id {stream}", field="stream")
            return stream
        if isinstance(stream, str):
            row = (
                self._conn().execute("SELECT id FROM streams WHERE name = ?", (stream,)).fetchone()
            )
            if row is None:
                raise StoreError(f"no stream named {stream!r}", field="stream")
            return row[0]
        raise StoreError(f"a stream is a name, an id or a Stream, not {type(stream).__name__}")
