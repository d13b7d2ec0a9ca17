"""Teams: the navbar selector follows the URL query (``?team=NAME``) and writes it back, and the ``/teams`` view
shows the comparison table; clicking a row selects that team and shows the Dashboard view.

``sync_selector``, ``show_teams`` and ``select_row`` take plain values so tests call them directly; ``register``
only wires them. The selector offers the teams of the loaded data (``team_service.team_choices``); with no team
field mapped it is disabled and a hint says how to map one. A name in the URL that no issue carries falls back to
all teams with a message, never an error.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State
from dash.exceptions import PreventUpdate

from data.metrics.period_selection import resolve_period
from data.metrics.periods import PeriodError
from data.services.dashboard_service import dashboard_settings
from data.services.team_service import team_choices, teams_comparison
from ui import ids
from ui.analytics_state import HIDDEN
from ui.teams_view import (
    ALL_TEAMS,
    NO_TEAM_FIELD_HINT,
    is_teams,
    match_team,
    search_for_team,
    sort_rows,
    table_data,
    team_from_search,
    team_options,
)

logger = logging.getLogger(__name__)
T = ids.Teams


def _choices() -> list[tuple[str, int]]:
    try:
        return team_choices(dashboard_settings().settings)
    except Exception:  # an unreadable cache must not break the navbar: the selector offers all teams only
        logger.exception("Team choices could not be listed")
        return []


def sync_selector(search: str | None, value: Any, from_selector: bool) -> tuple:
    """(options, value, disabled, hint, hint style, URL query) for the selector.

    ``from_selector``: the user picked ``value`` (else the URL, the data or the settings changed and the URL's
    team is taken)."""
    choices = _choices()
    wanted = (value if isinstance(value, str) else ALL_TEAMS) if from_selector else team_from_search(search)
    if not choices:
        return (team_options([]), ALL_TEAMS, True, NO_TEAM_FIELD_HINT, {}, search_for_team(None))
    team = match_team(wanted, choices)
    hint, hint_style = "", HIDDEN
    if team is None:
        hint, hint_style, team = f"No issue belongs to the team “{wanted}”; showing all teams.", {}, ALL_TEAMS
    return team_options(choices), team, False, hint, hint_style, search_for_team(team)


def show_teams(pathname: str | None, period: Any, sort_by: list[dict[str, Any]] | None,
               now: datetime | None = None) -> tuple[list[dict[str, Any]], Any]:
    """(table rows, message) for the ``/teams`` view; nothing is computed while another view shows."""
    if not is_teams(pathname):
        raise PreventUpdate
    now = now or datetime.now(UTC)
    try:
        selected = resolve_period(period, now.date())
    except PeriodError as error:
        return [], dbc.Alert(str(error), color="warning")
    try:
        rows = teams_comparison(dashboard_settings().settings, selected.start, selected.end, now)
    except Exception as error:  # the user gets a message, the log gets the traceback
        logger.exception("Team comparison failed")
        return [], dbc.Alert(f"The teams could not be compared: {error}", color="danger")
    if len(rows) <= 1:
        message = dbc.Alert(NO_TEAM_FIELD_HINT, color="info", class_name="py-2")
        return sort_rows(table_data(rows), sort_by), message
    return sort_rows(table_data(rows), sort_by), None


def select_row(active_cell: dict[str, Any] | None, data: list[dict[str, Any]] | None) -> tuple[str, str, None]:
    """(selector value, path "/", cleared active cell) for a clicked row, so a second click works too."""
    if not isinstance(active_cell, dict) or not data:
        raise PreventUpdate
    row = active_cell.get("row")
    if not isinstance(row, int) or not 0 <= row < len(data):
        raise PreventUpdate
    return str(data[row].get("_team") or ALL_TEAMS), "/", None


def register(app: dash.Dash) -> None:
    app.callback(
        Output(T.SELECTOR, "options"),
        Output(T.SELECTOR, "value"),
        Output(T.SELECTOR, "disabled"),
        Output(T.SELECTOR_HINT, "title"),
        Output(T.SELECTOR_HINT, "style"),
        Output(ids.Views.LOCATION, "search"),
        Input(ids.Views.LOCATION, "search"),
        Input(T.SELECTOR, "value"),
        Input(ids.Stores.DATA_VERSION, "data"),
        Input(ids.Stores.SETTINGS_VERSION, "data"),
    )(lambda search, value, _version, _settings: sync_selector(
        search, value, dash.ctx.triggered_id == T.SELECTOR))
    app.callback(
        Output(T.TABLE, "data"),
        Output(T.MESSAGE, "children"),
        Input(ids.Views.LOCATION, "pathname"),
        Input(ids.Stores.PERIOD, "data"),
        Input(T.TABLE, "sort_by"),
        Input(ids.Stores.DATA_VERSION, "data"),
        Input(ids.Stores.SETTINGS_VERSION, "data"),
    )(lambda pathname, period, sort_by, _version, _settings: show_teams(pathname, period, sort_by))
    app.callback(
        Output(T.SELECTOR, "value", allow_duplicate=True),
        Output(ids.Views.LOCATION, "pathname"),
        Output(T.TABLE, "active_cell"),
        Input(T.TABLE, "active_cell"),
        State(T.TABLE, "data"),
        prevent_initial_call=True,
    )(select_row)
