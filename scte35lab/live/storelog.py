"""What a running stream writes to the store: its status, its end, each second's analytics
and each SRT outage. A store that fails is logged, never allowed to stop the stream."""

from __future__ import annotations

import logging
from typing import Any

from scte35lab.live.srtout import Outage
from scte35lab.schedule import Store
from scte35lab.schedule.store import ANALYTICS_COLUMNS

log = logging.getLogger(__name__)


class StoreLog:
    """One stream's writes to ``store`` (``None``: no store, nothing is written)."""

    def __init__(self, store: Store | None, stream: str) -> None:
        self.store = store
        self.stream = stream

    def _write(self, what: str, method: str, **kw: Any) -> None:
        """``store.<method>(stream, **kw)``; a failure is logged, naming ``what``."""
        if self.store is None:
            return
        try:
            getattr(self.store, method)(self.stream, **kw)
        except Exception:
            log.exception("pipeline %s: storing %s failed", self.stream, what)

    def status(self, status: str) -> None:
        self._write("the status", "set_status", status=status)

    def ended(self) -> None:
        self._write("the end", "end_stream")

    def analytics(self, row: dict[str, Any]) -> None:
        """The analytics columns of one stats row."""
        stored = {k: row.get(k) for k in ("ts", *ANALYTICS_COLUMNS)}
        self._write("analytics", "add_analytics", rows=stored)

    def outage(self, outage: Outage) -> None:
        self._write(
            "an SRT outage",
            "add_outage",
            started_at=outage.started_at,
            ended_at=outage.ended_at,
            bytes_unacked=outage.bytes_unacked,
            bytes_unsent=outage.bytes_unsent,
        )
