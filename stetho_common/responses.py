"""What a caller does next about an error: the one vocabulary every package's errors speak.

Each package keeps its own error classes (STYLE.md §5) and gives each a `response`; loops and
printers decide on that attribute, never on the class's module or on message text.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["Response", "response_to"]


class Response(Enum):
    RETRY = "retry"  # transient (a link lost, a broker restarting): try again soon
    RETRY_LATER = "retry_later"  # refused in a way that repeats (credentials): wait the longest
    DROP = "drop"  # this input is bad (a frame, a payload): count it, log it, go on without it
    STOP = "stop"  # the set-up is wrong (config, adapter, permission): stop and tell the operator


def response_to(error: BaseException | None) -> Response:
    """The error's own `response`, or RETRY for anything that does not say (a foreign OSError,
    or None: a failure known to be transient)."""
    response = getattr(error, "response", Response.RETRY)
    return response if isinstance(response, Response) else Response.RETRY
