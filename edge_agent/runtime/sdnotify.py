"""Tell systemd how the agent is doing: READY, STATUS, WATCHDOG and STOPPING.

systemd passes the address of a datagram socket in ``$NOTIFY_SOCKET`` to a ``Type=notify``
service; each datagram holds newline-separated ``KEY=VALUE`` assignments (sd_notify(3)).
When the variable is unset (the agent runs from a shell, a test or another init) every
call here does nothing, so the daemon never has to ask whether it runs under systemd.

Sending never blocks the event loop (the socket is non-blocking) and never raises: a lost
notification costs at most one watchdog period, which is better than crashing the agent.
Only ``OSError`` is caught; anything else is a bug and propagates.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from types import TracebackType

__all__ = ["NOTIFY_SOCKET_ENV", "Notifier"]

NOTIFY_SOCKET_ENV = "NOTIFY_SOCKET"

_log = logging.getLogger(__name__)

# systemd reads a notification datagram into a buffer of this size (NOTIFY_BUFFER_MAX in
# src/core/manager.c); a longer STATUS would be truncated, so we cut it ourselves.
_MAX_DATAGRAM_BYTES = 4096
_MAX_STATUS_CHARS = 1000


def _socket_address(raw: str) -> str | bytes | None:
    """Turn ``$NOTIFY_SOCKET`` into an address for ``socket.connect``, or None if unusable.

    A leading ``@`` names a Linux abstract-namespace socket, spelled with a NUL byte in
    the kernel API (unix(7)). systemd 254+ may also pass ``vsock:`` addresses, which only
    matter inside virtual machines; we do not speak them.
    """
    if raw.startswith("@") and len(raw) > 1:
        return b"\0" + raw[1:].encode()
    if raw.startswith("/"):
        return raw
    return None


def _one_line(text: str) -> str:
    """STATUS is one line: a newline would start a new assignment in the datagram."""
    flat = " ".join(text.split())
    return flat[:_MAX_STATUS_CHARS]


class Notifier:
    """Sends sd_notify messages to systemd; a no-op when there is no notify socket.

    Parameters
    ----------
    address:
        The value ``$NOTIFY_SOCKET`` would hold: an absolute path, or ``@name`` for an
        abstract socket. None or empty disables the notifier.

    Every sending method returns True when the datagram was handed to the kernel and
    False when the notifier is disabled or the send failed (the failure is logged once
    per kind of error, then counted in ``failures``).
    """

    def __init__(self, address: str | None) -> None:
        self.address = address or None
        self.failures = 0
        self._target = _socket_address(address) if address else None
        self._sock: socket.socket | None = None
        self._logged_errors: set[str] = set()
        if address and self._target is None:
            _log.warning("event=sdnotify_unsupported_address address=%r", address)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Notifier:
        """Build from ``$NOTIFY_SOCKET`` (``os.environ`` unless ``env`` is given)."""
        source = os.environ if env is None else env
        return cls(source.get(NOTIFY_SOCKET_ENV))

    @property
    def enabled(self) -> bool:
        """True when notifications go somewhere."""
        return self._target is not None

    def ready(self, status: str | None = None) -> bool:
        """Startup is complete: systemd marks the unit active and starts dependants."""
        return self.send("READY=1", *self._status_lines(status))

    def status(self, text: str) -> bool:
        """Free-form one-line state shown by ``systemctl status``."""
        return self.send(*self._status_lines(text))

    def watchdog(self) -> bool:
        """Tell systemd the service is alive; due every ``WatchdogSec`` or it is restarted."""
        return self.send("WATCHDOG=1")

    def stopping(self, status: str | None = None) -> bool:
        """Shutdown has begun: systemd shows the unit as deactivating until the process exits."""
        return self.send("STOPPING=1", *self._status_lines(status))

    def send(self, *assignments: str) -> bool:
        """Send ``KEY=VALUE`` assignments in one datagram.

        Raises
        ------
        ValueError
            If an assignment is not ``KEY=VALUE`` with an upper-case key, or holds a
            newline: those are programming errors, not runtime conditions.
        """
        for item in assignments:
            key, sep, _value = item.partition("=")
            # isupper() passes underscores and digits: it looks only at cased letters.
            if not sep or not key or not key.isupper() or "\n" in item:
                raise ValueError(f"not a single sd_notify KEY=VALUE assignment: {item!r}")
        payload = "\n".join(assignments).encode()
        if len(payload) > _MAX_DATAGRAM_BYTES:
            raise ValueError(f"sd_notify message of {len(payload)} bytes exceeds 4096")
        if self._target is None or not assignments:
            return False
        try:
            self._connected(self._target).send(payload)
        except OSError as exc:
            self._record_failure(exc)
            return False
        return True

    def close(self) -> None:
        """Close the socket; a later send reopens it."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> Notifier:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _connected(self, target: str | bytes) -> socket.socket:
        if self._sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            # Never block the event loop: if systemd's queue is full, drop the datagram.
            sock.setblocking(False)
            try:
                sock.connect(target)
            except OSError:
                sock.close()
                raise
            self._sock = sock
        return self._sock

    def _record_failure(self, exc: OSError) -> None:
        self.failures += 1
        # The peer may have gone (systemd re-executed): reconnect on the next send.
        self.close()
        kind = type(exc).__name__
        if kind not in self._logged_errors:
            self._logged_errors.add(kind)
            _log.warning(
                "event=sdnotify_send_failed address=%r error=%s errno=%s",
                self.address,
                kind,
                exc.errno,
            )

    @staticmethod
    def _status_lines(status: str | None) -> tuple[str, ...]:
        return () if status is None else (f"STATUS={_one_line(status)}",)
