"""The thin async shell: takes due Bundles from the queue and POSTs them to the FHIR server.

One transaction at a time to `[base]` (FHIR R4 http.html#transaction), over HTTPS with
either a bearer token or a client certificate. SQLite calls go to a worker thread so the
hub's event loop never waits on the disk.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import ssl
import time
from pathlib import Path
from urllib.parse import urlsplit

from stetho_common.waits import within
from stetho_hub.fhir.errors import (
    FhirConfigError,
    SendRejectedError,
    SendRetryError,
    hub_extra_missing,
)
from stetho_hub.fhir.queue import FhirQueue, Pending

try:  # the `hub` extra: absent on a Pi
    import httpx
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the installation
    raise hub_extra_missing(exc) from exc

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"
# Statuses that can pass by themselves (RFC 9110: 408 timeout, 429 slow down; 401/403 when
# a token is being rotated); every other 4xx is the Bundle's fault and would repeat.
_RETRYABLE_4XX = frozenset({401, 403, 404, 408, 409, 423, 429})


def _https_host(url: str) -> bool:
    """True for https://host[:port][/path] without spaces; False, not urlsplit's ValueError,
    for an unclosed IPv6 bracket or a port that is not one."""
    if any(c.isspace() for c in url):
        return False
    try:
        parts = urlsplit(url)
        return parts.scheme == "https" and bool(parts.hostname) and parts.port != 0
    except ValueError:
        return False


@dataclasses.dataclass(frozen=True)
class FhirServerSettings:
    """Where and how to send. `token` XOR a client certificate, or both when asked for."""

    base_url: str
    token: str | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if not _https_host(self.base_url):
            raise FhirConfigError(
                f"FHIR base URL must be https://host/path (health data), not {self.base_url!r}"
            )
        if (self.cert_file is None) != (self.key_file is None):
            raise FhirConfigError("give both the client certificate and its key, or neither")
        if self.token is None and self.cert_file is None:
            raise FhirConfigError("give a bearer token or a client certificate for the server")

    def ssl_context(self) -> ssl.SSLContext:
        try:
            ctx = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
            if self.cert_file is not None and self.key_file is not None:
                ctx.load_cert_chain(self.cert_file, self.key_file)
        except (OSError, ssl.SSLError) as exc:
            raise FhirConfigError(f"cannot load the TLS files: {exc}") from exc
        return ctx


def make_client(settings: FhirServerSettings) -> httpx.AsyncClient:
    headers = {"Accept": FHIR_JSON, "Content-Type": FHIR_JSON}
    if settings.token is not None:
        headers["Authorization"] = f"Bearer {settings.token}"
    return httpx.AsyncClient(
        verify=settings.ssl_context(),
        headers=headers,
        timeout=settings.timeout_s,
        follow_redirects=False,
    )


def classify(status: int, body: bytes) -> None:
    """Raise the error a non-2xx transaction answer means for the queue; pass on 2xx."""
    if 200 <= status < 300:
        return
    excerpt = body[:300].decode("utf-8", errors="replace")
    message = f"FHIR server answered {status}: {excerpt}"
    if status >= 500 or status in _RETRYABLE_4XX:
        raise SendRetryError(message, status)
    raise SendRejectedError(message, status)


async def send_bundle(client: httpx.AsyncClient, base_url: str, bundle: bytes) -> None:
    """POST one transaction Bundle; typed errors say whether to retry."""
    try:
        response = await client.post(base_url.rstrip("/") + "/", content=bundle)
    except httpx.TransportError as exc:  # connect, TLS, read, timeouts
        raise SendRetryError(f"cannot reach the FHIR server: {type(exc).__name__}: {exc}") from exc
    except httpx.HTTPError as exc:  # an answer we cannot read (DecodingError): resending is safe
        raise SendRetryError(
            f"cannot read the FHIR server's answer: {type(exc).__name__}: {exc}"
        ) from exc
    classify(response.status_code, response.content)


async def send_due(
    queue: FhirQueue, client: httpx.AsyncClient, base_url: str
) -> tuple[Pending | None, SendRetryError | SendRejectedError | None]:
    """Send the next due Bundle, if any; return it and why it was not taken (None if sent)."""
    item = await asyncio.to_thread(queue.next_due, time.time())
    if item is None:
        return None, None
    try:
        await send_bundle(client, base_url, item.bundle)
    except (SendRetryError, SendRejectedError) as exc:
        retry = isinstance(exc, SendRetryError)
        await asyncio.to_thread(queue.mark_failed, item, time.time(), str(exc), retry)
        log.warning(
            "event=fhir_send_failed exam=%s attempt=%d retry=%s status=%s",
            item.exam_id,
            item.attempts + 1,
            retry,
            exc.status,
        )
        return item, exc
    await asyncio.to_thread(queue.mark_sent, item, time.time())
    log.info("event=fhir_sent exam=%s", item.exam_id)
    return item, None


async def run_sender(
    queue: FhirQueue,
    settings: FhirServerSettings,
    stop: asyncio.Event,
    idle_s: float = 1.0,
    until_empty: bool = False,
) -> None:
    """Send until `stop` is set (or, with `until_empty`, until nothing is left to send).

    After a failure to be retried the whole sender waits its backoff (not just that Bundle),
    so a server that is down sees one attempt per period rather than one per queued exam. A
    refusal is no such failure: the server answered, so the next Bundle goes at once.
    """
    failures = 0
    async with make_client(settings) as client:
        while not stop.is_set():
            item, failed = await send_due(queue, client, settings.base_url)
            if item is not None and not isinstance(failed, SendRetryError):
                failures = 0  # taken, or refused by a server that answered
                continue
            if item is not None:
                failures += 1
                wait = queue.backoff.delay(failures)
            else:
                wake = await asyncio.to_thread(queue.next_wake)
                if wake is None and until_empty:
                    return
                wait = idle_s if wake is None else min(idle_s, max(0.0, wake - time.time()))
            await within(max(wait, 0.01), stop.wait())
