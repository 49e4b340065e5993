"""Whether a care home's agent took an ack, read off the agents' retained statuses.

The ack protocol has no reply: an agent refuses an ack for an alert it did not raise (and
counts it in its own status.json), silently for the sender. What it does publish is its
retained status, republished on each ack it takes, whose `detail.acknowledged` lists the
latest ten alert ids (docs/mqtt.md, `stetho.status`). `AckWatch` reads those statuses, as
plain data: no broker, no clock.
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

    def offer(self, payload: bytes) -> bool:
        """Read one status message; True once an agent lists the alert as acknowledged."""
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
        acked = status.detail.get("acknowledged")
        if isinstance(acked, list) and any(
            isinstance(a, dict) and a.get("alert_id") == self.alert_id for a in acked
        ):
            self.confirmed_by = status.agent
        return self.confirmed_by is not None

    def refused(self) -> bool:
        """Every agent of the site is online and none took it: none raised this alert."""
        return self.confirmed_by is None and bool(self.online) and not self.offline

    def said(self, wait_s: float) -> str:
        """The sentence for the doctor when no agent confirmed the ack within `wait_s`."""
        if self.refused():
            agents = ", ".join(sorted(self.online))
            return (
                f"no agent of {self.site} took the ack of {self.alert_id} within {wait_s:g} s: "
                f"{agents} raised no such alert (a mistyped id, or one older than the agent "
                "keeps)"
            )
        if self.offline:
            agents = ", ".join(sorted(self.offline))
            return (
                f"sent the ack of {self.alert_id}; not confirmed yet: agent {agents} is offline "
                "and reads it when it reconnects"
            )
        return (
            f"sent the ack of {self.alert_id}; not confirmed: no agent of {self.site} has "
            "published its status on this broker"
        )
