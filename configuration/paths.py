"""Where the dashboard keeps its files.

Every state file (settings, snapshots, caches, logs) lives in one data directory: the folder named by the
environment variable ``DASHBOARD_DATA_DIR`` when it is set, otherwise the project root (the folder holding
``app.py``). The variable is read on every call, so tests and the command line can point a process elsewhere
without reloading modules.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePath

DATA_DIR_ENV = "DASHBOARD_DATA_DIR"


class DataDirError(OSError):
    """The data directory cannot be created or used; the message names the folder and the reason."""


def project_root() -> Path:
    """The repository folder: the parent of ``configuration/``."""
    return Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """The data directory, created if missing.

    Raises:
        DataDirError: the folder cannot be created (permission, a file in the way, ...).
    """
    raw = os.environ.get(DATA_DIR_ENV, "").strip()
    folder = Path(raw).expanduser() if raw else project_root()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        source = f"{DATA_DIR_ENV}={raw}" if raw else "the project folder"
        raise DataDirError(f"Cannot use data directory {folder} ({source}): {exc.strerror or exc}") from exc
    return folder


def data_file(name: str) -> Path:
    """Path of the state file ``name`` inside the data directory.

    ``name`` is relative (``"metrics_cache.json"`` or ``"cache/issues.json"``); absolute paths and ``..``
    are refused so a setting can never point a state file outside the data directory.
    """
    pure = PurePath(name)
    if not name or pure.is_absolute() or ".." in pure.parts:
        raise ValueError(f"State file name must be a relative path inside the data directory, got {name!r}")
    return data_dir() / pure
