"""The paired-device registry at its edges: each rule, on a real file in a temporary directory.

A stethoscope forgotten or mixed up with another is one whose recordings are not made or are
filed under the wrong id: its id is derived from the name and address by a fixed rule, looked up
by id or by address in any case, kept through a restart, and a damaged file is refused in one
sentence rather than read as empty. A write that fails leaves the old file and no stray file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from edge_agent.errors import RegistryError
from edge_agent.storage.registry import (
    REGISTRY_FILE,
    DeviceRegistry,
    RegisteredDevice,
    device_id_for,
)


def _device(id_: str, address: str, battery: int | None = None) -> RegisteredDevice:
    return RegisteredDevice(id_, address, f"name {id_}", "Room 3", 1.0e9, 2.0e9, battery)


@pytest.mark.parametrize(
    ("name", "address", "want"),
    [
        ("Stetho One", "5E:7A:00:00:AB:CD", "stetho-one-abcd"),
        ("  Eko CORE 500!! ", "5e:7a:00:00:ab:cd", "eko-core-500-abcd"),
        ("--a__b--", "00:11:22:33:44:55", "a-b-4455"),
        ("!!!", "00:11:22:33:44:55", "stethoscope-4455"),
        ("", "00:11:22:33:44:55", "stethoscope-4455"),
        ("é", "00:11:22:33:44:55", "stethoscope-4455"),  # not a-z: replaced, then stripped
        ("a" * 40, "AA:BB", "a" * 40 + "-aabb"),
        ("a" * 41, "AA:BB", "a" * 40 + "-aabb"),
        ("x", "ABCDE", "x-bcde"),  # the last four hex digits, whatever the address's shape
    ],
)
def test_an_id_is_the_name_s_slug_and_the_address_s_last_two_bytes(
    name: str, address: str, want: str
) -> None:
    assert device_id_for(name, address) == want


def test_the_file_is_versioned_json_sorted_by_id(tmp_path: Path) -> None:
    registry = DeviceRegistry(tmp_path)
    assert registry.path == tmp_path / "devices.json" and REGISTRY_FILE == "devices.json"
    registry.upsert(_device("b", "00:00:00:00:00:02"))
    registry.upsert(_device("a", "00:00:00:00:00:01", 55))
    text = registry.path.read_text(encoding="utf-8")
    entry = {"location": "Room 3", "bonded_at": 1.0e9, "last_seen": 2.0e9}
    want = {
        "version": 1,
        "devices": [
            {"id": "a", "address": "00:00:00:00:00:01", "name": "name a", **entry}
            | {"battery_percent": 55},
            {"id": "b", "address": "00:00:00:00:00:02", "name": "name b", **entry}
            | {"battery_percent": None},
        ],
    }
    assert json.loads(text) == want
    assert text == json.dumps(want, indent=2)  # readable by whoever opens it on the Pi
    assert [d.id for d in DeviceRegistry(tmp_path).list()] == ["a", "b"]


def test_a_state_directory_not_made_yet_is_made(tmp_path: Path) -> None:
    registry = DeviceRegistry(tmp_path / "new" / "state")
    assert registry.list() == []
    registry.upsert(_device("a", "00:00:00:00:00:01"))
    assert DeviceRegistry(tmp_path / "new" / "state").get("a").address == "00:00:00:00:00:01"


def test_a_device_is_found_by_id_or_by_address_in_any_case(tmp_path: Path) -> None:
    registry = DeviceRegistry(tmp_path)
    lower = _device("low", "5e:7a:00:00:00:0a")
    upper = _device("up", "5E:7A:00:00:00:0B")
    registry.upsert(lower)
    registry.upsert(upper)
    assert registry.get("low") == lower and registry.get("up") == upper
    assert registry.get("5E:7A:00:00:00:0A") == lower
    assert registry.get("5e:7a:00:00:00:0b") == upper
    assert registry.get("5E:7a:00:00:00:0b") == upper


def test_an_id_wins_over_another_device_s_address(tmp_path: Path) -> None:
    registry = DeviceRegistry(tmp_path)
    registry.upsert(_device("aa:bb", "11:11:11:11:11:11"))  # an id that looks like an address
    registry.upsert(_device("other", "AA:BB"))
    assert registry.get("aa:bb").address == "11:11:11:11:11:11"


def test_an_unknown_device_is_refused_in_one_sentence(tmp_path: Path) -> None:
    registry = DeviceRegistry(tmp_path)
    registry.upsert(_device("a", "00:00:00:00:00:01"))
    for call in (
        lambda: registry.get("steth-9"),
        lambda: registry.remove("steth-9"),
        lambda: registry.touch("steth-9", seen_at=1.0, battery_percent=None),
    ):
        with pytest.raises(RegistryError) as caught:
            call()
        assert str(caught.value) == "no paired device 'steth-9' (see `stetho devices`)"
    assert [d.id for d in registry.list()] == ["a"]


def test_upsert_replaces_the_device_with_the_same_id(tmp_path: Path) -> None:
    registry = DeviceRegistry(tmp_path)
    registry.upsert(_device("a", "00:00:00:00:00:01"))
    registry.upsert(_device("a", "00:00:00:00:00:09"))
    assert registry.list() == [_device("a", "00:00:00:00:00:09")]


def test_touch_dates_the_device_and_keeps_or_replaces_its_battery(tmp_path: Path) -> None:
    registry = DeviceRegistry(tmp_path)
    registry.upsert(_device("a", "00:00:00:00:00:01", 80))
    registry.touch("00:00:00:00:00:01", seen_at=5.0, battery_percent=None)  # by its address
    assert registry.list() == [
        RegisteredDevice("a", "00:00:00:00:00:01", "name a", "Room 3", 1.0e9, 5.0, 80)
    ]
    registry.touch("a", seen_at=6.0, battery_percent=0)  # empty is a level, not unknown
    assert DeviceRegistry(tmp_path).get("a").last_seen == 6.0
    assert DeviceRegistry(tmp_path).get("a").battery_percent == 0


def test_remove_by_address_returns_the_device_and_keeps_the_others(tmp_path: Path) -> None:
    registry = DeviceRegistry(tmp_path)
    a, b = _device("a", "00:00:00:00:00:01"), _device("b", "00:00:00:00:00:02")
    registry.upsert(a)
    registry.upsert(b)
    assert registry.remove("00:00:00:00:00:01") == a
    assert DeviceRegistry(tmp_path).list() == [b]


@pytest.mark.parametrize(
    "content", [b"{not json", b"\xff\xfe not utf-8", b'{"devices": 1}', b"[]", b"{}"]
)
def test_a_damaged_file_is_refused_not_read_as_empty(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "devices.json").write_bytes(content)
    with pytest.raises(RegistryError) as caught:
        DeviceRegistry(tmp_path).list()
    path = tmp_path / "devices.json"
    text = str(caught.value)
    assert caught.value.__cause__ is not None
    if content.startswith((b"{not", b"\xff")):
        assert text.startswith(f"cannot read device registry {path}: ")
        assert str(caught.value.__cause__) in text
    else:
        assert text == f"device registry {path} is not in the expected format"


@pytest.mark.parametrize("entry", [{"bogus": 1}, {"id": "a"}, "a"])
def test_an_entry_of_another_shape_is_refused(tmp_path: Path, entry: object) -> None:
    (tmp_path / "devices.json").write_text(json.dumps({"devices": [entry]}), encoding="utf-8")
    with pytest.raises(RegistryError, match="is not in the expected format"):
        DeviceRegistry(tmp_path).get("a")


def test_a_registry_that_cannot_be_read_says_so(tmp_path: Path) -> None:
    (tmp_path / "devices.json").mkdir()
    with pytest.raises(RegistryError, match=r"^cannot read device registry .*devices\.json: "):
        DeviceRegistry(tmp_path).list()


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = DeviceRegistry(tmp_path)
    registry.upsert(_device("a", "00:00:00:00:00:01"))
    seen: list[list[str]] = []

    def full_disk(fd: int) -> None:
        seen.append(sorted(p.name for p in tmp_path.iterdir()))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        registry.upsert(_device("b", "00:00:00:00:00:02"))
    monkeypatch.undo()
    # The new registry was written beside the old one, hidden, and is gone.
    (written,) = seen
    (temporary,) = [name for name in written if name != "devices.json"]
    assert temporary.startswith(".devices-") and temporary.endswith(".json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["devices.json"]
    assert [d.id for d in registry.list()] == ["a"]


def test_each_write_is_made_durable_file_then_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[bool] = []
    real = os.fsync

    def watch(fd: int) -> None:
        synced.append(os.path.isdir(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fsync", watch)
    DeviceRegistry(tmp_path).upsert(_device("a", "00:00:00:00:00:01"))
    assert synced == [False, True]


def test_a_name_in_any_script_is_kept_and_the_file_stays_ascii(tmp_path: Path) -> None:
    registry = DeviceRegistry(tmp_path)
    registry.upsert(RegisteredDevice("a", "00:00:00:00:00:01", "Stéthoscope Chambre 3"))
    assert registry.path.read_bytes().isascii()  # JSON escapes: the same bytes in any locale
    assert "St\\u00e9thoscope" in registry.path.read_text(encoding="ascii")
    assert DeviceRegistry(tmp_path).get("a").name == "Stéthoscope Chambre 3"
