"""Period selector: presets and custom dates (validated inline) become the period store."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output

from ui import ids
from ui.page import HIDDEN, SHOWN, validate_custom_period


def select_period(preset: str, start: str | None, end: str | None) -> tuple[Any, str, dict[str, str]]:
    """(period store, inline error, custom-range visibility); an invalid custom range keeps the last period."""
    if preset != "custom":
        return {"preset": preset, "start": None, "end": None}, "", HIDDEN
    error = validate_custom_period(start, end)
    if error:
        return dash.no_update, error, SHOWN
    return {"preset": "custom", "start": str(start)[:10], "end": str(end)[:10]}, "", SHOWN


def register(app: dash.Dash) -> None:
    app.callback(
        Output(ids.Stores.PERIOD, "data"),
        Output(ids.Period.ERROR, "children"),
        Output(ids.Period.CUSTOM_RANGE_AREA, "style"),
        Input(ids.Period.PRESET, "value"),
        Input(ids.Period.DATE_RANGE, "start_date"),
        Input(ids.Period.DATE_RANGE, "end_date"),
    )(select_period)
