"""Layer 3: analysis of captures: ``probe()`` and its tables."""

from scte35lab.analysis.probe import Probe, probe
from scte35lab.analysis.verify import verify

__all__ = ["Probe", "probe", "verify"]
