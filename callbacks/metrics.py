"""Metric cards: the period or the data version changed, so show the nine metrics for that period.

With nothing cached (a fresh Jira connection before its first update, or right after switching source) the
rows show one neutral "No data yet — click Update Data" message instead of nine error cards, and the demo
banner is closed unless demo data is really on screen. A broken settings file shows the cached data
read-only (``dashboard_service.dashboard_settings``); the notices area says why.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import dash
from dash import Input, Output

from callbacks.team_selection import team_kwargs
from configuration.settings import is_demo_mode
from data.metrics.period_selection import resolve_period
from data.metrics.periods import PeriodError
from data.services.dashboard_service import dashboard_settings, metrics_for_period, source_label
from data.services.page_state_service import last_successful_fetch
from ui import ids
from ui.formatting import format_last_updated
from ui.notices import no_data_rows
from ui.page import metric_rows

NO_DATA_DEMO = "The demo data is prepared by Update Data (or by reloading the page)."
NO_DATA_JIRA = "Update Data fetches the issues of your JQL from Jira; the cards fill in when it finishes."
NO_DATA_AZURE_DEVOPS = ("Update Data fetches the work items of your project (and WIQL filter) from Azure DevOps; "
                        "the cards fill in when it finishes.")
NO_DATA_READ_ONLY = ("There is no cached data to show, and Update Data is off until the settings file is fixed "
                     "(see the notice above).")


def show_metrics(period: dict[str, Any] | None, _data_version: Any, now: datetime | None = None, *,
                 period_only: bool = False, team: str | None = None) -> tuple:
    """(DORA cards, Flow cards, last-updated text, data-source text, demo banner open).

    ``period_only`` (only the period or the team changed) leaves the demo banner as the user left it; ``team``
    (the navbar selector's value; empty or None = all teams) restricts every card to that team's issues.
    """
    now = now or datetime.now(UTC)
    current = dashboard_settings()
    settings = current.settings
    try:
        selected = resolve_period(period, now.date())
    except PeriodError:
        return (dash.no_update,) * 5
    metrics, dataset = metrics_for_period(settings, selected.start, selected.end, now,
                                          read_only=current.read_only, **team_kwargs(team))
    if dataset is None:
        explanation = NO_DATA_READ_ONLY if current.read_only else _no_data_explanation(settings)
        dora_cards, flow_cards = no_data_rows(explanation)
        return dora_cards, flow_cards, format_last_updated(None), source_label(settings), False
    dora_cards, flow_cards = metric_rows(metrics)
    demo_shown = is_demo_mode(settings) and dataset.meta.get("source") == "demo"
    banner = False if not demo_shown else (dash.no_update if period_only else True)
    last_updated = last_successful_fetch() or dataset.meta.get("last_successful_fetch")
    return dora_cards, flow_cards, format_last_updated(last_updated), source_label(settings, dataset.meta), banner


def register(app: dash.Dash) -> None:
    app.callback(
        Output(ids.Sections.DORA_ROW, "children"),
        Output(ids.Sections.FLOW_ROW, "children"),
        Output(ids.Navbar.LAST_UPDATED, "children"),
        Output(ids.Navbar.DATA_SOURCE, "children"),
        Output(ids.Sections.DEMO_BANNER, "is_open"),
        Input(ids.Stores.PERIOD, "data"),
        Input(ids.Stores.DATA_VERSION, "data"),
        Input(ids.Stores.SETTINGS_VERSION, "data"),
        Input(ids.Teams.SELECTOR, "value"),
    )(lambda period, version, _settings_version, team: show_metrics(
        period, version, period_only=dash.ctx.triggered_id in (ids.Stores.PERIOD, ids.Teams.SELECTOR), team=team))


def _no_data_explanation(settings: dict[str, Any]) -> str:
    """What Update Data will fetch, in the words of the configured source."""
    if is_demo_mode(settings):
        return NO_DATA_DEMO
    return NO_DATA_AZURE_DEVOPS if settings.get("source") == "azure_devops" else NO_DATA_JIRA
