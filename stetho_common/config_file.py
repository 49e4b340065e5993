"""Reading a configuration file, and the one rule for a file that holds a secret.

The agent's and the hub's configurations (and the doctor's options) say these problems in the
same words; each raises its own error type, which names the file.
"""

from __future__ import annotations

import stat
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from stetho_common.config_error import InvalidConfig

__all__ = ["check_secret_permissions", "read_toml"]


def read_toml(path: Path, error: type[InvalidConfig]) -> dict[str, Any]:
    """The TOML document in ``path``; ``error`` naming the file when it cannot be read or parsed."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise error(str(path), [f"cannot read the file: {exc.strerror}"]) from exc
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise error(str(path), [f"not valid TOML: {exc}"]) from exc


def check_secret_permissions(
    secrets: Iterable[tuple[str, Path | None]], error: type[InvalidConfig]
) -> None:
    """``error`` unless only its owner may read each secret file (key or option, path; None:
    not given). The first file found open to group or others is named, with the fix."""
    for what, path in secrets:
        if path is None:
            continue
        try:
            mode = path.stat().st_mode
        except OSError as exc:
            raise error(str(path), [f"{what}: cannot read the file: {exc.strerror}"]) from exc
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise error(
                str(path),
                [
                    f"{what}: this file holds a secret but is readable by group or others "
                    f"(mode {stat.S_IMODE(mode):04o}); run `chmod 600 {path}`"
                ],
            )
