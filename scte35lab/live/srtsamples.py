"""The in-process SRT sender's statistics: one sample a second from libsrt's counters.

:class:`LibSrtStats` is shaped like :class:`~scte35lab.live.srtstats.SrtStats` (``latest``,
``last_second()``, ``frame()``), so the pipeline's stats row reads either sender alike.
"""

from __future__ import annotations

import collections
import threading
from dataclasses import asdict, dataclass
from typing import Any

from scte35lab.live import srtlib
from scte35lab.live.srtendpoint import SRT_CHUNK


@dataclass(frozen=True)
class LibSrtSample:
    """One per-second reading of the socket's statistics (totals since connecting)."""

    t: float
    elapsed_s: float
    interval_s: float
    rtt_ms: float
    bandwidth_mbps: float
    send_rate_mbps: float
    packets_per_s: float
    packets_sent: int
    packets_unique: int
    packets_lost: int  # reported lost by the receiver (NAKs)
    packets_retransmitted: int
    packets_dropped: int  # dropped too late by the sender (packets, from the dropped bytes)
    bytes_sent: int
    buffer_ms: float
    buffer_packets: int
    flight: int
    fec_sent: int
    bytes_unacked: int  # TS bytes handed to libsrt, not settled yet
    bytes_acked: int  # TS bytes of acknowledged messages


class LibSrtStats:
    """Per-second samples of a :class:`LibSrtSender`, shaped like :class:`SrtStats`."""

    def __init__(self) -> None:
        self.samples: collections.deque[LibSrtSample] = collections.deque(maxlen=4096)
        self._lock = threading.Lock()

    def add(self, sample: LibSrtSample) -> None:
        with self._lock:
            self.samples.append(sample)

    @property
    def latest(self) -> LibSrtSample | None:
        """The newest sample, or ``None`` before the first."""
        with self._lock:
            return self.samples[-1] if self.samples else None

    def last_second(self, now: float | None = None) -> dict[str, float] | None:
        """The same keys as ``SrtStats.last_second()`` plus ``srt_bytes_unacked`` and
        ``srt_bytes_acked``, from the newest sample (each covers about one second)."""
        s = self.latest
        if s is None:
            return None
        return {
            "srt_rtt_ms": s.rtt_ms,
            "srt_bandwidth_mbps": s.bandwidth_mbps,
            "srt_send_rate_mbps": s.send_rate_mbps,
            "srt_packets_per_s": s.packets_per_s,
            "srt_pkt_loss": s.packets_lost,
            "srt_pkt_retrans": s.packets_retransmitted,
            "srt_pkt_dropped": s.packets_dropped,
            "srt_buffer_ms": s.buffer_ms,
            "srt_fec_sent": s.fec_sent,
            "srt_bytes_unacked": s.bytes_unacked,
            "srt_bytes_acked": s.bytes_acked,
        }

    def frame(self) -> Any:
        """Every sample as a DataFrame, one row per second."""
        import pandas as pd

        with self._lock:
            rows = [asdict(s) for s in self.samples]
        return pd.DataFrame(rows)


def sample_of(
    s: srtlib.TraceBStats,
    prev: tuple[float, srtlib.TraceBStats] | None,
    now: float,
    unacked: int,
    acked: int,
) -> LibSrtSample:
    """The sample for libsrt's totals ``s`` read at ``now``, after ``prev`` (its time and
    totals; ``None``: since connecting); ``unacked`` and ``acked`` are the ledger's bytes."""
    if prev is None:
        interval = max(s.msTimeStamp / 1000, 1e-3)
        d_bytes, d_pkts = s.byteSentTotal, s.pktSentTotal
    else:
        interval = max(now - prev[0], 1e-3)
        d_bytes = s.byteSentTotal - prev[1].byteSentTotal
        d_pkts = s.pktSentTotal - prev[1].pktSentTotal
    dropped_payload = s.byteSndDropTotal - srtlib.SRT_DATA_HDR_SIZE * s.pktSndDropTotal
    return LibSrtSample(
        t=now,
        elapsed_s=s.msTimeStamp / 1000,
        interval_s=interval,
        rtt_ms=s.msRTT,
        bandwidth_mbps=s.mbpsBandwidth,
        send_rate_mbps=d_bytes * 8 / interval / 1e6,
        packets_per_s=d_pkts / interval,
        packets_sent=s.pktSentTotal,
        packets_unique=s.pktSentUniqueTotal,
        packets_lost=s.pktSndLossTotal,
        packets_retransmitted=s.pktRetransTotal,
        packets_dropped=max(dropped_payload, 0) // SRT_CHUNK,
        bytes_sent=s.byteSentTotal,
        buffer_ms=float(s.msSndBuf),
        buffer_packets=s.pktSndBuf,
        flight=s.pktFlightSize,
        fec_sent=s.pktSndFilterExtraTotal,
        bytes_unacked=unacked,
        bytes_acked=acked,
    )
