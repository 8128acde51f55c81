"""``Store``: one SQLite file for streams, ad markers, cue logs and stream analytics.

WAL mode, so a live writer and a notebook reader work at once; every write is one
``BEGIN IMMEDIATE`` ... ``COMMIT`` transaction, so a writer killed mid-write leaves the file
as it was before that write. The schema is versioned (``PRAGMA user_version``) and upgraded on
open by the numbered SQL scripts in ``migrations/``. Reads come back as DataFrames.
"""

from __future__ import annotations

from scte35lab.schedule.store_analytics import ANALYTICS_COLUMNS, AnalyticsPart
from scte35lab.schedule.store_logs import CUE_STATES, CueLogPart
from scte35lab.schedule.store_markers import MARKER_ORIGINS, MarkersPart
from scte35lab.schedule.store_streams import STATUSES, StoreEventIds, StreamsPart
from scte35lab.schedule.storedb import SCHEMA_VERSION, Stream, StreamRef, migration_scripts


class Store(StreamsPart, MarkersPart, CueLogPart, AnalyticsPart):
    """The SQLite store at ``path`` (created, or upgraded to the current schema, on open).

    Safe to share between threads (each thread gets its own connection) and between
    processes (WAL: readers never wait for the writer). Its tables are served by one part
    each: streams (``store_streams``), schedules and markers (``store_markers``), the cue log
    and SRT outages (``store_logs``), analytics (``store_analytics``).
    """


__all__ = [
    "ANALYTICS_COLUMNS",
    "CUE_STATES",
    "MARKER_ORIGINS",
    "SCHEMA_VERSION",
    "STATUSES",
    "Store",
    "StoreEventIds",
    "Stream",
    "StreamRef",
    "migration_scripts",
]
