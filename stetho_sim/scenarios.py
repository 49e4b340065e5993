"""The simulator's scenarios: what each simulated chest sounds like (no DSP imported here).

Kept apart from `synth` so that naming or validating a scenario (the config does) costs no SciPy
import: the `stetho` command must answer `--help` and `--version` at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["SCENARIOS", "SCENARIO_SPECS", "Scenario", "SimulationSetupError", "scenario"]


class SimulationSetupError(ValueError):
    """The simulator was asked for what it cannot simulate (an unknown scenario, too low a rate)."""


@dataclass(frozen=True)
class Scenario:
    """What the simulated chest sounds like: rates in per minute, gains as peak amplitude."""

    name: str
    description: str
    heart_rate_bpm: float
    heart_gain: float = 0.5
    rr_variation: float = 0.03  # coefficient of variation of the RR interval
    murmur: bool = False
    breaths_per_min: float = 15.0
    breath_gain: float = 0.02
    wheeze: bool = False
    crackles: bool = False
    poor_contact: bool = False
    output_gain: float = 1.0  # above ~2 the heart sounds clip at full scale
    mains_hum_hz: float | None = None  # a mains-powered device nearby: hum at this fundamental
    talking: bool = False  # someone talks during the recording, heard through the chest


SCENARIO_SPECS: Final[dict[str, Scenario]] = {
    s.name: s
    for s in (
        Scenario("normal", "normal heart at 72/min, quiet breathing", 72.0),
        Scenario("tachycardia", "regular heart at 128/min (NEWS2 pulse score 2)", 128.0),
        Scenario("bradycardia", "regular heart at 44/min (NEWS2 pulse score 1)", 44.0),
        Scenario("irregular", "irregularly irregular rhythm near 95/min", 95.0, rr_variation=0.22),
        Scenario("murmur", "72/min, crescendo-decrescendo systolic murmur", 72.0, murmur=True),
        Scenario("lung-normal", "vesicular breathing at 16/min", 70.0, 0.1, breath_gain=0.25,
                 breaths_per_min=16.0),
        Scenario("wheeze", "expiratory wheeze at 20/min", 80.0, 0.1, breath_gain=0.2,
                 breaths_per_min=20.0, wheeze=True),
        Scenario("crackles", "fine end-inspiratory crackles at 22/min", 85.0, 0.1,
                 breath_gain=0.2, breaths_per_min=22.0, crackles=True),
        Scenario("poor-contact", "chest piece slipping: faint heart, rubbing, contact lost",
                 70.0, 0.12, poor_contact=True),
        Scenario("clipping", "gain too high: heart sounds clip at full scale", 72.0,
                 output_gain=5.0),
        Scenario("mains-hum", "normal heart at 72/min beside a charger: 50 Hz mains hum", 72.0,
                 mains_hum_hz=50.0),
        Scenario("low-gain", "vesicular breathing at 16/min, the stethoscope's gain 46 dB low",
                 70.0, 0.1, breath_gain=0.25, breaths_per_min=16.0, output_gain=0.005),
        Scenario("talking", "vesicular breathing at 16/min while someone talks nearby",
                 70.0, 0.1, breath_gain=0.25, breaths_per_min=16.0, talking=True),
    )
}  # fmt: skip

SCENARIOS: Final[tuple[str, ...]] = tuple(SCENARIO_SPECS)


def scenario(name: str) -> Scenario:
    """The scenario called `name`, or `SimulationSetupError` naming the known ones."""
    try:
        return SCENARIO_SPECS[name]
    except KeyError:
        raise SimulationSetupError(
            f"unknown scenario {name!r}; choose one of {', '.join(SCENARIOS)}"
        ) from None
