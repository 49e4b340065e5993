"""Health data's folders are made 0700, but a shared folder (sticky bit) is never shut."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from edge_agent.exam import ExamStore
from edge_agent.exam.errors import ExamStorageError
from stetho_common.private_files import private_dir


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
