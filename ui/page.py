"""The dashboard page: navbar (with the Export menu, the Dashboard / Analytics / Teams links and the team
selector), demo banner, update progress, period selector, DORA and Flow sections (the ``/`` view), the Analytics
view (``/analytics``, ``ui/analytics_view.py``) and the Teams view (``/teams``, ``ui/teams_view.py``); a
``dcc.Location`` says which view shows (its query, which team), the period selector serves all three.

Pure layout: callbacks fill the card rows (``metric_rows``), toggle visibility with ``HIDDEN`` /
``SHOWN`` on the ``style`` of ``ids.Navbar.CANCEL_BUTTON``, ``ids.UpdateProgress.AREA`` and
``ids.Period.CUSTOM_RANGE_AREA``, append ``toast(...)`` results to ``ids.Toasts.CONTAINER`` and
validate custom dates with ``validate_custom_period``. Only theme-aware Bootstrap 5.3 classes are used,
so the page reads well under ``data-bs-theme="light"`` and ``"dark"``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Literal

import dash_bootstrap_components as dbc
from dash import dcc, html

from data.metrics.period_selection import resolve_period
from ui import ids
from ui.analytics_view import analytics_view, view_links
from ui.exports_panel import export_components, export_menu
from ui.formatting import format_last_updated, format_progress
from ui.metric_card import metric_card
from ui.metric_info import DORA_METRICS, FLOW_METRICS, metric_info
from ui.period_selector import (  # noqa: F401  (validate_custom_period: re-exported for callers of ui.page)
    PERIOD_PRESETS,
    period_dates_text,
    period_selector,
    validate_custom_period,
)
from ui.teams_view import team_selector, teams_link, teams_view

PRODUCT_NAME = "DORA & Flow Metrics"
HIDDEN: dict[str, str] = {"display": "none"}
SHOWN: dict[str, str] = {}
TOAST_ICONS: dict[str, str] = {
    "success": "bi-check-circle-fill",
    "danger": "bi-x-octagon-fill",
    "warning": "bi-exclamation-triangle-fill",
    "info": "bi-info-circle-fill",
}
AUTO_HIDE_MS = 5000


def _button(label: Any, icon: str, button_id: str, **props: Any) -> dbc.Button:
    return dbc.Button(
        [html.I(className=f"bi {icon} me-1", **{"aria-hidden": "true"}), label], id=button_id, **props
    )


def _compact_label(label: str) -> html.Span:
    """A button label hidden between 1200 and 1400 px, where the one-row navbar needs the room (the
    button keeps its icon and a ``title``); shown on wider screens and on narrower ones, where the navbar
    wraps."""
    return html.Span(label, className="d-inline d-xl-none d-xxl-inline")


def _view_links() -> dbc.Nav:
    """"Dashboard", "Analytics" and "Teams": the same pills, one row."""
    links = view_links()
    links.children.append(teams_link())
    return links


def _navbar(data_source_label: str, last_updated: str | None) -> dbc.Navbar:
    # From 1200 px up the navbar keeps one row: the status gives way (ellipsis, full text in ``title``).
    last_updated_text = format_last_updated(last_updated)
    status = html.Div(
        [
            html.Span(
                [
                    html.I(className="bi bi-database me-1"),
                    html.Span(data_source_label, id=ids.Navbar.DATA_SOURCE, title=data_source_label),
                ],
                className="navbar-status-item me-3",
            ),
            html.Span(
                [
                    html.I(className="bi bi-clock-history me-1"),
                    html.Span(last_updated_text, id=ids.Navbar.LAST_UPDATED, title=last_updated_text),
                ],
                className="navbar-status-item",
            ),
        ],
        className="navbar-text navbar-status small text-body-secondary",
    )
    actions = html.Div(
        [
            _button(
                "Update Data", "bi-arrow-clockwise", ids.Navbar.UPDATE_BUTTON, color="primary", size="sm"
            ),
            _button(
                "Cancel",
                "bi-x-circle",
                ids.Navbar.CANCEL_BUTTON,
                color="danger",
                outline=True,
                size="sm",
                style=HIDDEN,
            ),
            _button(
                _compact_label("Configure Field Mappings"),
                "bi-sliders",
                ids.Navbar.OPEN_FIELD_MAPPING,
                color="secondary",
                outline=True,
                size="sm",
                title="Configure Field Mappings",
            ),
            _button(
                _compact_label("Data source"),
                "bi-gear",
                ids.Navbar.OPEN_JIRA_SETTINGS,
                color="secondary",
                outline=True,
                size="sm",
                title="Data source",
            ),
            export_menu(),
            dbc.Switch(
                id=ids.Navbar.THEME_SWITCH,
                persistence=True,
                persistence_type="local",
                label=html.Span([html.I(className="bi bi-moon-stars me-1"), "Dark"]),
                value=False,
                class_name="mb-0 ms-1",
            ),
        ],
        className="navbar-actions d-flex flex-wrap flex-xl-nowrap flex-xl-shrink-0 align-items-center gap-2",
    )
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand(
                    [html.I(className="bi bi-speedometer2 me-2", **{"aria-hidden": "true"}), PRODUCT_NAME],
                    class_name="fw-semibold flex-shrink-0",
                ),
                _view_links(),
                team_selector(),
                status,
                actions,
            ],
            fluid=True,
            class_name="d-flex flex-wrap flex-xl-nowrap align-items-center gap-2",
        ),
        id=ids.Navbar.NAVBAR,
        color="var(--bs-tertiary-bg)",
        dark=False,
        class_name="dashboard-navbar border-bottom mb-3",
    )


def _demo_banner(demo_mode: bool) -> dbc.Alert:
    return dbc.Alert(
        [
            html.I(className="bi bi-info-circle-fill me-2", **{"aria-hidden": "true"}),
            html.Strong("You are looking at demo data"),
            " from a generated team, not your Jira. To connect your Jira or Azure DevOps, open Data source, "
            "then click Update Data.",
        ],
        id=ids.Sections.DEMO_BANNER,
        color="info",
        is_open=demo_mode,
        dismissable=True,
        class_name="py-2",
    )


def _progress_area() -> html.Div:
    """One compact line under the navbar: a thin bar with the count beside it (the navbar itself only gains
    the Cancel button, so it keeps its single row)."""
    return html.Div(
        html.Div(
            [
                dbc.Progress(id=ids.UpdateProgress.BAR, value=0, striped=True, animated=True,
                             class_name="update-progress-bar flex-grow-1"),
                html.Div(format_progress(0, None), id=ids.UpdateProgress.TEXT,
                         className="small text-body-secondary text-nowrap"),
            ],
            className="d-flex align-items-center gap-2",
        ),
        id=ids.UpdateProgress.AREA,
        style=HIDDEN,
        className="mb-3",
        role="status",
    )


def _section(title: str, explanation: str, row_id: str, children: list[Any], row_class: str) -> html.Section:
    return html.Section(
        [
            html.H2(title, className="h4 mb-0"),
            html.P(explanation, className="text-body-secondary small mb-2"),
            dbc.Row(children, id=row_id, class_name=f"g-3 {row_class}"),
        ],
        className="mb-4",
    )


def _dora_slot(content: Any) -> dbc.Col:
    return dbc.Col(content, xs=12, md=6, xl=3, class_name="metric-slot")


def _flow_slot(content: Any) -> dbc.Col:
    return dbc.Col(content, class_name="metric-slot")


_FLOW_ROW_CLASS = "row-cols-1 row-cols-md-2 row-cols-lg-3 row-cols-xxl-5"


def _not_calculated(name: str) -> dict[str, Any]:
    return {
        "metric_name": name,
        "metric_type": metric_info(name).metric_type,
        "value": None,
        "error_state": "calculation_error",
        "error_message": "This metric was not calculated.",
        "details": {},
    }


def metric_rows(metrics: dict[str, dict[str, Any]]) -> tuple[list[dbc.Col], list[dbc.Col]]:
    """``(dora_children, flow_children)``: one slot per metric in the fixed display order.

    A metric absent from ``metrics`` gets an error card rather than a hole; extra names are ignored.
    """

    def card(name: str) -> dbc.Card:
        return metric_card(metrics.get(name) or _not_calculated(name))

    return [_dora_slot(card(name)) for name in DORA_METRICS], [
        _flow_slot(card(name)) for name in FLOW_METRICS
    ]


def _placeholder_card() -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                dbc.Placeholder(xs=7, class_name="mb-2"),
                dbc.Placeholder(xs=4, size="lg", class_name="mb-3"),
                dbc.Placeholder(xs=12, class_name="mb-2", style={"height": "60px"}),
                dbc.Placeholder(xs=6, size="xs"),
            ],
            class_name="placeholder-glow",
        ),
        class_name="metric-card metric-card-loading h-100 shadow-sm",
    )


def loading_placeholder_cards() -> tuple[list[dbc.Col], list[dbc.Col]]:
    """Placeholder slots shaped like ``metric_rows``' result, shown until the first metrics arrive."""
    return (
        [_dora_slot(_placeholder_card()) for _ in DORA_METRICS],
        [_flow_slot(_placeholder_card()) for _ in FLOW_METRICS],
    )


def toast(
    message: Any,
    *,
    header: str,
    icon: Literal["success", "danger", "warning", "info"] = "info",
    duration: int | None = None,
) -> dbc.Toast:
    """An open, dismissable toast for ``ids.Toasts.CONTAINER``.

    ``duration`` in ms; None picks the default: success and info hide after ``AUTO_HIDE_MS``, danger
    and warning stay until dismissed (an error must not vanish unread); 0 also means "stay".
    """
    if icon not in TOAST_ICONS:
        raise ValueError(f"toast icon must be one of {sorted(TOAST_ICONS)}, got {icon!r}")
    if duration is None:
        duration = AUTO_HIDE_MS if icon in ("success", "info") else 0
    return dbc.Toast(
        message,
        header=html.Span([html.I(className=f"bi {TOAST_ICONS[icon]} text-{icon} me-2"), header]),
        is_open=True,
        dismissable=True,
        duration=duration or None,
        class_name=f"dashboard-toast toast-{icon}",
    )


def build_page(
    *,
    data_source_label: str,
    last_updated: str | None,
    demo_mode: bool,
    default_period: str = "30",
    today: date | None = None,
) -> html.Div:
    """The whole page with placeholder cards; ``default_period`` is one of "7", "30", "90", "custom".

    ``today`` (default: the UTC date now, as the layout is built on every page load) is the period
    selector's last allowed day and the end of the preset whose dates are shown."""
    presets = [value for value, _ in PERIOD_PRESETS]
    if default_period not in presets:
        raise ValueError(f"default_period must be one of {presets}, got {default_period!r}")
    today = today or datetime.now(UTC).date()
    dates_text = ("" if default_period == "custom"
                  else period_dates_text(resolve_period({"preset": default_period}, today)))
    dora_slots, flow_slots = loading_placeholder_cards()
    return html.Div(
        [
            dcc.Location(id=ids.Views.LOCATION, refresh=False),
            dcc.Store(id=ids.Stores.PERIOD, data={"preset": default_period, "start": None, "end": None}),
            dcc.Store(id=ids.Stores.DATA_VERSION, data=None),
            dcc.Store(id=ids.Stores.THEME, storage_type="local"),
            _navbar(data_source_label, last_updated),
            dbc.Container(
                [
                    _demo_banner(demo_mode),
                    _progress_area(),
                    period_selector(default_period, today, dates_text),
                    html.Div([_section(
                        "DORA",
                        "How often and how safely the team delivers to production, with DORA 2023 "
                        "performance tiers.",
                        ids.Sections.DORA_ROW,
                        dora_slots,
                        "",
                    ),
                    _section(
                        "Flow",
                        "How work moves from start to done: throughput, time, efficiency, work in "
                        "progress and the mix of work types.",
                        ids.Sections.FLOW_ROW,
                        flow_slots,
                        _FLOW_ROW_CLASS,
                    )], id=ids.Views.DASHBOARD),
                    analytics_view(today),
                    teams_view(),
                ],
                fluid=True,
                class_name="pb-4",
            ),
            *export_components(),
            # Bottom-left, away from the navbar's menus; dashboard.css keeps drop-down menus above it.
            html.Div(
                id=ids.Toasts.CONTAINER,
                className="toast-container dashboard-toasts position-fixed bottom-0 start-0 p-3",
            ),
        ],
        className="dashboard-page bg-body text-body min-vh-100",
    )
