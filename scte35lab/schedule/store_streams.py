"""The store's streams: settings, status, secrets kept only as hashes or env names, event ids."""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from dataclasses import fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from scte35lab.schedule.errors import EventIdError, StoreError
from scte35lab.schedule.eventids import MAX_EVENT_ID, check_event_id
from scte35lab.schedule.keys import (
    check_env_name,
    check_srt_destination,
    hash_stream_key,
    new_stream_key,
    verify_stream_key_hash,
)
from scte35lab.schedule.storedb import (
    _STREAM_COLUMNS,
    StoreDb,
    Stream,
    StreamRef,
    _epoch,
    _parse_resolution,
    _stream_from_row,
)
from scte35lab.schedule.streamclock import StreamClock

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


STATUSES = ("idle", "starting", "live", "stopping", "stopped", "error")


class StreamsPart(StoreDb):
    """Streams, their secrets (hashed keys, passphrase env names) and event-id allocators."""

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


class StoreEventIds:
    """The event-id allocator of one stream, kept in the store's ``event_ids`` table.

    Every call is one transaction, so two processes planning for the same stream never hand
    out the same id.
    """

    def __init__(self, store: StoreDb, stream_id: int, *, start: int = 1) -> None:
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
