"""A scripted HTTPS endpoint: answers POSTs with the statuses it is given, in order.

Where the FHIR test double (`fhir_double.py`) plays a server that stores what it receives, this
one plays the failures a sender must live through (a 503, a 422 with its OperationOutcome, a
redirect, an answer that is slow to come) and keeps what each request carried.
"""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes = b'{"resourceType": "Bundle", "type": "transaction-response"}'
    headers: tuple[tuple[str, str], ...] = ()
    delay_s: float = 0.0  # before the answer: a server slow to answer


@dataclass(frozen=True)
class Request:
    at: float  # time.monotonic() when it arrived
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Scripted:
    """Answers POSTs from `script` in order; the last answer repeats once the script ends."""

    ssl_context: ssl.SSLContext
    script: list[Answer]
    requests: list[Request] = field(default_factory=list)
    port: int = 0
    _server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}/fhir"

    def bodies(self) -> list[bytes]:
        return [r.body for r in self.requests]

    def start(self) -> None:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        server.daemon_threads = True
        server.socket = self.ssl_context.wrap_socket(server.socket, server_side=True)
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _next(self, request: Request) -> Answer:
        self.requests.append(request)
        return self.script[min(len(self.requests), len(self.script)) - 1]


def _handler(scripted: Scripted) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            answer = scripted._next(Request(time.monotonic(), self.path, headers, body))
            time.sleep(answer.delay_s)
            self.send_response(answer.status)
            for name, value in answer.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            with contextlib.suppress(OSError):  # the client gave up waiting (a timeout test)
                self.wfile.write(answer.body)

    return Handler
