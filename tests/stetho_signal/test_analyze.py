"""analyze(): typed errors on bad input, known answers on synthetic recordings, JSON contract."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stetho_signal import InvalidAudioError, SignalError, TriageThresholds, analyze
from stetho_sim.sounds import FS_HZ, breathing, pcg

CONTRACT_KEYS = {"sample_rate_hz", "duration_s", "kind", "quality", "heart", "lung", "triage"}


@pytest.mark.parametrize(
    ("samples", "fs"),
    [
        (np.zeros(0), FS_HZ),
        (np.zeros(3999), FS_HZ),
        (np.full(8000, np.nan), FS_HZ),
        (np.full(8000, np.inf), FS_HZ),
        (np.zeros(8000), 1000.0),
        (np.zeros(8000), 96000.0),
        (np.zeros(8000), float("nan")),
        (np.zeros((8000, 0)), FS_HZ),
        (np.zeros((10, 10, 80)), FS_HZ),
        (np.zeros(8000, dtype=complex), FS_HZ),
    ],
)
def test_unusable_input_is_a_typed_error(samples: np.ndarray, fs: float) -> None:
    with pytest.raises(InvalidAudioError):
        analyze(samples, fs, "heart")
    assert issubclass(InvalidAudioError, SignalError)


def test_unknown_kind_is_a_typed_error() -> None:
    with pytest.raises(InvalidAudioError):
        analyze(np.zeros(8000), FS_HZ, "knee")  # type: ignore[arg-type]


@pytest.mark.parametrize("rate", [72.0, 100.0])
def test_heart_rate_of_a_synthetic_pcg(rate: float) -> None:
    x, _, _ = pcg(rate, 12.0)
    result = analyze(x, FS_HZ, "heart")
    assert result.heart is not None
    assert result.heart.rate_bpm == pytest.approx(rate, abs=2.0)
    assert result.lung is None
    assert result.quality.acceptable


def test_int16_stereo_at_8khz_uses_first_channel() -> None:
    x, _, _ = pcg(72.0, 8.0, fs_hz=8000.0)
    left = (x / np.max(np.abs(x)) * 20000).astype(np.int16)
    stereo = np.stack([left, np.zeros_like(left)], axis=1)
    result = analyze(stereo, 8000.0, "heart")
    assert result.sample_rate_hz == 8000.0
    assert result.heart is not None and result.heart.rate_bpm == pytest.approx(72.0, abs=2.0)


def test_to_dict_has_exactly_the_contract_keys_and_is_json() -> None:
    x, _, _ = pcg(72.0, 8.0)
    d = analyze(x, FS_HZ, "heart").to_dict()
    assert set(d) == CONTRACT_KEYS
    assert set(d["quality"]) == {"score", "acceptable", "problems"}
    assert set(d["heart"]) == {"rate_bpm", "s1_s", "s2_s", "irregular", "murmur_suspected"}
    assert d["lung"] is None
    assert set(d["triage"]) == {"level", "flags"}
    json.dumps(d, allow_nan=False)

    lung = analyze(breathing(15.0, 12.0), FS_HZ, "lung").to_dict()
    assert lung["heart"] is None
    assert set(lung["lung"]) == {
        "respiratory_rate_bpm",
        "wheeze",
        "wheeze_intervals_s",
        "crackles",
        "crackle_times_s",
    }
    json.dumps(lung, allow_nan=False)


def test_fast_rate_is_urgent_with_a_flag_that_explains() -> None:
    x, _, _ = pcg(150.0, 10.0)
    result = analyze(x, FS_HZ, "heart")
    assert result.triage.level == "urgent"
    flag = next(f for f in result.triage.flags if f.code == "heart_rate_very_high")
    assert flag.threshold == TriageThresholds().heart_rate_urgent_high_bpm
    assert flag.value == pytest.approx(150.0, abs=3.0)
    assert "150" in flag.reason


def test_thresholds_come_from_the_caller() -> None:
    x, _, _ = pcg(72.0, 10.0)
    strict = TriageThresholds(heart_rate_review_high_bpm=70.0, heart_rate_urgent_high_bpm=131.0)
    assert analyze(x, FS_HZ, "heart", strict).triage.level == "review"
    assert analyze(x, FS_HZ, "heart").triage.level == "routine"


def test_thresholds_reject_nonsense() -> None:
    with pytest.raises(ValueError):
        TriageThresholds(heart_rate_review_low_bpm=200.0)
    with pytest.raises(ValueError):
        TriageThresholds(quality_min_score=-1.0)


def test_silence_asks_for_a_rerecord_saying_why() -> None:
    result = analyze(np.zeros(int(5 * FS_HZ), dtype=np.int16), FS_HZ, "heart")
    assert not result.quality.acceptable
    assert result.triage.level == "rerecord"
    assert any("not in contact" in p for p in result.quality.problems)


def test_clipping_asks_to_lower_the_gain() -> None:
    x, _, _ = pcg(72.0, 10.0)
    clipped = np.clip(x * 20, -0.2, 0.2)
    result = analyze(clipped, FS_HZ, "heart")
    assert result.triage.level == "rerecord"
    assert any("lower the gain" in p for p in result.quality.problems)


@pytest.mark.parametrize("rate", [2000.0, 8000.0, 44100.0, 48000.0])
def test_any_supported_rate_gives_the_same_heart_rate(rate: float) -> None:
    x, _, _ = pcg(90.0, 8.0, fs_hz=rate)
    result = analyze(x.astype(np.float32), rate, "heart")
    assert result.sample_rate_hz == rate
    assert result.duration_s == pytest.approx(8.0, abs=0.01)
    assert result.heart is not None and result.heart.rate_bpm == pytest.approx(90.0, abs=2.0)


def test_int24_left_justified_in_int32_is_scaled_by_its_dtype() -> None:
    x, _, _ = pcg(75.0, 6.0)
    as_int32 = (x / np.max(np.abs(x)) * 0.5 * 2**31).astype(np.int32)
    result = analyze(as_int32, FS_HZ, "heart")
    assert result.quality.acceptable
    assert result.heart is not None and result.heart.rate_bpm == pytest.approx(75.0, abs=2.0)


def test_lung_white_noise_is_too_noisy_to_use() -> None:
    noise = np.random.default_rng(2).standard_normal(int(10 * FS_HZ)) * 0.05
    result = analyze(noise, FS_HZ, "lung")
    assert result.triage.level == "rerecord"
    assert any("noisy" in p for p in result.quality.problems)


def test_short_lung_clip_has_null_rate_with_a_reason() -> None:
    result = analyze(breathing(15.0, 1.5), FS_HZ, "lung")
    assert result.lung is not None and result.lung.respiratory_rate_bpm is None
    assert result.lung.notes
    assert result.to_dict()["lung"]["respiratory_rate_bpm"] is None
