"""Numbers as the reader writes them: one rule for the decimal mark (a comma in French), used
by the doctor's console pages, its pictures and the French flag sentences alike."""

from __future__ import annotations

from numbers import Real
from typing import Final

__all__ = ["DECIMAL_MARKS", "digits_above", "local_number"]

DECIMAL_MARKS: Final = {"en": ".", "fr": ","}


def local_number(x: object, lang: str, spec: str = "") -> str:
    """`x` formatted with `spec` (format()'s mini-language), with `lang`'s decimal mark.

    Only a real number (an int or a float, not a bool) gets the mark; any other value (a word
    the wire sent, None) reads as str() writes it. NaN and infinities read as Python writes
    them ("nan", "-inf"); an unknown language writes a point.
    """
    if isinstance(x, bool) or not isinstance(x, Real):
        return str(x)
    return format(x, spec).replace(".", DECIMAL_MARKS.get(lang, "."))


def digits_above(value: float, threshold: float, digits: int) -> int:
    """The decimals to write `value`, flagged for being above `threshold`, with: `digits`, or
    as many more (up to 3) as it takes not to read as the threshold ("1.63 times (above 1.6)",
    not "1.6"). One rule for the flags' English and French sentences."""
    while digits < 3 and round(value, digits) <= threshold:
        digits += 1
    return digits
