"""The Analytics view: the URL picks the view (``/analytics`` the charts, ``/`` the cards), the period, the data
and the theme redraw the five charts, a chart's CSV button downloads its data, and a click on an item's dot
opens it in Jira.

Charts are computed only while the view is shown (arriving at ``/analytics`` draws them), from the same
settings and period as the cards (``analytics_service.analytics_for_dashboard``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import dash
from dash import ALL, MATCH, Input, Output, State
from dash.exceptions import PreventUpdate

from callbacks.metrics import NO_DATA_DEMO, NO_DATA_JIRA, NO_DATA_READ_ONLY
from callbacks.team_selection import team_kwargs
from configuration.settings import is_demo_mode
from data.metrics.period_selection import resolve_period
from data.metrics.periods import Period, PeriodError
from data.services.analytics_service import analytics_csv, analytics_for_dashboard, with_summaries
from data.services.dashboard_service import DashboardSettings, dashboard_settings
from data.services.drilldown_service import jira_base_url
from ui import ids
from ui.analytics_view import chart_outputs, is_analytics
from ui.teams_view import view_styles

A = ids.Analytics
OPEN_ISSUE = """
function() {
    const triggered = dash_clientside.callback_context.triggered[0];
    const point = triggered && triggered.value && triggered.value.points && triggered.value.points[0];
    const url = point && point.customdata && point.customdata[point.customdata.length - 1];
    if (!url) { return window.dash_clientside.no_update; }
    window.open(url, '_blank', 'noopener');
    return url;
}
"""


def no_data_explanation(current: DashboardSettings) -> str:
    """What fills the view when nothing is loaded yet: the cards' own sentence."""
    if current.read_only:
        return NO_DATA_READ_ONLY
    return NO_DATA_DEMO if is_demo_mode(current.settings) else NO_DATA_JIRA


def _period(period: Any, now: datetime) -> Period:
    try:
        return resolve_period(period, now.date())
    except PeriodError:
        raise PreventUpdate from None


def show_analytics(pathname: str | None, period: Any, theme: str | None, now: datetime | None = None, *,
                   team: str | None = None) -> dict:
    """The five charts for the period and the selected ``team`` (empty or None = all teams); nothing is computed
    while another view is shown."""
    if not is_analytics(pathname):
        raise PreventUpdate
    now = now or datetime.now(UTC)
    selected, current = _period(period, now), dashboard_settings()
    analytics = analytics_for_dashboard(current.settings, selected.start, selected.end, now, **team_kwargs(team))
    return chart_outputs(with_summaries(current.settings, analytics), theme, jira_url=jira_base_url(current.settings),
                         no_data_explanation=no_data_explanation(current))


def download_section(period: Any, now: datetime | None = None, *, team: str | None = None) -> dict[str, str]:
    """The clicked chart's data (the trigger's ``section``) as a CSV download, for the team on screen."""
    now = now or datetime.now(UTC)
    selected, current = _period(period, now), dashboard_settings()
    analytics = analytics_for_dashboard(current.settings, selected.start, selected.end, now, **team_kwargs(team))
    if analytics is None:
        raise PreventUpdate
    filename, text = analytics_csv(dash.ctx.triggered_id["section"], analytics)
    return {"content": text, "filename": filename, "type": "text/csv"}


def register(app: dash.Dash) -> None:
    app.callback(Output(ids.Views.DASHBOARD, "style"), Output(ids.Views.ANALYTICS, "style"),
                 Output(ids.Views.TEAMS, "style"), Input(ids.Views.LOCATION, "pathname"),
                 )(lambda pathname: view_styles(pathname, is_analytics(pathname)))
    app.callback(
        output={"figures": Output(A.graph(ALL), "figure"), "styles": Output(A.graph(ALL), "style"),
                "states": Output(A.state(ALL), "children"), "summaries": Output(A.summary(ALL), "children")},
        inputs={"pathname": Input(ids.Views.LOCATION, "pathname"), "period": Input(ids.Stores.PERIOD, "data"),
                "theme": Input(ids.Stores.THEME, "data"), "version": Input(ids.Stores.DATA_VERSION, "data"),
                "settings_version": Input(ids.Stores.SETTINGS_VERSION, "data"),
                "team": Input(ids.Teams.SELECTOR, "value")},
    )(lambda pathname, period, theme, version, settings_version, team: show_analytics(pathname, period, theme,
                                                                                      team=team))
    app.callback(Output(A.download(MATCH), "data"), Input(A.download_button(MATCH), "n_clicks"),
                 State(ids.Stores.PERIOD, "data"), State(ids.Teams.SELECTOR, "value"), prevent_initial_call=True,
                 )(lambda _clicks, period, team: download_section(period, team=team))
    app.clientside_callback(OPEN_ISSUE, Output(ids.Stores.OPEN_ISSUE, "data"),
                            Input(A.graph("cycle_time"), "clickData"), Input(A.graph("aging_wip"), "clickData"),
                            prevent_initial_call=True)
