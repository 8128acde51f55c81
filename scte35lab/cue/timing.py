"""splice_time() and break_duration(): the two timing structures the commands share."""

from __future__ import annotations

from scte35lab.cue.layout import If, Struct, derived_flag, flag, reserved, structure, u
from scte35lab.cue.xmlface import Face, attr, need


# §9.8.1, Table 14 - splice_time()
@structure
class SpliceTime(Struct):
    """splice_time(): a 33-bit PTS in 90 kHz ticks, or no time (``pts_time=None``)."""

    LAYOUT = (
        derived_flag("time_specified_flag"),
        If(
            "time_specified_flag",
            (reserved(6), u("pts_time", 33)),
            (reserved(7),),
        ),
    )

    XML = Face("SpliceTime", (attr("pts_time"),))

    pts_time: int | None = None

    @property
    def time_specified_flag(self) -> bool:
        return self.pts_time is not None


# §9.8.2, Table 15 - break_duration()
@structure
class BreakDuration(Struct):
    """break_duration(): how long the break lasts (90 kHz ticks) and whether to auto-return."""

    LAYOUT = (flag("auto_return"), reserved(6), u("duration", 33))
    XML = Face("BreakDuration", (need("auto_return"), need("duration")))

    auto_return: bool = True
    duration: int = 0
