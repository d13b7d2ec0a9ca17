"""Period selector: presets and custom dates (validated inline) become the period store, and the page says
which dates the numbers cover.

A custom period may not end after today (UTC): the picker offers no later day (its ``max_date_allowed`` is
refreshed on every change), and a future day typed into a box is clamped to today with a message saying so.
Typed text that is not a date ("2026-02-30") gets a message naming it instead of being silently dropped or
moved by the browser; what was typed arrives through ``ids.Period.TYPED`` (assets/period_typing.js). An
invalid range keeps the previous period, so the cards and the dates shown next to the selector still agree.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import dash
from dash import Input, Output, State

from data.metrics.period_selection import resolve_period
from data.metrics.periods import period_until
from ui import ids
from ui.page import HIDDEN, SHOWN
from ui.period_selector import not_a_date_message, parse_typed_date, period_dates_text, validate_custom_period

KEEP = dash.no_update


def _typed_text(typed: Any) -> tuple[str | None, str]:
    """(field, text) of the last committed typing, ``(None, "")`` when there is none."""
    if not isinstance(typed, dict) or typed.get("field") not in ("start", "end"):
        return None, ""
    return typed["field"], str(typed.get("text") or "").strip()


def _refused(message: str, field: str | None, current: Any) -> tuple:
    """Keep the period (and so the cards and the dates shown); put the typed box back to the last good
    value, undoing whatever the picker made of the text."""
    previous = current if isinstance(current, dict) and current.get("preset") == "custom" else {}
    start = previous.get("start") if field == "start" else KEEP
    end = previous.get("end") if field == "end" else KEEP
    return KEEP, message, SHOWN, start, end


def select_period(preset: str, start: str | None, end: str | None, typed: Any, current: Any, *,
                  today: date, trigger: str | None) -> tuple:
    """(period store, inline message, custom-range visibility, picker start, picker end, picker's last allowed
    day, the dates covered). ``trigger`` is the id of the component that changed (None on page load)."""
    last_day = today.isoformat()
    if preset != "custom":
        try:
            period = resolve_period({"preset": preset}, today)
        except ValueError as error:
            return KEEP, str(error), HIDDEN, KEEP, KEEP, last_day, KEEP
        return ({"preset": preset, "start": None, "end": None}, "", HIDDEN, KEEP, KEEP, last_day,
                period_dates_text(period))
    field, text = _typed_text(typed)
    notice = ""
    start_out: Any = KEEP
    end_out: Any = KEEP
    if trigger == ids.Period.TYPED:
        if not text:
            return KEEP, KEEP, SHOWN, KEEP, KEEP, last_day, KEEP
        day = parse_typed_date(text)
        if day is None:
            return (*_refused(not_a_date_message(text), field, current), last_day, KEEP)
        if day <= today:
            return KEEP, KEEP, SHOWN, KEEP, KEEP, last_day, KEEP  # the picker sends this day itself
        which = "starts" if field == "start" else "ends"
        notice = f"{text} is in the future, which has no data yet: the period now {which} today, {last_day}"
        if field == "start":
            start = start_out = last_day
        else:
            end = end_out = last_day
    elif trigger == ids.Period.DATE_RANGE and text and parse_typed_date(text) is None:
        # The picker's own reading of text that is not a date (the browser turns 2026-02-30 into 2 March).
        return (*_refused(not_a_date_message(text), field, current), last_day, KEEP)
    error = validate_custom_period(start, end, today)
    if error:
        return KEEP, error, SHOWN, start_out, end_out, last_day, KEEP
    period = period_until(str(start)[:10], str(end)[:10], today)
    store = {"preset": "custom", "start": period.start.isoformat(), "end": period.end.isoformat()}
    return store, notice, SHOWN, start_out, end_out, last_day, period_dates_text(period)


def register(app: dash.Dash) -> None:
    app.callback(
        Output(ids.Stores.PERIOD, "data"),
        Output(ids.Period.ERROR, "children"),
        Output(ids.Period.CUSTOM_RANGE_AREA, "style"),
        Output(ids.Period.DATE_RANGE, "start_date"),
        Output(ids.Period.DATE_RANGE, "end_date"),
        Output(ids.Period.DATE_RANGE, "max_date_allowed"),
        Output(ids.Period.DATES, "children"),
        Input(ids.Period.PRESET, "value"),
        Input(ids.Period.DATE_RANGE, "start_date"),
        Input(ids.Period.DATE_RANGE, "end_date"),
        Input(ids.Period.TYPED, "data"),
        State(ids.Stores.PERIOD, "data"),
    )(lambda preset, start, end, typed, current: select_period(
        preset, start, end, typed, current, today=datetime.now(UTC).date(), trigger=dash.ctx.triggered_id))
