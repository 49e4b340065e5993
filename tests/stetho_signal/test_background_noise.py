"""How far the lung band, where crackles are sought, stands over its floor."""

from __future__ import annotations

import numpy as np
import pytest

from stetho_signal import analyze
from stetho_signal.lung import band_over_floor_db
from stetho_sim.sounds import FS_HZ, breathing


def test_the_loudest_quarter_is_measured_from_the_floor() -> None:
    envelope = np.arange(101.0)[None, ::-1]  # the order of the frames does not matter
    assert band_over_floor_db(envelope) == pytest.approx(75.0 - 10.0)
    assert band_over_floor_db(np.full((1, 50), -30.0)) == 0.0  # steady: no breath over it
    assert band_over_floor_db(np.zeros((1, 0))) == 0.0


@pytest.mark.parametrize("rate", [8.0, 15.0, 60.0])
def test_breathing_in_a_quiet_room_stands_over_its_floor(rate: float) -> None:
    """An infant's 60/min fills more of the 0.4 s envelope (5.0 dB), still over 4.5 dB."""
    result = analyze(breathing(rate, 20.0), FS_HZ, "lung")
    assert result.lung is not None and result.lung.band_over_floor_db > 4.5
