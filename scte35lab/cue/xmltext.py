"""The text side of SCTE 35 XML: namespaces, parsing, indented serializing, and the typed
attribute readers and writers every XML face uses (numbers, flags, hex, one-byte text, the
``lab:`` extension attributes) with errors that name the element and attribute."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from scte35lab.cue.layout import Struct
from scte35lab.errors import InputFormatError, InvalidFieldError

SCTE35_NS = "http://www.scte.org/schemas/35"
SCTE35_NAMESPACES = frozenset(
    {SCTE35_NS, "http://www.scte.org/schemas/35/2016", "https://scte.org/schemas/35", ""}
)
EXT_NS = "urn:scte35lab:xml:1"
PREFIXES = {SCTE35_NS: "scte35", EXT_NS: "lab"}

_FORBIDDEN = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
REQUIRED: Any = object()  # as a default: the attribute must be there


# ----------------------------------------------------------------------------- writing


def scte_tag(name: str) -> str:
    return f"{{{SCTE35_NS}}}{name}"


def lab_tag(name: str) -> str:
    return f"{{{EXT_NS}}}{name}"


def set_lab(el: ET.Element, name: str, value: Any) -> None:
    if isinstance(value, bytes | bytearray):
        value = bytes(value).hex()
    elif isinstance(value, bool):
        value = "true" if value else "false"
    el.set(lab_tag(name), str(value))


def put_reserved(el: ET.Element, obj: Struct) -> None:
    bits = obj.reserved_bits()
    if bits:
        set_lab(el, "reservedBits", " ".join(f"{k}={v}" for k, v in sorted(bits.items())))


def _qname(tag: str, used: set[str]) -> str:
    if tag[0] == "{":
        ns, _, local = tag[1:].partition("}")
        used.add(ns)
        return f"{PREFIXES[ns]}:{local}"
    return tag


def serialize(root: ET.Element) -> str:
    """Indented XML text with fixed prefixes (scte35, lab), declaring only those in use."""
    used: set[str] = set()
    lines: list[str] = []

    def write(el: ET.Element, depth: int) -> None:
        name = _qname(el.tag, used)
        attrs = "".join(
            f' {_qname(k, used)}="{v}"' if v.isalnum() else f" {_qname(k, used)}={quoteattr(v)}"
            for k, v in el.attrib.items()
        )
        pad = "  " * depth
        if len(el):
            lines.append(f"{pad}<{name}{attrs}>")
            for child in el:
                write(child, depth + 1)
            lines.append(f"{pad}</{name}>")
        elif el.text:
            text = el.text if el.text.isalnum() else escape(el.text)
            lines.append(f"{pad}<{name}{attrs}>{text}</{name}>")
        else:
            lines.append(f"{pad}<{name}{attrs}/>")

    write(root, 0)
    decls = "".join(
        f" xmlns:{PREFIXES[ns]}={quoteattr(ns)}" for ns in (SCTE35_NS, EXT_NS) if ns in used
    )
    first = lines[0]
    cut = first.index(" ") if " " in first else len(first) - (2 if first.endswith("/>") else 1)
    lines[0] = first[:cut] + decls + first[cut:]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- reading


def parse(text: str | bytes) -> ET.Element:
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputFormatError(f"XML input is not UTF-8: {exc}") from exc
    if not isinstance(text, str):
        raise InputFormatError(f"XML input must be text, got {type(text).__name__}")
    if _FORBIDDEN.search(text):
        raise InputFormatError("XML with a DOCTYPE or ENTITY declaration is refused")
    try:
        return ET.fromstring(text.strip())
    except ET.ParseError as exc:
        raise InputFormatError(f"XML is not well-formed: {exc}") from exc


def split_tag(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def element_kind(el: ET.Element) -> tuple[str, str]:
    """("scte" | "ext" | "foreign", local name) of an element."""
    if not isinstance(el.tag, str):
        return "foreign", ""
    ns, local = split_tag(el.tag)
    if ns in SCTE35_NAMESPACES:
        return "scte", local
    if ns == EXT_NS:
        return "ext", local
    return "foreign", local


def children_of(el: ET.Element, allowed: tuple[str, ...]) -> list[tuple[str, ET.Element]]:
    """SCTE and extension children as (name, element); foreign markup is skipped."""
    out = []
    for child in el:
        kind, local = element_kind(child)
        if kind == "foreign":
            continue
        key = local if kind == "scte" else f"lab:{local}"
        if key not in allowed:
            raise InvalidFieldError(
                f"unexpected element {local!r}", structure=split_tag(el.tag)[1], field=local
            )
        out.append((key, child))
    return out


def one_child(
    children: list[tuple[str, ET.Element]], name: str, parent: ET.Element
) -> ET.Element | None:
    """The one child element ``name`` among ``children`` (of ``parent``), or None; more than
    one is an error."""
    found = [c for k, c in children if k == name]
    if len(found) > 1:
        raise InvalidFieldError(
            f"more than one {name} element", structure=split_tag(parent.tag)[1], field=name
        )
    return found[0] if found else None


def raw_attr(el: ET.Element, name: str) -> str | None:
    """An attribute without namespace, or in one of SCTE 35's."""
    value = el.get(name)
    if value is None and any(k[0] == "{" for k in el.attrib):
        for ns in SCTE35_NAMESPACES:
            if ns and (value := el.get(f"{{{ns}}}{name}")) is not None:
                break
    return value


def int_attr(
    el: ET.Element, name: str, bits: int, default: Any = REQUIRED, ext: bool = False
) -> Any:
    """An unsigned attribute of at most ``bits`` bits (decimal, or 0x-prefixed hex)."""
    raw = el.get(lab_tag(name)) if ext else raw_attr(el, name)
    if raw is None:
        if default is REQUIRED:
            raise _bad(el, name, ext, "required attribute is missing")
        return default
    s = raw.strip()
    try:
        value = int(s, 16) if s[:2].lower() == "0x" else int(s, 10)
    except ValueError:
        raise _bad(el, name, ext, f"{raw!r} is not an unsigned integer") from None
    if value < 0 or value >> bits:
        raise _bad(el, name, ext, f"{value} does not fit in {bits} unsigned bits")
    return value


def _bad(el: ET.Element, name: str, ext: bool, message: str) -> InvalidFieldError:
    """The error naming the element and (``lab:``) attribute."""
    field = f"lab:{name}" if ext else name
    return InvalidFieldError(message, structure=split_tag(el.tag)[1], field=field)


def bool_attr(el: ET.Element, name: str, default: Any = REQUIRED, ext: bool = False) -> Any:
    """A boolean attribute (true/false/1/0)."""
    raw = el.get(lab_tag(name)) if ext else raw_attr(el, name)
    if raw is None:
        if default is REQUIRED:
            raise _bad(el, name, ext, "required attribute is missing")
        return default
    s = raw.strip().lower()
    if s in ("true", "1"):
        return True
    if s in ("false", "0"):
        return False
    raise _bad(el, name, ext, f"{raw!r} is not a boolean (true/false/1/0)")


def text_attr(el: ET.Element, name: str, max_len: int, exact: bool = False) -> str:
    value = raw_attr(el, name)
    where = {"structure": split_tag(el.tag)[1], "field": name}
    coded = el.get(lab_tag(f"{name}Hex"))
    if coded is not None:
        value = hex_bytes(coded, where["structure"], f"lab:{name}Hex").decode("latin-1")
    if value is None:
        raise InvalidFieldError("required attribute is missing", **where)
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise InvalidFieldError(f"{value!r} is not one-byte characters", **where) from None
    if len(value) > max_len or (exact and len(value) != max_len):
        need = f"exactly {max_len}" if exact else f"at most {max_len}"
        raise InvalidFieldError(f"{value!r} needs {need} characters", **where)
    return value


def hex_bytes(text: str | None, element: str, field: str) -> bytes:
    s = re.sub(r"\s+", "", text or "")
    if s[:2].lower() == "0x":
        s = s[2:]
    try:
        return bytes.fromhex(s)
    except ValueError:
        raise InvalidFieldError(f"{text!r} is not hex", structure=element, field=field) from None


def lab_bytes(el: ET.Element, name: str) -> bytes:
    raw = el.get(lab_tag(name))
    return b"" if raw is None else hex_bytes(raw, split_tag(el.tag)[1], f"lab:{name}")


def take_reserved(el: ET.Element, obj: Struct) -> Any:
    raw = el.get(lab_tag("reservedBits"))
    if raw:
        bits: dict[str, int] = {}
        for part in raw.split():
            key, sep, value = part.partition("=")
            if not sep or not key.startswith("reserved_") or not value.isdigit():
                raise InvalidFieldError(
                    f"{part!r} is not reserved_N=value",
                    structure=split_tag(el.tag)[1],
                    field="lab:reservedBits",
                )
            bits[key] = int(value)
        obj._reserved = bits
    return obj


__all__ = [
    "EXT_NS",
    "PREFIXES",
    "REQUIRED",
    "SCTE35_NAMESPACES",
    "SCTE35_NS",
    "XML_ILLEGAL",
    "bool_attr",
    "children_of",
    "element_kind",
    "hex_bytes",
    "int_attr",
    "lab_bytes",
    "lab_tag",
    "one_child",
    "parse",
    "put_reserved",
    "raw_attr",
    "scte_tag",
    "serialize",
    "set_lab",
    "split_tag",
    "take_reserved",
    "text_attr",
]
