"""Why an accepted MQTT link ended, typed by what the publisher does next (issue 18).

A lost link is always followed by a backoff delay (never an immediate reconnect); a loss the broker
will repeat on every reconnect waits the longest, as a repeating CONNACK refusal does.
"""

from __future__ import annotations

from paho.mqtt.reasoncodes import ReasonCode

from edge_agent.errors import PublishError
from stetho_common import Response

__all__ = [
    "NOT_V5",
    "TAKEN_OVER_ALARM",
    "LinkLostError",
    "LinkRefusedError",
    "SubscriptionRefusedError",
    "link_alarm",
    "link_lost",
    "reason_text",
]


class LinkLostError(PublishError):
    """An accepted connection ended; `reason` says why (the broker's DISCONNECT reason, if any)."""

    def __init__(self, reason: str, code: int | None = None, by_broker: bool = False) -> None:
        self.reason = reason
        self.code = code
        self.by_broker = by_broker
        super().__init__(f"connection lost: {reason}")


class LinkRefusedError(LinkLostError):
    """The broker ended the connection in a way that repeats (not authorised, quota, taken over,
    a protocol error on our side): reconnecting at once would only repeat it. Wait the longest."""

    response = Response.RETRY_LATER


# MQTT 5.0 §3.14.2.1 DISCONNECT reason codes that come back on every reconnect: 0x81 malformed
# packet, 0x82 protocol error, 0x87 not authorized, 0x8E session taken over, 0x90 topic name
# invalid, 0x93 receive maximum exceeded, 0x95 packet too large, 0x97 quota exceeded,
# 0x99 payload format invalid, 0x9F connection rate exceeded.
REPEATING_DISCONNECTS = frozenset({0x81, 0x82, 0x87, 0x8E, 0x90, 0x93, 0x95, 0x97, 0x99, 0x9F})
SESSION_TAKEN_OVER = 0x8E
TAKEN_OVER_ALARM = "client id taken over by another connection"
# CONNACK 0x84 "Unsupported Protocol Version" (MQTT 5.0 §3.2.2.2); a 3.1.1-only broker answers
# return code 0x01 (MQTT 3.1.1 §3.2.2.3), which paho reports under the same name.
UNSUPPORTED_PROTOCOL = 0x84
NOT_V5 = "the broker does not speak MQTT v5"


def link_lost(reason: str, code: int | None, by_broker: bool) -> LinkLostError:
    """The error for a lost link, typed by whether reconnecting at once could help."""
    if by_broker and code in REPEATING_DISCONNECTS:
        return LinkRefusedError(reason, code, by_broker)
    return LinkLostError(reason, code, by_broker)


# Mosquitto closes the old connection of a taken-over client id at once; when that connection had
# unread data the close is a TCP reset, and the DISCONNECT 0x8E before it never reaches paho. So
# a run of accepted connections that each die young raises the same alarm, worded as a question.
SHORT_LINKS_ALARM_AFTER = 3


def link_alarm(loss: LinkLostError, short_links: int, client_id: str) -> str | None:
    """The alarm an operator must see after this loss, or None."""
    if loss.by_broker and loss.code == SESSION_TAKEN_OVER:
        return TAKEN_OVER_ALARM
    if short_links >= SHORT_LINKS_ALARM_AFTER:
        return (
            f"{TAKEN_OVER_ALARM}? the broker accepted and then dropped {short_links} "
            f"connections in a row (last: {loss.reason}); is another agent using client id "
            f"{client_id} (a cloned SD card), or is what we publish refused?"
        )
    return None


def reason_text(rc: ReasonCode | None) -> str:
    """`Session taken over (0x8E)`: the name and the number an operator can look up."""
    return "closed" if rc is None else f"{rc.getName()} (0x{rc.value:02X})"


class SubscriptionRefusedError(PublishError):
    """The broker refused a subscription (SUBACK reason >= 0x80): acks and commands cannot
    arrive, but recordings can still go out, so the link stays up and an alarm says so."""

    def __init__(self, reasons: str) -> None:
        self.reasons = reasons
        super().__init__(f"subscription refused: {reasons}")
