"""What the page shows when it loads, read from the files in one place, so the layout never touches a file.

``load_page_state`` prepares the demo data when the demo is in use (never while the settings file is broken:
its defaults would say "demo" over cached Jira data) and gathers the notices (``notice_service``): a settings
file that cannot be used, and any state file that was moved aside, shown until dismissed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from configuration.settings import is_demo_mode
from data.services.dashboard_service import dashboard_settings, ensure_demo_data, source_label
from data.services.notice_service import Notice, list_notices
from data.store.issue_cache import load_fetch_meta

logger = logging.getLogger(__name__)

__all__ = ["Notice", "PageState", "current_data_version", "load_page_state"]


@dataclass(frozen=True)
class PageState:
    settings: dict[str, Any]
    source_label: str
    last_updated: str | None
    demo_mode: bool
    notices: list[Notice] = field(default_factory=list)
    read_only: bool = False


def load_page_state() -> PageState:
    """The settings, data source, last update and notices for a fresh page."""
    current = dashboard_settings()
    settings = current.settings
    notices: list[Notice] = []
    if not current.read_only:
        try:
            ensure_demo_data(settings)
        except Exception as error:  # the page must render; the user sees why there is no data
            logger.exception("Preparing the demo data failed")
            notices.append(Notice(f"The demo data could not be prepared: {error}", "Demo data", "danger"))
    notices = list_notices() + notices
    meta = load_fetch_meta() or {}
    demo_shown = is_demo_mode(settings) and meta.get("source") == "demo"
    return PageState(settings=settings, source_label=source_label(settings, meta),
                     last_updated=meta.get("last_successful_fetch"), demo_mode=demo_shown,
                     notices=notices, read_only=current.read_only)


def current_data_version() -> str | None:
    """The data version of the issue cache (``None`` before the first update)."""
    return (load_fetch_meta() or {}).get("data_version")


def last_successful_fetch() -> str | None:
    """When the issue cache was last brought up to date, read afresh: an update that found nothing new moves
    it on without a new data version, so a dataset loaded earlier would show a stale time."""
    return (load_fetch_meta() or {}).get("last_successful_fetch")
