"""Real lungs heard as a care home would hear them: each condition does what it says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import signal

from bench import lung_conditions as lc
from bench._hearing import BELL_HZ
from stetho_signal._audio import prepare

DATA = Path("../shared/data")
FS = 4000.0


def _lung_like(seconds: float = 10.0, fs: float = FS) -> np.ndarray:
    rng = np.random.default_rng(1)
    return 0.1 * rng.standard_normal(int(seconds * fs))


def _db(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(a)) / np.mean(np.square(b))))


def _heart(seconds: float = 3.3) -> lc.Heart:
    rng = np.random.default_rng(2)
    return rng.standard_normal(int(seconds * FS)), FS


def _sounds(n: int = int(10 * FS), fs: float = FS) -> np.ndarray:
    return lc.heartbeat(_heart(), n, fs)


def _share(x: np.ndarray, fs: float, below: float, above: float) -> float:
    """Share of the power of ``x`` under ``below`` Hz or over ``above`` Hz."""
    power = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(x.size, 1 / fs)
    return float(power[(f < below) | (f > above)].sum() / power.sum())


@pytest.mark.parametrize(("condition", "under_db"), [("room_noise_20db", 20.0),
                                                     ("room_noise_10db", 10.0),
                                                     ("mains_hum", 10.0)])  # fmt: skip
def test_added_sounds_sit_at_their_level_under_the_recording(
    condition: str, under_db: float
) -> None:
    x = _lung_like()
    y, fs = lc.heard(condition, x, FS, "a", _sounds())
    assert fs == FS and y.size == x.size
    assert _db(x, y - x) == pytest.approx(under_db, abs=0.01)


@pytest.mark.parametrize("condition", ["room_noise_20db", "mains_hum", "heart_equal", "bell"])
def test_a_recorders_digital_silence_stays_silent(condition: str) -> None:
    # Before: the bench's noise filled an AKG file's 4,096 leading zeros, hiding the
    # recorder's silence from the analysis; a room or a sound card cannot reach them.
    x = _lung_like()
    x[:4096] = 0.0
    x[-100:] = 0.0
    y, _ = lc.heard(condition, x, FS, "a", _sounds())
    assert not np.any(y[:4096]) and not np.any(y[-100:])
    assert np.count_nonzero(y[4096:-100]) > 0.99 * (x.size - 4196)
    if condition != "bell":  # a chest piece's filter adds nothing to silence anyway
        filled, _ = lc.heard(condition, x, FS, "a", _sounds(), keep_silence=False)
        assert np.all(filled[:4096] != 0.0)  # the control: as the bench heard it before


def test_a_recording_with_no_silence_is_heard_whole() -> None:
    x = _lung_like()
    y, _ = lc.heard("room_noise_20db", x, FS, "a", _sounds())
    assert np.array_equal(y, lc.heard("room_noise_20db", x, FS, "a", _sounds(), False)[0])


@pytest.mark.parametrize(("condition", "ratio"), [("heart_half", 0.5), ("heart_equal", 1.0)])
def test_a_heart_is_added_at_its_rms_ratio_in_its_own_band_only(
    condition: str, ratio: float
) -> None:
    x = _lung_like()
    y, fs = lc.heard(condition, x, FS, "a", _sounds())
    added = y - x
    assert fs == FS and y.size == x.size
    assert 10 ** (-_db(x, added) / 20) == pytest.approx(ratio, rel=1e-6)  # RMS over RMS
    # Band-passed 20-150 Hz: nothing of the heart recording's breath sounds or murmurs.
    assert _share(added, FS, 10.0, 300.0) < 0.001


def test_a_short_heart_is_looped_at_the_lungs_rate_without_a_click() -> None:
    fs = 44_100.0
    t = np.arange(int(1.3 * FS)) / FS
    heart = np.sin(2 * np.pi * 60.0 * t), FS  # its end and start do not meet
    sounds = lc.heartbeat(heart, int(10 * fs), fs)
    assert sounds.size == int(10 * fs)  # looped seven times and more, at the lungs' rate
    # A bare join is a step, 4.8 times the tone's largest step from one sample to the next.
    steepest = 2 * np.pi * 60.0 / fs * float(np.max(np.abs(sounds)))
    assert float(np.max(np.abs(np.diff(sounds)))) < 1.1 * steepest


def test_chest_pieces_favour_their_band_and_usb_is_44k1() -> None:
    t = np.arange(int(4 * FS)) / FS
    low, high = np.sin(2 * np.pi * 40 * t), np.sin(2 * np.pi * 600 * t)
    b = _sounds(t.size)
    for condition, kept, cut in (("diaphragm", high, low), ("bell", low, high)):
        assert _db(lc.heard(condition, kept, FS, "a", b)[0][4000:], kept[4000:]) > -1.0
        assert _db(lc.heard(condition, cut, FS, "a", b)[0][4000:], cut[4000:]) < -8.0
    y, fs = lc.heard("at_44k1", high, FS, "a", b)
    assert fs == 44_100.0 and y.size == round(high.size * 44_100 / FS)
    # A recording made at 44.1 kHz already is heard as it was.
    x = _lung_like(2.0, 44_100.0)
    same, fs = lc.heard("at_44k1", x, 44_100.0, "a", _sounds(x.size, 44_100.0))
    assert fs == 44_100.0 and np.allclose(same, x, rtol=0, atol=1e-12)


def test_a_chest_piece_keeps_the_files_clipping_and_adds_none_to_a_clean_file() -> None:
    t = np.arange(int(4 * FS)) / FS
    tone = 1.6 * np.sin(2 * np.pi * 60 * t) + 0.2 * np.sin(2 * np.pi * 600 * t)
    clipped = np.clip(tone, -1.0, 1.0)  # the converter's flat tops, as a loud file holds them
    bell = signal.butter(2, BELL_HZ, "lowpass", fs=FS, output="sos")
    assert prepare(clipped, FS).clipped_fraction > 0.1
    assert prepare(signal.sosfilt(bell, clipped), FS).clipped_fraction == 0.0  # rounded off
    b = _sounds(t.size)
    y, _ = lc.heard("bell", clipped, FS, "a", b)
    # The bell's overshoot goes over the file's full scale, and the converter clips it again.
    assert float(np.max(np.abs(y))) == 1.0
    assert prepare(y, FS).clipped_fraction > 0.1
    # A file with no flat tops does not say where its full scale is: nothing is clipped.
    clean = 0.5 * tone
    assert np.array_equal(lc.heard("bell", clean, FS, "a", b)[0], signal.sosfilt(bell, clean))


def test_quiet_is_thirty_db_down_on_the_16_bit_grid() -> None:
    x = _lung_like()
    y, _ = lc.heard("quiet_16bit", x, FS, "a", _sounds())
    assert _db(x, y) == pytest.approx(30.0, abs=0.1)
    assert np.allclose(y * 32767, np.round(y * 32767))
    assert lc.heard("original", x, FS, "a", _sounds())[0] is x


def test_the_same_recording_hears_the_same_noise_and_heart_every_run() -> None:
    x = _lung_like()
    a, _ = lc.heard("room_noise_10db", x, FS, "rec", _sounds())
    b, _ = lc.heard("room_noise_10db", x, FS, "rec", _sounds())
    c, _ = lc.heard("room_noise_10db", x, FS, "other", _sounds())
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.array_equal(_sounds(), _sounds())


def test_an_unknown_condition_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown condition 'underwater'"):
        lc.heard("underwater", _lung_like(), FS, "a", _sounds())


def test_a_rate_is_lost_gained_or_moved_against_the_unchanged_recording() -> None:
    assert lc._rate_change(16.0, None) == "lost"
    assert lc._rate_change(None, 16.0) == "gained"
    assert lc._rate_change(16.0, 19.5) == "moved"  # over 3/min
    assert lc._rate_change(16.0, 19.0) is None
    assert lc._rate_change(None, None) is None


def test_without_a_data_folder_the_check_skips_with_a_reason(tmp_path: Path) -> None:
    assert "STETHO_DATA" in lc.run(tmp_path)["skipped"]


@pytest.mark.skipif(not (DATA / "MANIFEST.csv").exists(), reason="no shared data folder")
def test_a_real_recording_is_scored_under_every_condition_as_make_eval_scores_it() -> None:
    """104_1b1_Al (Littmann 3200, 4 kHz, no crackle or wheeze annotated): unchanged, its
    flags are bench.evaluate's; resampled to 44.1 kHz they stay."""
    item = next(i for i in lc.recordings(DATA) if i["name"] == "104_1b1_Al_sc_Litt3200")
    records = {r["condition"]: r for r in lc.run_one(item, _heart())}
    assert set(records) == set(lc.CONDITIONS)
    original = records["original"]
    assert not (original["crackle_annotated"] or original["wheeze_annotated"])
    assert (original["crackle_flagged"], original["wheeze_flagged"]) == (False, False)
    assert original["crackle_cycles_tp_fp_fn_tn"] == [0, 0, 0, 6]
    assert records["at_44k1"]["wheeze_flagged"] is False
    assert records["at_44k1"]["triage"] == original["triage"]
