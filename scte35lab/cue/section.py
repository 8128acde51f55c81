"""splice_info_section(): the frame around a command and its descriptors, decoded and encoded.

The header is declared like every other structure; the section adds what only it knows:
the command dispatch by splice_command_type, the descriptor loop, alignment stuffing, the
encrypted part (kept as bytes) and CRC_32.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scte35lab.cue.commands import COMMANDS, UnknownCommand, command_type_of
from scte35lab.cue.crc import crc32_mpeg2
from scte35lab.cue.descriptors import (
    DESCRIPTORS,
    PrivateDescriptor,
    SpliceDescriptor,
    descriptor_tag_of,
)
from scte35lab.cue.layout import (
    Cursor,
    ReadError,
    Struct,
    Sub,
    Writer,
    flag,
    no_parent,
    read_struct,
    reader_of,
    structure,
    u,
    write_struct,
)
from scte35lab.cue.tables import CUEI
from scte35lab.errors import (
    CrcError,
    InvalidFieldError,
    LengthMismatchError,
    Scte35Error,
    TruncatedError,
)

if TYPE_CHECKING:
    from scte35lab.cue.cue import Cue

LEGACY_COMMAND_LENGTH = 0xFFF
HEADER_BYTES = 14  # table_id .. splice_command_type
MAX_SECTION_BYTES = 4096


# §9.6, Table 5 - splice_info_section(), up to splice_command_length (sap_type: Table 6)
@structure
class SectionHeader(Struct):
    """The fixed fields of splice_info_section() up to splice_command_length."""

    NAME = "splice_info_section"
    LAYOUT = (
        u("table_id", 8),
        flag("section_syntax_indicator"),
        flag("private_indicator"),
        u("sap_type", 2),
        u("section_length", 12),
        u("protocol_version", 8),
        flag("encrypted_packet"),
        u("encryption_algorithm", 6),
        u("pts_adjustment", 33),
        u("cw_index", 8),
        u("tier", 12),
        u("splice_command_length", 12),
    )

    table_id: int = 0xFC
    section_syntax_indicator: bool = False
    private_indicator: bool = False
    sap_type: int = 3
    section_length: int = 0
    protocol_version: int = 0
    encrypted_packet: bool = False
    encryption_algorithm: int = 0
    pts_adjustment: int = 0
    cw_index: int = 0xFF
    tier: int = 0xFFF
    splice_command_length: int = 0


HEADER_FIELDS = (
    "section_syntax_indicator",
    "private_indicator",
    "sap_type",
    "protocol_version",
    "encrypted_packet",
    "encryption_algorithm",
    "pts_adjustment",
    "cw_index",
    "tier",
)


def _headed_struct(command_cls: type[Struct]) -> type[Struct]:
    """The section header, splice_command_type and one command class as one structure, so
    the reader fetches them together along the likely path."""
    annotations = {f.name: "Any" for f in SectionHeader.__dataclass_fields__.values()}
    annotations.update(splice_command_type="int", command="Any")
    namespace: dict[str, Any] = {
        "__annotations__": annotations,
        "NAME": "splice_info_section",
        "LAYOUT": (*SectionHeader.LAYOUT, u("splice_command_type", 8), Sub("command", command_cls)),
        "command": None,
        "splice_command_type": 0,
        "AS_DICT": True,
        "DICT_DROPS": frozenset(
            {"table_id", "section_length", "splice_command_length", "splice_command_type"}
        ),
    }
    namespace.update({f.name: f.default for f in SectionHeader.__dataclass_fields__.values()})
    return structure(type(f"Headed{command_cls.__name__}", (Struct,), namespace))


_HEADED = {cls: _headed_struct(cls) for cls in (*COMMANDS.values(), UnknownCommand)}
_DESCRIPTOR_READERS = {tag: reader_of(cls) for tag, cls in DESCRIPTORS.items()}


def decode_section(data: bytes, *, check_crc: bool = True) -> dict[str, Any]:
    """Decode one splice_info_section into the keyword arguments of ``Cue``."""
    n = len(data)
    if n < HEADER_BYTES + 4:
        raise TruncatedError(
            f"{n} bytes, a section needs at least {HEADER_BYTES + 4}",
            structure="splice_info_section",
        )
    if data[0] != 0xFC:
        raise InvalidFieldError(
            f"0x{data[0]:02X} is not 0xFC",
            structure="splice_info_section",
            field="table_id",
            bit=0,
        )
    section_length = ((data[1] & 0x0F) << 8) | data[2]
    total = section_length + 3
    if total > n:
        raise TruncatedError(
            f"section_length {section_length} needs {total} bytes, got {n}",
            structure="splice_info_section",
            field="section_length",
            bit=12,
        )
    if total < n and any(b != 0xFF for b in data[total:]):
        raise LengthMismatchError(
            f"section_length {section_length} says {total} bytes, got {n}",
            structure="splice_info_section",
            field="section_length",
            bit=12,
        )
    if total < HEADER_BYTES + 4:
        raise LengthMismatchError(
            f"section_length {section_length} is too short for a section",
            structure="splice_info_section",
            field="section_length",
            bit=12,
        )
    data = data[:total]
    crc_read = int.from_bytes(data[-4:], "big")
    if check_crc:
        crc_calc = crc32_mpeg2(data[:-4])
        if crc_calc != crc_read:
            raise CrcError(
                f"0x{crc_read:08X} read, 0x{crc_calc:08X} computed",
                structure="splice_info_section",
                field="CRC_32",
                bit=8 * (total - 4),
            )
    cur = Cursor(data)
    body_end = 8 * (total - 4)
    if data[4] & 0x80:  # encrypted_packet: only the header is in the clear
        header = read_struct(SectionHeader, cur, body_end)
        values: dict[str, Any] = {name: getattr(header, name) for name in HEADER_FIELDS}
        values["crc_32"] = crc_read
        values["encrypted_data"] = data[13:-4]
        values["splice_command_length"] = header.splice_command_length
        values["command"] = None
        return values
    command_length = ((data[11] & 0x0F) << 8) | data[12]
    legacy = command_length == LEGACY_COMMAND_LENGTH
    cmd_end = body_end if legacy else 8 * (HEADER_BYTES + command_length)
    if cmd_end > body_end:
        raise LengthMismatchError(
            f"splice_command_length {command_length} runs past the section",
            structure="splice_info_section",
            field="splice_command_length",
            bit=92,
        )
    command_type = data[13]
    headed = _HEADED[COMMANDS.get(command_type, UnknownCommand)]
    values: dict[str, Any] = _read_guarded(headed, cur, cmd_end)  # AS_DICT: header fields
    values["crc_32"] = crc_read
    command = values["command"]
    if isinstance(command, UnknownCommand):
        command.splice_command_type = command_type
    if legacy:
        values["splice_command_length"] = LEGACY_COMMAND_LENGTH
    elif cur.pos < cmd_end:
        values["command_extra_bytes"] = data[cur.pos // 8 : cmd_end // 8]
        cur.pos = cmd_end
    _decode_descriptor_loop(cur, data, body_end, values)
    return values


def _decode_descriptor_loop(
    cur: Cursor, data: bytes, body_end: int, values: dict[str, Any]
) -> None:
    """Read descriptor_loop_length, the descriptors and the stuffing into ``values``."""
    pos = cur.pos
    if pos + 16 > body_end:
        raise TruncatedError(
            "no room for descriptor_loop_length",
            structure="splice_info_section",
            field="descriptor_loop_length",
            bit=pos,
        )
    loop_length = int.from_bytes(cur.read_bytes(2), "big")
    loop_end = cur.pos + 8 * loop_length
    if loop_end > body_end:
        raise LengthMismatchError(
            f"descriptor_loop_length {loop_length} runs past the section",
            structure="splice_info_section",
            field="descriptor_loop_length",
            bit=pos,
        )
    values["descriptors"] = _read_descriptors(cur, data, loop_end)
    values["alignment_stuffing"] = data[loop_end // 8 : body_end // 8]


def _read_guarded(cls: type[Struct], cur: Cursor, end: int) -> Any:
    try:
        return read_struct(cls, cur, end)
    except ReadError as exc:  # a bitstring read past the data: report it as ours
        raise TruncatedError(str(exc), structure=cls.NAME, bit=cur.pos) from exc


def _read_descriptors(cur: Cursor, data: bytes, loop_end: int) -> list[SpliceDescriptor]:
    out: list[SpliceDescriptor] = []
    while cur.pos < loop_end:
        start = cur.pos
        if start + 16 > loop_end:
            raise TruncatedError(
                "a descriptor header needs 2 bytes",
                structure="splice_descriptor",
                field="descriptor_length",
                bit=start,
            )
        tag, length = data[start // 8], data[start // 8 + 1]
        cur.pos = start + 16
        end = cur.pos + 8 * length
        if end > loop_end:
            raise LengthMismatchError(
                f"descriptor_length {length} runs past the descriptor loop",
                structure="splice_descriptor",
                field="descriptor_length",
                bit=start + 8,
            )
        if length < 4:
            out.append(PrivateDescriptor(tag, None, data[cur.pos // 8 : end // 8]))
            cur.pos = end
            continue
        i = cur.pos >> 3
        identifier = int.from_bytes(data[i : i + 4], "big")
        cur.pos += 32
        cls = DESCRIPTORS.get(tag) if identifier == CUEI else None
        if cls is None:
            d: SpliceDescriptor = PrivateDescriptor(tag, identifier, data[cur.pos // 8 : end // 8])
        else:
            try:
                d = _DESCRIPTOR_READERS[tag](cur, end, no_parent)
            except ReadError as exc:  # a bitstring read past the data: report it as ours
                raise TruncatedError(str(exc), structure=cls.NAME, bit=cur.pos) from exc
            if cur.pos < end:
                d.extra_bytes = data[cur.pos // 8 : end // 8]
        cur.pos = end
        out.append(d)
    return out


def encode_section(cue: Cue) -> bytes:
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
        if len(loop) > 0xFFFF:
            raise InvalidFieldError(
                "descriptors do not fit descriptor_loop_length",
                structure="splice_info_section",
                field="descriptor_loop_length",
            )
        body = (
            bytes((command_type_of(command),))
            + command_bytes
            + len(loop).to_bytes(2, "big")
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
    return section + crc32_mpeg2(section).to_bytes(4, "big")


def _encode_descriptor(d: SpliceDescriptor) -> bytes:
    tag = descriptor_tag_of(d)
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


__all__ = ["Scte35Error", "SectionHeader", "decode_section", "encode_section"]
