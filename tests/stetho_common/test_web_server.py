"""Both pages' aiohttp runner: a request aiohttp refuses while parsing it is one log line, no
traceback; a handler's own failure keeps its traceback. A real server on loopback, raw bytes."""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiohttp import web

from stetho_common.web_server import SERVER_LOG, app_runner
from tests.fakes.raw_http import exchange

LONG_LINE = b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"  # aiohttp's limit: 8,190


async def _hello(_request: web.Request) -> web.Response:
    return web.Response(text="hello")


async def _broken(_request: web.Request) -> web.Response:
    raise RuntimeError("a bug of ours")


def _answers(*requests: bytes) -> list[bytes]:
    async def main() -> list[bytes]:
        app = web.Application()
        app.router.add_get("/", _hello)
        app.router.add_get("/broken", _broken)
        runner = app_runner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            return [await exchange(port, data) for data in requests]
        finally:
            await runner.cleanup()

    return asyncio.run(main())


def test_a_request_line_over_the_limit_is_a_400_and_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Before: aiohttp logged LineTooLong with its traceback at ERROR on aiohttp.server.
    with caplog.at_level(logging.DEBUG, logger="aiohttp"):
        refused, served = _answers(LONG_LINE, b"GET / HTTP/1.0\r\n\r\n")
    assert refused.startswith((b"HTTP/1.0 400 ", b"HTTP/1.1 400 "))
    assert served.startswith(b"HTTP/1.0 200 ") and served.endswith(b"hello")  # serving on
    said = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    assert said == [
        ("aiohttp.server", "WARNING", "event=http_refused status=400 error=LineTooLong")
    ]
    assert not any(r.exc_info for r in caplog.records)
    assert "Traceback" not in caplog.text


def test_a_header_that_is_not_http_is_one_line_too(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="aiohttp"):
        (refused,) = _answers(b"GET / HTTP/1.1\r\nno colon here\r\n\r\n")
    assert refused.startswith((b"HTTP/1.0 400 ", b"HTTP/1.1 400 "))
    (record,) = caplog.records
    assert record.getMessage().startswith("event=http_refused status=400 error=")
    assert record.exc_info is None


def test_a_first_request_that_is_not_http_stays_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    # A TLS hello or a port scan on the plain port: aiohttp's own choice, DEBUG, is kept.
    with caplog.at_level(logging.DEBUG, logger="aiohttp"):
        _answers(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 / HTTP/1.1\r\n\r\n")
    assert [(r.levelname, r.exc_info) for r in caplog.records] == [("DEBUG", None)]
    assert caplog.records[0].getMessage() == "event=http_refused status=400 error=BadHttpMethod"


def test_a_handlers_own_failure_keeps_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="aiohttp"):
        (failed,) = _answers(b"GET /broken HTTP/1.0\r\n\r\n")
    assert failed.startswith(b"HTTP/1.0 500 ")
    (record,) = caplog.records
    assert record.levelname == "ERROR" and record.exc_info is not None
    assert "RuntimeError: a bug of ours" in caplog.text


def test_the_runner_logs_through_the_one_line_logger() -> None:
    runner = app_runner(web.Application(), shutdown_timeout=1.0)
    assert runner._kwargs["logger"] is SERVER_LOG and runner._kwargs["access_log"] is None
