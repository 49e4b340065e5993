"""Sending to the FHIR test double over TLS: conditional creates make resends harmless."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from stetho_hub.fhir import (
    FhirConfigError,
    FhirQueue,
    FhirServerSettings,
    SendRejectedError,
    SendRetryError,
    build_bundle,
    bundle_json,
    enqueue_exam,
    run_sender,
)
from stetho_hub.fhir.queue import Backoff
from stetho_hub.fhir.sender import make_client, send_bundle
from tests.stetho_hub.fhir.conftest import TOKEN, server_context
from tests.stetho_hub.fhir.fhir_double import FhirDouble, FhirStore
from tests.stetho_hub.fhir.helpers import decided, exam_variant


def _settings(double: FhirDouble, tls: Path, token: str | None = TOKEN) -> FhirServerSettings:
    return FhirServerSettings(double.base_url, token, ca_file=tls / "ca.crt")


async def _post(settings: FhirServerSettings, payload: bytes) -> None:
    async with make_client(settings) as client:
        await send_bundle(client, settings.base_url, payload)


def _payload(n: int, resident: str = "res-0042", final: bool = False) -> bytes:
    exam = exam_variant(n, resident)
    return bundle_json(build_bundle(decided(exam) if final else exam)).encode()


def _snapshot(store: FhirStore) -> dict[str, int]:
    return {kind: len(items) for kind, items in store.resources.items()}


def test_sending_the_same_exam_twice_creates_nothing_new(
    double: FhirDouble, store: FhirStore, tls_files: Path
) -> None:
    settings = _settings(double, tls_files)
    asyncio.run(_post(settings, _payload(1)))
    first = _snapshot(store)
    assert first == {
        "Patient": 1, "Device": 2, "Media": 3, "Observation": 6,
        "DiagnosticReport": 1, "Provenance": 1,
    }  # fmt: skip
    creates = store.creates
    asyncio.run(_post(settings, _payload(1)))
    assert _snapshot(store) == first
    assert store.creates == creates
    assert store.transactions == 2


def test_a_second_exam_of_the_same_resident_reuses_patient_and_devices(
    double: FhirDouble, store: FhirStore, tls_files: Path
) -> None:
    settings = _settings(double, tls_files)
    asyncio.run(_post(settings, _payload(1)))
    asyncio.run(_post(settings, _payload(2)))
    asyncio.run(_post(settings, _payload(3, resident="res-0099")))
    counts = _snapshot(store)
    assert counts["Patient"] == 2 and counts["Device"] == 2
    assert counts["DiagnosticReport"] == 3
    report = next(iter(store.resources["DiagnosticReport"].values()))
    assert report["subject"]["reference"].startswith("Patient/")


def test_a_doctors_decision_turns_the_sent_resources_final_without_duplicates(
    double: FhirDouble, store: FhirStore, tls_files: Path
) -> None:
    settings = _settings(double, tls_files)
    asyncio.run(_post(settings, _payload(1)))
    before = _snapshot(store)
    asyncio.run(_post(settings, _payload(1, final=True)))
    asyncio.run(_post(settings, _payload(1, final=True)))
    after = _snapshot(store)
    assert after == before | {"Provenance": 2}  # one for the machine record, one for the decision
    assert {o["status"] for o in store.resources["Observation"].values()} == {"final"}
    (report,) = store.resources["DiagnosticReport"].values()
    assert report["status"] == "final" and report["conclusion"].startswith("Seen:")


def test_the_double_rolls_back_a_transaction_with_a_bad_entry(
    double: FhirDouble, store: FhirStore, tls_files: Path
) -> None:
    payload = _payload(1).replace(b'"reference": "urn:uuid:', b'"reference": "urn:uuid:0', 1)
    with pytest.raises(SendRejectedError, match="400"):
        asyncio.run(_post(_settings(double, tls_files), payload))
    assert _snapshot(store) == {} and store.creates == 0


def test_a_wrong_token_is_retried_later_not_dropped(double: FhirDouble, tls_files: Path) -> None:
    with pytest.raises(SendRetryError) as caught:
        asyncio.run(_post(_settings(double, tls_files, token="wrong"), _payload(1)))
    assert caught.value.status == 401


def test_a_client_certificate_authenticates_without_a_token(tls_files: Path) -> None:
    store = FhirStore()
    server = FhirDouble(store, server_context(tls_files, require_client_cert=True), token=None)
    server.start()
    try:
        settings = FhirServerSettings(
            server.base_url,
            None,
            ca_file=tls_files / "ca.crt",
            cert_file=tls_files / "client.crt",
            key_file=tls_files / "client.key",
        )
        asyncio.run(_post(settings, _payload(1)))
        assert store.count("DiagnosticReport") == 1
    finally:
        server.stop()


def test_settings_refuse_plain_http_and_missing_credentials(tmp_path: Path) -> None:
    with pytest.raises(FhirConfigError, match="https"):
        FhirServerSettings("http://127.0.0.1/fhir", TOKEN)
    with pytest.raises(FhirConfigError, match="bearer token or a client certificate"):
        FhirServerSettings("https://127.0.0.1/fhir")
    with pytest.raises(FhirConfigError, match="both"):
        FhirServerSettings("https://127.0.0.1/fhir", cert_file=tmp_path / "c.crt")
    with pytest.raises(FhirConfigError, match="TLS files"):
        FhirServerSettings("https://h/fhir", TOKEN, ca_file=tmp_path / "nope.crt").ssl_context()


@pytest.mark.parametrize("url", ["https://[::1/fhir", "https://fhir .hospital.example/r4"])
def test_settings_refuse_a_base_url_that_names_no_host(url: str) -> None:
    # "https://[::1" (a bracket left out) raised urlsplit's ValueError: `stetho hub run` with
    # it in [fhir] base_url ended in a traceback. A space passed, to fail at every send.
    with pytest.raises(FhirConfigError) as refused:
        FhirServerSettings(url, TOKEN)
    assert str(refused.value) == (
        f"FHIR base URL must be https://host/path (health data), not {url!r}"
    )


def test_the_queue_sends_each_exam_once_and_counts_a_rejection(
    double: FhirDouble, store: FhirStore, tls_files: Path, tmp_path: Path
) -> None:
    queue = FhirQueue(tmp_path / "fhir.sqlite", Backoff(base_s=0.01, max_s=0.05))
    for n in range(3):
        assert enqueue_exam(queue, exam_variant(n))
    assert not enqueue_exam(queue, exam_variant(0))  # same bytes: nothing to do
    queue.enqueue("broken", b'{"resourceType": "Bundle", "type": "batch"}', time.time())
    asyncio.run(run_sender(queue, _settings(double, tls_files), asyncio.Event(), until_empty=True))
    status = queue.status()
    assert (status.sent, status.queued, status.rejected, status.failing) == (3, 0, 1, 1)
    assert status.last_error is not None and "400" in status.last_error
    assert store.count("DiagnosticReport") == 3
    queue.close()
