"""Jira's issue search, page by page: Cloud's token-paged ``/search/jql`` and Data Center's offset-paged
``/search`` (pages after the first fetched concurrently), with de-duplication by id.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from typing import Any

from data.sources.base import FetchCancelled, Progress
from data.sources.jira_errors import JiraError
from data.sources.jira_http import JiraHttp

log = logging.getLogger(__name__)

JIRA_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f%z"
_END = object()


class IssueSearch:
    """Searches of one Jira site: every page of a JQL, the match count, and the bounded worker pool the
    changelog completion shares."""

    def __init__(self, http: JiraHttp, api: str, deployment: str, max_concurrency: int) -> None:
        self.http, self.api, self.deployment = http, api, deployment
        self.max_concurrency = max(1, int(max_concurrency))

    def search(self, jql: str, fields: list[str], expand: str | None, page_size: int,
               progress: Progress | None, cancel: threading.Event | None) -> tuple[list[dict], int]:
        """Every issue of every page (duplicates possible: see ``dedupe``) and the number of pages."""
        search = self._search_cloud if self.deployment == "cloud" else self._search_datacenter
        return search(jql, fields, expand, page_size, progress, cancel)

    def count(self, jql: str, cancel: threading.Event | None = None) -> int | None:
        """How many issues match (approximate on Cloud); ``None`` when this Jira cannot count."""
        if self.deployment == "datacenter":
            params = {"jql": jql, "startAt": 0, "maxResults": 0, "fields": "id"}
            return int_or_none(_object(self.http.request("GET", f"{self.api}/search", params=params,
                                                         cancel=cancel)).get("total"))
        try:
            answer = self.http.request("POST", f"{self.api}/search/approximate-count", body={"jql": jql},
                                       cancel=cancel)
        except JiraError as error:
            if error.status in (404, 405):
                return None
            raise
        return int_or_none(_object(answer).get("count"))

    def bounded(self, fetch: Callable[[Any], Any], items: Iterable[Any], cancel: threading.Event | None,
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
                if cancel is not None and cancel.is_set():
                    raise FetchCancelled("the fetch was cancelled")
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _search_cloud(self, jql: str, fields: list[str], expand: str | None, page_size: int,
                      progress: Progress | None, cancel: threading.Event | None) -> tuple[list[dict], int]:
        body: dict[str, Any] = {"jql": jql, "maxResults": page_size}
        if fields:
            body["fields"] = fields
        if expand:
            body["expand"] = expand
        issues: list[dict] = []
        sent_tokens: set[str] = set()
        pages, total = 0, None
        while True:
            page = _object(self.http.request("POST", f"{self.api}/search/jql", body=body, cancel=cancel))
            pages += 1
            issues.extend(_issue_list(page))
            token = page.get("nextPageToken")
            last = page.get("isLast") is True or not token
            if not last and token in sent_tokens:
                log.warning("Jira repeated a nextPageToken after %d pages; the listing stops there", pages)
                last = True
            if progress is not None:
                if pages == 1 and not last:
                    total = self._approximate_count(jql, cancel)
                known = None if total is None else max(total, len(issues))
                progress(len(issues), len(issues) if last else known)
            if last:
                return issues, pages
            sent_tokens.add(token)
            body = {**body, "nextPageToken": token}

    def _approximate_count(self, jql: str, cancel: threading.Event | None) -> int | None:
        try:
            return self.count(jql, cancel=cancel)
        except JiraError as error:
            log.info("Jira could not count the issues (HTTP %s); no total for the progress", error.status)
            return None

    def _search_datacenter(self, jql: str, fields: list[str], expand: str | None, page_size: int,
                           progress: Progress | None, cancel: threading.Event | None
                           ) -> tuple[list[dict], int]:
        params: dict[str, Any] = {"jql": jql, "startAt": 0, "maxResults": page_size}
        if fields:
            params["fields"] = ",".join(fields)
        if expand:
            params["expand"] = expand
        first = _object(self.http.request("GET", f"{self.api}/search", params=params, cancel=cancel))
        issues = _issue_list(first)
        total = int_or_none(first.get("total"))
        step = int_or_none(first.get("maxResults")) or len(issues) or page_size
        if progress is not None:
            progress(len(issues), total)
        if not issues or (total is not None and len(issues) >= total):
            return issues, 1
        starts: Iterable[int] = range(step, total, step) if total is not None else _count_from(step, step)

        def fetch(start: int) -> list[dict]:
            page = self.http.request("GET", f"{self.api}/search", params={**params, "startAt": start,
                                                                          "maxResults": step}, cancel=cancel)
            return _issue_list(_object(page))

        by_start, done = {0: issues}, len(issues)
        for start, batch in self.bounded(fetch, starts, cancel, stop_after=lambda batch: not batch):
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


def int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _count_from(start: int, step: int) -> Iterator[int]:
    while True:
        yield start
        start += step


def parse_instant(value: Any) -> float | None:
    """Epoch seconds of a Jira or ISO date-time string; ``None`` when it does not parse."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        try:
            moment = datetime.strptime(value, JIRA_TIME_FORMAT)
        except ValueError:
            return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _updated(issue: dict) -> float:
    fields = issue.get("fields")
    moment = parse_instant(fields.get("updated")) if isinstance(fields, dict) else None
    return float("-inf") if moment is None else moment


def dedupe(issues: list[dict]) -> list[dict]:
    """One issue per id in first-seen order; a later copy replaces it only when its ``updated`` is newer."""
    position: dict[str, int] = {}
    unique: list[dict] = []
    for issue in issues:
        issue_id = str(issue.get("id", issue.get("key")))
        if issue_id not in position:
            position[issue_id] = len(unique)
            unique.append(issue)
        elif _updated(issue) > _updated(unique[position[issue_id]]):
            unique[position[issue_id]] = issue
    return unique
