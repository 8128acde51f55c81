"""One huge capture probed in parallel: byte ranges on the scanner's chunk grid, one task
each, stitched in order into exactly what a single ``probe()`` gives (``ts.ranges``,
``ts.stitch``)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from scte35lab.analysis.probe import Probe
from scte35lab.errors import InputFormatError
from scte35lab.scale.cluster import runner
from scte35lab.scale.sources import SourceOpener
from scte35lab.ts.ranges import Range, RangeOutput, plan_ranges, scan_range
from scte35lab.ts.scan import CHUNK_BYTES
from scte35lab.ts.stitch import StitchStats, stitch

log = logging.getLogger(__name__)

RANGE_BYTES = 1 << 30  # at most this much a range by default: a worker's rows stay bounded


def default_parts(size: int, workers: int, range_bytes: int = RANGE_BYTES) -> int:
    """At least one range a worker, and none over ``range_bytes``."""
    return max(workers, -(-size // range_bytes), 1)


def probe_ranges(
    source: str | os.PathLike,
    *,
    parts: int | None = None,
    client: Any = None,
    workers: int | None = None,
    chunk_bytes: int = CHUNK_BYTES,
    overlap: int | None = None,
    packets: bool = False,
    pids: list[int] | set[int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Probe:
    """``probe(source)``, computed as ``parts`` byte ranges in parallel and stitched.

    The result equals ``probe(source, chunk_bytes=chunk_bytes)`` row for row (its
    ``stitch_stats`` say how many ranges were scanned twice because their speculative
    start, ``overlap`` bytes of warm-up, did not hold). ``parts`` defaults to one a worker,
    more if a range would exceed 1 GiB. ``progress`` is called with the ranges done.
    """
    run = runner(client, workers)
    try:
        if parts is None:
            workers = len(run.client.scheduler_info()["workers"]) if run.client else 1
            parts = default_parts(SourceOpener(os.fspath(source)).size(), workers)
        if parts < 1:
            raise InputFormatError(f"parts must be >= 1, not {parts}")
        path = os.fspath(source)
        p, stats = split_probe(
            path, parts, run.client, chunk_bytes, overlap, packets, pids, progress
        )
    finally:
        run.close()
    log.info("%s: %s", path, stats)
    return p


def split_probe(
    path: str,
    parts: int,
    client: Any,
    chunk_bytes: int,
    overlap: int | None,
    packets: bool,
    pids: list[int] | set[int] | None,
    progress: Callable[[int], None] | None = None,
) -> tuple[Probe, StitchStats]:
    """``path`` probed as ``parts`` ranges on ``client`` (None: here), and how it went."""
    opener = SourceOpener(path)
    pid_set = {int(p) for p in pids} if pids is not None else None
    with opener() as f:
        ranges = plan_ranges(f, opener.size(), parts, chunk_bytes=chunk_bytes, overlap=overlap)
    kw = {"packets": packets, "pids": pid_set, "chunk_bytes": chunk_bytes}
    outputs = scan_ranges(opener, ranges, client, kw, progress)

    def rescan(rng: Range, state: bytes) -> RangeOutput:
        if client is None:
            return scan_range(opener, rng, state=state, **kw)
        return client.submit(scan_range, opener, rng, state=state, pure=False, **kw).result()

    result, stats = stitch(outputs, rescan)
    p = Probe(result, source=path, pids=pid_set)
    p.stitch_stats = stats
    return p, stats


def scan_ranges(
    opener: SourceOpener,
    ranges: list[Range],
    client: Any,
    kw: dict[str, Any],
    progress: Callable[[int], None] | None = None,
) -> list[RangeOutput]:
    """Each range scanned (speculatively but the first), in order: on the cluster when there
    is a client, else one after another in this process."""
    if client is None:
        outs = []
        for r in ranges:
            outs.append(scan_range(opener, r, **kw))
            if progress is not None:
                progress(len(outs))
        return outs
    futures = [client.submit(scan_range, opener, r, pure=False, **kw) for r in ranges]
    if progress is not None:
        from distributed import as_completed

        for done, _ in enumerate(as_completed(futures), 1):
            progress(done)
    return client.gather(futures)
