"""The declaration vocabulary and the one engine that reads and writes every SCTE-35 structure.

Each structure lists its syntax elements once, in the standard's order, with their widths in
bits and their conditions (``LAYOUT``). ``compile_layout`` turns that list into steps: runs of
unconditional fixed-width fields become one precompiled bitstring format, read with a single
``Reader.read_list`` call and written by shifting the same widths into one integer.
Reserved bits are written as all ones; other values read are kept so re-encoding is bit-exact.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import functools
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import bitstring
from bitstring import Bits, Reader

from scte35lab.cue.conditions import condition, condition_names
from scte35lab.cue.xmlface import face_names
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
    read: Callable[[Cursor, int, Getter], tuple]  # the values of ``names``, in order
    write: Callable[[Writer, Getter], None]
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


def _byte_widths(fields: list[Field] | tuple[Run, ...]) -> tuple[int, ...] | None:
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
            widths = _byte_widths(pending)
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


# ----------------------------------------------------------------------------- reading


# bitstring's list reader at a given bit position: what ``Reader.read_list`` calls after its
# own position bookkeeping, which the cursor already does. A bitstring without it is read
# through a ``Reader``.
_READ_AT: Callable[[Bits, str, int], tuple[list, int]] | None = getattr(Bits, "_readlist", None)


class Cursor:
    """A position in a section's bits: bitstring reads bit-packed fields, byte strings and
    whole-byte integers are sliced.

    ``pos`` is ours (a plain int); the section's ``Bits`` is made on the first read that
    needs it and every bit-packed run is unpacked from it at ``pos``.
    """

    __slots__ = ("_bits", "data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self._bits: Bits | None = None

    def bits(self) -> Bits:
        """The section as ``Bits`` (made on first use)."""
        if self._bits is None:
            self._bits = Bits.from_bytes(self.data)
        return self._bits

    def read_list(
        self, fmt: str, bits: int, whole_bytes: Callable[[bytes, int], Any] | None = None
    ) -> Any:
        """Read ``fmt`` (``bits`` long) at ``pos`` and advance.

        Bit-packed fields go through bitstring; a run of whole-byte integers at a byte
        boundary is read by ``whole_bytes`` (``byte_unpacker``) straight from the bytes."""
        pos = self.pos
        self.pos = pos + bits
        if whole_bytes is not None and not pos & 7:
            return whole_bytes(self.data, pos >> 3)
        section = self._bits
        if section is None:
            section = self._bits = Bits.from_bytes(self.data)
        if _READ_AT is not None:
            return _READ_AT(section, fmt, pos)[0]
        reader = Reader(section)
        reader.pos = pos
        return reader.read_list(fmt)

    def read_bytes(self, n: int) -> bytes:
        """``n`` bytes at ``pos`` (byte-aligned, as every SCTE-35 byte string is)."""
        pos = self.pos
        self.pos = pos + 8 * n
        if pos & 7:
            if self._bits is None:
                self._bits = Bits.from_bytes(self.data)
            return self._bits[pos : pos + 8 * n].to_bytes()
        return self.data[pos >> 3 : (pos >> 3) + n]


def read_struct(cls: type[Struct], cur: Cursor, end: int, parent: Getter | None = None) -> Struct:
    """Read one ``cls`` at ``cur`` without passing bit ``end``; return the instance."""
    return reader_of(cls)(cur, end, parent or no_parent)


def reader_of(cls: type[Struct]) -> Callable[[Cursor, int, Getter], Struct]:
    """The generated reader of ``cls``: ``reader(cursor, end_bit, parent_getter)``."""
    reader = cls.__dict__.get("_reader")
    if reader is None:
        reader = _generate_reader(cls)
    return reader


def no_parent(name: str) -> Any:
    """The getter of a top-level structure: no enclosing fields."""
    return None


def _read_run(cls: type[Struct], run: Run, cur: Cursor, end: int) -> list:
    """One run read on its own (off the likely path), with the truncation check."""
    if cur.pos + run.bits > end:
        raise TruncatedError(
            f"needs {run.bits} bits, {max(end - cur.pos, 0)} left",
            structure=cls.NAME,
            field=run.fields[0].name,
            bit=cur.pos,
        )
    return cur.read_list(run.fmt, run.bits, byte_unpacker(run.byte_widths))


def _truncated_chars(cls: type[Struct], name: str, n: int, pos: int) -> TruncatedError:
    return TruncatedError(f"needs {n} bytes", structure=cls.NAME, field=name, bit=pos)


class _Gen:
    """Generates one structure's reader as straight-line Python over local variables.

    The likely path (``If.likely`` branches, nested structures inlined) is fetched with one
    bitstring call per stretch of fixed fields; the first branch off that path puts the
    cursor where the path had got to and the rest reads run by run. Conditions are the
    declared expressions, compiled against the locals.
    """

    def __init__(self, cls: type[Struct]) -> None:
        self.cls = cls
        self.env: dict[str, Any] = {
            "CLS": cls,
            "_read_run": _read_run,
            "read_struct": read_struct,
            "_truncated_chars": _truncated_chars,
            "_make_getter": _make_getter,
            "_UNSET": _UNSET,
            "_new": object.__new__,
            "_put": _put,
            "_READ_AT": _READ_AT,
        }
        self.lines: list[str] = []
        self.n = 0
        self.chain: list | None = None  # [runs, bits, values, index] being filled
        self.chains: list[list] = []
        self.scopes: list[tuple[int, frozenset[str]]] = []

    def const(self, value: Any) -> str:
        self.n += 1
        name = f"K{self.n}"
        self.env[name] = value
        return name

    def out(self, ind: str, text: str) -> None:
        self.lines.append(ind + text)

    # ---- names and conditions

    def local(self, name: str) -> str:
        for depth, names in reversed(self.scopes):
            if name in names:
                return f"L{depth}_{name}"
        return f"parent({name!r})"

    def cond(self, test: str) -> str:
        tree = ast.parse(test, mode="eval")

        class Rename(ast.NodeTransformer):
            def visit_Name(inner, node: ast.Name) -> ast.AST:
                return ast.parse(self.local(node.id), mode="eval").body

        return ast.unparse(Rename().visit(tree))

    def getter(self) -> str:
        names = {n: self.local(n) for _, scope in self.scopes for n in scope}
        items = ", ".join(f"{k!r}: {v}" for k, v in names.items())
        return f"_make_getter({{{items}}}, parent)"

    # ---- the chain along the likely path

    def sync(self, ind: str, at: int | None = None) -> None:
        """Leave the fetched chain: put the cursor where the path has got to."""
        if self.chain is not None:
            bits = self.chain[1] if at is None else at
            self.out(ind, f"if f: cur.pos = base + {bits}; f = False")

    def here(self) -> str:
        if self.chain is None:
            return "cur.pos"
        return f"(base + {self.chain[1]} if f else cur.pos)"

    def fetch(self, step: Run, ind: str, likely: bool) -> int | None:
        """Emit what precedes reading ``step``; return its index in the fetched chain
        (``g``), or None when it is read on its own."""
        if likely and self.chain is None:
            k = len(self.chains)
            self.chain = [[], 0, 0, k]
            self.chains.append(self.chain)
            self.out(ind, "p = cur.pos")
            self.out(ind, f"if p + CHAINBITS{k} <= end:")
            self.out(ind, f"    g = CHAINREAD{k}; base = p; f = True")
        if not (likely and self.chain is not None):
            return None
        c = self.chain
        at = c[2]
        c[0].append(step)
        c[1] += step.bits
        c[2] += len(step.fields)
        return at

    def values(
        self, step: Run, ind: str, likely: bool, assign: Callable[[str, str, int], None]
    ) -> None:
        """Emit the read of ``step``; ``assign(indent, source, first)`` emits what to do with
        the values, ``source`` formatting value ``j`` from index ``first`` on."""
        at = self.fetch(step, ind, likely)
        run = self.const(step)
        if at is None:
            self.out(ind, f"r = _read_run(CLS, {run}, cur, end)")
            assign(ind, "r[{j}]", 0)
            return
        self.out(ind, "if f:")
        assign(ind + "    ", "g[{j}]", at)
        self.out(ind, "else:")
        self.out(ind + "    ", f"r = _read_run(CLS, {run}, cur, end)")
        assign(ind + "    ", "r[{j}]", 0)

    def run(self, step: Run, ind: str, d: int, likely: bool) -> None:
        def assign(ind: str, source: str, at: int) -> None:
            for j, f in enumerate(step.fields):
                value = source.format(j=at + j)
                if f.kind == "reserved":
                    ones = (1 << f.bits) - 1
                    self.out(
                        ind, f"if {value} != {ones}: rsv{d} = _put(rsv{d}, {f.name!r}, {value})"
                    )
                else:
                    self.out(ind, f"L{d}_{f.name} = {value}")

        self.values(step, ind, likely, assign)

    def steps(self, steps: tuple, ind: str, d: int, likely: bool) -> None:
        if not steps:
            self.out(ind, "pass")
        for step in steps:
            t = type(step)
            if t is Run:
                self.run(step, ind, d, likely)
            elif t is If and _alternatives(step):
                self.alternatives(step, ind, d, likely)
            elif t is If:
                at = None if self.chain is None else self.chain[1]
                self.out(ind, f"if {self.cond(step.test)}:")
                self.branch(step.then, ind + "    ", d, likely and step.likely, at)
                self.out(ind, "else:")
                self.branch(step.otherwise, ind + "    ", d, likely and not step.likely, at)
            elif t is IfRoom:
                # Often absent (older encoders): the chain ends here so that it fits whether
                # or not these fields are there; when they are, they start a chain of their own.
                if likely:
                    self.sync(ind)
                    self.chain = None
                need = sum(r.bits for r in step.then)
                self.out(ind, f"if ({self.cond(step.test)}) and end - cur.pos >= {need}:")
                self.steps(step.then, ind + "    ", d, likely)
                if likely:
                    self.sync(ind + "    ")
                    self.chain = None
            elif t is Sub:
                if likely:
                    self.inline(step, ind, d)
                else:
                    self.out(
                        ind,
                        f"L{d}_{step.name} = read_struct("
                        f"{self.const(step.struct)}, cur, end, {self.getter()})",
                    )
            else:
                if likely:
                    self.sync(ind)
                    self.chain = None
                self.data_step(step, ind, d)

    def alternatives(self, step: If, ind: str, d: int, likely: bool) -> None:
        """Two single-run branches of one width: read the bits once and split them by
        branch, so the chain goes on whichever branch the section takes."""
        then, other = step.then[0], step.otherwise[0]
        raw = Run(
            (Field("alternatives", then.bits),), f"u{then.bits}", then.bits, True, ("alternatives",)
        )

        def assign(i: str, source: str, at: int) -> None:
            self.out(i, f"x = {source.format(j=at)}")

        self.values(raw, ind, likely, assign)
        self.out(ind, f"if {self.cond(step.test)}:")
        self.split(then, ind + "    ", d)
        self.out(ind, "else:")
        self.split(other, ind + "    ", d)

    def split(self, run: Run, ind: str, d: int) -> None:
        shift = run.bits
        for f in run.fields:
            shift -= f.bits
            mask = (1 << f.bits) - 1
            value = f"(x >> {shift}) & {mask}" if shift else f"x & {mask}"
            if f.kind == "reserved":
                self.out(ind, f"if {value} != {mask}: rsv{d} = _put(rsv{d}, {f.name!r}, {value})")
            elif f.kind == "flag":
                self.out(ind, f"L{d}_{f.name} = bool({value})")
            else:
                self.out(ind, f"L{d}_{f.name} = {value}")

    def branch(self, steps: tuple, ind: str, d: int, likely: bool, at: int | None) -> None:
        if likely:
            self.steps(steps, ind, d, True)
            return
        # Off the likely path: put the cursor where the path was at the If (``at`` bits into
        # the chain), then read plainly. The chain state after the If is the likely
        # branch's, so generating this branch must not change it.
        saved = self.chain
        if at is not None:
            self.out(ind, f"if f: cur.pos = base + {at}; f = False")
        self.chain = None
        self.steps(steps, ind, d, False)
        self.chain = saved

    def open_scope(self, cls: type[Struct], ind: str, d: int) -> None:
        names = frozenset(declared_names(cls))
        self.scopes.append((d, names))
        self.out(ind, f"rsv{d} = None")
        defaults = {f.name: f for f in dataclasses.fields(cls)}
        initial = []
        for name in sorted(names):
            f = defaults.get(name)
            has_default = f is not None and f.default is not dataclasses.MISSING
            initial.append(f.default if has_default else _UNSET)
        if names:  # one tuple unpack sets every local to its default
            targets = ", ".join(f"L{d}_{name}" for name in sorted(names))
            self.out(ind, f"{targets}, = {self.const(tuple(initial))}")

    def construct(self, cls: type[Struct], ind: str, d: int, target: str) -> None:
        """Build the instance without running ``__init__``: every field is set here, read
        or default, which is what ``__init__`` would do, at a fraction of the cost."""
        names = self.scopes[-1][1]
        items = []
        for f in dataclasses.fields(cls):
            if f.name in names:
                value = f"L{d}_{f.name}"
                if f.default is dataclasses.MISSING:
                    value = (
                        f"({value} if {value} is not _UNSET else {self.const(f.default_factory)}())"
                    )
            elif f.default is not dataclasses.MISSING:
                value = self.const(f.default)
            else:
                value = f"{self.const(f.default_factory)}()"
            if f.name not in cls.DICT_DROPS:
                items.append(f"{f.name!r}: {value}")
        if d == 0 and cls.AS_DICT:
            self.out(ind, f"{target} = {{{', '.join(items)}}}")
            self.scopes.pop()
            return
        self.out(ind, f"{target} = _new({self.const(cls)})")
        self.out(ind, f"{target}.__dict__ = {{{', '.join(items)}}}")
        self.out(ind, f"if rsv{d}: {target}._reserved = rsv{d}")
        self.scopes.pop()

    def inline(self, step: Sub, ind: str, d: int) -> None:
        child = step.struct
        e = d + 1
        self.open_scope(child, ind, e)
        self.steps(child._steps, ind, e, True)
        self.construct(child, ind, e, f"L{d}_{step.name}")

    def data_step(self, step: Any, ind: str, d: int) -> None:
        t = type(step)
        if t is Repeat:
            sub = self.const(step.struct)
            if step.count is not None:
                self.out(ind, f"getter = {self.getter()}")
                self.out(
                    ind,
                    f"L{d}_{step.name} = [read_struct({sub}, cur, end, getter)"
                    f" for _ in range({self.local(step.count)})]",
                )
            else:
                self.out(ind, f"getter = {self.getter()}")
                self.out(ind, "items = []")
                self.out(ind, "while cur.pos < end:")
                self.out(ind, f"    items.append(read_struct({sub}, cur, end, getter))")
                self.out(ind, f"L{d}_{step.name} = items")
        elif t is Rest:
            self.out(ind, "n = (end - cur.pos) // 8")
            self.out(ind, f"L{d}_{step.name} = cur.read_bytes(n) if n > 0 else b''")
        elif t is Chars:
            n = repr(step.count) if type(step.count) is int else self.local(step.count)
            self.out(ind, f"n = {n}")
            self.out(ind, "if cur.pos + 8 * n > end:")
            self.out(ind, f"    raise _truncated_chars(CLS, {step.name!r}, n, cur.pos)")
            self.out(ind, f"L{d}_{step.name} = cur.read_bytes(n).decode('latin-1')")
        elif t is Custom:
            names = self.getter() if step.reads_names else "parent"
            targets = ", ".join(f"L{d}_{name}" for name in step.names)
            self.out(ind, f"{targets}, = {self.const(step.read)}(cur, end, {names})")
        else:  # pragma: no cover - a declaration error
            raise TypeError(f"unknown layout step {step!r}")

    def build(self) -> Callable[[Cursor, int, Getter], Struct]:
        cls = self.cls
        self.lines = ["def read(cur, end, parent):", "    f = False; base = 0"]
        self.open_scope(cls, "    ", 0)
        self.steps(cls._steps, "    ", 0, True)
        self.sync("    ")
        self.construct(cls, "    ", 0, "obj")
        self.out("    ", "return obj")
        for runs, _, _, k in self.chains:
            fmt = ", ".join(r.fmt for r in runs)
            widths = byte_unpacker(_byte_widths(tuple(runs)))
            self.env[f"CHAINBITS{k}"], self.env[f"CHAINFMT{k}"] = sum(r.bits for r in runs), fmt
            self.env[f"CHAINWIDTHS{k}"] = widths
            # The whole chain in one read: whole-byte integers straight from the bytes when
            # it starts on a byte boundary, bit-packed ones by bitstring at that position.
            if widths is not None:
                read = (
                    f"CHAINWIDTHS{k}(cur.data, p >> 3) if not p & 7 "
                    f"else cur.read_list(CHAINFMT{k}, CHAINBITS{k})"
                )
            elif _READ_AT is not None:
                read = f"_READ_AT(cur._bits or cur.bits(), CHAINFMT{k}, p)[0]"
            else:
                read = f"cur.read_list(CHAINFMT{k}, CHAINBITS{k})"
            self.lines = [line.replace(f"CHAINREAD{k}", read) for line in self.lines]
        source = "\n".join(self.lines)
        exec(compile(source, f"<reader {cls.__name__}>", "exec"), self.env)
        reader = self.env["read"]
        reader.source = source
        return reader


_UNSET = object()


def _put(reserved: dict[str, int] | None, name: str, value: int) -> dict[str, int]:
    """Record a reserved field read with a value other than all ones."""
    reserved = reserved or {}
    reserved[name] = value
    return reserved


def _make_getter(values: dict[str, Any], parent: Getter) -> Getter:
    """Names of the enclosing structures, for a nested one read on its own."""
    return lambda name: values[name] if name in values else parent(name)


def _alternatives(step: If) -> bool:
    """Whether both branches of ``step`` are one run each, of the same width."""
    return (
        len(step.then) == 1
        and len(step.otherwise) == 1
        and type(step.then[0]) is Run
        and type(step.otherwise[0]) is Run
        and step.then[0].bits == step.otherwise[0].bits
    )


def _generate_reader(cls: type[Struct]) -> Callable[[Cursor, int, Getter], Struct]:
    """Turn the declaration into straight-line Python (compiled once per structure)."""
    reader = _Gen(cls).build()
    cls._reader = reader
    return reader


ReadError = bitstring.ReadError


# ----------------------------------------------------------------------------- partial reading


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
            for f, v in zip(step.fields, _read_run(cls, step, cur, end), strict=True):
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
                raise _truncated_chars(cls, step.name, n, cur.pos)
            values[step.name] = cur.read_bytes(n).decode("latin-1")
        elif t is Custom:
            values.update(zip(step.names, step.read(cur, end, get), strict=True))


def _test(test: str, get: Getter) -> bool:
    return bool(condition(test)(get))


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
    "check_values",
    "count",
    "declared_names",
    "derived_flag",
    "encode_struct",
    "flag",
    "no_parent",
    "read_partial",
    "read_struct",
    "reader_of",
    "reserved",
    "structure",
    "u",
    "write_struct",
    "writer_of",
]
