"""Fixtures: the FHIR test double (TLS files from tests/stetho_hub/conftest.py), a fresh queue."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stetho_hub.fhir.fhir_double import FhirDouble, FhirStore

TOKEN = "test-token-0123456789"


def server_context(tls: Path, require_client_cert: bool = False) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tls / "server.crt", tls / "server.key")
    if require_client_cert:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(tls / "ca.crt")
    return ctx


@pytest.fixture
def store() -> FhirStore:
    return FhirStore()


@pytest.fixture
def double(store: FhirStore, tls_files: Path) -> Iterator[FhirDouble]:
    server = FhirDouble(store, server_context(tls_files), token=TOKEN)
    server.start()
    try:
        yield server
    finally:
        server.stop()
