"""Teams: the navbar's team selector and the ``/teams`` view comparing every team's nine metrics.

Pure layout and pure helpers: the selected team travels in the URL query (``?team=NAME``) so a reload keeps it;
``ALL_TEAMS`` (the empty string) is the unrestricted view. The comparison table has one row per team ("All teams"
first, kept first whatever the sort) and one column per metric showing the value, the tier written on a badge and
the trend arrow; each metric column sorts by its number (``sort_rows``), not by its text.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode

import dash_bootstrap_components as dbc
from dash import dash_table, dcc, html

from ui import ids
from ui.analytics_state import HIDDEN
from ui.drilldown import TABLE_STYLE
from ui.formatting import format_trend, format_value
from ui.metric_card import TIER_CLASSES
from ui.metric_info import DORA_METRICS, FLOW_METRICS, metric_info

TEAMS_PATH = "/teams"
ALL_TEAMS = ""
ALL_TEAMS_LABEL = "All teams"
NO_TEAM_FIELD_HINT = "Map a Team field (Configure Field Mappings) to compare and select teams."
TREND_ARROWS = {"up": "↑", "down": "↓", "flat": "→"}
METRIC_NAMES: tuple[str, ...] = DORA_METRICS + FLOW_METRICS


def team_selector() -> html.Div:
    """The navbar's drop-down ("All teams" first) with the hint shown while no team field is mapped."""
    return html.Div(
        [
            dcc.Dropdown(
                id=ids.Teams.SELECTOR,
                options=[{"label": ALL_TEAMS_LABEL, "value": ALL_TEAMS}],
                value=ALL_TEAMS,
                clearable=False,
                searchable=True,
                disabled=True,
                className="team-picker",
            ),
            # Compact, so the navbar keeps its single row: the words are the icon's tooltip and its label.
            html.I(id=ids.Teams.SELECTOR_HINT, className="bi bi-info-circle text-body-secondary",
                   title=NO_TEAM_FIELD_HINT, role="img", style=HIDDEN, **{"aria-label": NO_TEAM_FIELD_HINT}),
        ],
        className="team-selector-area d-flex align-items-center gap-2 flex-shrink-0",
        title="Team: every card, drill-down, export, chart and forecast follows it",
    )


def teams_link() -> dbc.NavLink:
    """The navbar's "Teams" link, beside "Dashboard" and "Analytics"."""
    return dbc.NavLink("Teams", href=TEAMS_PATH, id=ids.Views.TEAMS_LINK, active="exact", class_name="py-1 px-2")


def team_options(choices: list[tuple[str, int]]) -> list[dict[str, str]]:
    """Drop-down options: "All teams", then each team with its issue count, in the service's order."""
    options = [{"label": ALL_TEAMS_LABEL, "value": ALL_TEAMS}]
    for name, count in choices:
        options.append({"label": f"{name} ({count} issue{'' if count == 1 else 's'})", "value": name})
    return options


def team_from_search(search: str | None) -> str:
    """The ``team`` of a URL query (``?team=Platform``); ``ALL_TEAMS`` when absent."""
    values = parse_qs(str(search or "").lstrip("?")).get("team") or [ALL_TEAMS]
    return values[0].strip()


def search_for_team(team: str | None) -> str:
    """The URL query selecting ``team`` (empty for all teams, so the plain URL stays plain)."""
    return f"?{urlencode({'team': team})}" if team else ""


def match_team(team: str, choices: list[tuple[str, int]]) -> str | None:
    """The known spelling of ``team`` (names compare case-insensitively); ``ALL_TEAMS`` for all teams and None
    for a name no issue carries."""
    if team == ALL_TEAMS:
        return ALL_TEAMS
    wanted = team.casefold()
    return next((name for name, _count in choices if name.casefold() == wanted), None)


def is_teams(pathname: str | None) -> bool:
    return str(pathname or "").rstrip("/") == TEAMS_PATH


def view_styles(pathname: str | None, is_analytics: bool) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(dashboard, analytics, teams) styles for the URL's path: exactly one view shows."""
    if is_teams(pathname):
        return HIDDEN, HIDDEN, {}
    if is_analytics:
        return HIDDEN, {}, HIDDEN
    return {}, HIDDEN, HIDDEN


def teams_view() -> html.Div:
    """The ``/teams`` view: explanation, a message line and the sortable comparison table."""
    return html.Div(
        [
            html.H2("Teams", className="h4 mb-0"),
            html.P("Each team's nine metrics for the selected period; click a row to look at that team on the "
                   "Dashboard. Click a column heading to sort.", className="text-body-secondary small mb-2"),
            html.Div(id=ids.Teams.MESSAGE),
            dash_table.DataTable(
                id=ids.Teams.TABLE,
                columns=table_columns(),
                data=[],
                sort_action="custom",
                sort_mode="single",
                sort_by=[],
                markdown_options={"html": True},
                cell_selectable=True,
                **TABLE_STYLE,
                css=[{"selector": "td", "rule": "cursor: pointer;"},
                     {"selector": ".dash-spreadsheet td div", "rule": "line-height: 1.4;"}],
            ),
        ],
        id=ids.Views.TEAMS,
        style=HIDDEN,
        className="teams-comparison",
    )


def table_columns() -> list[dict[str, Any]]:
    """The team column, then one markdown column per metric in the cards' order."""
    return [{"name": "Team", "id": "team"}] + [
        {"name": metric_info(name).display_name, "id": name, "presentation": "markdown"} for name in METRIC_NAMES
    ]


def _unit(metric: dict[str, Any]) -> str:
    details = metric.get("details") if isinstance(metric.get("details"), dict) else {}
    return str(metric.get("unit") or details.get("unit") or "")


def metric_cell(metric: dict[str, Any] | None) -> str:
    """Value, tier badge (with its word) and trend arrow of one MetricValue dict, as the cell's HTML."""
    if not isinstance(metric, dict) or metric.get("value") is None:
        return '<span class="text-body-secondary">—</span>'
    parts = [format_value(metric.get("value"), _unit(metric))]
    tier = metric.get("performance_tier")
    if tier:
        parts.append(f'<span class="badge tier-badge {TIER_CLASSES.get(tier, "tier-unknown")}">{tier}</span>')
    details = metric.get("details") if isinstance(metric.get("details"), dict) else {}
    direction = details.get("trend_direction")
    if direction in TREND_ARROWS and details.get("trend_percentage") is not None:
        words = format_trend(details.get("trend_percentage"))
        parts.append(f'<span class="team-trend" title="{words} vs previous period">{TREND_ARROWS[direction]}</span>')
    return " ".join(parts)


def _sort_key(metric: dict[str, Any] | None) -> float | None:
    value = metric.get("value") if isinstance(metric, dict) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def table_data(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One table row per comparison row; ``_team`` (``ALL_TEAMS`` for "All teams") is what a click selects and
    ``_sort_<metric>`` the number a column sorts by."""
    data = []
    for row in rows:
        name = str(row.get("team") or ALL_TEAMS_LABEL)
        metrics = row.get("metrics") if isinstance(row.get("metrics"), dict) else {}
        entry: dict[str, Any] = {"team": name, "_team": ALL_TEAMS if name == ALL_TEAMS_LABEL else name}
        for metric_name in METRIC_NAMES:
            entry[metric_name] = metric_cell(metrics.get(metric_name))
            entry[f"_sort_{metric_name}"] = _sort_key(metrics.get(metric_name))
        data.append(entry)
    return data


def sort_rows(data: list[dict[str, Any]], sort_by: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """``data`` sorted by the clicked column ("All teams" stays first; a missing number sorts last either way)."""
    if not sort_by:
        return data
    column, descending = sort_by[0].get("column_id"), sort_by[0].get("direction") == "desc"
    pinned = [row for row in data if row.get("_team") == ALL_TEAMS]
    rest = [row for row in data if row.get("_team") != ALL_TEAMS]
    if column == "team":
        ordered = sorted(rest, key=lambda row: str(row.get("team", "")).casefold(), reverse=descending)
    else:
        known = [row for row in rest if row.get(f"_sort_{column}") is not None]
        missing = [row for row in rest if row.get(f"_sort_{column}") is None]
        ordered = sorted(known, key=lambda row: row[f"_sort_{column}"], reverse=descending) + missing
    return pinned + ordered
