"""How both web pages (the nurses' page on the Pi, the doctors' console at the hospital) run
their aiohttp application: no access log, and a request aiohttp refuses before any handler sees
it logged as one line.

aiohttp answers a request it cannot parse (a request line or header over its 8,190-byte limit,
a header that is not HTTP, a broken chunked body) with a 400 itself, and logs the parser's
exception with its traceback at ERROR on `aiohttp.server`: anyone who can reach the port could
fill the journal with traces that say nothing is wrong with us. The server's own logger is a
constructor argument of aiohttp's request handler (`RequestHandler(logger=...)`, passed through
`AppRunner`'s keywords), so each runner gets :class:`OneLineRefusals` in its place; a filter on
the shared `aiohttp.server` logger would change every aiohttp server in the process instead.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.log import server_logger

__all__ = ["OneLineRefusals", "app_runner"]


class OneLineRefusals(logging.LoggerAdapter[logging.Logger]):
    """aiohttp's server logger, where a request refused while parsing is one line.

    `event=http_refused status=400 error=LineTooLong`, at WARNING at most (aiohttp's own debug
    line for a first request in a method that is not HTTP, a TLS hello on the plain port, stays
    at DEBUG), and no traceback. Every other record, a handler's unexpected exception above
    all, passes as aiohttp logs it, traceback included.
    """

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        refused = kwargs.get("exc_info")
        if isinstance(refused, HttpProcessingError):
            # The parser's message quotes the client's bytes: the error's type says enough.
            self.logger.log(
                min(level, logging.WARNING),
                "event=http_refused status=%d error=%s",
                refused.code,
                type(refused).__name__,
            )
            return
        super().log(level, msg, *args, **kwargs)


SERVER_LOG: Final = OneLineRefusals(server_logger)


def app_runner(app: web.Application, **kwargs: Any) -> web.AppRunner:
    """`web.AppRunner(app, **kwargs)` with :data:`SERVER_LOG` and no access log (URLs hold
    recording and exam ids, and each page's audit log already says who saw what)."""
    return web.AppRunner(app, access_log=None, logger=SERVER_LOG, **kwargs)
