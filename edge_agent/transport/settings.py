"""The one way to turn a broker configuration into connection settings.

The daemon and every doctor's tool build their `MqttSettings` here, so a password file, TLS files
or a keep-alive set in `[broker]` mean the same thing to all of them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from pydantic import SecretStr

from edge_agent.config import AgentConfig, BrokerConfig
from edge_agent.errors import ConfigError
from edge_agent.storage.outbox import OutboundMessage
from edge_agent.transport.capture_limit import config_errors

if TYPE_CHECKING:  # imported where it is built: `stetho status` and `config check` need no paho
    from edge_agent.transport.mqtt import MqttSettings

__all__ = ["broker_from_url", "broker_settings", "check_against_broker"]


def broker_settings(
    broker: BrokerConfig,
    client_id: str | None,
    *,
    subscriptions: tuple[str, ...] = (),
    will: OutboundMessage | None = None,
    environ: Mapping[str, str] | None = None,
) -> MqttSettings:
    """Settings for `broker`. Without a client id, the session is clean and the id random."""
    from edge_agent.transport.mqtt import MqttSettings

    persistent = bool(client_id)
    (host, port), *failover = broker.endpoints()
    return MqttSettings(
        host=host,
        port=port,
        failover=tuple(failover),
        failback_s=broker.failback_s,
        client_id=client_id or f"stetho-{uuid.uuid4().hex[:12]}",
        keepalive_s=broker.keepalive_s,
        session_expiry_s=broker.session_expiry_s if persistent else 0,
        clean_start=not persistent,
        tls=broker.tls,
        ca_file=_path(broker.ca_file),
        cert_file=_path(broker.cert_file),
        key_file=_path(broker.key_file),
        username=broker.username,
        password=broker.secret(os.environ if environ is None else environ),
        will=will,
        max_inflight=broker.max_inflight,
        subscribe_timeout_s=broker.subscribe_timeout_s,
        subscriptions=subscriptions,
        protocol=broker.protocol,
        max_packet_bytes=broker.max_packet_bytes,
    )


def check_against_broker(config: AgentConfig, source: str) -> AgentConfig:
    """`config`, once what it asks of the broker fits what `[broker]` says the broker takes:
    a monitoring duration whose recording could exceed `broker.max_packet_bytes` is a config
    error naming `source` and the key (recordings are not split, docs/mqtt.md §4)."""
    errors = config_errors(config)
    if errors:
        raise ConfigError(source, errors)
    return config


def broker_from_url(url: str, **overrides: object) -> BrokerConfig:
    """`mqtt://[user[:password]@]host[:1883]` or `mqtts://...:8883`, plus `[broker]` keys.

    A bare `host[:port]` means plain `mqtt://`, as people type it.
    """
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ConfigError(
            "--broker", [f"a URL like mqtt://host:1883 or mqtts://host:8883, not {url!r}"]
        )
    secure = parts.scheme == "mqtts"
    try:
        port = parts.port or (8883 if secure else 1883)
    except ValueError as exc:
        raise ConfigError("--broker", [f"a port from 1 to 65535 in {url!r}"]) from exc
    values: dict[str, object] = {"host": parts.hostname, "port": port, "tls": secure}
    if parts.username:
        values["username"] = unquote(parts.username)
    if parts.password:
        values["password"] = SecretStr(unquote(parts.password))
    values.update({k: v for k, v in overrides.items() if v is not None})
    return BrokerConfig.checked("--broker", values)


def _path(value: object) -> str | None:
    return None if value is None else str(value)
