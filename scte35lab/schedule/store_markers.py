"""The store's schedules and ad markers."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Mapping
from datetime import datetime

import pandas as pd

from scte35lab.schedule.errors import StoreError
from scte35lab.schedule.model import AdBreak, Schedule
from scte35lab.schedule.plans import PlannedCue, plan_schedule, planned_ids
from scte35lab.schedule.storedb import StoreDb, StreamRef, _epoch, _to_datetimes
from scte35lab.schedule.streamclock import StreamClock
from scte35lab.schedule.validation import ScheduleRules

log = logging.getLogger(__name__)


MARKER_ORIGINS = ("schedule", "on_demand")


class MarkersPart(StoreDb):
    """Schedules and their ad markers (one row per break)."""

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
