"""Errors raised by the edge agent, typed by what the caller does next (`response`)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from stetho_common import Response
from stetho_common.config_error import InvalidConfig


class AgentError(Exception):
    """Root of every error edge_agent raises.

    `words` names a refusal the nurses' page says in her language (its catalogue's
    ``refused.<words>``, formatted with `values`); None, the page shows the message itself.
    """

    response: ClassVar[Response] = Response.RETRY
    words: str | None = None
    values: Mapping[str, object] = MappingProxyType({})


class ConfigError(InvalidConfig, AgentError):
    """The configuration is wrong: stop and tell the operator which file and key."""

    response: ClassVar[Response] = Response.STOP


class OutboxError(AgentError):
    """The on-disk outbox cannot take a recording."""

    response: ClassVar[Response] = Response.RETRY


class OutboxFullError(OutboxError):
    """The outbox reached its disk quota: refuse new recordings, keep the old ones."""

    response: ClassVar[Response] = Response.DROP


class PublishError(AgentError):
    """A message could not be handed to the broker: retry later, the outbox keeps it."""


class WatchdogSettingError(AgentError):
    """``$WATCHDOG_USEC`` or ``$WATCHDOG_PID`` is malformed: stop, the unit is broken."""

    response: ClassVar[Response] = Response.STOP


class AgentRunningError(AgentError):
    """Another agent holds this state directory: stop; two would share one outbox."""

    response: ClassVar[Response] = Response.STOP


class LocalBrokerError(AgentError):
    """The local Mosquitto could not be started."""

    response: ClassVar[Response] = Response.STOP


class RejectedInboundError(AgentError):
    """An inbound message is malformed, unknown or not for us; it is dropped."""

    response: ClassVar[Response] = Response.DROP


class MalformedChunkError(AgentError):
    """A live payload is not a header plus whole 16-bit samples."""

    response: ClassVar[Response] = Response.DROP


class RegistryError(AgentError):
    """The registry file is unreadable or an entry is missing: tell the operator which."""

    response: ClassVar[Response] = Response.STOP


class JournalCorruptError(AgentError):
    """A journal whose header cannot be read: keep the file aside for a person to look at."""

    response: ClassVar[Response] = Response.DROP


class IncompleteJournalError(AgentError):
    """A journal cut off before its header was whole (killed while creating it): discard it."""

    response: ClassVar[Response] = Response.DROP


class MalformedRecordError(AgentError):
    """A complete record that fails its CRC or its format: everything from it on is dropped."""

    response: ClassVar[Response] = Response.DROP


class WebListenError(AgentError):
    """The nurses' page cannot serve (port taken, unknown host, a certificate that will not
    load): stop and say which `[web]` setting, rather than run without it."""

    response: ClassVar[Response] = Response.STOP


class PlotUnavailableError(AgentError):
    """matplotlib is not installed: plots are an optional extra."""

    response: ClassVar[Response] = Response.STOP


class ConnectError(AgentError):
    """The broker could not be reached or refused us; `retryable` says whether it may clear soon.

    A refusal that repeats (credentials, authorisation, a certificate) is retried at the longest
    delay: the agent never gives up, the outbox keeps everything meanwhile.
    """

    @property
    def retryable(self) -> bool:
        return self.response is Response.RETRY

    @staticmethod
    def of(message: str, retryable: bool) -> ConnectError:
        return ConnectError(message) if retryable else ConnectRefusedError(message)


class ConnectRefusedError(ConnectError):
    """A refusal that will repeat (credentials, authorisation, a certificate): wait the longest."""

    response = Response.RETRY_LATER


class LinkLostError(PublishError):
    """An accepted connection ended; `reason` says why (the broker's DISCONNECT reason, if any)."""

    def __init__(self, reason: str, code: int | None = None, by_broker: bool = False) -> None:
        self.reason = reason
        self.code = code
        self.by_broker = by_broker
        super().__init__(f"connection lost: {reason}")


class LinkRefusedError(LinkLostError):
    """The broker ended the connection in a way that repeats (not authorised, quota, taken over,
    a protocol error on our side): reconnecting at once would only repeat it. Wait the longest."""

    response = Response.RETRY_LATER


class PubackTimeoutError(PublishError):
    """No PUBACK in time. With MQTT 3.1.1, which has no PUBACK reason codes, the link is then
    taken as broken (RabbitMQ stalls one this way on a message over its size limit): end it and
    send again on a new one."""


class SubscriptionRefusedError(PublishError):
    """The broker refused a subscription (SUBACK reason >= 0x80): acks and commands cannot
    arrive, but recordings can still go out, so the link stays up and an alarm says so."""

    def __init__(self, reasons: str) -> None:
        self.reasons = reasons
        super().__init__(f"subscription refused: {reasons}")
