"""Reading declared structures: the cursor over a section's bits, the reader generated from
each declaration (straight-line Python; each stretch of fixed fields along the likely path is
read as one integer, from the bytes when it starts on a byte boundary and by bitstring when
not, and its fields are cut out by shifts fixed when the reader is generated). Lenient
decoding's partial reader is :mod:`~scte35lab.cue.layout_partial`.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from collections.abc import Callable
from typing import Any

import bitstring
from bitstring import Bits, Reader

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
    byte_unpacker,
    byte_widths,
    declared_names,
)
from scte35lab.errors import TruncatedError

# ----------------------------------------------------------------------------- reading


# bitstring's list reader at a given bit position: what ``Reader.read_list`` calls after its
# own position bookkeeping, which the cursor already does. A bitstring without it is read
# through a ``Reader``.
_READ_AT: Callable[[Bits, str, int], tuple[list, int]] | None = getattr(Bits, "_readlist", None)


class Cursor:
    """A position in a section's bits: byte strings and runs starting on a byte boundary
    are sliced from the bytes, bitstring reads what does not start on one.

    ``pos`` is ours (a plain int); the section's ``Bits`` is made on the first read that
    needs it (never, for a well-formed SCTE-35 section read along its likely path).
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

    def uint_at(self, pos: int, bits: int) -> int:
        """The unsigned integer ``bits`` wide at bit ``pos``, read by bitstring (for a run
        that does not start on a byte boundary); the cursor does not move."""
        return self.bits()[pos : pos + bits].uint

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
    """Read one ``cls`` at ``cur`` without passing bit ``end`` (which is within the
    cursor's data); return the instance."""
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


def read_run(cls: type[Struct], run: Run, cur: Cursor, end: int) -> list:
    """One run read on its own (off the likely path), with the truncation check."""
    if cur.pos + run.bits > end:
        raise TruncatedError(
            f"needs {run.bits} bits, {max(end - cur.pos, 0)} left",
            structure=cls.NAME,
            field=run.fields[0].name,
            bit=cur.pos,
        )
    return cur.read_list(run.fmt, run.bits, byte_unpacker(run.byte_widths))


def truncated_chars(cls: type[Struct], name: str, n: int, pos: int) -> TruncatedError:
    """The error for characters (``Chars``) that run past the structure."""
    return TruncatedError(f"needs {n} bytes", structure=cls.NAME, field=name, bit=pos)


class _Gen:
    """Generates one structure's reader as straight-line Python over local variables.

    The likely path (``If.likely`` branches, nested structures inlined) is fetched as one
    integer per stretch of fixed fields, each field a shift and mask of it; the first branch
    off that path puts the cursor where the path had got to and the rest reads run by run
    through bitstring. Conditions are the declared expressions, compiled against the locals.
    """

    def __init__(self, cls: type[Struct]) -> None:
        self.cls = cls
        self.env: dict[str, Any] = {
            "CLS": cls,
            "_read_run": read_run,
            "read_struct": read_struct,
            "_truncated_chars": truncated_chars,
            "_make_getter": _make_getter,
            "_UNSET": _UNSET,
            "_new": object.__new__,
            "_put": _put,
            "_from_bytes": int.from_bytes,
        }
        self.lines: list[str] = []
        self.n = 0
        self.chain: list | None = None  # [runs, bits, index] being filled
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
        """``test`` over the locals; ``x in (constants)`` becomes a lookup in a frozenset."""
        tree = ast.parse(test, mode="eval")

        class Rename(ast.NodeTransformer):
            def visit_Name(inner, node: ast.Name) -> ast.AST:
                return ast.parse(self.local(node.id), mode="eval").body

            def visit_Tuple(inner, node: ast.Tuple) -> ast.AST:
                if all(isinstance(e, ast.Constant) for e in node.elts):
                    values = frozenset(e.value for e in node.elts)
                    return ast.Name(self.const(values), ast.Load())
                return inner.generic_visit(node)

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

    def fetch(self, step: Run, ind: str, likely: bool) -> tuple[int, int] | None:
        """Emit what precedes reading ``step``; return (chain number, bit offset of ``step``
        in the fetched chain ``g``), or None when it is read on its own."""
        if likely and self.chain is None:
            k = len(self.chains)
            self.chain = [[], 0, k]
            self.chains.append(self.chain)
            self.out(ind, "p = cur.pos")
            self.out(ind, f"if p + CHAINBITS{k} <= end:")
            self.out(ind, f"    g = CHAINREAD{k}; base = p; f = True")
        if not (likely and self.chain is not None):
            return None
        c = self.chain
        at = c[1]
        c[0].append(step)
        c[1] += step.bits
        return c[2], at

    def values(
        self, step: Run, ind: str, likely: bool, assign: Callable[[str, Callable[[int], str]], None]
    ) -> None:
        """Emit the read of ``step``; ``assign(indent, source)`` emits what to do with the
        values, ``source(j)`` being the expression of field ``j``."""
        at = self.fetch(step, ind, likely)
        run = self.const(step)
        if at is None:
            self.out(ind, f"r = _read_run(CLS, {run}, cur, end)")
            assign(ind, "r[{}]".format)
            return
        k, start = at
        offsets = []
        for f in step.fields:
            offsets.append(start)
            start += f.bits

        def piece(j: int) -> str:
            f = step.fields[j]
            return f"@{k}:{offsets[j]}:{f.bits}:{int(f.kind == 'flag')}@"

        self.out(ind, "if f:")
        assign(ind + "    ", piece)
        self.out(ind, "else:")
        self.out(ind + "    ", f"r = _read_run(CLS, {run}, cur, end)")
        assign(ind + "    ", "r[{}]".format)

    def run(self, step: Run, ind: str, d: int, likely: bool) -> None:
        def assign(ind: str, source: Callable[[int], str]) -> None:
            for j, f in enumerate(step.fields):
                value = source(j)
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

        def assign(i: str, source: Callable[[int], str]) -> None:
            self.out(i, f"x = {source(0)}")

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
                self.out(ind, f"L{d}_{f.name} = x & {1 << shift} != 0")
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
                        f"({value} if {value} is not _UNSET else {self.fresh(f.default_factory)})"
                    )
            elif f.default is not dataclasses.MISSING:
                value = self.const(f.default)
            else:
                value = self.fresh(f.default_factory)
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

    def fresh(self, factory: Callable[[], Any]) -> str:
        """An expression making a new default value: a literal for ``list`` and ``dict``."""
        literals: dict[Any, str] = {list: "[]", dict: "{}"}
        return literals.get(factory) or f"{self.const(factory)}()"

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
        totals = {k: sum(r.bits for r in runs) for runs, _, k in self.chains}
        # Chains of whole-byte integers are kept as bytes and their fields indexed; others
        # are one integer, their fields cut out by shifts.
        as_bytes = {k for runs, _, k in self.chains if byte_widths(tuple(runs)) is not None}
        for k, bits in totals.items():
            # The chain sliced from the bytes when it starts on a byte boundary (as it does in
            # every real section), read by bitstring otherwise.
            nbytes, pad = -(-bits // 8), -bits % 8
            data = f"cur.data[p >> 3 : (p >> 3) + {nbytes}]"
            if k in as_bytes:
                read = (
                    f"({data} if not p & 7 else cur.uint_at(p, {bits}).to_bytes({nbytes}, 'big'))"
                )
            else:
                aligned = f"_from_bytes({data}, 'big')" + (f" >> {pad}" if pad else "")
                read = f"({aligned} if not p & 7 else cur.uint_at(p, {bits}))"
            self.lines = [
                line.replace(f"CHAINREAD{k}", read).replace(f"CHAINBITS{k} ", f"{bits} ")
                for line in self.lines
            ]

        def piece(m: re.Match) -> str:
            """A field of chain ``g``: indexed from its bytes, or cut out by the shift and
            mask its place gives."""
            k, start, width, is_flag = map(int, m.groups())
            if k in as_bytes:
                i, n = start // 8, width // 8
                if n == 1:
                    return f"g[{i}]"
                if n == 2:
                    return f"(g[{i}] << 8 | g[{i + 1}])"
                return f"_from_bytes(g[{i} : {i + n}], 'big')"
            shift = totals[k] - start - width
            if is_flag:
                return f"(g >> {shift} & 1 == 1)" if shift else "(g & 1 == 1)"
            if start == 0:
                return f"(g >> {shift})" if shift else "g"
            mask = (1 << width) - 1
            return f"(g >> {shift} & {mask})" if shift else f"(g & {mask})"

        source = re.sub(r"@(\d+):(\d+):(\d+):(\d)@", piece, "\n".join(self.lines))
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
