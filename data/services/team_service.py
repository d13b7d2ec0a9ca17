"""The dashboard's teams: the choices of the navbar's team selector and the rows of the team comparison
table (ANALYTICS.md, "Teams").

Both read the loaded dataset of ``dashboard_service`` and its per-team tables (restricted once per data
version), so the table's numbers are exactly those of the cards with that team selected.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from data.metrics.field_values import fold
from data.metrics.teams import NONE_TEAM, TEAM_COLUMN, team_field_id, team_names
from data.services.dashboard_service import load_dataset, metrics_for_period

ALL_TEAMS = "All teams"
"""The name of the unrestricted row of the comparison table (and the selector's first choice)."""


def team_choices(settings: Mapping[str, Any]) -> list[tuple[str, int]]:
    """(team name, issue count) for each team, in ``team_names`` order (``(none)`` last); empty when no team
    field is set or there is no data yet, so the selector can hide itself.

    An issue of several teams counts in each of them, so the counts may add up to more than all issues."""
    dataset = load_dataset(settings)
    if dataset is None or team_field_id(dataset.frames) is None:
        return []
    counts: dict[str, int] = {}
    column = dataset.frames.issues.get(TEAM_COLUMN, ())
    for names in column:
        for key in {fold(name) for name in names} or {fold(NONE_TEAM)}:
            counts[key] = counts.get(key, 0) + 1
    return [(name, counts.get(fold(name), 0)) for name in team_names(dataset.frames)]


def teams_comparison(settings: Mapping[str, Any], start: date, end: date, now: datetime) -> list[dict[str, Any]]:
    """Rows of the team comparison table: ``{"team": "All teams", "metrics": {...}}`` first, then one row per
    team in ``team_names`` order, each with the nine MetricValue dicts ``metrics_for_period(..., team=name)``
    gives. Only the "All teams" row when no team field is set; empty when there is no data yet."""
    metrics, dataset = metrics_for_period(settings, start, end, now)
    if dataset is None:
        return []
    rows: list[dict[str, Any]] = [{"team": ALL_TEAMS, "metrics": metrics}]
    if team_field_id(dataset.frames) is None:
        return rows
    for name in team_names(dataset.frames):
        team_metrics, _ = metrics_for_period(settings, start, end, now, team=name)
        rows.append({"team": name, "metrics": team_metrics})
    return rows
