"""Callback registration: ``register_callbacks(app)`` wires every feature's thin callbacks to the app."""

from __future__ import annotations

import dash

from callbacks import (
    analytics,
    azure_devops_settings,
    drilldown,
    exports,
    field_mapping,
    field_mapping_discard,
    forecast,
    jira_settings,
    metrics,
    navbar,
    notices,
    period,
    teams,
    theme,
    update,
)


def register_callbacks(app: dash.Dash) -> None:
    for feature in (period, metrics, update, theme, field_mapping, field_mapping_discard, jira_settings,
                    azure_devops_settings, drilldown,
                    exports, notices, navbar, analytics, forecast, teams):
        feature.register(app)
