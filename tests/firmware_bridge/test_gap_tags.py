"""The gap tags a recording carries: written as the reassembler counted the lost samples, read
back exactly, and a damaged tag refused (its silences would be analysed as sound)."""

from __future__ import annotations

import pytest

from firmware_bridge.errors import MalformedFrameError
from firmware_bridge.flac import GAPS_TAG, gap_tags, gaps_from_tags
from firmware_bridge.reassembly import Gap


def test_gaps_round_trip_with_the_lost_sample_count() -> None:
    gaps = (Gap(0, 80), Gap(4000, 240), Gap(123_456, 1))
    tags = gap_tags(gaps)
    assert tags == {GAPS_TAG: "[[0, 80], [4000, 240], [123456, 1]]", "STETHO_LOST_SAMPLES": "321"}
    assert gaps_from_tags(tags) == gaps


def test_no_gaps_and_no_tag_both_mean_nothing_lost() -> None:
    assert gap_tags(()) == {GAPS_TAG: "[]", "STETHO_LOST_SAMPLES": "0"}
    assert gaps_from_tags(gap_tags(())) == ()
    assert gaps_from_tags({"STETHO_SITE": "trachea"}) == ()


@pytest.mark.parametrize(
    "text",
    [
        "[[1, 2",  # not JSON
        '{"1": 2}',  # not a list
        "[[1, 2, 3]]",  # not a pair
        "[[1]]",
        "[1, 2]",  # pairs, not numbers
        "[[1.5, 2]]",  # not whole samples
        "[[1, 2.0]]",
        '[["1", 2]]',
        "[[true, 2]]",
        "[[-1, 2]]",  # out of Gap's bounds
        "[[1, 0]]",
    ],
)
def test_a_damaged_tag_is_refused(text: str) -> None:
    with pytest.raises(MalformedFrameError, match="STETHO_GAPS tag is not a list"):
        gaps_from_tags({GAPS_TAG: text})
