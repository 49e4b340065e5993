"""A wheeze heard while someone spoke says so: a voice can pass for a wheeze.

Speech heard through the chest loses its upper harmonics (the chest wall is a low-pass); the
wheeze search's voice test then sees a lone fundamental and takes it for a wheeze. The search
counts the tones it did leave out as voice; from three on, someone spoke, and a wheeze in the
speaking range carries that in its reason and details. The flag itself is unchanged: the
doctor listens.
"""

from __future__ import annotations

import dataclasses

import pytest

from stetho_signal import analyze
from stetho_signal._rules import triage
from stetho_signal.lung import LungResult
from stetho_signal.quality import Quality, QualityMeasures
from stetho_signal.triage import TriageThresholds
from stetho_signal.wheezes import VOICE_F0_HZ, VOICE_HEARD_MIN_SOUNDS
from stetho_sim.sounds import FS_HZ, add_wheeze, breathing, voice
from stetho_sim.synth import synthesize

GOOD = Quality(0.9, True, (), (), QualityMeasures(0.0, -20.0, 0.2, 0.9, 3.0))
LUNG = LungResult(16.0, True, ((2.0, 2.3),), 203.0, (), 0.1, (), breaths=5.3, voice_sounds=9)


def _wheeze(lung: LungResult) -> dict[str, float | str]:
    (flag,) = [f for f in triage(GOOD, None, lung, TriageThresholds(), "adult").flags
               if f.code == "lung_wheeze"]  # fmt: skip
    return {"reason": flag.reason, **flag.details}


def test_a_wheeze_in_the_speaking_range_says_speech_was_heard() -> None:
    said = _wheeze(LUNG)
    assert said["voice_sounds"] == 9.0 and said["frequency_hz"] == 203.0
    reason = str(said["reason"])
    # The wheeze's own sentence first, then what was heard with it.
    assert reason.startswith("Musical sound lasting 0.30 s (at least 0.10 s) near 203 Hz")
    assert reason.endswith(
        "Speech was heard during the recording (9 voice-like sounds left out): make sure this "
        "sound is not a voice."
    )


@pytest.mark.parametrize(
    ("pitch", "voices", "says"),
    [
        (VOICE_F0_HZ[0], VOICE_HEARD_MIN_SOUNDS, True),
        (VOICE_F0_HZ[1], VOICE_HEARD_MIN_SOUNDS, True),
        (VOICE_F0_HZ[1] + 1.0, 20, False),  # over the speaking range: not a voice's fundamental
        (200.0, VOICE_HEARD_MIN_SOUNDS - 1, False),  # too few voice-like tones to say so
        (None, 20, False),
    ],
)
def test_the_bounds_of_speech_heard(pitch: float | None, voices: int, says: bool) -> None:
    said = _wheeze(dataclasses.replace(LUNG, wheeze_frequency_hz=pitch, voice_sounds=voices))
    assert ("voice_sounds" in said) is says
    assert ("Speech was heard" in str(said["reason"])) is says


@pytest.mark.parametrize("seed", [0, 3, 5])
def test_speech_with_steeply_falling_harmonics_is_a_wheeze_that_says_so(seed: int) -> None:
    # The known leak: harmonics falling 12 dB an octave leave a lone fundamental.
    x = breathing(15.0, 20.0, seed=seed) + voice(20.0, 0.1, seed, harmonic_slope_db=12.0)
    result = analyze(x, FS_HZ, "lung")
    assert result.lung is not None and result.lung.voice_sounds >= VOICE_HEARD_MIN_SOUNDS
    (flag,) = [f for f in result.triage.flags if f.code == "lung_wheeze"]
    assert flag.details["voice_sounds"] == float(result.lung.voice_sounds)


@pytest.mark.parametrize("freq_hz", [150.0, 250.0])
def test_a_wheeze_with_nobody_talking_says_nothing_of_speech(freq_hz: float) -> None:
    x = breathing(15.0, 20.0)
    add_wheeze(x, 6.0, 6.8, freq_hz=freq_hz)
    result = analyze(x, FS_HZ, "lung")
    assert result.lung is not None and result.lung.voice_sounds == 0
    (flag,) = [f for f in result.triage.flags if f.code == "lung_wheeze"]
    assert "voice_sounds" not in flag.details


def test_speech_alone_is_counted_and_breathing_alone_is_not() -> None:
    spoken = analyze(breathing(15.0, 20.0) + voice(20.0, 0.03), FS_HZ, "lung").lung
    quiet = analyze(breathing(15.0, 20.0), FS_HZ, "lung").lung
    assert spoken is not None and spoken.voice_sounds >= 3 * VOICE_HEARD_MIN_SOUNDS
    assert quiet is not None and quiet.voice_sounds == 0


@pytest.mark.parametrize("seed", range(3))
def test_the_simulators_talking_scenario_is_a_wheeze_that_says_so(seed: int) -> None:
    # The scenario the nurse's page is tested with: syllables through the chest over breathing.
    made = synthesize("talking", 15.0, 4000, seed=seed)
    assert sum(e.kind == "voice" for e in made.events) >= 10
    result = analyze(made.samples, 4000.0, "lung")
    assert result.quality.acceptable and result.triage.level == "review"
    (flag,) = [f for f in result.triage.flags if f.code == "lung_wheeze"]
    assert flag.details["voice_sounds"] >= VOICE_HEARD_MIN_SOUNDS
