"""The Analytics view's charts: pure functions from one section of ``calculate_analytics`` (the
``cli.py analytics`` JSON) to a plain Plotly figure dict, plus the one sentence that states each chart's finding.

Why plain dicts: ``dcc.Graph`` takes them as they are, and building ``plotly.graph_objects`` costs property
validation on every period switch (see ``ui/sparkline.py``). Every figure has axis titles and hover text, a
transparent background and the font and grid colours of the page's theme (``"light"`` or ``"dark"``, the
value of ``ids.Stores.THEME``), so it sits on a Bootstrap card in either colour mode. Differences are never
shown by colour alone: flow types also differ by marker shape, waiting statuses carry a hatch pattern, items
older than the 85th percentile are drawn as larger outlined diamonds, and the legends and sentences say it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from data.services.drilldown_service import issue_url, shown_key
from ui.formatting import format_value

LEVELS: tuple[str, ...] = ("50", "70", "85", "95")
FLOW_TYPE_STYLES: dict[str, tuple[str, str]] = {  # Okabe-Ito colours (colour-blind safe) and marker shapes
    "Feature": ("#0072B2", "circle"),
    "Defect": ("#D55E00", "x"),
    "Risk": ("#CC79A7", "diamond"),
    "Technical_Debt": ("#E69F00", "square"),
    "Other": ("#009E73", "triangle-up"),
}
UNMAPPED_TYPE = "Flow type not mapped"
UNMAPPED_STYLE = ("#7f7f7f", "circle-open")
ACTIVE_COLOR, WAITING_COLOR = "#0072B2", "#E69F00"
ACTIVE_NAME = "Active: work is being done"
WAITING_NAME = "Waiting: work sits (hatched)"
BAND_COLORS: tuple[str, ...] = ("rgba(0,158,115,0.10)", "rgba(86,180,233,0.12)", "rgba(240,228,66,0.18)",
                                "rgba(230,159,0,0.22)", "rgba(213,94,0,0.25)")
AREA_PALETTE: tuple[str, ...] = ("#009E73", "#56B4E9", "#0072B2", "#E69F00", "#CC79A7", "#D55E00", "#F0E442",
                                 "#999999", "#332288", "#88CCEE", "#44AA99", "#117733", "#AA4499", "#882255")
_THEMES = {"light": ("#212529", "rgba(33,37,41,0.12)", "#495057"),
           "dark": ("#dee2e6", "rgba(222,226,230,0.14)", "#adb5bd")}
LOG_SCALE_RATIO = 10
GRAPH_CONFIG = {"displaylogo": False, "responsive": True,
                "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"]}


def _days(value: Any) -> str:
    return format_value(value, "days")


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def percentile_values(section: Mapping[str, Any]) -> list[tuple[str, float]]:
    """``[("50", 3.1), ...]``: the section's percentiles that have a value, lowest level first."""
    levels = section.get("percentiles") or {}
    return [(level, value) for level in LEVELS if (value := _number(levels.get(level))) is not None]


def base_layout(theme: str | None, x_title: str, y_title: str, **extra: Any) -> dict[str, Any]:
    """The shared layout: theme colours, transparent background, axis titles, legend above the plot."""
    font, grid, muted = _THEMES.get(theme or "light", _THEMES["light"])
    axis = {"gridcolor": grid, "zerolinecolor": grid, "linecolor": grid, "automargin": True,
            "tickfont": {"color": muted}}
    layout: dict[str, Any] = {
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"color": font, "size": 12},
        "margin": {"l": 8, "r": 8, "t": 36, "b": 8},
        "hovermode": "closest",
        "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom", "font": {"size": 11}},
        "xaxis": {**axis, "title": {"text": x_title}},
        "yaxis": {**axis, "title": {"text": y_title}, "rangemode": "tozero"},
        "hoverlabel": {"font": {"size": 12}},
    }
    layout.update(extra)
    return layout


def _percentile_lines(levels: list[tuple[str, float]], theme: str | None) -> tuple[list, list]:
    """Horizontal lines (85% solid, the others dashed), labelled "85% finished within 6.2 days"."""
    font = _THEMES.get(theme or "light", _THEMES["light"])[2]
    shapes, annotations = [], []
    for level, value in levels:
        shapes.append({"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y", "y0": value, "y1": value,
                       "line": {"color": font, "width": 1, "dash": "dash" if level != "85" else "solid"}})
        annotations.append({**_label_side(level), "yref": "y", "y": value, "yanchor": "bottom",
                            "showarrow": False, "font": {"size": 11, "color": font},
                            "text": f"{level}% finished within {_days(value)}"})
    return shapes, annotations


def _label_side(level: str) -> dict[str, Any]:
    """50% and 85% are labelled at the right end, 70% and 95% at the left, so close lines keep legible labels."""
    if level in ("70", "95"):
        return {"xref": "paper", "x": 0, "xanchor": "left"}
    return {"xref": "paper", "x": 1, "xanchor": "right"}


def _type_name(flow_type: Any) -> str:
    return str(flow_type) if flow_type else UNMAPPED_TYPE


def _type_style(name: str) -> tuple[str, str]:
    return FLOW_TYPE_STYLES.get(name, UNMAPPED_STYLE if name == UNMAPPED_TYPE else FLOW_TYPE_STYLES["Other"])


def cycle_time_figure(section: Mapping[str, Any], theme: str | None = "light", *,
                      jira_url: str | None = None) -> dict[str, Any]:
    """One dot per completed item (x completion, y cycle time), one trace per flow type, percentile lines.

    Each dot's ``customdata`` is ``[key, " — summary" or "", issue URL or ""]``: the hover shows the first two,
    a click opens the third (``callbacks/analytics.py``); there is no URL without a Jira URL (demo data)."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for point in section.get("points") or []:
        groups.setdefault(_type_name(point.get("flow_type")), []).append(point)
    data = []
    for name in sorted(groups, key=lambda n: (n == UNMAPPED_TYPE, list(FLOW_TYPE_STYLES).index(n)
                                               if n in FLOW_TYPE_STYLES else 99, n)):
        color, symbol = _type_style(name)
        points = groups[name]
        data.append({
            "type": "scatter", "mode": "markers", "name": name.replace("_", " "),
            "x": [point.get("completed_at") for point in points],
            "y": [point.get("cycle_time_days") for point in points],
            "customdata": [[str(shown_key(jira_url, point.get("key"))),
                            f" — {point['summary']}" if point.get("summary") else "",
                            issue_url(jira_url, point.get("key")) or ""] for point in points],
            "marker": {"color": color, "symbol": symbol, "size": 8, "opacity": 0.8,
                       "line": {"width": 1, "color": color}},
            "hovertemplate": "<b>%{customdata[0]}</b>%{customdata[1]}<br>Cycle time: %{y:.1f} days"
                             "<br>Completed %{x|%d %b %Y}<extra>" + name.replace("_", " ") + "</extra>",
        })
    shapes, annotations = _percentile_lines(percentile_values(section), theme)
    layout = base_layout(theme, "Completion date", "Cycle time (days)", shapes=shapes, annotations=annotations)
    layout["xaxis"]["type"] = "date"
    return {"data": data, "layout": layout}


def cycle_time_summary(section: Mapping[str, Any]) -> str:
    """"85% of items finished within 6.2 days (50%: 2.1 days, ...)", from the section's percentiles."""
    levels = dict(percentile_values(section))
    if "85" not in levels:
        return ""
    others = ", ".join(f"{level}%: {_days(value)}" for level, value in levels.items() if level != "85")
    count = len(section.get("points") or [])
    return (f"85% of items finished within {_days(levels['85'])}" + (f" ({others})" if others else "")
            + f"; {count} completed item{'s' if count != 1 else ''} shown.")


def workflow_order(cfd_section: Mapping[str, Any] | None) -> list[str]:
    """Statuses in workflow order: ``cfd.order`` reversed (its WIP statuses are bottom band first in reverse
    settings order, so reversing gives the settings order)."""
    return list(reversed(list((cfd_section or {}).get("order") or [])))


def _jitter(index: int) -> float:
    """A fixed spread within a status column (golden-ratio steps), so equal ages do not hide each other."""
    return ((index * 0.6180339887) % 1.0 - 0.5) * 0.5


def aging_wip_figure(section: Mapping[str, Any], theme: str | None = "light", *,
                     order: Sequence[str] = (), jira_url: str | None = None) -> dict[str, Any]:
    """One dot per WIP item in a column per status (``order`` first, other statuses after in the order met),
    the percentile bands behind them; items older than the 85th percentile are outlined diamonds."""
    items = [item for item in section.get("items") or [] if _number(item.get("age_days")) is not None]
    present = list(dict.fromkeys(str(item.get("status")) for item in section.get("items") or []))
    statuses = [status for status in order if status in present] + [s for s in present if s not in order]
    levels = percentile_values(section)
    p85 = dict(levels).get("85")
    by_status = section.get("by_status") or {}
    groups: dict[bool, dict[str, list]] = {False: {"x": [], "y": [], "c": []}, True: {"x": [], "y": [], "c": []}}
    seen: dict[str, int] = {}
    for item in items:
        status = str(item.get("status"))
        column = statuses.index(status)
        seen[status] = seen.get(status, 0) + 1
        old = p85 is not None and float(item["age_days"]) > p85
        group = groups[old]
        group["x"].append(column + _jitter(seen[status]))
        group["y"].append(item["age_days"])
        group["c"].append([str(shown_key(jira_url, item.get("key"))), status,
                           _type_name(item.get("flow_type")).replace("_", " "),
                           issue_url(jira_url, item.get("key")) or ""])
    data = []
    for old, name, symbol, size in ((False, "Within the 85th percentile", "circle", 8),
                                    (True, "Older than 85% of finished items", "diamond", 12)):
        group = groups[old]
        if not group["x"]:
            continue
        data.append({
            "type": "scatter", "mode": "markers", "name": name, "x": group["x"], "y": group["y"],
            "customdata": group["c"],
            "marker": {"symbol": symbol, "size": size, "color": WAITING_COLOR if old else ACTIVE_COLOR,
                       "line": {"width": 2 if old else 0, "color": "#000000"}},
            "hovertemplate": "<b>%{customdata[0]}</b> (%{customdata[2]})<br>%{customdata[1]}"
                             "<br>Age: %{y:.1f} days<extra>" + name + "</extra>",
        })
    ages = [float(item["age_days"]) for item in items] + [value for _, value in levels]
    top = max(ages, default=1.0) * 1.1 or 1.0
    # Items far older than the 95th percentile would squash the bands into a sliver: use a log scale then.
    log = bool(levels) and top > LOG_SCALE_RATIO * levels[-1][1]
    bottom = min([age for age in ages if age > 0] or [1.0]) / 2 if log else 0.0
    shapes, annotations = _bands(levels, top, theme, bottom, log=log)
    layout = base_layout(theme, "Status (workflow order)", "Age (days" + (", log scale)" if log else ")"),
                         shapes=shapes, annotations=annotations)
    layout["xaxis"].update({"tickmode": "array", "tickvals": list(range(len(statuses))),
                            "ticktext": [f"{status} ({by_status.get(status, 0)})" for status in statuses],
                            "range": [-0.5, max(len(statuses), 1) - 0.5], "zeroline": False})
    if log:
        layout["yaxis"].update({"type": "log", "range": [math.log10(bottom), math.log10(top)], "dtick": 1})
        layout["yaxis"].pop("rangemode", None)
    else:
        layout["yaxis"]["range"] = [0, top]
    return {"data": data, "layout": layout}


def _bands(levels: list[tuple[str, float]], top: float, theme: str | None,
           bottom: float = 0.0, *, log: bool = False) -> tuple[list, list]:
    """Background bands between the percentile lines (below 50%, 50–70%, ..., above 95%), labelled."""
    font = _THEMES.get(theme or "light", _THEMES["light"])[2]
    edges = [bottom] + [value for _, value in levels] + [max(top, levels[-1][1] if levels else top)]
    shapes, annotations = [], []
    for index in range(len(edges) - 1):
        shapes.append({"type": "rect", "xref": "paper", "x0": 0, "x1": 1, "yref": "y", "y0": edges[index],
                       "y1": edges[index + 1], "fillcolor": BAND_COLORS[min(index, len(BAND_COLORS) - 1)],
                       "line": {"width": 0}, "layer": "below"})
    for level, value in levels:
        # Annotations on a log axis take log10 positions (shapes take data values).
        position = math.log10(value) if log and value > 0 else value
        annotations.append({**_label_side(level), "yref": "y", "y": position, "yanchor": "bottom",
                            "showarrow": False, "font": {"size": 11, "color": font},
                            "text": f"{level}% of finished items: {_days(value)}"})
        shapes.append({"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y", "y0": value, "y1": value,
                       "line": {"color": font, "width": 1, "dash": "solid" if level == "85" else "dot"},
                       "layer": "below"})
    return shapes, annotations


def aging_wip_summary(section: Mapping[str, Any]) -> str:
    """"4 items are older than 85% of finished items" (and how many have no start to draw them at)."""
    over = section.get("over_85")
    count = section.get("count", len(section.get("items") or []))
    undated = sum(1 for item in section.get("items") or [] if _number(item.get("age_days")) is None)
    parts = [f"{count} item{'s' if count != 1 else ''} in progress"]
    if over is not None:
        parts.append(f"{over} {'item is' if over == 1 else 'items are'} older than 85% of finished items")
    if undated:
        parts.append(f"{undated} without a start date {'is' if undated == 1 else 'are'} not drawn")
    return "; ".join(parts) + "."


def time_in_status_figure(section: Mapping[str, Any], theme: str | None = "light") -> dict[str, Any]:
    """One horizontal bar per status (share of flow time), largest on top; waiting statuses hatched."""
    rows = list(section.get("statuses") or [])
    order = [str(row.get("status")) for row in rows]
    data = []
    for active, name, color, pattern in ((True, ACTIVE_NAME, ACTIVE_COLOR, ""),
                                         (False, WAITING_NAME, WAITING_COLOR, "/")):
        chosen = [row for row in rows if bool(row.get("active")) == active]
        if not chosen:
            continue
        data.append({
            "type": "bar", "orientation": "h", "name": name,
            "y": [str(row.get("status")) for row in chosen],
            "x": [row.get("share_percent") for row in chosen],
            "text": [f"{_number(row.get('share_percent')) or 0:.0f}% · {_days(row.get('total_days'))}"
                     for row in chosen],
            "textposition": "auto",
            "customdata": [[_days(row.get("total_days")), row.get("items"), _days(row.get("median_days")),
                            "active" if active else "waiting"] for row in chosen],
            "marker": {"color": color, "pattern": {"shape": pattern, "fgcolor": "#000000", "fgopacity": 0.35}},
            "hovertemplate": "<b>%{y}</b> (%{customdata[3]})<br>%{x:.1f}% of flow time, %{customdata[0]} in total"
                             "<br>%{customdata[1]} items, median %{customdata[2]} each<extra></extra>",
        })
    layout = base_layout(theme, "Share of flow time (%)", "Status", barmode="stack")
    layout["yaxis"].update({"categoryorder": "array", "categoryarray": order, "autorange": "reversed"})
    layout["height"] = max(220, 60 + 34 * len(rows))
    return {"data": data, "layout": layout}


def time_in_status_summary(section: Mapping[str, Any]) -> str:
    """Names the bottleneck in words: the waiting status holding the most flow time."""
    bottleneck = section.get("bottleneck")
    if not bottleneck:
        return "No waiting status holds flow time, so there is no bottleneck to name."
    row = next((row for row in section.get("statuses") or [] if row.get("status") == bottleneck), {})
    share = _number(row.get("share_percent"))
    detail = f" ({share:.0f}% of flow time, {_days(row.get('total_days'))} in total)" if share is not None else ""
    return f"Bottleneck: work waits longest in “{bottleneck}”{detail}."


def cfd_figure(section: Mapping[str, Any], theme: str | None = "light") -> dict[str, Any]:
    """Stacked areas, one per status per day, bottom band first in ``cfd.order``."""
    days = list(section.get("days") or [])
    counts = section.get("counts") or {}
    order = [status for status in section.get("order") or [] if status in counts]
    order += sorted(status for status in counts if status not in order)
    data = []
    for index, status in enumerate(order):
        color = AREA_PALETTE[index % len(AREA_PALETTE)]
        data.append({
            "type": "scatter", "mode": "lines", "stackgroup": "cfd", "name": status, "x": days,
            "y": list(counts[status]), "line": {"width": 0.5, "color": color}, "fillcolor": color,
            "hovertemplate": "%{y} items in " + status.replace("%", "%%") + "<extra></extra>",
        })
    layout = base_layout(theme, "Date", "Items", hovermode="x unified")
    layout["xaxis"]["type"] = "date"
    layout["legend"]["traceorder"] = "reversed"
    return {"data": data, "layout": layout}


def cfd_summary(section: Mapping[str, Any]) -> str:
    days = section.get("days") or []
    counts = section.get("counts") or {}
    if not days:
        return ""
    total = sum(series[-1] for series in counts.values() if series)
    return f"{total} items on {days[-1]}, across {len(counts)} statuses."


def _week_positions(days: Sequence[str], labels: Sequence[str]) -> list[str]:
    """The middle day (within the period) of each ISO week the days touch, one per weekly label."""
    weeks: dict[tuple[int, int], list[date]] = {}
    for text in days:
        day = date.fromisoformat(str(text)[:10])
        weeks.setdefault(day.isocalendar()[:2], []).append(day)
    spans = list(weeks.values())
    if len(spans) != len(labels):  # the days stop at today while the labels cover the period: align from the start
        spans = spans[:len(labels)]
    return [(span[0] + timedelta(days=(span[-1] - span[0]).days / 2)).isoformat() for span in spans]


def throughput_figure(section: Mapping[str, Any], theme: str | None = "light") -> dict[str, Any]:
    """Daily completions as bars, the weekly totals as a line on a second axis (per week)."""
    days = list(section.get("days") or [])
    weekly = section.get("weekly") or {}
    labels, values = list(weekly.get("labels") or []), list(weekly.get("values") or [])
    positions = _week_positions(days, labels)
    data: list[dict[str, Any]] = [{
        "type": "bar", "name": "Completed per day", "x": days, "y": list(section.get("daily") or []),
        "marker": {"color": ACTIVE_COLOR, "opacity": 0.75},
        "hovertemplate": "%{x|%a %d %b}: %{y} items completed<extra></extra>",
    }]
    if positions:
        data.append({
            "type": "scatter", "mode": "lines+markers", "name": "Completed per week", "yaxis": "y2",
            "x": positions, "y": values[:len(positions)], "customdata": labels[:len(positions)],
            "line": {"color": WAITING_COLOR, "width": 2}, "marker": {"symbol": "diamond", "size": 8},
            "hovertemplate": "Week %{customdata}: %{y} items completed<extra></extra>",
        })
    layout = base_layout(theme, "Date", "Items completed per day")
    layout["xaxis"]["type"] = "date"
    layout["yaxis2"] = {**layout["yaxis"], "title": {"text": "Items per week"}, "overlaying": "y", "side": "right",
                        "showgrid": False}
    return {"data": data, "layout": layout}


def throughput_summary(section: Mapping[str, Any]) -> str:
    daily = [value for value in section.get("daily") or [] if isinstance(value, int | float)]
    if not daily:
        return ""
    total = int(sum(daily))
    per_week = format_value(total / len(daily) * 7, "")
    return (f"{total} item{'s' if total != 1 else ''} completed in {len(daily)} days, "
            f"{per_week} a week on average.")
