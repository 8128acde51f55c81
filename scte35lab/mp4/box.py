"""ISO BMFF box framing (ISO/IEC 14496-12 4.2): the size/type header, walking a byte range,
and the registry that maps a four-character type to its declaration.

Box payloads are declared with the codec's own engine (``scte35lab.cue.layout``): one ordered
list of syntax elements per box, in the standard's order, read and written by the same
compiled steps. The boxes carrying SCTE-35 are fixed big-endian integers, fields that depend
on ``version`` and ``flags``, and null-terminated strings: the engine's ``u``/``If``/``Repeat``/
``Rest`` cover all but the strings and signed integers, which are two small ``Custom`` elements
here. A second engine (or construct) would give the codec and its carriage two vocabularies
for the same job, so boxes use the one there is. The header (size, largesize, type) is
framing, not syntax: :func:`walk` reads it and :func:`encode_box` writes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from scte35lab.cue.layout import (
    Cursor,
    Custom,
    Getter,
    Struct,
    Writer,
    encode_struct,
    read_struct,
    structure,
)
from scte35lab.errors import Scte35Error, StreamError, TruncatedError


class BoxError(StreamError):
    """An ISO BMFF box is damaged, truncated or not what its place requires."""


# Boxes whose payload is only child boxes (14496-12 8.x), walked by :func:`walk`.
CONTAINERS = frozenset(
    {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"mvex", b"moof", b"traf", b"edts", b"dinf"}
)


@dataclass(frozen=True)
class BoxHeader:
    """Where one box sits: its type, first byte, total size and header length."""

    type: bytes
    offset: int
    size: int
    header: int

    @property
    def start(self) -> int:
        """First byte of the payload."""
        return self.offset + self.header

    @property
    def end(self) -> int:
        return self.offset + self.size

    @property
    def name(self) -> str:
        return self.type.decode("latin-1")


def walk(data: bytes | memoryview, start: int = 0, end: int | None = None) -> Iterator[BoxHeader]:
    """The boxes laid one after another in ``data[start:end]`` (14496-12 4.2: ``size`` 1 means
    a 64-bit ``largesize`` follows, 0 means to the end)."""
    stop = len(data) if end is None else end
    i = start
    while i < stop:
        if stop - i < 8:
            raise BoxError(f"{stop - i} stray bytes at byte {i}, too few for a box header")
        size = int.from_bytes(data[i : i + 4], "big")
        kind = bytes(data[i + 4 : i + 8])
        header = 8
        if size == 1:
            if stop - i < 16:
                raise BoxError(f"box {kind!r} at byte {i}: largesize cut off")
            size = int.from_bytes(data[i + 8 : i + 16], "big")
            header = 16
        elif size == 0:
            size = stop - i
        if size < header:
            raise BoxError(f"box {kind!r} at byte {i}: size {size} is smaller than its header")
        if i + size > stop:
            raise BoxError(
                f"box {kind!r} at byte {i}: size {size} runs {i + size - stop} bytes past the end"
            )
        yield BoxHeader(kind, i, size, header)
        i += size


def children(data: bytes | memoryview, box: BoxHeader, skip: int = 0) -> Iterator[BoxHeader]:
    """The child boxes of ``box`` (after ``skip`` bytes of its own fields)."""
    return walk(data, box.start + skip, box.end)


def first(data: bytes | memoryview, box: BoxHeader, kind: bytes) -> BoxHeader | None:
    """The first child of ``box`` of this type, or None."""
    return next((c for c in children(data, box) if c.type == kind), None)


# ----------------------------------------------------------------------------- declarations


class Box(Struct):
    """A declared box: ``TYPE`` is its four-character code, ``LAYOUT`` its payload.

    ``CHILDREN_AT`` is set for boxes with fields and then child boxes (``stsd``, sample
    entries): the byte where the children start; ``LAYOUT`` covers the bytes before it."""

    TYPE: ClassVar[bytes] = b""
    CHILDREN_AT: ClassVar[int | None] = None


BOXES: dict[bytes, type[Box]] = {}


def box(cls: type) -> type:
    """Class decorator: declare a box (a dataclass) and register it by its type."""
    cls = structure(cls)
    BOXES[cls.TYPE] = cls
    return cls


def _read_string(name: str):
    def read(cur: Cursor, end: int, get: Getter) -> tuple[str]:
        pos = cur.pos >> 3
        stop = cur.data.find(b"\0", pos, end >> 3)
        if cur.pos & 7 or stop < 0:
            raise TruncatedError("has no null terminator", field=name, bit=cur.pos)
        cur.pos = (stop + 1) << 3
        try:
            return (bytes(cur.data[pos:stop]).decode("utf-8"),)
        except UnicodeDecodeError as exc:
            raise BoxError(f"{name} is not UTF-8: {exc}") from exc

    return read


def _write_string(name: str):
    def write(w: Writer, get: Getter) -> None:
        text = get(name) or ""
        data = text.encode("utf-8")
        if b"\0" in data:
            raise BoxError(f"{name} {text!r} holds a null character")
        w.raw(data + b"\0")

    return write


def string(name: str) -> Custom:
    """``string`` (14496-12 4.2): UTF-8 characters ended by a null byte."""
    return Custom((name,), _read_string(name), _write_string(name))


def _read_signed(name: str, bits: int):
    def read(cur: Cursor, end: int, get: Getter) -> tuple[int]:
        if cur.pos + bits > end:
            raise TruncatedError(f"needs {bits // 8} bytes", field=name, bit=cur.pos)
        return (int.from_bytes(cur.read_bytes(bits // 8), "big", signed=True),)

    return read


def _write_signed(name: str, bits: int):
    def write(w: Writer, get: Getter) -> None:
        value = get(name)
        try:
            data = int(value).to_bytes(bits // 8, "big", signed=True)
        except (OverflowError, TypeError) as exc:
            raise BoxError(f"{name} {value!r} does not fit signed int({bits})") from exc
        w.raw(data)

    return write


def signed(name: str, bits: int) -> Custom:
    """``signed int(bits)``: a two's complement big-endian integer."""
    return Custom((name,), _read_signed(name, bits), _write_signed(name, bits))


# ----------------------------------------------------------------------------- read / write


def parse(data: bytes | memoryview, hdr: BoxHeader) -> Box:
    """The declared box at ``hdr`` read into its dataclass; a clear error if it does not fit."""
    cls = BOXES.get(hdr.type)
    if cls is None:
        raise BoxError(f"no declaration for box {hdr.type!r}")
    end = hdr.end if cls.CHILDREN_AT is None else hdr.start + cls.CHILDREN_AT
    if end > hdr.end:
        raise BoxError(f"{hdr.name} box at byte {hdr.offset}: {hdr.size} bytes is too short")
    payload = bytes(data[hdr.start : end])
    cur = Cursor(payload)
    try:
        obj = read_struct(cls, cur, 8 * len(payload))
    except Scte35Error as exc:
        raise BoxError(f"{hdr.name} box at byte {hdr.offset}: {exc}") from exc
    if cur.pos != 8 * len(payload):
        left = len(payload) - cur.pos // 8
        raise BoxError(f"{hdr.name} box at byte {hdr.offset}: {left} bytes left after its fields")
    return obj


def header(kind: bytes, payload: int) -> bytes:
    """A box header for ``payload`` bytes (largesize when it needs 64 bits)."""
    if len(kind) != 4:
        raise BoxError(f"box type {kind!r} is not four characters")
    if payload + 8 < 1 << 32:
        return (payload + 8).to_bytes(4, "big") + kind
    return (1).to_bytes(4, "big") + kind + (payload + 16).to_bytes(8, "big")


def encode_box(obj: Box, *kids: bytes) -> bytes:
    """The bytes of a declared box (its fields, then any child boxes already encoded)."""
    try:
        payload = encode_struct(obj) + b"".join(kids)
    except Scte35Error as exc:
        raise BoxError(f"{obj.TYPE.decode('latin-1')} box: {exc}") from exc
    return header(obj.TYPE, len(payload)) + payload


def container(kind: bytes, *kids: bytes) -> bytes:
    """A box holding only child boxes (``moov``, ``trak``, ``moof`` ...)."""
    payload = b"".join(kids)
    return header(kind, len(payload)) + payload
