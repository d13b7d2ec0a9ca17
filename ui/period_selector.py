"""The period selector: presets, a custom date range that offers no future day, the inline message, and the
dates the numbers cover ("30 Oct – 28 Nov 2026"), so a reader always knows what the cards describe.

Pure layout plus the words of its checks; ``callbacks/period.py`` wires it. ``today`` (the UTC date of now)
is a parameter: the layout is built on every page load, so the picker's last allowed day is that day.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import dash_bootstrap_components as dbc
from dash import dcc, html

from data.metrics.periods import MAX_PERIOD_DAYS, Period
from ui import ids

PERIOD_PRESETS: tuple[tuple[str, str], ...] = (
    ("7", "7 days"),
    ("30", "30 days"),
    ("90", "90 days"),
    ("custom", "Custom"),
)
_HIDDEN: dict[str, str] = {"display": "none"}
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _previous_month(today: date) -> date:
    """The first day of the month before ``today``'s."""
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def period_dates_text(period: Period) -> str:
    """``30 Oct – 28 Nov 2026`` (the year once when both ends share it), ``28 Nov 2026`` for one day."""
    end = f"{period.end.day} {period.end:%b %Y}"
    if period.start == period.end:
        return end
    if period.start.year == period.end.year:
        return f"{period.start.day} {period.start:%b} – {end}"
    return f"{period.start.day} {period.start:%b %Y} – {end}"


def parse_typed_date(text: object) -> date | None:
    """A typed ``YYYY-MM-DD`` (a trailing time from the picker is ignored) as a date; None when it is not
    a real day (``2026-02-30``, ``2026-13-45``, ``soon``)."""
    value = str(text or "").strip()[:10]
    if not _ISO_DAY.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def not_a_date_message(text: object) -> str:
    return f"{str(text).strip()} is not a date: enter a day as YYYY-MM-DD, e.g. 2025-03-31"


def validate_custom_period(start: str | None, end: str | None, today: date | None = None) -> str | None:
    """The inline error for a custom period, or None when it is valid.

    Dates are ``YYYY-MM-DD`` (a DatePickerRange may append a time, which is ignored). Both ends are
    included, so 2025-01-01..2025-12-31 is 365 days and allowed. With ``today``, an end after it is refused
    (the future has no data yet)."""
    if not start or not end:
        return "Choose a start and an end date"
    first, last = parse_typed_date(start), parse_typed_date(end)
    if first is None:
        return not_a_date_message(start)
    if last is None:
        return not_a_date_message(end)
    if last < first:
        return "End date must be on or after the start date"
    if (last - first).days + 1 > MAX_PERIOD_DAYS:
        return f"Choose at most {MAX_PERIOD_DAYS} days"
    if today is not None and last > today:
        return f"End date {last.isoformat()} is in the future: choose {today.isoformat()} (today) or earlier"
    return None


def period_selector(default_period: str, today: date, dates_text: str) -> html.Div:
    """Presets, the custom range (hidden unless ``default_period`` is "custom"), the inline message and the
    covered dates. The picker's last allowed day is ``today``."""
    return html.Div(
        [
            html.Span("Period", className="fw-semibold me-1"),
            html.Div(
                dbc.RadioItems(
                    id=ids.Period.PRESET,
                    options=[{"label": label, "value": value} for value, label in PERIOD_PRESETS],
                    value=default_period,
                    class_name="btn-group",
                    input_class_name="btn-check",
                    label_class_name="btn btn-outline-primary btn-sm",
                    label_checked_class_name="active",
                ),
                className="radio-group",
            ),
            html.Div(
                dcc.DatePickerRange(
                    id=ids.Period.DATE_RANGE,
                    display_format="YYYY-MM-DD",
                    first_day_of_week=1,
                    clearable=True,
                    max_date_allowed=today.isoformat(),
                    # Two months show: last month and this one (the month after today has no day to pick).
                    initial_visible_month=_previous_month(today).isoformat(),
                    start_date_placeholder_text="Start date",
                    end_date_placeholder_text="End date",
                ),
                id=ids.Period.CUSTOM_RANGE_AREA,
                style={} if default_period == "custom" else _HIDDEN,
            ),
            html.Span(
                [html.I(className="bi bi-calendar3 me-1", **{"aria-hidden": "true"}),
                 html.Span(dates_text, id=ids.Period.DATES)],
                className="period-dates small text-body-secondary text-nowrap",
                title="The dates the numbers below cover (UTC), both ends included",
            ),
            html.Div(id=ids.Period.ERROR, className="small text-danger", role="alert"),
            dcc.Store(id=ids.Period.TYPED, data=None),
        ],
        className="period-selector d-flex flex-wrap align-items-center gap-2 mb-3",
    )
