"""The forecast panel: any change of question, date, number of items or history window re-runs the Monte Carlo
forecast (no button), and "When will … items be done" starts from the number of items in progress now.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import dash
from dash import Input, Output, State
from dash.exceptions import PreventUpdate

from callbacks.analytics import no_data_explanation
from callbacks.team_selection import team_kwargs
from data.services.dashboard_service import dashboard_settings
from data.services.forecast_service import current_wip_count, forecast_for_dashboard
from ui import ids
from ui.analytics_view import is_analytics
from ui.forecast_panel import forecast_outputs
from ui.period_selector import parse_typed_date

F = ids.Forecast


def _items(value: Any) -> int | None:
    """The typed number of items as an int (``2.0`` → 2); anything else, like 2.5 or nothing, as None, which
    the service answers with a message saying what to enter."""
    return int(value) if isinstance(value, int | float) and float(value).is_integer() else None


def show_forecast(pathname: str | None, mode: str | None, until: str | None, items: Any, history_days: Any,
                  theme: str | None, now: datetime | None = None, *, team: str | None = None) -> dict[str, Any]:
    """The panel for the chosen question and the selected ``team`` (empty or None = all teams); computed only
    while the Analytics view is shown."""
    if not is_analytics(pathname):
        raise PreventUpdate
    now, current = now or datetime.now(UTC), dashboard_settings()
    when = mode == "when"
    until_day: date | None = None if when else parse_typed_date(until)
    result = forecast_for_dashboard(current.settings, now, items=_items(items) if when else None, until=until_day,
                                    history_days=int(history_days or 90), **team_kwargs(team))
    return forecast_outputs(result, mode, theme, no_data_explanation=no_data_explanation(current))


def prefill_items(pathname: str | None, current_value: Any, now: datetime | None = None, *,
                  team: str | None = None) -> int:
    """The number of the team's items in progress now, while the input is still empty."""
    if current_value is not None or not is_analytics(pathname):
        raise PreventUpdate
    count = current_wip_count(dashboard_settings().settings, now or datetime.now(UTC), **team_kwargs(team))
    if not count:
        raise PreventUpdate
    return count


def register(app: dash.Dash) -> None:
    app.callback(
        output={"until_style": Output(F.UNTIL_AREA, "style"), "items_style": Output(F.ITEMS_AREA, "style"),
                "message": Output(F.MESSAGE, "children"), "results": Output(F.RESULTS, "children"),
                "histogram": Output(F.HISTOGRAM, "figure"), "history": Output(F.HISTORY, "figure"),
                "charts_style": Output(F.CHARTS, "style")},
        inputs={"pathname": Input(ids.Views.LOCATION, "pathname"), "mode": Input(F.MODE, "value"),
                "until": Input(F.UNTIL, "date"), "items": Input(F.ITEMS, "value"),
                "history_days": Input(F.HISTORY_DAYS, "value"), "theme": Input(ids.Stores.THEME, "data"),
                "version": Input(ids.Stores.DATA_VERSION, "data"),
                "settings_version": Input(ids.Stores.SETTINGS_VERSION, "data"),
                "team": Input(ids.Teams.SELECTOR, "value")},
    )(lambda pathname, mode, until, items, history_days, theme, version, settings_version, team: show_forecast(
        pathname, mode, until, items, history_days, theme, team=team))
    app.callback(Output(F.ITEMS, "value"), Input(ids.Views.LOCATION, "pathname"),
                 Input(ids.Stores.DATA_VERSION, "data"), State(F.ITEMS, "value"), State(ids.Teams.SELECTOR, "value"),
                 )(lambda pathname, _version, value, team: prefill_items(pathname, value, team=team))
