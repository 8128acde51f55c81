"""Layer 3: analysis of captures: ``probe()`` and its tables."""

from scte35lab.analysis.probe import Probe, probe

__all__ = ["Probe", "probe"]
