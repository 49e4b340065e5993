"""The PUBLISH size against the broker's limit, byte for byte, and the packet alarm's rules.

Sizes are counted by hand from MQTT 5.0 §3.3 (fixed header, topic, packet id, properties,
payload) at each Variable Byte Integer bound (§1.5.5: 127/128, 16383/16384, 2097151/2097152),
and the properties section is checked against paho's own encoding of the same message.
"""

from __future__ import annotations

import pytest

from edge_agent.config import MIN_PACKET_BYTES
from edge_agent.storage.outbox import OutboundMessage
from edge_agent.transport.mqtt import publish_properties
from edge_agent.transport.packet_size import (
    OversizeSuspicion,
    PacketLimit,
    PacketWatch,
    packet_limit,
    publish_packet_size,
    suspected_limit_alarm,
    too_large_alarm,
)


def test_the_smaller_limit_applies_and_says_where_it_came_from() -> None:
    assert packet_limit(None, None) is None
    assert packet_limit(20000, None) == PacketLimit(20000, configured=False)
    assert packet_limit(None, 20000) == PacketLimit(20000, configured=True)
    assert packet_limit(30000, 20000) == PacketLimit(20000, configured=True)
    assert packet_limit(20000, 20000) == PacketLimit(20000, configured=True)
    assert packet_limit(20000, 20001) == PacketLimit(20000, configured=False)


@pytest.mark.parametrize(
    ("qos", "v5", "size"),
    [
        # 1 header + 1 length + 3 topic "t" (+ 2 packet id) (+ 1 empty properties)
        (0, True, 6),
        (1, True, 8),
        (2, True, 8),
        (0, False, 5),
        (1, False, 7),
    ],
)
def test_the_smallest_publish(qos: int, v5: bool, size: int) -> None:
    assert publish_packet_size(OutboundMessage("t", b"", qos=qos), v5=v5) == size


def test_the_topic_counts_in_utf8_bytes_and_the_payload_its_length() -> None:
    assert publish_packet_size(OutboundMessage("é", b"", qos=0)) == 7
    assert publish_packet_size(OutboundMessage("t", b"abc", qos=0)) == 9
    # payload_bytes stands for a payload not made yet, in place of the one given.
    assert publish_packet_size(OutboundMessage("t", b"abc", qos=0), payload_bytes=0) == 6
    assert publish_packet_size(OutboundMessage("t", b"", qos=0), payload_bytes=3) == 9


@pytest.mark.parametrize(
    ("remaining", "length_bytes"),
    [(127, 1), (128, 2), (16383, 2), (16384, 3), (2097151, 3), (2097152, 4)],
)
def test_the_remaining_length_grows_at_each_varint_bound(remaining: int, length_bytes: int) -> None:
    message = OutboundMessage("t", b"", qos=0)  # 4 bytes before the payload
    size = publish_packet_size(message, payload_bytes=remaining - 4)
    assert size == 1 + length_bytes + remaining
    assert publish_packet_size(message, v5=False, payload_bytes=remaining - 3) == size


def _props_section(message: OutboundMessage) -> int:
    props = publish_properties(message)
    assert props is not None
    return len(props.pack())  # paho's bytes: the length, then each property


@pytest.mark.parametrize(
    "message",
    [
        OutboundMessage("t", b"", content_type="audio/flac"),
        OutboundMessage("t", b"", content_type=""),  # none sent
        OutboundMessage("t", b"", expiry_s=0),  # an expiry of 0 is still sent
        OutboundMessage("t", b"", expiry_s=3600),
        OutboundMessage("t", b"", user_properties=(("recording_id", "r-1"),)),
        OutboundMessage("t", b"", user_properties=(("a", "é"), ("schema_version", "1"))),
        OutboundMessage(
            "t", b"", content_type="application/json", expiry_s=86400,
            user_properties=(("k", "v" * 97),),  # properties of 127 bytes
        ),
        OutboundMessage(
            "t", b"", content_type="application/json", expiry_s=86400,
            user_properties=(("k", "v" * 98),),  # 128: their length takes two bytes
        ),
    ],
)  # fmt: skip
def test_the_properties_section_is_as_long_as_paho_writes_it(message: OutboundMessage) -> None:
    remaining = 3 + 2 + _props_section(message)  # topic "t", packet id, properties
    assert remaining < 16384
    assert publish_packet_size(message) == 1 + (1 if remaining < 128 else 2) + remaining


def test_the_properties_length_bound_by_hand() -> None:
    # 1 + 2 + 16 content type, 5 expiry, 1 + 3 + 2 + 97 user property: 127 bytes.
    base = {"content_type": "application/json", "expiry_s": 86400}
    at_127 = OutboundMessage("t", b"", qos=0, user_properties=(("k", "v" * 97),), **base)  # type: ignore[arg-type]
    at_128 = OutboundMessage("t", b"", qos=0, user_properties=(("k", "v" * 98),), **base)  # type: ignore[arg-type]
    assert publish_packet_size(at_127) == 1 + 2 + 3 + 1 + 127
    assert publish_packet_size(at_128) == 1 + 2 + 3 + 2 + 128


def test_the_alarm_over_a_configured_limit_says_what_to_change() -> None:
    assert too_large_alarm(20001, PacketLimit(20000, configured=True)) == (
        "a message of 20001 bytes exceeds broker.max_packet_bytes (20000 bytes): it is kept in "
        "the outbox and not sent; raise the broker's limit, then broker.max_packet_bytes to "
        "match, or shorten monitoring.duration_s or exam.duration_s"
    )


def test_the_alarm_over_the_brokers_limit_says_what_to_change() -> None:
    assert too_large_alarm(20001, PacketLimit(20000, configured=False)) == (
        "a message of 20001 bytes exceeds the broker's maximum packet size (20000 bytes): it is "
        "kept in the outbox and not sent; raise max_packet_size on the broker (the shipped "
        "mosquitto.conf allows 16 MiB) or shorten monitoring.duration_s or exam.duration_s"
    )


def test_the_suspected_limit_alarm_names_the_size_and_the_setting() -> None:
    assert suspected_limit_alarm(70000) == (
        "two links in a row ended (closed by the broker, or a PUBACK never came) while a "
        "message of 70000 bytes awaited its PUBACK: it may be over the broker's packet size "
        "limit, which an MQTT 3.1.1 broker cannot state; set broker.max_packet_bytes to that "
        f"limit (at least {MIN_PACKET_BYTES}) to keep such messages in the outbox with an "
        "alarm, or raise the broker's limit"
    )
    assert "(at least 16384)" in suspected_limit_alarm(1)


def test_suspicion_needs_the_largest_big_message_twice_running() -> None:
    watch = OversizeSuspicion()
    small = MIN_PACKET_BYTES - 1
    assert watch.link_ended({}) is None
    assert watch.link_ended({1: small}) is None
    assert watch.link_ended({1: small}) is None  # under the smallest limit: never suspected
    assert watch.link_ended({2: 90000, 3: MIN_PACKET_BYTES}) is None
    assert watch.link_ended({2: 90000, 3: MIN_PACKET_BYTES}) == (2, 90000)  # the largest
    assert watch.alarmed == {2}
    assert watch.link_ended({2: 90000}) is None  # told once
    assert watch.link_ended({3: 90000}) is None
    assert watch.link_ended({3: 90000}) == (3, 90000)
    assert watch.link_ended({4: MIN_PACKET_BYTES}) is None
    assert watch.link_ended({4: MIN_PACKET_BYTES}) == (4, MIN_PACKET_BYTES)  # at the bound
    assert watch.alarmed == {2, 3, 4}


def test_suspicion_is_reset_by_a_link_without_the_message() -> None:
    watch = OversizeSuspicion()
    assert watch.link_ended({5: 50000}) is None
    assert watch.link_ended({}) is None
    assert watch.link_ended({5: 50000}) is None  # not twice in a row
    assert watch.link_ended({6: 60000, 5: 50000}) is None  # the largest changed
    assert watch.link_ended({6: 60000}) == (6, 60000)
    assert watch.alarmed == {6}


def test_a_fresh_suspicion_has_alarmed_nothing() -> None:
    assert OversizeSuspicion().alarmed == set()
    assert PacketWatch().alarm is None


def test_the_packet_alarm_is_raised_on_hold_and_cleared_once_caught_up() -> None:
    limit = PacketLimit(20000, configured=False)
    watch = PacketWatch()
    assert watch.caught_up(limit) is None  # no alarm to clear
    assert watch.hold(7, 30000, limit) == too_large_alarm(30000, limit)
    assert watch.alarm == too_large_alarm(30000, limit)
    assert watch.held == {7: 30000}
    assert watch.caught_up(limit) is None  # still held on this link
    watch.new_link()
    assert watch.held == {}
    watch.delivered(7)
    watch.delivered(8)  # never held: not counted
    assert watch.caught_up(PacketLimit(40000, configured=False)) == (
        "no message in the outbox exceeds the broker's limit now (it allows 40000 bytes); "
        "1 message(s) held back earlier were delivered"
    )
    assert watch.alarm is None
    assert watch.delivered_after_hold == 0
    watch.delivered(7)  # counted once
    assert watch.suspect(70000) == suspected_limit_alarm(70000)
    assert watch.caught_up(None) == (
        "no message in the outbox exceeds the broker's limit now (it states no limit); "
        "0 message(s) held back earlier were delivered"
    )


def test_held_twice_across_links_counts_once_delivered() -> None:
    limit = PacketLimit(20000, configured=True)
    watch = PacketWatch()
    watch.hold(1, 30000, limit)
    watch.hold(2, 30000, limit)
    watch.new_link()
    watch.hold(1, 30000, limit)
    watch.new_link()
    assert watch.held == {}
    watch.delivered(1)
    watch.delivered(2)
    message = watch.caught_up(limit)
    assert message is not None and message.endswith("2 message(s) held back earlier were delivered")


def test_a_suspected_message_keeps_the_alarm_until_its_puback() -> None:
    watch = PacketWatch()
    watch.suspicion.link_ended({9: 50000})
    assert watch.suspicion.link_ended({9: 50000}) == (9, 50000)
    watch.suspect(50000)
    assert watch.caught_up(None) is None  # still suspected
    watch.delivered(9)
    assert watch.suspicion.alarmed == set()
    assert watch.caught_up(None) is not None


def test_the_alarm_waits_for_the_puback_of_a_message_held_earlier() -> None:
    # Cleared as the drain had sent both held messages but one PUBACK was still on its way,
    # the sentence said "1 message(s) ... delivered" of the two (CI under load).
    limit = PacketLimit(20000, configured=True)
    watch = PacketWatch()
    watch.hold(1, 30000, limit)
    watch.hold(2, 30000, limit)
    watch.new_link()
    watch.delivered(1)
    assert watch.caught_up(None, in_flight={2, 9}) is None  # 2 awaits its PUBACK
    assert watch.alarm is not None
    assert watch.caught_up(None, in_flight={9}) is not None  # 2 failed: it no longer holds it
    watch.hold(3, 30000, limit)
    watch.new_link()
    watch.delivered(3)
    assert watch.caught_up(None, in_flight={9}) == (
        "no message in the outbox exceeds the broker's limit now (it states no limit); "
        "1 message(s) held back earlier were delivered"
    )
