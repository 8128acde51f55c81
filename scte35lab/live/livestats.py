"""A live pipeline's statistics: the time its stages take per read, and once a second one
row of what the input, the encoder, the SRT sender, the fallback and the processes did,
kept, stored and handed to each listener."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from scte35lab.live.cpumeter import CpuMeter
from scte35lab.live.ingest import LiveIngest
from scte35lab.live.livechain import LiveChain
from scte35lab.live.outflow import OutFlow
from scte35lab.live.settings import LiveSettings
from scte35lab.live.storelog import StoreLog
from scte35lab.live.transcoding import TranscodeSlot

log = logging.getLogger(__name__)

KEEP_READS = 100_000  # per-read times kept for benchmarks


class LiveStats:
    """Stage times and the stats rows of one pipeline (see the module docstring)."""

    def __init__(
        self,
        s: LiveSettings,
        chain: LiveChain,
        flow: OutFlow,
        ingest: LiveIngest,
        transcoder: TranscodeSlot | None,
        store: StoreLog,
    ) -> None:
        self.stream, self.mode, self.sender_class = s.stream, s.mode, s.sender_class
        self.chain, self.flow, self.ingest, self.transcoder = chain, flow, ingest, transcoder
        self.store = store
        self.rows: list[dict[str, Any]] = []
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        self.stage_times: deque[float] = deque(maxlen=KEEP_READS)  # wall seconds per read
        self.stage_cpu_times: deque[float] = deque(maxlen=KEEP_READS)  # CPU seconds per read
        self._tick_times: list[float] = []
        self._cpu = CpuMeter()

    def read_took(self, wall: float, cpu: float) -> None:
        """Our stages spent ``wall`` seconds (``cpu`` of this thread's CPU) on one read: the
        latency they add on top of the injector's deliberate look-ahead."""
        self.stage_times.append(wall)
        self.stage_cpu_times.append(cpu)
        self._tick_times.append(wall)

    def tick(self) -> dict[str, Any]:
        """This second's row: built, kept, stored, told to each listener."""
        row = self._row()
        self.rows.append(row)
        self.store.analytics(row)
        for fn in self.listeners:
            try:
                fn(row)
            except Exception:  # a listener's bug must not stop the stream
                log.exception("pipeline %s: stats callback failed", self.stream)
        return row

    def _row(self) -> dict[str, Any]:
        outputs, srt = self.flow.outputs, self.flow.srt
        row: dict[str, Any] = {"ts": time.time(), "stream": self.stream, "mode": self.mode}
        row.update(self.chain.meter.second())
        row["srt_stats_available"] = self.sender_class.stats_available
        row["srt_connected"] = srt.up
        row["srt_acks"] = self.sender_class.acks
        if outputs.fallback is not None:
            row.update(outputs.fallback.stats())
        if self.transcoder is not None:
            row.update(self.transcoder.second())
        sender = srt.sender
        if sender is not None and sender.stats_available:
            row.update(sender.stats.last_second() or {})
        cpu, mem = self._cpu.sample(self.ingest.pids() + outputs.pids())
        row["cpu_percent"] = cpu
        row["memory_mb"] = None if mem is None else mem / 2**20
        if outputs.record_bytes is not None:
            row["record_mb"] = outputs.record_bytes / 2**20
        times, self._tick_times = sorted(self._tick_times), []
        if times:
            row["stage_ms_p50"] = 1000 * times[len(times) // 2]
            row["stage_ms_p99"] = 1000 * times[min(len(times) - 1, int(len(times) * 0.99))]
        row["bytes_out"] = self.flow.bytes_out
        row["bytes_unsent"] = srt.bytes_unsent
        row["bytes_lost"] = srt.bytes_lost
        return row

    def frame(self) -> Any:
        """Every row so far as a DataFrame, ``ts`` as UTC datetimes."""
        import pandas as pd  # lazy: pandas is heavy and only a caller of stats() needs it

        df = pd.DataFrame(self.rows)
        if not df.empty:
            df["ts"] = pd.to_datetime(df["ts"], unit="s", utc=True)
        return df
