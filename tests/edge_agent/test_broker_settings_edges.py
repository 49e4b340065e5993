"""`edge_agent.transport.settings`, in-process: every `[broker]` key reaches the connection the
daemon and the doctor's tools open, a `--broker` URL means what it says, and a config whose
recordings the broker could not take is refused naming its file and key."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from edge_agent.config import PASSWORD_ENV, AgentConfig, BrokerConfig, parse_config
from edge_agent.errors import ConfigError
from edge_agent.storage.outbox import OutboundMessage
from edge_agent.transport.settings import broker_from_url, broker_settings, check_against_broker


def _tls_files(tmp_path: Path) -> dict[str, Path]:
    files = {}
    for key in ("ca_file", "cert_file", "key_file"):
        files[key] = tmp_path / f"{key}.pem"
        files[key].write_text("-----BEGIN-----\n")
    return files


def test_every_broker_key_reaches_the_connection(tmp_path: Path) -> None:
    # Each value differs from MqttSettings' default, so a key dropped on the way shows.
    broker = BrokerConfig.checked("test", {
        "hosts": ["a.example:1884", "b.example"], "port": 1885, "keepalive_s": 45,
        "session_expiry_s": 600, "tls": True, **_tls_files(tmp_path), "username": "agent",
        "password": "pw", "max_inflight": 7, "subscribe_timeout_s": 3, "failback_s": 90,
        "protocol": "3.1.1", "max_packet_bytes": 65536,
    })  # fmt: skip
    will = OutboundMessage("t/status", b"offline", retain=True)
    got = broker_settings(broker, "agent-1", subscriptions=("t/cmd",), will=will, environ={})
    assert (got.host, got.port, got.failover) == ("a.example", 1884, (("b.example", 1885),))
    assert (got.client_id, got.clean_start, got.session_expiry_s) == ("agent-1", False, 600)
    assert (got.keepalive_s, got.failback_s, got.max_inflight) == (45, 90, 7)
    assert (got.subscribe_timeout_s, got.subscriptions, got.will) == (3, ("t/cmd",), will)
    assert (got.protocol, got.max_packet_bytes, got.tls) == ("3.1.1", 65536, True)
    files = (got.ca_file, got.cert_file, got.key_file)
    assert files == tuple(str(tmp_path / f"{k}.pem") for k in ("ca_file", "cert_file", "key_file"))
    assert (got.username, got.password) == ("agent", "pw")


def test_without_a_client_id_the_session_is_clean_and_the_id_random() -> None:
    broker = BrokerConfig(session_expiry_s=600)
    first, second = broker_settings(broker, None), broker_settings(broker, "")
    assert (first.clean_start, first.session_expiry_s, first.ca_file) == (True, 0, None)
    assert (second.clean_start, second.session_expiry_s) == (True, 0)
    for settings in (first, second):
        assert settings.client_id.startswith("stetho-")
        assert len(settings.client_id) == len("stetho-") + 12
    assert first.client_id != second.client_id


def test_the_password_from_the_environment_comes_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broker = BrokerConfig(password=SecretStr("from-config"))
    assert broker_settings(broker, "a", environ={PASSWORD_ENV: "given"}).password == "given"
    assert broker_settings(broker, "a", environ={}).password == "from-config"
    monkeypatch.setenv(PASSWORD_ENV, "from-process")  # no environ: the process's own
    assert broker_settings(broker, "a").password == "from-process"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mqtt://h", ("h", 1883, False, None, None)),
        ("mqtts://h", ("h", 8883, True, None, None)),
        ("h.example:1884", ("h.example", 1884, False, None, None)),
        ("mqtts://h:9000", ("h", 9000, True, None, None)),
        ("mqtt://us%3Aer:p%40ss@h", ("h", 1883, False, "us:er", "p@ss")),
        ("mqtt://user@h", ("h", 1883, False, "user", None)),
    ],
)
def test_a_broker_url_means_what_it_says(
    url: str, expected: tuple[str, int, bool, str | None, str | None]
) -> None:
    broker = broker_from_url(url)
    password = broker.password.get_secret_value() if broker.password else None
    assert (broker.host, broker.port, broker.tls, broker.username, password) == expected


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://h", "a URL like mqtt://host:1883 or mqtts://host:8883, not 'http://h'"),
        ("mqtt://", "a URL like mqtt://host:1883 or mqtts://host:8883, not 'mqtt://'"),
        ("mqtt://h:99999", "a port from 1 to 65535 in 'mqtt://h:99999'"),
        ("mqtt://h:x", "a port from 1 to 65535 in 'mqtt://h:x'"),
    ],
)
def test_a_url_that_is_not_a_broker_s_is_refused_naming_the_option(url: str, words: str) -> None:
    with pytest.raises(ConfigError) as refused:
        broker_from_url(url)
    assert (refused.value.file, refused.value.problems) == ("--broker", [words])


def test_options_given_override_the_url_and_those_left_out_do_not() -> None:
    broker = broker_from_url("mqtt://u:p@h", username="other", password=None, keepalive_s=60)
    assert (broker.username, broker.keepalive_s) == ("other", 60)
    assert broker.password is not None and broker.password.get_secret_value() == "p"
    with pytest.raises(ConfigError) as refused:
        broker_from_url("mqtt://h", keepalive_s=1)
    assert refused.value.file == "--broker"
    assert refused.value.problems[0].startswith("keepalive_s")


def _agent(exam_s: float) -> AgentConfig:
    data = {
        "site": "home", "broker": {"max_packet_bytes": 100000}, "exam": {"duration_s": exam_s},
        "devices": [{"id": "steth-1", "kind": "simulated", "resident": "res-1"}],
    }  # fmt: skip
    return parse_config(data, "test")


def test_a_config_the_broker_can_take_is_returned_as_it_is() -> None:
    config = _agent(12)
    assert check_against_broker(config, "agent.toml") is config


def test_a_recording_the_broker_cannot_take_refuses_the_config_by_file_and_key() -> None:
    with pytest.raises(ConfigError) as refused:
        check_against_broker(_agent(15), "/etc/stetho/agent.toml")
    assert refused.value.file == "/etc/stetho/agent.toml"
    assert [p.split(":")[0] for p in refused.value.problems] == ["exam.duration_s"]
