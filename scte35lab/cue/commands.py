"""The splice commands (ANSI/SCTE 35 2023r1 §9.7), each declared once by its syntax table."""

from __future__ import annotations

from dataclasses import field
from typing import ClassVar

from scte35lab.cue.layout import (
    If,
    Repeat,
    Rest,
    Struct,
    Sub,
    count,
    derived_flag,
    flag,
    reserved,
    structure,
    u,
)
from scte35lab.cue.timing import BreakDuration, SpliceTime
from scte35lab.cue.xmlface import (
    Child,
    Each,
    Face,
    Group,
    HexText,
    Mode,
    ReservedBits,
    When,
    attr,
    need,
)

# The end that splice_schedule events and splice_insert share: an optional break_duration,
# then unique_program_id, avail_num and avails_expected.
AVAIL_TAIL = (
    If("duration_flag", (Sub("break_duration", BreakDuration),)),
    u("unique_program_id", 16),
    u("avail_num", 8),
    u("avails_expected", 8),
)


class SpliceCommand(Struct):
    """Base of the commands; ``COMMAND_TYPE`` is the splice_command_type code."""

    COMMAND_TYPE: ClassVar[int] = -1


# The XML attributes splice_schedule events and splice_insert share (AVAIL_TAIL's fields).
AVAIL_ATTRS = (attr("unique_program_id"), attr("avail_num"), attr("avails_expected"))


# §9.7.1, Table 8 - splice_null()
@structure
class SpliceNull(SpliceCommand):
    """splice_null(): a heartbeat, or a carrier for descriptors."""

    COMMAND_TYPE = 0x00
    XML = Face("SpliceNull")


# Table 9 - splice_schedule(): the component loop of one event
@structure
class ScheduleComponent(Struct):
    """One component of a component-mode splice_schedule event."""

    LAYOUT = (u("component_tag", 8), u("utc_splice_time", 32))
    XML = Face("Component", (need("component_tag"), need("utc_splice_time")))

    component_tag: int = 0
    utc_splice_time: int = 0


# Table 9 - splice_schedule(): one event (event_id_compliance_flag: a bit once reserved)
@structure
class ScheduleEvent(Struct):
    """One event of splice_schedule(); utc_splice_time counts GPS seconds."""

    LAYOUT = (
        u("splice_event_id", 32),
        flag("splice_event_cancel_indicator"),
        flag("event_id_compliance_flag"),
        reserved(6),
        If(
            "not splice_event_cancel_indicator",
            (
                flag("out_of_network_indicator"),
                flag("program_splice_flag"),
                derived_flag("duration_flag"),
                reserved(5),
                If(
                    "program_splice_flag",
                    (u("utc_splice_time", 32),),
                    (
                        count("component_count", 8),
                        Repeat("components", ScheduleComponent, "component_count"),
                    ),
                ),
                *AVAIL_TAIL,
            ),
        ),
    )
    XML = Face(
        "Event",
        (
            need("splice_event_id"),
            attr("splice_event_cancel_indicator"),
            attr("event_id_compliance_flag"),
            ReservedBits(),
            When(
                "not splice_event_cancel_indicator",
                (
                    attr("out_of_network_indicator"),
                    *AVAIL_ATTRS,
                    Mode(
                        "program_splice_flag",
                        Group(
                            "Program",
                            (need("utc_splice_time"),),
                            message="needs a Program (utcSpliceTime) or Component elements",
                        ),
                        Each("components"),
                    ),
                    Child("break_duration"),
                ),
            ),
        ),
    )

    splice_event_id: int = 0
    splice_event_cancel_indicator: bool = False
    event_id_compliance_flag: bool = True
    out_of_network_indicator: bool = True
    program_splice_flag: bool = True
    utc_splice_time: int | None = None
    components: list[ScheduleComponent] = field(default_factory=list)
    break_duration: BreakDuration | None = None
    unique_program_id: int = 0
    avail_num: int = 0
    avails_expected: int = 0

    @property
    def duration_flag(self) -> bool:
        return self.break_duration is not None


# §9.7.2, Table 9 - splice_schedule()
@structure
class SpliceSchedule(SpliceCommand):
    """splice_schedule(): events announced ahead by wall-clock (UTC/GPS) time."""

    COMMAND_TYPE = 0x04
    LAYOUT = (count("splice_count", 8), Repeat("events", ScheduleEvent, "splice_count"))
    XML = Face("SpliceSchedule", (Each("events"),))

    events: list[ScheduleEvent] = field(default_factory=list)


# Table 10 - splice_insert(): the component loop
@structure
class InsertComponent(Struct):
    """One component of a component-mode splice_insert; no splice_time when immediate."""

    OUTER_NAMES = ("splice_immediate_flag",)
    LAYOUT = (
        u("component_tag", 8),
        If("not splice_immediate_flag", (Sub("splice_time", SpliceTime),)),
    )
    XML = Face(
        "Component",
        (
            need("component_tag"),
            When("not splice_immediate_flag", (Child("splice_time", SpliceTime),)),
        ),
    )

    component_tag: int = 0
    splice_time: SpliceTime | None = None


# §9.7.3, Table 10 - splice_insert() (event_id_compliance_flag: a bit once reserved)
@structure
class SpliceInsert(SpliceCommand):
    """splice_insert(): a splice out of (or back into) the network at a time or immediately."""

    COMMAND_TYPE = 0x05
    LAYOUT = (
        u("splice_event_id", 32),
        flag("splice_event_cancel_indicator"),
        reserved(7),
        If(
            "not splice_event_cancel_indicator",
            (
                flag("out_of_network_indicator"),
                flag("program_splice_flag"),
                derived_flag("duration_flag"),
                flag("splice_immediate_flag"),
                flag("event_id_compliance_flag"),
                reserved(3),
                If(
                    "program_splice_flag and not splice_immediate_flag",
                    (Sub("splice_time", SpliceTime),),
                ),
                If(
                    "not program_splice_flag",
                    (
                        count("component_count", 8),
                        Repeat("components", InsertComponent, "component_count"),
                    ),
                    likely=False,
                ),
                *AVAIL_TAIL,
            ),
        ),
    )
    XML = Face(
        "SpliceInsert",
        (
            need("splice_event_id"),
            attr("splice_event_cancel_indicator"),
            When(
                "not splice_event_cancel_indicator",
                (
                    attr("out_of_network_indicator"),
                    attr("splice_immediate_flag"),
                    attr("event_id_compliance_flag"),
                    *AVAIL_ATTRS,
                    Mode(
                        "program_splice_flag",
                        Group(
                            "Program",
                            (
                                When(
                                    "not splice_immediate_flag", (Child("splice_time", SpliceTime),)
                                ),
                            ),
                        ),
                        Each("components"),
                    ),
                    Child("break_duration"),
                ),
            ),
        ),
    )

    splice_event_id: int = 0
    splice_event_cancel_indicator: bool = False
    out_of_network_indicator: bool = True
    program_splice_flag: bool = True
    splice_immediate_flag: bool = False
    event_id_compliance_flag: bool = True
    splice_time: SpliceTime | None = None
    components: list[InsertComponent] = field(default_factory=list)
    break_duration: BreakDuration | None = None
    unique_program_id: int = 0
    avail_num: int = 0
    avails_expected: int = 0

    @property
    def duration_flag(self) -> bool:
        return self.break_duration is not None


# §9.7.4, Table 11 - time_signal()
@structure
class TimeSignal(SpliceCommand):
    """time_signal(): a splice time that the descriptors (segmentation) give meaning to."""

    COMMAND_TYPE = 0x06
    LAYOUT = (Sub("splice_time", SpliceTime),)
    XML = Face("TimeSignal", (Child("splice_time", SpliceTime),))

    splice_time: SpliceTime = field(default_factory=SpliceTime)


# §9.7.5, Table 12 - bandwidth_reservation()
@structure
class BandwidthReservation(SpliceCommand):
    """bandwidth_reservation(): keeps the SCTE-35 PID's bandwidth allocated; no fields."""

    COMMAND_TYPE = 0x07
    XML = Face("BandwidthReservation")


# §9.7.6, Table 13 - private_command()
@structure
class PrivateCommand(SpliceCommand):
    """private_command(): a 32-bit identifier and private bytes."""

    COMMAND_TYPE = 0xFF
    LAYOUT = (u("identifier", 32), Rest("private_bytes"))
    XML = Face("PrivateCommand", (need("identifier"), HexText("private_bytes", "PrivateBytes")))

    identifier: int = 0
    private_bytes: bytes = b""


# Table 7 - a reserved splice_command_type (0x01-0x03, 0x08-0xFE)
@structure
class UnknownCommand(SpliceCommand):
    """A splice_command_type the standard reserves: its bytes, kept unchanged."""

    LAYOUT = (Rest("raw"),)
    XML = Face("UnknownCommand", (need("splice_command_type", bits=8), HexText("raw")), lab=True)

    splice_command_type: int = 0x01
    raw: bytes = b""


# Table 7 - a command lenient decoding could not read: the layout of UnknownCommand
@structure
class UndecodedCommand(UnknownCommand):
    """A command lenient decoding could not read: its bytes, kept unchanged, and ``decoded``,
    the fields that read before the one that broke (for people, not for encoding)."""

    decoded: dict = field(default_factory=dict, compare=False)


COMMANDS: dict[int, type[SpliceCommand]] = {
    cls.COMMAND_TYPE: cls
    for cls in (
        SpliceNull,
        SpliceSchedule,
        SpliceInsert,
        TimeSignal,
        BandwidthReservation,
        PrivateCommand,
    )
}


def command_type_of(command: SpliceCommand) -> int:
    """The splice_command_type of ``command`` (UnknownCommand carries its own)."""
    if isinstance(command, UnknownCommand):
        return command.splice_command_type
    return command.COMMAND_TYPE
