"""Update Data: bring the issue cache up to date with the data source in as few requests as we can.

The engine talks to the source only through ``data.sources.base.IssueSource`` (Jira, Azure DevOps or the demo);
the scope is the source's own query (the JQL, the WIQL condition). Modes:
- ``full``: no usable cache (first run, or the scope, URL, deployment/project or source changed, or the mappings
  need a field the cache lacks): every issue is fetched.
- ``incremental``: the issues changed since the last successful fetch minus
  ``jira.incremental_overlap_minutes`` (``changed_since``: for Jira ``(<JQL>) AND updated >= <epoch ms>``, an
  unquoted number, so Jira's profile time zone plays no part; for Azure DevOps a ``[System.ChangedDate]``
  condition at full time precision). Issues are merged by id; the newest ``updated`` wins. When nothing
  changed this costs the source's delta query alone, and ``issues.json`` is not rewritten.
- ``reconcile``: an incremental update followed by an id-only listing of the scope, dropping cached issues
  that were deleted or left the scope (a delta never shows those) and fetching listed ones the cache lacks.
  Runs when ``full=True``, when ``jira.full_refresh_hours`` have passed since the last reconcile (0 means
  every update), or on every update of a source whose id listing is cheap (``reconcile_every_update``:
  Azure DevOps lists 20,000 ids in one WIQL request, so a deleted or moved work item leaves the cache at the
  next update). An empty listing while issues are cached is refused: a source may answer a search with bad
  credentials by an empty 200.

A failed or cancelled update raises and leaves the cache exactly as it was: nothing is written before every
request has succeeded. The demo source (``data.sources.demo_source``) goes through the same path; its data is tied
to its anchor day, so a new day means a full regeneration.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from data.metrics.field_values import parse_jira_time, utc_iso
from data.sources.base import IssueSource, Progress, UpdateError
from data.sources.demo_source import DemoSource
from data.store.issue_cache import (
    cache_config_hash,
    cache_identity,
    cache_invalid_reason,
    load_cached_issues,
    load_fetch_meta,
    new_data_version,
    required_fields,
    save_cached_issues,
    save_fetch_meta,
)

logger = logging.getLogger(__name__)

EMPTY_JQL_MESSAGE = "Set the JQL in Jira settings (e.g. project = ABC)"

@dataclass(frozen=True)
class FetchResult:
    """What one update did; ``changed`` is false when the cached issues and ``data_version`` stayed the same."""

    mode: str  # "full" | "incremental" | "reconcile"
    new: int
    updated: int
    removed: int
    total: int
    requests: int
    data_version: str
    duration_s: float
    changed: bool
    skipped_histories: int = 0  # changelog entries whose date could not be read (left out, issue kept)
    skipped_issues: int = 0  # issues the source sent without an id (left out)
    warnings: tuple[str, ...] = ()  # why the data may be incomplete (e.g. Jira repeated pages)

    def summary(self) -> str:
        requests = f"{self.requests} request{'s' if self.requests != 1 else ''}"
        line = (f"{self.mode} update: {self.new} new, {self.updated} updated, {self.removed} removed; "
                f"{self.total} issues cached; {requests}; {self.duration_s:.1f} s")
        return line + skipped_note(self.skipped_histories, self.skipped_issues) + warnings_note(self.warnings)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def skipped_note(histories: int, issues: int) -> str:
    """``; left out: 2 changelog entries with an unreadable date`` (empty when nothing was left out)."""
    parts = []
    if histories:
        parts.append(f"{histories} changelog entr{'y' if histories == 1 else 'ies'} with an unreadable date")
    if issues:
        parts.append(f"{issues} issue{'' if issues == 1 else 's'} without an id")
    return f"; left out: {' and '.join(parts)}" if parts else ""


def warnings_note(warnings: tuple[str, ...] | list[str]) -> str:
    """``; warning: <text>`` for each warning (empty when there are none)."""
    return "".join(f"; warning: {text}" for text in warnings)


def update_issues(
    settings: Mapping[str, Any],
    source: IssueSource,
    *,
    full: bool = False,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    now: datetime | None = None,
) -> FetchResult:
    """Update the issue cache from ``source``; see the module docstring for the modes.

    Raises ``UpdateError`` (no JQL), the source's errors (``JiraError``, ``FetchCancelled``) and
    ``PersistenceError`` (cache not writable); in every case the cache is left untouched.
    """
    started = time.monotonic()
    now = (now or datetime.now(UTC)).astimezone(UTC)
    demo = isinstance(source, DemoSource)
    identity = cache_identity(settings, demo=demo)
    if identity["source"] == "jira" and not identity["jql"]:
        raise UpdateError(EMPTY_JQL_MESSAGE)
    run = _Run(settings, source, identity, demo, now, progress, cancel)
    meta = load_fetch_meta()
    reason = cache_invalid_reason(meta, settings, demo=demo)
    if reason is None and isinstance(source, DemoSource) and meta and meta.get("demo_anchor") != source.anchor_label:
        reason = "the demo data is from another day"
    if reason is not None or meta is None:
        result = run.full()
    else:
        every_update = bool(getattr(source, "reconcile_every_update", False))
        reconcile = full or every_update or _reconcile_due(meta, settings, now)
        result = run.incremental(meta, reconcile=reconcile)
    result = FetchResult(**{**asdict(result), "duration_s": round(time.monotonic() - started, 3),
                            "skipped_histories": run.skipped_histories, "skipped_issues": run.skipped_issues,
                            "warnings": tuple(run.warnings)})
    because = f" (full fetch because {reason})" if reason and result.mode == "full" else ""
    logger.info("Issue update finished: %s%s", result.summary(), because,
                extra={"update": result.to_dict(), "source": identity["source"]})
    return result


def _reconcile_due(meta: Mapping[str, Any], settings: Mapping[str, Any], now: datetime) -> bool:
    last = parse_jira_time(meta.get("last_reconcile"))
    hours = (settings.get("jira") or {}).get("full_refresh_hours", 24)
    return last is None or now - last >= timedelta(hours=hours)


class _Run:
    """One update: the source, the settings and the clock, with the full and incremental paths."""

    def __init__(self, settings: Mapping[str, Any], source: IssueSource, identity: dict[str, str], demo: bool,
                 now: datetime, progress: Progress | None, cancel: threading.Event | None) -> None:
        self.settings, self.source, self.identity, self.demo = settings, source, identity, demo
        self.now, self.progress, self.cancel = now, progress, cancel
        self.requests_before = source.request_count
        self.scope = identity["jql"]  # the JQL, the WIQL condition or the demo's fixed query
        self.skipped_histories = self.skipped_issues = 0
        self.warnings: list[str] = []

    def _counted(self, issues: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """What the source's last call left out (unreadable data) and warned of, added up for the result."""
        self.skipped_histories += int(getattr(self.source, "skipped_history_count", 0) or 0)
        self.skipped_issues += int(getattr(self.source, "skipped_issue_count", 0) or 0)
        self.warnings += [text for text in getattr(self.source, "warnings", None) or () if text not in self.warnings]
        return issues

    @property
    def requests(self) -> int:
        return self.source.request_count - self.requests_before

    def full(self) -> FetchResult:
        fields = required_fields(self.settings)
        issues = self._counted(self.source.search_issues(self.scope, fields, progress=self.progress,
                                                         cancel=self.cancel))
        fresh = {str(issue["id"]): issue for issue in issues}
        stamp = utc_iso(self.now)
        written = self._save(list(fresh.values()), self._meta(fields, {"last_full_fetch": stamp,
                                                                       "last_reconcile": stamp}))
        return FetchResult("full", len(fresh), 0, 0, len(fresh), self.requests, written["data_version"], 0.0,
                           True)

    def incremental(self, meta: dict[str, Any], *, reconcile: bool) -> FetchResult:
        fields = list(meta.get("fields") or required_fields(self.settings))
        overlap = (self.settings.get("jira") or {}).get("incremental_overlap_minutes", 5)
        since = parse_jira_time(meta.get("last_successful_fetch")) or self.now
        delta = self._counted(self.source.changed_since(self.scope, since - timedelta(minutes=overlap), fields,
                                                        progress=self.progress, cancel=self.cancel))
        mode = "reconcile" if reconcile else "incremental"
        if not delta and not reconcile:
            return self._unchanged(meta, fields, mode, {})
        cached = load_cached_issues()
        if cached is None or cached.meta.get("data_version") != meta.get("data_version"):
            logger.warning("The cached issues could not be read; fetching everything again")
            return self.full()
        by_id = {str(issue["id"]): issue for issue in cached.issues}
        new, updated = _merge(by_id, delta)
        removed = 0
        if reconcile:
            removed, added = self._reconcile(by_id, fields)
            new += added
        stamps = {"last_reconcile": utc_iso(self.now)} if reconcile else {}
        if not (new or updated or removed):
            return self._unchanged(meta, fields, mode, stamps)
        written = self._save(list(by_id.values()), self._meta(fields, {**_fetch_stamps(meta), **stamps}))
        return FetchResult(mode, new, updated, removed, len(by_id), self.requests, written["data_version"],
                           0.0, True)

    def _reconcile(self, by_id: dict[str, dict[str, Any]], fields: list[str]) -> tuple[int, int]:
        """Drop cached issues the JQL no longer lists, fetch listed ones the cache lacks: (removed, added)."""
        listed = {str(issue_id): str(key) for issue_id, key in
                  self.source.list_issue_ids(self.scope, cancel=self.cancel)}
        if not listed and by_id:
            raise UpdateError(f"The data source listed no issues for its scope although {len(by_id)} are cached: "
                              "check that the credentials are accepted (Test connection). The cached issues were "
                              "kept.")
        gone = [issue_id for issue_id in by_id if issue_id not in listed]
        for issue_id in gone:
            del by_id[issue_id]
        missing = [key for issue_id, key in listed.items() if issue_id not in by_id]
        added = 0
        if missing:
            for issue in self._counted(self.source.fetch_listed(self.scope, missing, fields, cancel=self.cancel)):
                if str(issue["id"]) not in by_id:
                    added += 1
                by_id[str(issue["id"])] = issue
        return len(gone), added

    def _unchanged(self, meta: dict[str, Any], fields: list[str], mode: str,
                   stamps: dict[str, str]) -> FetchResult:
        written = save_fetch_meta({**meta, **stamps, "last_successful_fetch": utc_iso(self.now),
                                   "config_hash": cache_config_hash(self.settings, fields, demo=self.demo)})
        return FetchResult(mode, 0, 0, 0, int(written.get("issue_count") or 0), self.requests,
                           str(written["data_version"]), 0.0, False)

    def _meta(self, fields: list[str], stamps: Mapping[str, Any]) -> dict[str, Any]:
        return {
            **self.identity,
            "fields": fields,
            "config_hash": cache_config_hash(self.settings, fields, demo=self.demo),
            "last_successful_fetch": utc_iso(self.now),
            **stamps,
            "demo_anchor": self.source.anchor_label if isinstance(self.source, DemoSource) else None,
            "data_version": new_data_version(),
        }

    def _save(self, issues: list[dict[str, Any]], meta: dict[str, Any]) -> dict[str, Any]:
        return save_cached_issues(issues, meta)


def _fetch_stamps(meta: Mapping[str, Any]) -> dict[str, Any]:
    return {key: meta.get(key) for key in ("last_full_fetch", "last_reconcile")}


def _merge(by_id: dict[str, dict[str, Any]], delta: list[dict[str, Any]]) -> tuple[int, int]:
    """Merge ``delta`` into ``by_id`` in place (newest ``updated`` wins); returns (new, updated) counts."""
    new = updated = 0
    for issue in delta:
        issue_id = str(issue["id"])
        current = by_id.get(issue_id)
        if current is None:
            new += 1
        elif _is_newer(issue, current):
            updated += 1
        else:
            continue
        by_id[issue_id] = issue
    return new, updated


def _updated_text(issue: Mapping[str, Any]) -> Any:
    """``fields.updated``; ``None`` when an issue (e.g. one cached by an older version) has no fields object."""
    fields = issue.get("fields")
    return fields.get("updated") if isinstance(fields, Mapping) else None


def _is_newer(candidate: Mapping[str, Any], current: Mapping[str, Any]) -> bool:
    fresh = parse_jira_time(_updated_text(candidate))
    known = parse_jira_time(_updated_text(current))
    if fresh is None or known is None:
        return fresh is not None or known is None
    return fresh > known
