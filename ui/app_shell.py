"""The layout served on each page load: the page with its notices area (a broken settings file, files moved
aside: shown on every load until dismissed, refreshed after callbacks by ``callbacks.notices``)."""

from __future__ import annotations

import uuid

import dash_bootstrap_components as dbc
from dash import dcc, html

from data.services.mapping_service import FORM_SECTIONS
from data.services.page_state_service import load_page_state
from ui import ids
from ui.data_source_modal import data_source_modal
from ui.drilldown import drilldown_components
from ui.field_mapping_modal import field_mapping_modal
from ui.notices import notices_area
from ui.page import build_page


def serve_layout() -> html.Div:
    state = load_page_state()
    page = build_page(data_source_label=state.source_label, last_updated=state.last_updated,
                      demo_mode=state.demo_mode)
    _place_first_in_content(page, notices_area(state.notices))
    return html.Div([page, field_mapping_modal(FORM_SECTIONS), data_source_modal(), drilldown_components(),
                     dcc.Store(id=ids.Stores.SETTINGS_VERSION),
                     dcc.Store(id=ids.Stores.TAB_ID, data=uuid.uuid4().hex)])


def _place_first_in_content(page: html.Div, area: html.Div) -> None:
    """Put the notices at the top of the page's content, under the navbar (first thing read, in every tab)."""
    for child in page.children:
        if isinstance(child, dbc.Container):
            child.children = [area, *child.children]
            return
    page.children = [area, *page.children]
