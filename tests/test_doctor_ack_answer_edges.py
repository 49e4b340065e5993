"""`AckWatch` case by case: what each status teaches, and the doctor's sentence word for word."""

from __future__ import annotations

import json
import uuid

from stetho_doctor.ack_answer import AckWatch

SITE = "home-a"
ALERT = str(uuid.UUID(int=42))
OTHER = str(uuid.UUID(int=7))


def _status(agent: str = "pi-1", state: str = "online", **fields: object) -> bytes:
    body: dict[str, object] = {
        "schema": "stetho.status", "schema_version": 1, "state": state, "site": SITE,
        "agent": agent, "detail": {},
    }  # fmt: skip
    return json.dumps({**body, **fields}).encode()


def _acked(*ids: str) -> dict[str, object]:
    return {"acknowledged": [{"alert_id": a, "by": "dr-x"} for a in ids]}


def test_once_confirmed_whatever_comes_next_still_says_confirmed() -> None:
    watch = AckWatch(SITE, ALERT)
    assert watch.offer(_status(detail=_acked(ALERT)))
    # Not a status, another home's, a stethoscope's, or an agent that lists nothing: the
    # confirmation stands, so the wait still ends.
    for payload in (b"{", _status(site="home-b"), _status(device="steth-1"),
                    _status(agent="pi-2"), _status(agent="pi-2", state="offline")):  # fmt: skip
        assert watch.offer(payload)
    assert watch.confirmed_by == "pi-1"
    assert not watch.refused()


def test_a_stethoscope_or_another_home_teaches_nothing_even_online() -> None:
    for payload in (_status(device="steth-1"), _status(site="home-b")):
        watch = AckWatch(SITE, ALERT)
        assert not watch.offer(payload)
        assert (watch.online, watch.offline) == (set(), set())
        assert not watch.refused()


def test_an_agent_back_online_is_no_longer_offline_and_the_reverse() -> None:
    watch = AckWatch(SITE, ALERT)
    watch.offer(_status(state="offline"))
    assert (watch.online, watch.offline) == (set(), {"pi-1"})
    watch.offer(_status())
    assert (watch.online, watch.offline) == ({"pi-1"}, set())
    assert watch.refused()
    watch.offer(_status(state="offline"))
    assert (watch.online, watch.offline) == (set(), {"pi-1"})
    assert not watch.refused()


def test_one_agent_offline_among_online_ones_may_still_take_it() -> None:
    watch = AckWatch(SITE, ALERT)
    watch.offer(_status("pi-1"))
    watch.offer(_status("pi-2", state="offline"))
    assert not watch.refused()
    assert watch.said(10) == (
        f"sent the ack of {ALERT}; not confirmed yet: agent pi-2 is offline and reads it when "
        "it reconnects (an offline agent cannot answer)"
    )


def test_the_agents_are_named_in_order_and_the_wait_as_typed() -> None:
    watch = AckWatch(SITE, ALERT)
    for agent in ("pi-3", "pi-1", "pi-2"):
        watch.offer(_status(agent, detail=_acked(OTHER)))
    assert watch.refused()
    assert watch.said(2.5) == (
        f"no agent of {SITE} took the ack of {ALERT} within 2.5 s: pi-1, pi-2, pi-3 raised no "
        "such alert (a mistyped id, or one older than the agent keeps)"
    )
    offline = AckWatch(SITE, ALERT)
    for agent in ("pi-9", "pi-4"):
        offline.offer(_status(agent, state="offline"))
    assert "not confirmed yet: agent pi-4, pi-9 is offline" in offline.said(10)


def test_an_offline_agent_listing_the_alert_confirms_it_too() -> None:
    # Its last status, retained, lists the ack it took before it went away.
    watch = AckWatch(SITE, ALERT)
    assert watch.offer(_status(state="offline", detail=_acked(OTHER, ALERT)))
    assert watch.confirmed_by == "pi-1"


def test_acks_listed_in_a_shape_we_do_not_know_confirm_nothing() -> None:
    for detail in ({"acknowledged": ALERT}, {"acknowledged": {"alert_id": ALERT}},
                   {"acknowledged": [ALERT]}, {"acknowledged": [[ALERT]]},
                   {"acknowledged": [{"id": ALERT}]}, {"acked": [{"alert_id": ALERT}]},
                   {"acknowledged": [{"alert_id": ALERT.upper()}]}):  # fmt: skip
        watch = AckWatch(SITE, ALERT)
        assert not watch.offer(_status(detail=detail)), detail
        assert watch.confirmed_by is None and watch.online == {"pi-1"}
    # A shape we know after one we do not: still found.
    watch = AckWatch(SITE, ALERT)
    assert watch.offer(_status(detail={"acknowledged": ["x", {"alert_id": ALERT}]}))


def test_nothing_heard_is_neither_refused_nor_offline() -> None:
    watch = AckWatch(SITE, ALERT)
    assert not watch.refused()
    assert watch.said(0.5) == (
        f"sent the ack of {ALERT}; not confirmed: no agent of {SITE} has published its status "
        "on this broker"
    )


def test_the_online_agents_that_said_not_mine_are_named_beside_the_offline_one() -> None:
    watch = AckWatch(SITE, ALERT)
    for agent in ("pi-3", "pi-1"):
        watch.offer(_status(agent), live=True)  # live, without the alert: "not mine"
    watch.offer(_status("pi-2", state="offline"))
    assert watch.settled() and not watch.refused()
    assert watch.said(10) == (
        f"sent the ack of {ALERT}; not confirmed yet: pi-1, pi-3 raised no such alert; agent "
        "pi-2 is offline and reads it when it reconnects (an offline agent cannot answer)"
    )
