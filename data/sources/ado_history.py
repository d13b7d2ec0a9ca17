"""Status histories of work items from their revisions, by either of Azure DevOps' two routes.

- **per item** (``GET .../wit/workItems/{id}/updates``): one request per item and 200 revisions; each update
  carries only the fields that changed (``{oldValue, newValue}``), so the state is carried forward.
- **in bulk** (``GET .../wit/reporting/workitemrevisions``): the project's revisions oldest first across all its
  items, up to 1,000 a page with ``continuationToken``/``isLastBatch``; its cost is the whole project's
  revisions from ``startDateTime`` on, whatever the WIQL filter selects.

Which is cheaper (measured on the test server, ``benchmarks/bench_ado_fetch.py``): the histories of a full
fetch of 20,000 items × ~10 revisions take 20,000 requests per item but 201 in bulk; those of an update of
5 changed items take 5 per item but a scan of the project's whole stream (201 pages) in bulk.
``HistoryReader.read`` therefore goes per item while that costs at most ``BULK_WORTHWHILE`` requests (every
incremental update in practice) and in bulk above it (a full fetch). The bulk scan starts at the oldest
creation date of the items it serves and stops once it has cost as many requests as the per-item route
would have; any item whose revisions it did not all deliver (moved in from another project, or the scan was
stopped) is completed per item. So the bulk route never costs more than twice the per-item route, and
usually a hundredth of it. A server that refuses the reporting endpoint (``BULK_UNAVAILABLE``) is read
per item.

The status history: one history per revision whose ``System.State`` differs from the previous revision's,
at that revision's ``System.ChangedDate``; revision 1 gives the initial state (the first change's
``fromString``) and no history. Histories are oldest first, as the Jira client delivers them.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from data.sources.ado_errors import AzureDevOpsError
from data.sources.ado_http import AdoHttp
from data.sources.ado_normalise import CHANGED_DATE, STATE
from data.sources.jira_deadline import FetchBudget
from data.sources.jira_paging import parse_instant

log = logging.getLogger(__name__)

UPDATES_PAGE = 200
REVISIONS_PAGE = 1000
BULK_WORTHWHILE = 50
MAX_UPDATE_PAGES = 500
BULK_UNAVAILABLE = frozenset({400, 403, 404, 405, 501})
"""Answers meaning the reporting endpoint is not offered to us (an older server, a token scope without
analytics): the per-item route still gives every revision, so the fetch goes on that way."""
Revision = tuple[int, Any, Any]
"""``(rev, System.State or None when the revision did not say, System.ChangedDate text)``."""


class HistoryReader:
    """Reads revisions of one project's work items; ``route`` forces ``"updates"`` or ``"reporting"``
    (``"auto"``: the cheaper, see the module docstring). ``last_routes`` says what the last read used."""

    def __init__(self, http: AdoHttp, project: str, route: str = "auto") -> None:
        if route not in ("auto", "updates", "reporting"):
            raise ValueError(f'history route must be "auto", "updates" or "reporting" (got {route!r})')
        self.http, self.route = http, route
        self.project_path = f"/{quote(project, safe='')}/_apis/wit"
        self.last_routes: dict[str, int] = {}

    def read(self, items: Mapping[int, int], created: Mapping[int, Any],
             budget: FetchBudget) -> dict[int, list[Revision] | None]:
        """The revisions ``1..rev`` of each item (``items``: id → rev from ``workitemsbatch``), oldest first;
        ``None`` for an item Azure DevOps says no longer exists."""
        per_item_cost = sum(max(1, math.ceil(rev / UPDATES_PAGE)) for rev in items.values())
        bulk = self.route == "reporting" or (self.route == "auto" and per_item_cost > BULK_WORTHWHILE)
        self.last_routes = {"updates": 0, "reporting": 0}
        found: dict[int, list[Revision] | None] = {}
        if bulk and items:
            try:
                found = self._bulk(items, _earliest(created.values()), per_item_cost, budget)
            except AzureDevOpsError as error:
                if error.status not in BULK_UNAVAILABLE:
                    raise
                log.warning("Azure DevOps refused the bulk revisions (HTTP %s); reading them per item instead",
                            error.status)
        for item_id, rev in items.items():
            revisions = found.get(item_id)
            if revisions is None or len(revisions) != rev:
                found[item_id] = self._per_item(item_id, rev, budget)
        return found

    def _per_item(self, item_id: int, rev: int, budget: FetchBudget) -> list[Revision] | None:
        revisions: list[Revision] = []
        state: Any = None
        for page_number in range(MAX_UPDATE_PAGES):
            params = {"$top": UPDATES_PAGE, "$skip": page_number * UPDATES_PAGE}
            self.last_routes["updates"] += 1
            try:
                page = self.http.request("GET", f"{self.project_path}/workItems/{item_id}/updates", params=params,
                                         budget=budget)
            except AzureDevOpsError as error:
                if error.status == 404:
                    return None
                raise
            updates = _values(page, "value")
            for update in updates:
                number = update.get("rev")
                changes = update.get("fields") if isinstance(update.get("fields"), dict) else {}
                if STATE in changes and isinstance(changes[STATE], dict):
                    state = changes[STATE].get("newValue")
                changed = changes.get(CHANGED_DATE)
                when = changed.get("newValue") if isinstance(changed, dict) else None
                if isinstance(number, int) and 0 < number <= rev:
                    revisions.append((number, state, when))
            if len(updates) < UPDATES_PAGE or len(revisions) >= rev:
                break
        return sorted({number: (number, state, when) for number, state, when in revisions}.values())

    def _bulk(self, items: Mapping[int, int], start: datetime | None, page_limit: int,
              budget: FetchBudget) -> dict[int, list[Revision] | None]:
        """The items' revisions from the project's stream, at most ``page_limit`` pages."""
        collected: dict[int, dict[int, Revision]] = {item_id: {} for item_id in items}
        params: dict[str, Any] = {"fields": f"{STATE},{CHANGED_DATE}", "$maxPageSize": REVISIONS_PAGE}
        if start is not None:
            params["startDateTime"] = (start - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        sent: set[str] = set()
        for _ in range(page_limit):
            self.last_routes["reporting"] += 1
            page = self.http.request("GET", f"{self.project_path}/reporting/workitemrevisions", params=params,
                                     budget=budget)
            if not isinstance(page, dict):
                raise AzureDevOpsError(200, [], "Azure DevOps answered the revisions with data of an unexpected "
                                                "shape: check the organization URL.")
            for value in _values(page, "values"):
                item_id, number = value.get("id"), value.get("rev")
                wanted = collected.get(item_id) if isinstance(item_id, int) else None
                if wanted is None or not isinstance(number, int) or not 0 < number <= items[item_id]:
                    continue
                fields = value.get("fields") if isinstance(value.get("fields"), dict) else {}
                wanted[number] = (number, fields.get(STATE), fields.get(CHANGED_DATE))
            token = page.get("continuationToken")
            if page.get("isLastBatch") is True or not isinstance(token, str) or not token or token in sent:
                break
            sent.add(token)
            # the token carries the position: startDateTime may not be combined with it (a watermark)
            params = {key: value for key, value in params.items() if key != "startDateTime"}
            params["continuationToken"] = token
        else:
            log.info("Azure DevOps revisions: the bulk scan stopped after %d pages; the rest is read per item",
                     page_limit)
        return {item_id: [revisions[n] for n in sorted(revisions)] for item_id, revisions in collected.items()}


def _values(page: Any, key: str) -> list[dict]:
    values = page.get(key) if isinstance(page, dict) else None
    if not isinstance(values, list):
        raise AzureDevOpsError(200, [], "Azure DevOps answered with data of an unexpected shape: check the "
                                        "organization URL (e.g. https://dev.azure.com/your-organization).")
    return [value for value in values if isinstance(value, dict)]


def _earliest(dates: Any) -> datetime | None:
    instants = [parse_instant(value) for value in dates]
    known = [instant for instant in instants if instant is not None]
    return datetime.fromtimestamp(min(known), UTC) if known else None


def status_histories(item_id: int, revisions: list[Revision]) -> tuple[list[dict[str, Any]], int]:
    """The status histories of one item's revisions (oldest first) and how many were left out because their
    ``System.ChangedDate`` is not a usable date. A revision that does not give the state keeps the previous."""
    histories: list[dict[str, Any]] = []
    skipped = 0
    previous: Any = None
    for number, state, changed in revisions:
        if state is None:
            state = previous
        if previous is not None and state is not None and state != previous:
            if parse_instant(changed) is None:
                skipped += 1
            else:
                histories.append({"id": f"{item_id}.{number}", "created": changed,
                                  "items": [{"field": "status", "fieldtype": "jira", "fromString": str(previous),
                                             "toString": str(state)}]})
        previous = state
    return histories, skipped
