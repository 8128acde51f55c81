"""``Store``: one SQLite file for streams, ad markers, cue logs and stream analytics.

WAL mode, so a live writer and a notebook reader work at once; every write is one
``BEGIN IMMEDIATE`` ... ``COMMIT`` transaction, so a writer killed mid-write leaves the file
as it was before that write. The schema is versioned (``PRAGMA user_version``) and upgraded on
open by the numbered SQL scripts in ``migrations/``. Reads come back as DataFrames.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from scte35lab.schedule.errors import EventIdError, StoreError
from scte35lab.schedule.eventids import MAX_EVENT_ID, check_event_id
from scte35lab.schedule.keys import (
    check_env_name,
    check_srt_destination,
    hash_stream_key,
    new_stream_key,
    redact,
    verify_stream_key_hash,
)
from scte35lab.schedule.model import AdBreak, Schedule, StreamClock
from scte35lab.schedule.validation import ScheduleRules

if TYPE_CHECKING:
    from scte35lab.cue import Cue
    from scte35lab.schedule.plans import PlannedCue

log = logging.getLogger(__name__)

STATUSES = ("idle", "starting", "live", "stopping", "stopped", "error")
ANALYTICS_COLUMNS = (
    "bitrate_kbps",
    "fps",
    "srt_rtt_ms",
    "srt_send_rate_mbps",
    "srt_pkt_loss",
    "srt_pkt_retrans",
    "cpu_percent",
    "memory_mb",
    "bytes_lost",
)
_ANALYTICS_INT = {"srt_pkt_loss", "srt_pkt_retrans", "bytes_lost"}
# What became of a cue (see migrations/0004_delivery.sql); only 'delivered' marks its break
# inserted.
CUE_STATES = ("delivered", "late", "unconfirmed", "written", "missed", "cancelled")
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
MARKER_ORIGINS = ("schedule", "on_demand")


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


class Store:
    """The SQLite store at ``path`` (created, or upgraded to the current schema, on open).

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

    def __enter__(self) -> Store:
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

    # -- streams ---------------------------------------------------------------------------
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

    def add_stream(
        self,
        name: str,
        *,
        description: str = "",
        srt_destination: str | None = None,
        srt_passphrase_env: str | None = None,
        bitrate_kbps: float | None = None,
        resolution: str | tuple[int, int] | None = None,
        fps: float | None = None,
    ) -> Stream:
        """Create a stream. The SRT passphrase is given by the *name* of its env variable."""
        if not isinstance(name, str) or not name.strip():
            raise StoreError("a stream needs a non-empty name", field="name")
        if srt_destination is not None:
            check_srt_destination(srt_destination)
        if srt_passphrase_env is not None:
            check_env_name(srt_passphrase_env)
        width, height = _parse_resolution(resolution)
        try:
            with self._write() as conn:
                cur = conn.execute(
                    "INSERT INTO streams (name, description, srt_destination, srt_passphrase_env,"
                    " bitrate_kbps, width, height, fps, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
                    (
                        name,
                        description,
                        srt_destination,
                        srt_passphrase_env,
                        bitrate_kbps,
                        width,
                        height,
                        fps,
                        time.time(),
                    ),
                )
                conn.execute(
                    "INSERT INTO stream_schedules (stream_id) VALUES (?)", (cur.lastrowid,)
                )
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"a stream named {name!r} already exists", field="name") from exc
        log.debug("store %s: added stream %r", self.path, name)
        return self.stream(name)

    def stream(self, stream: StreamRef) -> Stream:
        """The stored settings of ``stream`` (a name, id or ``Stream``)."""
        sid = self._stream_id(stream)
        row = (
            self._conn()
            .execute(f"SELECT {_STREAM_COLUMNS} FROM streams WHERE id = ?", (sid,))
            .fetchone()
        )
        return _stream_from_row(row)

    def streams(self) -> pd.DataFrame:
        """Every stream, one row each (no secrets: ``has_stream_key`` and the env var name)."""
        rows = self._conn().execute(f"SELECT {_STREAM_COLUMNS} FROM streams ORDER BY id").fetchall()
        df = pd.DataFrame(
            [_stream_from_row(r).__dict__ for r in rows], columns=[f.name for f in fields(Stream)]
        )
        for col in ("started_at", "ended_at", "created_at"):
            df[col] = pd.to_datetime(df[col], utc=True)
        df["status"] = pd.Categorical(df["status"], categories=list(STATUSES))
        for col in ("width", "height", "first_pts"):
            df[col] = df[col].astype("Int64")
        for col in ("bitrate_kbps", "fps"):
            df[col] = df[col].astype("float64")
        return df

    def update_stream(self, stream: StreamRef, **changes: Any) -> Stream:
        """Change settings: description, srt_destination, srt_passphrase_env, bitrate_kbps,
        resolution, fps."""
        allowed = {
            "description",
            "srt_destination",
            "srt_passphrase_env",
            "bitrate_kbps",
            "resolution",
            "fps",
        }
        unknown = sorted(set(changes) - allowed)
        if unknown:
            raise StoreError(
                f"cannot update {', '.join(unknown)}; updatable: {', '.join(sorted(allowed))}"
            )
        values: dict[str, Any] = {}
        for key, value in changes.items():
            if key == "srt_destination" and value is not None:
                check_srt_destination(value)
            if key == "srt_passphrase_env" and value is not None:
                check_env_name(value)
            if key == "resolution":
                values["width"], values["height"] = _parse_resolution(value)
            else:
                values[key] = value
        sid = self._stream_id(stream)
        if values:
            sets = ", ".join(f"{k} = ?" for k in values)
            with self._write() as conn:
                conn.execute(f"UPDATE streams SET {sets} WHERE id = ?", (*values.values(), sid))
        return self.stream(sid)

    def set_status(self, stream: StreamRef, status: str) -> Stream:
        """Set the stream's status (``idle``, ``starting``, ``live``, ``stopping``, ...)."""
        if status not in STATUSES:
            raise StoreError(
                f"status {status!r} is not one of {', '.join(STATUSES)}", field="status"
            )
        sid = self._stream_id(stream)
        with self._write() as conn:
            conn.execute(
                "UPDATE streams SET status = ?, is_live = ? WHERE id = ?",
                (status, int(status == "live"), sid),
            )
        return self.stream(sid)

    def start_stream(
        self,
        stream: StreamRef,
        *,
        first_pts: int | None = None,
        at: datetime | float | None = None,
    ) -> Stream:
        """Mark the stream live from ``at`` (now); ``first_pts`` fixes its clock's time zero."""
        clock_check = StreamClock(first_pts) if first_pts is not None else None
        sid = self._stream_id(stream)
        with self._write() as conn:
            conn.execute(
                "UPDATE streams SET status = 'live', is_live = 1, started_at = ?, ended_at = NULL,"
                " first_pts = ? WHERE id = ?",
                (_epoch(at), None if clock_check is None else clock_check.first_pts, sid),
            )
        return self.stream(sid)

    def end_stream(
        self, stream: StreamRef, *, status: str = "stopped", at: datetime | float | None = None
    ) -> Stream:
        """Mark the stream no longer live (``stopped`` or ``error``) from ``at`` (now)."""
        if status not in ("stopped", "error"):
            raise StoreError("a stream ends as 'stopped' or 'error'", field="status")
        sid = self._stream_id(stream)
        with self._write() as conn:
            conn.execute(
                "UPDATE streams SET status = ?, is_live = 0, ended_at = ? WHERE id = ?",
                (status, _epoch(at), sid),
            )
        return self.stream(sid)

    def delete_stream(self, stream: StreamRef) -> None:
        """Remove a stream and everything stored for it."""
        sid = self._stream_id(stream)
        with self._write() as conn:
            conn.execute("DELETE FROM streams WHERE id = ?", (sid,))

    def clock(self, stream: StreamRef) -> StreamClock | None:
        """The running stream's clock (first PTS, wall start), or ``None`` before it starts."""
        return self.stream(stream).clock

    # -- secrets ---------------------------------------------------------------------------
    def new_stream_key(self, stream: StreamRef) -> str:
        """Generate a stream key, keep only its salted hash, and return it: shown this once."""
        key = new_stream_key()
        self.set_stream_key(stream, key)
        return key

    def set_stream_key(self, stream: StreamRef, key: str) -> None:
        """Keep a salted scrypt hash of ``key`` (never the key) for ``verify_stream_key``."""
        hashed = hash_stream_key(key)
        sid = self._stream_id(stream)
        with self._write() as conn:
            conn.execute("UPDATE streams SET stream_key_hash = ? WHERE id = ?", (hashed, sid))
        log.info("store %s: stream key set for stream id %d", self.path, sid)

    def verify_stream_key(self, stream: StreamRef, key: str) -> bool:
        """Whether ``key`` is the stream's key (for the RTMP ``on_publish`` check).

        An unknown stream or a stream without a key is ``False``, not an error, so the
        caller's answer to a publisher does not reveal which stream names exist.
        """
        try:
            sid = self._stream_id(stream)
        except StoreError:
            return False
        row = (
            self._conn()
            .execute("SELECT stream_key_hash FROM streams WHERE id = ?", (sid,))
            .fetchone()
        )
        if row is None or row[0] is None or not isinstance(key, str):
            return False
        ok = verify_stream_key_hash(row[0], key)
        log.info(
            "store %s: stream key check for stream id %d: %s",
            self.path,
            sid,
            "accepted" if ok else "rejected",
        )
        return ok

    def srt_passphrase(self, stream: StreamRef) -> str | None:
        """The SRT passphrase, read now from the environment variable the stream names."""
        env = self.stream(stream).srt_passphrase_env
        if env is None:
            return None
        value = os.environ.get(env)
        if value is None:
            raise StoreError(
                f"environment variable {env} (the SRT passphrase) is not set",
                field="srt_passphrase_env",
            )
        return value

    def _known_secrets(self, sid: int) -> list[str]:
        env = (
            self._conn()
            .execute("SELECT srt_passphrase_env FROM streams WHERE id = ?", (sid,))
            .fetchone()
        )
        value = os.environ.get(env[0]) if env and env[0] else None
        return [value] if value else []

    # -- event ids -------------------------------------------------------------------------
    def event_ids(self, stream: StreamRef, *, start: int = 1) -> StoreEventIds:
        """A persistent event-id allocator for ``stream``: ids never repeat in that stream."""
        return StoreEventIds(self, self._stream_id(stream), start=start)

    # -- schedules and markers -------------------------------------------------------------
    def save_schedule(self, stream: StreamRef, schedule: Schedule) -> None:
        """Store ``schedule`` as the stream's markers, in one transaction.

        Breaks are matched by ``cue_id``: changed ones are updated (their inserted state
        kept); markers missing from the schedule are removed unless already inserted.
        """
        sid = self._stream_id(stream)
        with self._write() as conn:
            self._save_schedule(conn, sid, schedule)

    def _save_schedule(self, conn: sqlite3.Connection, sid: int, schedule: Schedule) -> None:
        conn.execute(
            "INSERT INTO stream_schedules (stream_id, plan, rules_json) VALUES (?,?,?) "
            "ON CONFLICT (stream_id) DO UPDATE SET plan = excluded.plan, "
            "rules_json = excluded.rules_json",
            (sid, schedule.plan, json.dumps(schedule.rules.to_dict())),
        )
        _upsert_markers(conn, sid, list(schedule), origin="schedule")
        keep = [b.cue_id for b in schedule]
        conn.execute(
            "DELETE FROM ad_markers WHERE stream_id = ? AND inserted = 0 "
            "AND origin = 'schedule' AND cue_id NOT IN "
            f"({','.join('?' * len(keep))})",
            (sid, *keep),
        )

    def add_marker(self, stream: StreamRef, brk: AdBreak, *, origin: str = "on_demand") -> None:
        """Add (or update) one break's marker without touching the others: a break
        called while live (``Pipeline.cue_out``) gets its row as scheduled ones do, with
        ``origin='on_demand'`` so it is never read back as part of the schedule."""
        if origin not in MARKER_ORIGINS:
            raise StoreError(f"origin {origin!r} is not one of {MARKER_ORIGINS}", field="origin")
        sid = self._stream_id(stream)
        with self._write() as conn:
            _upsert_markers(conn, sid, [brk], origin=origin)

    def schedule(self, stream: StreamRef) -> Schedule:
        """The stream's stored schedule, as saved (plus ids filled in by ``plan``)."""
        sid = self._stream_id(stream)
        with self._read() as conn:
            settings = conn.execute(
                "SELECT plan, rules_json FROM stream_schedules WHERE stream_id = ?", (sid,)
            ).fetchone()
            rows = conn.execute(
                "SELECT cue_id, start_s, duration_s, ad_type, splice_event_id, "
                "segmentation_event_id, provider_avail_id, upid_type, upid, avail_num, "
                "avails_expected, auto_return, plan, notes FROM ad_markers WHERE stream_id = ? "
                "AND origin = 'schedule' ORDER BY start_s, cue_id",
                (sid,),
            ).fetchall()
        plan, rules_json = settings if settings else ("splice_insert", "{}")
        breaks = [
            AdBreak(
                start=r[1],
                duration=r[2],
                kind=r[3],
                cue_id=r[0],
                splice_event_id=r[4],
                segmentation_event_id=r[5],
                provider_avail_id=r[6],
                upid_type=r[7],
                upid=r[8],
                avail_num=r[9],
                avails_expected=r[10],
                auto_return=bool(r[11]),
                plan=r[12],
                notes=r[13] or "",
            )
            for r in rows
        ]
        return Schedule(breaks, plan=plan, rules=ScheduleRules(**json.loads(rules_json)))

    def plan(
        self,
        stream: StreamRef,
        schedule: Schedule,
        *,
        clock: StreamClock | None = None,
    ) -> list[PlannedCue]:
        """Plan ``schedule``'s cues with this stream's event ids and store it, ids included.

        Without ``clock`` the stream's own clock is used once it has started. Re-planning a
        break keeps its event ids; a new break never reuses one. One transaction: a failure
        (an id already taken, an invalid schedule) allocates and stores nothing.
        """
        from scte35lab.schedule.plans import plan_schedule, planned_ids

        sid = self._stream_id(stream)
        if clock is None:
            clock = self.clock(sid)
        with self._write() as conn:  # ids and markers commit together, or not at all
            planned = plan_schedule(schedule, allocator=self.event_ids(sid), clock=clock)
            ids = planned_ids(planned)
            stored = Schedule(
                [b if b.cue_id not in ids else _with_ids(b, ids[b.cue_id]) for b in schedule],
                plan=schedule.plan,
                rules=schedule.rules,
            )
            self._save_schedule(conn, sid, stored)
        log.info(
            "store %s: planned %d cue(s) for %d break(s) of stream id %d",
            self.path,
            len(planned),
            len(schedule),
            sid,
        )
        return planned

    def markers(self, stream: StreamRef) -> pd.DataFrame:
        """The stream's ad markers, one row per break, in start order."""
        sid = self._stream_id(stream)
        rows = (
            self._conn()
            .execute(
                "SELECT s.name, m.cue_id, m.start_s, m.duration_s, m.ad_type, m.inserted, "
                "m.inserted_at, m.splice_event_id, m.segmentation_event_id, m.provider_avail_id, "
                "m.auto_return, m.avail_num, m.avails_expected, m.plan, m.upid_type, m.upid, "
                "m.notes, m.origin, m.shift_s FROM ad_markers m "
                "JOIN streams s ON s.id = m.stream_id WHERE m.stream_id = ? "
                "ORDER BY m.start_s, m.cue_id",
                (sid,),
            )
            .fetchall()
        )
        cols = [
            "stream",
            "cue_id",
            "start",
            "duration",
            "ad_type",
            "inserted",
            "inserted_at",
            "splice_event_id",
            "segmentation_event_id",
            "provider_avail_id",
            "auto_return",
            "avail_num",
            "avails_expected",
            "plan",
            "upid_type",
            "upid",
            "notes",
            "origin",
            "shift",
        ]
        df = pd.DataFrame(rows, columns=cols)
        df["shift"] = df["shift"].astype("float64")
        df["start"] = df["start"].astype("float64")
        df["duration"] = df["duration"].astype("float64")
        df.insert(4, "end", df["start"] + df["duration"])
        df["inserted"] = df["inserted"].astype(bool)
        df["auto_return"] = df["auto_return"].astype(bool)
        df["inserted_at"] = _to_datetimes(df["inserted_at"].astype("float64"))
        for col in (
            "splice_event_id",
            "segmentation_event_id",
            "provider_avail_id",
            "avail_num",
            "avails_expected",
            "upid_type",
        ):
            df[col] = df[col].astype("Int64")
        return df

    def mark_inserted(
        self, stream: StreamRef, cue_id: str, *, at: datetime | float | None = None
    ) -> None:
        """Record that the break ``cue_id`` went out (its out-cue was inserted) at ``at``."""
        sid = self._stream_id(stream)
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE ad_markers SET inserted = 1, inserted_at = ? WHERE stream_id = ? AND "
                "cue_id = ?",
                (_epoch(at), sid, cue_id),
            )
            if cur.rowcount == 0:
                raise StoreError(f"stream has no marker {cue_id!r}", field="cue_id")

    # -- cue logs --------------------------------------------------------------------------
    def log_cue(
        self,
        stream: StreamRef,
        cue: Cue | bytes | str,
        *,
        cue_id: str | None = None,
        role: str | None = None,
        success: bool | None = None,
        error: str | None = None,
        at: datetime | float | None = None,
        splice_pts: int | None = None,
        state: str | None = None,
        preroll: float | None = None,
        requested_pts: int | None = None,
    ) -> None:
        """Record what became of one cue. ``error`` is stored with secrets redacted.

        ``state`` is one of ``CUE_STATES``; ``success`` is true exactly when it is
        ``delivered`` (given alone, ``success`` means ``delivered`` or ``missed``), and only
        then is the break's marker marked inserted. ``preroll`` is the pre-roll (seconds) of
        the copy that counted; ``requested_pts`` where the splice was asked for, when the
        injector moved it to the next IDR (the shift is stored on the log and the marker).
        ``cue`` is a ``Cue``, the section bytes or its hex; ``splice_pts`` defaults to the
        cue's splice point when it is a ``Cue``.
        """
        if isinstance(cue, bytes | bytearray):
            section_hex = bytes(cue).hex()
        elif isinstance(cue, str):
            section_hex = cue.lower().removeprefix("0x")
            if not re.fullmatch(r"(?:[0-9a-f]{2})+", section_hex):
                raise StoreError("cue text must be the section in hex", field="section_hex")
        else:
            section_hex = bytes(cue.encode()).hex()
            if splice_pts is None:
                splice_pts = cue.splice_point
        if role not in (None, "out", "in"):
            raise StoreError(f"role {role!r} is not 'out' or 'in'", field="role")
        if state is None:
            state = "delivered" if success is None or success else "missed"
        if state not in CUE_STATES:
            raise StoreError(
                f"cue state {state!r} is not one of {', '.join(CUE_STATES)}", field="state"
            )
        if success is not None and bool(success) != (state == "delivered"):
            raise StoreError(
                f"success={success} contradicts state {state!r}: only 'delivered' is a success",
                field="success",
            )
        ok = state == "delivered"
        shift = None
        if requested_pts is not None and splice_pts is not None:
            shift = ((splice_pts - requested_pts + 2**32) % 2**33 - 2**32) / 90_000
        sid = self._stream_id(stream)
        message = None if error is None else redact(str(error), self._known_secrets(sid))
        with self._write() as conn:
            conn.execute(
                "INSERT INTO scte35_logs (stream_id, cue_id, section_hex, inserted_at, success, "
                "error_message, role, splice_pts, state, preroll_s, requested_pts, shift_s) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    sid,
                    cue_id,
                    section_hex,
                    _epoch(at),
                    int(ok),
                    message,
                    role,
                    splice_pts,
                    state,
                    preroll,
                    requested_pts,
                    shift,
                ),
            )
            if cue_id is not None and role in (None, "out") and shift is not None:
                conn.execute(
                    "UPDATE ad_markers SET shift_s = ? WHERE stream_id = ? AND cue_id = ?",
                    (shift, sid, cue_id),
                )
            if ok and cue_id is not None and role in (None, "out"):
                conn.execute(
                    "UPDATE ad_markers SET inserted = 1, inserted_at = COALESCE(inserted_at, ?)"
                    " WHERE stream_id = ? AND cue_id = ?",
                    (_epoch(at), sid, cue_id),
                )
        if ok:
            log.debug("store %s: logged cue %s for stream id %d", self.path, cue_id, sid)
        else:
            log.warning(
                "store %s: cue %s for stream id %d failed (%s): %s",
                self.path,
                cue_id,
                sid,
                state,
                message,
            )

    def logs(
        self,
        stream: StreamRef | None = None,
        *,
        since: datetime | float | None = None,
        until: datetime | float | None = None,
        success: bool | None = None,
    ) -> pd.DataFrame:
        """Cue log rows (all streams unless ``stream``), oldest first."""
        where, params = [], []
        if stream is not None:
            where.append("l.stream_id = ?")
            params.append(self._stream_id(stream))
        if since is not None:
            where.append("l.inserted_at >= ?")
            params.append(_epoch(since))
        if until is not None:
            where.append("l.inserted_at < ?")
            params.append(_epoch(until))
        if success is not None:
            where.append("l.success = ?")
            params.append(int(success))
        sql = (
            "SELECT s.name, l.cue_id, l.role, l.section_hex, l.splice_pts, l.inserted_at, "
            "l.success, l.error_message, l.state, l.preroll_s, l.requested_pts, l.shift_s "
            "FROM scte35_logs l JOIN streams s ON s.id = l.stream_id"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY l.inserted_at, l.id"
        )
        rows = self._conn().execute(sql, params).fetchall()
        df = pd.DataFrame(
            rows,
            columns=[
                "stream",
                "cue_id",
                "role",
                "section_hex",
                "splice_pts",
                "inserted_at",
                "success",
                "error_message",
                "state",
                "preroll",
                "requested_pts",
                "shift",
            ],
        )
        df["splice_pts"] = df["splice_pts"].astype("Int64")
        df["requested_pts"] = df["requested_pts"].astype("Int64")
        df["preroll"] = df["preroll"].astype("float64")
        df["shift"] = df["shift"].astype("float64")
        df["inserted_at"] = _to_datetimes(df["inserted_at"])
        df["success"] = df["success"].astype(bool)
        return df

    # -- SRT outages -----------------------------------------------------------------------
    def add_outage(
        self,
        stream: StreamRef,
        *,
        started_at: datetime | float,
        ended_at: datetime | float | None,
        bytes_unacked: int,
        bytes_unsent: int,
    ) -> None:
        """Record one SRT outage: bytes written but never acknowledged, and bytes not sent
        while the peer was away (together: what the distributor never got)."""
        if bytes_unacked < 0 or bytes_unsent < 0:
            raise StoreError("outage byte counts are >= 0", field="bytes_unacked")
        sid = self._stream_id(stream)
        with self._write() as conn:
            conn.execute(
                "INSERT INTO srt_outages (stream_id, started_at, ended_at, bytes_unacked, "
                "bytes_unsent) VALUES (?,?,?,?,?)",
                (
                    sid,
                    _epoch(started_at),
                    None if ended_at is None else _epoch(ended_at),
                    int(bytes_unacked),
                    int(bytes_unsent),
                ),
            )

    def outages(self, stream: StreamRef) -> pd.DataFrame:
        """The stream's SRT outages, oldest first, with ``bytes_lost`` = unacked + unsent."""
        sid = self._stream_id(stream)
        rows = (
            self._conn()
            .execute(
                "SELECT started_at, ended_at, bytes_unacked, bytes_unsent FROM srt_outages "
                "WHERE stream_id = ? ORDER BY started_at, id",
                (sid,),
            )
            .fetchall()
        )
        df = pd.DataFrame(rows, columns=["started_at", "ended_at", "bytes_unacked", "bytes_unsent"])
        df["started_at"] = _to_datetimes(df["started_at"].astype("float64"))
        df["ended_at"] = _to_datetimes(df["ended_at"].astype("float64"))
        for c in ("bytes_unacked", "bytes_unsent"):
            df[c] = df[c].astype("int64")
        df["bytes_lost"] = df["bytes_unacked"] + df["bytes_unsent"]
        return df

    # -- analytics -------------------------------------------------------------------------
    def add_analytics(
        self,
        stream: StreamRef,
        rows: pd.DataFrame | Iterable[Mapping[str, Any]] | Mapping[str, Any],
    ) -> int:
        """Append analytics samples in one transaction; returns how many.

        Columns: ``ts`` (datetime or Unix seconds; now if absent) and any of
        ``ANALYTICS_COLUMNS``. Unknown columns are an error, not silently dropped.
        """
        if isinstance(rows, Mapping):
            rows = [rows]
        df = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
        unknown = sorted(set(df.columns) - {"ts", *ANALYTICS_COLUMNS})
        if unknown:
            raise StoreError(
                f"unknown analytics column(s): {', '.join(map(str, unknown))}; "
                f"known: ts, {', '.join(ANALYTICS_COLUMNS)}"
            )
        n = len(df)
        if n == 0:
            return 0
        if "ts" in df.columns:
            ts = df["ts"]
            if pd.api.types.is_datetime64_any_dtype(ts):
                if ts.dt.tz is None:
                    raise StoreError("analytics ts must be timezone-aware", field="ts")
                ts_values = ts.dt.tz_convert("UTC").dt.tz_localize(None) - pd.Timestamp(0)
                now = time.time()
                ts_list = [
                    now if math.isnan(v) else v for v in ts_values.dt.total_seconds().tolist()
                ]
            else:
                now = time.time()
                ts_list = [now if pd.isna(v) else _epoch(v) for v in ts.tolist()]
        else:
            ts_list = [time.time()] * n
        columns: list[list[Any]] = [ts_list]
        for name in ANALYTICS_COLUMNS:
            if name not in df.columns:
                columns.append([None] * n)
                continue
            values = pd.to_numeric(df[name], errors="raise").to_numpy(
                dtype="float64", na_value=np.nan
            )
            if name in _ANALYTICS_INT:
                columns.append([None if math.isnan(v) else int(v) for v in values.tolist()])
            else:
                columns.append([None if math.isnan(v) else v for v in values.tolist()])
        sid = self._stream_id(stream)
        marks = ", ".join("?" * (2 + len(ANALYTICS_COLUMNS)))
        with self._write() as conn:
            conn.executemany(
                "INSERT INTO stream_analytics (stream_id, ts, "
                f"{', '.join(ANALYTICS_COLUMNS)}) VALUES ({marks})",
                zip([sid] * n, *columns, strict=True),
            )
        return n

    def analytics(
        self,
        stream: StreamRef,
        *,
        since: datetime | float | None = None,
        until: datetime | float | None = None,
        last: int | None = None,
    ) -> pd.DataFrame:
        """The stream's analytics time series, oldest first; ``last=n`` keeps the newest n."""
        sid = self._stream_id(stream)
        where, params = ["stream_id = ?"], [sid]
        if since is not None:
            where.append("ts >= ?")
            params.append(_epoch(since))
        if until is not None:
            where.append("ts < ?")
            params.append(_epoch(until))
        cols = ", ".join(("ts", *ANALYTICS_COLUMNS))
        sql = f"SELECT {cols} FROM stream_analytics WHERE {' AND '.join(where)}"
        if last is not None:
            sql = f"SELECT * FROM ({sql} ORDER BY ts DESC, id DESC LIMIT ?) ORDER BY ts"
            params.append(int(last))
        else:
            sql += " ORDER BY ts, id"
        rows = self._conn().execute(sql, params).fetchall()
        data = list(zip(*rows, strict=True)) if rows else [()] * (1 + len(ANALYTICS_COLUMNS))
        # one constructor call over whole columns: this is the dashboard's hot path
        columns: dict[str, Any] = {"ts": _to_datetimes(data[0]).array}
        for name, values in zip(ANALYTICS_COLUMNS, data[1:], strict=True):
            if name in _ANALYTICS_INT:
                columns[name] = pd.array(values, dtype="Int64")
            else:
                columns[name] = np.array(values, dtype="float64")  # None -> NaN
        return pd.DataFrame(columns)


def _upsert_markers(
    conn: sqlite3.Connection, sid: int, breaks: list[AdBreak], *, origin: str
) -> None:
    """Insert or update the markers of ``breaks`` (matched by cue_id)."""
    rows = [
        (
            sid,
            b.cue_id,
            b.start,
            b.duration,
            b.kind,
            b.splice_event_id,
            b.segmentation_event_id,
            b.provider_avail_id,
            int(b.auto_return),
            b.avail_num,
            b.avails_expected,
            b.plan,
            b.upid_type,
            b.upid,
            b.notes,
            origin,
        )
        for b in breaks
    ]
    conn.executemany(
        "INSERT INTO ad_markers (stream_id, cue_id, start_s, duration_s, ad_type, "
        "splice_event_id, segmentation_event_id, provider_avail_id, auto_return, avail_num, "
        "avails_expected, plan, upid_type, upid, notes, origin) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
        " ON CONFLICT (stream_id, cue_id) DO UPDATE SET start_s = excluded.start_s, "
        "duration_s = excluded.duration_s, ad_type = excluded.ad_type, "
        "splice_event_id = excluded.splice_event_id, "
        "segmentation_event_id = excluded.segmentation_event_id, "
        "provider_avail_id = excluded.provider_avail_id, auto_return = excluded.auto_return,"
        " avail_num = excluded.avail_num, avails_expected = excluded.avails_expected, "
        "plan = excluded.plan, upid_type = excluded.upid_type, upid = excluded.upid, "
        "notes = excluded.notes, origin = excluded.origin",
        rows,
    )


def _with_ids(b: AdBreak, ids: Mapping[str, int | None]) -> AdBreak:
    from dataclasses import replace

    return replace(b, **{k: v for k, v in ids.items() if v is not None})


class StoreEventIds:
    """The event-id allocator of one stream, kept in the store's ``event_ids`` table.

    Every call is one transaction, so two processes planning for the same stream never hand
    out the same id.
    """

    def __init__(self, store: Store, stream_id: int, *, start: int = 1) -> None:
        self._store = store
        self._sid = stream_id
        self._start = check_event_id(start)

    def allocate(self, owner: str | None = None) -> int:
        """``owner``'s id if it has one, else the next id never used in this stream."""
        with self._store._write() as conn:
            if owner is not None:
                row = conn.execute(
                    "SELECT event_id FROM event_ids WHERE stream_id = ? AND owner = ?",
                    (self._sid, owner),
                ).fetchone()
                if row is not None:
                    return row[0]
            row = conn.execute(
                "SELECT max(event_id) FROM event_ids WHERE stream_id = ?", (self._sid,)
            ).fetchone()
            candidate = self._start if row[0] is None else max(row[0] + 1, self._start)
            if (
                candidate > MAX_EVENT_ID
                or conn.execute(
                    "SELECT 1 FROM event_ids WHERE stream_id = ? AND event_id = ?",
                    (self._sid, candidate),
                ).fetchone()
            ):
                gap = conn.execute(
                    "SELECT e.event_id + 1 FROM event_ids e WHERE e.stream_id = ?1 AND "
                    "e.event_id < ?2 AND NOT EXISTS (SELECT 1 FROM event_ids f WHERE "
                    "f.stream_id = ?1 AND f.event_id = e.event_id + 1) ORDER BY 1 LIMIT 1",
                    (self._sid, MAX_EVENT_ID),
                ).fetchone()
                if gap is None:
                    raise EventIdError("every event id of this stream is used")
                candidate = gap[0]
            conn.execute(
                "INSERT INTO event_ids (stream_id, event_id, owner, created_at) VALUES (?,?,?,?)",
                (self._sid, candidate, owner, time.time()),
            )
            return candidate

    def claim(self, event_id: int, owner: str | None = None) -> int:
        """Take the chosen ``event_id``; an id used before by another owner is an error."""
        check_event_id(event_id)
        with self._store._write() as conn:
            row = conn.execute(
                "SELECT owner FROM event_ids WHERE stream_id = ? AND event_id = ?",
                (self._sid, event_id),
            ).fetchone()
            if row is not None:
                if owner is not None and row[0] == owner:
                    return event_id
                raise EventIdError(
                    f"event id {event_id} was already used in this stream"
                    + (f" by {row[0]!r}" if row[0] else "")
                )
            if owner is not None:
                conn.execute(
                    "UPDATE event_ids SET owner = NULL WHERE stream_id = ? AND owner = ?",
                    (self._sid, owner),
                )
            conn.execute(
                "INSERT INTO event_ids (stream_id, event_id, owner, created_at) VALUES (?,?,?,?)",
                (self._sid, event_id, owner, time.time()),
            )
            return event_id

    @property
    def used(self) -> dict[int, str | None]:
        """Every id used in this stream, with its owner."""
        rows = (
            self._store._conn()
            .execute(
                "SELECT event_id, owner FROM event_ids WHERE stream_id = ? ORDER BY event_id",
                (self._sid,),
            )
            .fetchall()
        )
        return dict(rows)

    def __repr__(self) -> str:
        return f"StoreEventIds(stream_id={self._sid}, {len(self.used)} used)"
