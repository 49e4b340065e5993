"""The doctor's commands explain TLS failures with the options the doctor typed."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.deploy.tls_broker import TlsBroker

pytestmark = pytest.mark.broker


def ack(broker: TlsBroker, *tls: str) -> subprocess.CompletedProcess[str]:
    args = ["ack", str(uuid.UUID(int=1)), "--site", "oakhill",
            "--broker", f"mqtts://localhost:{broker.port}", *tls]  # fmt: skip
    return subprocess.run([sys.executable, "-m", "stetho_cli", *args],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip


def test_a_ca_that_did_not_sign_the_broker_names_ca_file(
    tls_broker: TlsBroker, certs: Path, rogue_certs: Path
) -> None:
    # Before: "... point broker.ca_file at it": a key of a file the doctor never wrote.
    rogue_ca = rogue_certs / "ca.crt"
    doctor = ["--cert-file", str(certs / "doctor.alice.crt"),
              "--key-file", str(certs / "doctor.alice.key")]  # fmt: skip
    done = ack(tls_broker, "--ca-file", str(rogue_ca), *doctor)
    assert done.returncode == 1, done.stderr
    assert " ".join(done.stderr.split()) == (
        f"error: the broker's certificate is not signed by the CA in {rogue_ca}; get the "
        "hospital's CA certificate and point --ca-file at it"
    )


def test_no_client_certificate_names_the_options(tls_broker: TlsBroker, certs: Path) -> None:
    # Before: "... it rejected this agent's certificate (broker.cert_file) ...".
    done = ack(tls_broker, "--ca-file", str(certs / "ca.crt"))
    assert done.returncode == 1, done.stderr
    said = " ".join(done.stderr.split())
    assert "it rejected this command's certificate (--cert-file)" in said, said
    assert "agent" not in said and "broker.cert_file" not in said
