"""One reading of a recording length for the nurse's page, the agent's API and the console."""

from __future__ import annotations

import pytest

from edge_agent.wire.messages import MAX_RECORD_S
from edge_agent.wire.recording_length import (
    LengthProblem,
    RecordingLengthRefused,
    recording_seconds,
)

NUMBER, RANGE = LengthProblem.NOT_A_NUMBER, LengthProblem.OUT_OF_RANGE


@pytest.mark.parametrize(
    ("asked", "seconds"),
    [(None, None), ("", None), ("  ", None), ("1", 1.0), (" 30 ", 30.0), ("12,5", 12.5),
     ("12.5", 12.5), (" 12,5 ", 12.5), ("120", 120.0), ("120,0", 120.0), ("+5", 5.0),
     ("5.", 5.0), ("1,", 1.0), ("000010", 10.0), (1, 1.0), (2.5, 2.5), (120.0, 120.0)],
)  # fmt: skip
def test_a_length_in_range_is_taken_with_either_decimal_mark(
    asked: object, seconds: float | None
) -> None:
    taken = recording_seconds(asked, MAX_RECORD_S)
    assert taken == seconds and (taken is None or type(taken) is float)


@pytest.mark.parametrize(
    ("asked", "problem"),
    [("ten", NUMBER), ("nan", NUMBER), ("NaN", NUMBER), ("inf", NUMBER), ("-inf", NUMBER),
     ("1e2", NUMBER), ("1_0", NUMBER), ("1,2,5", NUMBER), ("12,5,", NUMBER), ("12.5.", NUMBER),
     ("1 2", NUMBER), (",", NUMBER), ("-", NUMBER), ("١٢", NUMBER), ("12s", NUMBER),
     (float("nan"), NUMBER), (True, NUMBER), (False, NUMBER), (b"30", NUMBER), ([30], NUMBER),
     ("0,5", RANGE), ("0.99", RANGE), ("-5", RANGE), ("120,01", RANGE), ("121", RANGE),
     (0, RANGE), (121, RANGE), (float("inf"), RANGE), (-float("inf"), RANGE),
     ("9" * 400, RANGE)],
)  # fmt: skip
def test_anything_else_is_refused_saying_whether_it_was_a_number(
    asked: object, problem: LengthProblem
) -> None:
    with pytest.raises(RecordingLengthRefused) as refused:
        recording_seconds(asked, MAX_RECORD_S)
    assert refused.value.problem is problem
    assert str(refused.value) == problem.value  # what a log line or a traceback says


def test_the_upper_bound_is_the_caller_s() -> None:
    assert recording_seconds("30", 30.0) == 30.0
    with pytest.raises(RecordingLengthRefused) as refused:
        recording_seconds("30,5", 30.0)
    assert refused.value.problem is RANGE
