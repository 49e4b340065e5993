"""Run a command under the seccomp confinement stetho-edge.service asks systemd for.

    python -m tests.deploy.confine UNIT -- COMMAND...
    unshare --mount --propagation private python -m tests.deploy.confine \
        --protect-system OUTER_MOUNT_NS --read-write STATE_DIR UNIT -- COMMAND...

systemd implements SystemCallFilter=, SystemCallErrorNumber= and RestrictAddressFamilies=
as seccomp filters installed just before exec, with no_new_privs set. A process can install
the same filter on itself, so a test can check that the agent really works with the unit's
filter, without systemd as PID 1. The syscall groups are expanded by the local
`systemd-analyze syscall-filter`, i.e. the same tables systemd would use. The filter is
built with libseccomp (libseccomp2), as systemd builds it.

With --protect-system (root, inside `unshare --mount`), the whole file system also becomes
read-only except the --read-write paths, as ProtectSystem=strict with StateDirectory= does.
Not emulated: PrivateTmp=, ProtectHome= (this machine's Python lives under /root),
PrivateUsers=, DeviceAllow= and the capability bounding set.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import errno
import os
import socket
import subprocess
import sys
from functools import cache
from pathlib import Path

SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_CMP_EQ = 4  # enum scmp_compare in seccomp.h
FAMILIES = {"AF_UNIX": socket.AF_UNIX, "AF_INET": socket.AF_INET, "AF_INET6": socket.AF_INET6}


class ArgCmp(ctypes.Structure):
    """struct scmp_arg_cmp."""

    _fields_ = (
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("datum_a", ctypes.c_uint64),
        ("datum_b", ctypes.c_uint64),
    )


def scmp_act_errno(number: int) -> int:
    return 0x00050000 | (number & 0xFFFF)


@cache
def expand(group: str) -> frozenset[str]:
    """Syscall names in `@group`, nested groups expanded, as systemd-analyze lists them."""
    listing = subprocess.run(
        ["systemd-analyze", "syscall-filter", group], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    names: set[str] = set()
    for line in listing[1:]:
        item = line.strip()
        if not item or item.startswith("#"):
            continue
        names |= expand(item) if item.startswith("@") else {item}
    return frozenset(names)


def unit_settings(unit: Path) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in unit.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key, []).append(value)
    return settings


def allowed_syscalls(settings: dict[str, list[str]]) -> set[str]:
    """Apply SystemCallFilter= lines in order: an allow list, then `~` lines removing groups."""
    allowed: set[str] = set()
    for value in settings["SystemCallFilter"]:
        deny = value.startswith("~")
        for item in value.removeprefix("~").split():
            names = expand(item) if item.startswith("@") else {item}
            allowed = allowed - names if deny else allowed | names
    return allowed


def install_filter(unit: Path) -> None:
    settings = unit_settings(unit)
    (error_name,) = settings.get("SystemCallErrorNumber", ["EPERM"])
    families = [FAMILIES[f] for f in settings["RestrictAddressFamilies"][0].split()]
    lib = ctypes.CDLL(ctypes.util.find_library("seccomp") or "libseccomp.so.2", use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_rule_add_array.argtypes = (
        ctypes.c_void_p,
        ctypes.c_uint32,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.POINTER(ArgCmp),
    )
    lib.seccomp_load.argtypes = (ctypes.c_void_p,)
    lib.seccomp_syscall_resolve_name.argtypes = (ctypes.c_char_p,)
    ctx = lib.seccomp_init(scmp_act_errno(getattr(errno, error_name)))
    for name in sorted(allowed_syscalls(settings) - {"socket"}):
        number = lib.seccomp_syscall_resolve_name(name.encode())
        if number >= 0:  # names of other architectures resolve to a negative pseudo-number
            lib.seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, number, 0, None)
    # RestrictAddressFamilies=: socket() only for the listed families (socketpair() is free).
    # systemd answers other families with EAFNOSUPPORT; here they get the default errno.
    socket_nr = lib.seccomp_syscall_resolve_name(b"socket")
    for family in families:
        condition = ArgCmp(0, SCMP_CMP_EQ, family, 0)
        if lib.seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, socket_nr, 1, ctypes.byref(condition)):
            raise OSError("seccomp_rule_add_array(socket) failed")
    if lib.seccomp_load(ctx) != 0:  # also sets no_new_privs, as NoNewPrivileges=yes
        raise OSError("seccomp_load failed")


def protect_system(read_write: list[Path], outer_namespace: str) -> None:
    """ProtectSystem=strict with ReadWritePaths=read_write, in this process's mount namespace.

    Bind remounts only change this namespace's view of each mount (never the file system
    itself); refusing to run in the caller's namespace keeps the host untouched.
    """
    if os.readlink("/proc/self/ns/mnt") == outer_namespace:
        raise SystemExit("confine: not in a private mount namespace; run under `unshare --mount`")
    for path in read_write:
        subprocess.run(["mount", "--bind", str(path), str(path)], check=True)
    exempt = {str(p) for p in read_write}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        point, options = fields[4], fields[5].split(",")
        api = point.startswith(("/proc", "/sys", "/dev"))  # strict leaves these to Protect*=
        if api or "ro" in options or point in exempt:
            continue
        subprocess.run(["mount", "-o", "remount,bind,ro", point], check=True)


def deny_write_execute() -> None:
    """MemoryDenyWriteExecute=yes through the kernel's own switch (Linux 6.3+), kept across exec."""
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_mdwe, pr_mdwe_refuse_exec_gain = 65, 1
    if libc.prctl(pr_set_mdwe, pr_mdwe_refuse_exec_gain, 0, 0, 0) != 0:
        print("confine: PR_SET_MDWE unavailable; running without it", file=sys.stderr)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.deploy.confine")
    parser.add_argument("--protect-system", metavar="OUTER_MOUNT_NS", default=None)
    parser.add_argument("--read-write", type=Path, action="append", default=[])
    parser.add_argument("unit", type=Path)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command after --")
    if args.protect_system is not None:
        protect_system(args.read_write, args.protect_system)
    if unit_settings(args.unit).get("MemoryDenyWriteExecute") == ["yes"]:
        deny_write_execute()
    install_filter(args.unit)
    os.execvp(command[0], command)  # noqa: S606 - exec the confined command, no shell


if __name__ == "__main__":
    main(sys.argv[1:])
