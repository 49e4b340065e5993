"""scripts/install.sh and uninstall.sh, run for real into a staged root (DESTDIR).

The staged root has its own /etc/passwd and /etc/group, so the `stetho` user is created
there (useradd --prefix) and this machine's users, /opt and /etc stay untouched.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "systemd" / "stetho-edge.service"

needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("useradd") is None,
    reason="install.sh needs root and useradd (it creates a user in the staged root)",
)

# The staged root gets a whole venv (numpy, SciPy), written and then removed by the uninstall:
# in RAM when /dev/shm has room and lets programs run (the venv's python runs from it). On this
# disk (ext4 mounted with discard) the test took 31.5-34.5 s, in RAM 25.8-32.4 s (load 3.5-4.7).
# Modes, owners and the files made are the same on tmpfs.
SHM = Path("/dev/shm")  # mkdtemp makes a private folder there
SHM_FREE_BYTES = 2 * 2**30


@pytest.fixture
def stage(tmp_path: Path) -> Iterator[Path]:
    """A folder for a staged root: in /dev/shm when it can hold one, else `tmp_path`."""
    try:
        usable = shutil.disk_usage(SHM).free >= SHM_FREE_BYTES
        usable = usable and not os.statvfs(SHM).f_flag & os.ST_NOEXEC
    except OSError:
        usable = False
    if not usable:
        yield tmp_path
        return
    path = Path(tempfile.mkdtemp(prefix="stetho-install-", dir=SHM))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


EXAMPLE = """# test example configuration
site = "oakhill"
"""


def staged_root(path: Path, groups: list[str]) -> Path:
    etc = path / "etc"
    etc.mkdir(parents=True)
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (etc / "shadow").write_text("root:*:19000:0:99999:7:::\n")
    lines = ["root:x:0:"] + [f"{g}:x:{100 + i}:" for i, g in enumerate(groups)]
    (etc / "group").write_text("\n".join(lines) + "\n")
    (etc / "gshadow").write_text("".join(f"{g}:*::\n" for g in ["root", *groups]))
    return path


# pip's bytecode compiling of numpy, scipy and the rest took about 13 of this file's 52-65 s.
# What the tests check (the user, the modes, the unit, the locked versions) does not depend on
# it, and passing an option through PIP_OPTS is the documented offline install's path: the
# staged venv having no bytecode shows the option reached pip.
PIP_OPTS = "--no-compile"


def run(script: str, root: Path, example: Path, *args: str) -> str:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/root"),
        "DESTDIR": str(root),
        "CONFIG_EXAMPLE": str(example),
        "PIP_OPTS": PIP_OPTS,
    }
    result = subprocess.run(
        [str(REPO / "scripts" / script), *args], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def entry(root: Path, table: str, name: str) -> list[str]:
    for line in (root / "etc" / table).read_text().splitlines():
        if line.split(":")[0] == name:
            return line.split(":")
    return []


def check_installed(root: Path, example: Path, groups: set[str]) -> None:
    user = entry(root, "passwd", "stetho")
    assert user[5:] == ["/var/lib/stetho-edge", "/usr/sbin/nologin"]
    for group in groups:
        assert "stetho" in entry(root, "group", group)[3].split(",")
    config = root / "etc/stetho-edge/config.toml"
    info = config.stat()
    assert stat.S_IMODE(info.st_mode) == 0o640
    assert (info.st_uid, info.st_gid) == (0, int(entry(root, "group", "stetho")[2]))
    assert stat.S_IMODE((root / "etc/stetho-edge").stat().st_mode) == 0o750
    state = (root / "var/lib/stetho-edge").stat()
    assert (state.st_uid, state.st_gid) == (int(user[2]), int(user[3]))
    assert stat.S_IMODE(state.st_mode) == 0o750
    unit = root / "etc/systemd/system/stetho-edge.service"
    assert unit.read_text() == UNIT.read_text()
    assert stat.S_IMODE(unit.stat().st_mode) == 0o644
    venv = root / "opt/stetho-edge/venv"
    assert (venv / "bin/stetho").is_file()
    assert (root / "opt/stetho-edge/doc/deploy-raspberry-pi.md").is_file()
    check_locked_versions(venv)
    numpy = next((venv / "lib").glob("python3.*/site-packages/numpy"))
    assert not list(numpy.glob("__pycache__/*.pyc")), "PIP_OPTS did not reach pip"


def check_locked_versions(venv: Path) -> None:
    """Every package in the venv is at the version requirements.lock pins."""
    frozen = subprocess.run(
        [str(venv / "bin/python"), "-m", "pip", "freeze", "--exclude-editable"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    locked = {
        line.split("==")[0].lower().replace("_", "-"): line.split("==")[1].split()[0]
        for line in (REPO / "requirements.lock").read_text().splitlines()
        if "==" in line and not line.startswith((" ", "#"))
    }
    installed = dict(line.split("==") for line in frozen if "==" in line)
    for name, version in installed.items():
        key = name.lower().replace("_", "-")
        if key != "stetho-edge":
            assert locked.get(key) == version, f"{name} {version} is not the locked version"
    for needed in ("numpy", "scipy", "paho-mqtt", "bleak"):
        assert needed in {n.lower() for n in installed}


@needs_root
def test_install_upgrade_uninstall_purge_in_a_staged_root(tmp_path: Path, stage: Path) -> None:
    real_state = (Path("/opt/stetho-edge").exists(), Path("/etc/stetho-edge").exists())
    root = staged_root(stage / "root", groups=["audio"])  # no BlueZ yet on this "Pi"
    example = REPO / "config.example.toml"
    if not example.exists():
        example = tmp_path / "config.example.toml"
        example.write_text(EXAMPLE)

    out = run("install.sh", root, example)
    check_installed(root, example, groups={"audio"})
    assert (root / "etc/stetho-edge/config.toml").read_text() == example.read_text()
    dropin = root / "etc/systemd/system/stetho-edge.service.d/10-groups.conf"
    assert dropin.read_text().splitlines()[-2:] == [
        "SupplementaryGroups=",
        "SupplementaryGroups=audio",
    ]
    assert "skipped daemon-reload and enable" in out

    # Upgrade after `apt install bluez`: config kept, the user joins bluetooth, drop-in gone.
    with (root / "etc/group").open("a") as group:
        group.write("bluetooth:x:120:\n")
    (root / "etc/stetho-edge/config.toml").write_text('site = "edited"\n')
    out = run("install.sh", root, example)
    check_installed(root, example, groups={"audio", "bluetooth"})
    assert "keeping existing" in out
    assert (root / "etc/stetho-edge/config.toml").read_text() == 'site = "edited"\n'
    assert not dropin.exists()

    recording = root / "var/lib/stetho-edge/outbox/r1.flac"
    recording.parent.mkdir()
    recording.write_bytes(b"fLaC")
    run("uninstall.sh", root, example)
    assert not (root / "opt/stetho-edge").exists()
    assert not (root / "etc/systemd/system/stetho-edge.service").exists()
    assert recording.read_bytes() == b"fLaC"
    assert (root / "etc/stetho-edge/config.toml").exists() and entry(root, "passwd", "stetho")

    run("uninstall.sh", root, example, "--purge")
    assert not (root / "var/lib/stetho-edge").exists()
    assert not (root / "etc/stetho-edge").exists()
    assert entry(root, "passwd", "stetho") == [] and entry(root, "group", "stetho") == []
    assert (Path("/opt/stetho-edge").exists(), Path("/etc/stetho-edge").exists()) == real_state


@needs_root
def test_install_stops_before_touching_anything_without_an_example(tmp_path: Path) -> None:
    root = staged_root(tmp_path / "root", groups=["audio"])
    env = {
        "PATH": os.environ["PATH"],
        "DESTDIR": str(root),
        "CONFIG_EXAMPLE": str(tmp_path / "none"),
    }
    result = subprocess.run(
        [str(REPO / "scripts/install.sh")], env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "no example configuration" in result.stderr
    assert sorted(p.name for p in root.iterdir()) == ["etc"]
    assert entry(root, "passwd", "stetho") == []


@needs_root
def test_install_refuses_the_hub_and_dev_locks_before_touching_anything(tmp_path: Path) -> None:
    # requirements-hub.lock made EXTRAS=hub a lock that exists: the Pi would have got the hub.
    root = staged_root(tmp_path / "root", groups=["audio"])
    for extras in ("hub", "dev"):
        env = {"PATH": os.environ["PATH"], "DESTDIR": str(root), "EXTRAS": extras}
        result = subprocess.run(
            [str(REPO / "scripts/install.sh")], env=env, capture_output=True, text=True
        )
        assert result.returncode == 1
        assert f"EXTRAS={extras}: only usb is offered on the Pi" in result.stderr
    assert sorted(p.name for p in root.iterdir()) == ["etc"]
    assert entry(root, "passwd", "stetho") == []


def test_uninstall_rejects_unknown_options() -> None:
    result = subprocess.run(
        [str(REPO / "scripts/uninstall.sh"), "--all"], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "usage" in result.stderr
