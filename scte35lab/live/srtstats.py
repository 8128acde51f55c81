"""SRT statistics from ``srt-live-transmit``'s JSON reports: per-second rates and running
totals (``SrtStats``), read from the file the tool writes as it goes.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scte35lab.live.srtendpoint import SRT_CHUNK

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SrtSample:
    """One time-normalised SRT statistics sample (rates per second, totals since start)."""

    t: float  # monotonic seconds when read
    elapsed_s: float  # seconds since the SRT socket started (the tool's own clock)
    interval_s: float  # seconds the underlying report covered
    rtt_ms: float
    bandwidth_mbps: float  # estimated link bandwidth
    send_rate_mbps: float
    packets_per_s: float
    packets_sent: int  # totals since the sender started
    packets_lost: int
    packets_retransmitted: int
    packets_dropped: int
    bytes_sent: int
    payload_bytes_sent: int  # (unique packets - in flight) x 1316: TS bytes acknowledged
    buffer_ms: float  # send buffer
    flight: int
    # receiving side (a listener's reports) and packet filter (FEC) counters, totals
    packets_received: int = 0
    packets_received_lost: int = 0  # gaps seen, before retransmission or FEC filled them
    fec_sent: int = 0  # FEC packets sent (send.packetsFilterExtra; packets_sent has them)
    fec_received: int = 0  # FEC packets this side received (recv.packetsFilterExtra)
    fec_rebuilt: int = 0  # lost packets FEC rebuilt here (recv.packetsFilterSupply)
    fec_unrecovered: int = 0  # lost packets FEC could not rebuild (recv.packetsFilterLoss)
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


class SrtStats:
    """Running totals and per-second rates from ``srt-live-transmit``'s JSON reports."""

    def __init__(self, *, chunk: int = SRT_CHUNK) -> None:
        self.chunk = chunk
        self.samples: list[SrtSample] = []
        self._last_time_ms: float | None = None
        self._totals = dict.fromkeys(
            (
                "sent",
                "unique",
                "lost",
                "retrans",
                "dropped",
                "bytes",
                "recv",
                "recv_lost",
                "fec_sent",
                "fec_recv",
                "fec_rebuilt",
                "fec_unrecovered",
            ),
            0,
        )
        self._lock = threading.Lock()

    def feed_line(self, line: str) -> SrtSample | None:
        """Take one JSON report line; returns the sample it makes, or ``None`` if not one."""
        line = line.strip().rstrip(",")
        if not line.startswith("{"):
            return None
        try:
            d = json.loads(line)
            send, link = d["send"], d["link"]
            recv = d.get("recv") or {}
            time_ms = float(d["time"])
        except (ValueError, KeyError, TypeError):
            log.debug("srt stats: not a report: %.80s", line)
            return None
        with self._lock:
            prev = self._last_time_ms
            self._last_time_ms = time_ms
            interval = (time_ms - prev) / 1000 if prev is not None and time_ms > prev else None
            if interval is None:
                interval = time_ms / 1000 if time_ms > 0 else 1.0
            tot = self._totals
            tot["sent"] += int(send.get("packets", 0))
            tot["unique"] += int(send.get("packetsUnique", send.get("packets", 0)))
            tot["lost"] += int(send.get("packetsLost", 0))
            tot["retrans"] += int(send.get("packetsRetransmitted", 0))
            tot["dropped"] += int(send.get("packetsDropped", 0))
            tot["bytes"] += int(send.get("bytes", 0))
            tot["recv"] += int(recv.get("packets", 0))
            tot["recv_lost"] += int(recv.get("packetsLost", 0))
            tot["fec_sent"] += int(send.get("packetsFilterExtra", 0))
            tot["fec_recv"] += int(recv.get("packetsFilterExtra", 0))
            tot["fec_rebuilt"] += int(recv.get("packetsFilterSupply", 0))
            tot["fec_unrecovered"] += int(recv.get("packetsFilterLoss", 0))
            flight = int(d.get("window", {}).get("flight", 0))
            sample = SrtSample(
                t=time.monotonic(),
                elapsed_s=time_ms / 1000,
                interval_s=interval,
                rtt_ms=float(link.get("rtt", 0.0)),
                bandwidth_mbps=float(link.get("bandwidth", 0.0)),
                send_rate_mbps=float(send.get("mbitRate", 0.0)),
                packets_per_s=int(send.get("packets", 0)) / interval if interval else 0.0,
                packets_sent=tot["sent"],
                packets_lost=tot["lost"],
                packets_retransmitted=tot["retrans"],
                packets_dropped=tot["dropped"],
                bytes_sent=tot["bytes"],
                payload_bytes_sent=max(tot["unique"] - flight, 0) * self.chunk,
                buffer_ms=float(send.get("msBuf", 0.0)),
                flight=flight,
                packets_received=tot["recv"],
                packets_received_lost=tot["recv_lost"],
                fec_sent=tot["fec_sent"],
                fec_received=tot["fec_recv"],
                fec_rebuilt=tot["fec_rebuilt"],
                fec_unrecovered=tot["fec_unrecovered"],
                raw=d,
            )
            self.samples.append(sample)
            if len(self.samples) > 4096:
                del self.samples[:1024]
        return sample

    @property
    def latest(self) -> SrtSample | None:
        """The newest sample, or ``None`` before the first report."""
        with self._lock:
            return self.samples[-1] if self.samples else None

    def last_second(self, now: float | None = None) -> dict[str, float] | None:
        """Rates over the reports of the last second (or the newest one if none is that new)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if not self.samples:
                return None
            recent = [s for s in self.samples if now - s.t <= 1.0] or [self.samples[-1]]
        span = sum(s.interval_s for s in recent) or 1.0
        newest = recent[-1]
        return {
            "srt_rtt_ms": newest.rtt_ms,
            "srt_bandwidth_mbps": newest.bandwidth_mbps,
            "srt_send_rate_mbps": sum(s.send_rate_mbps * s.interval_s for s in recent) / span,
            "srt_packets_per_s": sum(s.packets_per_s * s.interval_s for s in recent) / span,
            "srt_pkt_loss": newest.packets_lost,
            "srt_pkt_retrans": newest.packets_retransmitted,
            "srt_pkt_dropped": newest.packets_dropped,
            "srt_buffer_ms": newest.buffer_ms,
            "srt_fec_sent": newest.fec_sent,
        }

    def frame(self) -> Any:
        """Every sample as a DataFrame, one row per report."""
        import pandas as pd

        with self._lock:
            rows = [{k: v for k, v in s.__dict__.items() if k != "raw"} for s in self.samples]
        return pd.DataFrame(rows)


class _StatsTail(threading.Thread):
    """Follows a stats file as the tool appends to it and feeds each line to ``SrtStats``."""

    def __init__(self, path: Path, stats: SrtStats, on_sample: Callable[[SrtSample], None]):
        super().__init__(name="srt-stats", daemon=True)
        self.path = path
        self.stats = stats
        self.on_sample = on_sample
        self._stop_event = threading.Event()

    def run(self) -> None:
        pos = 0
        partial = ""
        while not self._stop_event.is_set():
            self._stop_event.wait(0.1)
            try:
                with open(self.path, encoding="utf-8", errors="replace") as f:
                    f.seek(pos)
                    data = f.read()
                    pos = f.tell()
            except FileNotFoundError:
                continue
            if not data:
                continue
            *lines, partial = (partial + data).split("\n")
            for line in lines:
                sample = self.stats.feed_line(line)
                if sample is not None:
                    self.on_sample(sample)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(2)
