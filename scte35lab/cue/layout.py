"""The declaration vocabulary and the one engine that reads and writes every SCTE-35 structure.

Each structure lists its syntax elements once, in the standard's order, with their widths in
bits and their conditions (``LAYOUT``). ``compile_layout`` turns that list into steps: runs of
unconditional fixed-width fields become one precompiled bitstring format, read with a single
``Reader.read_list`` call and written by shifting the same widths into one integer.
Reserved bits are written as all ones; other values read are kept so re-encoding is bit-exact.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import bitstring
from bitstring import Bits, Reader

from scte35lab.errors import InvalidFieldError, Scte35Error, TruncatedError

Getter = Callable[[str], Any]


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
    """Fields present only when ``test(get)`` holds (``get`` reads fields already known).

    ``likely`` says which branch real sections usually take; the reader fetches that path
    ahead in one call (a wrong guess costs one more read, never a wrong value)."""

    test: Callable[[Getter], bool]
    then: tuple
    otherwise: tuple = ()
    likely: bool = True


@dataclass(frozen=True)
class IfRoom:
    """Optional trailing fields: read when ``test`` holds and the bytes are there; written when
    ``test`` holds and their values are set (e.g. sub_segment_num, sub_segments_expected)."""

    test: Callable[[Getter], bool]
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
    read: Callable[[Cursor, int, Getter], dict[str, Any]]
    write: Callable[[Writer, Getter], None]


# ----------------------------------------------------------------------------- compiled steps


@dataclass(frozen=True)
class Run:
    """Consecutive unconditional fixed fields: one bitstring format, one read."""

    fields: tuple[Field, ...]
    fmt: str
    bits: int
    plain: bool = False  # no reserved bits: values map straight to names
    names: tuple[str, ...] = ()


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
            steps.append(Run(tuple(pending), fmt, sum(f.bits for f in pending), plain, names))
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


_STOP = object()


def _likely_path(steps: tuple, out: list) -> None:
    """Runs in the order a typical section meets them; ``_STOP`` where a length is data."""
    for step in steps:
        if type(step) is Run:
            out.append(step)
        elif type(step) is If:
            _likely_path(step.then if step.likely else step.otherwise, out)
        elif type(step) is IfRoom:
            _likely_path(step.then, out)
        elif type(step) is Sub:
            _likely_path(step.struct._steps, out)
        else:
            out.append(_STOP)


Chain = tuple[tuple[str, int, tuple[Run, ...]], ...]


def _chains(steps: tuple) -> dict[int, Chain]:
    """For each Run on the likely path, the formats that read it and the runs after it in one
    call: every prefix, longest last, so a read can stop where the structure ends."""
    path: list = []
    _likely_path(steps, path)
    chains: dict[int, Chain] = {}
    for i, item in enumerate(path):
        if item is _STOP or id(item) in chains:
            continue
        runs: list[Run] = []
        for nxt in path[i:]:
            if nxt is _STOP:
                break
            runs.append(nxt)
        prefixes = []
        for k in range(1, len(runs) + 1):
            part = runs[:k]
            prefixes.append(
                (", ".join(r.fmt for r in part), sum(r.bits for r in part), tuple(part))
            )
        chains[id(item)] = tuple(prefixes)
    return chains


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
    _chains: ClassVar[dict[int, Chain]] = {}
    _stored: ClassVar[frozenset[str]] = frozenset()
    _transient: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._steps = _compile(cls.LAYOUT)
        cls._chains = _chains(cls._steps)
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
    return cls


def declared_names(cls: type[Struct]) -> list[str]:
    """The syntax element names a structure declares, in order (derived ones included)."""
    return list(dict.fromkeys(_declared_names(cls.LAYOUT)))


# ----------------------------------------------------------------------------- reading


class Cursor:
    """A position in a section's bits: bitstring reads fields, byte strings are sliced.

    ``pos`` is ours (a plain int); the bitstring ``Reader`` is moved only when a read starts
    somewhere else than where the last one ended. ``ahead`` holds values read ahead along a
    likely path, keyed by (run, bit position), so they are valid wherever they are met.
    """

    __slots__ = ("_at", "ahead", "data", "pos", "reader")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.reader = Reader(Bits.from_bytes(data))
        self.pos = 0
        self._at = 0
        self.ahead: dict[tuple[int, int], list] = {}

    def read_list(self, fmt: str, bits: int) -> list:
        """Read ``fmt`` (``bits`` long) at ``pos`` and advance."""
        if self._at != self.pos:
            self.reader.pos = self.pos
        values = self.reader.read_list(fmt)
        self.pos += bits
        self._at = self.pos
        return values

    def read_bytes(self, n: int) -> bytes:
        """``n`` bytes at ``pos`` (byte-aligned, as every SCTE-35 byte string is)."""
        pos = self.pos
        if pos % 8:
            if self._at != pos:
                self.reader.pos = pos
            out = self.reader.read_bits(8 * n).to_bytes()
            self._at = pos + 8 * n
        else:
            out = self.data[pos // 8 : pos // 8 + n]
        self.pos = pos + 8 * n
        return out


def read_struct(cls: type[Struct], cur: Cursor, end: int, parent: Getter | None = None) -> Struct:
    """Read one ``cls`` at ``cur`` without passing bit ``end``; return the instance."""
    reader = cls.__dict__.get("_reader")
    if reader is None:
        reader = _generate_reader(cls)
    return reader(cur, end, parent or _no_parent)


def _no_parent(name: str) -> Any:
    return None


def _fetch(cls: type[Struct], step: Run, cur: Cursor, end: int) -> list:
    """The values of ``step`` at the cursor, reading ahead along the likely path."""
    pos = cur.pos
    if pos + step.bits > end:
        raise TruncatedError(
            f"needs {step.bits} bits, {max(end - pos, 0)} left",
            structure=cls.NAME,
            field=step.fields[0].name,
            bit=pos,
        )
    chain = cls._chains.get(id(step))
    if chain is None or len(chain) == 1:
        return cur.read_list(step.fmt, step.bits)
    choice = chain[0]
    for prefix in reversed(chain):
        if pos + prefix[1] <= end:
            choice = prefix
            break
    fmt, bits, runs = choice
    values = cur.read_list(fmt, bits)
    i = len(step.fields)
    p = pos + step.bits
    ahead = cur.ahead
    for run in runs[1:]:
        n = len(run.fields)
        ahead[(id(run), p)] = values[i : i + n]
        i += n
        p += run.bits
    cur.pos = pos + step.bits
    return values[: len(step.fields)]


def _truncated_chars(cls: type[Struct], name: str, n: int, pos: int) -> TruncatedError:
    return TruncatedError(f"needs {n} bytes", structure=cls.NAME, field=name, bit=pos)


def _generate_reader(cls: type[Struct]) -> Callable[[Cursor, int, Getter], Struct]:
    """Turn the declaration into straight-line Python (compiled once per structure)."""
    env: dict[str, Any] = {
        "CLS": cls,
        "_fetch": _fetch,
        "read_struct": read_struct,
        "_truncated_chars": _truncated_chars,
    }
    lines = [
        "def read(cur, end, parent):",
        "    v = {}",
        "    def get(name):",
        "        return v[name] if name in v else parent(name)",
        "    rsv = None",
        "    ahead = cur.ahead",
    ]
    counter = [0]

    def const(value: Any) -> str:
        name = f"K{counter[0]}"
        counter[0] += 1
        env[name] = value
        return name

    def emit(steps: tuple, ind: str) -> None:
        if not steps:
            lines.append(ind + "pass")
        for step in steps:
            t = type(step)
            if t is Run:
                run = const(step)
                lines.append(f"{ind}g = ahead.pop(({id(step)}, cur.pos), None)")
                lines.append(f"{ind}if g is None:")
                lines.append(f"{ind}    g = _fetch(CLS, {run}, cur, end)")
                lines.append(f"{ind}else:")
                lines.append(f"{ind}    cur.pos += {step.bits}")
                for j, f in enumerate(step.fields):
                    if f.kind == "reserved":
                        ones = (1 << f.bits) - 1
                        lines.append(f"{ind}if g[{j}] != {ones}:")
                        lines.append(f"{ind}    rsv = rsv or {{}}")
                        lines.append(f"{ind}    rsv[{f.name!r}] = g[{j}]")
                    else:
                        lines.append(f"{ind}v[{f.name!r}] = g[{j}]")
            elif t is If:
                lines.append(f"{ind}if {const(step.test)}(get):")
                emit(step.then, ind + "    ")
                if step.otherwise:
                    lines.append(f"{ind}else:")
                    emit(step.otherwise, ind + "    ")
            elif t is IfRoom:
                need = sum(r.bits for r in step.then)
                lines.append(f"{ind}if {const(step.test)}(get) and end - cur.pos >= {need}:")
                emit(step.then, ind + "    ")
            elif t is Sub:
                lines.append(
                    f"{ind}v[{step.name!r}] = read_struct({const(step.struct)}, cur, end, get)"
                )
            elif t is Repeat:
                sub = const(step.struct)
                if step.count is not None:
                    lines.append(
                        f"{ind}v[{step.name!r}] = [read_struct({sub}, cur, end, get)"
                        f" for _ in range(v[{step.count!r}])]"
                    )
                else:
                    lines.append(f"{ind}items = []")
                    lines.append(f"{ind}while cur.pos < end:")
                    lines.append(f"{ind}    items.append(read_struct({sub}, cur, end, get))")
                    lines.append(f"{ind}v[{step.name!r}] = items")
            elif t is Rest:
                lines.append(f"{ind}n = (end - cur.pos) // 8")
                lines.append(f"{ind}v[{step.name!r}] = cur.read_bytes(n) if n > 0 else b''")
            elif t is Chars:
                n = repr(step.count) if type(step.count) is int else f"v[{step.count!r}]"
                lines.append(f"{ind}n = {n}")
                lines.append(f"{ind}if cur.pos + 8 * n > end:")
                lines.append(f"{ind}    raise _truncated_chars(CLS, {step.name!r}, n, cur.pos)")
                lines.append(f"{ind}v[{step.name!r}] = cur.read_bytes(n).decode('latin-1')")
            elif t is Custom:
                lines.append(f"{ind}v.update({const(step.read)}(cur, end, get))")
            else:  # pragma: no cover - a declaration error
                raise TypeError(f"unknown layout step {step!r}")

    emit(cls._steps, "    ")
    for name in cls._transient:
        lines.append(f"    v.pop({name!r}, None)")
    lines.append("    obj = CLS(**v)")
    lines.append("    if rsv:")
    lines.append("        obj._reserved = rsv")
    lines.append("    return obj")
    exec(compile("\n".join(lines), f"<reader {cls.__name__}>", "exec"), env)
    reader = env["read"]
    cls._reader = reader
    return reader


ReadError = bitstring.ReadError


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
    cls = type(obj)
    _write_steps(cls, cls._steps, obj, writer, obj.reserved_bits())


def encode_struct(obj: Struct) -> bytes:
    """The bytes of one declared structure."""
    w = Writer()
    write_struct(obj, w)
    return w.to_bytes()


def _value(obj: Struct, f: Field) -> int:
    if f.derived and f.kind == "u":
        # A count field: the length of the list it counts, found by convention.
        target = _COUNTED.get(f.name)
        v = len(getattr(obj, target)) if target else getattr(obj, f.name)
    else:
        v = getattr(obj, f.name)
    if v is None:
        raise InvalidFieldError("is required here but is None", structure=obj.NAME, field=f.name)
    if v is True or v is False:
        return int(v)
    if not isinstance(v, int) or v < 0 or v >> f.bits:
        raise InvalidFieldError(
            f"{v!r} does not fit in {f.bits} unsigned bits", structure=obj.NAME, field=f.name
        )
    return v


# count field name -> the list attribute it counts
_COUNTED = {
    "component_count": "components",
    "splice_count": "events",
    "dtmf_count": "dtmf_chars",
    "audio_count": "components",
}


def _write_steps(
    cls: type[Struct],
    steps: tuple,
    obj: Struct,
    w: Writer,
    reserved_vals: dict[str, int],
) -> None:
    get = obj.__getattribute__
    for step in steps:
        if type(step) is Run:
            acc = w.acc
            for f in step.fields:
                if f.kind == "reserved":
                    v = reserved_vals.get(f.name, (1 << f.bits) - 1)
                else:
                    v = _value(obj, f)
                acc = (acc << f.bits) | v
            w.acc = acc
            w.nbits += step.bits
        elif type(step) is If:
            branch = step.then if step.test(_getter(obj)) else step.otherwise
            _write_steps(cls, branch, obj, w, reserved_vals)
        elif type(step) is Sub:
            sub = get(step.name)
            if sub is None:
                raise InvalidFieldError(
                    "is required here but is None", structure=cls.NAME, field=step.name
                )
            _with_parent(sub, obj)
            write_struct(sub, w)
        elif type(step) is Repeat:
            for item in get(step.name):
                _with_parent(item, obj)
                write_struct(item, w)
        elif type(step) is IfRoom:
            g = _getter(obj)
            if step.test(g) and all(
                g(f.name) is not None for s in step.then for f in s.fields if f.kind != "reserved"
            ):
                _write_steps(cls, step.then, obj, w, reserved_vals)
        elif type(step) is Rest:
            w.raw(bytes(get(step.name) or b""))
        elif type(step) is Chars:
            text = get(step.name)
            try:
                data = text.encode("latin-1")
            except (AttributeError, UnicodeEncodeError) as exc:
                raise InvalidFieldError(
                    f"{text!r} is not one-byte characters", structure=cls.NAME, field=step.name
                ) from exc
            if type(step.count) is int and len(data) != step.count:
                raise InvalidFieldError(
                    f"needs exactly {step.count} characters, got {len(data)}",
                    structure=cls.NAME,
                    field=step.name,
                )
            w.raw(data)
        elif type(step) is Custom:
            step.write(w, _getter(obj))
        else:  # pragma: no cover
            raise TypeError(f"unknown layout step {step!r}")


def _with_parent(child: Struct, parent: Struct) -> None:
    object.__setattr__(child, "_parent", parent)


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


__all__ = [
    "Chars",
    "Cursor",
    "Custom",
    "Field",
    "If",
    "IfRoom",
    "ReadError",
    "Repeat",
    "Rest",
    "Scte35Error",
    "Struct",
    "Sub",
    "Writer",
    "count",
    "declared_names",
    "derived_flag",
    "encode_struct",
    "flag",
    "read_struct",
    "reserved",
    "structure",
    "u",
    "write_struct",
]
