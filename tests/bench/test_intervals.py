"""Wilson, the patient bootstrap and MOVER (``bench._intervals``) on counts."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from bench._intervals import clustered_wilson, mover_mean, patient_bootstrap, wilson


# Newcombe 1998, Table I, method 3 (score interval without continuity correction).
@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611),
     (1, 29, 0.0061, 0.1718)],
)  # fmt: skip
def test_wilson_gives_newcombes_published_limits(k: int, n: int, low: float, high: float) -> None:
    interval = wilson(k, n)
    assert interval is not None
    assert interval == pytest.approx((low, high), abs=5e-5)


def test_wilson_equals_scipys_for_whole_counts() -> None:
    for n in (1, 2, 7, 25, 66):
        for k in range(n + 1):
            ci = stats.binomtest(k, n).proportion_ci(method="wilson")
            assert wilson(k, n) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_wilson_at_none_and_all_stays_inside_zero_one_without_collapsing() -> None:
    none, every = wilson(0, 13), wilson(13, 13)
    assert none is not None and every is not None
    assert none[0] == 0.0 and 0.2 < none[1] < 0.25
    assert every[1] == 1.0 and 0.75 < every[0] < 0.8


def test_wilson_of_nothing_is_no_data_and_bad_counts_are_refused() -> None:
    assert wilson(0, 0) is None
    for k, n in ((3, 2), (-1, 5), (1, -1), (1, float("nan"))):
        with pytest.raises(ValueError, match="successes <= n"):
            wilson(k, n)
    with pytest.raises(ValueError, match="confidence"):
        wilson(1, 2, confidence=1.0)


def test_clustered_wilson_counts_each_patient_once_when_every_recording_agrees() -> None:
    # 20 of 20 normal clips from 2 sources: as sure as 2 of 2, not 20 of 20.
    assert clustered_wilson(20, 20, 2, 0.0) == pytest.approx(wilson(2, 2))


def test_clustered_wilson_is_never_narrower_than_plain_wilson() -> None:
    plain = wilson(19, 25)
    assert plain is not None
    for sd in (0.0, 0.05, 0.2):
        low, high = clustered_wilson(19, 25, 15, sd) or (np.nan, np.nan)
        assert low <= plain[0] + 1e-12 and high >= plain[1] - 1e-12
    wider = clustered_wilson(19, 25, 15, 0.2)
    assert wider is not None and wider[1] - wider[0] > plain[1] - plain[0] + 0.05


def _share(totals: np.ndarray) -> np.ndarray:
    return np.asarray(totals[:, 0] / totals[:, 1])


def test_patient_bootstrap_repeats_with_its_seed_and_changes_with_another() -> None:
    sums = np.array([[1.0, 1.0], [0.0, 1.0], [2.0, 3.0], [1.0, 2.0], [3.0, 3.0]] * 4)
    first = patient_bootstrap(sums, _share, seed=5)
    assert first == patient_bootstrap(sums, _share, seed=5)
    assert first != patient_bootstrap(sums, _share, seed=6)


def test_patient_bootstrap_widens_when_a_patients_recordings_repeat() -> None:
    outcomes = np.array([1.0] * 12 + [0.0] * 8)
    # The same 60 recordings: 60 patients with one each, or 20 patients with three alike.
    independent = np.column_stack([np.repeat(outcomes, 3), np.ones(60)])
    clustered = np.column_stack([3.0 * outcomes, np.full(20, 3.0)])
    a = patient_bootstrap(independent, _share)
    b = patient_bootstrap(clustered, _share)
    assert a is not None and b is not None
    assert b.high - b.low > 1.4 * (a.high - a.low)
    assert b.sd > 1.4 * a.sd


def test_patient_bootstrap_within_strata_keeps_every_stratum() -> None:
    # Patient 0 is the only one of its kind: unstratified, some resamples leave it out.
    sums = np.array([[1.0, 1.0]] + [[0.0, 1.0]] * 9)
    only_one = lambda t: t[:, 0] / (t[:, 0] > 0)  # noqa: E731  (NaN without patient 0)
    loose = patient_bootstrap(sums, only_one)
    kept = patient_bootstrap(sums, only_one, strata=["a"] + ["b"] * 9)
    assert loose is not None and kept is not None
    assert loose.defined < 2000 and kept.defined == 2000


def test_patient_bootstrap_of_no_patient_is_no_data() -> None:
    assert patient_bootstrap(np.zeros((0, 2)), _share) is None
    with pytest.raises(ValueError, match="patients, columns"):
        patient_bootstrap(np.zeros(4), _share)
    with pytest.raises(ValueError, match="strata"):
        patient_bootstrap(np.ones((3, 2)), _share, strata=["a"])


def test_mover_mean_of_one_is_its_interval_and_of_two_sits_between() -> None:
    assert mover_mean([0.5], [(0.3, 0.6)]) == pytest.approx((0.3, 0.6))
    low, high = mover_mean([0.9, 1.0], [(0.8, 0.95), (0.34, 1.0)])
    assert low == pytest.approx(0.95 - np.hypot(0.1, 0.66) / 2)
    assert high == pytest.approx(0.95 + 0.05 / 2)
    with pytest.raises(ValueError, match="outside"):
        mover_mean([0.9], [(0.1, 0.5)])
