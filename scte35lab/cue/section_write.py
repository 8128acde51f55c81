"""Encoding splice_info_section() (lengths and CRC_32 computed) and ``checked``, which makes
sure every value of a cue fits where the section puts it before it is used."""

from __future__ import annotations

from typing import Any, TypeVar

from scte35lab.cue.commands import SpliceCommand, UnknownCommand, command_type_of
from scte35lab.cue.crc import crc32_mpeg2
from scte35lab.cue.descriptors import PrivateDescriptor, SpliceDescriptor, descriptor_tag_of
from scte35lab.cue.layout import Writer, check_values, write_struct
from scte35lab.cue.section_header import (
    HEADER_FIELDS,
    LEGACY_COMMAND_LENGTH,
    MAX_SECTION_BYTES,
    SectionHeader,
)
from scte35lab.cue.shape import CueShape
from scte35lab.errors import InvalidFieldError

# whatever cue type checked() is given, it gives back
C = TypeVar("C", bound=CueShape)


def checked(cue: C, *, encodes: bool = True) -> C:
    """``cue`` if every value in it fits where the section puts it (and, with ``encodes``, it
    encodes); otherwise ``InvalidFieldError`` naming the field. Values are checked where they
    enter: dicts and XML (which must give a cue that encodes) and builders (whose cues
    ``validate()`` may still find incomplete)."""
    where = "splice_info_section"
    header = SectionHeader(**{name: getattr(cue, name) for name in HEADER_FIELDS})
    check_values(header)
    for name in ("alignment_stuffing", "command_extra_bytes", "descriptor_loop_rest"):
        _check_bytes(getattr(cue, name), where, name)
    _check_bytes(cue.trailing_bytes, where, "trailing_bytes")
    for name, bits in (("splice_command_length", 12), ("descriptor_loop_length", 16)):
        value = getattr(cue, name)
        if value is not None and (type(value) is not int or value < 0 or value >> bits):
            raise InvalidFieldError(
                f"{value!r} does not fit in {bits} bits", structure=where, field=name
            )
    if cue.encrypted_packet:
        if cue.encrypted_data is not None:
            _check_bytes(cue.encrypted_data, where, "encrypted_data")
    else:
        command = cue.command
        if not isinstance(command, SpliceCommand):
            raise InvalidFieldError(
                f"expected a splice command, got {type(command).__name__}",
                structure=where,
                field="splice_command",
            )
        if isinstance(command, UnknownCommand):
            _check_tag(command.splice_command_type, "splice_command_type")
        check_values(command)
        if not isinstance(cue.descriptors, list):
            raise InvalidFieldError("expected a list", structure=where, field="descriptors")
        for d in cue.descriptors:
            if not isinstance(d, SpliceDescriptor):
                raise InvalidFieldError(
                    f"expected a splice descriptor, got {type(d).__name__}",
                    structure=where,
                    field="descriptors",
                )
            _check_descriptor_frame(d)
            check_values(d)
    if encodes:
        encode_section(cue)
    return cue


def _check_bytes(value: Any, structure: str, field: str) -> None:
    if not isinstance(value, bytes | bytearray):
        raise InvalidFieldError(
            f"expected bytes, got {type(value).__name__}", structure=structure, field=field
        )


def _check_tag(value: Any, field: str) -> None:
    if type(value) is not int or not 0 <= value <= 0xFF:
        raise InvalidFieldError(
            f"{value!r} does not fit in 8 bits", structure="splice_info_section", field=field
        )


def _check_descriptor_frame(d: SpliceDescriptor) -> None:
    """splice_descriptor_tag and identifier: what every descriptor starts with."""
    if isinstance(d, PrivateDescriptor):
        _check_tag(d.splice_descriptor_tag, "splice_descriptor_tag")
    ident = d.identifier
    if not (ident is None and isinstance(d, PrivateDescriptor)) and (
        type(ident) is not int or ident < 0 or ident >> 32
    ):
        raise InvalidFieldError(
            f"{ident!r} does not fit in 32 bits", structure=d.NAME, field="identifier"
        )
    if not isinstance(d, PrivateDescriptor):
        _check_bytes(d.extra_bytes, d.NAME, "extra_bytes")


def encode_section(cue: CueShape) -> bytes:
    """The bytes of ``cue`` as a splice_info_section, lengths and CRC_32 computed."""
    if cue.encrypted_packet:
        if cue.encrypted_data is None:
            raise InvalidFieldError(
                "an encrypted section needs encrypted_data (encryption is not performed here)",
                structure="splice_info_section",
                field="encrypted_data",
            )
        body = bytes(cue.encrypted_data)
        command_length = cue.splice_command_length
        if command_length is None:
            raise InvalidFieldError(
                "an encrypted section needs its splice_command_length",
                structure="splice_info_section",
                field="splice_command_length",
            )
    else:
        command = cue.command
        if command is None:
            raise InvalidFieldError(
                "a clear section needs a command",
                structure="splice_info_section",
                field="splice_command",
            )
        w = Writer()
        write_struct(command, w)
        command_bytes = w.to_bytes() + bytes(cue.command_extra_bytes)
        if cue.splice_command_length == LEGACY_COMMAND_LENGTH:
            command_length = LEGACY_COMMAND_LENGTH
        else:
            command_length = len(command_bytes)
            if command_length >= LEGACY_COMMAND_LENGTH:
                raise InvalidFieldError(
                    f"{command_length} bytes do not fit splice_command_length",
                    structure="splice_info_section",
                    field="splice_command_length",
                )
        loop = b"".join(_encode_descriptor(d) for d in cue.descriptors)
        loop += bytes(cue.descriptor_loop_rest)
        loop_length = (
            len(loop) if cue.descriptor_loop_length is None else cue.descriptor_loop_length
        )
        if not 0 <= loop_length <= 0xFFFF:
            raise InvalidFieldError(
                "descriptors do not fit descriptor_loop_length",
                structure="splice_info_section",
                field="descriptor_loop_length",
            )
        command_type = command_type_of(command)
        if type(command_type) is not int or not 0 <= command_type <= 0xFF:
            _check_tag(command_type, "splice_command_type")
        body = (
            bytes((command_type,))
            + command_bytes
            + loop_length.to_bytes(2, "big")
            + loop
            + bytes(cue.alignment_stuffing)
        )
    section_length = 10 + len(body) + 4  # protocol_version .. splice_command_length = 10 bytes
    if section_length > MAX_SECTION_BYTES - 3:
        raise InvalidFieldError(
            f"section_length {section_length} exceeds {MAX_SECTION_BYTES - 3}",
            structure="splice_info_section",
            field="section_length",
        )
    header = SectionHeader(
        table_id=0xFC,
        section_length=section_length,
        splice_command_length=command_length,
        **{name: getattr(cue, name) for name in HEADER_FIELDS},
    )
    w = Writer()
    write_struct(header, w)
    head = w.to_bytes()
    section = head[:13] + body
    return section + crc32_mpeg2(section).to_bytes(4, "big") + bytes(cue.trailing_bytes)


def _encode_descriptor(d: SpliceDescriptor) -> bytes:
    tag = descriptor_tag_of(d)
    if type(tag) is not int or not 0 <= tag <= 0xFF or type(d.identifier) is not int:
        _check_descriptor_frame(d)
    if d.identifier is not None and not 0 <= d.identifier <= 0xFFFFFFFF:
        _check_descriptor_frame(d)
    if isinstance(d, PrivateDescriptor):
        ident = b"" if d.identifier is None else d.identifier.to_bytes(4, "big")
        payload = ident + bytes(d.private_bytes)
    else:
        w = Writer()
        w.bits(d.identifier, 32)
        write_struct(d, w)
        payload = w.to_bytes() + bytes(d.extra_bytes)
    if len(payload) > 255:
        raise InvalidFieldError(
            f"{len(payload)} bytes do not fit descriptor_length",
            structure=d.NAME,
            field="descriptor_length",
        )
    return bytes((tag, len(payload))) + payload


__all__ = ["checked", "encode_section"]
