"""The recurrence probe: a kept wheeze counts only when its pitch sounds in another breath."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench import wheeze_recur_probe as probe
from bench.wheeze_pair_probe import Run

HOP = 0.032
DATA = Path("../shared/data")
R = probe.MEMBERS[probe.PRE_REGISTERED]


def _run(start_s: float, frames: int, pitch_hz: float, voiced: float = 0.0) -> Run:
    held = 0.12 if voiced < 0.5 and frames >= 3 else None
    return Run(start_s, round(start_s + frames * HOP, 3), frames, pitch_hz, voiced, held, -5.0)


def test_a_wheeze_recurs_with_a_two_frame_run_at_its_pitch_half_a_breath_away() -> None:
    wheeze = _run(5.0, 4, 400.0)
    breath = 4.0  # 15/min: echoes count from 2 s away
    assert probe.recurs(wheeze, [wheeze, _run(7.0, 2, 470.0)], R, breath, HOP)
    assert not probe.recurs(wheeze, [wheeze, _run(6.9, 2, 400.0)], R, breath, HOP)  # too near
    assert not probe.recurs(wheeze, [wheeze, _run(9.0, 2, 480.0)], R, breath, HOP)  # > 1/4 oct
    assert not probe.recurs(wheeze, [wheeze, _run(9.0, 2, 400.0, voiced=0.5)], R, breath, HOP)
    assert not probe.recurs(wheeze, [wheeze, _run(9.0, 1, 400.0)], R, breath, HOP)
    assert not probe.recurs(wheeze, [wheeze], R, breath, HOP)  # not its own echo
    # the strict form asks for a second kept wheeze: four frames, held 100 ms
    strict = probe.MEMBERS["R4 (echo a kept wheeze)"]
    assert not probe.recurs(wheeze, [wheeze, _run(9.0, 3, 400.0)], strict, breath, HOP)
    assert probe.recurs(wheeze, [wheeze, _run(9.0, 4, 400.0)], strict, breath, HOP)


def test_in_annotated_cycles_the_echo_must_lie_in_another_cycle() -> None:
    cycles = np.array([[0.0, 4.0, 0, 1], [4.0, 8.0, 0, 1]])
    wheeze, same, other = _run(1.0, 4, 400.0), _run(3.5, 2, 400.0), _run(4.2, 2, 400.0)
    annotated = probe.MEMBERS["R, annotated cycles"]
    assert not probe.recurs(wheeze, [wheeze, same], annotated, 0.0, HOP, cycles)
    assert probe.recurs(wheeze, [wheeze, other], annotated, 0.0, HOP, cycles)
    outside = _run(9.0, 2, 400.0)  # past the last cycle: in none
    assert not probe.recurs(wheeze, [wheeze, outside], annotated, 0.0, HOP, cycles)


class _Searched:
    hop_s = HOP

    def __init__(self, table: list[Run]) -> None:
        self.ungated = self.gated = table


def test_without_a_read_rate_the_shipped_search_stands() -> None:
    lone = _Searched([_run(5.0, 4, 400.0)])
    cycles = np.array([[0.0, 10.0, 0, 1]])
    assert probe.found(lone, R, None, cycles) == lone.gated  # type: ignore[arg-type]
    assert probe.found(lone, R, 15.0, cycles) == []  # type: ignore[arg-type]


@pytest.mark.skipif(not (DATA / "MANIFEST.csv").exists(), reason="no shared data")
def test_on_the_icbhi_recordings_the_rule_is_as_measured() -> None:
    out = probe.scored(probe.icbhi(DATA))
    assert out["shipped"]["recording"] == (0.571, 0.864)  # bench.evaluate's figures
    assert out[probe.PRE_REGISTERED]["recording"] == (0.571, 0.909)
    assert out[probe.PRE_REGISTERED]["removed"] == ["104_1b1_Lr_sc_Litt3200"]
    assert out["R4 (echo a kept wheeze)"]["recording"] == (0.357, 0.955)
