"""The committed broker files and the certificate script, checked without a broker."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path

import pytest

from tests.deploy.tls_broker import DEPLOY

TOPIC_TREE = {
    "stetho/v1/{site}/{agent}/status",
    "stetho/v1/{site}/{device}/recordings",
    "stetho/v1/{site}/{device}/recordings/audio",
    "stetho/v1/{site}/triage",
    "stetho/v1/{site}/alerts",
    "stetho/v1/{site}/acks",
    "stetho/v1/{site}/{device}/live",
    "stetho/v1/{site}/{device}/cmd",
    "stetho/v1/{site}/exams",
    "stetho/v1/{site}/exams/answers",
    "stetho/v1/{site}/receipts",
}


def make_acl(*sites: str, doctors: str = "alice") -> str:
    return subprocess.run(
        [str(DEPLOY / "make-acl.sh"), *sites],
        env={"PATH": "/usr/bin:/bin", "DOCTORS": doctors},
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_committed_acl_is_what_the_generator_makes() -> None:
    assert (DEPLOY / "acl").read_text() == make_acl("oakhill", "riverside")


def test_every_acl_topic_is_in_the_topic_tree() -> None:
    rules = re.findall(r"^topic (?:read|write|readwrite) (\S+)$", make_acl("s"), re.MULTILINE)
    as_tree = {re.sub(r"^stetho/v1/(s|\+)", "stetho/v1/{site}", r) for r in rules}
    as_tree = {t.replace("/+/", "/{device}/") for t in as_tree}
    allowed = TOPIC_TREE | {"stetho/v1/{site}/{device}/status"}  # device status too
    assert as_tree <= allowed
    assert len(rules) == 11 + 10 + 11  # an agent, a clinician, a hub


def test_agent_of_another_agent_id_gets_its_own_user_block() -> None:
    acl = make_acl("oakhill:pi-2")
    assert "user agent.oakhill.pi-2\n" in acl
    assert "stetho/v1/oakhill/" in acl and "riverside" not in acl


@pytest.mark.parametrize("bad", ["Oak", "oak.hill", "+", "#", "a/b", "oakhill:pi/2", ""])
def test_generators_refuse_names_that_are_not_slugs(bad: str, tmp_path: Path) -> None:
    for script, args in (("make-acl.sh", [bad]), ("make-dev-certs.sh", [str(tmp_path), bad])):
        result = subprocess.run([str(DEPLOY / script), *args], capture_output=True, text=True)
        assert result.returncode == 2, (script, bad)


def test_dev_certificates_carry_the_identities_and_private_keys_stay_private(
    certs: Path,
) -> None:
    def subject(name: str) -> str:
        return subprocess.run(
            [
                "openssl",
                "x509",
                "-in",
                str(certs / f"{name}.crt"),
                "-noout",
                "-subject",
                "-ext",
                "subjectAltName,extendedKeyUsage",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    assert "CN = agent.oakhill.agent" in subject("agent.oakhill.agent")
    assert "TLS Web Client Authentication" in subject("agent.oakhill.agent")
    assert "CN = doctor.alice" in subject("doctor.alice")
    server = subject("server")
    assert "DNS:localhost" in server and "IP Address:127.0.0.1" in server
    assert "TLS Web Server Authentication" in server
    for key in certs.glob("*.key"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
    verify = subprocess.run(
        ["openssl", "verify", "-CAfile", str(certs / "ca.crt"), *map(str, certs.glob("*.crt"))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_rerunning_the_script_keeps_the_ca_so_old_certificates_stay_valid(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "DOCTORS": "alice"}
    script = str(DEPLOY / "make-dev-certs.sh")
    subprocess.run([script, str(tmp_path), "oakhill"], env=env, check=True, capture_output=True)
    ca_before = (tmp_path / "ca.crt").read_bytes()
    subprocess.run([script, str(tmp_path), "riverside"], env=env, check=True, capture_output=True)
    assert (tmp_path / "ca.crt").read_bytes() == ca_before
    verify = subprocess.run(
        [
            "openssl",
            "verify",
            "-CAfile",
            str(tmp_path / "ca.crt"),
            str(tmp_path / "agent.oakhill.agent.crt"),
            str(tmp_path / "agent.riverside.agent.crt"),
        ],
        capture_output=True,
        check=False,
    )
    assert verify.returncode == 0
