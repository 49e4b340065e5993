"""A real PostgreSQL from Debian's packages, in a temporary directory, on a free loopback port.

Run as root (CI, containers), `initdb` and `postgres` refuse to start; they then run as the
`postgres` account the Debian package creates, or `nobody`, via `runuser`, in a directory
handed to that account. As any other user they run as that user.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from edge_agent.runtime.local_broker import free_port


class PostgresUnavailable(RuntimeError):
    pass


def find_bin_dir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if not candidates:
        raise PostgresUnavailable(
            "PostgreSQL's initdb is missing: install Debian's `postgresql` package "
            "(scripts/bootstrap.sh does)"
        )
    return Path(candidates[0]).parent


def _run_as() -> tuple[list[str], str | None]:
    if os.geteuid() != 0:
        return [], None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return ["runuser", "-u", name, "--"], name
    raise PostgresUnavailable("running as root with neither a `postgres` nor a `nobody` account")


# A cluster in RAM when /dev/shm has room for the suite's databases (about 1 GiB): on this
# disk (ext4 mounted with discard) a CREATE DATABASE took 190 ms, not 45, and removing the
# cluster at the end of a test run 30 s under load, not 0.5. The tests kill processes, never
# the machine, so where the files live changes nothing they check.
SHM = Path("/dev/shm")  # noqa: S108 - mkdtemp makes a private directory there
SHM_FREE_BYTES = 4 * 2**30


def _scratch_dir() -> str | None:
    """SHM when it is big enough (a container's default 64 MiB is not), else the default."""
    try:
        if SHM.is_dir() and shutil.disk_usage(SHM).free >= SHM_FREE_BYTES:
            return str(SHM)
    except OSError:
        pass
    return None


class PostgresServer:
    """initdb + pg_ctl start; `url(db)`, `create_database(name)`, `restart()`, `stop()`."""

    def __init__(self) -> None:
        self.bin = find_bin_dir()
        self.prefix, user = _run_as()
        self.base = Path(tempfile.mkdtemp(prefix="stetho-pg-", dir=_scratch_dir()))
        self.data = self.base / "data"
        self.port = free_port()
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(self.base, entry.pw_uid, entry.pw_gid)

    def _cmd(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*self.prefix, str(self.bin / tool), *args],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=self.base,
        )
        if result.returncode != 0:
            raise PostgresUnavailable(f"{tool} failed: {result.stdout}\n{result.stderr}")
        return result

    def start(self) -> None:
        if not self.data.exists():
            self._cmd(
                "initdb", "-D", str(self.data), "-U", "hub", "--auth=trust",
                "--encoding=UTF8", "--no-instructions",
            )  # fmt: skip
        # fsync off: the tests kill processes, never the machine, so what PostgreSQL wrote
        # survives in the page cache; a start after a crash then skips syncing every file of
        # the cluster (3 s on an idle machine, over 20 s under a loaded test run).
        options = (
            f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 "
            "-c max_connections=50 -c shared_buffers=16MB -c fsync=off"
        )
        self._cmd("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.base / "log"),
                  "-w", "-t", "60", "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._cmd("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://hub@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(self.url(), autocommit=True) as conn:
                    conn.execute(f'CREATE DATABASE "{name}"')  # a test's own name
                return self.url(name)
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def destroy(self) -> None:
        with contextlib.suppress(PostgresUnavailable):
            self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)
