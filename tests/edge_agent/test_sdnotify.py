"""The sd_notify client against a real AF_UNIX datagram socket standing in for systemd."""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.runtime.sdnotify import Notifier
from tests.deploy.fake_systemd import NotifyReceiver


@pytest.fixture
def short_dir() -> Iterator[Path]:
    # AF_UNIX paths are limited to 107 bytes; pytest's tmp_path can be longer.
    with tempfile.TemporaryDirectory(prefix="sdn", dir="/tmp") as name:
        yield Path(name)


def test_without_notify_socket_every_call_is_a_silent_no_op() -> None:
    notifier = Notifier.from_env({})
    assert not notifier.enabled
    assert notifier.ready("starting") is False
    assert notifier.watchdog() is False
    assert notifier.status("x") is False
    assert notifier.stopping() is False
    assert notifier.failures == 0


def test_ready_status_watchdog_stopping_arrive_on_a_path_socket(short_dir: Path) -> None:
    with NotifyReceiver(short_dir / "notify") as receiver:
        notifier = Notifier.from_env({"NOTIFY_SOCKET": receiver.address})
        assert notifier.ready("2 devices connected")
        assert notifier.status("outbox 3 recordings")
        assert notifier.watchdog()
        assert notifier.stopping("SIGTERM received")
        notifier.close()
        notes = receiver.wait_for("STOPPING")
    fields = [n.fields for n in receiver.received]
    assert fields == [
        {"READY": "1", "STATUS": "2 devices connected"},
        {"STATUS": "outbox 3 recordings"},
        {"WATCHDOG": "1"},
        {"STOPPING": "1", "STATUS": "SIGTERM received"},
    ]
    assert notes[0].pid == os.getpid()


def test_abstract_namespace_socket_is_supported() -> None:
    with NotifyReceiver(None) as receiver:
        assert receiver.address.startswith("@")
        with Notifier(receiver.address) as notifier:
            assert notifier.ready()
        assert receiver.wait_for("READY")[0].fields == {"READY": "1"}


def test_status_is_flattened_to_one_line_so_it_cannot_inject_assignments(short_dir: Path) -> None:
    with NotifyReceiver(short_dir / "notify") as receiver:
        with Notifier(receiver.address) as notifier:
            notifier.status("line one\nREADY=1\tand more")
        note = receiver.wait_for("STATUS")[0]
    assert note.fields == {"STATUS": "line one READY=1 and more"}


@pytest.mark.parametrize("bad", ["READY", "=1", "ready=1", "STATUS=a\nb", ""])
def test_malformed_assignment_is_a_programming_error(bad: str) -> None:
    with pytest.raises(ValueError, match="KEY=VALUE"):
        Notifier(None).send(bad)


def test_vsock_or_relative_addresses_disable_the_notifier() -> None:
    assert not Notifier("vsock:2:1234").enabled
    assert not Notifier("relative/path").enabled
    assert not Notifier("").enabled


def test_missing_socket_is_counted_not_raised_and_recovers(short_dir: Path) -> None:
    path = short_dir / "notify"
    notifier = Notifier(str(path))
    assert notifier.watchdog() is False
    assert notifier.watchdog() is False
    assert notifier.failures == 2
    with NotifyReceiver(path) as receiver:
        assert notifier.watchdog() is True
        receiver.wait_for("WATCHDOG")
    notifier.close()


def test_a_full_systemd_queue_drops_datagrams_instead_of_blocking(short_dir: Path) -> None:
    path = short_dir / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as never_read:
        never_read.bind(str(path))
        with Notifier(str(path)) as notifier:
            results = [notifier.watchdog() for _ in range(5000)]
    assert results[0] is True
    assert False in results
    assert notifier.failures == results.count(False)
