"""bench.mutate reads each mutant's change from mutmut's copy of the source, as before but fast."""

from __future__ import annotations

import ast

from bench.mutate import _functions

SOURCE = (
    "def one(x): return x + 1  # a trailing comment is not the function's\n"
    "class Cǁx:\n"
    "    def xǁCǁmethod__mutmut_orig(self, s='é'):\n"
    "        return s  # é\r\n"
    "    async def tail(self):\n"
    "        await self.go(); return 'ü'  # last line\n"
    "def nested():\n"
    "    def inner(): pass\n"
    "    return inner\r"
    "x = 1\n"
)


def test_functions_are_cut_as_ast_get_source_segment_cuts_them() -> None:
    nodes = [
        n for n in ast.walk(ast.parse(SOURCE))
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
    ]  # fmt: skip
    expected = {n.name: ast.get_source_segment(SOURCE, n) for n in nodes}
    assert len(expected) == 5
    cut = _functions(SOURCE)
    assert {name: text.splitlines() for name, text in cut.items()} == {
        name: (text or "").splitlines() for name, text in expected.items()
    }
