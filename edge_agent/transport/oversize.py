"""The publisher's guard against messages a broker cannot take (issue 18).

A message over the broker's known limit (CONNACK's Maximum Packet Size, or
broker.max_packet_bytes) is skipped and kept in the outbox with an alarm: the broker would refuse
it on every attempt and hold up everything behind it. With no known limit, the same big message
going unacknowledged on two links running raises a suspicion instead. The alarm clears once
nothing pending is over the limit.
"""

from __future__ import annotations

import logging
from typing import Protocol

from edge_agent.storage.outbox import StoredMessage
from edge_agent.transport.mqtt import MqttConnection
from edge_agent.transport.packet_size import PacketWatch, packet_limit, publish_packet_size
from stetho_common import quote

__all__ = ["OversizeGuard"]

log = logging.getLogger(__name__)


class PacketStats(Protocol):
    too_large: int
    packet_alarm: str | None


class OversizeGuard:
    def __init__(self, stats: PacketStats) -> None:
        self.stats = stats
        self._watch = PacketWatch()
        # Outbox seq -> PUBLISH bytes of what awaits a PUBACK on the current link.
        self._unacked: dict[int, int] = {}

    def new_link(self) -> None:
        self._watch.new_link()

    def too_large(self, connection: MqttConnection, item: StoredMessage) -> bool:
        """True (counted, alarmed, logged) if this PUBLISH is over the broker's known limit."""
        limit = packet_limit(connection.max_packet_size, connection.settings.max_packet_bytes)
        size = publish_packet_size(item.message, connection.settings.v5)
        if limit is None or size <= limit.bytes:
            return False
        self.stats.too_large += 1
        self.stats.packet_alarm = self._watch.hold(item.seq, size, limit)
        log.error("event=message_too_large seq=%d recording=%s packet_bytes=%d broker_max=%d "
                  "limit_from=%s kept_in_outbox=1", item.seq, quote(item.message.recording_id),
                  size, limit.bytes, "broker.max_packet_bytes" if limit.configured else "connack",
                  )  # fmt: skip
        return True

    def sending(self, connection: MqttConnection, item: StoredMessage) -> None:
        self._unacked[item.seq] = publish_packet_size(item.message, connection.settings.v5)

    def delivered(self, seq: int) -> None:
        del self._unacked[seq]
        self._watch.delivered(seq)

    def failed(self, seq: int) -> None:
        self._unacked.pop(seq, None)

    def link_ended(self, connection: MqttConnection) -> None:
        """Did the same big message go unacknowledged twice running?"""
        unacked, self._unacked = self._unacked, {}
        if packet_limit(connection.max_packet_size, connection.settings.max_packet_bytes):
            return  # a known limit: nothing over it was sent
        suspect = self._watch.suspicion.link_ended(unacked)
        if suspect is None:
            return
        seq, size = suspect
        self.stats.packet_alarm = self._watch.suspect(size)
        log.error("event=link_lost_on_large_message seq=%d packet_bytes=%d alarm=%s",
                  seq, size, quote(self.stats.packet_alarm))  # fmt: skip

    def caught_up(self, connection: MqttConnection) -> None:
        """The drain looked at every pending message: clear the alarm if none is over."""
        limit = packet_limit(connection.max_packet_size, connection.settings.max_packet_bytes)
        why = self._watch.caught_up(limit, self._unacked.keys())
        if why is not None:
            self.stats.packet_alarm = None
            log.info("event=packet_alarm_cleared reason=%s", quote(why))
