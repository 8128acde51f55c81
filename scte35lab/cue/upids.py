"""segmentation_upid(): every UPID type of the standard, typed where it has structure.

A UPID's value is held as the most natural Python value for its type, and only when its bytes
re-encode to exactly themselves; otherwise it stays ``bytes``:
text types (ISCI, Ad-ID, TID, ADI, ADS Information, URI, SCR) as ``str``; TI as ``int``;
ATSC Content Identifier and MPU as structures; MID as a list of ``MidUpid``; UMID, ISAN, EIDR,
UUID, user-defined and reserved types as ``bytes``.
"""

from __future__ import annotations

import uuid
from typing import Any

from scte35lab.cue.layout import (
    Cursor,
    Custom,
    Getter,
    Rest,
    Struct,
    Writer,
    check_values,
    encode_struct,
    no_parent,
    read_struct,
    reader_of,
    reserved,
    structure,
    u,
)
from scte35lab.cue.tables import TEXT_UPID_TYPES, upid_type_name
from scte35lab.errors import InvalidFieldError, TruncatedError

FIXED_LENGTHS = {
    0x02: 8,
    0x03: 12,
    0x04: 32,
    0x05: 8,
    0x06: 12,
    0x07: 12,
    0x08: 8,
    0x0A: 12,
    0x10: 16,
}


# Table 22, type 0x0B: ATSC_content_identifier() of ATSC A/57B
@structure
class AtscContentIdentifier(Struct):
    """UPID 0x0B: ATSC A/57B content identifier."""

    LAYOUT = (
        u("tsid", 16),
        reserved(2),
        u("end_of_day", 5),
        u("unique_for", 9),
        Rest("content_id"),
    )

    tsid: int = 0
    end_of_day: int = 0
    unique_for: int = 0
    content_id: bytes = b""


# §10.3.3.3, MPU(): segmentation_upid_type 0x0C of Table 22
@structure
class Mpu(Struct):
    """UPID 0x0C: Managed Private UPID, a 32-bit format_identifier and private data."""

    LAYOUT = (u("format_identifier", 32), Rest("private_data"))

    format_identifier: int = 0
    private_data: bytes = b""


def _read_upid(cur: Cursor, end: int, get: Getter) -> tuple[int, Any]:
    pos = cur.pos
    if end - pos < 16:
        raise TruncatedError(
            "needs 2 bytes", structure="segmentation_upid", field="segmentation_upid_type", bit=pos
        )
    if pos & 7:  # not at a byte boundary: never in a real section, read through bitstring
        upid_type, length = cur.read_bytes(2)
        data = cur.read_bytes(length) if pos + 16 + 8 * length <= end else b""
    else:
        i = pos >> 3
        upid_type, length = cur.data[i], cur.data[i + 1]
        data = cur.data[i + 2 : i + 2 + length]
    stop = pos + 16 + 8 * length
    if stop > end:
        raise TruncatedError(
            f"segmentation_upid_length {length} runs past the descriptor",
            structure="segmentation_upid",
            field="segmentation_upid_length",
            bit=pos + 8,
        )
    cur.pos = stop
    return upid_type, upid_value(upid_type, data)


def _write_upid(w: Writer, get: Getter) -> None:
    upid_type = get("segmentation_upid_type")
    data = upid_bytes(upid_type, get("segmentation_upid"))
    if len(data) > 255:
        raise InvalidFieldError(
            f"{len(data)} bytes do not fit segmentation_upid_length",
            structure="segmentation_upid",
            field="segmentation_upid",
        )
    w.bits(upid_type, 8)
    w.bits(len(data), 8)
    w.raw(data)


def _check_upid(get: Getter) -> None:
    """A UPID type and value that encode: type in 8 bits, value of a form the type takes."""
    upid_type, value = get("segmentation_upid_type"), get("segmentation_upid")
    if type(upid_type) is not int or not 0 <= upid_type <= 0xFF:
        raise InvalidFieldError(
            f"{upid_type!r} is not an 8-bit type",
            structure="segmentation_upid",
            field="segmentation_upid_type",
        )
    if isinstance(value, Struct):
        check_values(value)
    if isinstance(value, list):
        for item in value:
            if not isinstance(item, MidUpid):
                raise InvalidFieldError(
                    f"a MID holds UPIDs, not {type(item).__name__}",
                    structure="segmentation_upid",
                    field="segmentation_upid",
                )
            check_values(item)
    data = upid_bytes(upid_type, value)
    if len(data) > 255:
        raise InvalidFieldError(
            f"{len(data)} bytes do not fit segmentation_upid_length",
            structure="segmentation_upid",
            field="segmentation_upid",
        )


# §10.3.3.1, Table 20: segmentation_upid_type, segmentation_upid_length, segmentation_upid()
UPID = Custom(
    ("segmentation_upid_type", "segmentation_upid"), _read_upid, _write_upid, check=_check_upid
)


# §10.3.3.4, MID(): segmentation_upid_type 0x0D of Table 22; one of the UPIDs it holds
@structure
class MidUpid(Struct):
    """One UPID inside a MID (type 0x0D)."""

    LAYOUT = (UPID,)

    segmentation_upid_type: int = 0
    segmentation_upid: Any = None

    @property
    def upid_text(self) -> str:
        return upid_text(self.segmentation_upid_type, self.segmentation_upid)


def upid_value(upid_type: int, data: bytes) -> Any:
    """The typed value of a UPID's bytes, or the bytes themselves when no type fits exactly."""
    typed = _TYPED.get(upid_type)
    if typed is None:
        return None if upid_type == 0x00 and not data else data
    try:
        return typed(data)
    except (TruncatedError, UnicodeDecodeError):
        return data


def _text(data: bytes) -> Any:
    text = data.decode("utf-8")
    return text if text.isprintable() else data


def _whole(cls: type[Struct]) -> Any:
    """A reader of ``cls`` that must use every byte (else the bytes stay bytes)."""

    reader = reader_of(cls)

    def read(data: bytes) -> Any:
        if len(data) < 4:
            return data
        cur = Cursor(data)
        value = reader(cur, 8 * len(data), no_parent)
        return value if cur.pos == 8 * len(data) else data

    return read


def _mid(data: bytes) -> Any:
    if not data:
        return data
    cur = Cursor(data)
    items = []
    while cur.pos < 8 * len(data):
        items.append(read_struct(MidUpid, cur, 8 * len(data)))
    return items


# UPID type -> the reader of its typed value (other types stay bytes)
def _airing_id(data: bytes) -> Any:
    return int.from_bytes(data, "big") if len(data) == 8 else data


def _fixed(n: int, typed: Any) -> Any:
    """``typed`` for a UPID of exactly ``n`` bytes; other lengths stay bytes."""
    return lambda data: typed(data) if len(data) == n else data


_TYPED: dict[int, Any] = {
    **{
        t: _fixed(FIXED_LENGTHS[t], _text) if t in FIXED_LENGTHS else _text for t in TEXT_UPID_TYPES
    },
    0x08: _airing_id,
    0x0B: _whole(AtscContentIdentifier),
    0x0C: _whole(Mpu),
    0x0D: _mid,
}


def upid_bytes(upid_type: int, value: Any) -> bytes:
    """The bytes of a UPID value of the given type (the inverse of ``upid_value``)."""
    if value is None:
        return b""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bool):
        raise InvalidFieldError("a UPID cannot be a bool", structure="segmentation_upid")
    if isinstance(value, int):
        width = FIXED_LENGTHS.get(upid_type, 8)
        if not 0 <= value < 1 << (8 * width):
            raise InvalidFieldError(
                f"{value} does not fit the {width}-byte UPID of type 0x{upid_type:02X}",
                structure="segmentation_upid",
                field="segmentation_upid",
            )
        return value.to_bytes(width, "big")
    if isinstance(value, uuid.UUID):
        return value.bytes
    if isinstance(value, AtscContentIdentifier | Mpu):
        return encode_struct(value)
    if isinstance(value, list) and all(isinstance(item, MidUpid) for item in value):
        return b"".join(encode_struct(item) for item in value)
    raise InvalidFieldError(
        f"cannot encode {type(value).__name__} as UPID type 0x{upid_type:02X}",
        structure="segmentation_upid",
        field="segmentation_upid",
    )


def _eidr_check(chars: str) -> str:
    """ISO 7064 Mod 37,36 check character over the EIDR suffix (hex digits, no dashes)."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    p = 36
    for ch in chars:
        s = (p + alphabet.index(ch)) % 36 or 36
        p = (2 * s) % 37
    return alphabet[(37 - p) % 36]


def upid_text(upid_type: int, value: Any) -> str:
    """A printable form of a UPID, as a broadcast engineer would write it."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if upid_type == 0x0A and isinstance(value, bytes) and len(value) == 12:
        prefix = int.from_bytes(value[:2], "big")
        suffix = value[2:].hex().upper()
        groups = "-".join(suffix[i : i + 4] for i in range(0, 20, 4))
        return f"10.{prefix}/{groups}-{_eidr_check(suffix)}"
    if upid_type == 0x10 and isinstance(value, bytes) and len(value) == 16:
        return str(uuid.UUID(bytes=value))
    if upid_type == 0x08 and isinstance(value, int):
        return f"0x{value:016X}"
    if isinstance(value, bytes):
        return "0x" + value.hex().upper() if value else ""
    if isinstance(value, Mpu):
        fid = value.format_identifier.to_bytes(4, "big")
        name = fid.decode("ascii") if all(32 <= b < 127 for b in fid) else f"0x{fid.hex()}"
        try:
            body = value.private_data.decode("utf-8")
            if not body.isprintable():
                raise ValueError
        except ValueError:
            body = "0x" + value.private_data.hex().upper()
        return f"{name}:{body}"
    if isinstance(value, AtscContentIdentifier):
        return (
            f"tsid={value.tsid} end_of_day={value.end_of_day} unique_for={value.unique_for} "
            f"content_id={value.content_id.decode('latin-1')}"
        )
    if isinstance(value, list):
        return " | ".join(
            f"{upid_type_name(m.segmentation_upid_type)}: {m.upid_text}" for m in value
        )
    return str(value)


__all__ = [
    "UPID",
    "AtscContentIdentifier",
    "MidUpid",
    "Mpu",
    "upid_bytes",
    "upid_text",
    "upid_value",
]
