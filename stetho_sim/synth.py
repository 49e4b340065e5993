"""Synthetic heart and lung sounds for every simulator scenario, with their ground truth.

`StethoscopeSynth` streams indefinitely: each call to `read(n)` returns the next `n` samples, and
`events` lists what was placed so far (S1, S2, murmur, breath phases, wheezes, crackles, contact
loss) with times in seconds since the stream started. The output depends only on the scenario, the
sample rate and the seed, never on how the stream is cut into reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from stetho_common import dsp
from stetho_sim import _sounds
from stetho_sim.scenarios import SCENARIO_SPECS, Scenario, SimulationSetupError
from stetho_sim.scenarios import scenario as scenario_named

__all__ = [
    "SCENARIO_SPECS",
    "Scenario",
    "SoundEvent",
    "StethoscopeSynth",
    "Synthesis",
    "synthesize",
]


@dataclass(frozen=True)
class SoundEvent:
    """One placed sound: kind (S1, S2, murmur, inspiration, expiration, wheeze, crackle,
    no-contact, voice) and its start and end in seconds since the stream started."""

    kind: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Synthesis:
    """A finished synthetic recording and its ground truth."""

    samples: NDArray[np.float32]
    sample_rate_hz: int
    scenario: Scenario
    events: tuple[SoundEvent, ...]


_Placement = tuple[int, NDArray[np.float64], SoundEvent | None]
_LOOKAHEAD_S: Final = 8.0  # longer than any breath cycle, so every event is placed in time
_NOISE_FLOOR: Final = 0.003  # microphone and room noise, about -50 dBFS
# Mains hum: the fundamental and its third and fifth harmonics (a transformer's are odd), peak
# amplitudes in full scale, phases in radians; together 14 dB under the normal heart's RMS.
_HUM_HARMONICS: Final = ((1, 0.02, 0.0), (3, 0.01, 1.0), (5, 0.005, 2.0))
# Speech heard through the chest wall, a low-pass: harmonics falling 12 dB an octave. Its
# syllables peak at _VOICE_LEVEL times the breath's gain (loud enough to be heard over it).
_THROUGH_CHEST: Final = _sounds.harmonic_weights(12.0)
_VOICE_LEVEL: Final = 0.4


class StethoscopeSynth:
    """Stream of synthetic auscultation audio for one scenario.

    Parameters
    ----------
    scenario : str
        A key of `SCENARIO_SPECS`.
    sample_rate_hz : int
        Output rate in Hz (the profile allows 2000, 4000 and 8000).
    seed : int
        Seed; equal seeds give equal samples and events.
    keep_events : bool
        Record every placed sound in `events` (the ground truth of a finite recording). A
        stream that runs for days (the simulated stethoscope) passes False: the list would
        grow by about 10 000 events per device-hour (found by `bench/soak_bench.py`).
    """

    def __init__(
        self, scenario: str, sample_rate_hz: int = 4000, seed: int = 0, keep_events: bool = True
    ) -> None:
        if sample_rate_hz < 1000:
            raise SimulationSetupError(f"sample rate {sample_rate_hz} Hz is below 1000 Hz")
        self.scenario = scenario_named(scenario)
        self.sample_rate_hz = sample_rate_hz
        heart, lung, contact, noise, voice = np.random.default_rng(seed).spawn(5)
        self._rngs = {"heart": heart, "lung": lung, "contact": contact, "noise": noise}
        self._rngs["voice"] = voice  # spawned fifth: the other four draw as before
        self._next = {"heart": 0, "lung": 0, "contact": 0, "voice": round(0.5 * sample_rate_hz)}
        self._position = 0
        self._body = np.zeros(0)  # heart and lungs, attenuated where contact is lost
        self._artefact = np.zeros(0)  # rubbing and handling noise, added as is
        self._no_contact: list[tuple[int, int]] = []
        self.events: list[SoundEvent] = []
        self._keep_events = keep_events
        self._noise_sos = dsp.butter_bandpass_sos(2, (20.0, 0.45 * sample_rate_hz), sample_rate_hz)
        self._noise_zi = np.zeros((self._noise_sos.shape[0], 2))

    @property
    def position(self) -> int:
        """Index of the next sample `read` returns."""
        return self._position

    def read(self, n_samples: int) -> NDArray[np.float32]:
        """Return the next `n_samples` samples, float32 in [-1, 1]."""
        end = self._position + n_samples
        horizon = end + round(_LOOKAHEAD_S * self.sample_rate_hz)
        self._schedule_until(horizon)
        body = self._take("_body", n_samples)
        artefact = self._take("_artefact", n_samples)
        body *= self._contact_gain(self._position, n_samples)
        white = self._rngs["noise"].standard_normal(n_samples)
        noise, self._noise_zi = dsp.sosfilt(self._noise_sos, white, zi=self._noise_zi)
        mixed = body + artefact + _NOISE_FLOOR * noise + self._hum(n_samples)
        mixed *= self.scenario.output_gain
        self._position = end
        self._no_contact = [(a, b) for a, b in self._no_contact if b > end]
        clipped: NDArray[np.float32] = np.clip(mixed, -1.0, 1.0).astype(np.float32)
        return clipped

    def contact_at(self, sample: int) -> bool:
        """Whether the chest piece touches the skin at `sample` (for the status flags)."""
        return not any(a <= sample < b for a, b in self._no_contact)

    def _take(self, name: str, n_samples: int) -> NDArray[np.float64]:
        buffer: NDArray[np.float64] = getattr(self, name)
        if buffer.size < n_samples:
            buffer = np.concatenate([buffer, np.zeros(n_samples - buffer.size)])
        setattr(self, name, buffer[n_samples:])
        return buffer[:n_samples].copy()

    def _add(self, name: str, start: int, wave: NDArray[np.float64]) -> None:
        offset = start - self._position
        if offset < 0:  # a placement never starts in the past; guard against rounding
            wave, offset = wave[-offset:], 0
        buffer: NDArray[np.float64] = getattr(self, name)
        needed = offset + wave.size
        if buffer.size < needed:
            buffer = np.concatenate([buffer, np.zeros(needed - buffer.size)])
        buffer[offset:needed] += wave
        setattr(self, name, buffer)

    def _schedule_until(self, horizon: int) -> None:
        planners = {"heart": self._heart_cycle, "lung": self._breath_cycle}
        if self.scenario.poor_contact:
            planners["contact"] = self._contact_episode
        if self.scenario.talking:
            planners["voice"] = self._syllable
        for part, planner in planners.items():
            while self._next[part] < horizon:
                start = self._next[part]
                placements, self._next[part] = planner(start, self._rngs[part])
                for at, wave, event in placements:
                    self._add("_artefact" if part == "contact" else "_body", at, wave)
                    if event is not None and self._keep_events:
                        self.events.append(event)

    def _seconds(self, sample: int) -> float:
        return sample / self.sample_rate_hz

    def _event(self, kind: str, start: int, length: int) -> SoundEvent:
        return SoundEvent(kind, self._seconds(start), self._seconds(start + length))

    def _heart_cycle(self, start: int, rng: np.random.Generator) -> tuple[list[_Placement], int]:
        spec, fs = self.scenario, self.sample_rate_hz
        mean_rr_s = 60.0 / spec.heart_rate_bpm
        rr_s = max(0.3, mean_rr_s * (1.0 + spec.rr_variation * rng.standard_normal()))
        # S1-S2 shortens as the rate rises (about 0.33 s at 72/min), never past 45% of the cycle.
        systole_s = min(0.45 * rr_s, 0.33 - 0.0012 * (spec.heart_rate_bpm - 72.0))
        s1 = spec.heart_gain * _sounds.heart_sound(fs, 45.0, 0.02, rng)
        s2_at = start + round(systole_s * fs)
        s2 = 0.7 * spec.heart_gain * _sounds.heart_sound(fs, 70.0, 0.035, rng)
        placed: list[_Placement] = [
            (start, s1, self._event("S1", start, s1.size)),
            (s2_at, s2, self._event("S2", s2_at, s2.size)),
        ]
        if spec.murmur:
            m_at = start + s1.size
            wave = 0.35 * spec.heart_gain * _sounds.murmur((s2_at - m_at) / fs, fs, rng)
            placed.append((m_at, wave, self._event("murmur", m_at, wave.size)))
        return placed, start + round(rr_s * fs)

    def _breath_cycle(self, start: int, rng: np.random.Generator) -> tuple[list[_Placement], int]:
        spec, fs = self.scenario, self.sample_rate_hz
        cycle_s = 60.0 / spec.breaths_per_min * (1.0 + 0.05 * rng.standard_normal())
        n_in, n_out = round(0.4 * cycle_s * fs), round(0.6 * cycle_s * fs)
        inspiration = _sounds.band_noise(n_in, fs, (100.0, 600.0), rng)
        inspiration *= spec.breath_gain * np.sin(np.linspace(0, np.pi, n_in)) / 3.0
        # Vesicular expiration is quieter and heard only in its first part.
        expiration = _sounds.band_noise(n_out, fs, (100.0, 400.0), rng)
        expiration *= 0.4 * spec.breath_gain / 3.0 * np.exp(-np.linspace(0, 4, n_out))
        out_at = start + n_in
        placed: list[_Placement] = [
            (start, inspiration, self._event("inspiration", start, n_in)),
            (out_at, expiration, self._event("expiration", out_at, n_out)),
        ]
        if spec.wheeze:
            wheeze = 0.6 * spec.breath_gain * _sounds.wheeze(0.5 * n_out / fs, fs, rng)
            at = out_at + round(0.1 * fs)
            placed.append((at, wheeze, self._event("wheeze", at, wheeze.size)))
        if spec.crackles:
            for offset in np.sort(rng.uniform(0.55, 0.95, size=int(rng.integers(5, 10)))):
                wave = _sounds.crackle(fs, float(rng.uniform(0.004, 0.009)), rng)
                wave *= spec.breath_gain * rng.uniform(1.0, 2.0)
                at = start + round(offset * n_in)
                placed.append((at, wave, self._event("crackle", at, wave.size)))
        return placed, start + n_in + n_out

    def _syllable(self, start: int, rng: np.random.Generator) -> tuple[list[_Placement], int]:
        """One syllable of speech heard through the chest, then a pause (as `sounds.voice`)."""
        fs = self.sample_rate_hz
        length = rng.uniform(0.2, 0.45)
        u = np.arange(round(length * fs)) / fs
        level = _VOICE_LEVEL * self.scenario.breath_gain
        wave = _sounds.syllable(u, length, rng.uniform(110.0, 220.0), _THROUGH_CHEST, fs, level)
        placed: list[_Placement] = [(start, wave, self._event("voice", start, wave.size))]
        return placed, start + round((length + rng.uniform(0.2, 0.6)) * fs)

    def _contact_episode(
        self, start: int, rng: np.random.Generator
    ) -> tuple[list[_Placement], int]:
        fs = self.sample_rate_hz
        rub = 0.05 * _sounds.band_noise(round(2.0 * fs), fs, (20.0, 300.0), rng)
        rub *= np.hanning(rub.size)
        lost_at = start + round(rng.uniform(2.0, 5.0) * fs)
        lost = round(rng.uniform(0.5, 1.5) * fs)
        self._no_contact.append((lost_at, lost_at + lost))
        # Lifting the chest piece: a loud low thump, then handling noise until it is back.
        thump = 0.2 * _sounds.band_noise(lost, fs, (5.0, 60.0), rng) * np.hanning(lost)
        placed: list[_Placement] = [
            (start, rub, None),
            (lost_at, thump, self._event("no-contact", lost_at, lost)),
        ]
        return placed, lost_at + lost

    def _hum(self, n_samples: int) -> NDArray[np.float64] | float:
        """The scenario's mains hum over the next samples: a function of the sample index, so
        the same however the stream is cut into reads."""
        if self.scenario.mains_hum_hz is None:
            return 0.0
        t = (self._position + np.arange(n_samples)) / self.sample_rate_hz
        turns = 2.0 * np.pi * self.scenario.mains_hum_hz * t
        return sum(
            (gain * np.sin(order * turns + phase) for order, gain, phase in _HUM_HARMONICS),
            np.zeros(n_samples),
        )

    def _contact_gain(self, start: int, n_samples: int) -> NDArray[np.float64]:
        gain = np.ones(n_samples)
        for a, b in self._no_contact:
            lo, hi = max(a - start, 0), min(b - start, n_samples)
            if lo < hi:
                gain[lo:hi] = 0.05
        return gain


def synthesize(
    scenario: str, duration_s: float, sample_rate_hz: int = 4000, seed: int = 0
) -> Synthesis:
    """Synthesise `duration_s` seconds of `scenario` and return samples with ground truth.

    Examples
    --------
    >>> rec = synthesize("normal", 5.0)
    >>> rec.samples.shape, sum(e.kind == "S1" for e in rec.events)
    ((20000,), 6)
    """
    synth = StethoscopeSynth(scenario, sample_rate_hz, seed)
    samples = synth.read(round(duration_s * sample_rate_hz))
    events = tuple(e for e in synth.events if e.start_s < duration_s)
    return Synthesis(samples, sample_rate_hz, synth.scenario, events)
