"""No hub at all for a while: a real agent keeps its recordings and sends them again.

A real `stetho run` agent (simulated stethoscopes, `receipt_timeout_s` set, as a care home
with a hub runs) publishes to a real Mosquitto while no hub has ever subscribed, so the
broker PUBACKs each message and drops it: nobody asked for it. Only the agent's outbox
keeps the recordings, and it sends each again `receipt_timeout_s` after its last send, then
backing off (edge_agent/storage/receipts.py). Then a hub process
starts; afterwards every recording the agent stored is archived exactly once, its SHA-256
intact, and the agent's outbox holds none without a receipt.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from pathlib import Path
from typing import Any

from edge_agent.runtime.local_broker import LocalBroker
from stetho_hub.storage import DatabaseTarget
from stetho_testkit.agent_harness import AgentProcess, write_config
from stetho_testkit.hub.harness import (
    HubProcess,
    archived,
    outbox_receipts,
    receipts_status,
    write_hub_config,
)
from stetho_testkit.poll import wait_until


def _settled(
    agent: AgentProcess, state: Path, target: DatabaseTarget
) -> tuple[set[str], dict[str, int]] | None:
    """What the agent stored and its outbox's receipts, once all of it is archived and
    receipted."""
    stored = agent.stored_ids()
    receipts = outbox_receipts(state)
    done = bool(stored) and stored <= set(archived(target)) and receipts["awaiting"] == 0
    return (stored, receipts) if done else None


def _sent_again(agent: AgentProcess, state: Path, stored: int, sent_again: int) -> bool:
    return len(agent.stored_ids()) >= stored and outbox_receipts(state)["sent_again"] >= sent_again


def run_outage(
    broker: LocalBroker,
    workdir: Path,
    outage_s: float,
    receipt_timeout_s: float,
    devices: tuple[str, ...] = ("steth-a", "steth-b"),
    interval_s: float = 100_000.0,
    settle_timeout_s: float = 120.0,
    receipt_resend_max_s: float | None = None,
    until_sent_again: int | None = None,
) -> dict[str, Any]:
    """Agent up, no hub for `outage_s`, then the hub; the figures and the exactly-once check.
    Each device records every `interval_s` simulated seconds (the simulator runs 20 times
    faster than real; the default: once, at the start). `until_sent_again`: the hub starts as
    soon as each device's recording is stored and the agent has sent that many again in all,
    `outage_s` being then the longest it waits (what the outage must show, not a guess at how
    long that takes on a loaded machine)."""
    state = workdir / "state"
    config = write_config(
        workdir / "agent.toml",
        broker.port,
        state,
        devices=devices,
        interval_s=interval_s,
        receipt_timeout_s=receipt_timeout_s,
        receipt_resend_max_s=receipt_resend_max_s,
    )
    target = DatabaseTarget("sqlite", str(workdir / "hub.db"))
    hub = HubProcess(
        write_hub_config(workdir / "hub.toml", broker.port, target, workdir / "audio"),
        workdir / "hub.log",
    )
    agent = AgentProcess(config, workdir / "agent.log")
    with contextlib.closing(hub):
        agent.start()
        try:
            down_at = time.monotonic()
            if until_sent_again is None:
                time.sleep(outage_s)
            else:
                # outage_s is the longest it waits: it goes on with what it has after that
                with contextlib.suppress(TimeoutError):
                    wait_until(
                        lambda: _sent_again(agent, state, len(devices), until_sent_again),
                        outage_s,
                        every_s=0.1,
                    )
            during = agent.stored_ids()
            resent = outbox_receipts(state)["sent_again"]
            down_s = time.monotonic() - down_at
            hub.start()
            started = time.monotonic()
            settled = wait_until(
                lambda: _settled(agent, state, target),
                settle_timeout_s,
                every_s=0.2,
                what="every recording archived and receipted",
                describe=lambda: (receipts_status(state), hub.output()[-2000:]),
            )
            drained_s = time.monotonic() - started
            stored, receipts = settled
        finally:
            if agent.process is not None and agent.process.poll() is None:
                agent.stop()
        hub.stop()
    in_archive = archived(target)
    logged = Counter(hub.archived_ids())
    return {
        "outage_s": round(down_s, 1),
        "receipt_timeout_s": receipt_timeout_s,
        "stored_during_outage": len(during),
        "sent_again_during_outage": resent,
        "stored": len(stored),
        "archived": len(stored & set(in_archive)),
        "drained_after_hub_start_s": round(drained_s, 1),
        "awaiting_receipt_after": receipts["awaiting"],
        "receipts_mismatched": agent.output().count("event=receipt_mismatch"),
        "archived_exactly_once": stored <= set(in_archive)
        and all(logged[rid] == 1 for rid in stored)
        and max(logged.values(), default=0) == 1,
        "sha256_matches_agent": all(
            f"event=recording_archived recording={rid}" in agent.output() for rid in stored
        ),
    }
