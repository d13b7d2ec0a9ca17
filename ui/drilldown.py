"""The drill-down modal: the issues behind one card's number, sortable and filterable, with a CSV download.

Pure layout. ``drilldown_components()`` goes once beside the page (the modal, its selection store and its
download); callbacks fill the modal with ``drilldown_title``, ``drilldown_summary``, ``table_columns`` and
``table_data`` from a ``data.services.drilldown_service.Drilldown``. Keys are Markdown links to Jira when the
drill-down has issue URLs (plain keys in demo mode); numbers keep full precision in the data and are
rounded only by the column format, so sorting is numeric. Every colour is a Bootstrap CSS variable, so the
table reads well under ``data-bs-theme="light"`` and ``"dark"``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import dash_bootstrap_components as dbc
from dash import dash_table, dcc, html
from dash.dash_table.Format import Format, Scheme

from data.services.drilldown_service import COLUMN_DESCRIPTIONS, URL_COLUMN, Drilldown, DrilldownColumn
from ui import ids
from ui.formatting import format_count, format_exclusion_reasons, format_value
from ui.metric_info import metric_info

PAGE_SIZE = 25
EXCLUDED_COLUMN = "excluded_reason"
DECIMALS = {"percent": 1}
DEFAULT_DECIMALS = 2
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>])")
_URL_UNSAFE = {" ": "%20", "(": "%28", ")": "%29", "<": "%3C", ">": "%3E"}

TABLE_STYLE: dict[str, Any] = {
    "style_table": {"overflowX": "auto"},
    "style_cell": {
        "backgroundColor": "var(--bs-body-bg)",
        "color": "var(--bs-body-color)",
        "border": "1px solid var(--bs-border-color)",
        "fontFamily": "var(--bs-body-font-family)",
        "fontSize": "0.875rem",
        "padding": "0.35rem 0.5rem",
        "textAlign": "left",
        "whiteSpace": "normal",
        "height": "auto",
        "minWidth": "6rem",
        "maxWidth": "28rem",
    },
    "style_header": {
        "backgroundColor": "var(--bs-tertiary-bg)",
        "color": "var(--bs-emphasis-color)",
        "fontWeight": "600",
    },
    "style_filter": {"backgroundColor": "var(--bs-secondary-bg)", "color": "var(--bs-body-color)"},
}
EXCLUDED_ROW_STYLE: dict[str, Any] = {
    "if": {"filter_query": f"!({{{EXCLUDED_COLUMN}}} is blank)"},
    "color": "var(--bs-secondary-color)",
    "fontStyle": "italic",
}


def _markdown_text(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _key_cell(key: Any, url: Any) -> str:
    text = _markdown_text(str(key or ""))
    if not url:
        return text
    target = "".join(_URL_UNSAFE.get(char, char) for char in str(url))
    return f"[{text}]({target})"


def _timestamp_text(value: Any) -> str | None:
    """``2025-01-15 10:00 UTC`` shortened to ``2025-01-15 10:00`` (the header says UTC); sorts as text."""
    if not isinstance(value, str) or len(value) < 16:
        return value
    return f"{value[:10]} {value[11:16]}"


def _flag_text(value: Any) -> str | None:
    if value is None:
        return None
    return "Yes" if value else "No"


def table_columns(drilldown: Drilldown) -> list[dict[str, Any]]:
    """DataTable column definitions (key as Markdown, numbers rounded by format only). The "Excluded
    because" column is shown only when some row is excluded (the CSV always has it)."""
    shown = [column for column in drilldown.columns if column.id != EXCLUDED_COLUMN or drilldown.excluded]
    return [_table_column(column) for column in shown]


def _table_column(column: DrilldownColumn) -> dict[str, Any]:
    definition: dict[str, Any] = {"id": column.id, "name": column.label}
    if column.kind == "key":
        definition["presentation"] = "markdown"
    elif column.kind == "timestamp":
        definition["name"] = f"{column.label} (UTC)"
    elif column.kind == "number":
        definition["type"] = "numeric"
        places = DECIMALS.get(column.unit or "", DEFAULT_DECIMALS)
        definition["format"] = Format(precision=places, scheme=Scheme.fixed).to_plotly_json()
    return definition


def table_data(drilldown: Drilldown) -> list[dict[str, Any]]:
    """One JSON-safe dict per row, in the drill-down's order, shaped for ``table_columns``."""
    kinds = {column.id: column.kind for column in drilldown.columns}
    data = []
    for row in drilldown.rows:
        cells: dict[str, Any] = {}
        for column_id, kind in kinds.items():
            value = row.get(column_id)
            if kind == "key":
                cells[column_id] = _key_cell(value, row.get(URL_COLUMN))
            elif kind == "timestamp":
                cells[column_id] = _timestamp_text(value)
            elif kind == "flag":
                cells[column_id] = _flag_text(value)
            else:
                cells[column_id] = value
        data.append(cells)
    return data


def table_cell_conditional(drilldown: Drilldown) -> list[dict[str, Any]]:
    """Number columns right-aligned (for ``style_cell_conditional``)."""
    numeric = [column.id for column in drilldown.columns if column.kind == "number"]
    return [{"if": {"column_id": column_id}, "textAlign": "right"} for column_id in numeric]


def drilldown_title(metric_name: str, start: Any = None, end: Any = None) -> str:
    """``Lead Time for Changes · 2025-01-01 to 2025-01-31`` (the name alone without a period)."""
    name = metric_info(metric_name).display_name
    return f"{name} · {start} to {end}" if start and end else name


def _as_of_text(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else ""


def drilldown_summary(drilldown: Drilldown) -> list[Any]:
    """The headline the rows explain, how many rows are used or excluded, and what the rows are."""
    metric = drilldown.metric or {}
    children: list[Any] = []
    if metric.get("error_state") == "success":
        children.append(html.Div(
            [html.Span("Value: ", className="text-body-secondary"),
             html.Strong(format_value(metric.get("value"), str(metric.get("unit") or "")),
                         className="drilldown-value")],
            className="mb-1",
        ))
    elif metric.get("error_message"):
        children.append(html.Div(metric["error_message"], className="drilldown-state mb-1"))
    if drilldown.message:
        children.append(dbc.Alert(drilldown.message, color="warning", class_name="drilldown-message py-2 mb-2"))
    children.append(html.Div(_counts_text(drilldown), className="drilldown-counts mb-1"))
    reasons = format_exclusion_reasons(_reason_counts(drilldown))
    if reasons:
        children.append(html.Div(
            "Excluded: " + reasons.replace("\n", "; "), className="drilldown-reasons small text-body-secondary mb-1"
        ))
    children.append(html.P(drilldown.description, className="drilldown-description small text-body-secondary mb-2"))
    return children


def _counts_text(drilldown: Drilldown) -> str:
    if drilldown.metric_name == "flow_load":
        return f"{format_count(drilldown.total)} items in progress as of {_as_of_text(drilldown.as_of)}"
    if drilldown.total == 0:
        return "No issues behind this number in this period"
    return (f"{format_count(drilldown.total)} issues considered: {format_count(drilldown.included)} used, "
            f"{format_count(drilldown.excluded)} excluded")


def _reason_counts(drilldown: Drilldown) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in drilldown.rows:
        reason = row.get("excluded_reason")
        if reason:
            counts[reason] = counts.get(reason, 0) + 1
    return counts


def drilldown_table() -> dash_table.DataTable:
    """The empty table the callbacks fill (columns and data change per metric)."""
    return dash_table.DataTable(
        id=ids.Drilldown.TABLE,
        columns=[],
        data=[],
        sort_action="native",
        sort_mode="multi",
        filter_action="native",
        filter_options={"case": "insensitive", "placeholder_text": "Filter…"},
        page_action="native",
        page_size=PAGE_SIZE,
        markdown_options={"link_target": "_blank", "html": False},
        style_data_conditional=[EXCLUDED_ROW_STYLE],
        # Derived columns (Flow Load's age) explain themselves in a header tooltip; a dotted underline
        # and the help cursor say there is one.
        tooltip_header=dict(COLUMN_DESCRIPTIONS),
        tooltip_delay=300,
        tooltip_duration=None,
        style_header_conditional=[
            {"if": {"column_id": column_id}, "cursor": "help", "textDecoration": "underline dotted"}
            for column_id in COLUMN_DESCRIPTIONS
        ],
        css=[{"selector": ".cell-markdown p", "rule": "margin: 0"},
             {"selector": ".dash-tooltip", "rule": "max-width: 22rem; white-space: normal"}],
        **TABLE_STYLE,
    )


def drilldown_components() -> html.Div:
    """The modal (closed), the store of what it shows, and the CSV download: place once beside the page."""
    modal = dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("Details", id=ids.Drilldown.TITLE)),
            dbc.ModalBody(
                [
                    html.Div(id=ids.Drilldown.SUMMARY, className="drilldown-summary"),
                    dcc.Loading(drilldown_table(), type="circle"),
                ]
            ),
            dbc.ModalFooter(
                [
                    dbc.Button(
                        [html.I(className="bi bi-download me-1", **{"aria-hidden": "true"}), "Download CSV"],
                        id=ids.Drilldown.DOWNLOAD_BUTTON,
                        color="primary",
                        size="sm",
                    ),
                    dbc.Button("Close", id=ids.Drilldown.CLOSE_BUTTON, color="secondary", outline=True, size="sm"),
                ]
            ),
        ],
        id=ids.Drilldown.MODAL,
        size="xl",
        scrollable=True,
        is_open=False,
        class_name="drilldown-modal",
    )
    return html.Div(
        [modal, dcc.Store(id=ids.Drilldown.SELECTION, data=None), dcc.Download(id=ids.Drilldown.DOWNLOAD)],
        className="drilldown",
    )
