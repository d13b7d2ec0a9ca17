"""The Analytics view (``/analytics``): five chart cards — cycle time, ageing work in progress, time in status,
cumulative flow, throughput — and the forecast panel.

Pure layout. Each card has its title, one sentence on how to read it, a CSV download, the chart and the
sentence stating its finding (``ids.Analytics.summary``). A section that cannot be drawn (``missing_mapping``,
``no_data``, or no data loaded at all) shows a message in the words the metric cards use instead of an empty
axis (``ui/analytics_state.state_message``); ``callbacks/analytics.py`` fills the cards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from ui import analytics_charts as charts
from ui import ids
from ui.analytics_charts import GRAPH_CONFIG
from ui.analytics_state import HIDDEN, state_message
from ui.forecast_panel import forecast_panel


@dataclass(frozen=True)
class ChartCard:
    section: str
    title: str
    how_to_read: str


CHART_CARDS: tuple[ChartCard, ...] = (
    ChartCard("cycle_time", "Cycle time",
              "Each dot is a finished item, placed at the day it was done and as high as the days it took; a line "
              "marks the time within which that share of items finished (click a dot to open the item in Jira)."),
    ChartCard("aging_wip", "Ageing work in progress",
              "Each dot is an item still in progress, in its status's column and as high as its age; dots in the "
              "upper bands are already older than most finished items took, so they need attention first."),
    ChartCard("time_in_status", "Time in status",
              "Each bar is a status's share of all the flow time of the items finished in the period; hatched "
              "bars are waiting statuses, where work sits between the active steps."),
    ChartCard("cfd", "Cumulative flow",
              "Each band counts the items in one status on each day, done at the bottom; a band that widens "
              "means work piles up in that status faster than it leaves."),
    ChartCard("throughput", "Throughput",
              "Bars count the items finished each day; the line is the weekly total, read on the right axis."),
)
SECTIONS: tuple[str, ...] = tuple(card.section for card in CHART_CARDS)


def _chart_card(card: ChartCard) -> dbc.Card:
    header = html.Div(
        [
            html.H3(card.title, className="h6 mb-0 fw-semibold"),
            dbc.Button([html.I(className="bi bi-download me-1", **{"aria-hidden": "true"}), "CSV"],
                       id=ids.Analytics.download_button(card.section), color="secondary", outline=True, size="sm",
                       title=f"Download the data of the {card.title.lower()} chart as CSV"),
        ],
        className="d-flex align-items-center justify-content-between gap-2",
    )
    return dbc.Card(
        dbc.CardBody(
            [
                header,
                html.P(card.how_to_read, className="analytics-how-to small text-body-secondary mt-1 mb-2"),
                html.Div(dbc.Spinner(size="sm", spinner_class_name="me-2"), id=ids.Analytics.state(card.section),
                         className="analytics-state", role="status"),
                dcc.Graph(id=ids.Analytics.graph(card.section), config=GRAPH_CONFIG, style=HIDDEN,
                          className="analytics-graph", responsive=True),
                html.P(id=ids.Analytics.summary(card.section), className="analytics-summary small mb-0 mt-1"),
                dcc.Download(id=ids.Analytics.download(card.section)),
            ]
        ),
        class_name=f"analytics-card analytics-card-{card.section} h-100 shadow-sm",
    )


def analytics_view(today: date) -> html.Div:
    """The view's content (hidden until the location is ``/analytics``); ``today`` bounds the forecast's date
    picker to future days."""
    cols = [dbc.Col(_chart_card(card), xs=12, xl=6) for card in CHART_CARDS]
    return html.Div(
        [
            html.Section(
                [
                    html.H2("Analytics", className="h4 mb-0"),
                    html.P("Which items took long and which are ageing now, where work waits and how it "
                           "accumulates, for the selected period.", className="text-body-secondary small mb-2"),
                    dbc.Row(cols, class_name="g-3"),
                ],
                className="mb-4",
            ),
            forecast_panel(today),
            dcc.Store(id=ids.Stores.OPEN_ISSUE),
        ],
        id=ids.Views.ANALYTICS,
        style=HIDDEN,
        className="analytics-page",
    )


ANALYTICS_PATH = "/analytics"


def view_links() -> dbc.Nav:
    """The navbar's "Dashboard" and "Analytics" links: they change the URL without reloading the page (so the
    selected period stays), and the one matching the URL is marked active."""
    return dbc.Nav(
        [
            dbc.NavLink("Dashboard", href="/", id=ids.Views.DASHBOARD_LINK, active="exact", class_name="py-1 px-2"),
            dbc.NavLink("Analytics", href=ANALYTICS_PATH, id=ids.Views.ANALYTICS_LINK, active="exact",
                        class_name="py-1 px-2"),
        ],
        pills=True,
        class_name="view-links flex-nowrap flex-shrink-0",
    )


def view_styles(pathname: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """(dashboard style, analytics style) for the URL's path: ``/analytics`` shows the charts, anything else
    the metric cards."""
    if is_analytics(pathname):
        return HIDDEN, {}
    return {}, HIDDEN


def is_analytics(pathname: str | None) -> bool:
    return str(pathname or "").rstrip("/") == ANALYTICS_PATH


def _figure_and_summary(key: str, analytics: dict[str, Any], theme: str | None,
                        jira_url: str | None) -> tuple[dict[str, Any], str]:
    section = analytics[key]
    if key == "cycle_time":
        return charts.cycle_time_figure(section, theme, jira_url=jira_url), charts.cycle_time_summary(section)
    if key == "aging_wip":
        order = charts.workflow_order(analytics.get("cfd"))
        return (charts.aging_wip_figure(section, theme, order=order, jira_url=jira_url),
                charts.aging_wip_summary(section))
    if key == "time_in_status":
        return charts.time_in_status_figure(section, theme), charts.time_in_status_summary(section)
    if key == "cfd":
        return charts.cfd_figure(section, theme), charts.cfd_summary(section)
    return charts.throughput_figure(section, theme), charts.throughput_summary(section)


def chart_outputs(analytics: dict[str, Any] | None, theme: str | None, *, jira_url: str | None = None,
                  no_data_explanation: str = "") -> dict[str, list[Any]]:
    """Everything the five cards show, as lists in ``CHART_CARDS`` order (the order of the ``dash.ALL``
    outputs): ``figures``, ``styles`` (a chart that cannot be drawn is hidden), ``states`` (the message shown
    instead) and ``summaries``. ``analytics`` None means no data is loaded yet."""
    out: dict[str, list[Any]] = {"figures": [], "styles": [], "states": [], "summaries": []}
    for card in CHART_CARDS:
        section = None if analytics is None else (analytics.get(card.section) or {})
        message = state_message(card.section, section, no_data_explanation)
        if message is not None or analytics is None:
            figure, style, summary = {"data": [], "layout": {}}, HIDDEN, ""
        else:
            figure, summary = _figure_and_summary(card.section, analytics, theme, jira_url)
            style = {"height": f"{figure['layout'].get('height', 360)}px"}
        out["figures"].append(figure)
        out["styles"].append(style)
        out["states"].append(message)
        out["summaries"].append(summary)
    return out
