"""Page-level messages: the persistent notices above the cards and the neutral "no data yet" state.

Pure layout. A notice is anything with ``text``, ``header``, ``level`` (a Bootstrap colour), ``notice_id`` and
``dismissible`` (``data.services.notice_service.Notice``); its Dismiss button carries
``ids.Notices.dismiss(notice_id)`` so a callback can forget it on the server, not only in this tab.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from ui import ids

_ICONS = {"danger": "bi-x-octagon-fill", "warning": "bi-exclamation-triangle-fill", "info": "bi-info-circle-fill"}
NO_DATA_TITLE = "No data yet — click Update Data"


def notice_alert(notice: Any) -> dbc.Alert:
    level = notice.level if notice.level in _ICONS else "warning"
    body: list[Any] = [
        html.I(className=f"bi {_ICONS[level]} me-2", **{"aria-hidden": "true"}),
        html.Strong(f"{notice.header}: "),
        html.Span(notice.text, className="notice-text"),
    ]
    if notice.dismissible:
        body.append(dbc.Button("Dismiss", id=ids.Notices.dismiss(notice.notice_id), color=level, outline=True,
                               size="sm", class_name="ms-2 py-0"))
    return dbc.Alert(body, color=level, class_name="py-2 mb-2 page-notice")


def notice_children(notices: list[Any]) -> list[dbc.Alert]:
    return [notice_alert(notice) for notice in notices]


def notices_area(notices: list[Any]) -> html.Div:
    """The notices area, filled on page load and refreshed by ``callbacks.notices``."""
    return html.Div(notice_children(notices), id=ids.Notices.AREA, role="status", className="page-notices")


def no_data_rows(explanation: str) -> tuple[list[dbc.Col], list[dbc.Col]]:
    """(DORA row children, Flow row children) when nothing is cached yet: one calm message, not nine errors."""
    message = dbc.Col(
        html.Div(
            [
                html.P([html.I(className="bi bi-inbox me-2", **{"aria-hidden": "true"}), html.Strong(NO_DATA_TITLE)],
                       className="mb-1"),
                html.P(explanation, className="small text-body-secondary mb-0"),
            ],
            id=ids.Notices.NO_DATA,
            className="border rounded p-3 bg-body-tertiary",
        ),
        xs=12,
    )
    return [message], []
