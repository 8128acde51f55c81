"""Layer 3: analysis of captures: ``probe()`` and its tables, ``verify()``, timeline plots."""

from scte35lab.analysis.probe import Probe, probe
from scte35lab.analysis.timeline import cue_checks, plot_timeline
from scte35lab.analysis.verify import verify

__all__ = ["Probe", "cue_checks", "plot_timeline", "probe", "verify"]
