"""The sender's rules one by one, against a scripted HTTPS server on loopback.

Nothing lost: a 5xx, a timeout or an unreachable server keeps the Bundle queued and retried
through the queue's one backoff policy; a refusal (another 4xx, a redirect) is kept and told
with the server's words; a Bundle is marked sent only after a 2xx, and sent once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from stetho_hub.fhir import (
    FhirConfigError,
    FhirQueue,
    FhirServerSettings,
    SendRejectedError,
    SendRetryError,
    run_sender,
)
from stetho_hub.fhir.queue import Backoff, QueueStatus
from stetho_hub.fhir.sender import FHIR_JSON, classify, make_client, send_bundle, send_due
from tests.stetho_hub.fhir.conftest import TOKEN, server_context
from tests.stetho_hub.fhir.helpers import import_refused
from tests.stetho_hub.fhir.scripted import Answer, Scripted

OUTCOME = b'{"resourceType": "OperationOutcome", "issue": [{"diagnostics": "bad code"}]}'


@dataclasses.dataclass(frozen=True)
class CountingBackoff(Backoff):
    """The policy's answers, each call's attempt count kept; no wait, so tests stay fast."""

    calls: list[int] = dataclasses.field(default_factory=list)
    wait_s: float = 0.0

    def delay(self, attempts: int, rng: random.Random | None = None) -> float:
        self.calls.append(attempts)
        return self.wait_s


@pytest.fixture
def scripted(tls_files: Path) -> Iterator[Scripted]:
    server = Scripted(server_context(tls_files), [Answer(200)])
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _settings(server: Scripted, tls: Path, **kw: object) -> FhirServerSettings:
    return FhirServerSettings(server.base_url, TOKEN, ca_file=tls / "ca.crt", **kw)  # type: ignore[arg-type]


async def _post(settings: FhirServerSettings, payload: bytes) -> None:
    async with make_client(settings) as client:
        await send_bundle(client, settings.base_url, payload)


def _said(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "stetho_hub.fhir.sender"]


def _until_empty(queue: FhirQueue, server: Scripted, tls: Path) -> None:
    asyncio.run(run_sender(queue, _settings(server, tls), asyncio.Event(), until_empty=True))


async def _send_one(queue: FhirQueue, settings: FhirServerSettings) -> tuple[str, str | None]:
    async with make_client(settings) as client:
        item, failed = await send_due(queue, client, settings.base_url)
    assert item is not None
    return item.exam_id, None if failed is None else str(failed)


@pytest.mark.parametrize("status", [200, 201, 299])
def test_a_2xx_is_taken(status: int) -> None:
    classify(status, b"")


@pytest.mark.parametrize("status", [500, 501, 503, 599, 401, 403, 404, 408, 409, 423, 429])
def test_a_5xx_and_the_4xx_that_may_pass_are_retried_with_the_servers_words(status: int) -> None:
    with pytest.raises(SendRetryError) as caught:
        classify(status, b"busy")
    assert str(caught.value) == f"FHIR server answered {status}: busy"
    assert caught.value.status == status


@pytest.mark.parametrize("status", [199, 300, 307, 400, 405, 410, 412, 422, 499])
def test_any_other_answer_is_a_refusal_told_with_the_servers_words(status: int) -> None:
    with pytest.raises(SendRejectedError) as caught:
        classify(status, OUTCOME)
    assert str(caught.value) == f"FHIR server answered {status}: {OUTCOME.decode()}"
    assert caught.value.status == status


def test_the_words_told_are_the_first_300_bytes_even_when_they_are_not_utf8() -> None:
    body = b"\xff" + b"x" * 400
    with pytest.raises(SendRejectedError) as caught:
        classify(422, body)
    assert str(caught.value) == "FHIR server answered 422: \ufffd" + "x" * 299


@pytest.mark.parametrize("url", ["https://127.0.0.1:1/fhir", "https://fhir.example"])
def test_settings_take_any_https_host_and_port(url: str) -> None:
    assert FhirServerSettings(url, TOKEN).base_url == url


def test_settings_refuse_port_zero_and_half_a_certificate_in_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(FhirConfigError, match="https://host/path"):
        FhirServerSettings("https://127.0.0.1:0/fhir", TOKEN)
    with pytest.raises(FhirConfigError) as refused:
        FhirServerSettings("https://h/fhir", key_file=tmp_path / "k.key")
    assert str(refused.value) == "give both the client certificate and its key, or neither"
    with pytest.raises(FhirConfigError) as refused:
        FhirServerSettings("https://h/fhir")
    assert str(refused.value) == "give a bearer token or a client certificate for the server"


def test_without_a_ca_file_the_systems_authorities_are_trusted() -> None:
    ctx = FhirServerSettings("https://h/fhir", TOKEN).ssl_context()
    assert ctx.cert_store_stats()["x509_ca"] > 0


def test_a_transaction_is_posted_to_the_base_with_fhir_json_and_the_token(
    scripted: Scripted, tls_files: Path
) -> None:
    settings = FhirServerSettings(
        scripted.base_url + "/", TOKEN, ca_file=tls_files / "ca.crt"
    )  # a trailing slash as an operator may type it
    asyncio.run(_post(settings, b'{"resourceType": "Bundle"}'))
    (request,) = scripted.requests
    assert (request.path, request.body) == ("/fhir/", b'{"resourceType": "Bundle"}')
    assert request.headers["accept"] == FHIR_JSON
    assert request.headers["content-type"] == FHIR_JSON
    assert request.headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize(("typed", "path"), [("/r4X", "/r4X/"), ("/r4X//", "/r4X/"), ("", "/")])
def test_the_transaction_goes_to_the_base_whatever_its_trailing_slashes(
    scripted: Scripted, tls_files: Path, typed: str, path: str
) -> None:
    base = f"https://127.0.0.1:{scripted.port}{typed}"
    asyncio.run(_post(FhirServerSettings(base, TOKEN, ca_file=tls_files / "ca.crt"), b"{}"))
    assert [r.path for r in scripted.requests] == [path]


def test_a_redirect_is_a_refusal_told_not_followed(scripted: Scripted, tls_files: Path) -> None:
    # Following it would send health data where the operator did not say; httpx turns a
    # followed 307 into a second POST, a 302 into a GET.
    scripted.script = [Answer(307, b"moved", (("Location", scripted.base_url + "/other"),))]
    with pytest.raises(SendRejectedError) as caught:
        asyncio.run(_post(_settings(scripted, tls_files), b"{}"))
    assert (str(caught.value), caught.value.status) == ("FHIR server answered 307: moved", 307)
    assert len(scripted.requests) == 1


def test_a_server_slower_than_the_timeout_is_retried_later(
    scripted: Scripted, tls_files: Path
) -> None:
    # The timeout covers the TLS handshake too: 0.3 s was once too short for it with two test
    # workers on two cores (a ConnectTimeout), so 1.5 s, and the answer 3 s late.
    scripted.script = [Answer(200, delay_s=3.0)]
    with pytest.raises(SendRetryError) as caught:  # not the 200 that comes after 3 s
        asyncio.run(_post(_settings(scripted, tls_files, timeout_s=1.5), b"{}"))
    assert str(caught.value).startswith("cannot reach the FHIR server: ReadTimeout")
    assert caught.value.status is None


def test_a_server_that_is_not_there_is_retried_later(tls_files: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = FhirServerSettings(f"https://127.0.0.1:{port}/fhir", TOKEN)
    with pytest.raises(SendRetryError) as caught:
        asyncio.run(_post(settings, b"{}"))
    assert str(caught.value).startswith("cannot reach the FHIR server: ConnectError: ")


def test_a_5xx_keeps_the_bundle_queued_says_why_and_a_2xx_marks_it_sent(
    scripted: Scripted, tls_files: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    scripted.script = [Answer(503, b"busy"), Answer(200)]
    queue = FhirQueue(tmp_path / "fhir.sqlite", CountingBackoff())
    queue.enqueue("exam-1", b"{}", time.time())
    settings = _settings(scripted, tls_files)
    caplog.set_level(logging.INFO, logger="stetho_hub.fhir.sender")
    before = time.time()
    assert asyncio.run(_send_one(queue, settings)) == ("exam-1", "FHIR server answered 503: busy")
    status = queue.status()
    assert (status.queued, status.failing, status.last_error) == (
        1, 1, "FHIR server answered 503: busy",
    )  # fmt: skip
    assert status.next_attempt_at is not None and before <= status.next_attempt_at <= time.time()
    before = time.time()
    assert asyncio.run(_send_one(queue, settings)) == ("exam-1", None)
    assert queue.status() == QueueStatus(0, 1, 0, 0, None, None)
    with sqlite3.connect(tmp_path / "fhir.sqlite") as db:
        (sent_at,) = db.execute("SELECT sent_at FROM fhir_outbox").fetchone()
    assert before <= sent_at <= time.time()  # when the server took it
    assert _said(caplog) == [
        "event=fhir_send_failed exam=exam-1 attempt=1 retry=True status=503",
        "event=fhir_sent exam=exam-1",
    ]
    queue.close()


def test_a_refusal_is_kept_and_told_and_nothing_else_is_held_up(
    scripted: Scripted, tls_files: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    scripted.script = [Answer(422, OUTCOME), Answer(200)]
    queue = FhirQueue(tmp_path / "fhir.sqlite", CountingBackoff())
    queue.enqueue("refused", b"1", time.time())
    queue.enqueue("fine", b"2", time.time())
    caplog.set_level(logging.INFO, logger="stetho_hub.fhir.sender")
    _until_empty(queue, scripted, tls_files)
    told = f"FHIR server answered 422: {OUTCOME.decode()}"
    assert queue.status() == QueueStatus(0, 1, 1, 1, told, None)
    assert scripted.bodies() == [b"1", b"2"]
    assert _said(caplog) == [
        "event=fhir_send_failed exam=refused attempt=1 retry=False status=422",
        "event=fhir_sent exam=fine",
    ]
    queue.close()


def test_failures_in_a_row_are_counted_for_the_backoff_and_a_success_starts_again(
    scripted: Scripted, tls_files: Path, tmp_path: Path
) -> None:
    scripted.script = [Answer(503), Answer(503), Answer(200), Answer(503), Answer(200)]
    backoff = CountingBackoff()
    queue = FhirQueue(tmp_path / "fhir.sqlite", backoff)
    queue.enqueue("e1", b"1", time.time())
    queue.enqueue("e2", b"2", time.time())
    started = time.monotonic()
    _until_empty(queue, scripted, tls_files)
    # The policy said 0 s: five tries, each with its TLS handshake, and the 10 ms floor alone.
    assert time.monotonic() - started < 3.0
    assert scripted.bodies() == [b"1", b"2", b"1", b"2", b"2"]
    # Queue (each Bundle's attempts) and sender (failures in a row) ask the same policy, in turn.
    assert backoff.calls == [1, 1, 1, 2, 2, 1]
    assert queue.status() == QueueStatus(0, 2, 0, 0, None, None)
    queue.close()


def test_the_sender_waits_what_the_policy_says_after_a_failure(
    scripted: Scripted, tls_files: Path, tmp_path: Path
) -> None:
    scripted.script = [Answer(503), Answer(200)]
    queue = FhirQueue(tmp_path / "fhir.sqlite", CountingBackoff(wait_s=0.3))
    queue.enqueue("e1", b"1", time.time())
    _until_empty(queue, scripted, tls_files)
    first, second = scripted.requests
    assert 0.3 <= second.at - first.at < 2.0
    assert queue.status().sent == 1
    queue.close()


def test_refusals_do_not_hold_back_the_bundles_behind_them(
    scripted: Scripted, tls_files: Path, tmp_path: Path
) -> None:
    # Before: each refusal counted as a failure of the link, so three refused Bundles made the
    # sender wait its backoff three times (here 0.5 s each) before the good one, with the
    # server up all along. A refusal is kept and told; the next Bundle goes at once.
    scripted.script = [Answer(422), Answer(400), Answer(412), Answer(200), Answer(503), Answer(200)]
    backoff = CountingBackoff(wait_s=0.5)
    queue = FhirQueue(tmp_path / "fhir.sqlite", backoff)
    for n in range(5):
        queue.enqueue(f"e{n}", str(n).encode(), time.time())
    _until_empty(queue, scripted, tls_files)
    first, _, _, good, failed, again = scripted.requests
    assert good.at - first.at < 0.45  # three refusals, no backoff after any
    assert again.at - failed.at >= 0.5  # a failure to retry still waits the policy
    assert backoff.calls == [1, 1]  # the failed Bundle's next try, the sender's one wait
    status = queue.status()
    assert (status.sent, status.rejected) == (2, 3)
    queue.close()


def test_a_bundle_due_later_is_waited_for_then_sent(
    scripted: Scripted, tls_files: Path, tmp_path: Path
) -> None:
    queue = FhirQueue(tmp_path / "fhir.sqlite")
    queue.enqueue("e1", b"1", time.time() + 0.2)
    started = time.monotonic()
    _until_empty(queue, scripted, tls_files)
    (request,) = scripted.requests
    assert 0.2 <= request.at - started < 0.9  # its time, not the 1 s idle poll
    assert queue.status().sent == 1
    queue.close()


def test_by_default_the_sender_polls_each_second_and_runs_until_stopped(
    scripted: Scripted, tls_files: Path, tmp_path: Path
) -> None:
    queue = FhirQueue(tmp_path / "fhir.sqlite")

    async def scenario() -> float:
        stop = asyncio.Event()
        task = asyncio.create_task(run_sender(queue, _settings(scripted, tls_files), stop))
        await asyncio.sleep(0.1)  # the sender found nothing and waits its idle second
        queue.enqueue("e1", b"1", time.time())
        started = time.monotonic()
        while not scripted.requests and time.monotonic() - started < 3.0:
            await asyncio.sleep(0.02)
        assert not task.done()  # an empty queue does not end it
        stop.set()
        await asyncio.wait_for(task, 0.5)  # a stop ends the idle wait at once
        return scripted.requests[0].at - started

    assert asyncio.run(scenario()) < 1.6  # 2 s if the idle wait were longer
    queue.close()


def test_an_answer_that_cannot_be_read_is_retried_not_the_end_of_sending(
    scripted: Scripted, tls_files: Path, tmp_path: Path
) -> None:
    # httpx's DecodingError is no TransportError: it ended run_sender, and with it every
    # export until the hub restarted (`stetho_hub.fhir send`: a traceback).
    gzip_that_is_not = Answer(200, b"not gzip", (("Content-Encoding", "gzip"),))
    scripted.script = [gzip_that_is_not, gzip_that_is_not, Answer(200)]
    queue = FhirQueue(tmp_path / "fhir.sqlite", CountingBackoff())
    queue.enqueue("e1", b"1", time.time())
    with pytest.raises(SendRetryError) as caught:
        asyncio.run(_post(_settings(scripted, tls_files), b"1"))
    assert str(caught.value).startswith("cannot read the FHIR server's answer: DecodingError: ")
    assert caught.value.status is None
    _until_empty(queue, scripted, tls_files)
    assert scripted.bodies() == [b"1", b"1", b"1"]  # resent: its conditional creates match
    assert queue.status().sent == 1
    queue.close()


def test_without_httpx_the_sender_says_in_one_sentence_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # httpx absent: the import itself says how to get it.
    refused = import_refused(monkeypatch, "stetho_hub.fhir.sender", "httpx")
    assert str(refused) == (
        "stetho_hub.fhir needs the 'hub' extra (httpx is missing): pip install 'stetho-edge[hub]'"
    )
    assert refused.name == "httpx"  # what the import system says is missing, kept
