"""The size of a PUBLISH on the wire, to respect the broker's Maximum Packet Size (issue 18).

A broker states its limit in CONNACK (MQTT 5.0 §3.2.2.3.6, property 0x27) and closes the link
with 0x95 "Packet too large" on a PUBLISH over it (§4.13). A recording larger than the limit
would then end every connection and hold up every message behind it, forever; the publisher
instead keeps it in the outbox, sends the rest, and raises an alarm saying what to change.
"""

from __future__ import annotations

from edge_agent.storage.outbox import OutboundMessage

__all__ = ["publish_packet_size", "too_large_alarm"]


def _varint_len(n: int) -> int:
    """Bytes of a Variable Byte Integer (§1.5.5)."""
    size = 1
    while n >= 128:
        n //= 128
        size += 1
    return size


def _string_len(text: str) -> int:
    return 2 + len(text.encode("utf-8"))  # §1.5.4: two-byte length, then UTF-8


def publish_packet_size(message: OutboundMessage) -> int:
    """Bytes of this message's PUBLISH packet (§3.3), as `publish_properties` encodes it."""
    props = 0
    if message.content_type:
        props += 1 + _string_len(message.content_type)  # 0x03 Content Type
    if message.expiry_s is not None:
        props += 1 + 4  # 0x02 Message Expiry Interval
    for key, value in message.user_properties:
        props += 1 + _string_len(key) + _string_len(value)  # 0x26 User Property
    variable = _string_len(message.topic) + (2 if message.qos > 0 else 0)
    variable += _varint_len(props) + props
    remaining = variable + len(message.payload)
    return 1 + _varint_len(remaining) + remaining


def too_large_alarm(size: int, limit: int) -> str:
    return (
        f"a message of {size} bytes exceeds the broker's maximum packet size ({limit} bytes): it "
        "is kept in the outbox and not sent; raise max_packet_size on the broker (the shipped "
        "mosquitto.conf allows 16 MiB) or shorten schedule.duration_s"
    )
