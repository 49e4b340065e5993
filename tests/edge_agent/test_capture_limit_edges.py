"""A capture the broker's packet size cannot take, at its exact edges (issue 18), direct.

A recording refused at its start is not lost, but it must be refused only when its message
could be over the limit, and said: the bound counted byte by byte here (FLAC's worst case,
then the PUBLISH around it, MQTT 5.0 §3.3), the longest length that fits found from both sides,
the alarm and the config error word for word, and the gate's alarms raised once and cleared.
test_issue18_capture_limit.py checks the bound against real FLAC; this file, its arithmetic.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import numpy as np
import pytest
import soundfile

from edge_agent.config import AgentConfig, parse_config
from edge_agent.transport.capture_limit import (
    BYTES_PER_SAMPLE,
    FRAME_OVERHEAD,
    METADATA_BYTES,
    MIN_BLOCK,
    CaptureGate,
    TooLong,
    _max_samples,
    audio_packet_bound,
    check_capture,
    config_errors,
    flac_bound,
    max_seconds,
)
from edge_agent.transport.packet_size import PacketLimit
from stetho_common import quote

SITE, DEVICE = "home-1", "steth-1"
TOPIC = "stetho/v1/home-1/steth-1/recordings/audio"  # 41 characters
# MQTT 5 properties of the audio message (§3.3.2.3): the content type "audio/flac" (1 + 2 + 10)
# and three user properties, each 1 + (2 + key) + (2 + value): schema_version = "1" (20),
# recording_id and exam_id = a 36-character UUID (53 and 48).
PROPS = 13 + 20 + 53 + 48
V5_HEADER = (2 + len(TOPIC)) + 2 + 2 + PROPS  # topic, packet id, properties' length, properties
V311_HEADER = (2 + len(TOPIC)) + 2


def _packet(remaining: int) -> int:
    """Fixed header (one byte, then the remaining length as a variable byte integer)."""
    return 1 + (1 if remaining < 128 else 2 if remaining < 16384 else 3) + remaining


def test_the_flac_bound_is_metadata_two_bytes_a_sample_and_twenty_a_frame() -> None:
    assert (BYTES_PER_SAMPLE, FRAME_OVERHEAD, MIN_BLOCK, METADATA_BYTES) == (2, 20, 1152, 1024)
    assert flac_bound(0) == 1024
    assert flac_bound(1) == 1024 + 2 + 20
    assert flac_bound(1152) == 1024 + 2304 + 20  # one full frame
    assert flac_bound(1153) == 1024 + 2306 + 40  # a second frame for one sample
    assert flac_bound(2304) == 1024 + 4608 + 40


def test_the_audio_packet_bound_is_counted_byte_by_byte() -> None:
    assert len(TOPIC) == 41 and PROPS == 134
    for n in (0, 1, 1152, 1153, 40000):
        assert audio_packet_bound(n, SITE, DEVICE) == _packet(V5_HEADER + flac_bound(n))
        assert audio_packet_bound(n, SITE, DEVICE, v5=True) == _packet(V5_HEADER + flac_bound(n))
        assert audio_packet_bound(n, SITE, DEVICE, v5=False) == _packet(V311_HEADER + flac_bound(n))
    assert (
        audio_packet_bound(0, SITE, DEVICE) == 1208
        and audio_packet_bound(0, SITE, DEVICE, False) == 1072
    )
    # Each character of the site or device is one more byte of the topic.
    assert audio_packet_bound(9, "home-12", DEVICE) == audio_packet_bound(9, SITE, DEVICE) + 1
    assert audio_packet_bound(9, SITE, "steth-12") == audio_packet_bound(9, SITE, DEVICE) + 1


@pytest.mark.parametrize("v5", [True, False])
@pytest.mark.parametrize("n", [1, 2, 1151, 1152, 1153, 40000])
def test_the_most_samples_are_found_from_both_sides(n: int, v5: bool) -> None:
    at = audio_packet_bound(n, SITE, DEVICE, v5)
    most = _max_samples(at, SITE, DEVICE, v5)
    assert most == n and type(most) is int
    assert _max_samples(at - 1, SITE, DEVICE, v5) == n - 1
    assert _max_samples(audio_packet_bound(n + 1, SITE, DEVICE, v5) - 1, SITE, DEVICE, v5) == n


def test_a_limit_under_the_empty_message_fits_no_sample() -> None:
    empty = audio_packet_bound(0, SITE, DEVICE)
    for limit in (0, 1, empty - 1, empty, audio_packet_bound(1, SITE, DEVICE) - 1):
        assert _max_samples(limit, SITE, DEVICE, True) == 0
        assert max_seconds(limit, 1000, SITE, DEVICE) == 0


def test_max_seconds_counts_whole_seconds_and_mqtt5_s_properties() -> None:
    # 5 s at 2000 Hz exactly fit under 3.1.1; MQTT 5's properties (136 bytes) then leave 4 s.
    limit = audio_packet_bound(10000, SITE, DEVICE, v5=False)
    assert max_seconds(limit, 2000, SITE, DEVICE, v5=False) == 5
    assert max_seconds(limit - 1, 2000, SITE, DEVICE, v5=False) == 4
    assert max_seconds(limit, 2000, SITE, DEVICE, v5=True) == 4
    assert max_seconds(limit, 2000, SITE, DEVICE) == 4
    most = max_seconds(100_000, 4000, SITE, DEVICE)
    assert most == 12 and type(most) is int


def test_no_known_limit_refuses_nothing() -> None:
    assert check_capture(86400.0, 48000, SITE, DEVICE, None) is None


def test_a_capture_is_refused_one_byte_over_and_taken_at_the_limit() -> None:
    fits = PacketLimit(audio_packet_bound(4000, SITE, DEVICE), configured=False)
    under = PacketLimit(fits.bytes - 1, configured=True)
    assert check_capture(1.0, 4000, SITE, DEVICE, fits) is None
    refused = check_capture(1.0, 4000, SITE, DEVICE, under)
    assert refused == TooLong(DEVICE, 1.0, 4000, 0, under, "the recording's duration_s")


def test_the_samples_checked_are_the_duration_rounded_as_the_segmenters_take_it() -> None:
    one = PacketLimit(audio_packet_bound(1, SITE, DEVICE), configured=False)
    assert check_capture(0.0014, 1000, SITE, DEVICE, one) is None  # 1.4 samples: 1
    assert check_capture(0.0016, 1000, SITE, DEVICE, one) is not None  # 1.6 samples: 2


def test_the_check_counts_the_protocol_s_own_packet() -> None:
    n = 10000
    v311 = PacketLimit(audio_packet_bound(n, SITE, DEVICE, v5=False), configured=True)
    assert check_capture(5.0, 2000, SITE, DEVICE, v311, v5=False) is None
    refused = check_capture(5.0, 2000, SITE, DEVICE, v311, key="exam.duration_s")
    assert refused is not None and refused.max_s == 4 and refused.key == "exam.duration_s"
    assert check_capture(5.0, 2000, SITE, DEVICE, v311, v5=True) is not None
    # Refused under 3.1.1 too, the seconds that fit are 3.1.1's.
    longer = check_capture(6.0, 2000, SITE, DEVICE, v311, v5=False)
    assert longer is not None and longer.max_s == 5


def test_the_alarm_says_what_to_change_word_for_word() -> None:
    connack = TooLong("steth-2", 60.0, 4000, 12, PacketLimit(100000, False), "exam.duration_s")
    assert connack.alarm() == (
        "device steth-2: a recording of 60 s at 4000 Hz could exceed the maximum packet size "
        "the broker states (100000 bytes), so it is not recorded; at most 12 s fit. Raise the "
        "broker's limit (the shipped mosquitto.conf allows 16 MiB; then broker.max_packet_bytes "
        "to match, if set) or set exam.duration_s to 12 or less"
    )
    configured = TooLong("s", 12.5, 2000, 3, PacketLimit(20000, True), "k")
    assert configured.alarm() == (
        "device s: a recording of 12.5 s at 2000 Hz could exceed broker.max_packet_bytes "
        "(20000 bytes), so it is not recorded; at most 3 s fit. Raise the broker's limit (the "
        "shipped mosquitto.conf allows 16 MiB; then broker.max_packet_bytes to match, if set) "
        "or set k to 3 or less"
    )


def _config(protocol: str, exam_s: float, *devices: dict[str, object]) -> AgentConfig:
    broker = {"max_packet_bytes": 100000, "protocol": protocol}
    data = {"site": SITE, "broker": broker, "exam": {"duration_s": exam_s}}
    data["devices"] = list(devices)
    return parse_config(data, "test")


def _device(id_: str, kind: str = "simulated", **more: object) -> dict[str, object]:
    return {"id": id_, "kind": kind, "resident": "res-1", **more}


def test_config_errors_name_each_setting_once_in_order() -> None:
    monitored = _device("steth-1", monitoring={"interval_s": 600, "duration_s": 60})
    config = _config("5", 15, monitored, _device("steth-2"), _device("steth-3"))
    assert config_errors(config) == [
        "devices[0].monitoring.duration_s: expected at most 12 s, the longest recording at "
        "4000 Hz whose audio message fits broker.max_packet_bytes (100000 bytes; recordings "
        "are not split), or a larger limit; found 60",
        "exam.duration_s: expected at most 12 s, the longest recording at 4000 Hz whose audio "
        "message fits broker.max_packet_bytes (100000 bytes; recordings are not split), or a "
        "larger limit; found 15",
    ]


def test_config_errors_leave_out_what_fits_and_what_is_known_only_once_open(
    tmp_path: Path,
) -> None:
    fits = _device("steth-1", monitoring={"interval_s": 600, "duration_s": 12})
    assert config_errors(_config("5", 12, fits)) == []
    path = tmp_path / "heart.wav"
    soundfile.write(path, np.zeros(4000, np.float32), 4000)
    wav = _device("file-1", "file", path=str(path))
    config = _config("5", 60, wav)
    assert config_errors(config) == []


def test_config_errors_count_the_protocol_s_packet() -> None:
    # The limit is 5 s at 2000 Hz under 3.1.1 to the byte: MQTT 5's properties are over it.
    limit = audio_packet_bound(10000, SITE, "steth-1", v5=False)
    dev = _device("steth-1", sample_rate_hz=2000)
    for protocol, errors in (("3.1.1", 0), ("5", 1)):
        data = {"site": SITE, "broker": {"max_packet_bytes": limit, "protocol": protocol}}
        data |= {"exam": {"duration_s": 5}, "devices": [dev]}
        data |= {"storage": {"receipt_timeout_s": 600}}  # 3.1.1 asks for the hub's receipt
        assert len(config_errors(parse_config(data, "test"))) == errors


def _gate(
    limit: list[PacketLimit | None], v5: bool | None = None, site: str = SITE
) -> tuple[CaptureGate, list[int]]:
    changes: list[int] = []
    if v5 is None:
        gate = CaptureGate(site, lambda: limit[0], on_change=lambda: changes.append(1))
    else:
        gate = CaptureGate(site, lambda: limit[0], v5, lambda: changes.append(1))
    return gate, changes


def test_the_gate_checks_its_own_site_and_protocol() -> None:
    n = 8000  # 2 s at 4000 Hz
    exact = PacketLimit(audio_packet_bound(n, "home-12", DEVICE), configured=False)
    gate, _ = _gate([exact], site="home-12")
    assert gate.site == "home-12"
    assert gate.check(DEVICE, 2.0, 4000, "k") is None
    longer, _ = _gate([exact], site="home-123")
    assert longer.check(DEVICE, 2.0, 4000, "k") is not None
    v311 = PacketLimit(audio_packet_bound(n, SITE, DEVICE, v5=False), configured=True)
    assert _gate([v311], v5=False)[0].check(DEVICE, 2.0, 4000, "k") is None
    assert _gate([v311], v5=True)[0].check(DEVICE, 2.0, 4000, "k") is not None
    assert _gate([v311])[0].check(DEVICE, 2.0, 4000, "k") is not None


def test_the_gate_logs_each_refusal_and_raises_its_alarm_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    small = PacketLimit(100_000, configured=False)
    gate, changes = _gate([small])
    assert gate.alarms == {} and gate.refused == 0
    with caplog.at_level(logging.INFO, logger="edge_agent.transport.capture_limit"):
        refused = gate.check("steth-2", 60, 4000, "k")
        again = gate.check("steth-2", 60, 4000, "k")
    assert refused == again == TooLong("steth-2", 60, 4000, 12, small, "k")
    assert gate.alarms == {"steth-2": refused.alarm()} and gate.refused == 2 and changes == [1]
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    refusal = "event=capture_refused device=steth-2 duration_s=60 max_s=12 broker_max=100000"
    assert lines == [
        ("WARNING", refusal + " limit_from=connack"),
        ("ERROR", f"event=capture_alarm device=steth-2 alarm={quote(refused.alarm())}"),
        ("WARNING", refusal + " limit_from=connack"),
    ]
    caplog.clear()
    configured, _ = _gate([PacketLimit(100_000, configured=True)])
    with caplog.at_level(logging.INFO, logger="edge_agent.transport.capture_limit"):
        configured.check("steth-2", 60, 4000, "k")
    assert caplog.records[0].getMessage().endswith(" limit_from=broker.max_packet_bytes")


def test_a_capture_that_fits_clears_nothing_when_nothing_was_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gate, changes = _gate([PacketLimit(100_000, configured=False)])
    with caplog.at_level(logging.INFO, logger="edge_agent.transport.capture_limit"):
        assert gate.check("steth-1", 10, 4000, "k") is None
        gate.refresh()
    assert changes == [] and gate.alarms == {} and gate.refused == 0 and caplog.records == []


def test_an_alarm_is_cleared_once_with_the_reason(caplog: pytest.LogCaptureFixture) -> None:
    limit: list[PacketLimit | None] = [PacketLimit(100_000, configured=False)]
    gate, changes = _gate(limit)
    gate.check("steth-2", 60, 4000, "k")
    gate.check("steth-3", 60, 4000, "k")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="edge_agent.transport.capture_limit"):
        assert gate.check("steth-2", 10, 4000, "k") is None  # a shorter one fits
        assert gate.check("steth-2", 10, 4000, "k") is None
    assert list(gate.alarms) == ["steth-3"] and changes == [1, 1, 1]
    assert [r.getMessage() for r in caplog.records] == [
        'event=capture_alarm_cleared device=steth-2 reason="a recording of 10 s fits the limit '
        'now (100000 bytes)"'
    ]
    caplog.clear()
    limit[0] = None
    with caplog.at_level(logging.INFO, logger="edge_agent.transport.capture_limit"):
        gate.refresh()
        gate.refresh()
    assert gate.alarms == {} and changes == [1, 1, 1, 1]
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "INFO",
            'event=capture_alarm_cleared device=steth-3 reason="the broker states no limit now"',
        )
    ]


def test_refresh_looks_again_at_the_refused_capture_only() -> None:
    limit: list[PacketLimit | None] = [PacketLimit(100_000, configured=False)]
    gate, changes = _gate(limit)
    first = gate.check("steth-2", 60, 4000, "devices[1].monitoring.duration_s")
    assert first is not None
    gate.refresh()  # the same limit: the same alarm, not raised again
    assert changes == [1] and gate.refused == 1
    limit[0] = PacketLimit(200_000, configured=True)  # larger, still too small
    gate.refresh()
    assert changes == [1, 1] and gate.refused == 1
    want = TooLong("steth-2", 60, 4000, 24, limit[0], "devices[1].monitoring.duration_s")
    assert gate.alarms == {"steth-2": want.alarm()}
    # The refused capture fits a limit large enough: cleared without a capture.
    limit[0] = PacketLimit(audio_packet_bound(240_000, SITE, "steth-2"), configured=False)
    gate.refresh()
    assert gate.alarms == {} and changes == [1, 1, 1]
    gate.refresh()  # nothing left to look at
    assert changes == [1, 1, 1]


def test_a_gate_without_a_listener_raises_and_clears_all_the_same() -> None:
    limit: list[PacketLimit | None] = [PacketLimit(100_000, configured=False)]
    gate = CaptureGate(SITE, lambda: limit[0])
    assert gate.check("steth-2", 60, 4000, "k") is not None and "steth-2" in gate.alarms
    limit[0] = None
    gate.refresh()
    assert gate.alarms == {}


def test_each_device_s_alarm_is_its_own() -> None:
    gate, _ = _gate([PacketLimit(100_000, configured=False)])
    gate.check("steth-2", 60, 4000, "a")
    gate.check("steth-3", 30, 4000, "b")
    assert "set a to 12" in gate.alarms["steth-2"] and "set b to 12" in gate.alarms["steth-3"]
    assert str(uuid.UUID(int=0)) not in gate.alarms["steth-2"]


def test_config_errors_count_each_device_s_own_topic_and_skip_only_file_devices(
    tmp_path: Path,
) -> None:
    # The limit is 5 s at 2000 Hz to the byte for this site and device: one byte less refuses
    # both the monitoring and the exam duration; a file device listed first changes nothing.
    path = tmp_path / "heart.wav"
    soundfile.write(path, np.zeros(4000, np.float32), 4000)
    devices = [
        _device("file-1", "file", path=str(path)),
        _device("steth-1", sample_rate_hz=2000, monitoring={"interval_s": 600, "duration_s": 5}),
    ]
    exact = audio_packet_bound(10000, SITE, "steth-1", v5=False)
    for protocol, limit, errors in (
        ("3.1.1", exact, []),
        ("3.1.1", exact - 1, ["devices[1].monitoring.duration_s", "exam.duration_s"]),
        ("5", exact, ["devices[1].monitoring.duration_s", "exam.duration_s"]),
    ):
        data = {"site": SITE, "broker": {"max_packet_bytes": limit, "protocol": protocol}}
        data |= {"exam": {"duration_s": 5}, "devices": devices}
        data |= {"storage": {"receipt_timeout_s": 600}}
        found = config_errors(parse_config(data, "test"))
        assert [e.split(":")[0] for e in found] == errors, (protocol, limit)


def test_a_capture_that_fits_forgets_the_refused_one(caplog: pytest.LogCaptureFixture) -> None:
    gate, changes = _gate([PacketLimit(100_000, configured=False)])
    gate.check("steth-2", 60, 4000, "k")
    assert gate.check("steth-2", 10, 4000, "k") is None
    gate.refresh()  # the 60 s capture is not looked at again: the last one fitted
    assert gate.alarms == {} and changes == [1, 1]


def test_refresh_checks_with_the_gate_s_site_and_protocol(
    caplog: pytest.LogCaptureFixture,
) -> None:
    n = 8000  # 2 s at 4000 Hz
    one_short = PacketLimit(audio_packet_bound(n, SITE, DEVICE) - 1, configured=False)
    v311 = PacketLimit(audio_packet_bound(n, SITE, DEVICE, v5=False), configured=False)
    for limit in (one_short, v311):
        gate, changes = _gate([limit])
        assert gate.check(DEVICE, 2.0, 4000, "k") is not None
        gate.refresh()
        assert list(gate.alarms) == [DEVICE] and changes == [1]
    fits: list[PacketLimit | None] = [one_short]
    gate, _ = _gate(fits)
    gate.check(DEVICE, 2.0, 4000, "k")
    fits[0] = PacketLimit(one_short.bytes + 1, configured=False)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="edge_agent.transport.capture_limit"):
        gate.refresh()
    assert gate.alarms == {}
    assert [r.getMessage() for r in caplog.records] == [
        f'event=capture_alarm_cleared device={DEVICE} reason="a recording of 2 s fits the limit '
        f'now ({fits[0].bytes} bytes)"'
    ]
