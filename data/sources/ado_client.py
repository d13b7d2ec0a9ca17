"""Azure DevOps Boards client (Services and Server, REST 7.1): work items as issues of the Jira client's shape.

Contract (``ADO_API.md`` of the product documents lists the Azure DevOps behaviour it copes with):

- ``scope`` is the user's WIQL filter (a ``WHERE`` condition; may be empty). Every query is
  ``[System.TeamProject] = '<project>' AND (<filter>) [AND <own conditions>] AND [System.Id] > <last id>
  ORDER BY [System.Id]`` with ``$top``: paged by id, so the 20,000-item limit of a WIQL answer (VS402337)
  never bites; a server with a lower limit is followed (its error names the limit), and the limit is remembered
  for the organization and project for the life of the process, so later fetches do not pay the refusal again.
- Fields come from ``workitemsbatch`` in chunks of 200 (``errorPolicy: omit``: an item deleted meanwhile is
  left out); histories from the revisions (``data.sources.ado_history``: per item for a few items, in bulk
  for many); the shape from ``data.sources.ado_normalise``.
- ``changed_since`` asks ``[System.ChangedDate] >= '<ISO>'`` with ``timePrecision=true`` (without it Azure
  DevOps refuses a time of day).
- Failures raise ``AzureDevOpsError`` (one line for the user; a refused token says which setting to check);
  a set cancel event raises ``FetchCancelled``. The PAT is sent only as HTTP Basic to the organisation's
  own origin and never appears in a repr, an error or a log line. Transport: ``data.sources.ado_http``.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from data.sources.ado_errors import AzureDevOpsError
from data.sources.ado_history import HistoryReader, status_histories
from data.sources.ado_http import AdoHttp
from data.sources.ado_normalise import (
    CREATED_DATE,
    TEAM_PROJECT,
    field_records,
    normalise_work_item,
    reference_names,
)
from data.sources.base import Progress
from data.sources.jira_deadline import FetchBudget

log = logging.getLogger(__name__)

WIQL_LIMIT = 20_000
BATCH_SIZE = 200
MAX_LISTING_PAGES = 10_000
_SIZE_LIMIT = re.compile(r"limit of (\d+)")
_ORDER_BY = re.compile(r"\border\s+by\b", re.IGNORECASE)
_TIME_OF_DAY = re.compile(r"['\"]\s*\d{4}-\d{1,2}-\d{1,2}[T ]\d{1,2}:\d{2}")
"""A date literal with a time of day in the user's filter: Azure DevOps accepts it only with timePrecision."""
_learned_limits: dict[tuple[str, str], int] = {}
_learned_limits_lock = threading.Lock()


class AzureDevOpsClient:
    """One Azure DevOps project; implements ``data.sources.base.IssueSource``.

    ``page_size`` is the ``$top`` of each WIQL page (at most 20,000, Azure DevOps' limit);
    ``requests_per_second`` spaces all requests; ``max_retries`` retries of a throttled (429) or failing (5xx)
    request, honouring ``Retry-After``; ``fetch_budget`` seconds bound one whole fetch; ``timeout`` bounds each
    wait for data. ``history_route`` forces ``"updates"`` or ``"reporting"`` (default ``"auto"``: the cheaper,
    see ``data.sources.ado_history``). ``on_retry(message)`` hears of each retry before its wait, e.g.
    ``"Azure DevOps busy (HTTP 429), retry 2 of 4 in 5 s"``. ``request_count`` counts every request sent.
    """

    def __init__(self, organization_url: str, project: str, *, pat: str, timeout: float = 30.0,
                 max_retries: int = 4, requests_per_second: float = 10.0, fetch_budget: float = 3600.0,
                 page_size: int = WIQL_LIMIT, history_route: str = "auto",
                 sleep: Callable[[float], None] = time.sleep, backoff_base: float = 2.0,
                 on_retry: Callable[[str], None] | None = None) -> None:
        if not str(project or "").strip():
            raise ValueError("The Azure DevOps project must be given (e.g. Fabrikam)")
        if not pat:
            raise ValueError("The Azure DevOps personal access token must be given")
        if not fetch_budget > 0:
            raise ValueError(f"The Azure DevOps fetch budget must be a positive number of seconds "
                             f"(got {fetch_budget!r})")
        self._http = AdoHttp(organization_url, pat=pat, timeout=timeout, max_retries=max_retries,
                             requests_per_second=requests_per_second or None, sleep=sleep,
                             backoff_base=backoff_base, on_retry=on_retry)
        self.organization_url = self._http.base_url
        self.project = str(project).strip()
        self.page_size = max(1, min(int(page_size), WIQL_LIMIT))
        self.fetch_budget = float(fetch_budget)
        self._history = HistoryReader(self._http, self.project, history_route)
        self._project_path = f"/{quote(self.project, safe='')}/_apis/wit"
        self.skipped_history_count = 0
        self.skipped_issue_count = 0
        self.warnings: list[str] = []
        # Listing ids is one WIQL request per 20,000 items: the update engine reconciles on every update, so a
        # deleted or moved work item leaves the cache at the next update (ADO_API.md).
        self.reconcile_every_update = True

    def __repr__(self) -> str:
        return f"AzureDevOpsClient(organization_url={self.organization_url!r}, project={self.project!r})"

    @property
    def request_count(self) -> int:
        return self._http.request_count

    @property
    def on_retry(self) -> Callable[[str], None] | None:
        return self._http.on_retry

    @on_retry.setter
    def on_retry(self, callback: Callable[[str], None] | None) -> None:
        self._http.on_retry = callback

    @property
    def last_history_requests(self) -> dict[str, int]:
        """Requests the last fetch's histories took per route (``updates``, ``reporting``)."""
        return dict(self._history.last_routes)

    # ------------------------------------------------------------------ the source interface

    def search_issues(self, scope: str, fields: list[str], *, progress: Progress | None = None,
                      cancel: threading.Event | None = None) -> list[dict]:
        """Every work item the project and ``scope`` match, with ``fields`` and its complete status history."""
        budget = self._budget(cancel)
        ids = self._list(scope, None, budget)
        return self._fetch(ids, fields, progress, budget)

    def changed_since(self, scope: str, since: datetime, fields: list[str], *, progress: Progress | None = None,
                      cancel: threading.Event | None = None) -> list[dict]:
        """The work items of ``scope`` changed at or after ``since`` (aware; compared to the millisecond)."""
        budget = self._budget(cancel)
        ids = self._list(scope, since, budget)
        return self._fetch(ids, fields, progress, budget)

    def list_issue_ids(self, scope: str, *, cancel: threading.Event | None = None) -> list[tuple[str, str]]:
        """``(id, key)`` of every work item of ``scope``: WIQL pages only (the key is the id as text)."""
        return [(str(item_id), str(item_id)) for item_id in self._list(scope, None, self._budget(cancel))]

    def fetch_listed(self, scope: str, keys: list[str], fields: list[str], *,
                     cancel: threading.Event | None = None) -> list[dict]:
        """The work items with these keys (ids as text), with complete histories; unknown ones are left out."""
        ids = sorted({int(key) for key in keys if str(key).strip().isdigit()})
        return self._fetch(ids, fields, None, self._budget(cancel))

    def get_fields(self) -> list[dict]:
        """The project's fields as mapping-modal records (``field_id`` = reference name), plus ``area_path``."""
        answer = self._http.request("GET", f"{self._project_path}/fields")
        values = answer.get("value") if isinstance(answer, dict) else None
        return field_records(values if isinstance(values, list) else [])

    def test_connection(self) -> dict:
        """The project as Azure DevOps names it: ``{display_name, time_zone: None, account_id: project id}``."""
        answer = self._http.request("GET", f"/_apis/projects/{quote(self.project, safe='')}",
                                    retries=min(1, self._http.max_retries), deadline=self._http.timeout)
        if not isinstance(answer, dict) or not answer.get("name"):
            raise AzureDevOpsError(200, [], "Azure DevOps answered with something unexpected: check the "
                                            "organization URL (e.g. https://dev.azure.com/your-organization).")
        return {"display_name": str(answer["name"]), "time_zone": None, "account_id": answer.get("id")}

    # ------------------------------------------------------------------ steps

    def _in_project(self, items: list[dict]) -> list[dict]:
        """The items of this project only: whatever the WIQL answered, another project's work items never
        enter the cache (the filter is checked before it is sent; this holds even if a server widened it)."""
        project = self.project.casefold()
        kept = [item for item in items
                if str((item.get("fields") or {}).get(TEAM_PROJECT) or "").casefold() == project]
        outside = len(items) - len(kept)
        self.warnings = [] if not outside else [
            f"Azure DevOps listed {outside} work item{'s' if outside != 1 else ''} of other projects for the "
            f"filter; {'they were' if outside != 1 else 'it was'} left out (only {self.project} is fetched)"]
        if outside:
            log.warning("Azure DevOps: %d work items outside the project %s were left out", outside, self.project)
        return kept

    def _budget(self, cancel: threading.Event | None) -> FetchBudget:
        budget = self._http.budget(cancel, self.fetch_budget)
        budget.check()
        return budget

    def _list(self, scope: str, since: datetime | None, budget: FetchBudget) -> list[int]:
        """Every matching id, ascending, page by page (``[System.Id] > last`` with ``$top``)."""
        condition = _scope_condition(scope)
        learned = _learned_limit(self.organization_url, self.project)
        if learned is not None and learned < self.page_size:
            self.page_size = learned
        params: dict[str, Any] = {"$top": self.page_size}
        if since is not None or _TIME_OF_DAY.search(condition):  # a time of day is refused without it
            params["timePrecision"] = "true"
        ids: list[int] = []
        last = 0
        for _ in range(MAX_LISTING_PAGES):
            query = wiql(self.project, condition, after_id=last, since=since)
            try:
                answer = self._http.request("POST", f"{self._project_path}/wiql", params=params,
                                            body={"query": query}, budget=budget)
            except AzureDevOpsError as error:
                limit = _size_limit(error)
                if limit is None or limit >= params["$top"]:
                    raise
                log.info("Azure DevOps limits a WIQL answer to %d items; paging by that", limit)
                params["$top"] = self.page_size = limit
                _remember_limit(self.organization_url, self.project, limit)
                continue
            page = [item["id"] for item in _list_of(answer, "workItems")
                    if isinstance(item.get("id"), int) and not isinstance(item.get("id"), bool)]
            fresh = sorted(item_id for item_id in page if item_id > last)
            ids.extend(fresh)
            if len(page) < params["$top"] or not fresh:
                return ids
            last = fresh[-1]
        raise AzureDevOpsError(None, [], "Azure DevOps kept sending pages of work items: the listing was stopped.")

    def _fetch(self, ids: Sequence[int], fields: Iterable[str], progress: Progress | None,
               budget: FetchBudget) -> list[dict]:
        started, requests_before = time.perf_counter(), self.request_count
        fields = list(fields)
        references = reference_names(fields)
        items: list[dict] = []
        total = len(ids)
        if progress is not None:
            progress(0, total)
        for first in range(0, total, BATCH_SIZE):
            chunk = list(ids[first:first + BATCH_SIZE])
            answer = self._http.request("POST", f"{self._project_path}/workitemsbatch", budget=budget,
                                        body={"ids": chunk, "fields": references, "errorPolicy": "omit"})
            items.extend(item for item in _list_of(answer, "value") if isinstance(item.get("id"), int))
            if progress is not None:
                progress(min(first + len(chunk), total), total)
        items = self._in_project(items)
        revs = {item["id"]: item["rev"] for item in items if isinstance(item.get("rev"), int) and item["rev"] > 0}
        self.skipped_issue_count = len(items) - len(revs)
        created = {item["id"]: (item.get("fields") or {}).get(CREATED_DATE) for item in items}
        revisions = self._history.read(revs, created, budget)
        issues, skipped = [], 0
        for item in items:
            item_revisions = revisions.get(item["id"])
            if item_revisions is None:
                continue  # deleted while this fetch ran, or without a revision number
            histories, left_out = status_histories(item["id"], item_revisions)
            skipped += left_out
            issues.append(normalise_work_item(item, fields, histories))
        self.skipped_history_count = skipped
        if skipped:
            log.warning("Azure DevOps: %d status changes had no readable date and were left out", skipped)
        log.info("Azure DevOps fetch: %d work items, history requests %s, %d HTTP requests, %.2f s", len(issues),
                 self._history.last_routes, self.request_count - requests_before, time.perf_counter() - started)
        return issues


def wiql_literal(text: str) -> str:
    """``text`` as a WIQL string literal (single quotes doubled)."""
    return "'" + str(text).replace("'", "''") + "'"


def _scope_condition(scope: str) -> str:
    """The user's WIQL filter as one condition the project condition can be ANDed with; ``AzureDevOpsError``
    when it is not one: an ORDER BY, or brackets that do not pair up outside quotes (a ``)`` closing the
    dashboard's own parenthesis would let ``OR ...`` escape the project and the paging conditions)."""
    condition = str(scope or "").strip()
    if condition.lower().startswith("where "):
        condition = condition[6:].strip()
    code = _outside_literals(condition)
    if code is None or _ORDER_BY.search(code):
        raise AzureDevOpsError(None, [], "The WIQL filter must be a WHERE condition only, without ORDER BY (the "
                                         "dashboard orders the work items itself): change it in the Data source "
                                         "dialog." if code is not None else
                                         "The WIQL filter has a quote that is never closed: change it in the "
                                         "Data source dialog.")
    depth = 0
    for char in code:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            break
    if depth != 0:
        raise AzureDevOpsError(None, [], "The WIQL filter's parentheses do not pair up (every ( needs its ), in "
                                         "order): change it in the Data source dialog.")
    return condition


def _outside_literals(condition: str) -> str | None:
    """``condition`` with the text of its string literals ('...' or "...", a doubled quote inside) and of its
    [field] references blanked out, so only the query's own syntax is left; ``None`` for an unclosed quote."""
    kept: list[str] = []
    closing: str | None = None
    position = 0
    while position < len(condition):
        char = condition[position]
        if closing is None:
            if char in "'\"":
                closing = char
            elif char == "[":
                closing = "]"
            kept.append(char)
        elif char == closing:
            if closing != "]" and condition[position + 1:position + 2] == closing:
                position += 1  # a doubled quote is a quote inside the literal
            else:
                closing = None
                kept.append(char)
        else:
            kept.append(" ")
        position += 1
    return None if closing is not None and closing != "]" else "".join(kept)


def wiql(project: str, condition: str, *, after_id: int, since: datetime | None = None) -> str:
    """The query of one listing page: project, the user's condition, ``since``, ids after ``after_id``."""
    parts = [f"[System.TeamProject] = {wiql_literal(project)}"]
    if condition:
        parts.append(f"({condition})")
    if since is not None:
        moment = since.astimezone(UTC) if since.tzinfo else since.replace(tzinfo=UTC)
        parts.append(f"[System.ChangedDate] >= '{moment.strftime('%Y-%m-%dT%H:%M:%S')}."
                     f"{moment.microsecond // 1000:03d}Z'")
    parts.append(f"[System.Id] > {int(after_id)}")
    return f"SELECT [System.Id] FROM WorkItems WHERE {' AND '.join(parts)} ORDER BY [System.Id]"


def _limit_key(organization_url: str, project: str) -> tuple[str, str]:
    return organization_url.lower(), project.lower()


def _learned_limit(organization_url: str, project: str) -> int | None:
    """The WIQL size limit this process learnt for the organization and project (``None`` when unknown)."""
    with _learned_limits_lock:
        return _learned_limits.get(_limit_key(organization_url, project))


def _remember_limit(organization_url: str, project: str, limit: int) -> None:
    with _learned_limits_lock:
        _learned_limits[_limit_key(organization_url, project)] = limit


def forget_wiql_size_limits() -> None:
    """Forget every WIQL size limit learnt (a server reconfigured, or a test starting afresh)."""
    with _learned_limits_lock:
        _learned_limits.clear()


def _size_limit(error: AzureDevOpsError) -> int | None:
    """The item limit a VS402337 refusal names ("exceeds the size limit of 20000"), else ``None``."""
    for message in error.messages if error.status == 400 else ():
        match = _SIZE_LIMIT.search(message.replace(",", "")) if "VS402337" in message else None
        if match and int(match.group(1)) > 0:
            return int(match.group(1))
    return None


def _list_of(answer: Any, key: str) -> list[dict]:
    values = answer.get(key) if isinstance(answer, dict) else None
    if not isinstance(values, list):
        raise AzureDevOpsError(200, [], "Azure DevOps answered with data of an unexpected shape: check the "
                                        "organization URL (e.g. https://dev.azure.com/your-organization).")
    return [value for value in values if isinstance(value, dict)]
