"""Jira REST client for Cloud (``/rest/api/3/search/jql``) and Data Center (``/rest/api/2/search``).

Contract (``JIRA_API.md`` of the product documents lists the Jira behaviour it copes with):

- ``search_issues`` returns every matching issue once (de-duplicated by id, the newest ``updated`` wins),
  each with a **complete changelog in one normal form** (``data.sources.jira_changelogs``).
- Failures raise ``JiraError`` (Jira's own messages and a plain-language hint); a set cancel event raises
  ``FetchCancelled``. No token or PAT ever appears in an error, a repr or a log line.
- Transport, retries and rate limiting: ``data.sources.jira_http``; paging: ``data.sources.jira_paging``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

import requests

from data.sources.base import Progress
from data.sources.jira_changelogs import ChangelogCompleter
from data.sources.jira_errors import JiraError
from data.sources.jira_http import JiraHttp
from data.sources.jira_paging import IssueSearch, dedupe

log = logging.getLogger(__name__)

ID_LISTING_PAGE_SIZE = 1000


class JiraClient:
    """One Jira site; implements ``data.sources.base.IssueSource``. Safe for the concurrent paging it does
    itself. ``request_count`` counts every HTTP request sent, retries included."""

    def __init__(self, base_url: str, deployment: str = "cloud", *, email: str | None = None,
                 api_token: str | None = None, pat: str | None = None, timeout: float = 30.0,
                 page_size: int = 100, max_concurrency: int = 4, requests_per_second: float | None = 10.0,
                 max_retries: int = 4, backoff_base: float = 5.0, backoff_cap: float = 30.0,
                 max_retry_after: float = 120.0, sleep: Callable[[float], None] = time.sleep,
                 session: requests.Session | None = None) -> None:
        if deployment not in ("cloud", "datacenter"):
            raise ValueError(f'deployment must be "cloud" or "datacenter" (got {deployment!r})')
        self._http = JiraHttp(base_url, deployment, email=email, api_token=api_token, pat=pat, timeout=timeout,
                              max_concurrency=max_concurrency, requests_per_second=requests_per_second,
                              max_retries=max_retries, backoff_base=backoff_base, backoff_cap=backoff_cap,
                              max_retry_after=max_retry_after, sleep=sleep, session=session)
        self.base_url = self._http.base_url
        self.deployment = deployment
        self.api = "/rest/api/3" if deployment == "cloud" else "/rest/api/2"
        self.page_size = max(1, int(page_size))
        self._search = IssueSearch(self._http, self.api, deployment, max_concurrency)
        self._changelogs = ChangelogCompleter(self._search)

    def __repr__(self) -> str:
        return f"JiraClient(base_url={self.base_url!r}, deployment={self.deployment!r})"

    @property
    def request_count(self) -> int:
        return self._http.request_count

    def search_issues(self, jql: str, fields: Sequence[str], *, progress: Progress | None = None,
                      cancel: threading.Event | None = None) -> list[dict]:
        """Every issue matching ``jql`` with the requested ``fields`` and a complete changelog.

        ``progress(done, total)`` follows each page of issues; ``total`` is ``None`` while unknown. Cloud
        asks ``/search/approximate-count`` only when a second page is needed; a failed count is not fatal.
        """
        started, requests_before = time.perf_counter(), self.request_count
        issues, pages = self._search.search(jql, list(fields), "changelog", self.page_size, progress, cancel)
        issues = dedupe(issues)
        completed, gone = self._changelogs.complete(issues, cancel)
        if gone:
            issues = [issue for issue in issues if str(issue.get("id")) not in gone]
        log.info("Jira search: %d issues in %d pages, %d changelogs completed, %d HTTP requests, %.2f s",
                 len(issues), pages, completed, self.request_count - requests_before,
                 time.perf_counter() - started)
        return issues

    def list_issue_ids(self, jql: str, *, cancel: threading.Event | None = None) -> list[tuple[str, str]]:
        """``(id, key)`` of every issue matching ``jql`` (``fields=id``, no changelog), to find deletions."""
        issues, _ = self._search.search(jql, ["id"], None, ID_LISTING_PAGE_SIZE, None, cancel)
        return [(str(issue.get("id")), str(issue.get("key", ""))) for issue in dedupe(issues)]

    def count_issues(self, jql: str, *, cancel: threading.Event | None = None) -> int | None:
        """How many issues match (approximate on Cloud); ``None`` when this Jira cannot count."""
        return self._search.count(jql, cancel)

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
        """Who Jira says we are (``/myself``): ``{display_name, time_zone, account_id}``; else JiraError."""
        me = self._http.request("GET", f"{self.api}/myself", retries=min(1, self._http.max_retries))
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
