"""What the page shows when it loads, read from the files in one place, so the layout never touches a file.

``load_page_state`` prepares the demo data when the demo is in use, and gathers the start-up notices: a
settings file that could not be used, and any state file that was moved aside.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from configuration.settings import is_demo_mode, load_app_settings_or_defaults
from data.services.dashboard_service import effective_settings, ensure_demo_data, source_label
from data.store.issue_cache import load_fetch_meta
from data.store.json_store import pop_persistence_warnings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notice:
    """A message for the user: ``header`` names its subject, ``level`` is a Bootstrap colour."""

    text: str
    header: str
    level: str = "warning"


@dataclass(frozen=True)
class PageState:
    settings: dict[str, Any]
    source_label: str
    last_updated: str | None
    demo_mode: bool
    notices: list[Notice] = field(default_factory=list)


def load_page_state() -> PageState:
    """The settings, data source, last update and notices for a fresh page."""
    settings, settings_error = load_app_settings_or_defaults()
    notices: list[Notice] = []
    try:
        ensure_demo_data(effective_settings(settings))
    except Exception as error:  # the page must render; the user sees why there is no data
        logger.exception("Preparing the demo data failed")
        notices.append(Notice(f"The demo data could not be prepared: {error}", "Demo data", "danger"))
    if settings_error:
        notices.append(Notice(settings_error, "Settings"))
    notices += [Notice(text, "Data file") for text in pop_persistence_warnings()]
    meta = load_fetch_meta() or {}
    return PageState(settings=settings, source_label=source_label(settings),
                     last_updated=meta.get("last_successful_fetch"), demo_mode=is_demo_mode(settings),
                     notices=notices)


def current_data_version() -> str | None:
    """The data version of the issue cache (``None`` before the first update)."""
    return (load_fetch_meta() or {}).get("data_version")
