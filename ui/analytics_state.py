"""What a chart or the forecast shows when it cannot be drawn: the metric cards' words for ``missing_mapping``
(the section's message and the same "Configure field mappings" button) and ``no_data``, and the page-wide
"No data yet — click Update Data" before anything is loaded. Never an empty axis.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from ui import ids
from ui.notices import NO_DATA_TITLE

HIDDEN: dict[str, str] = {"display": "none"}
SHOWN: dict[str, str] = {}
NO_DATA_IN_PERIOD = "No data in this period"


def state_message(key: str, section: dict[str, Any] | None,
                  no_data_explanation: str | None = None) -> list[Any] | None:
    """What to show instead of chart ``key``, in the metric cards' words; None when the chart can be drawn.

    ``section`` None means no data is loaded at all: the page-wide "No data yet — click Update Data" with
    ``no_data_explanation``. ``missing_mapping`` gives the section's message and the "Configure field
    mappings" button (``ids.map_fields_button``, the cards' button, so the same callback opens the modal)."""
    if section is None:
        return [html.P([html.I(className="bi bi-inbox me-2", **{"aria-hidden": "true"}), html.Strong(NO_DATA_TITLE)],
                       className="mb-1"),
                html.P(no_data_explanation or "", className="small text-body-secondary mb-0")]
    state = section.get("error_state")
    message = section.get("error_message")
    if state == "missing_mapping":
        return [
            html.P([html.I(className="bi bi-exclamation-triangle-fill text-warning me-1"),
                    message or "Map the fields this chart needs"], className="mb-2"),
            dbc.Button([html.I(className="bi bi-sliders me-1"), "Configure field mappings"],
                       id=ids.map_fields_button(f"analytics-{key}"),
                       color="primary", outline=True, size="sm"),
        ]
    if state == "success" and _has_data(section):
        return None
    if state in ("success", "no_data"):
        return [html.P([html.I(className="bi bi-inbox me-1"), message or NO_DATA_IN_PERIOD],
                       className="text-body-secondary mb-0")]
    if state == "invalid_input":
        return [dbc.Alert([html.I(className="bi bi-exclamation-triangle-fill me-1"), message or "Check the inputs."],
                          color="warning", class_name="small py-2 mb-0")]
    return [dbc.Alert([html.I(className="bi bi-x-octagon-fill me-1"), message or "This chart could not be drawn."],
                      color="danger", class_name="small py-2 mb-0")]


def _has_data(section: dict[str, Any]) -> bool:
    """A successful section with nothing to draw still gets a message, never an empty axis."""
    for key in ("points", "items", "statuses", "days"):
        if key in section:
            return bool(section[key])
    return True
