"""Plain-language text for the result or failure of Update Data (shared by the UI and the CLI), and the one
way every service words a count (``1 request``, ``10 requests``)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from data.metrics.periods import PeriodError
from data.sources.ado_errors import AzureDevOpsError
from data.sources.base import FetchCancelled, UpdateError
from data.sources.jira_errors import JiraError
from data.store.json_store import PersistenceError

if TYPE_CHECKING:  # the update machinery (sources, requests) is imported only where an update runs
    from data.services.data_update import FetchResult

logger = logging.getLogger(__name__)


def plural(count: int, singular: str, plural_form: str | None = None, *, grouped: bool = False) -> str:
    """``count`` with its noun in the right number: ``1 week``, ``2 weeks``, ``1 entry``, ``3 entries``.

    ``grouped`` writes thousands with separators (``2,000 issues``), as the dashboard's toasts do; the command
    line prints plain numbers so that scripts can read them.
    """
    number = f"{count:,}" if grouped else str(count)
    return f"{number} {singular if count == 1 else (plural_form or singular + 's')}"


def describe_result(result: FetchResult) -> str:
    """The success toast: what changed, or that nothing did (with the number of requests it took)."""
    from data.services.data_update import skipped_note, warnings_note

    if not result.changed:
        return (f"No changes since the last update ({plural(result.total, 'issue', grouped=True)}, "
                f"{plural(result.requests, 'request', grouped=True)}).")
    return (f"{result.mode.capitalize()} update: {result.new:,} new, {result.updated:,} updated, "
            f"{result.removed:,} removed; {plural(result.total, 'issue', grouped=True)} in total"
            f"{skipped_note(result.skipped_histories, result.skipped_issues)}"
            f"{warnings_note(result.warnings)}.")


def describe_failure(error: BaseException) -> str:
    """One readable line; unexpected errors are logged with their traceback, never shown with it."""
    if isinstance(error, FetchCancelled):
        return "The update was cancelled; the previous data is unchanged."
    if isinstance(error, JiraError | AzureDevOpsError | UpdateError | PersistenceError | PeriodError | ValueError):
        return f"{_sentence(str(error))} The previous data is unchanged."
    logger.error("Update Data failed", exc_info=error)
    return (f"Unexpected error ({type(error).__name__}: {error}). The previous data is unchanged; "
            "details are in logs/errors.log.")


def _sentence(text: str) -> str:
    """``text`` ending with a full stop (Jira's messages have one, ours often do not)."""
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."
