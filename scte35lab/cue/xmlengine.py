"""The one XML engine: writes and reads any declared structure as its ``XML`` face says.

Value types come from the binary declaration (``LAYOUT``), element and attribute names and
their order from the face (:mod:`scte35lab.cue.xmlface`); the only hook is the UPID's, whose
text, hex, MPU and MID forms have no counterpart in the layout.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

from scte35lab.cue.conditions import condition
from scte35lab.cue.layout import Chars, Field, If, IfRoom, Repeat, Rest, Struct, Sub
from scte35lab.cue.tables import TEXT_UPID_TYPES
from scte35lab.cue.upids import MidUpid, Mpu, upid_bytes, upid_value
from scte35lab.cue.xmlface import (
    Attr,
    Child,
    Each,
    Ext,
    Face,
    Group,
    HexText,
    Hook,
    Mode,
    ReservedBits,
    When,
    camel,
    child_elements,
)
from scte35lab.cue.xmltext import (
    REQUIRED,
    XML_ILLEGAL,
    bool_attr,
    children_of,
    hex_bytes,
    int_attr,
    lab_bytes,
    lab_tag,
    one_child,
    put_reserved,
    raw_attr,
    scte_tag,
    set_lab,
    split_tag,
    take_reserved,
    text_attr,
)
from scte35lab.errors import InvalidFieldError

MID = 0x0D
MPU = 0x0C

Getter = Callable[[str], Any]


# ----------------------------------------------------------------------------- declarations


@functools.cache
def xml_types(layout_cls: type, data_cls: type) -> dict[str, tuple]:
    """name -> ("int", bits) | ("bool",) | ("chars", most, exact) | ("bytes",) | ("struct", C)
    | ("list", C, count name, most items): what each field of ``data_cls`` holds, from the
    binary declaration of ``layout_cls`` (fields it does not declare: bytes by their default)."""
    out: dict[str, tuple] = {}
    widths: dict[str, int] = {}

    def walk(items: tuple) -> None:
        for item in items:
            t = type(item)
            if t is Field:
                widths[item.name] = item.bits
                out[item.name] = ("bool",) if item.kind == "flag" else ("int", item.bits)
            elif t is If:
                walk(item.then)
                walk(item.otherwise)
            elif t is IfRoom:
                walk(item.then)
            elif t is Sub:
                out[item.name] = ("struct", item.struct)
            elif t is Repeat:
                most = None if item.count is None else (1 << widths[item.count]) - 1
                out[item.name] = ("list", item.struct, item.count, most)
            elif t is Rest:
                out[item.name] = ("bytes",)
            elif t is Chars:
                if type(item.count) is int:
                    out[item.name] = ("chars", item.count, True)
                else:
                    out[item.name] = ("chars", (1 << widths[item.count]) - 1, False)

    walk(layout_cls.LAYOUT)
    for f in dataclasses.fields(data_cls):
        if f.name not in out and isinstance(f.default, bytes):
            out[f.name] = ("bytes",)
    return out


def _type(cls: type, item: Attr | Ext, layout_cls: type | None = None) -> tuple:
    """What an attribute holds: its own ``bits`` if given, else the declared type."""
    if item.bits is not None:
        return ("int", item.bits)
    return xml_types(layout_cls or cls, cls)[item.name]


@functools.cache
def _defaults(cls: type) -> dict[str, Any]:
    """The plain dataclass default of each field (fields made by a factory are left out: the
    constructor makes them)."""
    out = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
    return out


def _items_allowed(cls: type[Struct], items: tuple) -> tuple[str, ...]:
    """The child elements ``items`` of ``cls``'s face may write (kept per declared tuple:
    faces are class attributes, made once)."""
    key = (cls, id(items))
    entry = _ALLOWED.get(key)
    if entry is None or entry[0] is not items:
        types = xml_types(cls, cls)
        entry = _ALLOWED[key] = (items, child_elements(Face("", items), lambda n: types[n][1].XML))
    return entry[1]


_ALLOWED: dict[tuple[type, int], tuple[tuple, tuple[str, ...]]] = {}


def _attr_plan(cls: type, item: Attr | Ext, layout: type | None) -> tuple[tuple, Any]:
    """(type, default when absent) of one attribute of ``cls``, worked out once."""
    key = (cls, id(item), layout)
    entry = _PLANS.get(key)
    if entry is None or entry[0] is not item:
        if type(item) is Attr and item.has_default:
            default = item.default
        elif type(item) is Attr and item.required:
            default = REQUIRED
        else:
            default = _defaults(cls).get(item.name)
        entry = _PLANS[key] = (item, _type(cls, item, layout), default)
    return entry[1], entry[2]


_PLANS: dict[tuple, tuple] = {}


def _allowed(cls: type[Struct]) -> tuple[str, ...]:
    """The child elements ``cls``'s element may hold."""
    return _items_allowed(cls, cls.XML.items)


# ----------------------------------------------------------------------------- writing


def no_outer(name: str) -> Any:
    """The outer getter of a top-level structure: nothing encloses it."""
    return None


def _sub(parent: ET.Element, face_key: str) -> ET.Element:
    """A new child element in SCTE 35's namespace, or in ours for a ``lab:`` face."""
    if face_key.startswith("lab:"):
        return ET.SubElement(parent, lab_tag(face_key[4:]))
    return ET.SubElement(parent, scte_tag(face_key))


def write_element(parent: ET.Element, obj: Struct, outer: Callable[[str], Any]) -> ET.Element:
    """Write ``obj`` as the element its face declares, under ``parent``."""
    cls = type(obj)
    el = _sub(parent, cls.XML.key)

    def get(name: str) -> Any:
        try:
            return getattr(obj, name)
        except AttributeError:
            return outer(name)

    if not write_items(el, obj, cls.XML.items, get):
        put_reserved(el, obj)
    return el


def write_items(
    el: ET.Element, obj: Any, items: tuple, get: Callable[[str], Any], layout: type | None = None
) -> bool:
    """Write ``items`` of ``obj`` onto ``el``; True when lab:reservedBits was placed.
    ``layout`` declares the types when ``obj``'s class is not itself declared (the Cue)."""
    cls = type(obj)
    placed = False
    for item in items:
        t = type(item)
        if t is Attr:
            value = get(item.name)
            if value is None:
                continue
            kind = _type(cls, item, layout)[0]
            if kind == "chars" and XML_ILLEGAL.search(value):
                set_lab(el, f"{item.tag}Hex", value.encode("latin-1"))
            elif value is True or value is False:
                el.set(item.tag, "true" if value else "false")
            else:
                el.set(item.tag, str(value))
        elif t is Ext:
            value = get(item.name)
            if value != _defaults(cls).get(item.name):
                set_lab(el, item.tag, value)
        elif t is Child:
            value = get(item.name)
            if value is not None:
                write_element(el, value, get)
        elif t is Each:
            for value in get(item.name):
                write_element(el, value, get)
        elif t is HexText:
            target = ET.SubElement(el, scte_tag(item.element)) if item.element else el
            target.text = bytes(get(item.name)).hex()
        elif t is When:
            if condition(item.test)(get):
                placed |= write_items(el, obj, item.then, get)
        elif t is Group:
            if not item.flag or bool(get(item.flag)) == item.present:
                placed |= write_items(
                    ET.SubElement(el, scte_tag(item.element)), obj, item.then, get
                )
        elif t is Mode:
            if get(item.flag):
                if item.program is not None:
                    placed |= write_items(el, obj, (item.program,), get)
            else:
                if not get(item.components.name):
                    set_lab(el, camel(item.flag), False)
                write_items(el, obj, (item.components,), get)
        elif t is Hook:
            HOOKS[item.name][0](el, get)
        elif t is ReservedBits:
            put_reserved(el, obj)
            placed = True
    return placed


# ----------------------------------------------------------------------------- reading


def read_element(el: ET.Element, cls: type[Struct], outer: Callable[[str], Any]) -> Struct:
    """A ``cls`` read from its element, as its face declares."""
    children = children_of(el, _allowed(cls))
    values: dict[str, Any] = {}

    def get(name: str) -> Any:
        return values[name] if name in values else outer(name)

    read_items(el, cls, cls.XML.items, values, get, children)
    return take_reserved(el, cls(**values))


def read_items(
    el: ET.Element,
    cls: type,
    items: tuple,
    values: dict[str, Any],
    get: Callable[[str], Any],
    children: list[tuple[str, ET.Element]],
    layout: type | None = None,
) -> None:
    """Read ``items`` of a ``cls`` from ``el`` (whose accepted ``children`` are given) into
    ``values``; ``layout`` declares the types when ``cls`` is not itself declared (the Cue)."""
    for item in items:
        t = type(item)
        if t is Attr:
            kind, default = _attr_plan(cls, item, layout)
            values[item.name] = _read_attr(el, kind, item.tag, default)
        elif t is Ext:
            kind, default = _attr_plan(cls, item, layout)
            if kind[0] == "bytes":
                values[item.name] = lab_bytes(el, item.tag)
            elif kind[0] == "bool":
                values[item.name] = bool_attr(el, item.tag, default, ext=True)
            else:
                values[item.name] = int_attr(el, item.tag, kind[1], default, ext=True)
        elif t is Child:
            sub_cls = xml_types(cls, cls)[item.name][1]
            found = one_child(children, sub_cls.XML.key, el)
            if found is not None:
                values[item.name] = read_element(found, sub_cls, get)
            elif item.absent is not None:
                values[item.name] = item.absent()
        elif t is Each:
            _, sub_cls, count, most = xml_types(cls, cls)[item.name]
            key = sub_cls.XML.key
            found = [c for k, c in children if k == key]
            if most is not None and len(found) > most:
                raise InvalidFieldError(
                    f"{len(found)} {key} elements; {count} holds at most {most}",
                    structure=split_tag(el.tag)[1],
                    field=key,
                )
            values[item.name] = [read_element(c, sub_cls, get) for c in found]
        elif t is HexText:
            text, field = el.text, "text"
            if item.element:
                found = one_child(children, item.element, el)
                text = found.text if found is not None else el.text
                field = item.element
            values[item.name] = hex_bytes(text, split_tag(el.tag)[1], field)
        elif t is When:
            if condition(item.test)(get):
                read_items(el, cls, item.then, values, get, children)
        elif t is Group:
            found = one_child(children, item.element, el)
            if found is not None:
                if item.flag:
                    values[item.flag] = item.present
                inner = children_of(found, _items_allowed(cls, item.then))
                read_items(found, cls, item.then, values, get, inner)
        elif t is Mode:
            _read_mode(el, cls, item, values, get, children)
        elif t is Hook:
            values.update(HOOKS[item.name][1](el, children))


def _read_mode(
    el: ET.Element,
    cls: type,
    mode: Mode,
    values: dict[str, Any],
    get: Callable[[str], Any],
    children: list[tuple[str, ET.Element]],
) -> None:
    """Program or components: which elements are there says the flag (lab: when neither)."""
    element = split_tag(el.tag)[1]
    key = xml_types(cls, cls)[mode.components.name][1].XML.key
    components = [c for k, c in children if k == key]
    program = None
    if mode.program is not None:
        program = one_child(children, mode.program.element, el)
        if program is not None and components:
            raise InvalidFieldError(
                f"has both {mode.program.element} and {key} elements",
                structure=element,
                field=mode.program.element,
            )
    flag = values[mode.flag] = bool_attr(el, camel(mode.flag), not components, ext=True)
    if mode.program is not None and (program is not None or flag):
        if program is None and mode.program.message:
            raise InvalidFieldError(
                mode.program.message, structure=element, field=mode.program.element
            )
        inside = program if program is not None else ET.Element(mode.program.element)
        inner = children_of(inside, _items_allowed(cls, mode.program.then))
        read_items(inside, cls, mode.program.then, values, get, inner)
    read_items(el, cls, (mode.components,), values, get, children)


def _read_attr(el: ET.Element, kind: tuple, name: str, default: Any) -> Any:
    """One attribute of the declared type (``REQUIRED`` as default: it must be there)."""
    if kind[0] == "bool":
        return bool_attr(el, name, default)
    if kind[0] == "chars":
        if (
            default is not REQUIRED
            and raw_attr(el, name) is None
            and el.get(lab_tag(f"{name}Hex")) is None
        ):
            return default
        return text_attr(el, name, kind[1], exact=kind[2])
    return int_attr(el, name, kind[1], default)


# ----------------------------------------------------------------------------- the UPID hook


def _write_upids(el: ET.Element, get: Callable[[str], Any]) -> None:
    """A MID as one SegmentationUpid per UPID it holds (lab:segmentationUpidType when fewer
    than two say it is a MID), any other type as one; type 0 with no value as none."""
    utype, value = get("segmentation_upid_type"), get("segmentation_upid")
    if utype == MID and isinstance(value, list):
        if len(value) < 2:
            set_lab(el, "segmentationUpidType", MID)
        for item in value:
            _upid_element(el, item.segmentation_upid_type, item.segmentation_upid)
    elif not (utype == 0 and value is None):
        _upid_element(el, utype, value)


def _upid_element(parent: ET.Element, utype: int, value: Any) -> None:
    el = ET.SubElement(parent, scte_tag("SegmentationUpid"))
    el.set("segmentationUpidType", str(utype))
    if isinstance(value, str) and utype in TEXT_UPID_TYPES and not XML_ILLEGAL.search(value):
        el.set("segmentationUpidFormat", "text")
        el.text = value
        return
    el.set("segmentationUpidFormat", "hexbinary")
    if utype == MPU and isinstance(value, Mpu):
        el.set("formatIdentifier", str(value.format_identifier))
        el.text = bytes(value.private_data).hex()
        return
    el.text = upid_bytes(utype, value).hex()


def _read_upids(el: ET.Element, children: list[tuple[str, ET.Element]]) -> dict[str, Any]:
    upids = [_read_upid(c) for k, c in children if k == "SegmentationUpid"]
    forced = int_attr(el, "segmentationUpidType", 8, None, ext=True)
    if forced == MID or len(upids) > 1:
        return {
            "segmentation_upid_type": MID,
            "segmentation_upid": [MidUpid(t, v) for t, v in upids],
        }
    if upids:
        return dict(zip(("segmentation_upid_type", "segmentation_upid"), upids[0], strict=True))
    return {}


def _read_upid(el: ET.Element) -> tuple[int, Any]:
    children_of(el, ())
    utype = int_attr(el, "segmentationUpidType", 8)
    fmt = (raw_attr(el, "segmentationUpidFormat") or "").strip().lower()
    if not fmt:
        fmt = "text" if utype in TEXT_UPID_TYPES else "hexbinary"
    content = el.text or ""
    if fmt == "text":
        raw = content.encode("utf-8")
    elif fmt == "hexbinary":
        raw = hex_bytes(content, "SegmentationUpid", "text")
    elif fmt in ("base-64", "base64"):
        try:
            raw = base64.b64decode(re.sub(r"\s+", "", content), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidFieldError(
                f"not valid base64: {exc}", structure="SegmentationUpid", field="text"
            ) from exc
    else:
        raise InvalidFieldError(
            f"{fmt!r} is not text, hexbinary or base-64",
            structure="SegmentationUpid",
            field="segmentationUpidFormat",
        )
    if utype == MPU:
        fid = int_attr(el, "formatIdentifier", 32, None)
        if fid is not None:
            raw = fid.to_bytes(4, "big") + raw
    if len(raw) > 255:
        raise InvalidFieldError(
            f"{len(raw)} bytes do not fit segmentation_upid_length",
            structure="SegmentationUpid",
            field="text",
        )
    return utype, upid_value(utype, raw)


# The declared hooks: name -> (write onto the element, read from it and its children).


HOOKS: dict[str, tuple[Callable, Callable]] = {"upid": (_write_upids, _read_upids)}


__all__ = [
    "HOOKS",
    "Getter",
    "no_outer",
    "read_element",
    "read_items",
    "write_element",
    "write_items",
    "xml_types",
]
