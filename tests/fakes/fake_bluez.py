"""A private D-Bus daemon and a fake BlueZ on it, answering with BlueZ's interfaces and errors.

Only what pairing touches: org.bluez.AgentManager1 on /org/bluez and the Adapter1 `Powered`
property of /org/bluez/hci0. Everything crosses a real dbus-daemon as real D-Bus messages.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

from dbus_fast import Message, MessageType, Variant
from dbus_fast.aio import MessageBus

_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


@contextlib.contextmanager
def private_bus(directory: Path) -> Iterator[str]:
    """Start a dbus-daemon listening in `directory`; yield its address."""
    socket = directory / "bus"
    config = directory / "bus.conf"
    config.write_text(_CONFIG.format(socket=socket))
    daemon = subprocess.Popen(
        ["dbus-daemon", "--nofork", "--print-address=1", f"--config-file={config}"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert daemon.stdout is not None
        yield daemon.stdout.readline().strip()
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)
        if daemon.stdout is not None:
            daemon.stdout.close()


class FakeBlueZ:
    """Owns the name org.bluez; records agent registrations; can call the agent back."""

    def __init__(self, *, powered: bool = True, adapter: bool = True, deny: bool = False) -> None:
        self.powered = powered
        self.adapter = adapter
        self.deny = deny
        self.calls: list[tuple[str, list[object]]] = []
        self.agent_owner: str | None = None
        self.bus: MessageBus | None = None

    async def start(self, address: str) -> None:
        self.bus = await MessageBus(bus_address=address).connect()
        await self.bus.request_name("org.bluez")
        self.bus.add_message_handler(self._handle)

    def stop(self) -> None:
        if self.bus is not None:
            self.bus.disconnect()

    def _handle(self, msg: Message) -> Message | None:
        if msg.message_type != MessageType.METHOD_CALL or msg.destination != "org.bluez":
            return None
        if msg.path == "/org/bluez" and msg.interface == "org.bluez.AgentManager1":
            if self.deny:
                return Message.new_error(
                    msg, "org.freedesktop.DBus.Error.AccessDenied", "Rejected send message"
                )
            self.calls.append((msg.member or "", list(msg.body)))
            self.agent_owner = msg.sender
            return Message.new_method_return(msg)
        if msg.path == "/org/bluez/hci0" and self.adapter and msg.member == "Get":
            return Message.new_method_return(msg, "v", [Variant("b", self.powered)])
        return Message.new_error(
            msg, "org.freedesktop.DBus.Error.UnknownObject", f"no object {msg.path}"
        )

    async def call_agent(self, member: str, signature: str, body: list[object]) -> Message:
        """Call a method of the registered agent, as BlueZ does during pairing."""
        assert self.bus is not None and self.agent_owner is not None
        reply = await self.bus.call(
            Message(
                destination=self.agent_owner,
                path=str(self.calls[0][1][0]),
                interface="org.bluez.Agent1",
                member=member,
                signature=signature,
                body=body,
            )
        )
        assert reply is not None
        return reply
