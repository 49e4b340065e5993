"""What a configuration error may repeat of the file: never a secret, never a whole table.

The agent's start-up errors go to the journal; a misspelt section holding a password, or a
password typed as a number, must not put the password there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edge_agent.config import parse_config
from edge_agent.errors import ConfigError

SECRET = "s3cret-hunter2"


def problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(data, "agent.toml")
    return info.value.problems


def test_a_misspelt_section_is_named_without_its_values() -> None:
    said = problems({"site": "h", "brokr": {"host": "b", "password": SECRET}})
    assert said == ["brokr: unknown key (misspelt?)"]


def test_a_misspelt_key_is_named_without_its_value() -> None:
    said = problems({"site": "h", "broker": {"pasword": SECRET}})
    assert said == ["broker.pasword: unknown key (misspelt?)"]


def test_a_password_of_the_wrong_type_is_not_repeated() -> None:
    said = problems({"site": "h", "broker": {"password": 12345678}})
    assert len(said) == 1
    assert said[0].startswith("broker.password: expected ")
    assert "12345678" not in said[0]


# ---- what was expected, in words an IT person reads --------------------------------------


def test_pydantics_input_should_be_is_not_glued_to_expected() -> None:
    said = problems({"site": "h", "broker": {"port": "1883"}, "storage": {"quota_mb": 0}})
    assert said == [
        "broker.port: expected a valid integer; found '1883'",
        "storage.quota_mb: expected greater than 0; found 0",
    ]


def test_an_id_that_is_not_a_slug_says_what_an_id_is() -> None:
    assert problems({"site": "Lux Bastogne"}) == [
        "site: expected 1-63 lower-case letters, digits and dashes; found 'Lux Bastogne'"
    ]


def test_a_value_the_sentence_already_shows_is_not_repeated(tmp_path: Path) -> None:
    missing = tmp_path / "ca.crt"
    assert problems({"site": "h", "broker": {"tls": True, "ca_file": str(missing)}}) == [
        f"broker.ca_file: expected a readable file, but {missing} does not exist"
    ]


# ---- TLS files without TLS, a certificate without its key ----------------------------------


def test_tls_files_without_tls_are_refused(tmp_path: Path) -> None:
    # Before: valid, and the agent sent everything in clear with its certificates unused.
    (tmp_path / "ca.crt").write_text("x")
    assert problems({"site": "h", "broker": {"ca_file": str(tmp_path / "ca.crt")}}) == [
        "broker: expected tls = true with ca_file (without it they are unused and the link "
        "to the broker is not encrypted)"
    ]


def test_a_client_certificate_without_its_key_is_refused(tmp_path: Path) -> None:
    # Before: valid; `stetho run` then retried "a TLS file cannot be used ([SSL] PEM lib)".
    (tmp_path / "agent.crt").write_text("x")
    broker = {"tls": True, "cert_file": str(tmp_path / "agent.crt")}
    assert problems({"site": "h", "broker": broker}) == [
        "broker: expected cert_file and key_file together (a client certificate needs its key)"
    ]
