"""Hypothesis strategies for canonical cues of every command, descriptor and UPID type.

"Canonical" means the object a decoder would build from its own bytes: absent parts are
None, fields a cancel hides keep their defaults, UPIDs hold the typed value of their type.
"""

from __future__ import annotations

from hypothesis import strategies as st

from scte35lab.cue import (
    AtscContentIdentifier,
    AudioComponent,
    AudioDescriptor,
    AvailDescriptor,
    BandwidthReservation,
    BreakDuration,
    Cue,
    DtmfDescriptor,
    InsertComponent,
    MidUpid,
    Mpu,
    PrivateCommand,
    PrivateDescriptor,
    ScheduleComponent,
    ScheduleEvent,
    SegmentationComponent,
    SegmentationDescriptor,
    SpliceInsert,
    SpliceNull,
    SpliceSchedule,
    SpliceTime,
    TimeDescriptor,
    TimeSignal,
    UnknownCommand,
)
from scte35lab.cue.tables import CUEI, SUB_SEGMENT_TYPES


def bits(n: int) -> st.SearchStrategy[int]:
    return st.integers(0, (1 << n) - 1)


pts = bits(33)
printable = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40)


def fixed_text(n: int) -> st.SearchStrategy[str]:
    return st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=n, max_size=n)


splice_time = st.builds(SpliceTime, st.none() | pts)
break_duration = st.builds(BreakDuration, st.booleans(), pts)

SIMPLE_UPIDS: dict[int, st.SearchStrategy] = {
    0x00: st.none(),
    0x01: st.binary(max_size=20),
    0x02: fixed_text(8),
    0x03: fixed_text(12),
    0x04: st.binary(min_size=32, max_size=32),
    0x05: st.binary(min_size=8, max_size=8),
    0x06: st.binary(min_size=12, max_size=12),
    0x07: fixed_text(12),
    0x08: bits(64),
    0x09: printable,
    0x0A: st.binary(min_size=12, max_size=12),
    0x0E: printable,
    0x0F: printable,
    0x10: st.binary(min_size=16, max_size=16),
    0x11: printable,
}
atsc = st.builds(AtscContentIdentifier, bits(16), bits(5), bits(9), st.binary(max_size=12))
mpu = st.builds(Mpu, bits(32), st.binary(max_size=20))


@st.composite
def simple_upid(draw: st.DrawFn) -> tuple[int, object]:
    t = draw(st.sampled_from(sorted(SIMPLE_UPIDS)))
    return t, draw(SIMPLE_UPIDS[t])


@st.composite
def upid(draw: st.DrawFn) -> tuple[int, object]:
    kind = draw(st.sampled_from(["simple", "atsc", "mpu", "mid", "reserved"]))
    if kind == "simple":
        return draw(simple_upid())
    if kind == "atsc":
        return 0x0B, draw(atsc)
    if kind == "mpu":
        return 0x0C, draw(mpu)
    if kind == "mid":
        items = draw(st.lists(simple_upid(), min_size=1, max_size=3))
        return 0x0D, [MidUpid(t, v) for t, v in items]
    return draw(st.integers(0x12, 0xFF)), draw(st.binary(max_size=10))


@st.composite
def segmentation_descriptor(draw: st.DrawFn) -> SegmentationDescriptor:
    event_id = draw(bits(32))
    compliance = draw(st.booleans())
    if draw(st.integers(0, 9)) == 0:
        return SegmentationDescriptor(
            segmentation_event_id=event_id,
            segmentation_event_cancel_indicator=True,
            segmentation_event_id_compliance_indicator=compliance,
        )
    program = draw(st.booleans())
    restricted = draw(st.booleans())
    upid_type, upid_value = draw(upid())
    type_id = draw(
        st.sampled_from([0x01, 0x10, 0x22, 0x23, 0x30, 0x34, 0x35, 0x36, 0x38, 0x3A, 0x50])
        | bits(8)
    )
    sub = type_id in SUB_SEGMENT_TYPES and draw(st.booleans())
    return SegmentationDescriptor(
        segmentation_event_id=event_id,
        segmentation_event_id_compliance_indicator=compliance,
        program_segmentation_flag=program,
        delivery_not_restricted_flag=not restricted,
        web_delivery_allowed_flag=draw(st.booleans()) if restricted else None,
        no_regional_blackout_flag=draw(st.booleans()) if restricted else None,
        archive_allowed_flag=draw(st.booleans()) if restricted else None,
        device_restrictions=draw(bits(2)) if restricted else None,
        components=[]
        if program
        else draw(st.lists(st.builds(SegmentationComponent, bits(8), pts), max_size=3)),
        segmentation_duration=draw(st.none() | bits(40)),
        segmentation_upid_type=upid_type,
        segmentation_upid=upid_value,
        segmentation_type_id=type_id,
        segment_num=draw(bits(8)),
        segments_expected=draw(bits(8)),
        sub_segment_num=draw(bits(8)) if sub else None,
        sub_segments_expected=draw(bits(8)) if sub else None,
    )


@st.composite
def private_descriptor(draw: st.DrawFn) -> PrivateDescriptor:
    tag = draw(bits(8))
    if draw(st.booleans()):
        return PrivateDescriptor(tag, None, draw(st.binary(max_size=3)))
    ident = draw(bits(32).filter(lambda i: i != CUEI))
    return PrivateDescriptor(tag, ident, draw(st.binary(max_size=30)))


descriptor = st.one_of(
    st.builds(AvailDescriptor, bits(32)),
    st.builds(DtmfDescriptor, bits(8), st.text(st.sampled_from("0123456789*#"), max_size=7)),
    segmentation_descriptor(),
    st.builds(TimeDescriptor, bits(48), bits(32), bits(16)),
    st.builds(
        AudioDescriptor,
        st.lists(
            st.builds(
                AudioComponent,
                bits(8),
                st.text(
                    st.characters(min_codepoint=0x61, max_codepoint=0x7A), min_size=3, max_size=3
                ),
                bits(3),
                bits(4),
                st.booleans(),
            ),
            max_size=4,
        ),
    ),
    private_descriptor(),
)


@st.composite
def schedule_event(draw: st.DrawFn) -> ScheduleEvent:
    event_id = draw(bits(32))
    compliance = draw(st.booleans())
    if draw(st.integers(0, 5)) == 0:
        return ScheduleEvent(event_id, True, compliance)
    program = draw(st.booleans())
    return ScheduleEvent(
        splice_event_id=event_id,
        event_id_compliance_flag=compliance,
        out_of_network_indicator=draw(st.booleans()),
        program_splice_flag=program,
        utc_splice_time=draw(bits(32)) if program else None,
        components=[]
        if program
        else draw(st.lists(st.builds(ScheduleComponent, bits(8), bits(32)), max_size=3)),
        break_duration=draw(st.none() | break_duration),
        unique_program_id=draw(bits(16)),
        avail_num=draw(bits(8)),
        avails_expected=draw(bits(8)),
    )


@st.composite
def splice_insert(draw: st.DrawFn) -> SpliceInsert:
    event_id = draw(bits(32))
    if draw(st.integers(0, 5)) == 0:
        return SpliceInsert(event_id, True)
    program = draw(st.booleans())
    immediate = draw(st.booleans())
    components = []
    if not program:
        components = [
            InsertComponent(draw(bits(8)), None if immediate else draw(splice_time))
            for _ in range(draw(st.integers(0, 3)))
        ]
    return SpliceInsert(
        splice_event_id=event_id,
        out_of_network_indicator=draw(st.booleans()),
        program_splice_flag=program,
        splice_immediate_flag=immediate,
        event_id_compliance_flag=draw(st.booleans()),
        splice_time=draw(splice_time) if program and not immediate else None,
        components=components,
        break_duration=draw(st.none() | break_duration),
        unique_program_id=draw(bits(16)),
        avail_num=draw(bits(8)),
        avails_expected=draw(bits(8)),
    )


reserved_command_type = st.sampled_from([0x01, 0x02, 0x03, 0x08, 0x10, 0x80, 0xFE])
command = st.one_of(
    st.just(SpliceNull()),
    st.builds(SpliceSchedule, st.lists(schedule_event(), max_size=3)),
    splice_insert(),
    st.builds(TimeSignal, splice_time),
    st.just(BandwidthReservation()),
    st.builds(PrivateCommand, bits(32), st.binary(max_size=20)),
    st.builds(UnknownCommand, reserved_command_type, st.binary(max_size=20)),
)


@st.composite
def clear_cue(draw: st.DrawFn) -> Cue:
    return Cue(
        command=draw(command),
        descriptors=draw(st.lists(descriptor, max_size=4)),
        pts_adjustment=draw(pts),
        section_syntax_indicator=draw(st.booleans()),
        private_indicator=draw(st.booleans()),
        sap_type=draw(bits(2)),
        protocol_version=draw(st.sampled_from([0, 0, 0, 1]) | bits(8)),
        encryption_algorithm=draw(st.sampled_from([0, 0, 1, 2, 3]) | bits(6)),
        cw_index=draw(bits(8)),
        tier=draw(bits(12)),
        alignment_stuffing=draw(st.sampled_from([b""]) | st.binary(max_size=4)),
    )


@st.composite
def encrypted_cue(draw: st.DrawFn) -> Cue:
    return Cue(
        command=None,
        pts_adjustment=draw(pts),
        encrypted_packet=True,
        encryption_algorithm=draw(bits(6)),
        cw_index=draw(bits(8)),
        tier=draw(bits(12)),
        splice_command_length=draw(bits(12)),
        encrypted_data=draw(st.binary(min_size=5, max_size=60)),
    )


@st.composite
def legacy_length_cue(draw: st.DrawFn) -> Cue:
    cmd = draw(
        st.one_of(st.just(SpliceNull()), splice_insert(), st.builds(TimeSignal, splice_time))
    )
    return Cue(
        command=cmd, descriptors=draw(st.lists(descriptor, max_size=2)), splice_command_length=0xFFF
    )


any_cue = st.one_of(clear_cue(), clear_cue(), clear_cue(), encrypted_cue(), legacy_length_cue())
