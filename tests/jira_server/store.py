"""The issues a test Jira server holds, prepared once so that large data sets (50,000 issues) serve fast.

Each issue is kept with its full history oldest first, its JQL facts, and its inline changelogs (newest
first, truncated) built on first use. Search results are cached per query text and data version, so paging
through a result never re-runs the query. Every change bumps ``version``; issue records are replaced, never
mutated, so a request in flight keeps a consistent view.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from tests.jira_server.jql import Query

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f%z"


def epoch_ms(value: Any) -> int | None:
    """Epoch milliseconds of a Jira date-time (or date) string; ``None`` if absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    for parse in (datetime.fromisoformat, lambda text: datetime.strptime(text, _TIME_FORMAT)):
        try:
            moment = parse(value)
            return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp() * 1000)
        except (ValueError, OverflowError):
            continue
    return None


def _name(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("name") or value.get("value")
    return str(value).lower() if value else None


class StoredIssue:
    """One issue: ``id``, ``key``, ``fields``, ``histories`` (full, oldest first) and JQL ``facts``."""

    __slots__ = ("_inline", "_lock", "facts", "fields", "histories", "id", "key")

    def __init__(self, issue: dict, fallback_id: int) -> None:
        self.id = str(issue.get("id") or fallback_id)
        self.key = str(issue["key"])
        self.fields = dict(issue.get("fields") or {})
        changelog = issue.get("changelog") or {}
        histories = [h if "id" in h else {**h, "id": f"{self.id}{n:05d}"}
                     for n, h in enumerate(changelog.get("histories") or [])]
        histories.sort(key=_history_order)
        self.histories = histories
        self.facts = self._facts()
        self._inline: dict[int, dict] = {}
        self._lock = threading.Lock()

    def _facts(self) -> dict[str, Any]:
        fields = self.fields
        project = fields.get("project") if isinstance(fields.get("project"), dict) else {}
        project_key = str(project.get("key") or self.key.rsplit("-", 1)[0])
        number = self.key.rsplit("-", 1)[-1]
        return {
            "id": int(self.id) if self.id.isdigit() else self.id,
            "key": self.key.lower(),
            "key_order": (project_key.lower(), int(number) if number.isdigit() else 0),
            "project": project_key.lower(),
            "project_name": str(project.get("name") or "").lower() or None,
            "status": _name(fields.get("status")),
            "issuetype": _name(fields.get("issuetype")),
            "resolution": _name(fields.get("resolution")),
            "labels": [str(label).lower() for label in fields.get("labels") or []],
            "updated": epoch_ms(fields.get("updated")),
            "created": epoch_ms(fields.get("created")),
            "resolved": epoch_ms(fields.get("resolutiondate")),
        }

    def inline_changelog(self, cap: int) -> dict:
        """What ``expand=changelog`` inlines: the newest ``cap`` histories, newest first, with the true total."""
        with self._lock:
            if cap not in self._inline:
                newest = self.histories[::-1][:cap]
                self._inline[cap] = {"startAt": 0, "maxResults": len(newest), "total": len(self.histories),
                                     "histories": newest}
            return self._inline[cap]

    def as_issue(self) -> dict:
        """The issue in the shape it was given (full changelog newest first), for updates."""
        histories = self.histories[::-1]
        return {"id": self.id, "key": self.key, "fields": dict(self.fields),
                "changelog": {"startAt": 0, "maxResults": len(histories), "total": len(histories),
                              "histories": histories}}


def _history_order(history: dict) -> tuple:
    """By instant, then by id (digit ids compared by length, then text: numeric order at any length)."""
    moment = epoch_ms(history.get("created"))
    history_id = str(history.get("id"))
    digits = history_id.isascii() and history_id.isdigit()
    return (moment is None, moment or 0, len(history_id) if digits else 0, history_id)


class IssueStore:
    """Thread-safe issue collection with a per-query result cache."""

    def __init__(self, issues: Iterable[dict] = ()) -> None:
        self._lock = threading.RLock()
        self.version = 0
        self._issues: dict[str, StoredIssue] = {}
        self._by_key: dict[str, str] = {}
        self._results: dict[str, tuple[int, list[StoredIssue]]] = {}
        self.replace(issues)

    def replace(self, issues: Iterable[dict]) -> None:
        prepared = [StoredIssue(issue, 10000 + n) for n, issue in enumerate(issues)]
        with self._lock:
            self._issues = {stored.id: stored for stored in prepared}
            self._by_key = {stored.key.lower(): stored.id for stored in prepared}
            self._changed()

    def put(self, issue: dict) -> StoredIssue:
        stored = StoredIssue(issue, 10000 + len(self._issues))
        with self._lock:
            self._issues[stored.id] = stored
            self._by_key[stored.key.lower()] = stored.id
            self._changed()
        return stored

    def delete(self, reference: str) -> bool:
        with self._lock:
            stored = self.get(reference)
            if stored is None:
                return False
            del self._issues[stored.id]
            self._by_key.pop(stored.key.lower(), None)
            self._changed()
            return True

    def get(self, reference: str) -> StoredIssue | None:
        with self._lock:
            issue_id = self._by_key.get(str(reference).lower(), str(reference))
            return self._issues.get(issue_id)

    def __len__(self) -> int:
        return len(self._issues)

    def search(self, text: str, parse: Callable[[str], Query]) -> list[StoredIssue]:
        """Issues matching the query, in its order; cached until the data changes."""
        with self._lock:
            cached = self._results.get(text)
            if cached is not None and cached[0] == self.version:
                return cached[1]
            version, issues = self.version, list(self._issues.values())
        query = parse(text)
        found = query.sort([issue for issue in issues if query.matches(issue.facts)], lambda issue: issue.facts)
        with self._lock:
            if len(self._results) > 64:
                self._results.clear()
            self._results[text] = (version, found)
        return found

    def _changed(self) -> None:
        self.version += 1
        self._results.clear()
