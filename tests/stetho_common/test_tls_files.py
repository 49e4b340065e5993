"""One rule for TLS files, said in the config file's words and in the doctor's options'."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.config import BrokerConfig
from edge_agent.errors import ConfigError
from edge_agent.transport.tls_errors import TlsFiles
from stetho_common.tls_files import CONFIG_NAMES, OPTION_NAMES, tls_files_problem
from stetho_doctor.options import BrokerChoice

CA = Path("ca.crt")


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({}, None),
        ({"ca_file": CA}, "tls = true with ca_file"),
        ({"ca_file": CA, "cert_file": CA, "key_file": CA}, "tls = true with ca_file, cert_file, "),
        ({"cert_file": CA}, "tls = true with cert_file"),
    ],
)
def test_files_without_tls(files: dict[str, Path], expected: str | None) -> None:
    full = {"ca_file": None, "cert_file": None, "key_file": None, **files}
    problem = tls_files_problem(CONFIG_NAMES, tls=False, **full)
    assert problem is None if expected is None else (problem or "").startswith(expected)


@pytest.mark.parametrize(
    ("cert", "key", "refused"),
    [(None, None, False), (CA, CA, False), (CA, None, True), (None, CA, True)],
)
def test_a_certificate_needs_its_key(cert: Path | None, key: Path | None, refused: bool) -> None:
    problem = tls_files_problem(OPTION_NAMES, tls=True, ca_file=CA, cert_file=cert, key_file=key)
    expected = "--cert-file and --key-file together (a client certificate needs its key)"
    assert problem == (expected if refused else None)


def test_the_config_and_the_options_say_the_same_rule(tmp_path: Path) -> None:
    # Before: two rules written apart, in two wordings ("give --key-file with it: ...").
    pem = tmp_path / "agent.pem"
    pem.write_text("x")
    pem.chmod(0o600)
    with pytest.raises(ConfigError) as in_file:
        BrokerConfig.checked("agent.toml", {"host": "h", "tls": True, "cert_file": str(pem)})
    with pytest.raises(ConfigError) as in_options:
        BrokerChoice(broker="mqtts://h", tls=TlsFiles(cert_file=pem)).settings()
    words = {"cert_file": "--cert-file", "key_file": "--key-file"}
    said = in_file.value.problems[0].partition(": ")[2]  # after "(top level): "
    for key, option in words.items():
        said = said.replace(key, option)
    assert in_options.value.problems == [said]
