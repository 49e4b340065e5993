"""Errors raised by the edge agent, typed by what the caller does next (`response`)."""

from typing import ClassVar

from stetho_common import Response


class AgentError(Exception):
    """Root of every error edge_agent raises."""

    response: ClassVar[Response] = Response.RETRY


class ConfigError(AgentError):
    """The configuration is wrong: stop and tell the operator which file and key."""

    response: ClassVar[Response] = Response.STOP

    def __init__(self, file: str, problems: list[str]) -> None:
        self.file = file
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid configuration in {file}:\n{lines}")


class OutboxError(AgentError):
    """The on-disk outbox cannot take a recording."""

    response: ClassVar[Response] = Response.RETRY


class OutboxFullError(OutboxError):
    """The outbox reached its disk quota: refuse new recordings, keep the old ones."""

    response: ClassVar[Response] = Response.DROP


class PublishError(AgentError):
    """A message could not be handed to the broker: retry later, the outbox keeps it."""
