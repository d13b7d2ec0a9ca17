"""Notices the page keeps showing until the user dismisses them: ``cache/notices.json``.

Why on disk: a damaged state file is moved aside by whichever process reads it first (a page load, a
background Update Data, a cron job); an in-memory warning reached only that process's next page load, and only
one tab. Stored here, a notice is shown by every tab on every load and after every callback until dismissed.
The file lives beside the issue cache (git-ignored runtime state), never in ``app_settings.json``.

Shape: ``{"version": 1, "notices": [{"id", "header", "text", "level"}], "dismissed": [id, ...]}``. An id that
was dismissed is not recorded again, so a notice derived from a file on disk (a ``*.corrupt-*`` copy) stays
dismissed while the copy is kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from configuration.paths import data_dir, data_file
from data.store.json_store import read_json, update_json

NOTICES_FILE = "cache/notices.json"
NOTICES_VERSION = 1
_DISMISSED_KEPT = 500  # ids of dismissed notices remembered (the oldest are forgotten first)


def notices_path() -> Path:
    return data_file(NOTICES_FILE)


def _empty() -> dict[str, Any]:
    return {"version": NOTICES_VERSION, "notices": [], "dismissed": []}


def _normalised(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        return _empty()
    notices = [item for item in data.get("notices") or [] if isinstance(item, dict) and item.get("id")]
    dismissed = [str(item) for item in data.get("dismissed") or []]
    return {"version": NOTICES_VERSION, "notices": notices, "dismissed": dismissed}


def load_notices() -> tuple[list[dict[str, Any]], set[str]]:
    """(stored notices, oldest first; ids the user dismissed)."""
    data = _normalised(read_json(notices_path(), _empty, expect=dict, max_version=NOTICES_VERSION))
    return data["notices"], set(data["dismissed"])


def record_notices(notices: Iterable[Mapping[str, Any]]) -> None:
    """Add notices whose id is neither stored nor dismissed (``PersistenceError`` when the file can't be written)."""
    fresh = [dict(notice) for notice in notices]
    if not fresh:
        return

    def add(current: Any) -> dict[str, Any]:
        data = _normalised(current)
        known = {item["id"] for item in data["notices"]} | set(data["dismissed"])
        for notice in fresh:
            if notice["id"] not in known:
                data["notices"].append(notice)
                known.add(notice["id"])
        return data

    update_json(notices_path(), add, _empty, expect=dict, max_version=NOTICES_VERSION)


def dismiss(notice_id: str) -> None:
    """Forget a stored notice and remember its id as dismissed."""

    def drop(current: Any) -> dict[str, Any]:
        data = _normalised(current)
        data["notices"] = [item for item in data["notices"] if item["id"] != notice_id]
        if notice_id not in data["dismissed"]:
            data["dismissed"] = [*data["dismissed"], notice_id][-_DISMISSED_KEPT:]
        return data

    update_json(notices_path(), drop, _empty, expect=dict, max_version=NOTICES_VERSION)


def moved_aside_files() -> list[Path]:
    """Every ``<name>.corrupt-<UTC>`` copy in the data directory and its ``cache/`` folder, oldest name first."""
    found: list[Path] = []
    for folder in (data_dir(), data_dir() / "cache"):
        if folder.is_dir():
            found += [path for path in folder.glob("*.corrupt-*") if path.is_file()]
    return sorted(found, key=lambda path: path.name)
