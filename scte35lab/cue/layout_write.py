"""Writing declared structures: the bit accumulator and the writer generated from each
declaration (fixed fields shifted into one integer, conditions compiled into the code)."""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable
from typing import Any

from scte35lab.cue.conditions import Getter, condition_names
from scte35lab.cue.declare import (
    Chars,
    Custom,
    If,
    IfRoom,
    Repeat,
    Rest,
    Run,
    Struct,
    Sub,
    declared_names,
)
from scte35lab.cue.layout_read import no_parent
from scte35lab.errors import InvalidFieldError

# ----------------------------------------------------------------------------- writing


class Writer:
    """Accumulates bits MSB first in one integer; ``to_bytes`` needs a whole number of bytes."""

    __slots__ = ("acc", "nbits")

    def __init__(self) -> None:
        self.acc = 0
        self.nbits = 0

    def bits(self, value: int, width: int) -> None:
        self.acc = (self.acc << width) | value
        self.nbits += width

    def raw(self, data: bytes) -> None:
        if data:
            self.acc = (self.acc << (8 * len(data))) | int.from_bytes(data, "big")
            self.nbits += 8 * len(data)

    def to_bytes(self) -> bytes:
        if self.nbits % 8:
            raise InvalidFieldError(f"structure ends mid-byte ({self.nbits} bits)")
        return self.acc.to_bytes(self.nbits // 8, "big")


def write_struct(obj: Struct, writer: Writer) -> None:
    """Write ``obj`` (any declared structure) to ``writer``."""
    writer_of(type(obj))(obj, writer, no_parent)


def writer_of(cls: type[Struct]) -> Callable[[Struct, Writer, Getter], None]:
    """The generated writer of ``cls``: ``writer(obj, writer, outer_getter)``."""
    writer = cls.__dict__.get("_writer")
    if writer is None:
        writer = _WriterGen(cls).build()
        cls._writer = writer
    return writer


def encode_struct(obj: Struct) -> bytes:
    """The bytes of one declared structure."""
    w = Writer()
    write_struct(obj, w)
    return w.to_bytes()


# count field name -> the list attribute it counts
_COUNTED = {
    "component_count": "components",
    "splice_count": "events",
    "dtmf_count": "dtmf_chars",
    "audio_count": "components",
}


def _uint(cls: type[Struct], name: str, v: Any, bits: int) -> int:
    """``v`` as the unsigned value of a ``bits``-wide field (a bool as 0/1), or the error."""
    if v is True or v is False:
        return int(v)
    if v is None:
        raise InvalidFieldError("is required here but is None", structure=cls.NAME, field=name)
    if type(v) is not int or v < 0 or v >> bits:
        raise InvalidFieldError(
            f"{v!r} does not fit in {bits} unsigned bits", structure=cls.NAME, field=name
        )
    return v


def _required(cls: type[Struct], name: str) -> InvalidFieldError:
    return InvalidFieldError("is required here but is None", structure=cls.NAME, field=name)


def _as_bytes(cls: type[Struct], name: str, v: Any) -> bytes:
    if v is None:
        return b""
    if isinstance(v, bytes | bytearray | memoryview):
        return bytes(v)
    raise InvalidFieldError(
        f"expected bytes, got {type(v).__name__}", structure=cls.NAME, field=name
    )


def _chars(cls: type[Struct], name: str, text: Any, count: int | None) -> bytes:
    try:
        data = text.encode("latin-1")
    except (AttributeError, UnicodeEncodeError) as exc:
        raise InvalidFieldError(
            f"{text!r} is not one-byte characters", structure=cls.NAME, field=name
        ) from exc
    if count is not None and len(data) != count:
        raise InvalidFieldError(
            f"needs exactly {count} characters, got {len(data)}", structure=cls.NAME, field=name
        )
    return data


def _own_names(cls: type[Struct]) -> frozenset[str]:
    """Names a condition can read on an instance of ``cls`` itself (fields, properties)."""
    return frozenset(
        n
        for n in declared_names(cls)
        if n in cls._stored or isinstance(getattr(cls, n, None), property)
    )


@functools.cache
def _free_names(cls: type[Struct]) -> frozenset[str]:
    """Names the conditions of ``cls`` (and of what it nests) read from enclosing structures."""
    own = _own_names(cls)
    free: set[str] = set()

    def walk(items: tuple) -> None:
        for item in items:
            t = type(item)
            if t is If or t is IfRoom:
                free.update(condition_names(item.test))
                walk(item.then)
                walk(getattr(item, "otherwise", ()))
            elif t is Sub or t is Repeat:
                free.update(_free_names(item.struct))

    walk(cls.LAYOUT)
    return frozenset(free - own)


def _outer(obj: Struct, outer: Getter) -> Getter:
    """Names of ``obj`` and then of what encloses it, for a nested structure's conditions."""

    def get(name: str) -> Any:
        try:
            return getattr(obj, name)
        except AttributeError:
            return outer(name)

    return get


class _WriterGen:
    """Generates one structure's writer as straight-line Python: fixed fields are shifted into
    a local accumulator, conditions are the declared expressions over the object's attributes.
    """

    def __init__(self, cls: type[Struct]) -> None:
        self.cls = cls
        self.own = _own_names(cls)
        self.env: dict[str, Any] = {
            "CLS": cls,
            "_uint": _uint,
            "_required": _required,
            "_as_bytes": _as_bytes,
            "_chars": _chars,
            "_outer": _outer,
        }
        self.lines: list[str] = []
        self.n = 0

    def const(self, value: Any) -> str:
        self.n += 1
        self.env[f"K{self.n}"] = value
        return f"K{self.n}"

    def out(self, ind: str, text: str) -> None:
        self.lines.append(ind + text)

    def name(self, name: str) -> str:
        return f"obj.{name}" if name in self.own else f"outer({name!r})"

    def cond(self, test: str) -> str:
        tree = ast.parse(test, mode="eval")
        gen = self

        class Rename(ast.NodeTransformer):
            def visit_Name(self, node: ast.Name) -> ast.AST:
                return ast.parse(gen.name(node.id), mode="eval").body

        return ast.unparse(Rename().visit(tree))

    def flush(self, ind: str) -> None:
        self.out(ind, "w.acc = acc; w.nbits = n")

    def reload(self, ind: str) -> None:
        self.out(ind, "acc = w.acc; n = w.nbits")

    def child_outer(self, struct: type[Struct]) -> str:
        return "_outer(obj, outer)" if _free_names(struct) else "outer"

    def steps(self, steps: tuple, ind: str) -> None:
        if not steps:
            self.out(ind, "pass")
        for step in steps:
            t = type(step)
            if t is Run:
                self.run(step, ind)
            elif t is If:
                self.out(ind, f"if {self.cond(step.test)}:")
                self.steps(step.then, ind + "    ")
                self.out(ind, "else:")
                self.steps(step.otherwise, ind + "    ")
            elif t is IfRoom:
                present = " and ".join(
                    f"obj.{f.name} is not None"
                    for r in step.then
                    for f in r.fields
                    if f.kind != "reserved"
                )
                self.out(ind, f"if ({self.cond(step.test)}) and {present}:")
                self.steps(step.then, ind + "    ")
            elif t is Sub:
                w = self.const(writer_of(step.struct))
                self.flush(ind)
                self.out(ind, f"sub = obj.{step.name}")
                self.out(ind, f"if sub is None: raise _required(CLS, {step.name!r})")
                self.out(ind, f"{w}(sub, w, {self.child_outer(step.struct)})")
                self.reload(ind)
            elif t is Repeat:
                w = self.const(writer_of(step.struct))
                self.flush(ind)
                self.out(ind, f"for item in obj.{step.name}:")
                self.out(ind, f"    {w}(item, w, {self.child_outer(step.struct)})")
                self.reload(ind)
            elif t is Rest or t is Chars:
                if t is Rest:
                    self.out(ind, f"data = obj.{step.name}")
                    self.out(
                        ind,
                        f"if type(data) is not bytes: data = _as_bytes(CLS, {step.name!r}, data)",
                    )
                else:
                    fixed = step.count if type(step.count) is int else None
                    self.out(ind, f"data = _chars(CLS, {step.name!r}, obj.{step.name}, {fixed})")
                self.out(ind, "acc = (acc << (8 * len(data))) | int.from_bytes(data, 'big')")
                self.out(ind, "n += 8 * len(data)")
            elif t is Custom:
                self.flush(ind)
                self.out(ind, f"{self.const(step.write)}(w, obj.__getattribute__)")
                self.reload(ind)
            else:  # pragma: no cover - a declaration error
                raise TypeError(f"unknown layout step {step!r}")

    def run(self, run: Run, ind: str) -> None:
        for f in run.fields:
            ones = (1 << f.bits) - 1
            if f.kind == "reserved":
                value = f"({ones} if rsv is None else rsv.get({f.name!r}, {ones}))"
            else:
                if f.derived and f.kind == "u" and f.name in _COUNTED:
                    source = f"len(obj.{_COUNTED[f.name]})"
                else:
                    source = f"obj.{f.name}"
                self.out(ind, f"v = {source}")
                self.out(
                    ind,
                    f"if type(v) is not int or v < 0 or v > {ones}: "
                    f"v = _uint(CLS, {f.name!r}, v, {f.bits})",
                )
                value = "v"
            self.out(ind, f"acc = (acc << {f.bits}) | {value}")
        self.out(ind, f"n += {run.bits}")

    def build(self) -> Callable[[Struct, Writer, Getter], None]:
        self.lines = [
            "def write(obj, w, outer):",
            "    acc = w.acc; n = w.nbits",
            "    rsv = obj.__dict__.get('_reserved')",
        ]
        self.steps(self.cls._steps, "    ")
        self.flush("    ")
        source = "\n".join(self.lines)
        exec(compile(source, f"<writer {self.cls.__name__}>", "exec"), self.env)
        writer = self.env["write"]
        writer.source = source
        return writer
