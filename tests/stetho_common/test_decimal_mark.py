"""One decimal-mark rule for every page and picture the doctor reads."""

from __future__ import annotations

import math

import pytest

from stetho_common.decimal_mark import digits_above, local_number


@pytest.mark.parametrize(
    ("x", "spec", "en", "fr"),
    [
        (0.0, ".1f", "0.0", "0,0"),
        (0, ".1f", "0.0", "0,0"),  # an int given a fixed-point spec gets the mark too
        (-3.25, ".2f", "-3.25", "-3,25"),
        (-0.04, ".1f", "-0.0", "-0,0"),  # Python keeps the sign of a negative rounded to 0
        (2.25, ".1f", "2.2", "2,2"),  # round half to even, as format() does
        (2.35, ".1f", "2.4", "2,4"),  # 2.35 is stored a hair above: up
        (12.0, ".0f", "12", "12"),
        (0.1, "", "0.1", "0,1"),  # no spec: str()'s shortest form
        (1.5e-05, "", "1.5e-05", "1,5e-05"),
        (7, "", "7", "7"),
        (math.nan, ".1f", "nan", "nan"),
        (-math.inf, "", "-inf", "-inf"),
    ],
)
def test_a_number_reads_with_the_reader_s_decimal_mark(
    x: float, spec: str, en: str, fr: str
) -> None:
    assert local_number(x, "en", spec) == en
    assert local_number(x, "fr", spec) == fr


@pytest.mark.parametrize("x", ["0.5 s", "unknown", True, None])
def test_what_is_not_a_number_is_shown_as_it_is(x: object) -> None:
    # A threshold the wire sent as a word, a flag's true/false, a missing value: no comma.
    assert local_number(x, "fr") == str(x)


def test_an_unknown_language_writes_a_point() -> None:
    assert local_number(1.5, "de", ".1f") == "1.5"


def test_a_flagged_value_takes_the_decimals_that_set_it_above_its_threshold() -> None:
    assert digits_above(1.63, 1.6, 1) == 2  # 1.6 would read as the threshold
    assert digits_above(1.604, 1.6, 1) == 3
    assert digits_above(1.6004, 1.6, 1) == 3  # three at the most
    assert digits_above(1.7, 1.6, 1) == 1
    assert digits_above(0.1234, 0.12, 2) == 3
    assert digits_above(0.1234, 0.1234, 4) == 4  # already past three: left as asked
