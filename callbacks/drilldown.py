"""Drill-down: a card's Details button opens the issues behind its number; Download CSV saves them.

``show_drilldown`` and ``download_drilldown_csv`` take plain values (metric name, period store, selection
store) so tests call them directly; ``register`` only works out which button was clicked.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, Patch, State, dcc

from callbacks.team_selection import selected_team, team_kwargs
from data.metrics.period_selection import resolve_period
from data.metrics.periods import Period, PeriodError
from data.services.dashboard_service import dashboard_settings
from data.services.drilldown_service import METRIC_NAMES, drilldown_csv, drilldown_filename, drilldown_for_dashboard
from ui import ids
from ui.drilldown import drilldown_summary, drilldown_title, table_cell_conditional, table_columns, table_data
from ui.page import toast

logger = logging.getLogger(__name__)
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


def _settings() -> dict[str, Any]:
    return dashboard_settings().settings


def show_drilldown(metric_name: str, period: dict[str, Any] | None, now: datetime | None = None, *,
                   team: str | None = None) -> tuple:
    """(is_open, title, summary, columns, data, cell styles, selection) for the modal; ``team`` (empty or None =
    all teams) lists that team's issues, and the selection keeps it so Download CSV saves the same list."""
    now = now or datetime.now(UTC)
    if metric_name not in METRIC_NAMES:
        return (dash.no_update,) * 7
    try:
        selected = resolve_period(period, now.date())
        drilldown = drilldown_for_dashboard(metric_name, _settings(), selected, now, **team_kwargs(team))
    except PeriodError as error:
        return True, drilldown_title(metric_name), dbc.Alert(str(error), color="warning"), [], [], [], None
    except Exception as error:  # the user gets a message, the log gets the traceback
        logger.exception("Drill-down failed", extra={"metric": metric_name})
        message = dbc.Alert(f"The issues behind this number could not be listed: {error}", color="danger")
        return True, drilldown_title(metric_name), message, [], [], [], None
    selection = {"metric": metric_name, "start": selected.start.isoformat(), "end": selected.end.isoformat(),
                 "team": selected_team(team)}
    return (True, drilldown_title(metric_name, selected.start, selected.end), drilldown_summary(drilldown),
            table_columns(drilldown), table_data(drilldown), table_cell_conditional(drilldown), selection)


def download_drilldown_csv(selection: dict[str, Any] | None, now: datetime | None = None) -> tuple[Any, Any]:
    """(download for ``dcc.Download`` or no_update, toast Patch or no_update) for the shown drill-down."""
    if not isinstance(selection, dict) or selection.get("metric") not in METRIC_NAMES:
        return dash.no_update, dash.no_update
    now = now or datetime.now(UTC)
    try:
        period = Period(selection.get("start"), selection.get("end"))
        drilldown = drilldown_for_dashboard(selection["metric"], _settings(), period, now,
                                            **team_kwargs(selection.get("team")))
        return dcc.send_string(drilldown_csv(drilldown), drilldown_filename(drilldown), type=CSV_MEDIA_TYPE), \
            dash.no_update
    except Exception as error:  # a failed download is a message, never a traceback
        logger.exception("Drill-down CSV failed", extra={"metric": selection.get("metric")})
        toasts = Patch()
        toasts.append(toast(f"The CSV could not be built: {error}", header="Download CSV", icon="danger"))
        return dash.no_update, toasts


def _clicked_metric() -> str | None:
    """The metric whose Details button was really clicked (a re-rendered card reports ``n_clicks`` None)."""
    trigger = dash.ctx.triggered_id
    clicked = any(item.get("value") for item in dash.ctx.triggered)
    if isinstance(trigger, dict) and clicked:
        return trigger.get("metric")
    return None


def _open(_clicks: list[Any], period: dict[str, Any] | None, team: Any) -> tuple:
    metric_name = _clicked_metric()
    if metric_name is None:
        raise dash.exceptions.PreventUpdate
    return show_drilldown(metric_name, period, team=team)


def register(app: dash.Dash) -> None:
    app.callback(
        Output(ids.Drilldown.MODAL, "is_open"),
        Output(ids.Drilldown.TITLE, "children"),
        Output(ids.Drilldown.SUMMARY, "children"),
        Output(ids.Drilldown.TABLE, "columns"),
        Output(ids.Drilldown.TABLE, "data"),
        Output(ids.Drilldown.TABLE, "style_cell_conditional"),
        Output(ids.Drilldown.SELECTION, "data"),
        Input(ids.drilldown_button(ALL), "n_clicks"),
        State(ids.Stores.PERIOD, "data"),
        State(ids.Teams.SELECTOR, "value"),
        prevent_initial_call=True,
    )(_open)
    app.callback(
        Output(ids.Drilldown.MODAL, "is_open", allow_duplicate=True),
        Input(ids.Drilldown.CLOSE_BUTTON, "n_clicks"),
        prevent_initial_call=True,
    )(lambda _clicks: False)
    app.callback(
        Output(ids.Drilldown.DOWNLOAD, "data"),
        Output(ids.Toasts.CONTAINER, "children", allow_duplicate=True),
        Input(ids.Drilldown.DOWNLOAD_BUTTON, "n_clicks"),
        State(ids.Drilldown.SELECTION, "data"),
        prevent_initial_call=True,
    )(lambda _clicks, selection: download_drilldown_csv(selection))
