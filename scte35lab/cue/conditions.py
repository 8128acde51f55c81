"""Layout conditions (``"not splice_event_cancel_indicator"``): the names they read, checked
when a class is defined, and each compiled once to a plain function of a name getter, so
nothing is ``eval``-ed while reading."""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable
from typing import Any

Getter = Callable[[str], Any]


def condition_names(test: str) -> list[str]:
    """The names an expression reads (a SyntaxError here fails when the class is defined)."""
    return [n.id for n in ast.walk(ast.parse(test, mode="eval")) if isinstance(n, ast.Name)]


@functools.cache
def condition(test: str) -> Callable[[Getter], Any]:
    """``test`` compiled once to a function of a name getter: no eval per use."""
    tree = ast.parse(test, mode="eval")

    class Rename(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.AST:
            return ast.Call(ast.Name("get", ast.Load()), [ast.Constant(node.id)], [])

    body = ast.unparse(ast.fix_missing_locations(Rename().visit(tree)))
    namespace: dict[str, Any] = {"__builtins__": {}}
    exec(compile(f"def test(get):\n    return {body}", f"<condition {test}>", "exec"), namespace)
    return namespace["test"]


__all__ = ["Getter", "condition", "condition_names"]
