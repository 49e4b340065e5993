import numpy as np

from bench._breath_rhythm import (
    ENV_RATE_HZ,
    NAMES,
    breath_rhythm,
    measured,
    resp_share,
    sound_band_step,
)

FS = 4000.0


def _envelopes(seconds: float, beats: np.ndarray, levels: np.ndarray) -> tuple[np.ndarray, ...]:
    """A heart-band envelope with 40 ms pulses at ``beats`` and a breath (dB) swelling every
    5 s."""
    t = np.arange(round(seconds * ENV_RATE_HZ)) / ENV_RATE_HZ
    heart = np.full(t.size, 0.01)
    for at, level in zip(beats, levels, strict=True):
        heart += level * np.exp(-0.5 * ((t - at) / 0.02) ** 2)
    breath = 10.0 * np.sin(2 * np.pi * t / 5.0)
    return heart, breath


def test_beat_levels_that_swell_with_the_breath_lie_at_breathing_frequencies() -> None:
    beats = np.arange(0.5, 19.5, 0.4)  # 150/min for 19 s
    swelling = 1.0 + 0.5 * np.sin(2 * np.pi * beats / 5.0)  # 12 breaths/min
    share = resp_share(beats, np.log(swelling))
    assert share is not None and share > 0.9
    steady = np.exp(0.1 * np.random.default_rng(0).standard_normal(beats.size))
    share = resp_share(beats, np.log(steady))
    assert share is not None and share < 0.6


def test_a_chain_read_twice_too_fast_steps_up_and_down_at_every_beat() -> None:
    beats = np.arange(0.5, 19.5, 0.4)
    alternate = np.where(np.arange(beats.size) % 2 == 0, 1.0, 0.25)
    m = breath_rhythm(*_envelopes(20.0, beats, alternate), tuple(beats))
    assert m["beat_step"] is not None and abs(m["beat_step"] - np.log(4.0)) < 0.05
    assert m["quiet_alternation"] is not None and m["quiet_alternation"] > 1.0
    steady = breath_rhythm(*_envelopes(20.0, beats, np.ones(beats.size)), tuple(beats))
    assert steady["beat_step"] is not None and steady["beat_step"] < 0.05
    assert steady["loud_phase_beats"] is not None and 0.4 < steady["loud_phase_beats"] < 0.6


def test_a_short_chain_has_no_measures_and_a_recording_is_measured() -> None:
    heart, breath = _envelopes(3.0, np.array([0.5, 1.0]), np.ones(2))
    assert set(breath_rhythm(heart, breath, (0.5, 1.0)).values()) == {None}
    x = np.random.default_rng(1).standard_normal(round(10 * FS))
    m = measured(x, FS, tuple(np.arange(0.5, 9.5, 0.4)), ())
    assert set(m) == set(NAMES) and m["beat_step"] is not None
    assert m["sound_band_step"] is not None


def test_the_sound_band_step_reads_the_beats_the_rate_stands_on() -> None:
    """Loud and faint 50 Hz bursts in turn, 0.4 s apart: a factor of four from beat to beat;
    their S2s found in more beats are read instead."""
    x = 0.001 * np.random.default_rng(2).standard_normal(round(10 * FS))
    beats = np.arange(0.5, 9.5, 0.4)
    n = round(0.08 * FS)
    burst = np.hanning(n) * np.sin(2 * np.pi * 50.0 * np.arange(n) / FS)
    for k, t in enumerate(beats):
        at = round((t - 0.04) * FS)
        x[at : at + n] += (1.0 if k % 2 == 0 else 0.25) * burst
    step = sound_band_step(x, FS, tuple(beats), ())
    assert step is not None and abs(step - np.log(4.0)) < 0.1
    assert sound_band_step(x, FS, (), tuple(beats)) == step
    assert sound_band_step(x, FS, tuple(beats[:4]), ()) is None


def test_the_analysis_measures_exactly_the_probes_beat_step() -> None:
    """stetho_signal._fast_read.beat_step is this module's ``beat_step``, where its bound was
    placed (twentieth round): same band, envelope, beats and rounding, at any rate and scale."""
    from bench._breath_rhythm import envelopes
    from stetho_signal._fast_read import beat_step

    rng = np.random.default_rng(5)
    for fs, seconds in ((4000.0, 12.0), (8000.0, 7.3), (44100.0, 3.0)):
        n = round(seconds * fs)
        x = 0.05 * rng.standard_normal(n)
        beats = np.sort(rng.uniform(-0.2, seconds + 0.2, 40))  # some outside the recording
        t = np.arange(n) / fs
        for at in beats:
            x += (
                rng.uniform(0.1, 1.0)
                * np.exp(-0.5 * ((t - at) / 0.02) ** 2)
                * np.sin(2 * np.pi * 50.0 * t)
            )
        s1 = tuple(round(float(b), 3) for b in beats)
        probe = breath_rhythm(*envelopes(x, fs), s1)["beat_step"]
        assert probe is not None
        assert beat_step(x, fs, s1) == probe
        assert beat_step(x, fs, s1[:7]) is None
        assert breath_rhythm(*envelopes(x, fs), s1[:7])["beat_step"] is None
