"""Errors raised by the hub, typed by what the caller does next."""

from __future__ import annotations


class HubError(Exception):
    """Root of every error stetho_hub raises."""


class HubConfigError(HubError):
    """The configuration is wrong: stop and tell the operator which file and key."""

    def __init__(self, file: str, problems: list[str]) -> None:
        self.file = file
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid configuration in {file}:\n{lines}")


class StorageUnavailableError(HubError):
    """The database or the archive disk failed for now: keep the message unacknowledged, retry."""


class SchemaVersionError(HubError):
    """The database was migrated by a newer hub, or not at all: stop, run `stetho hub migrate`."""


class MalformedMessageError(HubError):
    """An incoming payload is not what its topic promises: count, log, refuse (never store)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason  # a short stable code, counted per value
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class UserError(HubError):
    """An account operation was refused (unknown user, bad role, weak password)."""
