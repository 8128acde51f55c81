"""scte35lab: author, inject, push and verify SCTE-35 ad markers in MPEG-TS.

``Cue`` and ``Scte35Error`` load at once; the heavier faces (pandas, SQLite, FFmpeg) load on
first use, so ``from scte35lab import Cue`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

from scte35lab.cue import Cue
from scte35lab.errors import Scte35Error

__version__ = "0.1.0"

_LAZY = {
    "AdBreak": "scte35lab.schedule",
    "Schedule": "scte35lab.schedule",
    "Store": "scte35lab.schedule",
    "probe": "scte35lab.analysis",
    "Probe": "scte35lab.analysis",
    "verify": "scte35lab.analysis",
    "inject": "scte35lab.ts.inject",
    "condition": "scte35lab.live.condition",
    "package_hls": "scte35lab.manifest",
    "package_dash": "scte35lab.manifest",
    "package_cmaf": "scte35lab.manifest",
    "probe_playlist": "scte35lab.manifest",
    "probe_mpd": "scte35lab.manifest",
    "probe_many": "scte35lab.scale",
    "verify_many": "scte35lab.scale",
}

__all__ = ["Cue", "Scte35Error", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'scte35lab' has no attribute {name!r}")
    try:
        value = getattr(importlib.import_module(module), name)
    except (ModuleNotFoundError, AttributeError) as exc:
        raise AttributeError(f"scte35lab.{name} is not available yet ({exc})") from exc
    globals()[name] = value
    return value
