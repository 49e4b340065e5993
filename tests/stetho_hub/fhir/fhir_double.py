"""A TEST DOUBLE of a FHIR R4 server: transactions and conditional create/update only.

Not a FHIR server. We looked for a real one that installs here: Debian has none, HAPI needs
Java downloads from outside the registries we reach, and `@medplum/fhir-router` 5.2.13 (npm)
needs Node >= 22 while Debian's is 20 (it fails to load: `WebSocket is not defined`). So this
double enforces the rules our sender relies on, from FHIR R4 http.html:

- a `transaction` Bundle is all or nothing (#trules): any failed entry rolls back every entry;
- `POST` with `ifNoneExist` creates only when the search finds nothing; one match is reused
  as is (200), several are an error (412) (#ccreate);
- `PUT Type?search` updates the one match, creates when none, 412 when several (#cond-update);
- every `urn:uuid:` reference is rewritten to the id its entry got, and one that points to no
  entry fails the transaction;
- every stored resource validates with the fhir.resources R4B models.

It listens on loopback over TLS and checks a bearer token or a client certificate.
"""

from __future__ import annotations

import copy
import json
import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

Resource = dict[str, Any]


class TransactionError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _matches(resource: Resource, query: str) -> bool:
    for name, value in parse_qsl(query, keep_blank_values=True):
        system, _, code = value.rpartition("|")
        if name == "identifier":
            items = [(i.get("system"), i.get("value")) for i in resource.get("identifier", [])]
        elif name == "_tag":
            items = [
                (t.get("system"), t.get("code")) for t in resource.get("meta", {}).get("tag", [])
            ]
        else:
            raise TransactionError(400, f"search parameter {name!r} not supported by the double")
        if (system, code) not in items:
            return False
    return True


def _rewrite(node: Any, ids: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {k: _rewrite(v, ids) for k, v in node.items()}
        ref = out.get("reference")
        if isinstance(ref, str) and ref.startswith("urn:uuid:"):
            if ref not in ids:
                raise TransactionError(400, f"reference {ref} resolves to no entry")
            out["reference"] = ids[ref]
        return out
    if isinstance(node, list):
        return [_rewrite(v, ids) for v in node]
    return node


class FhirStore:
    """The double's database: resources by type and id, with version counts."""

    def __init__(self) -> None:
        self.resources: dict[str, dict[str, Resource]] = {}
        self.versions: dict[tuple[str, str], int] = {}
        self.creates = 0
        self.transactions = 0
        self._next_id = 1
        self.lock = threading.Lock()

    def search(self, kind: str, query: str) -> list[Resource]:
        return [r for r in self.resources.get(kind, {}).values() if _matches(r, query)]

    def count(self, kind: str) -> int:
        return len(self.resources.get(kind, {}))

    def transaction(self, bundle: Resource) -> Resource:
        """Apply a transaction Bundle atomically; raise `TransactionError` on any failure."""
        if bundle.get("resourceType") != "Bundle" or bundle.get("type") != "transaction":
            raise TransactionError(400, "expected a transaction Bundle")
        with self.lock:
            saved = (
                copy.deepcopy(self.resources),
                dict(self.versions),
                self.creates,
                self._next_id,
            )
            try:
                response = self._apply(bundle.get("entry", []))
            except BaseException:
                self.resources, self.versions, self.creates, self._next_id = saved
                raise
            self.transactions += 1
            return response

    def _apply(self, entries: list[Resource]) -> Resource:
        ids: dict[str, str] = {}
        plan: list[tuple[str, str, str, Resource]] = []  # (outcome, kind, id, resource)
        for entry in entries:
            outcome, kind, rid = self._resolve(entry)
            ids[entry["fullUrl"]] = f"{kind}/{rid}"
            plan.append((outcome, kind, rid, entry["resource"]))
        answers = []
        for outcome, kind, rid, resource in plan:
            if outcome != "matched":
                stored = _rewrite(resource, ids) | {"id": rid}
                _validate(stored)
                self.resources.setdefault(kind, {})[rid] = stored
                self.versions[(kind, rid)] = self.versions.get((kind, rid), 0) + 1
                self.creates += outcome == "created"
            status = {"created": "201 Created", "updated": "200 OK", "matched": "200 OK"}[outcome]
            answers.append({"response": {"status": status, "location": f"{kind}/{rid}"}})
        return {"resourceType": "Bundle", "type": "transaction-response", "entry": answers}

    def _resolve(self, entry: Resource) -> tuple[str, str, str]:
        request, resource = entry.get("request", {}), entry.get("resource", {})
        method, url = request.get("method"), request.get("url", "")
        kind, _, query = url.partition("?")
        if resource.get("resourceType") != kind:
            raise TransactionError(400, f"entry {url!r} does not hold a {kind}")
        if method == "POST" and not query:
            query = request.get("ifNoneExist", "")
        elif method != "PUT" or not query:
            raise TransactionError(400, f"{method} {url} not supported by the double")
        found = self.search(kind, query) if query else []
        if len(found) > 1:
            raise TransactionError(412, f"{kind}?{query} matches {len(found)} resources")
        if found:
            return ("matched" if method == "POST" else "updated"), kind, found[0]["id"]
        rid = str(self._next_id)
        self._next_id += 1
        return "created", kind, rid


def _validate(resource: Resource) -> None:
    try:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    except (ValidationError, ValueError) as exc:
        raise TransactionError(400, f"{resource.get('resourceType')} invalid: {exc}") from exc


def _handler(double: FhirDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            if self.path.rstrip("/") != double.base_path:
                self._reply(404, _outcome("not found"))
                return
            if double.token and self.headers.get("Authorization") != f"Bearer {double.token}":
                self._reply(401, _outcome("missing or wrong bearer token"))
                return
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if double.before_commit is not None:
                double.before_commit()
            try:
                answer = double.store.transaction(json.loads(body))
            except TransactionError as exc:
                self._reply(exc.status, _outcome(str(exc)))
                return
            except json.JSONDecodeError:
                self._reply(400, _outcome("not JSON"))
                return
            if double.after_commit is not None:
                double.after_commit()
            self._reply(200, answer)

        def _reply(self, status: int, body: Resource) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def _outcome(text: str) -> Resource:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "processing", "diagnostics": text}],
    }


class FhirDouble:
    """The HTTPS endpoint around a `FhirStore`; stop and start it to play a server outage."""

    def __init__(
        self,
        store: FhirStore,
        ssl_context: ssl.SSLContext,
        token: str | None = None,
        port: int = 0,
        base_path: str = "/fhir",
    ) -> None:
        self.store = store
        self.ssl_context = ssl_context
        self.token = token
        self.port = port
        self.base_path = base_path
        self.before_commit: Callable[[], None] | None = None
        self.after_commit: Callable[[], None] | None = None  # before the reply is sent
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}{self.base_path}"

    def start(self) -> None:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        server.daemon_threads = True
        server.socket = self.ssl_context.wrap_socket(server.socket, server_side=True)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
