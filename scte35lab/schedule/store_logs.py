"""The store's cue log (each cue's final state and evidence) and SRT outages."""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import TYPE_CHECKING

import pandas as pd

from scte35lab.clock import PTS_HZ, pts_diff
from scte35lab.redaction import redact
from scte35lab.schedule.errors import StoreError
from scte35lab.schedule.storedb import StoreDb, StreamRef, _epoch, _to_datetimes

if TYPE_CHECKING:
    from scte35lab.cue import Cue

log = logging.getLogger(__name__)


# What became of a cue (see migrations/0004_delivery.sql); only 'delivered' marks its break
# inserted.
CUE_STATES = ("delivered", "late", "unconfirmed", "written", "missed", "cancelled")


class CueLogPart(StoreDb):
    """What became of each cue sent, and the SRT outages."""

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
            shift = pts_diff(splice_pts, requested_pts) / PTS_HZ
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
        bytes_unacked: int | None,
        bytes_unsent: int,
    ) -> None:
        """Record one SRT outage: bytes written but never acknowledged (``None``: unknown,
        the sender cannot see acknowledgements), and bytes not sent while the peer was away
        (together: what the distributor never got)."""
        if (bytes_unacked is not None and bytes_unacked < 0) or bytes_unsent < 0:
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
                    None if bytes_unacked is None else int(bytes_unacked),
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
        df["bytes_unacked"] = df["bytes_unacked"].astype("Int64")
        df["bytes_unsent"] = df["bytes_unsent"].astype("int64")
        df["bytes_lost"] = df["bytes_unacked"] + df["bytes_unsent"]
        return df
