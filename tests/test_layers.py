"""Imports go one way: base -> cue -> ts -> schedule -> analysis/packaging -> live -> faces.

Every import of our own modules counts, function-local and ``TYPE_CHECKING`` ones included,
read from the source with ``ast`` (nothing is imported). docs/architecture.md draws the same
table.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "scte35lab"

# Longest prefix wins. A module may import its own layer or a lower one, never a higher one.
LAYERS = {
    "scte35lab.errors": 0,
    "scte35lab.clock": 0,
    "scte35lab.redaction": 0,
    "scte35lab.inputkind": 0,
    "scte35lab.outfile": 0,
    "scte35lab.deskenv": 0,
    "scte35lab.cue": 1,
    "scte35lab.ts": 2,
    "scte35lab.schedule": 3,
    "scte35lab.analysis": 4,
    "scte35lab.manifest": 4,
    "scte35lab.mp4": 4,
    "scte35lab.scale": 5,
    "scte35lab.live": 5,
    "scte35lab.cli": 6,
    "scte35lab.cli_probe": 6,
    "scte35lab.cli_desk": 6,
    "scte35lab.widgets": 6,
    "scte35lab.__main__": 6,
    "scte35lab": 6,  # the package facade: names from every layer, loaded on first use
}

# Within layer 4 the packaging side never imports analysis, except the entry points that
# probe a capture before handing its tables to the writers.
PACKAGING = ("scte35lab.manifest", "scte35lab.mp4")
MAY_PROBE = {"scte35lab.manifest.capture"}

# Known edges that break the rules, each deleted by the work named beside it.
EXCEPTIONS: set[tuple[str, str]] = set()  # (module, import) edges allowed against the rules

# Function-local imports of our modules, each genuinely lazy for speed and saying why in a
# comment on the line above. The number may go down, never up.
LAZY_IMPORT_LIMIT = 3


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int
    local: bool  # inside a function


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """Our modules an import statement loads: ``from pkg import name`` loads ``pkg`` and,
    when ``name`` is a submodule, ``pkg.name`` too."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = node.module or ""
        if node.level:
            here = module.split(".") if is_package else module.split(".")[:-1]
            here = here[: len(here) - node.level + 1]
            base = ".".join([*here, base] if base else here)
        names = [base] + [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES]
    out = []
    for name in names:
        if name != "scte35lab" and not name.startswith("scte35lab."):
            continue
        while name not in MODULES:
            name = name.rpartition(".")[0]
        if name != module:
            out.append(name)
    return out


def _edges() -> Iterator[Edge]:
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        in_function: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                in_function.update(id(n) for n in ast.walk(node) if n is not node)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for target in _targets(node, module, path.name == "__init__.py"):
                    yield Edge(module, target, node.lineno, id(node) in in_function)


EDGES = list(_edges())


def _layer(module: str) -> int:
    best = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return LAYERS[best]


def _cycles(edges: list[Edge]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for e in edges:
        graph[e.source].add(e.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _ruled(edges: list[Edge]) -> list[Edge]:
    return [e for e in edges if (e.source, e.target) not in EXCEPTIONS]


def test_every_module_has_a_layer():
    unplaced = [m for m in MODULES if not any(m == p or m.startswith(p + ".") for p in LAYERS)]
    assert unplaced == [], f"place these modules in LAYERS (and docs/architecture.md): {unplaced}"


def test_no_import_circles():
    assert _cycles(_ruled(EDGES)) == []


def test_no_module_imports_a_higher_layer():
    upward = [
        f"{e.source} (layer {_layer(e.source)}) imports {e.target} (layer {_layer(e.target)}) "
        f"at line {e.line}"
        for e in _ruled(EDGES)
        if _layer(e.target) > _layer(e.source)
    ]
    assert upward == []


def test_packaging_never_imports_analysis_but_its_capture_entry_points():
    wrong = [
        f"{e.source} imports {e.target} at line {e.line}"
        for e in _ruled(EDGES)
        if e.source.startswith(PACKAGING)
        and e.source not in MAY_PROBE
        and e.target.startswith("scte35lab.analysis")
    ]
    assert wrong == []


def test_known_exceptions_are_still_needed():
    present = {(e.source, e.target) for e in EDGES}
    stale = sorted(EXCEPTIONS - present)
    assert stale == [], f"these imports are gone: delete them from EXCEPTIONS: {stale}"


def test_function_local_imports_are_few_and_say_why():
    statements = {(e.source, e.line) for e in EDGES if e.local}
    unexplained = []
    for source, line in sorted(statements):
        above = MODULES[source].read_text(encoding="utf-8").splitlines()[line - 2].strip()
        if not (above.startswith("#") and "lazy" in above):
            unexplained.append(f"{source}:{line}")
    assert unexplained == [], "a function-local import needs a '# lazy ...: why' line above it"
    assert len(statements) <= LAZY_IMPORT_LIMIT, sorted(statements)


# Clock constants are defined in scte35lab/clock.py alone; these modules still define their
# own until the demultiplexer work moves them (the entries go with it).
CLOCK_LITERALS = {90_000, 27_000_000, 1 << 33, (1 << 33) - 1, (1 << 33) * 300}
CLOCK_EXCEPTIONS: set[str] = set()


def _literal(node: ast.expr) -> int | None:
    try:
        value = ast.literal_eval(node)
    except ValueError:
        if isinstance(node, ast.BinOp):
            left, right = _literal(node.left), _literal(node.right)
            if left is None or right is None:
                return None
            ops = {ast.LShift: lambda a, b: a << b, ast.Pow: pow, ast.Mult: lambda a, b: a * b}
            op = ops.get(type(node.op))
            return None if op is None else op(left, right)
        return None
    return value if isinstance(value, int) else None


@pytest.mark.parametrize("module", sorted(set(MODULES) - {"scte35lab.clock"}))
def test_clock_constants_are_defined_once(module):
    if module in CLOCK_EXCEPTIONS:
        pytest.skip("defines its own clock until the demultiplexer work")
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    defined = [
        f"line {node.lineno}"
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        and node.value is not None
        and _literal(node.value) in CLOCK_LITERALS
    ]
    assert defined == [], f"{module} defines a clock constant: import it from scte35lab.clock"


MAX_MODULE_LINES = 600


def test_no_module_is_longer_than_600_lines():
    """A newcomer reads a module whole, so each holds one job; a longer one is split by job."""
    long = {
        str(path.relative_to(PACKAGE)): lines
        for path in PACKAGE.rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"
