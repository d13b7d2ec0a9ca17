"""Jira REST client for Cloud (``/rest/api/3/search/jql``) and Data Center (``/rest/api/2/search``).

Contract (``JIRA_API.md`` of the product documents lists the Jira behaviour it copes with):

- ``search_issues`` returns every matching issue once (de-duplicated by id, the newest ``updated`` wins),
  each with a **complete changelog in one normal form** (``data.sources.jira_changelogs``).
- Failures raise ``JiraError`` (Jira's own messages and a plain-language hint); a set cancel event raises
  ``FetchCancelled``. No token or PAT ever appears in an error, a repr or a log line.
- Time: every request has a total deadline (``request_deadline``, default three times ``timeout``), a whole
  ``search_issues`` a budget (``fetch_budget`` seconds) and at most ``retry_wait_budget`` seconds of
  waiting between retries; cancel ends a fetch within a fraction of a second, even mid-request.
- A history whose date cannot be read is left out and counted (``skipped_history_count``), as is an issue
  without an id (``skipped_issue_count``); neither fails the fetch. An issue whose ``fields`` or changelog
  has the wrong shape is kept (empty fields, the histories that can be read); a whole answer of the wrong
  shape (a list for a page, ``issues: "x"``) is a ``JiraError`` in plain words.
- Transport, retries and rate limiting: ``data.sources.jira_http``; time limits:
  ``data.sources.jira_deadline``; paging: ``data.sources.jira_paging``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime

import requests

from data.sources.base import Progress
from data.sources.jira_changelogs import ChangelogCompleter
from data.sources.jira_errors import JiraError
from data.sources.jira_http import JiraHttp
from data.sources.jira_paging import IssueSearch, dedupe, issue_identity
from data.sources.jira_scope import incremental_jql, keys_jql

log = logging.getLogger(__name__)

ID_LISTING_PAGE_SIZE = 1000
LISTED_CHUNK = 200  # keys per `key in (...)` search when reconcile fetches issues the cache lacks
DEFAULT_FETCH_BUDGET_SECONDS = 3600.0


class JiraClient:
    """One Jira site; implements ``data.sources.base.IssueSource``. Safe for the concurrent paging it does
    itself. ``request_count`` counts every HTTP request sent, retries included.

    ``fetch_budget`` (seconds, default one hour; ``None``: no limit) bounds a whole ``search_issues`` or
    ``list_issue_ids``: past it the fetch stops with a ``JiraError`` saying so. ``request_deadline`` bounds
    one request from sending to the last byte (default ``3 * timeout``; ``timeout`` itself bounds each
    wait for data). ``retry_wait_budget`` is the most a fetch waits between retries in total (default 60 s);
    a ``Retry-After`` beyond what is left fails at once with the rate-limit hint.

    ``on_retry(message)``, when given, is called before each retry's wait with a line for the update's
    progress display, e.g. ``"Jira busy (HTTP 429), retry 2 of 4 in 5 s"`` or
    ``"Jira not answering (connection dropped), retry 1 of 4 in 3 s"``; it runs in the fetching thread
    (possibly a worker of the fetch) and must return quickly; its errors are logged, never raised.
    """

    def __init__(self, base_url: str, deployment: str = "cloud", *, email: str | None = None,
                 api_token: str | None = None, pat: str | None = None, timeout: float = 30.0,
                 page_size: int = 100, max_concurrency: int = 4, requests_per_second: float | None = 10.0,
                 max_retries: int = 4, backoff_base: float = 5.0, backoff_cap: float = 30.0,
                 max_retry_after: float = 120.0, sleep: Callable[[float], None] = time.sleep,
                 session: requests.Session | None = None,
                 fetch_budget: float | None = DEFAULT_FETCH_BUDGET_SECONDS, request_deadline: float | None = None,
                 retry_wait_budget: float = 60.0, on_retry: Callable[[str], None] | None = None) -> None:
        if deployment not in ("cloud", "datacenter"):
            raise ValueError(f'deployment must be "cloud" or "datacenter" (got {deployment!r})')
        if fetch_budget is not None and not fetch_budget > 0:
            raise ValueError(f"The Jira fetch budget must be a positive number of seconds (got {fetch_budget!r})")
        self._http = JiraHttp(base_url, deployment, email=email, api_token=api_token, pat=pat, timeout=timeout,
                              max_concurrency=max_concurrency, requests_per_second=requests_per_second,
                              max_retries=max_retries, backoff_base=backoff_base, backoff_cap=backoff_cap,
                              max_retry_after=max_retry_after, sleep=sleep, session=session,
                              request_deadline=request_deadline, retry_wait_budget=retry_wait_budget,
                              on_retry=on_retry)
        self.base_url = self._http.base_url
        self.deployment = deployment
        self.api = "/rest/api/3" if deployment == "cloud" else "/rest/api/2"
        self.page_size = max(1, int(page_size))
        self.fetch_budget = fetch_budget
        self.skipped_history_count = 0
        self.skipped_issue_count = 0
        self.warnings: list[str] = []  # why the last search may be incomplete (see search_issues)
        self._search = IssueSearch(self._http, self.api, deployment, max_concurrency)
        self._changelogs = ChangelogCompleter(self._search)

    def __repr__(self) -> str:
        return f"JiraClient(base_url={self.base_url!r}, deployment={self.deployment!r})"

    @property
    def request_count(self) -> int:
        return self._http.request_count

    @property
    def on_retry(self) -> Callable[[str], None] | None:
        """The retry progress callback (see the class docstring); may be set after construction."""
        return self._http.on_retry

    @on_retry.setter
    def on_retry(self, callback: Callable[[str], None] | None) -> None:
        self._http.on_retry = callback

    def search_issues(self, jql: str, fields: Sequence[str], *, progress: Progress | None = None,
                      cancel: threading.Event | None = None) -> list[dict]:
        """Every issue matching ``jql`` with the requested ``fields`` and a complete changelog.

        ``progress(done, total)`` follows each page of issues; ``total`` is ``None`` while unknown. Cloud
        asks ``/search/approximate-count`` only when a second page is needed; a failed count is not fatal.
        Afterwards ``skipped_history_count`` and ``skipped_issue_count`` say what this fetch left out.
        """
        started, requests_before = time.perf_counter(), self.request_count
        budget = self._http.budget(cancel, self.fetch_budget)
        budget.check()
        issues, pages = self._search.search(jql, list(fields), "changelog", self.page_size, progress, budget)
        issues = self._with_ids(dedupe(issues))
        self.warnings = self._listing_warnings(len(issues))
        completed, gone, skipped = self._changelogs.complete(issues, budget)
        if gone:
            issues = [issue for issue in issues if issue_identity(issue) not in gone]
        self.skipped_history_count = skipped
        if skipped:
            log.warning("Jira search: %d change histories had no readable date (e.g. a year beyond 9999) and "
                        "were left out; their issues are kept", skipped)
        log.info("Jira search: %d issues in %d pages, %d changelogs completed, %d HTTP requests, %.2f s",
                 len(issues), pages, completed, self.request_count - requests_before,
                 time.perf_counter() - started)
        return issues

    def changed_since(self, jql: str, since: datetime, fields: Sequence[str], *, progress: Progress | None = None,
                      cancel: threading.Event | None = None) -> list[dict]:
        """The issues of ``jql`` updated at or after ``since`` (one search; see ``jira_scope.incremental_jql``)."""
        return self.search_issues(incremental_jql(jql, since), fields, progress=progress, cancel=cancel)

    def fetch_listed(self, jql: str, keys: Sequence[str], fields: Sequence[str], *,
                     cancel: threading.Event | None = None) -> list[dict]:
        """The issues with these keys (from ``list_issue_ids``), within ``jql``, in searches of
        ``LISTED_CHUNK`` keys; what the searches left out is added up in ``skipped_*_count`` and ``warnings``."""
        found: list[dict] = []
        skipped_histories = skipped_issues = 0
        warnings: list[str] = []
        for start in range(0, len(keys), LISTED_CHUNK):
            found += self.search_issues(keys_jql(jql, list(keys[start:start + LISTED_CHUNK])), fields,
                                        cancel=cancel)
            skipped_histories += self.skipped_history_count
            skipped_issues += self.skipped_issue_count
            warnings += [text for text in self.warnings if text not in warnings]
        self.skipped_history_count, self.skipped_issue_count, self.warnings = (skipped_histories, skipped_issues,
                                                                               warnings)
        return found

    def _listing_warnings(self, distinct: int) -> list[str]:
        """Why the listing may be incomplete: Jira announced more issues than it sent, or repeated pages."""
        announced, cut_short = self._search.announced_total, self._search.cut_short
        if announced is not None and distinct < announced:
            reason = f" ({cut_short.lower()})" if cut_short else " (it repeated or skipped pages)"
            return [f"Jira announced {announced} issues but sent {distinct} distinct ones{reason}: the data may "
                    "be incomplete; try a smaller jira.page_size or check the Jira server"]
        if cut_short:
            return [f"{cut_short}, so the listing stopped after {distinct} issues: the data may be incomplete"]
        return []

    def list_issue_ids(self, jql: str, *, cancel: threading.Event | None = None) -> list[tuple[str, str]]:
        """``(id, key)`` of every issue matching ``jql`` (``fields=id``, no changelog), to find deletions."""
        budget = self._http.budget(cancel, self.fetch_budget)
        budget.check()
        issues, _ = self._search.search(jql, ["id"], None, ID_LISTING_PAGE_SIZE, None, budget)
        return [(str(issue["id"]), str(issue.get("key", ""))) for issue in self._with_ids(dedupe(issues))]

    def count_issues(self, jql: str, *, cancel: threading.Event | None = None) -> int | None:
        """How many issues match (approximate on Cloud); ``None`` when this Jira cannot count."""
        return self._search.count(jql, self._http.budget(cancel, self.fetch_budget))

    def _with_ids(self, issues: list[dict]) -> list[dict]:
        """The issues that have an id (text or number); the others are counted and left out. ``fields`` that
        is not an object becomes an empty one, so no later step trips over it (the issue is kept)."""
        kept = [issue for issue in issues if isinstance(issue.get("id"), str | int) and issue.get("id") != ""
                and not isinstance(issue.get("id"), bool)]
        self.skipped_issue_count = len(issues) - len(kept)
        if self.skipped_issue_count:
            log.warning("Jira search: %d issues came without an id and were left out", self.skipped_issue_count)
        odd_fields = [issue for issue in kept if "fields" in issue and not isinstance(issue["fields"], dict)]
        for issue in odd_fields:
            issue["fields"] = {}
        if odd_fields:
            log.warning("Jira search: %d issues came with fields that are not an object; they are kept without "
                        "fields", len(odd_fields))
        return kept

    def get_fields(self) -> list[dict]:
        """``/field`` as ``{field_id, field_name, field_type, items_type, is_custom, schema}`` records.

        ``field_type`` is Jira's ``schema.type`` (``datetime``, ``date``, ``number``, ``string``, ``option``,
        ``array``, ``user``, ``option-with-child``, ...), ``"unknown"`` without a schema; ``items_type`` is
        ``schema.items`` for arrays, else ``None``.
        """
        answer = self._http.request("GET", f"{self.api}/field")
        fields = answer if isinstance(answer, list) else []
        return [normalise_field(field) for field in fields if isinstance(field, dict) and field.get("id")]

    def test_connection(self) -> dict:
        """Who Jira says we are (``/myself``): ``{display_name, time_zone, account_id}``; else JiraError.

        The answer is small, so it must arrive within ``timeout`` seconds in total: a Jira that dribbles it
        gets a clear "answering too slowly" rather than a dialog that never answers."""
        me = self._http.request("GET", f"{self.api}/myself", retries=min(1, self._http.max_retries),
                                deadline=self._http.timeout)
        if not isinstance(me, dict) or not me:
            raise JiraError(200, [], "Jira answered /myself with something unexpected: check the Jira URL.")
        return {
            "display_name": me.get("displayName") or me.get("name") or "",
            "time_zone": me.get("timeZone"),
            "account_id": me.get("accountId") or me.get("key") or me.get("name"),
        }


def normalise_field(field: dict) -> dict:
    """One ``/field`` entry as the record the mapping modal and validation read."""
    schema = field.get("schema") if isinstance(field.get("schema"), dict) else {}
    field_type = schema.get("type") or "unknown"
    field_id = str(field["id"])
    return {
        "field_id": field_id,
        "field_name": str(field.get("name") or field_id),
        "field_type": field_type,
        "items_type": schema.get("items") if field_type == "array" else None,
        "is_custom": bool(field.get("custom")) or field_id.startswith("customfield_"),
        "schema": schema,
    }
