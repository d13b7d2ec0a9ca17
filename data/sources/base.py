"""The interface every issue source implements, and the errors an update reports before or while fetching.

The update engine (``data.services.data_update``), the mapping and connection services talk to a source
only through ``IssueSource``; ``JiraClient`` and ``DemoSource`` implement it, and a new source (Azure
DevOps Boards) is a third implementation, not a change downstream.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

Progress = Callable[[int, int | None], None]
"""``progress(done, total)``: issues fetched so far and the total (``None`` while unknown)."""


class FetchCancelled(Exception):
    """The caller's cancel event was set: the fetch stopped between requests and returned nothing."""


class UpdateError(RuntimeError):
    """The update cannot start (e.g. no JQL, no credentials); ``str(error)`` tells the user what to change."""


class IssueSource(Protocol):
    """Where issues come from: list what matches the scope, fetch issues with complete histories, list the
    fields for the mapping modal, and say who we are signed in as."""

    request_count: int

    def search_issues(self, jql: str, fields: list[str], *, progress: Progress | None = None,
                      cancel: threading.Event | None = None) -> list[dict[str, Any]]: ...

    def list_issue_ids(self, jql: str, *, cancel: threading.Event | None = None) -> list[tuple[str, str]]: ...

    def get_fields(self) -> list[dict[str, Any]]: ...

    def test_connection(self) -> dict[str, Any]: ...
