"""Jira's issue search, page by page: Cloud's token-paged ``/search/jql`` and Data Center's offset-paged
``/search`` (pages after the first fetched concurrently), with de-duplication by id.

A misbehaving server cannot keep a listing going forever: it ends on a repeated page token, and after
``MAX_FRUITLESS_PAGES`` pages in a row that bring no issue not seen before (Cloud), or at the first such page
(Data Center without ``total``); the fetch's time budget bounds the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from typing import Any

from data.metrics.field_values import EARLIEST_EPOCH_SECONDS, LATEST_EPOCH_SECONDS
from data.sources.base import Progress
from data.sources.jira_deadline import FetchBudget
from data.sources.jira_errors import JiraError
from data.sources.jira_http import JiraHttp

log = logging.getLogger(__name__)

JIRA_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f%z"
MAX_FRUITLESS_PAGES = 3
_END = object()


class IssueSearch:
    """Searches of one Jira site: every page of a JQL, the match count, and the bounded worker pool the
    changelog completion shares."""

    def __init__(self, http: JiraHttp, api: str, deployment: str, max_concurrency: int) -> None:
        self.http, self.api, self.deployment = http, api, deployment
        self.max_concurrency = max(1, int(max_concurrency))

    def search(self, jql: str, fields: list[str], expand: str | None, page_size: int,
               progress: Progress | None, budget: FetchBudget) -> tuple[list[dict], int]:
        """Every issue of every page (duplicates possible: see ``dedupe``) and the number of pages.

        Afterwards ``announced_total`` is the count Data Center announced (``None`` on Cloud, whose count is
        approximate) and ``cut_short`` says why a listing stopped early (a repeated token or page), if it did."""
        self.announced_total: int | None = None
        self.cut_short: str | None = None
        search = self._search_cloud if self.deployment == "cloud" else self._search_datacenter
        return search(jql, fields, expand, page_size, progress, budget)

    def count(self, jql: str, budget: FetchBudget) -> int | None:
        """How many issues match (approximate on Cloud); ``None`` when this Jira cannot count."""
        if self.deployment == "datacenter":
            params = {"jql": jql, "startAt": 0, "maxResults": 0, "fields": "id"}
            return int_or_none(_object(self.http.request("GET", f"{self.api}/search", params=params,
                                                         budget=budget)).get("total"))
        try:
            answer = self.http.request("POST", f"{self.api}/search/approximate-count", body={"jql": jql},
                                       budget=budget)
        except JiraError as error:
            if error.status in (404, 405):
                return None
            raise
        return int_or_none(_object(answer).get("count"))

    def bounded(self, fetch: Callable[[Any], Any], items: Iterable[Any], budget: FetchBudget,
                stop_after: Callable[[Any], bool] = lambda result: False) -> Iterator[tuple[Any, Any]]:
        """Run ``fetch`` over ``items``, at most ``max_concurrency`` at once; yield ``(item, result)`` as each
        ends. Nothing new starts once ``stop_after(result)`` held; a failure is raised in the caller's thread.
        """
        pending = iter(items)
        pool = ThreadPoolExecutor(max_workers=self.max_concurrency, thread_name_prefix="jira-fetch")
        running: dict[Future, Any] = {}
        exhausted = False
        try:
            while True:
                while not exhausted and len(running) < self.max_concurrency:
                    item = next(pending, _END)
                    if item is _END:
                        exhausted = True
                    else:
                        running[pool.submit(fetch, item)] = item
                if not running:
                    return
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    item = running.pop(future)
                    result = future.result()
                    exhausted = exhausted or stop_after(result)
                    yield item, result
                budget.check()
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _search_cloud(self, jql: str, fields: list[str], expand: str | None, page_size: int,
                      progress: Progress | None, budget: FetchBudget) -> tuple[list[dict], int]:
        body: dict[str, Any] = {"jql": jql, "maxResults": page_size}
        if fields:
            body["fields"] = fields
        if expand:
            body["expand"] = expand
        issues: list[dict] = []
        sent_tokens: set[str] = set()
        seen: set[str] = set()
        pages, total, fruitless = 0, None, 0
        while True:
            page = _object(self.http.request("POST", f"{self.api}/search/jql", body=body, budget=budget))
            pages += 1
            batch = _issue_list(page)
            issues.extend(batch)
            fruitless = 0 if _new_ids(batch, seen) else fruitless + 1
            token = page.get("nextPageToken")
            last = page.get("isLast") is True or not token or not isinstance(token, str | int)
            if not last and token in sent_tokens:
                log.warning("Jira repeated a nextPageToken after %d pages; the listing stops there", pages)
                self.cut_short = f"Jira repeated a page token after {pages} pages"
                last = True
            if not last and fruitless >= MAX_FRUITLESS_PAGES:
                log.warning("Jira sent %d pages in a row without a new issue; the listing stops after %d pages",
                            fruitless, pages)
                self.cut_short = f"Jira sent {fruitless} pages in a row without a new issue"
                last = True
            if progress is not None:
                if pages == 1 and not last:
                    total = self._approximate_count(jql, budget)
                known = None if total is None else max(total, len(issues))
                progress(len(issues), len(issues) if last else known)
            if last:
                return issues, pages
            sent_tokens.add(token)
            body = {**body, "nextPageToken": token}

    def _approximate_count(self, jql: str, budget: FetchBudget) -> int | None:
        try:
            return self.count(jql, budget)
        except JiraError as error:
            log.info("Jira could not count the issues (HTTP %s); no total for the progress", error.status)
            return None

    def _search_datacenter(self, jql: str, fields: list[str], expand: str | None, page_size: int,
                           progress: Progress | None, budget: FetchBudget) -> tuple[list[dict], int]:
        params: dict[str, Any] = {"jql": jql, "startAt": 0, "maxResults": page_size}
        if fields:
            params["fields"] = ",".join(fields)
        if expand:
            params["expand"] = expand
        first = _object(self.http.request("GET", f"{self.api}/search", params=params, budget=budget))
        issues = _issue_list(first)
        total = int_or_none(first.get("total"))
        self.announced_total = total
        step = max(1, int_or_none(first.get("maxResults")) or len(issues) or page_size)
        if progress is not None:
            progress(len(issues), total)
        if not issues or (total is not None and len(issues) >= total):
            return issues, 1
        starts: Iterable[int] = range(step, total, step) if total is not None else _count_from(step, step)

        def fetch(start: int) -> list[dict]:
            page = self.http.request("GET", f"{self.api}/search", params={**params, "startAt": start,
                                                                          "maxResults": step}, budget=budget)
            return _issue_list(_object(page))

        seen: set[str] = set()
        _new_ids(issues, seen)

        def nothing_new(batch: list[dict]) -> bool:
            """An empty page ends the listing; without ``total`` so does a page of issues already seen."""
            fresh = _new_ids(batch, seen)
            if batch and not fresh and total is None:
                log.warning("Jira repeated a page of issues (no total given); the listing stops there")
                self.cut_short = "Jira repeated a page of issues"
            return not batch or (total is None and not fresh)

        by_start, done = {0: issues}, len(issues)
        for start, batch in self.bounded(fetch, starts, budget, stop_after=nothing_new):
            by_start[start] = batch
            done += len(batch)
            if progress is not None:
                progress(done, total)
        return [issue for start in sorted(by_start) for issue in by_start[start]], len(by_start)


def _object(answer: Any) -> dict:
    """A JSON object answer; a wrong-shaped one (a list, a string) is a JiraError in plain words."""
    if isinstance(answer, dict):
        return answer
    raise JiraError(200, [], "Jira answered with data of an unexpected shape: check the Jira URL "
                             "(the site root, e.g. https://your-site.atlassian.net).")


def _issue_list(page: dict) -> list[dict]:
    issues = page.get("issues") or []
    if not isinstance(issues, list):
        raise JiraError(200, [], "Jira answered a search with data of an unexpected shape: check the Jira URL.")
    return [issue for issue in issues if isinstance(issue, dict)]


def _new_ids(batch: list[dict], seen: set[str]) -> int:
    """How many issues of ``batch`` were not in ``seen``; adds them to it."""
    before = len(seen)
    seen.update(issue_identity(issue) for issue in batch)
    return len(seen) - before


def issue_identity(issue: dict) -> str:
    """The issue's id (its key when Jira sent no id) as text."""
    value = issue.get("id", issue.get("key"))
    return value if isinstance(value, str) else str(value) if isinstance(value, int | float) else repr(value)


def int_or_none(value: Any) -> int | None:
    """An int from a number or numeric text; ``None`` for anything else (also NaN, infinity, 5,000 digits)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and len(value) > 30:
        return None
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _count_from(start: int, step: int) -> Iterator[int]:
    while True:
        yield start
        start += step


def parse_instant(value: Any) -> float | None:
    """Epoch seconds of a Jira or ISO date-time string; ``None`` when it does not parse or lies outside the
    dates the dashboard can hold (``field_values.EARLIEST_EPOCH_SECONDS`` to ``LATEST_EPOCH_SECONDS``)."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        try:
            moment = datetime.strptime(value, JIRA_TIME_FORMAT)
        except ValueError:
            return None
    try:
        instant = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    except (OverflowError, ValueError, OSError):
        return None
    return instant if EARLIEST_EPOCH_SECONDS <= instant <= LATEST_EPOCH_SECONDS else None


def _updated(issue: dict) -> float:
    fields = issue.get("fields")
    moment = parse_instant(fields.get("updated")) if isinstance(fields, dict) else None
    return float("-inf") if moment is None else moment


def dedupe(issues: list[dict]) -> list[dict]:
    """One issue per id in first-seen order; a later copy replaces it only when its ``updated`` is newer."""
    position: dict[str, int] = {}
    unique: list[dict] = []
    for issue in issues:
        issue_id = issue_identity(issue)
        if issue_id not in position:
            position[issue_id] = len(unique)
            unique.append(issue)
        elif _updated(issue) > _updated(unique[position[issue_id]]):
            unique[position[issue_id]] = issue
    return unique
