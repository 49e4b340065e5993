"""The doctor's TLS options: refused by their names before anything connects."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.errors import ConfigError
from edge_agent.transport.tls_errors import TlsFiles
from stetho_doctor.options import BrokerChoice


@pytest.fixture
def pem(tmp_path: Path) -> Path:
    (tmp_path / "f.pem").write_text("x")
    (tmp_path / "f.pem").chmod(0o600)
    return tmp_path / "f.pem"


def refusal(choice: BrokerChoice) -> tuple[str, list[str]]:
    with pytest.raises(ConfigError) as refused:
        choice.settings()
    return refused.value.file, refused.value.problems


def test_tls_files_with_a_plain_url_are_refused(pem: Path) -> None:
    # Before: `--broker mqtt://... --ca-file ca.crt` connected in clear, the CA unused.
    choice = BrokerChoice(broker="mqtt://127.0.0.1:1883", tls=TlsFiles(ca_file=pem))
    assert refusal(choice) == (
        "--broker",
        [
            "expected an mqtts:// URL with --ca-file (without it they are unused and the link to "
            "the broker is not encrypted)"
        ],
    )


def test_a_certificate_without_its_key_is_refused(pem: Path) -> None:
    # Before: "a TLS file cannot be used ([SSL] PEM lib ...); check that broker.ca_file ...",
    # retried for ever.
    choice = BrokerChoice(broker="mqtts://h", tls=TlsFiles(ca_file=pem, cert_file=pem))
    assert refusal(choice) == (
        "--cert-file",
        ["expected --cert-file and --key-file together (a client certificate needs its key)"],
    )


def test_a_key_without_its_certificate_is_named_by_the_key(pem: Path) -> None:
    choice = BrokerChoice(broker="mqtts://h", tls=TlsFiles(key_file=pem))
    assert refusal(choice) == (
        "--key-file",
        ["expected --cert-file and --key-file together (a client certificate needs its key)"],
    )


def test_a_missing_file_is_named_by_its_option(pem: Path, tmp_path: Path) -> None:
    # Before: "invalid configuration in --broker: - cert_file: expected a readable file...".
    missing = tmp_path / "nope.crt"
    choice = BrokerChoice(broker="mqtts://h", tls=TlsFiles(cert_file=missing, key_file=pem))
    assert refusal(choice) == ("--cert-file", [f"no such file: {missing}"])


def test_tls_files_with_a_config_file_are_refused(pem: Path, tmp_path: Path) -> None:
    # Before: silently left out; the config's [broker] table was used without them.
    config = tmp_path / "doctor.toml"
    config.write_text('[broker]\nhost = "h"\n')
    choice = BrokerChoice(config=config, tls=TlsFiles(ca_file=pem))
    assert refusal(choice) == (
        "--ca-file",
        [f"goes with --broker: with --config, {config}'s [broker] table names the TLS files"],
    )
