"""`monitoring.recordings`: a stethoscope makes that many recordings, then the agent lets it go."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from edge_agent.config import parse_config
from edge_agent.errors import ConfigError
from edge_agent.pipeline import device as device_module
from edge_agent.runtime.daemon import Agent
from edge_agent.runtime.local_broker import LocalBroker
from firmware_bridge.errors import LinkLostError
from firmware_bridge.sources import AudioBlock

pytestmark = pytest.mark.broker


def config(tmp_path: Path, port: int, **device: object) -> dict[str, object]:
    monitoring = {"interval_s": 3, "duration_s": 2, "recordings": 3}
    return {
        "site": "home-count",
        "broker": {"port": port},
        "storage": {"state_dir": str(tmp_path / "state")},
        "devices": [
            {"id": "d1", "kind": "simulated", "speed": 50, "resident": "res-1",
             "monitoring": monitoring, **device}
        ],
    }  # fmt: skip


def released(agent: Agent) -> bool:
    stats = agent.state.devices.get("d1")
    device_loop = [t for t in asyncio.all_tasks() if t.get_name() == "device-d1"]
    return stats is not None and stats.recordings > 0 and not stats.connected and not device_loop


async def run_until_released(agent: Agent) -> None:
    task = asyncio.create_task(agent.run())
    try:
        async with asyncio.timeout(30):
            while not released(agent):
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # long enough for a fourth recording at 50x, were one made
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def test_the_stethoscope_is_let_go_after_its_recordings(
    broker: LocalBroker, tmp_path: Path
) -> None:
    agent = Agent(parse_config(config(tmp_path, broker.port), "test"))
    asyncio.run(run_until_released(agent))
    stats = agent.state.devices["d1"]
    assert stats.recordings == 3
    assert not stats.connected


class LostOnce:
    """The real source, whose first connection is lost mid-way through the second recording."""

    lost = False

    def __init__(self, source: Any) -> None:
        self._source = source

    def __getattr__(self, name: str) -> Any:
        return getattr(self._source, name)

    async def __aenter__(self) -> "LostOnce":
        await self._source.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._source.__aexit__(*exc)

    async def __aiter__(self) -> AsyncIterator[AudioBlock]:
        seen = 0
        async for block in self._source:
            yield block
            seen += len(block.samples)
            if not LostOnce.lost and seen >= 4 * self._source.sample_rate_hz:
                LostOnce.lost = True
                raise LinkLostError("the simulated link gave up")


def test_the_count_carries_over_a_lost_link(
    broker: LocalBroker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = device_module.open_source
    monkeypatch.setattr(LostOnce, "lost", False)  # once per test, over every reconnection
    monkeypatch.setattr(device_module, "open_source", lambda *a: LostOnce(real(*a)))
    agent = Agent(parse_config(config(tmp_path, broker.port), "test"))
    asyncio.run(run_until_released(agent))
    # Lost at 4 s of stream: one whole recording and the second's first second, kept as
    # partial; the stethoscope reconnects and makes the one left.
    assert LostOnce.lost
    assert agent.state.devices["d1"].recordings == 3
    partial = [r.recording.partial for r in agent.state.recordings]
    assert sorted(partial) == [False, False, True]


def test_a_count_below_one_is_a_config_error(tmp_path: Path) -> None:
    bad = config(tmp_path, 1883)
    bad["devices"][0]["monitoring"]["recordings"] = 0  # type: ignore[index]
    with pytest.raises(ConfigError, match=r"devices\[0\]\.monitoring\.recordings"):
        parse_config(bad, "test")
