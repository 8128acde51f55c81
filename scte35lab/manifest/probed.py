"""What the DASH and CMAF packagers read of a probed capture, as a protocol.

``analysis.probe.Probe`` has this shape; the packagers take it as an argument rather than
importing the analysis layer, so packaging and its readers stay below ``analysis``.
"""

from __future__ import annotations

from typing import Protocol

import pandas as pd


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
