"""The one parser of a bounded number on every `stetho` command line."""

from __future__ import annotations

import pytest
import typer

from stetho_common.cli_numbers import bounded, whole


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


@pytest.mark.parametrize(
    ("parse", "text", "said"),
    [
        (whole(1, unit="alerts"), "abc", "'abc' is not a whole number of alerts"),
        (whole(1, unit="alerts"), "1.5", "'1.5' is not a whole number of alerts"),
        (whole(1, unit="alerts"), "0", "0 is not a whole number of alerts: 1 or more"),
        (whole(0, 9), "10", "10 is not a whole number: from 0 to 9"),
        (whole(0, 9), "-1", "-1 is not a whole number: from 0 to 9"),
    ],
)
def test_a_whole_number_out_of_range_is_refused_with_the_range(
    parse: object, text: str, said: str
) -> None:
    with pytest.raises(typer.BadParameter) as refused:
        parse(text)  # type: ignore[operator]
    assert str(refused.value) == said


def test_a_whole_number_in_range_ends_included() -> None:
    assert whole(1, 3)("1") == 1 and whole(1, 3)(" 3 ") == 3 and whole(1)("9000") == 9000
