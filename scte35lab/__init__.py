"""scte35lab: author, inject, push and verify SCTE-35 ad markers in MPEG-TS."""

from scte35lab.cue import Cue
from scte35lab.errors import Scte35Error

__all__ = ["Cue", "Scte35Error"]
__version__ = "0.1.0"
