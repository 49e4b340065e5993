"""Where the shared data folder is, for the benches that measure real recordings."""

from __future__ import annotations

import os
import sys
from pathlib import Path

DEFAULT_DATA = "../shared/data"


def data_folder() -> Path:
    """``STETHO_DATA``, else ``../shared/data`` (beside the repository)."""
    return Path(os.environ.get("STETHO_DATA", DEFAULT_DATA))


def located(data_dir: Path | None, check: str) -> tuple[Path, str | None]:
    """The shared data folder (``data_dir``, else :func:`data_folder`), and why ``check``
    skips when it holds no MANIFEST.csv (None: it does); the reason goes to stderr too."""
    where = data_dir if data_dir is not None else data_folder()
    if (where / "MANIFEST.csv").exists():
        return where, None
    reason = f"no MANIFEST.csv under {where}: set STETHO_DATA to the shared data folder"
    print(f"{check} skipped: {reason}", file=sys.stderr)
    return where, reason
