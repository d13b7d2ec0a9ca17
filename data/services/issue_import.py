"""``cli.py import-issues``: an issues file (the ``cli.py fetch --output`` / REST shape) becomes the issue cache.

Why: a team moves its data between machines, or works from an export, without a Jira at hand. The issues are
stored exactly as a fetch stores them, with a new data version and the identity
``{"source": "file", "url": "", "deployment": "", "jql": <the file's name>}``, so the dashboard serves them like
fetched data (the demo is not prepared over them). Every field the file holds is kept, so any later mapping
finds its field. The tables are built and saved in the table cache at once, so the first page is fast.

What Update Data does afterwards: the cache is of another source than any configured one, so the next update
is a full fetch that replaces the imported issues (from the configured Jira, or the demo data when none is
configured). The command says so.

Refused, with the cache untouched: a file ``load_issues_file`` rejects or that holds no issues, an unusable
settings file (``SettingsError``), and an update or another import running (``UpdateAlreadyRunning``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from configuration.paths import data_file
from configuration.settings import SettingsError, field_mapping_hash, is_demo_mode, load_settings_state
from data.metrics.field_values import utc_iso
from data.services.dashboard_service import (
    IMPORTED_SOURCE,
    UpdateAlreadyRunning,
    effective_settings,
    load_dataset,
    source_label,
)
from data.services.issues_file import IssuesInputError, load_issues_file
from data.services.update_messages import plural
from data.store.issue_cache import save_cached_issues
from data.store.json_store import PersistenceError
from data.store.table_cache import table_path

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportResult:
    """What an import stored: how many issues, under which data version, and the table cache's state."""

    issue_count: int
    data_version: str
    file_name: str
    tables_ready: bool
    truncated_changelogs: int
    replaced_by: str  # what a later Update Data fetches in their place

    def summary(self) -> str:
        line = (f"imported {plural(self.issue_count, 'issue')} from {self.file_name} into the issue cache "
                f"(data version {self.data_version}); the dashboard now shows them")
        if not self.tables_ready:
            line += " (its tables are built on the first page load)"
        if self.truncated_changelogs:
            line += (f"; {plural(self.truncated_changelogs, 'issue')} had a truncated changelog, so their status "
                     "times may be incomplete")
        return f"{line}. Update Data replaces them with a full fetch {self.replaced_by}."


def import_issues(path: str | Path, settings: Mapping[str, Any] | None = None, *,
                  now: datetime | None = None) -> ImportResult:
    """Store the issues of ``path`` as the issue cache (see the module docstring); ``settings`` are those the
    tables are built with (default: ``app_settings.json``'s, which must be usable)."""
    if settings is None:
        state = load_settings_state()
        if state.read_only:
            raise SettingsError(f"nothing imported: {state.problem}. Fix the settings file first")
        settings = state.settings
    settings = effective_settings(settings)
    target = Path(path)
    loaded = load_issues_file(target)
    if not loaded.issues:
        raise IssuesInputError(f"{target.name}: holds no issues; nothing imported")
    stamp = utc_iso(now or datetime.now(UTC))
    meta = {"source": IMPORTED_SOURCE, "url": "", "deployment": "", "jql": target.name,
            "fields": _field_ids(loaded.issues), "imported_from": target.name, "last_successful_fetch": stamp,
            "last_full_fetch": stamp, "last_reconcile": stamp}
    lock = FileLock(str(data_file("update.lock")))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise UpdateAlreadyRunning("nothing imported: an update is running (another tab, a scheduled job or "
                                   "another import); try again when it has finished") from None
    try:
        written = save_cached_issues(loaded.issues, meta)
        tables_ready = _prepare_tables(settings, str(written["data_version"]))
    finally:
        lock.release()
    return ImportResult(issue_count=int(written["issue_count"]), data_version=str(written["data_version"]),
                        file_name=target.name, tables_ready=tables_ready,
                        truncated_changelogs=loaded.truncated_changelogs,
                        replaced_by=_replaced_by(settings))


def _prepare_tables(settings: Mapping[str, Any], data_version: str) -> bool:
    """Build the imported issues' tables and save them in the table cache; whether the table file is ready.
    The import itself stands either way: a failure here only means the first page load builds the tables."""
    try:
        dataset = load_dataset(settings)
    except Exception as error:  # the issues are stored; the tables are only a faster way to read them
        logger.warning("The tables of the imported issues were not prepared: %s", error,
                       exc_info=not isinstance(error, PersistenceError))
        return False
    return dataset is not None and table_path(data_version, field_mapping_hash(settings)).exists()


def _field_ids(issues: list[dict[str, Any]]) -> list[str]:
    """Every field id any issue holds: all are kept, so a mapping chosen later finds its field."""
    found: set[str] = set()
    for issue in issues:
        found.update(str(name) for name in issue["fields"])
    return sorted(found)


def _replaced_by(settings: Mapping[str, Any]) -> str:
    if is_demo_mode(settings):
        return "of the demo data, since no Jira is configured"
    return f"from {source_label(settings)}"
