"""Complete the changelogs Jira truncates, and put every changelog into one normal form.

The normal form: ``{"startAt": 0, "maxResults": n, "total": n, "histories": [...]}``, histories **oldest
first** (by the instant of ``created``, then by history id), every ``created`` a Jira date-time string
(``2025-01-15T10:00:00.000+0000``; epoch numbers become UTC strings).

Jira inlines changelogs newest first and truncated. Cloud completes them with ``/changelog/bulkfetch``
(``fieldIds=["status"]``): such an issue then holds every status change plus the histories Jira had inlined
(the dashboard reads only status changes). Where bulkfetch is missing (404/405), and always on Data Center,
the per-issue ``/issue/{key}/changelog`` gives the full history. An issue Jira reports as gone (404) while
its changelog is completed is left out of the result.
"""

from __future__ import annotations

import logging
import re
import threading
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from data.sources.jira_errors import JiraError
from data.sources.jira_paging import IssueSearch, int_or_none, parse_instant

log = logging.getLogger(__name__)

CHANGELOG_PAGE_SIZE = 100
BULKFETCH_BATCH = 1000
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


class ChangelogCompleter:
    """Completes truncated changelogs for one Jira site; remembers when bulkfetch is not available."""

    def __init__(self, search: IssueSearch) -> None:
        self.search = search
        self.http, self.api = search.http, search.api
        self.bulkfetch_available = search.deployment == "cloud"

    def complete(self, issues: list[dict], cancel: threading.Event | None) -> tuple[int, set[str]]:
        """Give every issue the normal-form changelog; return (issues completed, ids Jira says are gone)."""
        truncated = [issue for issue in issues if _is_truncated(issue)]
        fetched: dict[str, list[dict]] = {}
        from_bulkfetch = False
        if truncated and self.bulkfetch_available:
            try:
                fetched, from_bulkfetch = self._bulkfetch(truncated, cancel), True
            except JiraError as error:
                if error.status not in (404, 405):
                    raise
                self.bulkfetch_available = False
                log.info("Jira has no changelog bulkfetch (HTTP %s); completing changelogs issue by issue",
                         error.status)
        gone: set[str] = set()
        if truncated and not from_bulkfetch:
            fetched, gone = self._per_issue(truncated, cancel)
        for issue in issues:
            inline = _histories(issue)
            full = fetched.get(str(issue.get("id")))
            if full is None:
                full = inline[::-1]
            elif from_bulkfetch:
                full = _merge_histories(full, inline)
            issue["changelog"] = normal_changelog(full)
        return len(truncated), gone

    def _bulkfetch(self, issues: list[dict], cancel: threading.Event | None) -> dict[str, list[dict]]:
        ids = [str(issue.get("id")) for issue in issues]
        fetched: dict[str, list[dict]] = {issue_id: [] for issue_id in ids}
        for first in range(0, len(ids), BULKFETCH_BATCH):
            body: dict[str, Any] = {"issueIdsOrKeys": ids[first:first + BULKFETCH_BATCH],
                                    "fieldIds": ["status"], "maxResults": BULKFETCH_BATCH}
            sent_tokens: set[str] = set()
            while True:
                page = self.http.request("POST", f"{self.api}/changelog/bulkfetch", body=body, cancel=cancel)
                for entry in page.get("issueChangeLogs") or []:
                    histories = entry.get("changeHistories") or []
                    fetched.setdefault(str(entry.get("issueId")), []).extend(histories)
                token = page.get("nextPageToken")
                if not token or token in sent_tokens:
                    break
                sent_tokens.add(token)
                body = {**body, "nextPageToken": token}
        return fetched

    def _per_issue(self, issues: list[dict], cancel: threading.Event | None
                   ) -> tuple[dict[str, list[dict]], set[str]]:
        def fetch(index: int) -> list[dict] | None:
            reference = str(issues[index].get("key") or issues[index].get("id"))
            path = f"{self.api}/issue/{quote(reference, safe='')}/changelog"
            values: list[dict] = []
            while True:
                params = {"startAt": len(values), "maxResults": CHANGELOG_PAGE_SIZE}
                try:
                    page = self.http.request("GET", path, params=params, cancel=cancel)
                except JiraError as error:
                    if error.status == 404:
                        return None
                    raise
                batch = page.get("values") or []
                values.extend(batch)
                total = int_or_none(page.get("total"))
                if not batch or page.get("isLast") is True or (total is not None and len(values) >= total):
                    return values

        fetched: dict[str, list[dict]] = {}
        gone: set[str] = set()
        for index, values in self.search.bounded(fetch, range(len(issues)), cancel):
            issue_id = str(issues[index].get("id"))
            if values is None:
                log.warning("Jira says issue %s no longer exists; it is left out", issues[index].get("key"))
                gone.add(issue_id)
            else:
                fetched[issue_id] = values
        return fetched, gone


def _histories(issue: dict) -> list[dict]:
    changelog = issue.get("changelog")
    histories = changelog.get("histories") if isinstance(changelog, dict) else None
    return [h for h in histories if isinstance(h, dict)] if isinstance(histories, list) else []


def _is_truncated(issue: dict) -> bool:
    changelog = issue.get("changelog")
    if not isinstance(changelog, dict):
        return True
    total = int_or_none(changelog.get("total"))
    return total is not None and total > len(_histories(issue))


def _merge_histories(fetched: list[dict], inline: list[dict]) -> list[dict]:
    """Bulkfetch histories (status items only) merged by id with the inline ones, which keep all items."""
    by_id: dict[str, dict] = {}
    without_id: list[dict] = []
    for history in [*fetched, *inline]:
        if history.get("id") is None:
            without_id.append(history)
        else:
            by_id[str(history["id"])] = history
    return [*by_id.values(), *without_id]


def normalise_created(value: Any) -> Any:
    """A Jira date-time string for an epoch number (seconds; milliseconds when huge); others unchanged."""
    if isinstance(value, str) and value[4:5] != "-" and _NUMBER.fullmatch(value.strip()):
        value = float(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000.0 if abs(value) > 1e11 else float(value)
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
    return value


def _history_order(history: dict) -> tuple:
    instant = parse_instant(history.get("created"))
    history_id = str(history.get("id", ""))
    by_id = (0, int(history_id), "") if history_id.isdigit() else (1, 0, history_id)
    return (instant is None, instant or 0.0, by_id)


def normal_changelog(histories: list[dict]) -> dict:
    """The normal form: oldest first (instant of ``created``, then history id), ``created`` a Jira string."""
    normal = []
    for history in histories:
        created = normalise_created(history.get("created"))
        normal.append(history if created is history.get("created") else {**history, "created": created})
    normal.sort(key=_history_order)
    return {"startAt": 0, "maxResults": len(normal), "total": len(normal), "histories": normal}
