"""Errors raised by the hub's archive, typed by what the caller does next (`response`)."""

from __future__ import annotations

from typing import ClassVar

from stetho_common import Response
from stetho_common.config_error import InvalidConfig


class HubError(Exception):
    """Root of every error the hub's ingest, storage and CLI raise."""

    response: ClassVar[Response] = Response.RETRY


class HubConfigError(InvalidConfig, HubError):
    """The configuration is wrong: stop and tell the operator which file and key."""

    response: ClassVar[Response] = Response.STOP


class StorageUnavailableError(HubError):
    """The database or the archive disk failed for now: keep the message unacknowledged, retry."""

    response: ClassVar[Response] = Response.RETRY


class SchemaVersionError(HubError):
    """The database was migrated by a newer hub, or not at all: stop, run `stetho hub migrate`."""

    response: ClassVar[Response] = Response.STOP


class MalformedMessageError(HubError):
    """An incoming payload is not what its topic promises: count, log, refuse (never store)."""

    response: ClassVar[Response] = Response.DROP

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason  # a short stable code, counted per value
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class ConsoleListenError(HubError):
    """The doctors' console cannot listen (port taken, host not found): stop and say which
    `[console]` setting, rather than archive with no console."""

    response: ClassVar[Response] = Response.STOP


class UserError(HubError):
    """An account operation was refused (unknown user, bad role, weak password)."""

    response: ClassVar[Response] = Response.STOP
