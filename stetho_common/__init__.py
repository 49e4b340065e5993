"""What every stetho-edge package shares: one reconnect policy, one error-response vocabulary,
one way to run a command's coroutine until a signal.

It imports no other package of the project, so the bridge, the agent, the doctor's tools and the
hub can all lean on it without pointing at each other.
"""

from stetho_common.backoff import BASE_DELAY_S, MAX_DELAY_S, next_delay, persistent_delay
from stetho_common.logfmt import quote
from stetho_common.responses import Response, response_to

__all__ = [
    "BASE_DELAY_S",
    "MAX_DELAY_S",
    "Response",
    "next_delay",
    "persistent_delay",
    "quote",
    "response_to",
]
