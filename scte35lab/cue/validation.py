"""``Cue.validate()``: what a receiver would trip on, each problem as one sentence.

Encoding checks what the bits can hold; these rules check what the standard and splicers
expect of the values (durations where a break needs one, sub-segments only where defined,
splice times that can be acted on, descriptors that agree with each other).
"""

from __future__ import annotations

from scte35lab.clock import PTS_WRAP
from scte35lab.cue.commands import SpliceInsert, TimeSignal
from scte35lab.cue.descriptors import DtmfDescriptor, SegmentationDescriptor
from scte35lab.cue.shape import CueShape
from scte35lab.cue.tables import (
    DURATION_EXPECTED_TYPES,
    SEGMENTATION_TYPES,
    SUB_SEGMENT_TYPES,
    segmentation_type_name,
)
from scte35lab.cue.upids import FIXED_LENGTHS, upid_bytes
from scte35lab.errors import Scte35Error

DTMF_CHARS = set("0123456789*#")


def validate_cue(cue: CueShape) -> list[str]:
    """Every problem found in ``cue``; an empty list means none."""
    problems: list[str] = [f"decoded leniently: {p}" for p in cue.problems]
    if cue.stuffing_dropped:
        problems.append(
            f"{cue.stuffing_dropped} bytes of 0xFF stuffing after the section were dropped "
            "by decode (decode with strict=False keeps them)"
        )
    try:
        cue.encode()
    except Scte35Error as exc:
        problems.append(f"cannot be encoded: {exc}")
    if not 0 <= cue.pts_adjustment < PTS_WRAP:
        problems.append(f"pts_adjustment {cue.pts_adjustment} is beyond 33 bits")
    if cue.encrypted_packet:
        problems.append("encrypted section: its command and descriptors cannot be checked")
        return problems
    cmd = cue.command
    if isinstance(cmd, SpliceInsert):
        problems.extend(_splice_insert_problems(cmd))
    if isinstance(cmd, TimeSignal):
        if cmd.splice_time.pts_time is None:
            problems.append("time_signal has no pts_time: receivers treat it as immediate")
        elif not 0 <= cmd.splice_time.pts_time < PTS_WRAP:
            problems.append(f"splice_time.pts_time {cmd.splice_time.pts_time} is beyond 33 bits")
    seen: dict[tuple[int, int], SegmentationDescriptor] = {}
    for d in cue.descriptors:
        if isinstance(d, SegmentationDescriptor):
            problems.extend(_segmentation_problems(d))
            key = (d.segmentation_event_id, d.segmentation_type_id)
            other = seen.get(key)
            if other is not None and other != d:
                problems.append(
                    f"two segmentation descriptors with segmentation_event_id "
                    f"{d.segmentation_event_id} and type 0x{d.segmentation_type_id:02X} disagree"
                )
            seen[key] = d
        if isinstance(d, DtmfDescriptor):
            bad = sorted(set(d.dtmf_chars) - DTMF_CHARS)
            if bad:
                problems.append(f"DTMF_descriptor has characters outside 0-9 * #: {bad}")
            if len(d.dtmf_chars) > 7:
                problems.append("DTMF_descriptor holds at most 7 characters")
    return problems


def _splice_insert_problems(cmd: SpliceInsert) -> list[str]:
    out: list[str] = []
    if cmd.splice_event_cancel_indicator:
        return out
    if cmd.program_splice_flag:
        if cmd.splice_immediate_flag and cmd.splice_time is not None:
            out.append(
                "splice_insert is splice_immediate but also carries a splice_time, "
                "which will not be sent"
            )
        if not cmd.splice_immediate_flag:
            if cmd.splice_time is None:
                out.append("splice_insert in program mode needs a splice_time unless immediate")
            elif cmd.splice_time.pts_time is None:
                out.append("splice_insert splice_time has no pts_time (time_specified_flag 0)")
            elif not 0 <= cmd.splice_time.pts_time < PTS_WRAP:
                out.append(f"splice_time.pts_time {cmd.splice_time.pts_time} is beyond 33 bits")
    else:
        if not cmd.components:
            out.append("splice_insert in component mode has no components")
        for comp in cmd.components:
            if not cmd.splice_immediate_flag and comp.splice_time is None:
                out.append(f"component {comp.component_tag} needs a splice_time")
    if cmd.break_duration is not None:
        if cmd.break_duration.duration == 0:
            out.append("break_duration is 0")
        if not cmd.out_of_network_indicator:
            out.append("break_duration on a return to network (out_of_network_indicator 0)")
    elif cmd.out_of_network_indicator:
        out.append(
            "splice_insert out of network without break_duration: the return must "
            "be signalled by a later splice_insert"
        )
    return out


def _segmentation_problems(d: SegmentationDescriptor) -> list[str]:
    out: list[str] = []
    if d.segmentation_event_cancel_indicator:
        return out
    t = d.segmentation_type_id
    name = f"{segmentation_type_name(t)} (0x{t:02X})"
    if t not in SEGMENTATION_TYPES:
        out.append(f"segmentation_type_id 0x{t:02X} is reserved")
    if t in DURATION_EXPECTED_TYPES and d.segmentation_duration is None:
        out.append(f"{name} has no segmentation_duration; receivers need it to plan the break")
    has_sub = d.sub_segment_num is not None or d.sub_segments_expected is not None
    if has_sub and t not in SUB_SEGMENT_TYPES:
        out.append(
            f"{name} has sub_segment fields, which only advertisement, placement "
            "opportunity and ad block starts (0x30, 0x32, 0x34, 0x36, 0x38, 0x3A, 0x44, "
            "0x46) carry"
        )
    if (d.sub_segment_num is None) != (d.sub_segments_expected is None):
        out.append("sub_segment_num and sub_segments_expected go together")
    if d.segments_expected and d.segment_num > d.segments_expected:
        out.append(f"segment_num {d.segment_num} exceeds segments_expected {d.segments_expected}")
    if t == 0x01 and d.segmentation_upid_type == 0x00:
        out.append("Content Identification (0x01) needs a UPID (segmentation_upid_type != 0)")
    try:
        data = upid_bytes(d.segmentation_upid_type, d.segmentation_upid)
    except Scte35Error:
        data = None
    if data is not None:
        want = FIXED_LENGTHS.get(d.segmentation_upid_type)
        if want is not None and len(data) != want:
            out.append(
                f"UPID type 0x{d.segmentation_upid_type:02X} is {want} bytes, got {len(data)}"
            )
        if d.segmentation_upid_type == 0x00 and data:
            out.append("segmentation_upid_type 0x00 (not used) carries UPID bytes")
    if not d.delivery_not_restricted_flag and None in (
        d.web_delivery_allowed_flag,
        d.no_regional_blackout_flag,
        d.archive_allowed_flag,
        d.device_restrictions,
    ):
        out.append(
            "delivery is restricted (delivery_not_restricted_flag 0) but the "
            "restriction flags are not all set"
        )
    return out
