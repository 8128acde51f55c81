"""``Cue``: one SCTE-35 splice_info_section as a Python object, with its faces and builders."""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from scte35lab.clock import PTS_HZ, PTS_WRAP
from scte35lab.cue.commands import (
    SpliceCommand,
    SpliceInsert,
    SpliceNull,
    TimeSignal,
    command_type_of,
)
from scte35lab.cue.descriptors import SegmentationDescriptor, SpliceDescriptor
from scte35lab.cue.dictform import cue_from_dict, cue_to_dict
from scte35lab.cue.html import cue_html
from scte35lab.cue.inputs import parse_json, section_bytes_from
from scte35lab.cue.problems import Problem
from scte35lab.cue.section import checked, decode_section, encode_section
from scte35lab.cue.tables import END_OF, SUB_SEGMENT_TYPES, command_name
from scte35lab.cue.timing import BreakDuration, SpliceTime
from scte35lab.cue.validation import validate_cue
from scte35lab.cue.xmlform import cue_from_xml, cue_to_xml
from scte35lab.errors import InvalidFieldError

# the clock under the names scte35lab.cue has always exported
TICKS_PER_SECOND = PTS_HZ
PTS_MODULUS = PTS_WRAP

# segment kind -> its start segmentation_type_id (the end is the next id)
SEGMENT_KINDS = {
    "program": 0x10,
    "chapter": 0x20,
    "break": 0x22,
    "provider_ad": 0x30,
    "distributor_ad": 0x32,
    "provider_po": 0x34,
    "distributor_po": 0x36,
    "provider_overlay_po": 0x38,
    "distributor_overlay_po": 0x3A,
    "provider_ad_block": 0x44,
    "distributor_ad_block": 0x46,
}


@dataclass
class Cue:
    """A splice_info_section: header fields, one splice command, descriptors.

    Times are 90 kHz ticks. ``Cue.decode(...)`` reads any accepted form, ``encode()`` writes
    the bytes back (bit-exact for decoded sections); builders make the common cues.
    """

    command: SpliceCommand | None = field(default_factory=SpliceNull)
    descriptors: list[SpliceDescriptor] = field(default_factory=list)
    pts_adjustment: int = 0
    section_syntax_indicator: bool = False
    private_indicator: bool = False
    sap_type: int = 3
    protocol_version: int = 0
    encrypted_packet: bool = False
    encryption_algorithm: int = 0
    cw_index: int = 0xFF
    tier: int = 0xFFF
    alignment_stuffing: bytes = b""
    command_extra_bytes: bytes = b""
    splice_command_length: int | None = None  # only for the legacy 0xFFF and encrypted sections
    encrypted_data: bytes | None = None  # splice_command_type .. E_CRC_32 of an encrypted section
    crc_32: int | None = field(default=None, compare=False)  # as read by decode()
    # What lenient decoding (``strict=False``) kept so that encode() gives the input back:
    # the descriptor loop's length and its unframed rest, and bytes after CRC_32.
    descriptor_loop_length: int | None = None  # only when it disagrees with the loop
    descriptor_loop_rest: bytes = b""
    trailing_bytes: bytes = b""
    problems: tuple[Problem, ...] = field(default=(), compare=False)  # each deviation found
    stuffing_dropped: int = field(default=0, compare=False)  # 0xFF bytes after the section

    # ------------------------------------------------------------------ decoding / encoding

    @classmethod
    def decode(
        cls,
        data: bytes | bytearray | memoryview | str,
        *,
        check_crc: bool = True,
        strict: bool = True,
    ) -> Cue:
        """Decode bytes, base64, hex (``0x`` optional), TS packets, JSON or XML text.

        Raises only ``Scte35Error`` subclasses; ``CrcError`` on a CRC_32 mismatch unless
        ``check_crc=False``. ``strict=False`` decodes what can be decoded of a section that
        breaks the syntax, keeps the rest as bytes (``encode()`` gives the input back) and
        lists each deviation in ``problems``; the header, section_length and CRC_32 must
        still hold.
        """
        if type(data) is bytes and data[:1] == b"\xfc":  # a section, as most callers give
            payload = data
        else:
            form, payload = section_bytes_from(data)
            if form == "dict":
                return cls.from_dict(payload)
            if form == "xml":
                return cls.from_xml(payload)
        values = decode_section(payload, check_crc=check_crc, strict=strict)
        if cls is not Cue:
            return cls(**values)
        # Every field is either in ``values`` or takes its default: set them directly rather
        # than through ``__init__`` (the decode hot path).
        cue = object.__new__(Cue)
        fields = _DEFAULTS.copy()
        fields.update(values)
        cue.__dict__ = fields
        return cue

    def encode(self) -> bytes:
        """The section's bytes, with section_length, command and loop lengths and CRC_32."""
        return encode_section(self)

    def to_base64(self) -> str:
        """The section as base64 (the form HLS tags and most tools use)."""
        return base64.b64encode(self.encode()).decode("ascii")

    def to_hex(self) -> str:
        """The section as ``0x``-prefixed lowercase hex."""
        return "0x" + self.encode().hex()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with the standard's syntax element names (ticks, plus seconds)."""
        return cue_to_dict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Cue:
        """The inverse of ``to_dict``; derived fields (lengths, names, seconds) are ignored."""
        return cue_from_dict(d, cls)

    def to_json(self, **kwargs: Any) -> str:
        """``to_dict`` as JSON text (indent=2 unless told otherwise)."""
        kwargs.setdefault("indent", 2)
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_json(cls, text: str) -> Cue:
        """The inverse of ``to_json``."""
        return cls.from_dict(parse_json(text))

    def to_xml(self, *, binary: bool = False) -> str:
        """SCTE 35 XML: the element form, or ``binary=True`` for <Signal><Binary>."""
        return cue_to_xml(self, binary=binary)

    @classmethod
    def from_xml(cls, text: str) -> Cue:
        """Read SCTE 35 XML (element or Binary form; 2013/2016 namespaces both accepted)."""
        return cue_from_xml(text, cls)

    def validate(self) -> list[str]:
        """Problems a receiver would trip on, as sentences; empty when the cue is sound."""
        return validate_cue(self)

    # ------------------------------------------------------------------ what users ask for

    @property
    def splice_command_type(self) -> int | None:
        """The splice_command_type (None for an encrypted section, whose command is hidden)."""
        if self.command is None:
            return self.encrypted_data[0] if self.encrypted_data else None
        return command_type_of(self.command)

    @property
    def command_name(self) -> str:
        """``splice_insert``, ``time_signal``, ... (``encrypted`` when the command is hidden)."""
        if self.command is None:
            return "encrypted"
        return command_name(command_type_of(self.command))

    @property
    def e_crc_32(self) -> int | None:
        """E_CRC_32 of an encrypted section (the last 4 bytes of its encrypted part)."""
        if self.encrypted_packet and self.encrypted_data and len(self.encrypted_data) >= 4:
            return int.from_bytes(self.encrypted_data[-4:], "big")
        return None

    @property
    def segmentation_descriptors(self) -> list[SegmentationDescriptor]:
        """The segmentation descriptors, in order."""
        return [d for d in self.descriptors if isinstance(d, SegmentationDescriptor)]

    @property
    def pts_time(self) -> int | None:
        """The command's splice time (program mode), or None (immediate, none, components)."""
        st = getattr(self.command, "splice_time", None)
        return st.pts_time if st is not None else None

    @property
    def splice_point(self) -> int | None:
        """``(pts_time + pts_adjustment) mod 2**33``: the PTS the splice happens at."""
        t = self.pts_time
        return None if t is None else (t + self.pts_adjustment) % PTS_MODULUS

    @property
    def splice_event_id(self) -> int | None:
        return getattr(self.command, "splice_event_id", None)

    @property
    def out_of_network_indicator(self) -> bool | None:
        cmd = self.command
        if isinstance(cmd, SpliceInsert) and not cmd.splice_event_cancel_indicator:
            return cmd.out_of_network_indicator
        return None

    @property
    def break_duration(self) -> int | None:
        """splice_insert's break_duration in ticks, else None."""
        bd = getattr(self.command, "break_duration", None)
        return bd.duration if bd is not None else None

    def with_splice_time(self, pts: int) -> Cue:
        """A copy whose splice time (and every component's) is ``pts`` (ticks, mod 2**33)."""
        new = copy.deepcopy(self)
        pts %= PTS_MODULUS
        cmd = new.command
        if isinstance(cmd, TimeSignal):
            cmd.splice_time = SpliceTime(pts)
        elif isinstance(cmd, SpliceInsert):
            cmd.splice_immediate_flag = False
            if cmd.program_splice_flag:
                cmd.splice_time = SpliceTime(pts)
            for comp in cmd.components:
                comp.splice_time = SpliceTime(pts)
        return new

    # ------------------------------------------------------------------ builders

    @classmethod
    def splice_null(cls) -> Cue:
        """A splice_null (heartbeat)."""
        return checked(cls(SpliceNull()), encodes=False)

    @classmethod
    def splice_insert(
        cls,
        splice_event_id: int,
        *,
        out_of_network: bool = True,
        pts_time: int | None = None,
        break_duration: int | None = None,
        auto_return: bool = True,
        unique_program_id: int = 0,
        avail_num: int = 0,
        avails_expected: int = 0,
        pts_adjustment: int = 0,
        descriptors: Iterable[SpliceDescriptor] = (),
    ) -> Cue:
        """A program-mode splice_insert; ``pts_time=None`` makes it splice_immediate."""
        cmd = SpliceInsert(
            splice_event_id=splice_event_id,
            out_of_network_indicator=out_of_network,
            splice_immediate_flag=pts_time is None,
            splice_time=None if pts_time is None else SpliceTime(pts_time),
            break_duration=None
            if break_duration is None
            else BreakDuration(auto_return, break_duration),
            unique_program_id=unique_program_id,
            avail_num=avail_num,
            avails_expected=avails_expected,
        )
        return checked(cls(cmd, list(descriptors), pts_adjustment=pts_adjustment), encodes=False)

    @classmethod
    def splice_insert_cancel(cls, splice_event_id: int) -> Cue:
        """Cancel a splice_insert event announced earlier."""
        cmd = SpliceInsert(splice_event_id=splice_event_id, splice_event_cancel_indicator=True)
        return checked(cls(cmd), encodes=False)

    @classmethod
    def time_signal(
        cls,
        pts_time: int | None,
        descriptors: Iterable[SpliceDescriptor] = (),
        *,
        pts_adjustment: int = 0,
    ) -> Cue:
        """A time_signal at ``pts_time`` (None: no time) with the given descriptors."""
        cmd = TimeSignal(SpliceTime(pts_time))
        return checked(cls(cmd, list(descriptors), pts_adjustment=pts_adjustment), encodes=False)

    @classmethod
    def segmentation_pair(
        cls,
        kind: str,
        segmentation_event_id: int,
        start: int,
        duration: int,
        *,
        upid_type: int = 0x00,
        upid: Any = None,
        segment_num: int = 0,
        segments_expected: int = 0,
        sub_segment_num: int | None = None,
        sub_segments_expected: int | None = None,
        pts_adjustment: int = 0,
    ) -> tuple[Cue, Cue]:
        """The time_signal start and end cues of one segment (``start``/``duration`` in
        ticks): ``kind`` is ``break``, ``provider_ad``, ``distributor_ad``, ``provider_po``,
        ``distributor_po``, ``provider_overlay_po``, ``distributor_overlay_po``,
        ``provider_ad_block``, ``distributor_ad_block``, ``chapter`` or ``program``.

        The start carries segmentation_duration (which a splicer needs to plan the break);
        both carry the same event id and UPID so receivers pair them.
        """
        start_type = SEGMENT_KINDS.get(kind)
        if start_type is None:
            raise InvalidFieldError(
                f"unknown segment kind {kind!r}; one of {', '.join(SEGMENT_KINDS)}",
                structure="segmentation_descriptor",
                field="segmentation_type_id",
            )
        common = dict(
            segmentation_event_id=segmentation_event_id,
            segmentation_upid_type=upid_type,
            segmentation_upid=upid,
            segment_num=segment_num,
            segments_expected=segments_expected,
        )
        sub = {}
        if start_type in SUB_SEGMENT_TYPES and sub_segment_num is not None:
            sub = dict(sub_segment_num=sub_segment_num, sub_segments_expected=sub_segments_expected)
        begin = SegmentationDescriptor(
            segmentation_type_id=start_type, segmentation_duration=duration, **common, **sub
        )
        end = SegmentationDescriptor(segmentation_type_id=END_OF[start_type], **common)
        return (
            cls.time_signal(start, [begin], pts_adjustment=pts_adjustment),
            cls.time_signal((start + duration) % PTS_MODULUS, [end], pts_adjustment=pts_adjustment),
        )

    # ------------------------------------------------------------------ notebook faces

    def __repr__(self) -> str:
        parts = [self.command_name]
        if self.splice_event_id is not None:
            parts.append(f"event={self.splice_event_id}")
        if self.out_of_network_indicator is not None:
            parts.append("out" if self.out_of_network_indicator else "in")
        if self.pts_time is not None:
            parts.append(f"pts_time={self.pts_time} ({self.pts_time / TICKS_PER_SECOND:.6f}s)")
        if self.pts_adjustment:
            parts.append(f"pts_adjustment={self.pts_adjustment}")
        if self.break_duration is not None:
            parts.append(f"break_duration={self.break_duration / TICKS_PER_SECOND:.3f}s")
        for sd in self.segmentation_descriptors:
            text = f"{sd.segmentation_type_name} (0x{sd.segmentation_type_id:02X})"
            if sd.segmentation_duration is not None:
                text += f" {sd.segmentation_duration / TICKS_PER_SECOND:.3f}s"
            if sd.upid_text:
                text += f" upid={sd.upid_text}"
            parts.append(f"[{text}]")
        others = [d.NAME for d in self.descriptors if not isinstance(d, SegmentationDescriptor)]
        if others:
            parts.append("+" + ",".join(others))
        if self.problems:
            parts.append(f"<{len(self.problems)} problems, decoded leniently>")
        return f"Cue({' '.join(parts)})"

    def _repr_html_(self) -> str:
        return cue_html(self)


_DEFAULTS = {
    f.name: f.default for f in dataclasses.fields(Cue) if f.default is not dataclasses.MISSING
}
