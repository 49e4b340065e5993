"""Errors raised by the edge agent, typed by what the caller does next."""


class AgentError(Exception):
    """Root of every error edge_agent raises."""


class ConfigError(AgentError):
    """The configuration is wrong: stop and tell the operator which file and key."""

    def __init__(self, file: str, problems: list[str]) -> None:
        self.file = file
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid configuration in {file}:\n{lines}")


class OutboxError(AgentError):
    """The on-disk outbox cannot take a recording."""


class OutboxFullError(OutboxError):
    """The outbox reached its disk quota: refuse new recordings, keep the old ones."""


class PublishError(AgentError):
    """A message could not be handed to the broker: retry later, the outbox keeps it."""
