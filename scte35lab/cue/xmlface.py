"""The vocabulary of a structure's XML face: how its declared fields appear in SCTE 35 XML.

A structure's ``XML`` lists, in document order, the attributes, nested elements and extension
markup it is written as (schema namespace ``http://www.scte.org/schemas/35``); one engine,
:mod:`scte35lab.cue.xmlform`, writes and reads every face. Names are the declared syntax
element names; an attribute's XML name is that name in lower camel case
(``splice_event_id`` -> ``spliceEventId``) unless the schema spells it otherwise. Value types
(bits, flag, characters) come from the binary declaration, so a face says only where a field
goes. Conditions are expressions over declared names, checked when the class is defined and
compiled once to functions, like the layout's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scte35lab.cue.conditions import condition_names


def camel(name: str) -> str:
    """``splice_event_id`` -> ``spliceEventId``: the schema's spelling of most names."""
    first, *rest = name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


@dataclass(frozen=True)
class Attr:
    """A field as an attribute. ``required``: reading fails when it is absent, else the
    field takes ``default`` (the dataclass default when not given). ``bits``: the width of a
    field the binary layout does not declare (e.g. a descriptor's identifier)."""

    name: str
    xml: str = ""
    required: bool = False
    default: Any = None
    has_default: bool = False
    bits: int | None = None

    def __post_init__(self) -> None:
        if not self.xml:
            object.__setattr__(self, "xml", camel(self.name))

    @property
    def tag(self) -> str:
        """The attribute's XML name."""
        return self.xml


def attr(
    name: str, xml: str = "", *, required: bool = False, bits: int | None = None, **default: Any
) -> Attr:
    """An attribute; ``default=`` overrides the dataclass default used when it is absent."""
    if default and set(default) != {"default"}:
        raise TypeError(f"unknown options {sorted(default)}")
    return Attr(name, xml, required, default.get("default"), bool(default), bits)


def need(name: str, xml: str = "", *, bits: int | None = None) -> Attr:
    """A required attribute."""
    return Attr(name, xml, True, None, False, bits)


@dataclass(frozen=True)
class Ext:
    """A field the schema cannot say, as a ``lab:`` attribute (bytes as hex), written only
    when it differs from the dataclass default."""

    name: str
    xml: str = ""
    bits: int | None = None

    def __post_init__(self) -> None:
        if not self.xml:
            object.__setattr__(self, "xml", camel(self.name))

    @property
    def tag(self) -> str:
        """The attribute's XML name."""
        return self.xml


@dataclass(frozen=True)
class Child:
    """A nested structure (``Sub``) as its own element, left out when None; read as
    ``absent()`` when the element is missing (None if no factory)."""

    name: str
    absent: Callable[[], Any] | None = None


@dataclass(frozen=True)
class Each:
    """A list of nested structures (``Repeat``), one element each."""

    name: str


@dataclass(frozen=True)
class HexText:
    """A bytes field as hex content: of the element itself, or of the child ``element``
    (read from the element's own content when that child is missing)."""

    name: str
    element: str = ""


@dataclass(frozen=True)
class When:
    """Items written and read only when ``test`` holds (e.g. not a cancel)."""

    test: str
    then: tuple


@dataclass(frozen=True)
class Group:
    """Fields of the same structure gathered in a child element (``DeliveryRestrictions``,
    ``Program``). With ``flag``, the element is there when the flag is ``present`` and reading
    it sets the flag; ``required`` makes reading fail, naming ``message``, when it is missing
    but the layout needs it."""

    element: str
    then: tuple
    flag: str = ""
    present: bool = True
    message: str = ""


@dataclass(frozen=True)
class Mode:
    """A program/component mode flag: ``program`` (a Group or nothing) when the flag is set,
    else the ``components`` elements; the flag itself is implied by which is there, and
    written as ``lab:`` only when no element could say it (component mode, no components)."""

    flag: str
    program: Group | None
    components: Each


@dataclass(frozen=True)
class Hook:
    """Fields whose XML form is genuinely special (a UPID's text/hex/MID forms): written and
    read by the hook the engine registers under ``name``."""

    name: str
    names: tuple[str, ...]
    elements: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReservedBits:
    """Where ``lab:reservedBits`` goes among the attributes (the end, unless placed)."""


@dataclass(frozen=True)
class Face:
    """The XML face of one structure: its element and its items in document order.
    ``lab``: the element is in the extension namespace (things the schema has no element
    for)."""

    element: str
    items: tuple = ()
    lab: bool = False

    @property
    def key(self) -> str:
        return f"lab:{self.element}" if self.lab else self.element


def child_elements(face: Face, faces: Callable[[str], Face]) -> tuple[str, ...]:
    """The names of the elements ``face`` may hold (``lab:`` prefixed for the extension)."""
    out: list[str] = []

    def walk(items: tuple) -> None:
        for item in items:
            t = type(item)
            if t is Child or t is Each:
                out.append(faces(item.name).key)
            elif t is HexText and item.element:
                out.append(item.element)
            elif t is When:
                walk(item.then)
            elif t is Group:
                out.append(item.element)
            elif t is Mode:
                walk(
                    (item.components,) if item.program is None else (item.program, item.components)
                )
            elif t is Hook:
                out.extend(item.elements)

    walk(face.items)
    return tuple(dict.fromkeys(out))


def face_names(items: tuple) -> list[tuple[str, str]]:
    """(name, what) for every field name a face's items read or write, conditions included."""
    out: list[tuple[str, str]] = []
    for item in items:
        t = type(item)
        if t is When:
            out += [(n, f"condition {item.test!r}") for n in condition_names(item.test)]
            out += face_names(item.then)
        elif t is Group:
            if item.flag:
                out.append((item.flag, f"group {item.element}"))
            out += face_names(item.then)
        elif t is Mode:
            out.append((item.flag, "mode"))
            out += face_names(((item.program,) if item.program else ()) + (item.components,))
        elif t is Hook:
            out += [(n, f"hook {item.name}") for n in item.names]
        elif t is not ReservedBits:
            out.append((item.name, t.__name__))
    return out


__all__ = [
    "Attr",
    "Child",
    "Each",
    "Ext",
    "Face",
    "Group",
    "HexText",
    "Hook",
    "Mode",
    "ReservedBits",
    "When",
    "attr",
    "camel",
    "child_elements",
    "face_names",
    "need",
]
