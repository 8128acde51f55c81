"""The partial reader lenient decoding uses: the fields of a structure that read before the
first one that cannot be, walked from the same declaration the generated readers come from."""

from __future__ import annotations

import contextlib
from typing import Any

from scte35lab.cue.conditions import Getter, condition
from scte35lab.cue.declare import Chars, Custom, If, IfRoom, Repeat, Rest, Run, Struct, Sub
from scte35lab.cue.layout_read import Cursor, ReadError, no_parent, read_run, truncated_chars
from scte35lab.errors import Scte35Error


def read_partial(cls: type[Struct], cur: Cursor, end: int, parent: Getter = no_parent) -> dict:
    """The fields of ``cls`` that read before the first one that cannot be, as a plain dict
    (nested structures as dicts, reserved bits left out): what lenient decoding shows of a
    structure it keeps as bytes. Walks the same declaration the generated readers come from.
    """
    values: dict[str, Any] = {}
    with contextlib.suppress(Scte35Error, ReadError):
        _partial_steps(cls, cls._steps, cur, end, values, parent)
    return values


def _partial_steps(
    cls: type[Struct], steps: tuple, cur: Cursor, end: int, values: dict, parent: Getter
) -> None:
    def get(name: str) -> Any:
        return values[name] if name in values else parent(name)

    for step in steps:
        t = type(step)
        if t is Run:
            for f, v in zip(step.fields, read_run(cls, step, cur, end), strict=True):
                if f.kind != "reserved":
                    values[f.name] = v
        elif t is If:
            branch = step.then if _test(step.test, get) else step.otherwise
            _partial_steps(cls, branch, cur, end, values, parent)
        elif t is IfRoom:
            need = sum(r.bits for r in step.then)
            if _test(step.test, get) and end - cur.pos >= need:
                _partial_steps(cls, step.then, cur, end, values, parent)
        elif t is Sub:
            values[step.name] = {}
            _partial_steps(step.struct, step.struct._steps, cur, end, values[step.name], get)
        elif t is Repeat:
            items: list[dict] = []
            values[step.name] = items
            n = values[step.count] if step.count is not None else None
            while (cur.pos < end) if n is None else (len(items) < n):
                items.append({})
                _partial_steps(step.struct, step.struct._steps, cur, end, items[-1], get)
        elif t is Rest:
            values[step.name] = cur.read_bytes(max(end - cur.pos, 0) // 8)
        elif t is Chars:
            n = step.count if type(step.count) is int else values[step.count]
            if cur.pos + 8 * n > end:
                raise truncated_chars(cls, step.name, n, cur.pos)
            values[step.name] = cur.read_bytes(n).decode("latin-1")
        elif t is Custom:
            values.update(zip(step.names, step.read(cur, end, get), strict=True))


def _test(test: str, get: Getter) -> bool:
    return bool(condition(test)(get))


__all__ = ["read_partial"]
