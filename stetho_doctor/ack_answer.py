"""Whether a care home's agent took an ack, read off the agents' retained statuses.

The ack protocol has no reply: an agent refuses an ack for an alert it did not raise (and
counts it in its own status.json). What it does publish is its retained status, republished on
each ack it takes, whose `detail.acknowledged` lists the latest ten alert ids (docs/mqtt.md,
`stetho.status`), and republished unchanged on each ack it refuses. So a status that comes live
(not the broker's retained copy) after the ack, without the alert, is that agent's "not mine":
once every online agent has answered, the wait is over. An offline agent cannot answer.
`AckWatch` reads those statuses, as plain data: no broker, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import ValidationError

from edge_agent.wire import messages

__all__ = ["AckWatch"]


@dataclass
class AckWatch:
    """What the agents of `site` said, so far, about the ack of `alert_id`."""

    site: str
    alert_id: str
    online: set[str] = field(default_factory=set)
    offline: set[str] = field(default_factory=set)
    confirmed_by: str | None = None
    answered: set[str] = field(default_factory=set)  # online, and said "not mine"

    def offer(self, payload: bytes, live: bool = False) -> bool:
        """Read one status message; True once an agent lists the alert as acknowledged.

        `live`: the broker forwarded it as published (its retain flag clear), not as the copy
        it keeps: the agent published it after the ack was sent.
        """
        try:
            status = messages.StatusMessage.model_validate_json(payload)
        except ValidationError:
            return self.confirmed_by is not None  # not a status: nothing learnt
        if status.device is not None or status.site != self.site:
            return self.confirmed_by is not None  # a stethoscope's status lists no acks
        seen, other = (self.online, self.offline)
        if status.state == "offline":
            seen, other = other, seen
        seen.add(status.agent)
        other.discard(status.agent)
        self.answered.discard(status.agent)
        acked = status.detail.get("acknowledged")
        if isinstance(acked, list) and any(
            isinstance(a, dict) and a.get("alert_id") == self.alert_id for a in acked
        ):
            self.confirmed_by = status.agent
        elif live and status.state != "offline":
            self.answered.add(status.agent)
        return self.confirmed_by is not None

    def settled(self) -> bool:
        """Nothing more to wait for: an agent took it, or every online agent said not mine."""
        return self.confirmed_by is not None or (bool(self.online) and self.online <= self.answered)

    def refused(self) -> bool:
        """Every agent of the site is online and none took it: none raised this alert."""
        return self.confirmed_by is None and bool(self.online) and not self.offline

    def said(self, wait_s: float) -> str:
        """The sentence for the doctor when no agent confirmed the ack (within `wait_s`, or
        every online agent answered that the alert is not theirs)."""
        all_answered = bool(self.online) and self.online <= self.answered
        if self.refused():
            agents = ", ".join(sorted(self.online))
            within = "" if all_answered else f" within {wait_s:g} s"
            return (
                f"no agent of {self.site} took the ack of {self.alert_id}{within}: "
                f"{agents} raised no such alert (a mistyped id, or one older than the agent "
                "keeps)"
            )
        if self.offline:
            agents = ", ".join(sorted(self.offline))
            not_mine = ", ".join(sorted(self.answered & self.online))
            answered = f"{not_mine} raised no such alert; " if not_mine else ""
            return (
                f"sent the ack of {self.alert_id}; not confirmed yet: {answered}agent {agents} "
                "is offline and reads it when it reconnects (an offline agent cannot answer)"
            )
        return (
            f"sent the ack of {self.alert_id}; not confirmed: no agent of {self.site} has "
            "published its status on this broker"
        )
