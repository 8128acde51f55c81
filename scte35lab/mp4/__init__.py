"""ISO BMFF / CMAF: box declarations, a fragmented-MP4 reader, and the writers that carry
SCTE-35 in ``emsg`` boxes and in event message tracks (ISO/IEC 23001-18).

Importing the package registers every declared box (``boxes``), so ``box.parse`` knows them
whichever module is imported first."""

from scte35lab.mp4 import boxes as boxes

__all__ = ["boxes"]
