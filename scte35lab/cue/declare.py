"""The declaration vocabulary: how a structure lists its syntax elements once (``LAYOUT``),
and ``Struct``, the base that compiles that list when the class is defined.

Each structure lists its syntax elements in the standard's order, with their widths in bits
and their conditions. Compiling turns the list into steps: runs of unconditional fixed-width
fields become one ``Run`` with its bitstring format and widths (read by
:mod:`scte35lab.cue.layout_read`, written by :mod:`scte35lab.cue.layout_write`). Names a
condition or count reads, and names an XML face uses, are checked here, so a misspelt one
fails when the class is defined. Reserved bits are written as all ones; other values read are
kept so re-encoding is bit-exact.
"""

from __future__ import annotations

import dataclasses
import functools
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from scte35lab.cue.conditions import Getter, condition_names
from scte35lab.cue.xmlface import face_names

# ----------------------------------------------------------------------------- vocabulary


@dataclass(frozen=True)
class Field:
    """A fixed-width unsigned field. ``derived`` fields are computed on write, not stored."""

    name: str
    bits: int
    kind: str = "u"  # "u", "flag", "reserved"
    derived: bool = False


def u(name: str, bits: int) -> Field:
    """An unsigned integer syntax element (uimsbf / bslbf)."""
    return Field(name, bits)


def flag(name: str) -> Field:
    """A one-bit flag, held as ``bool``."""
    return Field(name, 1, "flag")


def derived_flag(name: str) -> Field:
    """A one-bit flag that says whether an optional part is present (a read-only property)."""
    return Field(name, 1, "flag", derived=True)


def count(name: str, bits: int) -> Field:
    """A count of the items of the list that follows; written as that list's length."""
    return Field(name, bits, "u", derived=True)


def reserved(bits: int) -> Field:
    """Reserved bits: written as all ones, read without complaint and kept if they differ."""
    return Field("reserved", bits, "reserved")


@dataclass(frozen=True)
class If:
    """Fields present only when ``test`` holds: an expression over fields already known,
    written as in the standard's syntax table (``"not splice_event_cancel_indicator"``).

    ``likely`` says which branch real sections usually take; the reader fetches that path
    ahead in one call (a wrong guess costs one more read, never a wrong value)."""

    test: str
    then: tuple
    otherwise: tuple = ()
    likely: bool = True


@dataclass(frozen=True)
class IfRoom:
    """Optional trailing fields: read when ``test`` holds and the bytes are there; written when
    ``test`` holds and their values are set (e.g. sub_segment_num, sub_segments_expected)."""

    test: str
    then: tuple


@dataclass(frozen=True)
class Sub:
    """A nested structure held in one attribute (e.g. splice_time, break_duration)."""

    name: str
    struct: type[Struct]


@dataclass(frozen=True)
class Repeat:
    """A list of nested structures: ``count`` names the count field read before it, or
    ``None`` for items until the end of the enclosing bytes."""

    name: str
    struct: type[Struct]
    count: str | None = None


@dataclass(frozen=True)
class Rest:
    """The remaining bytes of the enclosing structure, kept as ``bytes``."""

    name: str


@dataclass(frozen=True)
class Chars:
    """One-byte characters (e.g. DTMF_char, ISO_code), held as ``str``; ``count`` is a number
    or the name of the count field read before them."""

    name: str
    count: str | int


@dataclass(frozen=True)
class Custom:
    """A syntax element with its own read/write functions (e.g. segmentation_upid)."""

    names: tuple[str, ...]
    # read(cursor, end_bit, getter) -> the values of ``names``, in order (a layout_read.Cursor)
    read: Callable[[Any, int, Getter], tuple]
    write: Callable[[Any, Getter], None]  # write(layout_write.Writer, getter)
    reads_names: bool = False  # whether ``read`` looks at fields read before it
    check: Callable[[Getter], None] | None = None  # raises InvalidFieldError on a bad value


# ----------------------------------------------------------------------------- compiled steps


@dataclass(frozen=True)
class Run:
    """Consecutive unconditional fixed fields: one bitstring format, one read."""

    fields: tuple[Field, ...]
    fmt: str
    bits: int
    plain: bool = False  # no reserved bits: values map straight to names
    names: tuple[str, ...] = ()
    byte_widths: tuple[int, ...] | None = None  # when every field is whole bytes


def byte_widths(fields: list[Field] | tuple[Run, ...]) -> tuple[int, ...] | None:
    """Byte widths of fields that are all whole-byte integers, else None."""
    widths: list[int] = []
    for f in fields:
        if isinstance(f, Run):
            if f.byte_widths is None:
                return None
            widths.extend(f.byte_widths)
        elif f.kind == "flag" or f.bits % 8:
            return None
        else:
            widths.append(f.bits // 8)
    return tuple(widths)


_STRUCT_CODES = {1: "B", 2: "H", 4: "I", 8: "Q"}


@functools.cache
def byte_unpacker(widths: tuple[int, ...] | None) -> Callable[[bytes, int], Any] | None:
    """A function reading big-endian integers of these byte widths at a byte index."""
    if widths is None:
        return None
    if all(w in _STRUCT_CODES for w in widths):
        return struct.Struct(">" + "".join(_STRUCT_CODES[w] for w in widths)).unpack_from

    def unpack(data: bytes, i: int) -> list[int]:
        values = []
        for w in widths:
            values.append(int.from_bytes(data[i : i + w], "big"))
            i += w
        return values

    return unpack


def _compile(items: tuple, reserved_seq: list[int] | None = None) -> tuple:
    """Group fixed fields into Runs; number reserved fields so both directions agree."""
    seq = [0] if reserved_seq is None else reserved_seq
    steps: list = []
    pending: list[Field] = []

    def flush() -> None:
        if pending:
            fmt = ", ".join("bool" if f.kind == "flag" else f"u{f.bits}" for f in pending)
            plain = all(f.kind != "reserved" for f in pending)
            names = tuple(f.name for f in pending)
            widths = byte_widths(pending)
            steps.append(
                Run(tuple(pending), fmt, sum(f.bits for f in pending), plain, names, widths)
            )
            pending.clear()

    for item in items:
        if isinstance(item, Field):
            if item.kind == "reserved":
                item = Field(f"reserved_{seq[0]}", item.bits, "reserved")
                seq[0] += 1
            pending.append(item)
            continue
        flush()
        if isinstance(item, If):
            steps.append(
                If(item.test, _compile(item.then, seq), _compile(item.otherwise, seq), item.likely)
            )
        elif isinstance(item, IfRoom):
            steps.append(IfRoom(item.test, _compile(item.then, seq)))
        else:
            steps.append(item)
    flush()
    return tuple(steps)


def _check_names(cls: type) -> None:
    """Every name a condition or a count reads is declared before it (or is one of the
    class's ``OUTER_NAMES``), and every nested structure's ``OUTER_NAMES`` are: a misspelt
    name fails when the class is defined, not as a silently false condition when read."""

    def need(name: str, what: str, known: set[str]) -> None:
        if name not in known:
            raise NameError(
                f"{cls.__name__}: {what} reads {name!r}, which is not declared before it"
            )

    def walk(items: tuple, known: set[str]) -> set[str]:
        for item in items:
            t = type(item)
            if t is Field:
                if item.kind != "reserved":
                    known.add(item.name)
            elif t is If or t is IfRoom:
                for name in condition_names(item.test):  # a SyntaxError fails at import
                    need(name, f"condition {item.test!r}", known)
                known |= walk(item.then, set(known))
                known |= walk(getattr(item, "otherwise", ()), set(known))
            elif t is Sub or t is Repeat:
                if t is Repeat and item.count is not None:
                    need(item.count, f"the count of {item.name!r}", known)
                for name in item.struct.OUTER_NAMES:
                    need(name, f"{item.struct.__name__} (in {item.name!r})", known)
                known.add(item.name)
            elif t is Chars:
                if type(item.count) is str:
                    need(item.count, f"the count of {item.name!r}", known)
                known.add(item.name)
            elif t is Custom:
                known.update(item.names)
            else:
                known.add(item.name)
        return known

    walk(cls.LAYOUT, set(cls.OUTER_NAMES))


def _declared_names(items: tuple) -> Iterator[str]:
    for item in items:
        if isinstance(item, Field):
            if item.kind != "reserved":
                yield item.name
        elif isinstance(item, If):
            yield from _declared_names(item.then)
            yield from _declared_names(item.otherwise)
        elif isinstance(item, IfRoom):
            yield from _declared_names(item.then)
        elif isinstance(item, Custom):
            yield from item.names
        else:
            yield item.name


# ----------------------------------------------------------------------------- structures


class Struct:
    """Base of every declared structure: a dataclass whose class holds its ``LAYOUT``.

    Subclasses are dataclasses; ``_reserved`` keeps reserved bits that were not all ones,
    keyed by their order in the layout, so that real-world sections re-encode unchanged.
    """

    LAYOUT: ClassVar[tuple] = ()
    NAME: ClassVar[str] = ""
    _steps: ClassVar[tuple] = ()
    _stored: ClassVar[frozenset[str]] = frozenset()
    _transient: ClassVar[tuple[str, ...]] = ()
    # A structure read only to be unpacked (the section's head) reads into a plain dict,
    # leaving out the fields named here.
    AS_DICT: ClassVar[bool] = False
    DICT_DROPS: ClassVar[frozenset[str]] = frozenset()
    # Names its conditions read from the structure that holds it (e.g. a component of
    # splice_insert reads splice_immediate_flag); that structure must declare them first.
    OUTER_NAMES: ClassVar[tuple[str, ...]] = ()
    # Its XML face (``scte35lab.cue.xmlface.Face``), when it has an element of its own.
    XML: ClassVar[Any] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _check_names(cls)
        cls._steps = _compile(cls.LAYOUT)
        if not cls.__dict__.get("NAME"):
            cls.NAME = _snake(cls.__name__)

    @classmethod
    def _finish(cls) -> None:
        """Record which declared names are stored attributes (called once per dataclass)."""
        cls._stored = frozenset(f.name for f in dataclasses.fields(cls))
        cls._transient = tuple(n for n in declared_names(cls) if n not in cls._stored)

    def reserved_bits(self) -> dict[str, int]:
        """Reserved fields read with a value other than all ones, by their declared name."""
        return getattr(self, "_reserved", {})


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def structure(cls: type) -> type:
    """Class decorator: make a declared structure a dataclass and index its attributes."""
    cls = dataclass(cls)
    cls._finish()
    _check_face(cls)
    return cls


def _check_face(cls: type[Struct]) -> None:
    """Every name the class's XML face writes, reads or tests is one it declares (or an
    ``OUTER_NAMES``): a misspelt name fails when the class is defined."""
    face = cls.__dict__.get("XML")
    if face is None:
        return
    known = set(declared_names(cls)) | cls._stored | set(cls.OUTER_NAMES)
    for name, what in face_names(face.items):
        if name not in known:
            raise NameError(f"{cls.__name__}: XML {what} reads {name!r}, which is not declared")


def declared_names(cls: type[Struct]) -> list[str]:
    """The syntax element names a structure declares, in order (derived ones included)."""
    return list(dict.fromkeys(_declared_names(cls.LAYOUT)))
