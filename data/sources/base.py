"""The interface every issue source implements, and the errors an update reports before or while fetching.

The update engine (``data.services.data_update``), the mapping and connection services talk to a source
only through ``IssueSource``; ``JiraClient``, ``DemoSource`` and ``AzureDevOpsClient`` implement it, so a
source is an implementation, never a change downstream.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

Progress = Callable[[int, int | None], None]
"""``progress(done, total)``: issues fetched so far and the total (``None`` while unknown)."""


class FetchCancelled(Exception):
    """The caller's cancel event was set: the fetch stopped between requests and returned nothing."""


class UpdateError(RuntimeError):
    """The update cannot start (e.g. no JQL, no credentials); ``str(error)`` tells the user what to change."""


class IssueSource(Protocol):
    """Where issues come from. ``scope`` is what bounds the work in the source's own language: the JQL for
    Jira, the WIQL condition for Azure DevOps (the project bounds it too), the fixed demo query for the demo.

    Every issue comes in Jira's REST shape (``id``, ``key``, ``fields``, ``changelog.histories`` with the
    complete status history), whatever the source, so nothing downstream knows which one was used. After each
    call the update engine reads, when present, ``skipped_history_count``, ``skipped_issue_count`` (what the
    call left out as unreadable) and ``warnings`` (why the data may be incomplete); ``on_retry`` may be set to
    hear of each retry. Errors are the source's own exception with a one-line message for the user, or
    ``FetchCancelled`` once ``cancel`` is set.
    """

    request_count: int

    def search_issues(self, scope: str, fields: list[str], *, progress: Progress | None = None,
                      cancel: threading.Event | None = None) -> list[dict[str, Any]]:
        """Every issue the scope matches, with ``fields`` and the complete status history."""
        ...

    def changed_since(self, scope: str, since: datetime, fields: list[str], *, progress: Progress | None = None,
                      cancel: threading.Event | None = None) -> list[dict[str, Any]]:
        """The issues of the scope changed at or after ``since`` (aware; the caller subtracted any overlap)."""
        ...

    def list_issue_ids(self, scope: str, *, cancel: threading.Event | None = None) -> list[tuple[str, str]]:
        """``(id, key)`` of every issue the scope matches, without fields or history (to find deletions)."""
        ...

    def fetch_listed(self, scope: str, keys: list[str], fields: list[str], *,
                     cancel: threading.Event | None = None) -> list[dict[str, Any]]:
        """The issues with these keys (as ``list_issue_ids`` gave them), with their complete history."""
        ...

    def get_fields(self) -> list[dict[str, Any]]:
        """The fields for the mapping dialog: ``{field_id, field_name, field_type, items_type, is_custom,
        schema}`` records, ``field_type`` in Jira's schema vocabulary (``datetime``, ``number``, ``option``...)."""
        ...

    def test_connection(self) -> dict[str, Any]:
        """Who or what we reached: ``{display_name, time_zone, account_id}``; the source's error otherwise."""
        ...
