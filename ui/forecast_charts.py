"""The forecast panel's words and charts: pure functions of one ``forecast`` result (the ``cli.py forecast``
JSON) — the answers in plain words, the histogram of the trials with the 85% line, and the daily throughput
history the trials drew from — as plain Plotly figure dicts in the page's theme (see ``ui/analytics_charts``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from ui.analytics_charts import ACTIVE_COLOR, LEVELS, WAITING_COLOR, base_layout

HORIZON_DAYS = 3650


def day_text(day: date, today: date) -> str:
    """``31 Dec``, with the year when it is not this year's (``12 Mar 2028``)."""
    return f"{day.day} {day:%b}" if day.year == today.year else f"{day.day} {day:%b %Y}"


def forecast_today(forecast: Mapping[str, Any]) -> date | None:
    """The day the forecast starts from: the day after the history's last day."""
    end = (forecast.get("history") or {}).get("end")
    return date.fromisoformat(str(end)[:10]) + timedelta(days=1) if end else None


def forecast_answers(forecast: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``[("85%", "85% likely: at least 41 items by 31 Dec"), ...]`` for the 50/70/85/95% levels."""
    today = forecast_today(forecast) or date.today()
    results = forecast.get("results") or {}
    answers = []
    if forecast.get("mode") == "how_many":
        until = today + timedelta(days=int(forecast.get("horizon_days") or 0))
        for level in LEVELS:
            value = results.get(level)
            items = "no item" if not value else f"at least {value} item{'s' if value != 1 else ''}"
            answers.append((f"{level}%", f"{level}% likely: {items} by {day_text(until, today)}"))
        return answers
    for level in LEVELS:
        value = results.get(level)
        if value is None:
            text = f"{level}% likely: not within {HORIZON_DAYS // 365} years at the pace of this history"
        else:
            text = f"{level}% likely: done by {day_text(date.fromisoformat(str(value)[:10]), today)}"
        answers.append((f"{level}%", text))
    return answers


def _line_value(forecast: Mapping[str, Any]) -> Any:
    if forecast.get("mode") == "how_many":
        return (forecast.get("results") or {}).get("85")
    return (forecast.get("days") or {}).get("85")


def histogram_figure(forecast: Mapping[str, Any], theme: str | None = "light") -> dict[str, Any]:
    """How many trials ended at each result (items by the date, or days until done), the 85% answer marked."""
    distribution = forecast.get("distribution") or {}
    how_many = forecast.get("mode") == "how_many"
    unit = "items" if how_many else "days"
    data = [{
        "type": "bar", "name": "Trials", "x": list(distribution.get("values") or []),
        "y": list(distribution.get("counts") or []), "marker": {"color": ACTIVE_COLOR, "opacity": 0.8},
        "hovertemplate": "%{x} " + unit + ": %{y} trials<extra></extra>",
    }]
    x_title = "Items finished by the date" if how_many else "Days from today until the items are done"
    layout = base_layout(theme, x_title, "Trials", bargap=0.05, showlegend=False)
    line = _line_value(forecast)
    if line is not None:
        layout["shapes"] = [{"type": "line", "xref": "x", "x0": line, "x1": line, "yref": "paper", "y0": 0, "y1": 1,
                             "line": {"color": WAITING_COLOR, "width": 3, "dash": "dash"}}]
        side = "at least" if how_many else "within"
        layout["annotations"] = [{"xref": "x", "x": line, "yref": "paper", "y": 1, "yanchor": "bottom",
                                  "showarrow": False, "font": {"size": 11},
                                  "text": f"85% likely: {side} {line} {unit}"}]
    return {"data": data, "layout": layout}


def history_figure(forecast: Mapping[str, Any], theme: str | None = "light") -> dict[str, Any]:
    """The daily completions of the history window the trials drew their days from."""
    history = forecast.get("history") or {}
    daily = list(history.get("daily") or [])
    start = history.get("start")
    first = date.fromisoformat(str(start)[:10]) if start else None
    days = [(first + timedelta(days=index)).isoformat() for index in range(len(daily))] if first else []
    data = [{"type": "bar", "name": "Completed per day", "x": days, "y": daily,
             "marker": {"color": "#56B4E9"},
             "hovertemplate": "%{x|%a %d %b}: %{y} items completed<extra></extra>"}]
    layout = base_layout(theme, f"Day (history window: {history.get('days', len(daily))} days, "
                                f"{history.get('total', sum(daily))} items)", "Items completed", showlegend=False)
    layout["xaxis"]["type"] = "date"
    return {"data": data, "layout": layout}
