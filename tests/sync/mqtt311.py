"""Configs for a real agent and a real hub in `broker.protocol = "3.1.1"` mode (issue 18),
shared by the tests against RabbitMQ and NATS."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable, Iterator
from pathlib import Path

from edge_agent.storage.async_outbox import Outbox
from edge_agent.storage.outbox import OutboundMessage, OutboxStore
from edge_agent.transport.mqtt import MqttSettings
from edge_agent.transport.publisher import Publisher
from stetho_hub.storage import DatabaseTarget
from stetho_testkit.agent_harness import AgentProcess, write_config
from stetho_testkit.hub.harness import HubProcess, archived, receipts_status, write_hub_config
from stetho_testkit.poll import wait_until


def agent_config(
    path: Path,
    port: int,
    state: Path,
    timeout_s: float,
    devices: tuple[str, ...] = ("steth-a",),
    broker_extra: str = "",
    **kwargs: object,
) -> Path:
    """An agent config in 3.1.1 mode with receipts; `broker_extra` adds `[broker]` lines."""
    kwargs.setdefault("interval_s", 600)  # one recording per device unless asked otherwise
    config = write_config(path, port, state, devices=devices, **kwargs)  # type: ignore[arg-type]
    text = config.read_text(encoding="utf-8")
    text = text.replace("keepalive_s = 5\n", f'keepalive_s = 5\nprotocol = "3.1.1"\n{broker_extra}')
    text = text.replace("min_free_disk_mb", f"receipt_timeout_s = {timeout_s}\nmin_free_disk_mb")
    config.write_text(text, encoding="utf-8")
    return config


def hub_process(tmp: Path, port: int, hub_id: str) -> tuple[HubProcess, DatabaseTarget]:
    """A hub in 3.1.1 mode archiving to SQLite under `tmp`; not started."""
    target = DatabaseTarget("sqlite", str(tmp / "hub.db"))
    config = write_hub_config(tmp / "hub.toml", port, target, tmp / "audio", hub_id=hub_id)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("[broker]\n", '[broker]\nprotocol = "3.1.1"\n'), "utf-8")
    return HubProcess(config, tmp / "hub.log"), target


def wait(what: str, done: Callable[[], bool], timeout_s: float, why: Callable[[], str]) -> None:
    wait_until(done, timeout_s, every_s=0.2, what=what, describe=why)


def receipt_logged(agent: AgentProcess, rid: str) -> bool:
    """The agent applied the hub's receipt for `rid` (it matched the bytes it holds)."""
    return f"event=recording_archived recording={rid} " in agent.output()


def audio_message(i: int, size: int) -> OutboundMessage:
    return OutboundMessage(f"stetho/v1/s/d{i}/recordings/audio", bytes(size), recording_id=f"r-{i}")


def run_publisher(
    settings: MqttSettings,
    path: Path,
    items: list[OutboundMessage],
    done: Callable[[Publisher, int], bool],
    puback_timeout_s: float = 30.0,
) -> Publisher:
    """Run a Publisher over `items` until `done(publisher, pending)`; 40 s at most."""
    outbox = Outbox(OutboxStore(path, 10**9, min_free_disk_bytes=0))

    async def scenario() -> Publisher:
        await outbox.put_many(items)
        rng = random.Random(0)
        link = Publisher(settings, outbox, rng=rng, puback_timeout_s=puback_timeout_s)
        task = asyncio.create_task(link.run())
        async with asyncio.timeout(40):
            while not done(link, (await outbox.stats()).pending):
                assert not task.done()
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return link

    try:
        return asyncio.run(scenario())
    finally:
        outbox.close()


@contextlib.contextmanager
def three_receipted(
    tmp: Path, port: int, hub_id: str
) -> Iterator[tuple[AgentProcess, HubProcess, Path, set[str]]]:
    """A 3.1.1 hub and agent; yields (agent, hub, state dir, stored ids) once all are receipted.

    Three stethoscopes record once each; on leaving, whatever still runs is killed.
    """
    hub, target = hub_process(tmp, port, hub_id)
    state = tmp / "state"
    devices = ("steth-a", "steth-b", "steth-c")  # one recording each (interval 600 s)
    agent = AgentProcess(
        agent_config(tmp / "a.toml", port, state, 120, devices=devices, status_interval_s=0.5),
        tmp / "agent.log",
    )
    hub.start()
    try:
        agent.start()
        stored = agent.wait_for_stored(3)

        def all_receipted() -> bool:
            # The agent logs each receipt as it applies it; status.json says so only at its
            # next refresh (every 0.5 s here, 5 s by default), or as the agent stops.
            done = all(receipt_logged(agent, rid) for rid in stored)
            return done and stored <= set(archived(target))

        wait(
            "receipts",
            all_receipted,
            40,
            lambda: f"{receipts_status(state)} {hub.output()[-1500:]}",
        )
        yield agent, hub, state, stored
    finally:
        if agent.process is not None and agent.process.poll() is None:
            agent.process.kill()
        hub.kill()
