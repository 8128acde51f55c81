"""What the DASH and CMAF packagers read of a probed capture, as a protocol.

``analysis.probe.Probe`` has this shape; the packagers take it as an argument rather than
importing the analysis layer, so packaging and its readers stay below ``analysis``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, Protocol

import pandas as pd

from scte35lab.cue import Cue
from scte35lab.errors import Scte35Error

log = logging.getLogger(__name__)


class ProbedCapture(Protocol):
    """A capture's tables: one row per PID, per frame, per cue, and its stream time zero."""

    @property
    def pids(self) -> pd.DataFrame: ...
    @property
    def frames(self) -> pd.DataFrame: ...
    @property
    def cues(self) -> pd.DataFrame: ...
    @property
    def zero_pts(self) -> int | None: ...


def distinct_cues(p: ProbedCapture) -> Iterator[tuple[Any, Cue]]:
    """Each distinct CRC-valid cue row of ``p.cues`` once (its first copy), with its decoded
    cue; a cue that does not decode is skipped with a warning, so a package never carries it.
    """
    seen: set[str] = set()
    for row in p.cues.itertuples(index=False):
        if row.base64 in seen or not row.crc_ok:
            continue
        seen.add(row.base64)
        try:
            cue = Cue.decode(row.base64)
        except Scte35Error as exc:
            log.warning("skipped a cue that does not decode: %s", exc)
            continue
        yield row, cue
