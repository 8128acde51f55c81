"""Decoding splice_info_section(): the header read with its command in one generated reader,
CRC_32 checked, the descriptor loop framed and each descriptor read, and (lenient) what
cannot be read kept as bytes with a ``Problem`` for each deviation."""

from __future__ import annotations

from typing import Any

from scte35lab.cue.commands import COMMANDS, UndecodedCommand, UnknownCommand
from scte35lab.cue.crc import crc32_mpeg2, crc32_mpeg2_holds
from scte35lab.cue.descriptors import (
    DESCRIPTORS,
    PrivateDescriptor,
    SpliceDescriptor,
    UndecodedDescriptor,
)
from scte35lab.cue.layout import (
    Cursor,
    ReadError,
    Struct,
    Sub,
    no_parent,
    read_partial,
    read_struct,
    reader_of,
    structure,
    u,
)
from scte35lab.cue.problems import Problem
from scte35lab.cue.section_header import (
    HEADER_BYTES,
    HEADER_FIELDS,
    LEGACY_COMMAND_LENGTH,
    SectionHeader,
)
from scte35lab.cue.tables import CUEI
from scte35lab.errors import (
    CrcError,
    InvalidFieldError,
    LengthMismatchError,
    Scte35Error,
    TruncatedError,
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


__all__ = ["decode_section", "plain"]
