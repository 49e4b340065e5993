"""The live pill's states from block levels: contact, faint (a loose hold or a low volume) and
no contact, held through the quiet between two heart sounds."""

from __future__ import annotations

import numpy as np
import pytest

from edge_agent.exam.monitor import CONTACT_WINDOW_S, HEARD_DBFS, LOUD_DBFS, LiveMonitor

RATE = 4000
BLOCK_S = 0.125  # exact in binary: times differ by whole blocks


def block(dbfs: float | None) -> np.ndarray:
    """A block of a tone at `dbfs` RMS (None: digital silence)."""
    t = np.arange(round(BLOCK_S * RATE)) / RATE
    if dbfs is None:
        return np.zeros(t.size, dtype=np.float32)
    return (np.sqrt(2) * 10 ** (dbfs / 20) * np.sin(2 * np.pi * 200 * t)).astype(np.float32)


def states(levels: list[float | None], monitor: LiveMonitor | None = None) -> list[str]:
    monitor = monitor or LiveMonitor()
    out = []
    for i, level in enumerate(levels):
        f = monitor.offer("steth-1", block(level), RATE, 1000.0 + (i + 1) * BLOCK_S)
        out.append("no" if not f.contact else "faint" if f.faint else "yes")
    return out


def test_a_heartbeat_at_the_usual_level_is_contact_through_its_quiet() -> None:
    # A loud sound, then 1.5 s of near silence (a slow heart's diastole): still in contact.
    assert states([-20.0] + [None] * 12) == ["yes"] * 13


def test_contact_is_lost_after_the_window() -> None:
    quiet = int(CONTACT_WINDOW_S // BLOCK_S)  # blocks within the window after the sound
    assert states([-20.0] + [None] * (quiet + 2)) == ["yes"] * (quiet + 1) + ["no"] * 2


def test_a_low_volume_is_faint_not_no_contact() -> None:
    assert states([-70.0] * 5) == ["faint"] * 5
    assert states([HEARD_DBFS + 1.0, None, None]) == ["faint"] * 3


def test_nothing_over_the_floor_is_no_contact() -> None:
    assert states([None, HEARD_DBFS - 1.0, -100.0]) == ["no"] * 3


def test_a_loud_sound_ends_faint_and_faint_returns_after_the_window() -> None:
    quiet = int(CONTACT_WINDOW_S // BLOCK_S)
    got = states([-70.0, LOUD_DBFS + 1.0] + [-70.0] * (quiet + 1))
    assert got == ["faint"] + ["yes"] * (quiet + 1) + ["faint"]


def test_the_device_saying_no_contact_wins() -> None:
    monitor = LiveMonitor()
    monitor.set_contact("steth-1", False)
    assert states([-20.0, -70.0], monitor) == ["no", "no"]
    monitor.set_contact("steth-1", True)
    assert states([-20.0], monitor) == ["yes"]


def test_forgetting_a_device_forgets_its_sound() -> None:
    monitor = LiveMonitor()
    states([-20.0], monitor)
    monitor.forget("steth-1")
    assert states([None], monitor) == ["no"]


@pytest.mark.parametrize("level", [LOUD_DBFS - 0.5, LOUD_DBFS + 0.5])
def test_the_loud_bound(level: float) -> None:
    assert states([level]) == (["yes"] if level > LOUD_DBFS else ["faint"])
