"""sd_notify's rules one by one: the exact datagram bytes, each address form and each bound.

A plain AF_UNIX datagram socket stands in for systemd and is read byte for byte, so a
mutant that changes one byte of what systemd parses is seen (sd_notify(3), unix(7)).
"""

from __future__ import annotations

import logging
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.runtime.sdnotify import Notifier, _socket_address

LOGGER = "edge_agent.runtime.sdnotify"


class RawReceiver:
    """systemd's end: a bound datagram socket whose datagrams are read as bytes."""

    def __init__(self, address: str | bytes) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.settimeout(1.0)

    def read(self) -> bytes:
        return self.sock.recv(65536)

    def nothing_waiting(self) -> bool:
        self.sock.setblocking(False)
        try:
            self.sock.recv(65536)
        except BlockingIOError:
            return True
        finally:
            self.sock.settimeout(1.0)
        return False

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def short_dir() -> Iterator[Path]:
    # AF_UNIX paths are limited to 107 bytes; pytest's tmp_path can be longer.
    with tempfile.TemporaryDirectory(prefix="sdn", dir="/tmp") as name:
        yield Path(name)


@pytest.fixture
def systemd(short_dir: Path) -> Iterator[RawReceiver]:
    receiver = RawReceiver(str(short_dir / "notify"))
    yield receiver
    receiver.close()


def _address(receiver: RawReceiver) -> str:
    return str(receiver.sock.getsockname())


def test_each_message_is_exactly_the_bytes_systemd_parses(systemd: RawReceiver) -> None:
    with Notifier(_address(systemd)) as notifier:
        assert notifier.ready() is True
        assert systemd.read() == b"READY=1"
        assert notifier.ready("up") is True
        assert systemd.read() == b"READY=1\nSTATUS=up"
        assert notifier.status("outbox 3") is True
        assert systemd.read() == b"STATUS=outbox 3"
        assert notifier.watchdog() is True
        assert systemd.read() == b"WATCHDOG=1"
        assert notifier.stopping() is True
        assert systemd.read() == b"STOPPING=1"
        assert notifier.stopping("SIGTERM") is True
        assert systemd.read() == b"STOPPING=1\nSTATUS=SIGTERM"
        assert notifier.send("EXTEND_TIMEOUT_USEC=5000000", "STATUS=é") is True
        assert systemd.read() == "EXTEND_TIMEOUT_USEC=5000000\nSTATUS=é".encode()


def test_an_empty_status_is_still_sent_as_an_assignment(systemd: RawReceiver) -> None:
    with Notifier(_address(systemd)) as notifier:
        assert notifier.status("") is True
        assert systemd.read() == b"STATUS="


def test_status_is_cut_at_1000_characters(systemd: RawReceiver) -> None:
    with Notifier(_address(systemd)) as notifier:
        notifier.status("a" * 1000)
        assert systemd.read() == b"STATUS=" + b"a" * 1000
        notifier.status("b" * 1001)
        assert systemd.read() == b"STATUS=" + b"b" * 1000
        notifier.status(" x \n\t y ")
        assert systemd.read() == b"STATUS=x y"


def test_a_datagram_of_4096_bytes_is_sent_and_one_more_is_refused(systemd: RawReceiver) -> None:
    with Notifier(_address(systemd)) as notifier:
        whole = "STATUS=" + "s" * (4096 - len("STATUS="))
        assert notifier.send(whole) is True
        assert systemd.read() == whole.encode()
        with pytest.raises(ValueError, match=r"^sd_notify message of 4097 bytes exceeds 4096$"):
            notifier.send(whole + "s")
        # Counted in bytes, not characters: 2 bytes each.
        with pytest.raises(ValueError, match="4097 bytes"):
            notifier.send("STATUS=" + "é" * 2044 + "s" * 2)
        assert systemd.nothing_waiting()


def test_a_disabled_notifier_still_refuses_too_long_a_message() -> None:
    with pytest.raises(ValueError, match="exceeds 4096"):
        Notifier(None).send("STATUS=" + "s" * 4090)


def test_nothing_to_send_sends_nothing(systemd: RawReceiver) -> None:
    with Notifier(_address(systemd)) as notifier:
        assert notifier.send() is False
        assert systemd.nothing_waiting()
        assert notifier.failures == 0


@pytest.mark.parametrize(
    "bad",
    ["READY", "=1", "ready=1", "Ready=1", "_=1", "STATUS=a\nb", "READY=1\n", "1=1"],
)
def test_each_malformed_assignment_is_refused_before_sending(
    systemd: RawReceiver, bad: str
) -> None:
    refused = r"^not a single sd_notify KEY=VALUE assignment: "
    with Notifier(_address(systemd)) as notifier, pytest.raises(ValueError, match=refused):
        notifier.send("WATCHDOG=1", bad)
    assert systemd.nothing_waiting()


@pytest.mark.parametrize("good", ["WATCHDOG_USEC=1", "X=", "MAINPID=42", "A1=b=c"])
def test_upper_case_keys_with_underscores_and_digits_are_taken(
    systemd: RawReceiver, good: str
) -> None:
    with Notifier(_address(systemd)) as notifier:
        assert notifier.send(good) is True
    assert systemd.read() == good.encode()


def test_address_forms() -> None:
    assert _socket_address("@x") == b"\0x"
    assert _socket_address("@/run/x") == b"\0/run/x"
    assert _socket_address("/run/systemd/notify") == "/run/systemd/notify"
    assert _socket_address("@") is None
    assert _socket_address("run/notify") is None
    assert _socket_address("vsock:2:1234") is None


def test_an_abstract_socket_gets_the_datagram() -> None:
    name = f"stetho-edge-{uuid.uuid4().hex}"
    receiver = RawReceiver(b"\0" + name.encode())
    try:
        with Notifier("@" + name) as notifier:
            assert notifier.enabled
            assert notifier.watchdog() is True
            assert receiver.read() == b"WATCHDOG=1"
    finally:
        receiver.close()


def test_an_unusable_address_is_logged_once_at_start(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        notifier = Notifier("@")
        assert notifier.address == "@"
        assert not notifier.enabled
        assert notifier.watchdog() is False
        Notifier("/run/notify")
        Notifier(None)
        Notifier("")
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "event=sdnotify_unsupported_address address='@'"),
    ]


def test_an_empty_address_is_none() -> None:
    notifier = Notifier("")
    assert notifier.address is None
    assert notifier.failures == 0
    assert Notifier("/run/notify").address == "/run/notify"


def test_from_env_reads_the_process_environment(
    systemd: RawReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", _address(systemd))
    with Notifier.from_env() as notifier:
        assert notifier.address == _address(systemd)
        assert notifier.ready() is True
    assert systemd.read() == b"READY=1"
    assert Notifier.from_env({"NOTIFY_SOCKET": "/elsewhere"}).address == "/elsewhere"
    monkeypatch.delenv("NOTIFY_SOCKET")
    assert not Notifier.from_env().enabled


def test_close_then_send_reaches_a_restarted_systemd(short_dir: Path) -> None:
    # systemd re-executed: a new socket at the same path. The old connection is dead.
    path = str(short_dir / "notify")
    first = RawReceiver(path)
    notifier = Notifier(path)
    assert notifier.watchdog() is True
    assert first.read() == b"WATCHDOG=1"
    first.close()
    Path(path).unlink()
    second = RawReceiver(path)
    try:
        notifier.close()
        notifier.close()  # twice is harmless
        assert notifier.watchdog() is True
        assert second.read() == b"WATCHDOG=1"
        assert notifier.failures == 0
        # Leaving the with-block closes the socket too.
        with notifier:
            pass
        second.close()
        Path(path).unlink()
        third = RawReceiver(path)
        assert notifier.watchdog() is True
        assert third.read() == b"WATCHDOG=1"
        third.close()
    finally:
        second.close()
        notifier.close()


def test_the_socket_stays_open_between_sends(systemd: RawReceiver) -> None:
    with Notifier(_address(systemd)) as notifier:
        notifier.watchdog()
        first = notifier._sock
        notifier.watchdog()
        assert notifier._sock is first
        assert first is not None
        assert not first.get_inheritable()  # not leaked into children the agent spawns
        assert first.type == socket.SOCK_DGRAM
        assert first.getblocking() is False
    assert systemd.read() == b"WATCHDOG=1"


def test_a_failed_send_is_logged_once_per_kind_and_counted(
    short_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = str(short_dir / "notify")
    notifier = Notifier(path)
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        assert notifier.watchdog() is False
        assert notifier.ready() is False
        assert notifier.failures == 2
        receiver = RawReceiver(path)
        assert notifier.watchdog() is True
        receiver.close()
        # The peer went away: refused, a new kind, logged once more; the socket is reopened.
        assert notifier.watchdog() is False
        assert notifier.watchdog() is False
    notifier.close()
    assert notifier.failures == 4
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "WARNING",
            f"event=sdnotify_send_failed address={path!r} error=FileNotFoundError errno=2",
        ),
        (
            "WARNING",
            f"event=sdnotify_send_failed address={path!r} error=ConnectionRefusedError errno=111",
        ),
    ]
