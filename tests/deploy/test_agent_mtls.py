"""The agent's own MQTT client (transport.mqtt) against the broker as deployed, over mutual TLS."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from edge_agent.errors import ConnectError
from edge_agent.storage.outbox import OutboundMessage
from edge_agent.transport.mqtt import MqttConnection, MqttSettings
from stetho_testkit.mqtt_client import MqttTestClient, release_leaked_socket
from tests.deploy.tls_broker import TlsBroker

pytestmark = pytest.mark.broker

A = "stetho/v1/oakhill"


def agent_settings(broker: TlsBroker, certs: Path, ca: Path | None = None) -> MqttSettings:
    return MqttSettings(
        host=broker.host,
        port=broker.port,
        client_id="stetho-oakhill-agent-mtls-test",
        clean_start=True,
        session_expiry_s=0,
        tls=True,
        ca_file=str(ca or certs / "ca.crt"),
        cert_file=str(certs / "agent.oakhill.agent.crt"),
        key_file=str(certs / "agent.oakhill.agent.key"),
        subscriptions=(f"{A}/+/cmd", f"{A}/acks"),
    )


def test_agent_publishes_and_receives_commands_over_mutual_tls(
    tls_broker: TlsBroker, certs: Path
) -> None:
    context = tls_broker.client_context("doctor.alice")
    with MqttTestClient(
        tls_broker.host, tls_broker.port, client_id="doctor-mtls-test", tls=context
    ) as doctor:
        doctor.subscribe(f"{A}/+/recordings")

        async def agent() -> bytes:
            connection = MqttConnection(agent_settings(tls_broker, certs))
            await connection.connect()
            try:
                await connection.publish(OutboundMessage(f"{A}/steth-1/recordings", b'{"id":"r9"}'))
                await asyncio.to_thread(doctor.wait_for, lambda m: len(m) == 1)
                await asyncio.to_thread(doctor.publish, f"{A}/agent/cmd", b'{"cmd":"record"}')
                received = await asyncio.wait_for(connection.messages.get(), 10)
                return received.payload
            finally:
                await connection.disconnect()

        assert asyncio.run(agent()) == b'{"cmd":"record"}'
        assert doctor.messages[0].payload == b'{"id":"r9"}'


def test_agent_trusting_another_ca_stops_with_a_non_retryable_error(
    tls_broker: TlsBroker, certs: Path, rogue_certs: Path
) -> None:
    async def agent() -> None:
        connection = MqttConnection(agent_settings(tls_broker, certs, ca=rogue_certs / "ca.crt"))
        try:
            await connection.connect()
        finally:
            connection.close()

    with pytest.raises(ConnectError) as refused:
        asyncio.run(agent())
    assert not refused.value.retryable
    # paho leaks its TLS socket when the handshake fails (only the traceback holds it);
    # release it here rather than as a ResourceWarning at the end of the session.
    assert refused.value.__cause__ is not None
    release_leaked_socket(refused.value.__cause__)
