"""The store's per-second stream analytics."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from scte35lab.schedule.errors import StoreError
from scte35lab.schedule.storedb import StoreDb, StreamRef, _epoch, _to_datetimes

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


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


class AnalyticsPart(StoreDb):
    """The per-second analytics time series of each stream."""

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
