"""Layer 3: the live path: FFmpeg processes at the edges, keyframe conditioning, SRT push.

Names load on first use so ``import scte35lab.live`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "condition": "scte35lab.live.condition",
    "Pipeline": "scte35lab.live.pipeline",
    "CueRecord": "scte35lab.live.pipeline",
    "LiveEvent": "scte35lab.live.pipeline",
    "ManagedProcess": "scte35lab.live.process",
    "FFmpegTestSource": "scte35lab.live.ffmpeg",
    "FFmpegRemux": "scte35lab.live.ffmpeg",
    "FFmpegSrtSender": "scte35lab.live.ffmpeg",
    "SrtEndpoint": "scte35lab.live.srt",
    "SrtSender": "scte35lab.live.srt",
    "SrtListener": "scte35lab.live.srt",
    "SrtStats": "scte35lab.live.srt",
    "RtmpServer": "scte35lab.live.rtmp",
    "StreamMeter": "scte35lab.live.meter",
    "SrtUrlError": "scte35lab.live.errors",
    "SrtConnectionError": "scte35lab.live.errors",
    "SrtPassphraseError": "scte35lab.live.errors",
    "RtmpServerError": "scte35lab.live.errors",
    "StreamKeyRejected": "scte35lab.live.errors",
    "ToolMissingError": "scte35lab.live.errors",
    "ProcessExitedError": "scte35lab.live.errors",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'scte35lab.live' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
