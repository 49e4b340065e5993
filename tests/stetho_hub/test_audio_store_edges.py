"""The audio store's edges: where a file goes, what a crash or another hub leaves behind and
what becomes of it, and every failure reported as the archive's own error, naming what failed."""

from __future__ import annotations

import errno
import os
import secrets
import time
from pathlib import Path

import pytest

from stetho_hub.errors import StorageUnavailableError
from stetho_hub.storage import AudioStore, audio_store, sha256_hex

DATA = b"fLaC" + bytes(range(256)) * 4
DIGEST = sha256_hex(DATA)
NOW = 1_800_000_000.0  # a fixed "now" for the sweep, a whole second so mtimes compare exactly


def test_a_file_is_named_by_its_hash_in_a_folder_of_its_first_two_digits(tmp_path: Path) -> None:
    store = AudioStore(tmp_path / "audio")
    assert store.put(DATA) == DIGEST
    assert store.path_for(DIGEST) == tmp_path / "audio" / DIGEST[:2] / f"{DIGEST}.flac"
    assert store.read(DIGEST) == DATA


def test_a_name_that_is_not_a_lowercase_sha256_is_refused(tmp_path: Path) -> None:
    store = AudioStore(tmp_path / "audio")
    for bad in (DIGEST.upper(), DIGEST[:-1], "../" + DIGEST[3:]):
        with pytest.raises(ValueError, match="not a lowercase hex SHA-256"):
            store.path_for(bad)


def test_a_damaged_copy_is_written_again_whole(tmp_path: Path) -> None:
    store = AudioStore(tmp_path / "audio")
    store.put(DATA)
    path = store.path_for(DIGEST)
    path.write_bytes(DATA[:100])  # cut short on the disk
    assert store.put(DATA) == DIGEST
    assert path.read_bytes() == DATA


def test_a_folder_another_hub_made_first_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = AudioStore(tmp_path / "audio")
    real_mkdir = os.mkdir

    def beaten_to_it(path: Path, mode: int = 0o777) -> None:
        real_mkdir(path, mode)  # the other hub process, between our check and our mkdir
        real_mkdir(path, mode)

    monkeypatch.setattr(os, "mkdir", beaten_to_it)
    assert store.put(DATA) == DIGEST
    assert store.read(DIGEST) == DATA


def _leftover(root: Path, name: str, mtime: float) -> Path:
    folder = root / "ab"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(b"half a file")
    os.utime(path, (mtime, mtime))
    return path


def test_on_open_a_crash_leftover_is_swept_and_a_young_temporary_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "audio"
    stale = audio_store.STALE_TMP_S
    old = _leftover(root, ".tmp-0123456789abcdef", NOW - stale - 1)
    at_the_limit = _leftover(root, ".tmp-1111111111111111", NOW - stale)
    young = _leftover(root, ".tmp-fedcba9876543210", NOW - 5)  # another hub is writing it
    kept = _leftover(root, "not-a-temporary.flac", NOW - 10 * stale)
    (root / "ab" / ".tmp-gone").symlink_to(root / "nowhere")  # swept by another hub meanwhile
    monkeypatch.setattr(time, "time", lambda: NOW)
    AudioStore(root)
    monkeypatch.undo()
    assert not old.exists()
    assert at_the_limit.exists() and young.exists() and kept.exists()


def test_a_temporary_name_in_use_is_never_written_into(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = AudioStore(tmp_path / "audio")
    folder = store.path_for(DIGEST).parent
    folder.mkdir()
    taken = folder / ".tmp-0000000000000000"  # another hub's write in progress
    taken.write_bytes(b"half a file")
    monkeypatch.setattr(secrets, "token_hex", lambda n: "00" * n)
    with pytest.raises(StorageUnavailableError, match=f"cannot archive audio {DIGEST}"):
        store.put(DATA)
    assert taken.read_bytes() == b"half a file"
    assert not store.path_for(DIGEST).exists()


def test_a_failed_write_leaves_neither_the_file_nor_a_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = AudioStore(tmp_path / "audio")

    def disk_full(fd: int, data: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", disk_full)
    with pytest.raises(StorageUnavailableError, match=rf"cannot archive audio {DIGEST}: .*space"):
        store.put(DATA)
    monkeypatch.undo()
    folder = store.path_for(DIGEST).parent
    assert list(folder.iterdir()) == []


def test_a_folder_that_cannot_be_synced_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = AudioStore(tmp_path / "audio")
    store.path_for(DIGEST).parent.mkdir()  # so the one folder to sync is the file's

    def broken(path: Path) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(audio_store, "_fsync_dir", broken)
    with pytest.raises(StorageUnavailableError, match=r"cannot sync the audio archive: .*Input"):
        store.put(DATA)


def test_a_place_that_is_not_a_folder_is_an_error_naming_it(tmp_path: Path) -> None:
    occupied = tmp_path / "a-file"
    occupied.write_bytes(b"")
    with pytest.raises(StorageUnavailableError, match=f"audio archive {occupied}/audio: "):
        AudioStore(occupied / "audio")
    store = AudioStore(tmp_path / "audio")
    (tmp_path / "audio" / DIGEST[:2]).write_bytes(b"")  # where the hash's folder should be
    with pytest.raises(StorageUnavailableError, match=f"cannot archive audio {DIGEST}: "):
        store.put(DATA)


def test_reading_a_file_that_is_not_there_is_an_error_naming_it(tmp_path: Path) -> None:
    store = AudioStore(tmp_path / "audio")
    with pytest.raises(StorageUnavailableError, match=f"cannot read audio {DIGEST}: No such"):
        store.read(DIGEST)
