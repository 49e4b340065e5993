"""Health data's folders are made 0700, but a shared folder (sticky bit) is never shut."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.exam import ExamStore
from edge_agent.exam.errors import ExamStorageError
from stetho_common.private_files import private_dir, private_file, write_private


def _shared(tmp_path: Path) -> Path:
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o1777)  # what /tmp and /var/tmp are
    return folder


def test_a_folder_of_its_own_is_made_private_new_or_not(tmp_path: Path) -> None:
    made = private_dir(tmp_path / "a" / "b")
    assert stat.S_IMODE(made.stat().st_mode) == 0o700
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    loose.chmod(0o755)
    assert stat.S_IMODE(private_dir(loose).stat().st_mode) == 0o700


def test_a_shared_folder_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    shared = _shared(tmp_path)
    with pytest.raises(PermissionError, match="shared folder") as refused:
        private_dir(shared)
    assert refused.value.filename == str(shared)
    said = "a shared folder, which is never made private: choose one of its own"
    assert (refused.value.errno, refused.value.strerror) == (errno.EPERM, said)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
    inside = private_dir(shared / "mine")  # a folder of its own inside it is fine
    assert stat.S_IMODE(inside.stat().st_mode) == 0o700


def test_a_database_straight_in_a_shared_folder_is_refused_in_words(tmp_path: Path) -> None:
    shared = _shared(tmp_path)
    with pytest.raises(ExamStorageError, match="shared folder"):
        ExamStore(shared / "exams.sqlite3")
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
    assert not (shared / "exams.sqlite3").exists()


def test_stetho_alerts_save_into_a_shared_folder_is_one_line(tmp_path: Path) -> None:
    shared = _shared(tmp_path)
    args = ["alerts", "--broker", "mqtt://127.0.0.1:1", "--save", str(shared), "--count", "1"]
    done = subprocess.run([sys.executable, "-m", "stetho_cli", *args],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "shared folder" in " ".join(done.stderr.split())
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777


@pytest.fixture
def no_umask() -> Iterator[None]:
    """A umask of 0, the worst a hand-run command can have: nothing masks a loose mode."""
    before = os.umask(0)
    try:
        yield
    finally:
        os.umask(before)


@pytest.mark.usefixtures("no_umask")
def test_folders_and_files_are_private_from_their_creation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Made loose and chmod'ed after, a folder or file could be opened by another user in
    # between (an open descriptor keeps its access): the mode is seen before the chmod.
    seen: list[int] = []
    chmod, fchmod = os.chmod, os.fchmod

    def chmod_spy(path: Path, mode: int) -> None:
        seen.append(stat.S_IMODE(os.stat(path).st_mode))
        chmod(path, mode)

    def fchmod_spy(fd: int, mode: int) -> None:
        seen.append(stat.S_IMODE(os.fstat(fd).st_mode))
        fchmod(fd, mode)

    monkeypatch.setattr(os, "chmod", chmod_spy)
    monkeypatch.setattr(os, "fchmod", fchmod_spy)
    private_dir(tmp_path / "new")
    private_file(tmp_path / "new" / "db")
    write_private(tmp_path / "new" / "alert.json", b"{}")
    assert seen == [0o700, 0o600, 0o600]


def test_a_crashed_write_s_leftover_is_overwritten_and_gone(tmp_path: Path) -> None:
    saved = tmp_path / "alert.json"
    (tmp_path / "alert.json.part").write_bytes(b"x" * 64)  # a longer write, killed midway
    write_private(saved, b"{}")
    assert saved.read_bytes() == b"{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alert.json"]
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
