"""A background loud enough to hide crackles: the breath is heard over it in its liveliest
octave, yet over the whole band the crackles are sought in it rises to the breath's level. The
recording is sent back with what to do (quiet the room), never passed as free of crackles."""

from __future__ import annotations

import numpy as np
import pytest

from stetho_signal import analyze
from stetho_signal.lung import band_over_floor_db
from stetho_signal.quality import PROBLEM_TEXT, assess_quality
from stetho_signal.triage import TriageThresholds
from stetho_sim.sounds import FS_HZ, add_crackles, breathing
from tests.stetho_signal.test_breath_unheard import pink, under

LOUD_BAND = np.full(100, 0.01)  # -40 dBFS: the level alone says there is sound


def test_the_loudest_quarter_is_measured_from_the_floor() -> None:
    envelope = np.arange(101.0)[None, ::-1]  # the order of the frames does not matter
    assert band_over_floor_db(envelope) == pytest.approx(75.0 - 10.0)
    assert band_over_floor_db(np.full((1, 50), -30.0)) == 0.0  # steady: no breath over it
    assert band_over_floor_db(np.zeros((1, 0))) == 0.0


@pytest.mark.parametrize("rate", [8.0, 15.0, 60.0])
def test_breathing_in_a_quiet_room_stands_over_its_floor(rate: float) -> None:
    """An infant's 60/min fills more of the 0.4 s envelope (5.0 dB), still over the bound."""
    result = analyze(breathing(rate, 20.0), FS_HZ, "lung")
    assert result.lung is not None and result.lung.band_over_floor_db > 4.5
    assert result.quality.problem_codes == ()


@pytest.mark.parametrize("seed", [5, 6])
def test_breath_heard_but_the_room_could_hide_crackles_is_sent_back(seed: int) -> None:
    loud = analyze(under(pink(20.0, seed), breathing(15.0, 20.0), -8.0), FS_HZ, "lung")
    assert loud.lung is not None and loud.lung.breath_swell_db > 6.0  # the breath is heard
    assert loud.lung.band_over_floor_db < 3.0 and not loud.lung.crackle_times_s
    assert loud.quality.problem_codes == ("background_noise",)
    assert loud.triage.level == "rerecord"
    said = loud.quality.problems[0]
    assert said.startswith("background noise loud enough to hide crackles: quiet the room")


@pytest.mark.parametrize("seed", [5, 6])
def test_crackles_heard_through_the_room_reach_the_doctor(seed: int) -> None:
    """What the noise could hide was heard through it: a review, not a request to record again
    (the doctor would otherwise lose the finding if the room cannot be made quieter)."""
    x = breathing(15.0, 20.0)
    add_crackles(x, [3.2, 3.4, 7.2, 7.4, 11.2, 15.2])
    loud = analyze(under(pink(20.0, seed), x, -8.0), FS_HZ, "lung")
    assert loud.lung is not None and loud.lung.band_over_floor_db < 3.0
    assert loud.quality.problem_codes == () and loud.triage.level == "review"
    assert [f.code for f in loud.triage.flags] == ["lung_crackles"]
    strict = TriageThresholds(crackles_min_count=7)
    fewer = analyze(under(pink(20.0, seed), x, -8.0), FS_HZ, "lung", thresholds=strict)
    assert fewer.quality.problem_codes == ("background_noise",)  # six are not a finding at 7


def test_a_background_under_the_breath_passes() -> None:
    x = breathing(15.0, 20.0)
    add_crackles(x, [3.2, 3.4, 7.2, 7.4, 11.2, 15.2])
    result = analyze(under(pink(20.0), x, 0.0), FS_HZ, "lung")
    assert result.lung is not None and result.lung.band_over_floor_db > 6.0
    assert result.quality.problem_codes == () and result.findings.crackles


@pytest.mark.parametrize(
    ("over_floor_db", "score"), [(2.0, 0.0), (3.0, 0.0), (4.5, 0.5), (6.0, 1.0), (9.0, 1.0)]
)
def test_the_floor_is_scored_from_3_to_6_db(over_floor_db: float, score: float) -> None:
    scores = assess_quality(
        LOUD_BAND, 0.0, None, 0.3, breath_swell_db=20.0, band_over_floor_db=over_floor_db
    ).subscores
    assert scores["background_noise"] == pytest.approx(score)
    assert scores["no_signal"] == scores["noise"] == scores["breath_unheard"] == 1.0


@pytest.mark.parametrize("level_dbfs", [-40.0, -70.0, -85.0])
def test_a_floor_as_loud_as_the_breath_is_a_problem_at_any_level_with_sound(
    level_dbfs: float,
) -> None:
    """Over -65 dBFS, between -72.5 and -65 where the level alone passes, and faint."""
    band = np.full(100, 10.0 ** (level_dbfs / 20.0))
    scores = assess_quality(band, 0.0, None, 0.3, None, (), 20.0, 2.0).subscores
    assert scores["no_signal"] == 1.0 and scores["background_noise"] == 0.0


def test_heart_recordings_and_silence_are_not_judged_by_it() -> None:
    assert "background_noise" not in assess_quality(LOUD_BAND, 0.0, (0.5, 3.0), None).subscores
    silent = assess_quality(np.zeros(100), 0.0, None, 0.3, None, (), 20.0, 0.0).subscores
    assert silent == {"clipping": 1.0, "no_signal": 0.0}  # no sound: nothing else to say


def test_the_doctor_reads_what_to_do() -> None:
    assert PROBLEM_TEXT["background_noise"].endswith("talk off) and record again")
