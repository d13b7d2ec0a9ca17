"""Plain-language text for the result or failure of Update Data (shared by the UI and the CLI)."""

from __future__ import annotations

import logging

from data.metrics.periods import PeriodError
from data.services.data_update import FetchResult
from data.sources.base import FetchCancelled
from data.sources.jira_errors import JiraError
from data.store.json_store import PersistenceError

logger = logging.getLogger(__name__)


def describe_result(result: FetchResult) -> str:
    if not result.changed:
        return f"No changes in Jira since the last update ({result.total:,} issues, {result.requests} request)."
    return (f"{result.mode.capitalize()} update: {result.new:,} new, {result.updated:,} updated, "
            f"{result.removed:,} removed; {result.total:,} issues in total.")


def describe_failure(error: BaseException) -> str:
    """One readable line; unexpected errors are logged with their traceback, never shown with it."""
    if isinstance(error, FetchCancelled):
        return "The update was cancelled; the previous data is unchanged."
    if isinstance(error, JiraError | PersistenceError | PeriodError | ValueError):
        return f"{error} The previous data is unchanged."
    logger.error("Update Data failed", exc_info=error)
    return (f"Unexpected error ({type(error).__name__}: {error}). The previous data is unchanged; "
            "details are in logs/errors.log.")
