"""ISO BMFF / CMAF: box declarations, a fragmented-MP4 reader, and the writers that carry
SCTE-35 in ``emsg`` boxes and in event message tracks (ISO/IEC 23001-18)."""
