"""Why an accepted MQTT link ended, typed by what the publisher does next (issue 18).

A lost link is always followed by a backoff delay (never an immediate reconnect); a loss the broker
will repeat on every reconnect waits the longest, as a repeating CONNACK refusal does.
"""

from __future__ import annotations

from paho.mqtt.reasoncodes import ReasonCode

from edge_agent.errors import LinkLostError, LinkRefusedError

__all__ = [
    "NOT_V5",
    "TAKEN_OVER_ALARM",
    "link_alarm",
    "link_lost",
    "reason_text",
]


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
