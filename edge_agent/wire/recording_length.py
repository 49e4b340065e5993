"""A recording length someone asked for, read one way wherever it is typed or sent.

The nurse's page, the agent's local API (`stetho exam record`) and the doctor's console each
take a length; they refuse with their own words (the caller translates the problem), but what
counts as a length is decided here. A form sends text, and a French tablet or browser may
write the decimal mark as a comma ("12,5"), so both marks are read; a length is a plain
decimal number of seconds, never NaN, infinity, a bool or an exponent.
"""

from __future__ import annotations

import enum
import math
import re

from edge_agent.wire.messages import MIN_RECORD_S

__all__ = ["LengthProblem", "RecordingLengthRefused", "recording_seconds"]

# Digits with at most one decimal mark, either one; ASCII digits only (float() would also take
# "1_0", "1e2", "inf" and other scripts' digits, which nobody types as a length).
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)", re.ASCII)


class LengthProblem(enum.Enum):
    NOT_A_NUMBER = "not_a_number"
    OUT_OF_RANGE = "out_of_range"


class RecordingLengthRefused(ValueError):
    """What is wrong with the length asked for; each caller raises its own error from it."""

    def __init__(self, problem: LengthProblem) -> None:
        self.problem = problem
        super().__init__(problem.value)


def recording_seconds(asked: object, high: float) -> float | None:
    """The length `asked` in seconds: None when nothing is asked (empty or blank text, None:
    the caller's default applies), else a float from MIN_RECORD_S to `high`.

    `asked` is a number (not a bool) or text: a decimal with "." or "," as its mark, spaces
    around allowed. Anything else is RecordingLengthRefused: NOT_A_NUMBER (NaN too), or
    OUT_OF_RANGE for a number below MIN_RECORD_S or above `high` (infinity too).
    """
    if asked is None or (isinstance(asked, str) and not asked.strip()):
        return None
    if isinstance(asked, str):
        text = asked.strip()
        if not _DECIMAL.fullmatch(text):
            raise RecordingLengthRefused(LengthProblem.NOT_A_NUMBER)
        seconds = float(text.replace(",", "."))
    elif isinstance(asked, int | float) and not isinstance(asked, bool):
        seconds = float(asked)
    else:
        raise RecordingLengthRefused(LengthProblem.NOT_A_NUMBER)
    if math.isnan(seconds):
        raise RecordingLengthRefused(LengthProblem.NOT_A_NUMBER)
    if not MIN_RECORD_S <= seconds <= high:  # infinity too (a float, or 400 digits typed)
        raise RecordingLengthRefused(LengthProblem.OUT_OF_RANGE)
    return seconds
