"""The splice descriptors (ANSI/SCTE 35 2023r1 §10), declared once each.

Every descriptor starts with splice_descriptor_tag, descriptor_length and identifier (§10.2,
Table 16 - splice_descriptor()); the
section reads that frame and hands the body to the declared structure. Descriptors with an
identifier other than ``CUEI`` or a tag the standard reserves are kept as ``PrivateDescriptor``
and re-encode unchanged; bytes a body leaves unread are kept in ``extra_bytes``.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any, ClassVar

from scte35lab.cue.layout import (
    Chars,
    If,
    IfRoom,
    Repeat,
    Rest,
    Struct,
    count,
    derived_flag,
    flag,
    reserved,
    structure,
    u,
)
from scte35lab.cue.tables import CUEI, SUB_SEGMENT_TYPES, segmentation_type_name
from scte35lab.cue.upids import UPID, upid_text
from scte35lab.cue.xmlface import Each, Ext, Face, Group, HexText, Hook, Mode, When, attr, need


class SpliceDescriptor(Struct):
    """Base of the descriptors; ``TAG`` is the splice_descriptor_tag."""

    TAG: ClassVar[int] = -1


# What every CUEI descriptor's XML element ends with: a non-CUEI identifier and the bytes its
# body leaves unread, as lab: attributes.
DESCRIPTOR_TAIL = (Ext("identifier", bits=32), Ext("extra_bytes"))


# §10.3.1, Table 18 - avail_descriptor()
@structure
class AvailDescriptor(SpliceDescriptor):
    """avail_descriptor(): the provider's avail id for a splice_insert."""

    TAG = 0x00
    LAYOUT = (u("provider_avail_id", 32),)
    XML = Face("AvailDescriptor", (need("provider_avail_id"), *DESCRIPTOR_TAIL))

    provider_avail_id: int = 0
    identifier: int = CUEI
    extra_bytes: bytes = b""


# §10.3.2, Table 19 - DTMF_descriptor()
@structure
class DtmfDescriptor(SpliceDescriptor):
    """DTMF_descriptor(): DTMF tones to play ``preroll`` tenths of a second before the splice."""

    TAG = 0x01
    NAME = "dtmf_descriptor"
    LAYOUT = (
        u("preroll", 8),
        count("dtmf_count", 3),
        reserved(5),
        Chars("dtmf_chars", "dtmf_count"),
    )
    XML = Face("DTMFDescriptor", (need("preroll"), need("dtmf_chars", "chars"), *DESCRIPTOR_TAIL))

    preroll: int = 0
    dtmf_chars: str = ""
    identifier: int = CUEI
    extra_bytes: bytes = b""


# Table 20 - segmentation_descriptor(): the component loop
@structure
class SegmentationComponent(Struct):
    """One component of a component-mode segmentation_descriptor."""

    LAYOUT = (u("component_tag", 8), reserved(7), u("pts_offset", 33))
    XML = Face("Component", (need("component_tag"), need("pts_offset")))

    component_tag: int = 0
    pts_offset: int = 0


# §10.3.3, Table 20 - segmentation_descriptor(); the delivery restriction bits are Table 21
# (device_restrictions), segmentation_upid_type Table 22, segmentation_type_id Table 23.
# segmentation_event_id_compliance_indicator is a bit once reserved; since 2022
# sub_segment_num / sub_segments_expected follow every type in SUB_SEGMENT_TYPES.
@structure
class SegmentationDescriptor(SpliceDescriptor):
    """segmentation_descriptor(): what a segment is (type, UPID, duration, numbering)."""

    TAG = 0x02
    LAYOUT = (
        u("segmentation_event_id", 32),
        flag("segmentation_event_cancel_indicator"),
        flag("segmentation_event_id_compliance_indicator"),
        reserved(6),
        If(
            "not segmentation_event_cancel_indicator",
            (
                flag("program_segmentation_flag"),
                derived_flag("segmentation_duration_flag"),
                flag("delivery_not_restricted_flag"),
                If(
                    "not delivery_not_restricted_flag",
                    (
                        flag("web_delivery_allowed_flag"),
                        flag("no_regional_blackout_flag"),
                        flag("archive_allowed_flag"),
                        u("device_restrictions", 2),
                    ),
                    (reserved(5),),
                ),
                If(
                    "not program_segmentation_flag",
                    (
                        count("component_count", 8),
                        Repeat("components", SegmentationComponent, "component_count"),
                    ),
                    likely=False,
                ),
                If("segmentation_duration_flag", (u("segmentation_duration", 40),)),
                UPID,
                u("segmentation_type_id", 8),
                u("segment_num", 8),
                u("segments_expected", 8),
                IfRoom(
                    f"segmentation_type_id in {tuple(sorted(SUB_SEGMENT_TYPES))}",
                    (u("sub_segment_num", 8), u("sub_segments_expected", 8)),
                ),
            ),
        ),
    )
    XML = Face(
        "SegmentationDescriptor",
        (
            need("segmentation_event_id"),
            attr("segmentation_event_cancel_indicator"),
            attr("segmentation_event_id_compliance_indicator"),
            When(
                "not segmentation_event_cancel_indicator",
                (
                    attr("segmentation_duration"),
                    need("segmentation_type_id"),
                    attr("segment_num"),
                    attr("segments_expected"),
                    attr("sub_segment_num"),
                    attr("sub_segments_expected"),
                    Group(
                        "DeliveryRestrictions",
                        (
                            need("web_delivery_allowed_flag"),
                            need("no_regional_blackout_flag"),
                            need("archive_allowed_flag"),
                            need("device_restrictions"),
                        ),
                        flag="delivery_not_restricted_flag",
                        present=False,
                    ),
                    Hook(
                        "upid",
                        ("segmentation_upid_type", "segmentation_upid"),
                        ("SegmentationUpid",),
                    ),
                    Mode("program_segmentation_flag", None, Each("components")),
                ),
            ),
            *DESCRIPTOR_TAIL,
        ),
    )

    segmentation_event_id: int = 0
    segmentation_event_cancel_indicator: bool = False
    segmentation_event_id_compliance_indicator: bool = True
    program_segmentation_flag: bool = True
    delivery_not_restricted_flag: bool = True
    web_delivery_allowed_flag: bool | None = None
    no_regional_blackout_flag: bool | None = None
    archive_allowed_flag: bool | None = None
    device_restrictions: int | None = None
    components: list[SegmentationComponent] = field(default_factory=list)
    segmentation_duration: int | None = None
    segmentation_upid_type: int = 0
    segmentation_upid: Any = None
    segmentation_type_id: int = 0
    segment_num: int = 0
    segments_expected: int = 0
    sub_segment_num: int | None = None
    sub_segments_expected: int | None = None
    identifier: int = CUEI
    extra_bytes: bytes = b""

    @property
    def segmentation_duration_flag(self) -> bool:
        return self.segmentation_duration is not None

    @property
    def segmentation_type_name(self) -> str:
        """The standard's name for segmentation_type_id."""
        return segmentation_type_name(self.segmentation_type_id)

    @property
    def upid_text(self) -> str:
        """The UPID in a printable form."""
        return upid_text(self.segmentation_upid_type, self.segmentation_upid)


# §10.3.4, Table 24 - time_descriptor()
@structure
class TimeDescriptor(SpliceDescriptor):
    """time_descriptor(): TAI time of the splice (PTP), with the UTC offset."""

    TAG = 0x03
    LAYOUT = (u("tai_seconds", 48), u("tai_ns", 32), u("utc_offset", 16))
    XML = Face(
        "TimeDescriptor",
        (need("tai_seconds"), need("tai_ns"), need("utc_offset"), *DESCRIPTOR_TAIL),
    )

    tai_seconds: int = 0
    tai_ns: int = 0
    utc_offset: int = 0
    identifier: int = CUEI
    extra_bytes: bytes = b""


# Table 25 - audio_descriptor(): one component
@structure
class AudioComponent(Struct):
    """One audio component of an audio_descriptor (ATSC A/52 fields)."""

    LAYOUT = (
        u("component_tag", 8),
        Chars("iso_code", 3),
        u("bit_stream_mode", 3),
        u("num_channels", 4),
        flag("full_srvc_audio"),
    )
    XML = Face(
        "AudioChannel",
        (
            need("component_tag"),
            need("iso_code", "ISOCode"),
            need("bit_stream_mode", "BitStreamMode"),
            need("num_channels", "NumChannels"),
            need("full_srvc_audio", "FullSrvcAudio"),
        ),
    )

    component_tag: int = 0
    iso_code: str = "eng"
    bit_stream_mode: int = 0
    num_channels: int = 2
    full_srvc_audio: bool = True


# §10.3.5, Table 25 - audio_descriptor()
@structure
class AudioDescriptor(SpliceDescriptor):
    """audio_descriptor(): the audio components of the splice, with language and channels."""

    TAG = 0x04
    LAYOUT = (
        count("audio_count", 4),
        reserved(4),
        Repeat("components", AudioComponent, "audio_count"),
    )
    XML = Face("AudioDescriptor", (Each("components"), *DESCRIPTOR_TAIL))

    components: list[AudioComponent] = field(default_factory=list)
    identifier: int = CUEI
    extra_bytes: bytes = b""


# §10.2, Table 16 - splice_descriptor(): a descriptor of another identifier or a reserved tag
@structure
class PrivateDescriptor(SpliceDescriptor):
    """A descriptor of another identifier or a reserved tag, kept as its bytes."""

    LAYOUT = (Rest("private_bytes"),)
    XML = Face(
        "PrivateDescriptor",
        (
            need("splice_descriptor_tag", bits=8),
            attr("identifier", bits=32, default=None),
            HexText("private_bytes"),
        ),
        lab=True,
    )

    splice_descriptor_tag: int = 0xF0
    identifier: int | None = CUEI
    private_bytes: bytes = b""


# §10.2, Table 16 - a CUEI descriptor lenient decoding could not read: kept like a private one
@structure
class UndecodedDescriptor(PrivateDescriptor):
    """A CUEI descriptor lenient decoding could not read: kept as its bytes like a private one,
    with ``decoded``, the fields that read before the one that broke (for people only)."""

    decoded: dict = field(default_factory=dict, compare=False)


DESCRIPTORS: dict[int, type[SpliceDescriptor]] = {
    cls.TAG: cls
    for cls in (
        AvailDescriptor,
        DtmfDescriptor,
        SegmentationDescriptor,
        TimeDescriptor,
        AudioDescriptor,
    )
}


def descriptor_tag_of(d: SpliceDescriptor) -> int:
    """The splice_descriptor_tag of ``d``."""
    if isinstance(d, PrivateDescriptor):
        return d.splice_descriptor_tag
    return d.TAG
