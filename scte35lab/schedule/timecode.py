"""Times relative to stream start: seconds, ``HH:MM:SS.mmm`` and ``HH:MM:SS:FF`` timecode.

Stream time zero is the PTS of the first video frame (DESIGN.md); every time here counts
seconds from there. ``HH:MM:SS;FF`` (semicolon) is SMPTE drop-frame timecode for 29.97 and
59.94 fps.
"""

from __future__ import annotations

import math
import re

from scte35lab.clock import PTS_HZ
from scte35lab.schedule.errors import ScheduleError

_CLOCK = re.compile(r"^(?P<sign>-)?(?:(?:(?P<h>\d+):)?(?P<m>\d{1,2}):)?(?P<s>\d{1,2}(?:\.\d+)?)$")
_FRAMES = re.compile(
    r"^(?P<sign>-)?(?P<h>\d+):(?P<m>\d{2}):(?P<s>\d{2})(?P<sep>[:;])(?P<f>\d{2,3})$"
)


def _nominal_fps(fps: float) -> int:
    return round(fps)


def _is_drop_frame_rate(fps: float) -> bool:
    return abs(fps * 1.001 - round(fps * 1.001)) < 1e-3 and round(fps * 1.001) in (30, 60)


def parse_time(value: str | float | int, fps: float | None = None) -> float:
    """Seconds from stream time zero for ``value``.

    Accepts a number of seconds, ``"SS.sss"``, ``"MM:SS.sss"``, ``"HH:MM:SS.mmm"``, or frame
    timecode ``"HH:MM:SS:FF"`` (needs ``fps``; ``;`` before the frames means drop-frame).
    """
    if isinstance(value, bool):
        raise ScheduleError(f"a time cannot be a bool ({value!r})", field="time")
    if isinstance(value, int | float):
        seconds = float(value)
        if not math.isfinite(seconds):
            raise ScheduleError(f"time {value!r} is not a finite number", field="time")
        return seconds
    if not isinstance(value, str):
        raise ScheduleError(
            f"a time must be seconds or a timecode string, not {type(value).__name__}",
            field="time",
        )
    text = value.strip()
    if ":" not in text:
        try:
            return parse_time(float(text))
        except ValueError:
            pass
    m = _FRAMES.match(text)
    if m:
        return _parse_frames(text, m, fps)
    m = _CLOCK.match(text)
    if m:
        h = int(m["h"] or 0)
        mi = int(m["m"] or 0)
        s = float(m["s"])
        if m["m"] is not None and (mi >= 60 or s >= 60):
            raise ScheduleError(
                f"timecode {value!r}: minutes and seconds must be below 60", field="time"
            )
        seconds = h * 3600 + mi * 60 + s
        return -seconds if m["sign"] else seconds
    raise ScheduleError(
        f"cannot read {value!r} as a time: use seconds, HH:MM:SS.mmm or HH:MM:SS:FF",
        field="time",
    )


def _parse_frames(text: str, m: re.Match[str], fps: float | None) -> float:
    if fps is None or fps <= 0:
        raise ScheduleError(
            f"frame timecode {text!r} needs the frame rate: pass fps=", field="time"
        )
    h, mi, s, f = int(m["h"]), int(m["m"]), int(m["s"]), int(m["f"])
    nominal = _nominal_fps(fps)
    if mi >= 60 or s >= 60:
        raise ScheduleError(
            f"timecode {text!r}: minutes and seconds must be below 60", field="time"
        )
    if f >= nominal:
        raise ScheduleError(
            f"timecode {text!r}: frame {f} does not exist at {fps:g} fps (0..{nominal - 1})",
            field="time",
        )
    frames = ((h * 60 + mi) * 60 + s) * nominal + f
    if m["sep"] == ";":
        if not _is_drop_frame_rate(fps):
            raise ScheduleError(
                f"drop-frame timecode {text!r} only exists at 29.97 or 59.94 fps, not {fps:g}",
                field="time",
            )
        drop = 2 * nominal // 30
        if s == 0 and mi % 10 != 0 and f < drop:
            raise ScheduleError(
                f"drop-frame timecode {text!r} names a dropped frame number", field="time"
            )
        total_minutes = h * 60 + mi
        frames -= drop * (total_minutes - total_minutes // 10)
    seconds = frames / fps
    return -seconds if m["sign"] else seconds


def format_time(seconds: float, fps: float | None = None, *, drop_frame: bool | None = None) -> str:
    """``HH:MM:SS.mmm`` for ``seconds``, or ``HH:MM:SS:FF`` frame timecode when ``fps`` is given.

    With ``fps`` at 29.97 or 59.94, drop-frame (``;``) is the default; the result parses back
    to the frame nearest ``seconds``.
    """
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if fps is None:
        ms = round(seconds * 1000)
        h, rest = divmod(ms, 3_600_000)
        mi, rest = divmod(rest, 60_000)
        s, ms = divmod(rest, 1000)
        return f"{sign}{h:02d}:{mi:02d}:{s:02d}.{ms:03d}"
    nominal = _nominal_fps(fps)
    frames = round(seconds * fps)
    dropping = _is_drop_frame_rate(fps) if drop_frame is None else drop_frame
    sep = ":"
    if dropping:
        if not _is_drop_frame_rate(fps):
            raise ScheduleError(
                f"drop-frame timecode only exists at 29.97 or 59.94 fps, not {fps:g}"
            )
        sep = ";"
        drop = 2 * nominal // 30
        per_10min = nominal * 600 - drop * 9
        per_min = nominal * 60 - drop
        tens, rem = divmod(frames, per_10min)
        extra = drop * 9 * tens
        if rem > drop:
            extra += drop * ((rem - drop) // per_min)
        frames += extra
    f = frames % nominal
    total_s = frames // nominal
    h, rest = divmod(total_s, 3600)
    mi, s = divmod(rest, 60)
    width = 3 if nominal > 100 else 2
    return f"{sign}{h:02d}:{mi:02d}:{s:02d}{sep}{f:0{width}d}"


def seconds_to_ticks(seconds: float) -> int:
    """Whole 90 kHz ticks nearest ``seconds`` (no wrap)."""
    return round(seconds * PTS_HZ)
