"""Layer 1: the SCTE-35 data model and its codec (binary, dict/JSON, XML, base64, hex)."""

from scte35lab.cue.commands import (
    BandwidthReservation,
    InsertComponent,
    PrivateCommand,
    ScheduleComponent,
    ScheduleEvent,
    SpliceCommand,
    SpliceInsert,
    SpliceNull,
    SpliceSchedule,
    TimeSignal,
    UndecodedCommand,
    UnknownCommand,
)
from scte35lab.cue.crc import crc32_mpeg2
from scte35lab.cue.cue import PTS_MODULUS, TICKS_PER_SECOND, Cue
from scte35lab.cue.descriptors import (
    AudioComponent,
    AudioDescriptor,
    AvailDescriptor,
    DtmfDescriptor,
    PrivateDescriptor,
    SegmentationComponent,
    SegmentationDescriptor,
    SpliceDescriptor,
    TimeDescriptor,
    UndecodedDescriptor,
)
from scte35lab.cue.problems import Problem
from scte35lab.cue.tables import segmentation_type_name, upid_type_name
from scte35lab.cue.timing import BreakDuration, SpliceTime
from scte35lab.cue.upids import AtscContentIdentifier, MidUpid, Mpu

__all__ = [
    "PTS_MODULUS",
    "TICKS_PER_SECOND",
    "AtscContentIdentifier",
    "AudioComponent",
    "AudioDescriptor",
    "AvailDescriptor",
    "BandwidthReservation",
    "BreakDuration",
    "Cue",
    "DtmfDescriptor",
    "InsertComponent",
    "MidUpid",
    "Mpu",
    "PrivateCommand",
    "PrivateDescriptor",
    "Problem",
    "ScheduleComponent",
    "ScheduleEvent",
    "SegmentationComponent",
    "SegmentationDescriptor",
    "SpliceCommand",
    "SpliceDescriptor",
    "SpliceInsert",
    "SpliceNull",
    "SpliceSchedule",
    "SpliceTime",
    "TimeDescriptor",
    "TimeSignal",
    "UndecodedCommand",
    "UndecodedDescriptor",
    "UnknownCommand",
    "crc32_mpeg2",
    "segmentation_type_name",
    "upid_type_name",
]
