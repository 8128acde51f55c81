"""Cue <-> dict (and so JSON), driven by the same declarations as the binary codec.

Keys are the standard's syntax element names in snake_case; times stay integer 90 kHz ticks,
with ``*_seconds`` companions. Bytes are ``0x``-prefixed hex. Names, seconds, lengths and
flags that follow from presence are written for the reader and checked or ignored on input.
"""

from __future__ import annotations

import dataclasses
import uuid
from functools import cache
from typing import Any

from scte35lab.clock import PTS_HZ
from scte35lab.cue.commands import COMMANDS, SpliceCommand, UnknownCommand, command_type_of
from scte35lab.cue.descriptors import (
    DESCRIPTORS,
    PrivateDescriptor,
    SpliceDescriptor,
    descriptor_tag_of,
)
from scte35lab.cue.layout import Custom, Field, If, IfRoom, Repeat, Struct, Sub
from scte35lab.cue.section import HEADER_FIELDS, checked
from scte35lab.cue.tables import SPLICE_DESCRIPTOR_TAGS, TEXT_UPID_TYPES, command_name
from scte35lab.cue.upids import AtscContentIdentifier, MidUpid, Mpu, upid_text
from scte35lab.errors import InvalidFieldError

TICK_FIELDS = frozenset(
    {"pts_time", "duration", "pts_adjustment", "segmentation_duration", "pts_offset"}
)
SKIP_EMPTY = frozenset({"extra_bytes", "alignment_stuffing", "command_extra_bytes"})
# Bytes lenient decoding kept, written only when there are some.
LENIENT_BYTES = ("descriptor_loop_rest", "trailing_bytes")
HEADER_KEYS = HEADER_FIELDS
# Written for readers, recomputed on encode: accepted and ignored by from_dict.
COMPUTED_KEYS = frozenset(
    {
        "table_id",
        "section_length",
        "splice_command_type",
        "splice_command_name",
        "descriptor_loop_length",
        "crc_32",
        "e_crc_32",
        "descriptor_name",
        "descriptor_length",
        "splice_descriptor_tag",
        "segmentation_type_name",
        "segmentation_upid_type_name",
        "segmentation_upid_length",
        "upid_text",
        "splice_point",
        "problems",
        "decoded",
    }
)


# ----------------------------------------------------------------------------- metadata


@cache
def _kinds(cls: type[Struct]) -> dict[str, tuple]:
    """name -> ("struct", C) | ("list", C) | ("derived",) | ("count",) for a declared class."""
    kinds: dict[str, tuple] = {}

    def walk(items: tuple) -> None:
        for item in items:
            if isinstance(item, Field):
                if item.derived:
                    kinds[item.name] = ("count",) if item.kind == "u" else ("derived",)
            elif isinstance(item, If):
                walk(item.then)
                walk(item.otherwise)
            elif isinstance(item, IfRoom):
                walk(item.then)
            elif isinstance(item, Sub):
                kinds[item.name] = ("struct", item.struct)
            elif isinstance(item, Repeat):
                kinds[item.name] = ("list", item.struct)
            elif isinstance(item, Custom):
                for name in item.names:
                    kinds[name] = ("upid",) if name == "segmentation_upid" else ()

    walk(cls.LAYOUT)
    return kinds


@cache
def _order(cls: type[Struct]) -> tuple[str, ...]:
    """Declared names in layout order, then stored fields the layout does not name."""
    names: list[str] = []

    def walk(items: tuple) -> None:
        for item in items:
            if isinstance(item, Field):
                if item.kind != "reserved":
                    names.append(item.name)
            elif isinstance(item, If):
                walk(item.then)
                walk(item.otherwise)
            elif isinstance(item, IfRoom):
                walk(item.then)
            elif isinstance(item, Custom):
                names.extend(item.names)
            else:
                names.append(item.name)

    walk(cls.LAYOUT)
    for f in dataclasses.fields(cls):
        names.append(f.name)
    return tuple(dict.fromkeys(names))


@cache
def _bytes_fields(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in dataclasses.fields(cls) if "bytes" in str(f.type))


# ----------------------------------------------------------------------------- to dict


def struct_to_dict(obj: Struct) -> dict[str, Any]:
    """A declared structure as a dict of its syntax elements."""
    cls = type(obj)
    kinds = _kinds(cls)
    stored = cls._stored
    bytes_fields = _bytes_fields(cls)
    out: dict[str, Any] = {}
    for name in _order(cls):
        kind = kinds.get(name, ())
        if kind == ("count",):
            continue
        v = getattr(obj, name)
        if name in stored and v is None:
            continue
        if name in SKIP_EMPTY and not v:
            continue
        if kind and kind[0] == "struct":
            out[name] = struct_to_dict(v)
        elif kind and kind[0] == "list":
            out[name] = [struct_to_dict(item) for item in v]
        elif kind == ("upid",):
            out[name] = upid_to_json(obj.segmentation_upid_type, v)
            text = upid_text(obj.segmentation_upid_type, v)
            if text and text != out[name]:
                out["upid_text"] = text
        elif name == "identifier":
            out[name] = identifier_to_json(v)
        elif name in bytes_fields and isinstance(v, bytes | bytearray):
            out[name] = "0x" + bytes(v).hex()
        else:
            out[name] = v
        if name in TICK_FIELDS and isinstance(v, int):
            out[f"{name}_seconds"] = round(v / PTS_HZ, 6)
    if obj.reserved_bits():
        out["reserved_bits"] = dict(obj.reserved_bits())
    return out


def identifier_to_json(v: int | None) -> str | int | None:
    """``CUEI``-style text when the 4 bytes are printable ASCII, else the integer."""
    if v is None:
        return None
    raw = v.to_bytes(4, "big")
    if all(0x20 < b < 0x7F for b in raw):
        return raw.decode("ascii")
    return v


def upid_to_json(upid_type: int, v: Any) -> Any:
    """A UPID value in JSON: text, integer, ``0x`` hex, or a dict/list for structured types."""
    if v is None or isinstance(v, str | int):
        return v
    if isinstance(v, bytes | bytearray):
        if upid_type in TEXT_UPID_TYPES:
            return {"hex": bytes(v).hex()}  # text type whose bytes are not text
        return "0x" + bytes(v).hex()
    if isinstance(v, list):
        return [struct_to_dict(m) for m in v]
    return struct_to_dict(v)


def descriptor_to_dict(d: SpliceDescriptor) -> dict[str, Any]:
    """One descriptor with its tag, name, identifier and fields."""
    tag = descriptor_tag_of(d)
    head: dict[str, Any] = {
        "splice_descriptor_tag": tag,
        "descriptor_name": "private_descriptor"
        if isinstance(d, PrivateDescriptor)
        else SPLICE_DESCRIPTOR_TAGS[tag],
    }
    body = struct_to_dict(d)
    body.pop("splice_descriptor_tag", None)
    if "identifier" in body:
        head["identifier"] = body.pop("identifier")
    if isinstance(d, PrivateDescriptor) and d.identifier is None:
        head["identifier"] = None
    if hasattr(d, "segmentation_type_id") and "segmentation_type_id" in body:
        body["segmentation_type_name"] = d.segmentation_type_name
    return {**head, **body}


def cue_to_dict(cue: Any) -> dict[str, Any]:
    """The whole section as a dict (see module docstring)."""
    out: dict[str, Any] = {"table_id": 0xFC}
    for key in HEADER_KEYS:
        out[key] = getattr(cue, key)
    out["pts_adjustment_seconds"] = round(cue.pts_adjustment / PTS_HZ, 6)
    if cue.splice_command_length is not None:
        out["splice_command_length"] = cue.splice_command_length
    if cue.encrypted_packet:
        out["encrypted_data"] = "0x" + bytes(cue.encrypted_data or b"").hex()
        if cue.e_crc_32 is not None:
            out["e_crc_32"] = cue.e_crc_32
    else:
        ctype = command_type_of(cue.command)
        out["splice_command_type"] = ctype
        out["splice_command_name"] = command_name(ctype)
        out["splice_command"] = struct_to_dict(cue.command)
        if cue.command_extra_bytes:
            out["command_extra_bytes"] = "0x" + bytes(cue.command_extra_bytes).hex()
        out["descriptors"] = [descriptor_to_dict(d) for d in cue.descriptors]
        if cue.alignment_stuffing:
            out["alignment_stuffing"] = "0x" + bytes(cue.alignment_stuffing).hex()
    for key in LENIENT_BYTES:
        if getattr(cue, key):
            out[key] = "0x" + bytes(getattr(cue, key)).hex()
    if cue.problems:
        out["problems"] = [str(p) for p in cue.problems]
    if cue.splice_point is not None:
        out["splice_point"] = cue.splice_point
    if cue.crc_32 is not None:
        out["crc_32"] = cue.crc_32
    return out


# ----------------------------------------------------------------------------- from dict


def _bytes_from(value: Any, where: str) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, dict) and set(value) == {"hex"}:
        value = value["hex"]
    if isinstance(value, str):
        s = value[2:] if value.lower().startswith("0x") else value
        try:
            return bytes.fromhex(s)
        except ValueError as exc:
            raise InvalidFieldError(f"{value!r} is not hex", field=where) from exc
    raise InvalidFieldError(f"expected hex bytes, got {type(value).__name__}", field=where)


def identifier_from_json(v: Any) -> int | None:
    """The inverse of ``identifier_to_json``."""
    if v is None or (isinstance(v, int) and not isinstance(v, bool)):
        return v
    try:
        if isinstance(v, str) and len(v) == 4:
            return int.from_bytes(v.encode("latin-1"), "big")
        if isinstance(v, str) and v.lower().startswith("0x"):
            return int(v, 16)
    except (UnicodeEncodeError, ValueError):
        pass
    raise InvalidFieldError(f"{v!r} is not a 32-bit identifier", field="identifier")


def upid_from_json(upid_type: int, v: Any) -> Any:
    """The inverse of ``upid_to_json``; also accepts EIDR (10.x/...) and UUID text forms."""
    if v is None or (isinstance(v, int) and not isinstance(v, bool)):
        return v
    if isinstance(v, dict) and set(v) == {"hex"}:
        return _bytes_from(v, "segmentation_upid")
    if upid_type == 0x0B and isinstance(v, dict):
        return struct_from_dict(AtscContentIdentifier, v)
    if upid_type == 0x0C and isinstance(v, dict):
        return struct_from_dict(Mpu, v)
    if upid_type == 0x0D and isinstance(v, list):
        return [struct_from_dict(MidUpid, m) for m in v]
    if isinstance(v, str):
        if upid_type in TEXT_UPID_TYPES:
            return v
        try:
            if upid_type == 0x0A and v.startswith("10."):
                prefix, _, rest = v[3:].partition("/")
                digits = rest.replace("-", "")[:20]
                return int(prefix).to_bytes(2, "big") + bytes.fromhex(digits)
            if upid_type == 0x10 and "-" in v:
                return uuid.UUID(v).bytes
        except (ValueError, OverflowError) as exc:
            raise InvalidFieldError(
                f"{v!r} is not a UPID of type 0x{upid_type:02X}: {exc}",
                structure="segmentation_upid",
                field="segmentation_upid",
            ) from exc
        return _bytes_from(v, "segmentation_upid")
    raise InvalidFieldError(
        f"cannot read {v!r} as UPID type 0x{upid_type:02X}",
        structure="segmentation_upid",
        field="segmentation_upid",
    )


def struct_from_dict(cls: type[Struct], d: dict[str, Any]) -> Any:
    """Build a declared structure from a dict made by ``struct_to_dict`` (or by hand)."""
    if not isinstance(d, dict):
        raise InvalidFieldError(f"expected an object, got {type(d).__name__}", structure=cls.NAME)
    kinds = _kinds(cls)
    stored = cls._stored
    bytes_fields = _bytes_fields(cls)
    kwargs: dict[str, Any] = {}
    derived: dict[str, Any] = {}
    reserved_bits = None
    for key, value in d.items():
        kind = kinds.get(key, ())
        if key in stored:
            if kind and kind[0] == "struct":
                kwargs[key] = None if value is None else struct_from_dict(kind[1], value)
            elif kind and kind[0] == "list":
                if not isinstance(value, list):
                    raise InvalidFieldError("expected a list", structure=cls.NAME, field=key)
                kwargs[key] = [struct_from_dict(kind[1], item) for item in value]
            elif kind == ("upid",):
                kwargs[key] = value  # typed below, once the UPID type is known
            elif key == "identifier":
                kwargs[key] = identifier_from_json(value)
            elif key in bytes_fields and value is not None:
                kwargs[key] = _bytes_from(value, key)
            else:
                kwargs[key] = value
        elif kind == ("derived",):
            derived[key] = value
        elif kind == ("count",) or key in COMPUTED_KEYS or key.endswith("_seconds"):
            continue
        elif key == "reserved_bits":
            if not isinstance(value, dict):
                raise InvalidFieldError("expected an object", structure=cls.NAME, field=key)
            reserved_bits = {str(k): v for k, v in value.items()}
        else:
            raise InvalidFieldError(f"unknown key {key!r}", structure=cls.NAME, field=key)
    if "segmentation_upid" in kwargs:
        upid_type = kwargs.get("segmentation_upid_type", 0)
        if type(upid_type) is not int or not 0 <= upid_type <= 0xFF:
            raise InvalidFieldError(
                f"{upid_type!r} is not an 8-bit type",
                structure="segmentation_upid",
                field="segmentation_upid_type",
            )
        kwargs["segmentation_upid"] = upid_from_json(upid_type, kwargs["segmentation_upid"])
    try:
        obj = cls(**kwargs)
    except TypeError as exc:
        raise InvalidFieldError(str(exc), structure=cls.NAME) from exc
    for key, value in derived.items():
        if bool(getattr(obj, key)) != bool(value):
            raise InvalidFieldError(
                f"is {value} but the fields it announces are {'absent' if value else 'present'}",
                structure=cls.NAME,
                field=key,
            )
    if reserved_bits:
        obj._reserved = reserved_bits
    return obj


def descriptor_from_dict(d: dict[str, Any]) -> SpliceDescriptor:
    """One descriptor from its dict; private ones are recognised by ``private_bytes``."""
    if not isinstance(d, dict):
        raise InvalidFieldError("a descriptor must be an object", structure="splice_descriptor")
    tag = d.get("splice_descriptor_tag")
    if type(tag) is not int or not 0 <= tag <= 0xFF:
        raise InvalidFieldError(
            f"{tag!r} is not an 8-bit tag",
            structure="splice_descriptor",
            field="splice_descriptor_tag",
        )
    if "private_bytes" in d or tag not in DESCRIPTORS:
        return PrivateDescriptor(
            splice_descriptor_tag=tag,
            identifier=identifier_from_json(d.get("identifier")),
            private_bytes=_bytes_from(d.get("private_bytes", ""), "private_bytes"),
        )
    return struct_from_dict(DESCRIPTORS[tag], d)


def command_from_dict(command_type: int, d: dict[str, Any]) -> SpliceCommand:
    """A command of ``command_type`` from its dict."""
    cls = COMMANDS.get(command_type)
    if cls is None or (isinstance(d, dict) and "raw" in d):  # reserved type, or undecoded
        raw = d.get("raw", "") if isinstance(d, dict) else ""
        return UnknownCommand(splice_command_type=command_type, raw=_bytes_from(raw, "raw"))
    return struct_from_dict(cls, d or {})


def cue_from_dict(d: dict[str, Any], cue_class: type) -> Any:
    """A ``cue_class`` (``Cue``) from ``cue_to_dict`` output (or a hand-written dict with the
    same names); the class is given so that this module need not import the one that uses it."""
    if not isinstance(d, dict):
        raise InvalidFieldError("a cue must be an object", structure="splice_info_section")
    if d.get("table_id", 0xFC) != 0xFC:
        raise InvalidFieldError(
            f"{d['table_id']!r} is not 0xFC", structure="splice_info_section", field="table_id"
        )
    kwargs: dict[str, Any] = {k: d[k] for k in HEADER_KEYS if k in d}
    scl = d.get("splice_command_length")
    if scl is not None and (d.get("encrypted_packet") or scl == 0xFFF):
        kwargs["splice_command_length"] = scl
    for key in LENIENT_BYTES:
        if key in d:
            kwargs[key] = _bytes_from(d[key], key)
    if d.get("encrypted_packet"):
        kwargs["encrypted_data"] = _bytes_from(d.get("encrypted_data", ""), "encrypted_data")
        kwargs["command"] = None
        return checked(cue_class(**kwargs))
    ctype = d.get("splice_command_type")
    if ctype is None:
        raise InvalidFieldError(
            "needs splice_command_type",
            structure="splice_info_section",
            field="splice_command_type",
        )
    if type(ctype) is not int or not 0 <= ctype <= 0xFF:
        raise InvalidFieldError(
            f"{ctype!r} is not an 8-bit command type",
            structure="splice_info_section",
            field="splice_command_type",
        )
    kwargs["command"] = command_from_dict(ctype, d.get("splice_command", {}))
    descriptors = d.get("descriptors", [])
    if not isinstance(descriptors, list):
        raise InvalidFieldError(
            "expected a list", structure="splice_info_section", field="descriptors"
        )
    kwargs["descriptors"] = [descriptor_from_dict(x) for x in descriptors]
    for key in ("alignment_stuffing", "command_extra_bytes"):
        if key in d:
            kwargs[key] = _bytes_from(d[key], key)
    known = (
        set(HEADER_KEYS)
        | COMPUTED_KEYS
        | {
            "splice_command_length",
            "splice_command",
            "descriptors",
            "alignment_stuffing",
            "command_extra_bytes",
            "encrypted_data",
            "pts_adjustment_seconds",
            *LENIENT_BYTES,
        }
    )
    unknown = [k for k in d if k not in known]
    if unknown:
        raise InvalidFieldError(
            f"unknown key {unknown[0]!r}", structure="splice_info_section", field=unknown[0]
        )
    return checked(cue_class(**kwargs))
