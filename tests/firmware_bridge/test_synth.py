"""The synthesiser: deterministic, chunk-independent, and its ground truth matches its audio."""

from __future__ import annotations

import numpy as np
import pytest

from stetho_sim.scenarios import SimulationSetupError
from stetho_sim.sounds import FS_HZ, voice
from stetho_sim.synth import SCENARIO_SPECS, StethoscopeSynth, synthesize


@pytest.mark.parametrize("scenario", list(SCENARIO_SPECS))
def test_every_scenario_is_bounded_float32_and_not_silent(scenario: str) -> None:
    rec = synthesize(scenario, 6.0, 4000, seed=2)
    assert rec.samples.dtype == np.float32
    assert rec.samples.shape == (24000,)
    assert np.all(np.abs(rec.samples) <= 1.0)
    # At low gain too: 46 dB under the usual level, far over 16-bit rounding (3e-5).
    floor = 1e-4 if scenario == "low-gain" else 0.01
    assert float(np.sqrt(np.mean(rec.samples**2))) > floor


def test_same_seed_same_audio_and_other_seed_differs() -> None:
    a = synthesize("irregular", 4.0, seed=5).samples
    b = synthesize("irregular", 4.0, seed=5).samples
    c = synthesize("irregular", 4.0, seed=6).samples
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_output_does_not_depend_on_read_sizes() -> None:
    chunked = StethoscopeSynth("crackles", 4000, seed=3)
    pieces = [chunked.read(n) for n in (1, 999, 4000, 7, 24993)]
    whole = StethoscopeSynth("crackles", 4000, seed=3).read(30000)
    assert np.array_equal(np.concatenate(pieces), whole)


@pytest.mark.parametrize(
    ("scenario", "bpm"), [("normal", 72), ("tachycardia", 128), ("bradycardia", 44)]
)
def test_s1_count_matches_heart_rate(scenario: str, bpm: int) -> None:
    rec = synthesize(scenario, 30.0, 2000, seed=1)
    s1 = [e.start_s for e in rec.events if e.kind == "S1"]
    rate = 60.0 / float(np.mean(np.diff(s1)))
    assert rate == pytest.approx(bpm, rel=0.05)


def test_irregular_rhythm_has_variable_rr_and_regular_does_not() -> None:
    def rr_cv(scenario: str) -> float:
        s1 = np.array(
            [e.start_s for e in synthesize(scenario, 30.0, 2000).events if e.kind == "S1"]
        )
        rr = np.diff(s1)
        return float(np.std(rr) / np.mean(rr))

    assert rr_cv("irregular") > 0.12
    assert rr_cv("normal") < 0.06


def test_s2_follows_s1_within_the_cycle() -> None:
    events = synthesize("normal", 10.0).events
    s1 = [e.start_s for e in events if e.kind == "S1"]
    s2 = [e.start_s for e in events if e.kind == "S2"]
    for a, b in zip(s1, s2, strict=False):
        assert 0.2 < b - a < 0.4


def test_heart_sound_energy_sits_where_the_ground_truth_says() -> None:
    rec = synthesize("normal", 10.0, 4000, seed=4)
    inside = np.zeros(rec.samples.size, dtype=bool)
    for e in rec.events:
        if e.kind in ("S1", "S2"):
            inside[round(e.start_s * 4000) : round(e.end_s * 4000)] = True
    power = rec.samples.astype(np.float64) ** 2
    assert power[inside].mean() > 20 * power[~inside].mean()


def test_murmur_adds_energy_between_s1_and_s2_in_its_band() -> None:
    def systolic_hf_power(scenario: str) -> float:
        rec = synthesize(scenario, 10.0, 4000, seed=7)
        total = 0.0
        for e in rec.events:
            if e.kind == "S1":
                seg = rec.samples[round((e.end_s) * 4000) : round((e.end_s + 0.1) * 4000)]
                spectrum = np.abs(np.fft.rfft(seg, 4000)) ** 2
                total += float(spectrum[150:500].sum())
        return total

    assert systolic_hf_power("murmur") > 10 * systolic_hf_power("normal")


def test_wheeze_is_tonal_above_100_hz_and_lasts_over_100_ms() -> None:
    rec = synthesize("wheeze", 12.0, 4000, seed=1)
    wheezes = [e for e in rec.events if e.kind == "wheeze"]
    assert wheezes
    for e in wheezes:
        assert e.end_s - e.start_s > 0.1
    e = wheezes[0]
    seg = rec.samples[round(e.start_s * 4000) : round(e.end_s * 4000)]
    spectrum = np.abs(np.fft.rfft(seg * np.hanning(seg.size)))
    peak_hz = np.argmax(spectrum) * 4000 / seg.size
    assert 250 < peak_hz < 550


def test_crackles_are_short_and_fall_in_inspiration() -> None:
    rec = synthesize("crackles", 12.0, 4000, seed=1)
    crackles = [e for e in rec.events if e.kind == "crackle"]
    inspirations = [e for e in rec.events if e.kind == "inspiration"]
    assert len(crackles) >= 5
    for c in crackles:
        assert c.end_s - c.start_s < 0.02
        assert any(i.start_s <= c.start_s < i.end_s for i in inspirations)


def test_clipping_scenario_reaches_full_scale_and_normal_does_not() -> None:
    assert np.mean(np.abs(synthesize("clipping", 5.0).samples) >= 1.0) > 0.001
    assert np.max(np.abs(synthesize("normal", 5.0).samples)) < 0.9


def test_poor_contact_loses_contact_and_reports_it() -> None:
    synth = StethoscopeSynth("poor-contact", 4000, seed=0)
    synth.read(4000 * 20)
    lost = [e for e in synth.events if e.kind == "no-contact"]
    assert lost
    probe = StethoscopeSynth("poor-contact", 4000, seed=0)
    probe.read(round(lost[0].start_s * 4000) + 10)
    assert not probe.contact_at(round(lost[0].start_s * 4000) + 20)
    assert probe.contact_at(round(lost[0].end_s * 4000) + 1)


@pytest.mark.parametrize("rate", [2000, 4000, 8000])
def test_every_profile_rate_works(rate: int) -> None:
    for scenario in SCENARIO_SPECS:
        assert synthesize(scenario, 2.0, rate).samples.size == 2 * rate


def test_unknown_scenario_is_a_configuration_error() -> None:
    with pytest.raises(SimulationSetupError, match="unknown scenario"):
        StethoscopeSynth("asthma-attack")


def test_a_stream_that_keeps_no_events_sounds_the_same() -> None:
    # The simulated stethoscope streams for days: its synthesiser must not keep every event.
    kept, streamed = (
        StethoscopeSynth("murmur", seed=4),
        StethoscopeSynth("murmur", seed=4, keep_events=False),
    )
    for _ in range(5):
        assert np.array_equal(kept.read(4000), streamed.read(4000))
    assert kept.events and not streamed.events


def test_the_mains_hum_scenario_hums_at_50_hz_whatever_the_reads() -> None:
    chunked = StethoscopeSynth("mains-hum", 4000, seed=3)
    pieces = [chunked.read(n) for n in (1, 999, 4000, 7, 24993)]
    whole = StethoscopeSynth("mains-hum", 4000, seed=3).read(30000)
    assert np.array_equal(np.concatenate(pieces), whole)
    # The same chest as `normal`, plus the hum alone: 50 Hz and its 3rd and 5th harmonics.
    hum = whole.astype(np.float64) - StethoscopeSynth("normal", 4000, seed=3).read(30000)
    spectrum = np.abs(np.fft.rfft(hum))
    assert sorted(np.argsort(spectrum)[-3:] * 4000 / hum.size) == [50.0, 150.0, 250.0]
    assert float(np.std(hum)) == pytest.approx(0.0162, abs=0.0005)


@pytest.mark.parametrize(("slope_db", "expected_db"), [(None, -3.1), (6.0, -6.0), (12.0, -12.0)])
def test_voice_second_harmonic_falls_as_asked(slope_db: float | None, expected_db: float) -> None:
    # One syllable (the first starts at 0.5 s): its pitch glides down 20 %, so harmonic 1
    # fills [0.8 f0, f0] and harmonic 2 [1.6 f0, 2 f0], apart. By default harmonic k is
    # 0.7**(k - 1) (-3.1 dB for the second); through the chest wall it falls per octave.
    x = voice(1.5, 0.1, seed=5, harmonic_slope_db=slope_db)
    power = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(x.size, 1.0 / FS_HZ)
    # The first harmonic (the strongest) ends where its band falls into the gap before the second.
    end = int(np.argmax(power))
    while power[end + 1] > 1e-4 * power.max():
        end += 1
    top = float(f[end])
    first = power[(f >= 0.75 * top) & (f <= 1.02 * top)].sum()
    second = power[(f >= 1.55 * top) & (f <= 2.04 * top)].sum()
    assert 10.0 * np.log10(second / first) == pytest.approx(expected_db, abs=0.5)
