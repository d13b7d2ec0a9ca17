"""Complete the changelogs Jira truncates, and put every changelog into one normal form.

The normal form: ``{"startAt": 0, "maxResults": n, "total": n, "histories": [...]}``, histories **oldest
first** (by the instant of ``created``, then by history id), every ``created`` a Jira date-time string
(``2025-01-15T10:00:00.000+0000``; epoch numbers become UTC strings).

Jira inlines changelogs newest first and truncated. Cloud completes them with ``/changelog/bulkfetch``
(``fieldIds=["status"]``): such an issue then holds every status change plus the histories Jira had inlined
(the dashboard reads only status changes). Where bulkfetch is missing (404/405), and always on Data Center,
the per-issue ``/issue/{key}/changelog`` gives the full history. An issue Jira reports as gone (404) while
its changelog is completed is left out of the result.

Jira's data is not trusted to end: per-issue paging stops at the ``total`` the search announced, at
``MAX_CHANGELOG_PAGES`` pages or ``MAX_HISTORIES_PER_ISSUE`` histories, and at a page that brings nothing
new; bulkfetch stops on a repeated token, a page that brings nothing new, or once it holds every history
announced. A history whose ``created`` is not a usable instant (year 10000, an epoch of 9e18, NaN) is left
out and counted; its issue is kept.
"""

from __future__ import annotations

import logging
import math
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from data.metrics.field_values import EARLIEST_EPOCH_SECONDS, LATEST_EPOCH_SECONDS
from data.sources.jira_deadline import FetchBudget
from data.sources.jira_errors import JiraError
from data.sources.jira_paging import IssueSearch, int_or_none, issue_identity, parse_instant

log = logging.getLogger(__name__)

CHANGELOG_PAGE_SIZE = 100
BULKFETCH_BATCH = 1000
MAX_CHANGELOG_PAGES = 100
MAX_HISTORIES_PER_ISSUE = 10_000
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_SHAPE_HINT = "check the Jira URL (the site root, e.g. https://your-site.atlassian.net)."


class ChangelogCompleter:
    """Completes truncated changelogs for one Jira site; remembers when bulkfetch is not available."""

    def __init__(self, search: IssueSearch) -> None:
        self.search = search
        self.http, self.api = search.http, search.api
        self.bulkfetch_available = search.deployment == "cloud"

    def complete(self, issues: list[dict], budget: FetchBudget) -> tuple[int, set[str], int]:
        """Give every issue the normal-form changelog; return (issues completed, ids Jira says are gone,
        histories left out because they could not be read)."""
        truncated = [issue for issue in issues if _is_truncated(issue)]
        fetched: dict[str, list[dict]] = {}
        from_bulkfetch = False
        if truncated and self.bulkfetch_available:
            try:
                fetched, from_bulkfetch = self._bulkfetch(truncated, budget), True
            except JiraError as error:
                if error.status not in (404, 405):
                    raise
                self.bulkfetch_available = False
                log.info("Jira has no changelog bulkfetch (HTTP %s); completing changelogs issue by issue",
                         error.status)
        gone: set[str] = set()
        if truncated and not from_bulkfetch:
            fetched, gone = self._per_issue(truncated, budget)
        skipped = 0
        for issue in issues:
            inline = _histories(issue)
            full = fetched.get(issue_identity(issue))
            if full is None:
                full = inline[::-1]
            elif from_bulkfetch:
                full = _merge_histories(full, inline)
            changelog = normal_changelog(full)
            skipped += len(full) - changelog["total"]
            issue["changelog"] = changelog
        return len(truncated), gone, skipped

    def _bulkfetch(self, issues: list[dict], budget: FetchBudget) -> dict[str, list[dict]]:
        ids = [issue_identity(issue) for issue in issues]
        fetched: dict[str, list[dict]] = {issue_id: [] for issue_id in ids}
        for first in range(0, len(ids), BULKFETCH_BATCH):
            batch = issues[first:first + BULKFETCH_BATCH]
            announced = sum(_announced(issue) for issue in batch)
            body: dict[str, Any] = {"issueIdsOrKeys": ids[first:first + BULKFETCH_BATCH],
                                    "fieldIds": ["status"], "maxResults": BULKFETCH_BATCH}
            sent_tokens: set[str] = set()
            seen: set[tuple[str, str]] = set()
            while True:
                page = _shaped(self.http.request("POST", f"{self.api}/changelog/bulkfetch", body=body,
                                                 budget=budget), "a changelog bulkfetch")
                fresh = 0
                for issue_id, history in _bulkfetch_histories(page):
                    mark = (issue_id, _history_mark(history))
                    if mark not in seen:
                        seen.add(mark)
                        fetched.setdefault(issue_id, []).append(history)
                        fresh += 1
                token = page.get("nextPageToken")
                if not token or not isinstance(token, str | int) or token in sent_tokens:
                    break
                if not fresh or len(seen) >= announced:
                    log.warning("Jira's changelog bulkfetch went on past what the search announced (%d "
                                "histories); it stops there", announced)
                    break
                sent_tokens.add(token)
                body = {**body, "nextPageToken": token}
        return fetched

    def _per_issue(self, issues: list[dict], budget: FetchBudget) -> tuple[dict[str, list[dict]], set[str]]:
        def fetch(index: int) -> list[dict] | None:
            issue = issues[index]
            reference = str(issue.get("key") or issue_identity(issue))
            path = f"{self.api}/issue/{quote(reference, safe='')}/changelog"
            limit = min(_announced(issue), MAX_HISTORIES_PER_ISSUE)
            values: list[dict] = []
            seen: set[str] = set()
            for _ in range(MAX_CHANGELOG_PAGES):
                params = {"startAt": len(values), "maxResults": CHANGELOG_PAGE_SIZE}
                try:
                    page = _shaped(self.http.request("GET", path, params=params, budget=budget),
                                   "an issue's changelog")
                except JiraError as error:
                    if error.status == 404:
                        return None
                    raise
                batch = _list_of_objects(page.get("values"), "an issue's changelog")
                fresh = [history for history in batch if _history_mark(history) not in seen]
                seen.update(_history_mark(history) for history in fresh)
                values.extend(fresh)
                if batch and not fresh:
                    log.warning("Jira repeated a changelog page of issue %s (at %d histories); it stops there",
                                reference, len(values))
                total = int_or_none(page.get("total"))
                if (not fresh or page.get("isLast") is True or (total is not None and len(values) >= total)
                        or len(values) >= limit):
                    return values[:MAX_HISTORIES_PER_ISSUE]
            log.warning("Jira sent %d changelog pages for issue %s; it stops there", MAX_CHANGELOG_PAGES,
                        reference)
            return values[:MAX_HISTORIES_PER_ISSUE]

        fetched: dict[str, list[dict]] = {}
        gone: set[str] = set()
        for index, values in self.search.bounded(fetch, range(len(issues)), budget):
            issue_id = issue_identity(issues[index])
            if values is None:
                log.warning("Jira says issue %s no longer exists; it is left out", issues[index].get("key"))
                gone.add(issue_id)
            else:
                fetched[issue_id] = values
        return fetched, gone


def _shaped(answer: Any, what: str) -> dict:
    if isinstance(answer, dict):
        return answer
    raise JiraError(200, [], f"Jira answered {what} with data of an unexpected shape: {_SHAPE_HINT}")


def _list_of_objects(value: Any, what: str) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise JiraError(200, [], f"Jira answered {what} with data of an unexpected shape: {_SHAPE_HINT}")
    return [item for item in value if isinstance(item, dict)]


def _bulkfetch_histories(page: dict) -> list[tuple[str, dict]]:
    """``(issue id, history)`` of every well-formed entry of a bulkfetch page."""
    pairs: list[tuple[str, dict]] = []
    for entry in _list_of_objects(page.get("issueChangeLogs"), "a changelog bulkfetch"):
        histories = entry.get("changeHistories")
        if isinstance(histories, list):
            issue_id = issue_identity({"id": entry.get("issueId")})
            pairs.extend((issue_id, history) for history in histories if isinstance(history, dict))
    return pairs


def _history_mark(history: dict) -> str:
    """What identifies a history among its issue's: its id, else its time and items."""
    history_id = history.get("id")
    if isinstance(history_id, str | int) and not isinstance(history_id, bool):
        return f"id:{history_id}"
    return f"at:{history.get('created')!r}:{history.get('items')!r}"


def _announced(issue: dict) -> int:
    """How many histories the search said the issue has (its inline changelog's ``total``), capped."""
    changelog = issue.get("changelog")
    total = int_or_none(changelog.get("total")) if isinstance(changelog, dict) else None
    if total is None or total < 0:
        return MAX_HISTORIES_PER_ISSUE
    return min(total, MAX_HISTORIES_PER_ISSUE)


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
        mark = _history_mark(history)
        if mark.startswith("id:"):
            by_id[mark] = history
        else:
            without_id.append(history)
    return [*by_id.values(), *without_id]


def normalise_created(value: Any) -> Any:
    """A Jira date-time string for an epoch number (seconds; milliseconds when huge); ``None`` for a number
    that is no usable instant (NaN, 9e18, beyond ``field_values.LATEST_EPOCH_SECONDS``); others unchanged."""
    if isinstance(value, str) and value[4:5] != "-" and _NUMBER.fullmatch(value.strip()):
        value = float(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            seconds = value / 1000.0 if abs(value) > 1e11 else float(value)
        except OverflowError:  # an int too large for a float
            return None
        if not math.isfinite(seconds) or not EARLIEST_EPOCH_SECONDS <= seconds <= LATEST_EPOCH_SECONDS:
            return None
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
    return value


def _id_order(history: dict) -> tuple:
    """Numeric for digit ids (compared as text by length, so an id of thousands of digits is no problem),
    then other ids as text."""
    history_id = str(history.get("id", ""))
    if history_id.isascii() and history_id.isdigit():
        digits = history_id.lstrip("0") or "0"
        return (0, len(digits), digits)
    return (1, 0, history_id)


def normal_changelog(histories: list[dict]) -> dict:
    """The normal form: oldest first (instant of ``created``, then history id), ``created`` a Jira string.

    A history whose ``created`` is missing or no usable instant is left out (``total`` counts the rest).
    """
    keyed: list[tuple[tuple, dict]] = []
    for history in histories:
        if not isinstance(history, dict):
            continue
        raw = history.get("created")
        created = normalise_created(raw)
        instant = parse_instant(created)
        if instant is None:
            continue
        keyed.append(((instant, _id_order(history)), history if created is raw else {**history, "created": created}))
    keyed.sort(key=lambda pair: pair[0])
    normal = [history for _, history in keyed]
    return {"startAt": 0, "maxResults": len(normal), "total": len(normal), "histories": normal}
