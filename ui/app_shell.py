"""The layout served on each page load: the page plus any start-up notices (bad settings, moved-aside files)."""

from __future__ import annotations

from dash import dcc, html

from data.services.mapping_service import FORM_SECTIONS
from data.services.page_state_service import load_page_state
from ui import ids
from ui.drilldown import drilldown_components
from ui.field_mapping_modal import field_mapping_modal
from ui.jira_settings_modal import jira_settings_modal
from ui.page import build_page, toast


def serve_layout() -> html.Div:
    state = load_page_state()
    notices = [toast(notice.text, header=notice.header, icon=notice.level) for notice in state.notices]
    page = build_page(data_source_label=state.source_label, last_updated=state.last_updated,
                      demo_mode=state.demo_mode)
    return html.Div([page, field_mapping_modal(FORM_SECTIONS), jira_settings_modal(), drilldown_components(),
                     dcc.Store(id=ids.Stores.SETTINGS_VERSION),
                     html.Div(notices, className="toast-container position-fixed bottom-0 end-0 p-3")])
