"""The hospital broker as deployed (deploy/mosquitto): mutual TLS and per-site isolation.

One real Mosquitto runs the committed mosquitto.conf and acl (tests/deploy/conftest.py);
the certificates come from make-dev-certs.sh. Sites "oakhill" and "riverside" and clinician
"alice" are the identities the committed acl names.
"""

from __future__ import annotations

import itertools
import ssl
from pathlib import Path

import pytest
from paho.mqtt.reasoncodes import ReasonCode

from edge_agent.transport.tls_errors import (
    TlsFiles,
    TlsProblem,
    classify_tls_error,
    describe_tls_error,
)
from stetho_testkit.mqtt_client import MqttTestClient, Refused
from tests.deploy.tls_broker import TlsBroker

pytestmark = pytest.mark.broker

OAKHILL, RIVERSIDE, DOCTOR = "agent.oakhill.agent", "agent.riverside.agent", "doctor.alice"
A, B = "stetho/v1/oakhill", "stetho/v1/riverside"
_ids = itertools.count()


def peer(
    broker: TlsBroker, identity: str | None, ca: Path | None = None, certs: Path | None = None
) -> MqttTestClient:
    context = broker.client_context(None, ca)
    if identity is not None:
        where = certs or broker.certs
        context.load_cert_chain(where / f"{identity}.crt", where / f"{identity}.key")
    return MqttTestClient(broker.host, broker.port, client_id=f"test-{next(_ids)}", tls=context)


def not_authorized(rc: ReasonCode) -> bool:
    return rc.is_failure and rc.getName() == "Not authorized"


def test_agent_with_mutual_tls_works_end_to_end(tls_broker: TlsBroker) -> None:
    with peer(tls_broker, DOCTOR) as doctor, peer(tls_broker, OAKHILL) as agent:
        doctor.subscribe(
            "stetho/v1/+/+/recordings", "stetho/v1/+/+/recordings/audio", f"{A}/+/status"
        )
        agent.subscribe(f"{A}/+/cmd", f"{A}/acks")
        assert not agent.publish(f"{A}/agent/status", b'{"online":true}', retain=True).is_failure
        assert not agent.publish(f"{A}/steth-1/recordings", b'{"id":"r1"}').is_failure
        assert not agent.publish(f"{A}/steth-1/recordings/audio", b"fLaC\x00").is_failure
        # Live messages only: statuses another test's agent left retained arrive too.
        got = [m for m in doctor.wait_for(lambda m: sum(not x.retain for x in m) == 3)
               if not m.retain]  # fmt: skip
        assert {m.topic for m in got} == {
            f"{A}/agent/status",
            f"{A}/steth-1/recordings",
            f"{A}/steth-1/recordings/audio",
        }
        assert not doctor.publish(f"{A}/agent/cmd", b'{"cmd":"record"}').is_failure
        assert not doctor.publish(f"{A}/acks", b'{"alert":"a1"}').is_failure
        got = agent.wait_for(lambda m: len(m) == 2)
        assert [m.payload for m in got] == [b'{"cmd":"record"}', b'{"alert":"a1"}']
        agent.publish(f"{A}/agent/status", b"", retain=True)  # clear it for later tests


def test_site_cannot_publish_under_another_sites_prefix(tls_broker: TlsBroker) -> None:
    with (
        peer(tls_broker, DOCTOR) as doctor,
        peer(tls_broker, RIVERSIDE) as riverside,
        peer(tls_broker, OAKHILL) as oakhill,
    ):
        doctor.subscribe("stetho/v1/#")
        riverside.subscribe(f"{B}/#")
        for topic in (
            f"{B}/steth-9/recordings",
            f"{B}/steth-9/recordings/audio",
            f"{B}/alerts",
            f"{B}/triage",
            f"{B}/agent/status",
            f"{B}/agent/cmd",
            f"{B}/acks",
        ):
            assert not_authorized(oakhill.publish(topic, b"forged")), topic
        # Nor may an agent forge what only clinicians send, even for its own site.
        assert not_authorized(oakhill.publish(f"{A}/agent/cmd", b"forged"))
        assert not_authorized(oakhill.publish(f"{A}/acks", b"forged"))
        # A doctor command to riverside after the forgeries: when it arrives, they would have.
        assert not doctor.publish(f"{B}/agent/cmd", b"barrier").is_failure
        got = riverside.wait_for(lambda m: any(x.payload == b"barrier" for x in m))
    assert [m.payload for m in got] == [b"barrier"]
    assert b"forged" not in [m.payload for m in doctor.messages]


def test_site_cannot_read_another_sites_recordings(tls_broker: TlsBroker) -> None:
    with (
        peer(tls_broker, DOCTOR) as doctor,
        peer(tls_broker, RIVERSIDE) as riverside,
        peer(tls_broker, OAKHILL) as oakhill,
    ):
        oakhill.subscribe("stetho/v1/#", f"{B}/#", f"{B}/+/recordings", f"{B}/+/recordings/audio")
        for topic in (f"{B}/steth-9/recordings", f"{B}/steth-9/recordings/audio", f"{B}/alerts"):
            assert not riverside.publish(topic, b"private").is_failure
        assert not doctor.publish(f"{B}/acks", b"private ack").is_failure
        # Oakhill's own command arrives after all of riverside's data was routed.
        assert not doctor.publish(f"{A}/agent/cmd", b"barrier").is_failure
        got = oakhill.wait_for(lambda m: any(x.payload == b"barrier" for x in m))
    assert [(m.topic, m.payload) for m in got] == [(f"{A}/agent/cmd", b"barrier")]


def test_doctor_reads_every_sites_alerts_and_writes_acks_and_commands(
    tls_broker: TlsBroker,
) -> None:
    with (
        peer(tls_broker, DOCTOR) as doctor,
        peer(tls_broker, OAKHILL) as oakhill,
        peer(tls_broker, RIVERSIDE) as riverside,
    ):
        doctor.subscribe("stetho/v1/+/alerts", "stetho/v1/+/triage", "stetho/v1/+/+/live")
        riverside.subscribe(f"{B}/+/cmd", f"{B}/acks")
        assert not oakhill.publish(f"{A}/alerts", b"A alert").is_failure
        assert not riverside.publish(f"{B}/alerts", b"B alert").is_failure
        assert not riverside.publish(f"{B}/triage", b"B triage").is_failure
        assert not riverside.publish(f"{B}/steth-2/live", b"B live").is_failure
        got = doctor.wait_for(lambda m: len(m) == 4)
        assert sorted(m.payload for m in got) == [b"A alert", b"B alert", b"B live", b"B triage"]
        assert not doctor.publish(f"{B}/acks", b"ack").is_failure
        assert not doctor.publish(f"{B}/steth-2/cmd", b"cmd").is_failure
        assert sorted(m.payload for m in riverside.wait_for(lambda m: len(m) == 2)) == [
            b"ack",
            b"cmd",
        ]
        # Clinicians send, they do not forge care-home data.
        assert not_authorized(doctor.publish(f"{B}/alerts", b"forged"))


def test_doctor_reads_exams_and_answers_them(tls_broker: TlsBroker) -> None:
    with peer(tls_broker, DOCTOR) as doctor, peer(tls_broker, RIVERSIDE) as riverside:
        doctor.subscribe("stetho/v1/+/exams", "stetho/v1/+/exams/answers")
        riverside.subscribe(f"{B}/exams/answers")
        assert not riverside.publish(f"{B}/exams", b"exam closed").is_failure
        assert [m.payload for m in doctor.wait_for(lambda m: len(m) == 1)] == [b"exam closed"]
        assert not doctor.publish(f"{B}/exams/answers", b"gp visit").is_failure
        assert [m.payload for m in riverside.wait_for(lambda m: len(m) == 1)] == [b"gp visit"]
        assert not_authorized(doctor.publish(f"{B}/exams", b"forged"))  # the nurse's, not ours
        assert not_authorized(riverside.publish(f"{B}/exams/answers", b"forged"))


def test_identity_missing_from_the_acl_can_neither_publish_nor_receive(
    tls_broker: TlsBroker,
) -> None:
    with peer(tls_broker, DOCTOR) as doctor, peer(tls_broker, "agent.stranger.agent") as stranger:
        stranger.subscribe("#", "stetho/v1/#")
        doctor.subscribe("stetho/v1/#")
        assert not_authorized(stranger.publish("stetho/v1/stranger/steth-1/recordings", b"x"))
        assert not_authorized(stranger.publish(f"{A}/alerts", b"x"))
        assert not doctor.publish(f"{A}/agent/cmd", b"cmd").is_failure
        assert not doctor.publish("stetho/v1/stranger/acks", b"ack").is_failure
        # The doctor's own acks subscription proves the ack was routed before we look.
        doctor.wait_for(lambda m: any(x.payload == b"ack" for x in m))
    assert stranger.messages == []
    assert b"x" not in [m.payload for m in doctor.messages]


def test_client_without_certificate_is_refused(tls_broker: TlsBroker) -> None:
    with pytest.raises(Refused) as refused:
        peer(tls_broker, None).connect()
    cause = refused.value.cause
    if isinstance(cause, ssl.SSLError):  # TLS 1.2: the handshake itself fails
        refusals = {"SSLV3_ALERT_HANDSHAKE_FAILURE", "TLSV13_ALERT_CERTIFICATE_REQUIRED"}
        assert cause.reason in refusals
    else:
        # TLS 1.3: the client's side of the handshake completes, then the broker's
        # certificate_required alert (RFC 8446, 4.4.2.4) closes the link before any CONNACK.
        assert cause == "no accepted CONNACK (reason: None)"
    # The same broker takes a client with a certificate at once: the refusal was about the
    # missing certificate, not a broker that was down.
    with peer(tls_broker, DOCTOR) as doctor:
        assert doctor.messages == []


def test_certificate_from_another_ca_is_refused_even_with_a_valid_name(
    tls_broker: TlsBroker, rogue_certs: Path
) -> None:
    with pytest.raises(Refused):
        peer(tls_broker, OAKHILL, certs=rogue_certs).connect()


def test_wrong_ca_on_the_agent_gives_the_operator_a_clear_error(
    tls_broker: TlsBroker, rogue_certs: Path
) -> None:
    rogue_ca = rogue_certs / "ca.crt"
    with pytest.raises(Refused) as refused:
        peer(tls_broker, OAKHILL, ca=rogue_ca).connect()
    cause = refused.value.cause
    assert isinstance(cause, ssl.SSLCertVerificationError)
    assert classify_tls_error(cause) is TlsProblem.BROKER_CERT_UNTRUSTED
    message = describe_tls_error(cause, TlsFiles(ca_file=rogue_ca), host="127.0.0.1")
    assert message.startswith(f"the broker's certificate is not signed by the CA in {rogue_ca}")
