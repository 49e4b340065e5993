"""describe_tls_error on real failures against the deployed broker, and on every mapping."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import pytest

from edge_agent.runtime.local_broker import LocalBroker
from edge_agent.transport.tls_errors import (
    TlsFiles,
    TlsProblem,
    classify_tls_error,
    describe_tls_error,
)
from tests.deploy.tls_broker import TlsBroker

# A minimal MQTT 3.1.1 CONNECT (clean session, empty client id) and its accepting CONNACK.
CONNECT = bytes([0x10, 12, 0, 4]) + b"MQTT" + bytes([4, 2, 0, 60, 0, 0])
CONNACK_ACCEPTED = bytes([0x20, 2, 0, 0])


def handshake_and_connect(host: str, port: int, context: ssl.SSLContext, name: str) -> bytes:
    """TLS-connect, send CONNECT, return the reply; a rejection surfaces as an exception."""
    with (
        socket.create_connection((host, port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=name) as tls,
    ):
        tls.sendall(CONNECT)
        return tls.recv(4)


def failure(host: str, port: int, context: ssl.SSLContext, name: str = "localhost") -> OSError:
    with pytest.raises(OSError) as caught:
        handshake_and_connect(host, port, context, name)
    return caught.value


def context_for(certs: Path, identity: str | None, ca: Path | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca or certs / "ca.crt"))
    if identity:
        context.load_cert_chain(certs / f"{identity}.crt", certs / f"{identity}.key")
    return context


@pytest.mark.broker
def test_the_deployed_broker_accepts_a_valid_agent(tls_broker: TlsBroker, certs: Path) -> None:
    context = context_for(certs, "agent.oakhill.agent")
    reply = handshake_and_connect(tls_broker.host, tls_broker.port, context, "localhost")
    assert reply == CONNACK_ACCEPTED


@pytest.mark.broker
def test_agent_trusting_another_ca(tls_broker: TlsBroker, certs: Path, rogue_certs: Path) -> None:
    ca = rogue_certs / "ca.crt"
    exc = failure(tls_broker.host, tls_broker.port, context_for(certs, None, ca=ca))
    assert classify_tls_error(exc) is TlsProblem.BROKER_CERT_UNTRUSTED
    assert describe_tls_error(exc, TlsFiles(ca_file=ca)).startswith(
        f"the broker's certificate is not signed by the CA in {ca};"
    )


@pytest.mark.broker
@pytest.mark.parametrize("identity", [None, "rogue"])
def test_broker_rejecting_the_agent_certificate_is_explained(
    tls_broker: TlsBroker, certs: Path, rogue_certs: Path, identity: str | None
) -> None:
    context = context_for(certs, None)
    cert = None
    if identity == "rogue":
        cert = rogue_certs / "agent.oakhill.agent.crt"
        context.load_cert_chain(cert, rogue_certs / "agent.oakhill.agent.key")
    exc = failure(tls_broker.host, tls_broker.port, context)
    # TLS 1.3: the client's handshake completes first; the broker's alert, or just its
    # closing the connection, reaches us on the first read, whichever the race gives.
    expected = TlsProblem.CLIENT_CERT_UNTRUSTED if cert else TlsProblem.CLIENT_CERT_REQUIRED
    assert classify_tls_error(exc) in {expected, TlsProblem.CLOSED_DURING_HANDSHAKE}
    message = describe_tls_error(exc, TlsFiles(cert_file=cert), host="hospital.example")
    assert str(cert) in message if cert else "broker.cert_file" in message


@pytest.mark.broker
def test_tls_1_2_without_client_certificate(tls_broker: TlsBroker, certs: Path) -> None:
    context = context_for(certs, None)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    exc = failure(tls_broker.host, tls_broker.port, context)
    assert classify_tls_error(exc) is TlsProblem.HANDSHAKE_REFUSED
    assert "sent no client certificate" in describe_tls_error(exc)


@pytest.mark.broker
def test_broker_name_not_in_its_certificate(tls_broker: TlsBroker, certs: Path) -> None:
    context = context_for(certs, "agent.oakhill.agent")
    exc = failure(tls_broker.host, tls_broker.port, context, name="broker.example")
    assert classify_tls_error(exc) is TlsProblem.BROKER_NAME_MISMATCH
    assert describe_tls_error(exc, host="broker.example").startswith(
        "the broker's certificate is not issued for broker.example"
    )


@pytest.mark.broker
def test_tls_to_a_plain_mqtt_port(broker: LocalBroker, certs: Path) -> None:
    exc = failure(broker.host, broker.port, context_for(certs, "agent.oakhill.agent"))
    assert classify_tls_error(exc) is TlsProblem.CLOSED_DURING_HANDSHAKE
    assert "plain MQTT 1883" in describe_tls_error(exc)


def test_key_of_another_identity(certs: Path) -> None:
    context = ssl.create_default_context()
    cert, key = certs / "agent.oakhill.agent.crt", certs / "agent.riverside.agent.key"
    with pytest.raises(ssl.SSLError) as caught:
        context.load_cert_chain(cert, key)
    assert classify_tls_error(caught.value) is TlsProblem.KEY_MISMATCH
    message = describe_tls_error(caught.value, TlsFiles(cert_file=cert, key_file=key))
    assert message == f"the key in {key} does not belong to the certificate {cert}"


@pytest.mark.parametrize("load", ["ca_is_a_key", "cert_is_not_pem", "missing_ca"])
def test_unusable_files(certs: Path, tmp_path: Path, load: str) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    with pytest.raises(OSError) as caught:
        if load == "ca_is_a_key":
            ssl.create_default_context(cafile=str(certs / "ca.key"))
        elif load == "cert_is_not_pem":
            ssl.create_default_context().load_cert_chain(junk)
        else:
            ssl.create_default_context(cafile=str(tmp_path / "missing.crt"))
    assert classify_tls_error(caught.value) is TlsProblem.BAD_FILE
    assert describe_tls_error(caught.value).startswith("a TLS file cannot be used")


def verification_error(code: int, message: str) -> ssl.SSLCertVerificationError:
    exc = ssl.SSLCertVerificationError(1, f"certificate verify failed: {message}")
    exc.verify_code, exc.verify_message = code, message
    return exc


@pytest.mark.parametrize(
    ("code", "problem", "start"),
    [
        (10, TlsProblem.BROKER_CERT_EXPIRED, "the broker's certificate has expired"),
        (9, TlsProblem.BROKER_CERT_NOT_YET_VALID, "the broker's certificate is not valid yet"),
        (18, TlsProblem.BROKER_CERT_UNTRUSTED, "the broker's certificate is not signed by"),
        (64, TlsProblem.BROKER_NAME_MISMATCH, "the broker's certificate is not issued for"),
        (23, TlsProblem.BROKER_CERT_REJECTED, "the broker's certificate was rejected: revoked"),
    ],
)
def test_verification_codes_map_to_advice(code: int, problem: TlsProblem, start: str) -> None:
    exc = verification_error(code, "revoked" if code == 23 else "x")
    assert classify_tls_error(exc) is problem
    assert describe_tls_error(exc).startswith(start)


def test_non_tls_errors_are_not_classified_but_still_described() -> None:
    exc = ConnectionRefusedError(111, "Connection refused")
    assert classify_tls_error(exc) is None
    assert (
        describe_tls_error(exc)
        == "connection failed: ConnectionRefusedError: [Errno 111] Connection refused"
    )


def test_only_clock_and_mid_handshake_closes_may_clear_by_themselves() -> None:
    transient = {p for p in TlsProblem if p.may_clear_by_itself}
    assert transient == {TlsProblem.BROKER_CERT_NOT_YET_VALID, TlsProblem.CLOSED_DURING_HANDSHAKE}
