"""The built-in demo dataset behind the same interface as ``JiraClient``, so it flows through the same update
path, cache and calculators as real Jira data.

The dataset is generated once per source from ``(anchor, n_issues, seed)``. The anchor defaults to the
current UTC day at midnight: every update on one day sees the same issues (an incremental update finds
nothing new and costs one "request"), and the first update on a new day regenerates the data (the cache
notices the new ``anchor_label`` and makes a full fetch). ``request_count`` counts method calls, standing in
for the requests a real Jira would receive. Of the JQL only what the update path adds is understood:
``updated >= <epoch ms>`` and ``key in (...)``; the rest is the fixed demo project.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from configuration.defaults import DEMO_JQL
from data.metrics.field_values import parse_jira_time, utc_iso
from data.sources.base import FetchCancelled
from data.sources.demo_data import generate_demo_issues
from data.sources.demo_fields import DEMO_FIELDS, DEMO_USER
from data.sources.jira_client import normalise_field
from data.sources.jira_scope import incremental_jql, keys_jql

_UPDATED_SINCE = re.compile(r"\bupdated\s*>=\s*(\d+)\b", re.IGNORECASE)
_KEY_IN = re.compile(r"\bkey\s+in\s*\(([^)]*)\)", re.IGNORECASE)


class DemoSource:
    """A stand-in for ``JiraClient`` behind ``IssueSource`` (plus ``count_issues``); histories come oldest
    first, like the real client's."""

    jql = DEMO_JQL

    def __init__(self, anchor: datetime | None = None, n_issues: int = 2000, seed: int = 42) -> None:
        if anchor is None:
            anchor = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        self.anchor = anchor if anchor.tzinfo else anchor.replace(tzinfo=UTC)
        self.anchor_label = utc_iso(self.anchor)
        self.n_issues, self.seed = n_issues, seed
        self.request_count = 0
        self._issues: list[dict[str, Any]] | None = None
        self._lock = threading.Lock()

    def _all_issues(self) -> list[dict[str, Any]]:
        with self._lock:
            if self._issues is None:
                issues = generate_demo_issues(self.n_issues, anchor=self.anchor, seed=self.seed)
                for issue in issues:
                    issue.get("changelog", {}).get("histories", []).reverse()
                self._issues = issues
            return self._issues

    def _matching(self, jql: str) -> list[dict[str, Any]]:
        issues = self._all_issues()
        since = _UPDATED_SINCE.search(jql)
        if since:
            threshold = int(since.group(1)) / 1000
            issues = [issue for issue in issues if _updated_seconds(issue) >= threshold]
        keys = _KEY_IN.search(jql)
        if keys:
            wanted = {part.strip().strip("\"'").upper() for part in keys.group(1).split(",")}
            issues = [issue for issue in issues if str(issue["key"]).upper() in wanted]
        return issues

    def search_issues(self, jql: str, fields: list[str] | None = None, *,
                      progress: Callable[[int, int | None], None] | None = None,
                      cancel: threading.Event | None = None) -> list[dict[str, Any]]:
        """The demo issues matching ``jql`` (all fields; the cache keeps what it needs)."""
        self.request_count += 1
        if cancel is not None and cancel.is_set():
            raise FetchCancelled("Update cancelled")
        issues = self._matching(jql)
        if progress is not None:
            progress(len(issues), len(issues))
        return list(issues)

    def changed_since(self, jql: str, since: datetime, fields: list[str] | None = None, *,
                      progress: Callable[[int, int | None], None] | None = None,
                      cancel: threading.Event | None = None) -> list[dict[str, Any]]:
        """The demo issues updated at or after ``since``."""
        return self.search_issues(incremental_jql(jql, since), fields, progress=progress, cancel=cancel)

    def fetch_listed(self, jql: str, keys: list[str], fields: list[str] | None = None, *,
                     cancel: threading.Event | None = None) -> list[dict[str, Any]]:
        """The demo issues with these keys."""
        return self.search_issues(keys_jql(jql, keys), fields, cancel=cancel)

    def count_issues(self, jql: str, *, cancel: threading.Event | None = None) -> int:
        self.request_count += 1
        return len(self._matching(jql))

    def list_issue_ids(self, jql: str, *, cancel: threading.Event | None = None) -> list[tuple[str, str]]:
        self.request_count += 1
        return [(str(issue["id"]), str(issue["key"])) for issue in self._matching(jql)]

    def get_fields(self) -> list[dict[str, Any]]:
        """``DEMO_FIELDS`` in the records ``JiraClient.get_fields`` returns."""
        self.request_count += 1
        return [normalise_field(field) for field in DEMO_FIELDS]

    def test_connection(self) -> dict[str, Any]:
        """The demo user, shaped like ``JiraClient.test_connection``'s answer."""
        self.request_count += 1
        return {"display_name": DEMO_USER["displayName"], "time_zone": DEMO_USER["timeZone"],
                "account_id": DEMO_USER["accountId"]}


def _updated_seconds(issue: dict[str, Any]) -> float:
    moment = parse_jira_time((issue.get("fields") or {}).get("updated"))
    return moment.timestamp() if moment else 0.0
