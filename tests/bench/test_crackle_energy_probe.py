"""The twenty-ninth round's energy probe: what counts under a bound, and the members' names."""

from __future__ import annotations

import math

from bench.crackle_energy_probe import RULE_DB, left, member
from stetho_signal._over_breath import LEAST_ENERGY_DB


def test_a_detection_at_the_bound_counts_and_one_under_it_does_not() -> None:
    assert left([3.0, 2.99, 10.0], 3.0) == 2
    assert left([], 3.0) == 0


def test_an_unmeasured_detection_counts_as_shipped() -> None:
    assert left([math.nan, 1.0], 3.0) == 1


def test_the_probe_reads_the_shipped_bound() -> None:
    assert RULE_DB == LEAST_ENERGY_DB == 3.0
    assert member(RULE_DB) == "energy >= 3.0 dB"
