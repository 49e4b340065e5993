"""Deployment fixtures: development certificates and the hospital broker as deployed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.tls_broker import TlsBroker, make_dev_certs


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """make-dev-certs.sh output for the sites and clinician the committed acl names, plus
    "stranger": a site with a valid certificate that the acl does not list."""
    path = tmp_path_factory.mktemp("certs")
    make_dev_certs(path, "oakhill", "riverside", "stranger")
    return path


@pytest.fixture(scope="session")
def rogue_certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another CA issuing the very same identities: names alone must not get anyone in."""
    path = tmp_path_factory.mktemp("rogue")
    make_dev_certs(path, "oakhill", "riverside")
    return path


@pytest.fixture(scope="session")
def tls_broker(tmp_path_factory: pytest.TempPathFactory, certs: Path) -> Iterator[TlsBroker]:
    """One Mosquitto running deploy/mosquitto/mosquitto.conf and acl, for the session."""
    with TlsBroker(tmp_path_factory.mktemp("mosquitto"), certs) as instance:
        yield instance
