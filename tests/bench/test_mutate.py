"""bench.mutate reads each mutant's change from mutmut's copy of the source, as before but fast."""

from __future__ import annotations

import ast

from bench.mutate import _functions, _summary

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


def test_a_crash_is_caught_and_a_sigkill_stays_suspicious() -> None:
    codes: dict[str, int | None] = {"a": 1, "b": -11, "c": 0, "d": -9, "e": 36, "f": 5}
    summary = _summary(codes, {"c": "x => y"}, reviewed=set())
    assert (summary["killed"], summary["crashed"], summary["timeout"]) == (1, 1, 1)
    assert summary["survivors"] == {"c": "x => y"} and summary["no_test_mutants"] == ["f"]
    assert summary["unchecked_or_suspicious"] == ["d"]
    assert summary["score"] == 0.5  # 3 caught of 6
