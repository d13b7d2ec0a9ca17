"""The Monte Carlo forecast panel of the Analytics view: the question ("How many by…" a future day, or "When
will … items be done"), the history window it draws from, the answers in plain words, the histogram of the
trials and the throughput history.

Pure layout; ``callbacks/forecast.py`` re-runs the forecast on every change (no button) and fills
``ids.Forecast.RESULTS``, ``HISTOGRAM`` and ``HISTORY``. ``today`` (UTC) bounds the date picker: it offers
only days after today, since a forecast is about the future.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from ui import ids
from ui.analytics_charts import GRAPH_CONFIG
from ui.analytics_state import HIDDEN, state_message
from ui.forecast_charts import forecast_answers, histogram_figure, history_figure

MODES: tuple[tuple[str, str], ...] = (("how_many", "How many by…"), ("when", "When will … items be done"))
HISTORY_WINDOWS: tuple[int, ...] = (30, 60, 90, 180)
DEFAULT_HISTORY_DAYS = 90
DEFAULT_HORIZON_DAYS = 30
HOW_TO_READ = ("Each answer comes from 10,000 simulated futures that replay the daily throughput of the chosen "
               "history window: “85% likely” holds in 85 of 100 of them. It assumes the coming days resemble "
               "that window and counts items, not their size.")


def _labelled(label: str, control, *, control_id: str | None = None, area_id: str | None = None,
              style: dict | None = None) -> html.Div:
    area = html.Div([dbc.Label(label, html_for=control_id, class_name="small mb-1"), control],
                    className="forecast-control", style=style or {})
    if area_id:
        area.id = area_id
    return area


def forecast_panel(today: date) -> html.Section:
    """The panel: controls on top, then the answers table beside the histogram, then the history."""
    until_picker = dcc.DatePickerSingle(
        id=ids.Forecast.UNTIL,
        date=(today + timedelta(days=DEFAULT_HORIZON_DAYS)).isoformat(),
        min_date_allowed=(today + timedelta(days=1)).isoformat(),
        initial_visible_month=today.isoformat(),
        display_format="D MMM YYYY",
        clearable=False,
    )
    items_input = dbc.Input(id=ids.Forecast.ITEMS, type="number", min=1, step=1, debounce=400, size="sm",
                            placeholder="items", class_name="forecast-items-input")
    controls = html.Div(
        [
            _labelled("Question", dbc.RadioItems(id=ids.Forecast.MODE, value="how_many", inline=True,
                                                 options=[{"label": text, "value": value} for value, text in MODES],
                                                 input_class_name="me-1"), control_id=ids.Forecast.MODE),
            _labelled("How many items by", until_picker, control_id=ids.Forecast.UNTIL,
                      area_id=ids.Forecast.UNTIL_AREA),
            _labelled("Items to finish", items_input, control_id=ids.Forecast.ITEMS, area_id=ids.Forecast.ITEMS_AREA,
                      style=HIDDEN),
            _labelled("History to draw from", dbc.RadioItems(
                id=ids.Forecast.HISTORY_DAYS, value=DEFAULT_HISTORY_DAYS, inline=True,
                options=[{"label": f"{days} days", "value": days} for days in HISTORY_WINDOWS],
                input_class_name="me-1"), control_id=ids.Forecast.HISTORY_DAYS),
        ],
        className="forecast-controls d-flex flex-wrap align-items-end gap-3 mb-2",
    )
    return html.Section(
        dbc.Card(
            dbc.CardBody(
                [
                    html.H2("Forecast", className="h5 mb-0"),
                    html.P(HOW_TO_READ, className="analytics-how-to small text-body-secondary mt-1 mb-2"),
                    controls,
                    html.Div(id=ids.Forecast.MESSAGE, role="status", className="forecast-note"),
                    html.Div(
                        dbc.Row(
                            [
                                dbc.Col(html.Div(id=ids.Forecast.RESULTS, className="forecast-answers"),
                                        xs=12, lg=4),
                                dbc.Col(dcc.Graph(id=ids.Forecast.HISTOGRAM, config=GRAPH_CONFIG,
                                                  style={"height": "300px"}, responsive=True), xs=12, lg=8),
                                dbc.Col(dcc.Graph(id=ids.Forecast.HISTORY, config=GRAPH_CONFIG,
                                                  style={"height": "240px"}, responsive=True), xs=12),
                            ],
                            class_name="g-3",
                        ),
                        id=ids.Forecast.CHARTS,
                        style=HIDDEN,
                    ),
                ]
            ),
            class_name="analytics-card shadow-sm",
        ),
        id=ids.Forecast.PANEL,
        className="mb-4",
    )


def results_table(answers: list[tuple[str, str]]) -> dbc.Table:
    """The answers as a small table: one row per likelihood, the answer in plain words."""
    return dbc.Table(
        [html.Thead(html.Tr([html.Th("Likelihood", scope="col"), html.Th("Answer", scope="col")])),
         html.Tbody([html.Tr([html.Td(level, className="fw-semibold"), html.Td(text, className="forecast-answer")])
                     for level, text in answers])],
        size="sm", bordered=False, hover=True, class_name="forecast-table mb-0 small",
    )


def mode_styles(mode: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """(date picker area style, number input area style): only the input of the chosen question shows."""
    return (HIDDEN, {}) if mode == "when" else ({}, HIDDEN)


def forecast_outputs(result: dict[str, Any] | None, mode: str | None, theme: str | None, *,
                     no_data_explanation: str = "") -> dict[str, Any]:
    """Everything the panel shows for one forecast result (None: no data loaded yet): the inputs' visibility,
    the message instead of the answers when there are none, the answers table and the two charts."""
    until_style, items_style = mode_styles(mode)
    out: dict[str, Any] = {"until_style": until_style, "items_style": items_style}
    message = state_message("forecast", result, no_data_explanation)
    if message is not None or result is None:
        empty = {"data": [], "layout": {}}
        return {**out, "message": message, "results": None, "histogram": empty, "history": empty,
                "charts_style": HIDDEN}
    return {**out, "message": None, "results": results_table(forecast_answers(result)),
            "histogram": histogram_figure(result, theme), "history": history_figure(result, theme),
            "charts_style": {}}
