"""Malformed acks and commands, deterministic for a seed: every one must be rejected."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime

from edge_agent.wire import topics


def now() -> str:
    """Commands older than their expiry are refused (issue 18): date them when made."""
    return datetime.now(tz=UTC).isoformat()


def valid_command(action: str = "live_start", device: str | None = "steth-a") -> dict[str, object]:
    return {
        "schema": "stetho.command",
        "schema_version": 1,
        "command_id": str(uuid.uuid4()),
        "action": action,
        "device": device,
        "timeout_s": 5,
        "by": "dr-test",
        "at": now(),
    }


def valid_ack() -> dict[str, object]:
    return {"schema": "stetho.ack", "schema_version": 1, "alert_id": str(uuid.uuid4()),
            "by": "dr-test", "note": None, "at": now()}  # fmt: skip


def _mutations(rng: random.Random) -> list[tuple[str, dict[str, object]]]:
    """(kind, document) pairs that parse as JSON but break the schema or our rules."""
    cmd, ack = valid_command(), valid_ack()
    required = rng.choice(["command_id", "action", "by", "at"])
    return [
        ("cmd", {**cmd, "action": "self_destruct"}),
        ("cmd", {**cmd, "extra": 1}),
        ("cmd", {**cmd, "timeout_s": -1}),
        ("cmd", {**cmd, "timeout_s": 10**9}),
        ("cmd", {**cmd, "schema_version": 2}),
        ("cmd", {**cmd, "command_id": "not-a-uuid"}),
        ("cmd", {k: v for k, v in cmd.items() if k != required}),
        ("agent-cmd", {**cmd, "device": "no-such-device"}),
        ("agent-cmd", {**cmd, "device": None}),
        ("device-cmd", {**cmd, "device": "other-device"}),
        ("ack", {**ack, "by": ""}),
        ("ack", {**ack, "alert_id": 42}),
        ("ack", {**ack, "note": "x" * 5000}),
        ("ack", {**ack, "schema": "stetho.command"}),
    ]


def malformed(n: int, site: str, agent: str, device: str, seed: int = 0) -> list[tuple[str, bytes]]:
    """`n` (topic, payload) pairs, none of which the agent may accept."""
    rng = random.Random(seed)
    topic_of = {
        "ack": topics.acks(site),
        "cmd": topics.command(site, device),
        "agent-cmd": topics.command(site, agent),
        "device-cmd": topics.command(site, device),
    }
    out: list[tuple[str, bytes]] = []
    while len(out) < n:
        topic = rng.choice(list(topic_of.values()))
        choice = rng.randrange(6)
        if choice == 0:
            payload = rng.randbytes(rng.randrange(0, 300))
        elif choice == 1:
            whole = json.dumps(valid_command()).encode()
            payload = whole[: rng.randrange(0, len(whole) - 1)]
        elif choice == 2:
            payload = json.dumps(rng.choice([[], 1, None, "live_start", {"a": 1}])).encode()
        elif choice == 3:
            payload = b"{" + b" " * 20000 + b"}"  # over the size cap
        elif choice == 4:
            payload = b"\xff\xfe" + json.dumps(valid_ack()).encode()
        else:
            kind, document = rng.choice(_mutations(rng))
            topic, payload = topic_of[kind], json.dumps(document).encode()
        if payload.strip() == b"":
            payload = b"\x00"
        out.append((topic, payload))
    return out
