"""splice_info_section(): the frame around a command and its descriptors, decoded and encoded.

The header is declared like every other structure; the section adds what only it knows:
the command dispatch by splice_command_type, the descriptor loop, alignment stuffing, the
encrypted part (kept as bytes) and CRC_32.
"""

from __future__ import annotations

from typing import Any, TypeVar

from scte35lab.cue.commands import (
    COMMANDS,
    SpliceCommand,
    UndecodedCommand,
    UnknownCommand,
    command_type_of,
)
from scte35lab.cue.crc import crc32_mpeg2, crc32_mpeg2_holds
from scte35lab.cue.descriptors import (
    DESCRIPTORS,
    PrivateDescriptor,
    SpliceDescriptor,
    UndecodedDescriptor,
    descriptor_tag_of,
)
from scte35lab.cue.layout import (
    Cursor,
    ReadError,
    Struct,
    Sub,
    Writer,
    check_values,
    flag,
    no_parent,
    read_partial,
    read_struct,
    reader_of,
    structure,
    u,
    write_struct,
)
from scte35lab.cue.problems import Problem
from scte35lab.cue.shape import CueShape
from scte35lab.cue.tables import CUEI
from scte35lab.errors import (
    CrcError,
    InvalidFieldError,
    LengthMismatchError,
    Scte35Error,
    TruncatedError,
)

# whatever cue type checked() is given, it gives back
C = TypeVar("C", bound=CueShape)

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
_HEADED_READERS = {code: reader_of(_HEADED[cls]) for code, cls in COMMANDS.items()}
_UNKNOWN_HEADED = reader_of(_HEADED[UnknownCommand])
_DESCRIPTOR_READERS = {tag: reader_of(cls) for tag, cls in DESCRIPTORS.items()}


def decode_section(data: bytes, *, check_crc: bool = True, strict: bool = True) -> dict[str, Any]:
    """Decode one splice_info_section into the keyword arguments of ``Cue``.

    ``strict=False`` reads past syntax errors inside a CRC-valid section: a command or
    descriptor that cannot be read is kept as bytes, a descriptor loop that cannot be framed
    keeps its rest as bytes, bytes after the section are kept; each deviation becomes a
    ``Problem`` in ``values["problems"]``, so the ``Cue`` encodes back to ``data`` exactly.
    """
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
    problems: list[Problem] | None = None if strict else []
    trailing = b""
    stuffing = False
    if total < n:
        trailing = data[total:]
        stuffing = trailing.count(0xFF) == len(trailing)
        if not stuffing and strict:
            raise LengthMismatchError(
                f"section_length {section_length} says {total} bytes, got {n}",
                structure="splice_info_section",
                field="section_length",
                bit=12,
            )
        data = data[:total]
    if total < HEADER_BYTES + 4:
        raise LengthMismatchError(
            f"section_length {section_length} is too short for a section",
            structure="splice_info_section",
            field="section_length",
            bit=12,
        )
    crc_read = int.from_bytes(data[-4:], "big")
    if check_crc and not crc32_mpeg2_holds(data):
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
        values = _header_values(cur, body_end)
        values["crc_32"] = crc_read
        values["encrypted_data"] = data[13:-4]
        values["command"] = None
        values["descriptors"] = []
        return _with_trailing(values, trailing, stuffing, problems, section_length)
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
    try:
        # AS_DICT: the header fields and the command
        values: dict[str, Any] = _HEADED_READERS.get(command_type, _UNKNOWN_HEADED)(
            cur, cmd_end, no_parent
        )
    except (Scte35Error, ReadError) as exc:
        if not isinstance(exc, Scte35Error):  # a bitstring read past the data: ours
            exc = TruncatedError(str(exc), structure="splice_info_section", bit=cur.pos)
        if problems is None or legacy:  # legacy: no length says where the command ends
            raise exc from None
        values = _header_values(Cursor(data), body_end)
        values.pop("splice_command_length")
        values["command"] = _undecoded_command(data, command_type, cmd_end)
        problems.append(Problem.from_error(exc, "the command is kept as bytes"))
        cur.pos = cmd_end
    values["crc_32"] = crc_read
    command = values["command"]
    if type(command) is UnknownCommand:
        command.splice_command_type = command_type
    if legacy:
        values["splice_command_length"] = LEGACY_COMMAND_LENGTH
    elif cur.pos < cmd_end:
        values["command_extra_bytes"] = data[cur.pos // 8 : cmd_end // 8]
        cur.pos = cmd_end
    _decode_descriptor_loop(cur, data, body_end, values, problems)
    if problems is None and not trailing:
        return values
    return _with_trailing(values, trailing, stuffing, problems, section_length)


def _header_values(cur: Cursor, body_end: int) -> dict[str, Any]:
    """The header fields ``Cue`` keeps, with splice_command_length."""
    header = read_struct(SectionHeader, cur, body_end)
    values: dict[str, Any] = {name: getattr(header, name) for name in HEADER_FIELDS}
    values["splice_command_length"] = header.splice_command_length
    return values


def _with_trailing(
    values: dict[str, Any],
    trailing: bytes,
    stuffing: bool,
    problems: list[Problem] | None,
    section_length: int,
) -> dict[str, Any]:
    """Account for bytes after the section: dropped stuffing (strict) or kept bytes."""
    if problems is None:
        if trailing:
            values["stuffing_dropped"] = len(trailing)
        return values
    if trailing:
        what = "0xFF stuffing" if stuffing else "bytes that are not stuffing"
        problems.append(
            Problem.at(
                "splice_info_section",
                "section_length",
                12,
                f"{len(trailing)} {what} after the {section_length + 3} bytes section_length "
                f"{section_length} covers; kept after CRC_32",
            )
        )
        values["trailing_bytes"] = trailing
    if problems:
        values["problems"] = tuple(problems)
    return values


def _undecoded_command(data: bytes, command_type: int, cmd_end: int) -> UndecodedCommand:
    cls = COMMANDS.get(command_type, UnknownCommand)
    cur = Cursor(data)
    cur.pos = 8 * HEADER_BYTES
    decoded = plain(read_partial(cls, cur, cmd_end))
    raw = data[HEADER_BYTES : cmd_end // 8]
    return UndecodedCommand(splice_command_type=command_type, raw=raw, decoded=decoded)


def plain(value: Any) -> Any:
    """``value`` with bytes as ``0x`` hex and structures as dicts: ready for JSON and eyes."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, Struct):
        return {k: plain(v) for k, v in vars(value).items() if not k.startswith("_")}
    return value


def _decode_descriptor_loop(
    cur: Cursor,
    data: bytes,
    body_end: int,
    values: dict[str, Any],
    problems: list[Problem] | None = None,
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
    i = pos >> 3
    loop_length = (
        (data[i] << 8) | data[i + 1] if not pos & 7 else int.from_bytes(cur.read_bytes(2), "big")
    )
    loop_end = pos + 16 + 8 * loop_length
    cur.pos = pos + 16
    if loop_end > body_end:
        exc = LengthMismatchError(
            f"descriptor_loop_length {loop_length} runs past the section",
            structure="splice_info_section",
            field="descriptor_loop_length",
            bit=pos,
        )
        if problems is None:
            raise exc
        problems.append(Problem.from_error(exc, "descriptors are read up to CRC_32"))
        values["descriptor_loop_length"] = loop_length
        loop_end = body_end
    values["descriptors"] = _read_descriptors(cur, data, loop_end, problems, values)
    if loop_end < body_end:
        values["alignment_stuffing"] = data[loop_end // 8 : body_end // 8]


def _read_descriptors(
    cur: Cursor,
    data: bytes,
    loop_end: int,
    problems: list[Problem] | None = None,
    values: dict[str, Any] | None = None,
) -> list[SpliceDescriptor]:
    """The descriptors of the loop ending at bit ``loop_end``; ``cur`` is left there."""
    out: list[SpliceDescriptor] = []
    readers = _DESCRIPTOR_READERS
    start = cur.pos
    while start < loop_end:
        i = start >> 3
        end = start + 16 + 8 * data[i + 1] if start + 16 <= loop_end else loop_end + 1
        if end > loop_end:
            _unframed(data, start, loop_end, problems, values)
            break
        tag = data[i]
        if end - start < 48:  # no room for an identifier
            d: SpliceDescriptor = PrivateDescriptor(tag, None, data[i + 2 : end >> 3])
        else:
            identifier = int.from_bytes(data[i + 2 : i + 6], "big")
            reader = readers.get(tag) if identifier == CUEI else None
            if reader is None:
                d = PrivateDescriptor(tag, identifier, data[i + 6 : end >> 3])
            else:
                cur.pos = start + 48
                try:
                    d = reader(cur, end, no_parent)
                except (Scte35Error, ReadError) as exc:
                    d = _undecoded_descriptor(cur, data, tag, start + 48, end, exc, problems)
                else:
                    if cur.pos < end:
                        d.extra_bytes = data[cur.pos >> 3 : end >> 3]
        out.append(d)
        start = end
    cur.pos = loop_end
    return out


def _unframed(
    data: bytes,
    start: int,
    loop_end: int,
    problems: list[Problem] | None,
    values: dict[str, Any] | None,
) -> None:
    """A descriptor header that does not fit the loop: an error, or (lenient) the loop's
    rest kept as bytes."""
    if start + 16 > loop_end:
        exc: Scte35Error = TruncatedError(
            "a descriptor header needs 2 bytes",
            structure="splice_descriptor",
            field="descriptor_length",
            bit=start,
        )
    else:
        exc = LengthMismatchError(
            f"descriptor_length {data[(start >> 3) + 1]} runs past the descriptor loop",
            structure="splice_descriptor",
            field="descriptor_length",
            bit=start + 8,
        )
    if problems is None or values is None:
        raise exc
    problems.append(Problem.from_error(exc, "the rest of the loop is kept as bytes"))
    values["descriptor_loop_rest"] = data[start >> 3 : loop_end >> 3]


def _undecoded_descriptor(
    cur: Cursor,
    data: bytes,
    tag: int,
    body: int,
    end: int,
    exc: Exception,
    problems: list[Problem] | None,
) -> SpliceDescriptor:
    """A CUEI descriptor whose body (bits ``body`` .. ``end``) failed to read: the error as
    ours, or (lenient) the descriptor kept as bytes with what did read."""
    cls = DESCRIPTORS[tag]
    if not isinstance(exc, Scte35Error):  # a bitstring read past the data
        exc = TruncatedError(str(exc), structure=cls.NAME, bit=cur.pos)
    if problems is None:
        raise exc
    problems.append(Problem.from_error(exc, "the descriptor is kept as bytes"))
    cur.pos = body
    decoded = plain(read_partial(cls, cur, end))
    return UndecodedDescriptor(tag, CUEI, data[body >> 3 : end >> 3], decoded)


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


__all__ = ["Scte35Error", "SectionHeader", "checked", "decode_section", "encode_section"]
