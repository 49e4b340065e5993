"""`stetho ack` tells the doctor whether an agent took the ack, from the agents' retained
statuses (the ack protocol has no reply): an alert no agent raised is said, not "acknowledged"."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edge_agent.runtime.local_broker import LocalBroker
from stetho_cli.app import build_app
from stetho_doctor.ack_answer import AckWatch

SITE = "home-a"
ALERT = str(uuid.UUID(int=42))


def _status(state: str = "online", acked: tuple[str, ...] = (), **fields: object) -> bytes:
    body = {
        "schema": "stetho.status",
        "schema_version": 1,
        "state": state,
        "site": SITE,
        "agent": "pi-1",
        "device": None,
        "detail": {"acknowledged": [{"alert_id": a, "by": "dr-x"} for a in acked]},
    }
    return json.dumps({**body, **fields}).encode()  # fmt: skip


def test_an_agent_listing_the_alert_confirms_it() -> None:
    watch = AckWatch(SITE, ALERT)
    assert not watch.offer(_status(acked=(str(uuid.UUID(int=1)),)))
    assert watch.refused()  # so far: online, and not listed
    assert watch.offer(_status(acked=(str(uuid.UUID(int=1)), ALERT)))
    assert watch.confirmed_by == "pi-1" and not watch.refused()


def test_what_lists_no_acks_or_is_no_agent_status_teaches_nothing() -> None:
    watch = AckWatch(SITE, ALERT)
    for payload in (b"not json", _status(device="steth-1", acked=(ALERT,)),
                    _status(site="home-b", acked=(ALERT,))):  # fmt: skip
        assert not watch.offer(payload)
    assert (watch.online, watch.offline, watch.confirmed_by) == (set(), set(), None)
    assert watch.said(10) == (
        f"sent the ack of {ALERT}; not confirmed: no agent of {SITE} has published its status "
        "on this broker"
    )


def test_an_offline_agent_may_still_take_it_an_online_one_that_did_not_raised_none() -> None:
    watch = AckWatch(SITE, ALERT)
    watch.offer(_status())
    assert watch.said(10) == (
        f"no agent of {SITE} took the ack of {ALERT} within 10 s: pi-1 raised no such alert "
        "(a mistyped id, or one older than the agent keeps)"
    )
    watch.offer(_status(state="offline"))
    assert not watch.refused() and watch.offline == {"pi-1"} and not watch.online
    assert (
        "agent pi-1 is offline and reads it when it reconnects (an offline agent cannot "
        "answer)" in watch.said(10)
    )


def test_the_wait_ends_once_every_online_agent_said_not_mine() -> None:
    # Before: with pi-1 online and pi-2 offline, 10 s of waiting for pi-1, which had refused.
    watch = AckWatch(SITE, ALERT)
    watch.offer(_status())  # the broker's retained copies: what each agent was, no answer
    watch.offer(_status(state="offline", agent="pi-2"))
    assert not watch.settled()
    watch.offer(_status(), live=True)  # pi-1 published again after the ack, without it
    assert watch.settled() and watch.answered == {"pi-1"}
    assert watch.said(10) == (
        f"sent the ack of {ALERT}; not confirmed yet: pi-1 raised no such alert; agent pi-2 is "
        "offline and reads it when it reconnects (an offline agent cannot answer)"
    )


def test_every_online_agent_answering_no_is_said_without_a_wait() -> None:
    watch = AckWatch(SITE, ALERT)
    watch.offer(_status())
    watch.offer(_status(agent="pi-2"))
    watch.offer(_status(agent="pi-2"), live=True)
    assert not watch.settled()  # pi-1 may still take it
    watch.offer(_status(), live=True)
    assert watch.settled() and watch.refused()
    assert watch.said(10) == (
        f"no agent of {SITE} took the ack of {ALERT}: pi-1, pi-2 raised no such alert (a "
        "mistyped id, or one older than the agent keeps)"
    )


def test_an_agent_going_offline_is_no_answer() -> None:
    watch = AckWatch(SITE, ALERT)
    watch.offer(_status(), live=True)
    watch.offer(_status(state="offline"), live=True)
    assert not watch.settled() and watch.answered == set()


def _retain(broker: LocalBroker, payload: bytes) -> None:
    topic = f"stetho/v1/{SITE}/pi-1/status"
    args = ["mosquitto_pub", "-p", str(broker.port), "-t", topic, "-r", "-q", "1", "-s"]
    subprocess.run(args, input=payload, check=True, timeout=10)


@pytest.mark.broker
def test_ack_says_whether_an_agent_took_it(
    broker: LocalBroker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Before: "acknowledged <id> on stetho/v1/home-a/acks" (exit 0) for an alert no agent
    # raised, which the agent refuses and counts where the doctor cannot see.
    monkeypatch.setattr("stetho_doctor.cli.ACK_ANSWER_S", 1.0)
    args = ["ack", ALERT, "--site", SITE, "--broker", broker.url]

    def said(exit_code: int) -> str:
        result = CliRunner().invoke(build_app(), args)
        assert result.exit_code == exit_code, result.output
        return " ".join(result.output.split())

    assert said(0).startswith(f"warning: sent the ack of {ALERT}; not confirmed: no agent")
    _retain(broker, _status())
    assert said(1) == (
        f"error: no agent of {SITE} took the ack of {ALERT} within 1 s: pi-1 raised no such "
        "alert (a mistyped id, or one older than the agent keeps)"
    )
    _retain(broker, _status(acked=(ALERT,)))
    assert said(0) == f"acknowledged {ALERT}: agent pi-1 at {SITE} took it"
