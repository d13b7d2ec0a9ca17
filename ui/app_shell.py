"""The layout served on each page load: the page plus any start-up notices (bad settings, moved-aside files)."""

from __future__ import annotations

import logging

from dash import dcc, html

from configuration.settings import is_demo_mode, load_app_settings_or_defaults
from data.dashboard_service import effective_settings, ensure_demo_data, source_label
from data.issue_cache import load_fetch_meta
from data.mapping_service import FORM_SECTIONS
from data.persistence import pop_persistence_warnings
from ui import ids
from ui.drilldown import drilldown_components
from ui.field_mapping_modal import field_mapping_modal
from ui.jira_settings_modal import jira_settings_modal
from ui.page import build_page, toast

logger = logging.getLogger(__name__)


def serve_layout() -> html.Div:
    settings, settings_error = load_app_settings_or_defaults()
    notices = []
    try:
        ensure_demo_data(effective_settings(settings))
    except Exception as error:  # the page must render; the user sees why there is no data
        logger.exception("Preparing the demo data failed")
        notices.append(toast(f"The demo data could not be prepared: {error}", header="Demo data", icon="danger"))
    if settings_error:
        notices.append(toast(settings_error, header="Settings", icon="warning"))
    notices += [toast(text, header="Data file", icon="warning") for text in pop_persistence_warnings()]
    meta = load_fetch_meta() or {}
    page = build_page(data_source_label=source_label(settings), last_updated=meta.get("last_successful_fetch"),
                      demo_mode=is_demo_mode(settings))
    return html.Div([page, field_mapping_modal(FORM_SECTIONS), jira_settings_modal(), drilldown_components(),
                     dcc.Store(id=ids.Stores.SETTINGS_VERSION),
                     html.Div(notices, className="toast-container position-fixed bottom-0 end-0 p-3")])
