"""The one parser of a bounded number on every `stetho` command line."""

from __future__ import annotations

import pytest
import typer

from stetho_common.cli_numbers import bounded


@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-inf", "0.5", "121", "ten", ""])
def test_what_is_no_number_in_range_is_refused_with_the_range(text: str) -> None:
    with pytest.raises(typer.BadParameter) as refused:
        bounded(1, 120)(text)
    said = str(refused.value)
    assert "not a number of seconds" in said
    assert "less than or equal" not in said  # typer's words for NaN misled


def test_the_range_and_the_unit_are_named() -> None:
    with pytest.raises(typer.BadParameter, match=r"^inf is not a number of seconds from 1 to 300$"):
        bounded(1, 300)("inf")
    with pytest.raises(typer.BadParameter, match=r"^'x' is not a number of times real time$"):
        bounded(0.1, 100, "times real time")("x")


@pytest.mark.parametrize(("text", "value"), [("1", 1.0), ("120", 120.0), (" 2.5 ", 2.5)])
def test_a_number_in_range_ends_included(text: str, value: float) -> None:
    assert bounded(1, 120)(text) == value


def test_a_range_open_at_its_low_end_refuses_that_end_only() -> None:
    parse = bounded(0, 1800, above=True)
    assert parse("0.01") == 0.01 and parse("1800") == 1800.0
    for text in ("0", "-0", "nan", "1800.5"):
        with pytest.raises(typer.BadParameter, match="above 0, up to 1800"):
            parse(text)
