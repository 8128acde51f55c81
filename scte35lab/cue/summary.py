"""The key fields of one cue as a table row: what the probe and the manifest readers list.

A capture's cue table and a playlist's or MPD's cue table must name a cue the same way, so
``verify`` can match them: the command, its event id, the splice point, the break duration
(the splice_insert's, else the first segmentation descriptor's) and a ``key`` that pairs
the same break across copies (``command[/type]:event@splice_point``).
"""

from __future__ import annotations

from typing import Any

from scte35lab.clock import PTS_HZ
from scte35lab.cue.cue import Cue


def cue_summary(cue: Cue) -> dict[str, Any]:
    """The cue-table columns of ``cue`` (see the module doc)."""
    out: dict[str, Any] = {
        "splice_command_type": cue.splice_command_type,
        "command_name": cue.command_name,
        "splice_event_id": cue.splice_event_id,
        "out_of_network_indicator": cue.out_of_network_indicator,
        "pts_time": cue.pts_time,
        "pts_adjustment": cue.pts_adjustment,
        "splice_point": cue.splice_point,
    }
    duration = cue.break_duration
    segs = cue.segmentation_descriptors
    seg = segs[0] if segs else None
    if seg is not None:
        out["segmentation_type_id"] = seg.segmentation_type_id
        out["segmentation_type_name"] = seg.segmentation_type_name
        out["segmentation_event_id"] = seg.segmentation_event_id
        out["segmentation_upid_type"] = seg.segmentation_upid_type
        out["upid"] = seg.upid_text or None
        if duration is None:
            duration = seg.segmentation_duration
    out["break_duration"] = duration
    out["break_duration_seconds"] = None if duration is None else duration / PTS_HZ
    event = cue.splice_event_id
    if event is None and seg is not None:
        event = seg.segmentation_event_id
    kind = cue.command_name
    if seg is not None:
        kind = f"{kind}/0x{seg.segmentation_type_id:02x}"
    elif cue.out_of_network_indicator is not None:
        kind = f"{kind}/{'out' if cue.out_of_network_indicator else 'in'}"
    point = "" if cue.splice_point is None else str(cue.splice_point)
    out["key"] = f"{kind}:{'' if event is None else event}@{point}"
    return out
