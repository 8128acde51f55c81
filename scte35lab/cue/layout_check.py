"""Checking values against their declarations before they are encoded: types, widths,
counts, one-byte characters, reserved bits."""

from __future__ import annotations

import functools
from typing import Any

from scte35lab.cue.conditions import Getter
from scte35lab.cue.declare import (
    Chars,
    Custom,
    Field,
    If,
    IfRoom,
    Repeat,
    Rest,
    Run,
    Struct,
    Sub,
)
from scte35lab.errors import InvalidFieldError

# ----------------------------------------------------------------------------- checking


def check_values(obj: Struct) -> None:
    """Raise ``InvalidFieldError`` naming the first value of ``obj`` (nested structures too)
    that its declaration cannot hold: a wrong type, a number too wide for its bits, more
    items than the count field can say, characters that are not one byte each.

    Every value set is checked, whichever branch of a condition it sits in: this is where
    values enter (from a dict, XML or a builder), before ``encode()`` meets them."""
    cls = type(obj)
    _check_items(cls, cls.LAYOUT, obj, {})
    widths = _reserved_widths(cls)
    for name, value in obj.reserved_bits().items():
        width = widths.get(name)
        if width is None:
            raise InvalidFieldError("is not a reserved field here", structure=cls.NAME, field=name)
        _check_uint(cls, name, value, width)


def _check_uint(cls: type[Struct], name: str, v: Any, bits: int) -> None:
    if type(v) is not int:
        raise InvalidFieldError(f"{v!r} is not an integer", structure=cls.NAME, field=name)
    if v < 0 or v >> bits:
        raise InvalidFieldError(
            f"{v} does not fit in {bits} unsigned bits", structure=cls.NAME, field=name
        )


def _check_items(cls: type[Struct], items: tuple, obj: Struct, widths: dict[str, int]) -> None:
    for item in items:
        t = type(item)
        if t is Field:
            widths[item.name] = item.bits
            if item.kind == "reserved" or item.derived:
                continue
            v = getattr(obj, item.name, None)
            if v is None:
                continue
            if item.kind == "flag":
                if v not in (True, False) or type(v) not in (bool, int):
                    raise InvalidFieldError(
                        f"{v!r} is not a flag (true/false)", structure=cls.NAME, field=item.name
                    )
            else:
                _check_uint(cls, item.name, v, item.bits)
        elif t is If:
            _check_items(cls, item.then, obj, widths)
            _check_items(cls, item.otherwise, obj, widths)
        elif t is IfRoom:
            _check_items(cls, item.then, obj, widths)
        elif t is Sub:
            v = getattr(obj, item.name, None)
            if v is not None:
                _check_struct(cls, item.name, v, item.struct)
        elif t is Repeat:
            v = getattr(obj, item.name, None)
            if not isinstance(v, list):
                raise InvalidFieldError(
                    f"expected a list, got {type(v).__name__}", structure=cls.NAME, field=item.name
                )
            if item.count is not None and len(v) >> widths[item.count]:
                raise InvalidFieldError(
                    f"{len(v)} items do not fit {item.count} ({widths[item.count]} bits)",
                    structure=cls.NAME,
                    field=item.name,
                )
            for element in v:
                _check_struct(cls, item.name, element, item.struct)
        elif t is Rest:
            v = getattr(obj, item.name, None)
            if not isinstance(v, bytes | bytearray):
                raise InvalidFieldError(
                    f"expected bytes, got {type(v).__name__}", structure=cls.NAME, field=item.name
                )
        elif t is Chars:
            _check_chars(cls, item, getattr(obj, item.name, None), widths)
        elif t is Custom and item.check is not None:
            item.check(_getter(obj))


def _check_struct(cls: type[Struct], name: str, v: Any, want: type[Struct]) -> None:
    if not isinstance(v, want):
        raise InvalidFieldError(
            f"expected {want.NAME}, got {type(v).__name__}", structure=cls.NAME, field=name
        )
    check_values(v)


def _check_chars(cls: type[Struct], item: Chars, v: Any, widths: dict[str, int]) -> None:
    where = {"structure": cls.NAME, "field": item.name}
    if not isinstance(v, str):
        raise InvalidFieldError(f"expected text, got {type(v).__name__}", **where)
    try:
        v.encode("latin-1")
    except UnicodeEncodeError:
        raise InvalidFieldError(f"{v!r} is not one-byte characters", **where) from None
    if type(item.count) is int:
        if len(v) != item.count:
            raise InvalidFieldError(f"needs exactly {item.count} characters, got {len(v)}", **where)
    elif len(v) >> widths[item.count]:
        raise InvalidFieldError(
            f"{len(v)} characters do not fit {item.count} ({widths[item.count]} bits)", **where
        )


@functools.cache
def _reserved_widths(cls: type[Struct]) -> dict[str, int]:
    """Reserved field name (as numbered in ``_steps``) -> width in bits."""
    out: dict[str, int] = {}

    def walk(steps: tuple) -> None:
        for step in steps:
            if type(step) is Run:
                out.update((f.name, f.bits) for f in step.fields if f.kind == "reserved")
            elif type(step) is If:
                walk(step.then)
                walk(step.otherwise)
            elif type(step) is IfRoom:
                walk(step.then)

    walk(cls._steps)
    return out


def _getter(obj: Struct) -> Getter:
    def get(name: str) -> Any:
        o: Any = obj
        while o is not None:
            try:
                return getattr(o, name)
            except AttributeError:
                o = getattr(o, "_parent", None)
        return None

    return get
