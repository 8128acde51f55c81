"""Stream time zero of a scanned capture: the PTS of its first video frame (DESIGN.md).

``probe()`` and the playlist reader (which scans a playlist's first segment) agree on it.
"""

from __future__ import annotations

import numpy as np

from scte35lab.ts.scan import VIDEO, ScanResult


def stream_zero(result: ScanResult) -> tuple[int, int] | None:
    """``(frame row, PTS)`` of the first video frame with a PTS; failing that, of the first
    frame of any PID with a PTS; ``None`` when no frame has one."""
    frames = result.frames
    pid = frames.get("pid", np.zeros(0, dtype=np.uint16))
    pts = frames.get("pts", np.zeros(0, dtype=np.int64)).astype(np.int64)
    zero = None
    for p in np.unique(pid).tolist():
        info = result.pid_info.get(p)
        if info is not None and info.role == VIDEO:
            sel = np.flatnonzero((pid == p) & (pts >= 0))
            if len(sel) and (zero is None or sel[0] < zero[0]):
                zero = (int(sel[0]), int(pts[sel[0]]))
    if zero is None and (pts >= 0).any():
        first = int(np.flatnonzero(pts >= 0)[0])
        zero = (first, int(pts[first]))
    return zero
