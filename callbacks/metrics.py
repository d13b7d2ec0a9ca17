"""Metric cards: the period or the data version changed, so show the nine metrics for that period."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import dash
from dash import Input, Output

from configuration.settings import load_app_settings_or_defaults
from data.metrics.period_selection import resolve_period
from data.metrics.periods import PeriodError
from data.services.dashboard_service import effective_settings, metrics_for_period, source_label
from ui import ids
from ui.formatting import format_last_updated
from ui.page import metric_rows


def show_metrics(period: dict[str, Any] | None, _data_version: Any, now: datetime | None = None) -> tuple:
    """(DORA cards, Flow cards, last-updated text, data-source text)."""
    now = now or datetime.now(UTC)
    settings, _ = load_app_settings_or_defaults()
    settings = effective_settings(settings)
    try:
        selected = resolve_period(period, now.date())
    except PeriodError:
        return dash.no_update, dash.no_update, dash.no_update, dash.no_update
    metrics, dataset = metrics_for_period(settings, selected.start, selected.end, now)
    dora_cards, flow_cards = metric_rows(metrics)
    last_updated = dataset.meta.get("last_successful_fetch") if dataset else None
    return dora_cards, flow_cards, format_last_updated(last_updated), source_label(settings)


def register(app: dash.Dash) -> None:
    app.callback(
        Output(ids.Sections.DORA_ROW, "children"),
        Output(ids.Sections.FLOW_ROW, "children"),
        Output(ids.Navbar.LAST_UPDATED, "children"),
        Output(ids.Navbar.DATA_SOURCE, "children"),
        Input(ids.Stores.PERIOD, "data"),
        Input(ids.Stores.DATA_VERSION, "data"),
        Input(ids.Stores.SETTINGS_VERSION, "data"),
    )(lambda period, version, _settings_version: show_metrics(period, version))
