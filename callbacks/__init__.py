"""Callback registration: ``register_callbacks(app)`` wires every feature's thin callbacks to the app."""

from __future__ import annotations

import dash

from callbacks import drilldown, exports, field_mapping, jira_settings, metrics, period, theme, update


def register_callbacks(app: dash.Dash) -> None:
    for feature in (period, metrics, update, theme, field_mapping, jira_settings, drilldown, exports):
        feature.register(app)
