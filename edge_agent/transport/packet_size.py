"""The size of a PUBLISH on the wire, to respect the broker's Maximum Packet Size (issue 18).

A broker states its limit in CONNACK (MQTT 5.0 §3.2.2.3.6, property 0x27) and closes the link
with 0x95 "Packet too large" on a PUBLISH over it (§4.13). A recording larger than the limit
would then end every connection and hold up every message behind it, forever; the publisher
instead keeps it in the outbox, sends the rest, and raises an alarm saying what to change.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from edge_agent.config import MIN_PACKET_BYTES
from edge_agent.storage.outbox import OutboundMessage

__all__ = [
    "OversizeSuspicion",
    "PacketLimit",
    "packet_limit",
    "publish_packet_size",
    "suspected_limit_alarm",
    "too_large_alarm",
]


@dataclass(frozen=True)
class PacketLimit:
    bytes: int
    configured: bool  # from broker.max_packet_bytes rather than the broker's CONNACK


def packet_limit(stated: int | None, configured: int | None) -> PacketLimit | None:
    """The limit a PUBLISH must respect: the smaller of the broker's CONNACK Maximum Packet
    Size and `broker.max_packet_bytes`, whichever exist. An MQTT 3.1.1 broker states none
    (its CONNACK has no properties, §3.2), so there only the setting can say it."""
    if configured is not None and (stated is None or configured <= stated):
        return PacketLimit(configured, configured=True)
    return None if stated is None else PacketLimit(stated, configured=False)


def _varint_len(n: int) -> int:
    """Bytes of a Variable Byte Integer (§1.5.5)."""
    size = 1
    while n >= 128:
        n //= 128
        size += 1
    return size


def _string_len(text: str) -> int:
    return 2 + len(text.encode("utf-8"))  # §1.5.4: two-byte length, then UTF-8


def publish_packet_size(
    message: OutboundMessage, v5: bool = True, payload_bytes: int | None = None
) -> int:
    """Bytes of this message's PUBLISH packet (§3.3), as `publish_properties` encodes it;
    with `v5=False` the MQTT 3.1.1 packet, which has no properties section (3.1.1 §3.3).
    `payload_bytes` stands for the payload's length (a message not made yet)."""
    variable = _string_len(message.topic) + (2 if message.qos > 0 else 0)
    if v5:
        props = _properties_len(message)
        variable += _varint_len(props) + props
    remaining = variable + (len(message.payload) if payload_bytes is None else payload_bytes)
    return 1 + _varint_len(remaining) + remaining


def _properties_len(message: OutboundMessage) -> int:
    props = 0
    if message.content_type:
        props += 1 + _string_len(message.content_type)  # 0x03 Content Type
    if message.expiry_s is not None:
        props += 1 + 4  # 0x02 Message Expiry Interval
    for key, value in message.user_properties:
        props += 1 + _string_len(key) + _string_len(value)  # 0x26 User Property
    return props


def too_large_alarm(size: int, limit: PacketLimit) -> str:
    if limit.configured:
        return (
            f"a message of {size} bytes exceeds broker.max_packet_bytes ({limit.bytes} bytes): "
            "it is kept in the outbox and not sent; raise the broker's limit, then "
            "broker.max_packet_bytes to match, or shorten monitoring.duration_s or exam.duration_s"
        )
    return (
        f"a message of {size} bytes exceeds the broker's maximum packet size ({limit.bytes} "
        "bytes): it is kept in the outbox and not sent; raise max_packet_size on the broker (the "
        "shipped mosquitto.conf allows 16 MiB) or shorten monitoring.duration_s or exam.duration_s"
    )


def suspected_limit_alarm(size: int) -> str:
    return (
        "two links in a row ended (closed by the broker, or a PUBACK never came) while a "
        f"message of {size} bytes awaited its PUBACK: it may be over the broker's packet size "
        "limit, which an MQTT 3.1.1 broker cannot state; set broker.max_packet_bytes to that "
        f"limit (at least {MIN_PACKET_BYTES}) to keep such messages in the outbox with an "
        "alarm, or raise the broker's limit"
    )


class OversizeSuspicion:
    """Spots a broker that drops the link on a PUBLISH over a limit it never stated.

    Mosquitto with `max_packet_size` closes a 3.1.1 client's connection on a larger packet;
    the agent sends the same message again after each reconnect, and the link dies again.
    Two links in a row that end while the same message, the largest then unacknowledged and
    at least the smallest limit one may configure, awaits its PUBACK point at that message.
    """

    def __init__(self) -> None:
        self._last: int | None = None
        self.alarmed: set[int] = set()

    def link_ended(self, unacked: Mapping[int, int]) -> tuple[int, int] | None:
        """`unacked`: outbox seq -> PUBLISH size of what awaited a PUBACK as the link ended.
        Returns (seq, size) the first time one message is caught twice in a row."""
        big = {seq: size for seq, size in unacked.items() if size >= MIN_PACKET_BYTES}
        seq = max(big, key=big.__getitem__) if big else None
        repeated = seq is not None and seq == self._last and seq not in self.alarmed
        self._last = seq
        if seq is None or not repeated:
            return None
        self.alarmed.add(seq)
        return seq, big[seq]


class PacketWatch:
    """The packet alarm's life on one publisher: raised when a message is held back (over a
    known limit) or suspected (a 3.1.1 broker dropping the link on it); cleared once no message
    in the outbox exceeds the limit: the drain has looked at every pending message on this link
    and held none back, and every suspected message has had its PUBACK."""

    def __init__(self) -> None:
        self.suspicion = OversizeSuspicion()
        self.held: dict[int, int] = {}  # seq -> PUBLISH bytes, held back on the current link
        self.alarm: str | None = None
        self._once_held: set[int] = set()
        self.delivered_after_hold = 0

    def new_link(self) -> None:
        """The drain starts again from the first pending message, under the new link's limit."""
        self._once_held |= set(self.held)
        self.held = {}

    def hold(self, seq: int, size: int, limit: PacketLimit) -> str:
        self.held[seq] = size
        self.alarm = too_large_alarm(size, limit)
        return self.alarm

    def suspect(self, size: int) -> str:
        self.alarm = suspected_limit_alarm(size)
        return self.alarm

    def delivered(self, seq: int) -> None:
        self.suspicion.alarmed.discard(seq)
        if seq in self._once_held:
            self._once_held.discard(seq)
            self.delivered_after_hold += 1

    def caught_up(self, limit: PacketLimit | None, in_flight: Collection[int] = ()) -> str | None:
        """Every pending message was looked at: why the alarm clears now, or None.

        `in_flight`: the seqs sent on this link that await their PUBACK. One held back earlier
        keeps the alarm until its PUBACK (or its failure): the sentence counts deliveries, and
        said before the last PUBACK it undercounted (CI under load: 1 said, 2 delivered)."""
        if self.alarm is None or self.held or self.suspicion.alarmed:
            return None
        if not self._once_held.isdisjoint(in_flight):
            return None
        self.alarm = None
        now = "states no limit" if limit is None else f"allows {limit.bytes} bytes"
        delivered, self.delivered_after_hold = self.delivered_after_hold, 0
        return (
            f"no message in the outbox exceeds the broker's limit now (it {now}); "
            f"{delivered} message(s) held back earlier were delivered"
        )
