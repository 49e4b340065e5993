"""The agent's own MQTT client (transport.mqtt) against the broker as deployed, over mutual TLS."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from edge_agent.errors import ConnectError
from edge_agent.storage.async_outbox import Outbox
from edge_agent.storage.outbox import OutboundMessage, OutboxStore
from edge_agent.transport.mqtt import MqttConnection, MqttSettings
from edge_agent.transport.publisher import Publisher
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


async def _connect_once(settings: MqttSettings) -> None:
    connection = MqttConnection(settings)
    try:
        await connection.connect()
    finally:
        connection.close()


def test_agent_trusting_another_ca_stops_with_a_non_retryable_error(
    tls_broker: TlsBroker, certs: Path, rogue_certs: Path
) -> None:
    with pytest.raises(ConnectError) as refused:
        asyncio.run(_connect_once(agent_settings(tls_broker, certs, ca=rogue_certs / "ca.crt")))
    assert not refused.value.retryable
    # paho leaks its TLS socket when the handshake fails (only the traceback holds it);
    # release it here rather than as a ResourceWarning at the end of the session.
    assert refused.value.__cause__ is not None
    release_leaked_socket(refused.value.__cause__)


@pytest.mark.parametrize("unusable", ["ca_not_pem", "ca_is_a_key", "key_of_another"])
def test_tls_files_that_cannot_be_used_are_a_refusal_naming_them(
    tls_broker: TlsBroker, certs: Path, tmp_path: Path, unusable: str
) -> None:
    # A CA file in DER or the key named as the CA raised ssl.SSLError out of MqttConnection()
    # (paho's tls_set ran in its constructor): `stetho run`, `stetho hub run` and `stetho
    # alerts` ended in a traceback. The one TLS vocabulary (transport.tls_errors) explains it.
    settings = agent_settings(tls_broker, certs)
    if unusable == "ca_not_pem":
        (tmp_path / "ca.der").write_bytes(b"\x30\x82\x01\x0a not PEM")
        settings = dataclasses.replace(settings, ca_file=str(tmp_path / "ca.der"))
    elif unusable == "ca_is_a_key":
        settings = dataclasses.replace(settings, ca_file=str(certs / "ca.key"))
    else:
        settings = dataclasses.replace(settings, key_file=str(certs / "agent.riverside.agent.key"))

    with pytest.raises(ConnectError) as refused:
        asyncio.run(_connect_once(settings))
    assert not refused.value.retryable
    if unusable == "key_of_another":
        assert str(refused.value) == (
            f"the key in {settings.key_file} does not belong to the certificate "
            f"{settings.cert_file}"
        )
    else:
        assert str(refused.value).startswith("a TLS file cannot be used (")
        assert f"broker.ca_file (the CA in {settings.ca_file})" in str(refused.value)


def test_the_publisher_keeps_running_on_an_unusable_ca_file(
    tls_broker: TlsBroker, certs: Path, tmp_path: Path
) -> None:
    (tmp_path / "ca.der").write_bytes(b"\x30\x82\x01\x0a not PEM")
    settings = dataclasses.replace(
        agent_settings(tls_broker, certs), ca_file=str(tmp_path / "ca.der")
    )

    async def agent() -> str:
        outbox = Outbox(OutboxStore(tmp_path / "o.db", 10**9, min_free_disk_bytes=0))
        publisher = Publisher(settings, outbox)
        task = asyncio.create_task(publisher.run())
        try:
            async with asyncio.timeout(10):
                while publisher.stats.connect_failures == 0:
                    await asyncio.sleep(0.02)
            assert not task.done()  # the daemon's link loop is still there, waiting
            return publisher.stats.last_error
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            outbox.close()

    assert asyncio.run(agent()).startswith("a TLS file cannot be used (")


@pytest.mark.parametrize("identity", ["rogue", "none"])
def test_a_broker_refusing_our_certificate_is_explained(
    tls_broker: TlsBroker, certs: Path, rogue_certs: Path, identity: str
) -> None:
    # TLS 1.3: the broker checks our certificate after the handshake; paho swallows its alert,
    # and the agent (and `stetho alerts`) said only "broker closed the connection before
    # CONNACK: Unspecified error (0x80)", every few seconds, for ever.
    settings = agent_settings(tls_broker, certs)
    if identity == "rogue":  # a certificate another CA signed
        settings = dataclasses.replace(
            settings,
            cert_file=str(rogue_certs / "agent.oakhill.agent.crt"),
            key_file=str(rogue_certs / "agent.oakhill.agent.key"),
        )
    else:
        settings = dataclasses.replace(settings, cert_file=None, key_file=None)
    with pytest.raises(ConnectError) as refused:
        asyncio.run(_connect_once(settings))
    said = str(refused.value)
    assert said.startswith(f"{tls_broker.host} closed the connection during TLS set-up: ")
    assert "the broker's log says which" in said
    if identity == "rogue":
        assert f"it rejected {settings.cert_file} (" in said


def test_plain_mqtt_to_the_tls_port_says_so(tls_broker: TlsBroker, certs: Path) -> None:
    # Before: "broker closed the connection before CONNACK: Unspecified error (0x80)", the
    # same words as for any other drop; `--broker mqtt://host:8883` is an easy slip.
    settings = dataclasses.replace(
        agent_settings(tls_broker, certs), tls=False, ca_file=None, cert_file=None, key_file=None
    )
    with pytest.raises(ConnectError) as refused:
        asyncio.run(_connect_once(settings))
    assert str(refused.value) == (
        "broker closed the connection before CONNACK: Unspecified error (0x80); if "
        f"{tls_broker.port} is its TLS port, connect with TLS (mqtts://, broker.tls = true)"
    )
