"""Teams (ANALYTICS.md, "Teams"): which team(s) an issue belongs to, the list of teams, and the issue tables
restricted to one team.

``dora_flow_config.team_field`` names the Jira field whose value names the team: ``project`` (the project
key), ``components`` (each component's name), ``labels`` (each label) or a custom field (an option's
``value``, an object's ``name``, a plain string, or a list of any of these). An issue with several values
belongs to each of those teams; one with none belongs to ``(none)``. Names compare case-insensitively and keep
the spelling first seen in input order.

The raw names are kept per issue at parse time (column ``team_values``), so a team switch never re-reads the
raw issues. ``restrict_to_team`` cuts every table (issues, intervals, transitions) down to one team's issues
once, before any metric rule applies; the coverage start stays that of all issues (``all_issues_coverage``),
which the caller passes on to the calculators as ``coverage=``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from data.metrics.csv_cells import safe_csv_text
from data.metrics.exporters import CSV_COLUMNS, to_csv, to_json
from data.metrics.field_values import fold
from data.metrics.issue_tables import TEAM_KEY, IssueFrames, column_us
from data.metrics.periods import coverage_start

NONE_TEAM = "(none)"
"""The team of an issue whose team field holds no value."""
TEAM_COLUMN = "team_values"
"""Issue-table column: the issue's team names as a tuple of trimmed strings (empty for none)."""

TEAM_FIELD_MISSING = (
    "no team field is set: set dora_flow_config.team_field in the settings to the Jira field that names the "
    'team ("project", "components", "labels" or a custom field id such as customfield_10200)')


class TeamError(ValueError):
    """A team that cannot be shown (no team field set, or a name that is not a team); the message says what
    to do."""


def _text(item: Any, keys: Sequence[str]) -> str | None:
    if isinstance(item, str):
        return item.strip() or None
    if isinstance(item, Mapping):
        for key in keys:
            inner = item.get(key)
            if isinstance(inner, str) and inner.strip():
                return inner.strip()
    return None


def team_values(value: Any, field_id: str | None) -> tuple[str, ...]:
    """The team names one raw field value gives, in their order, each once (compared case-insensitively).

    ``project`` gives the project key (its name when there is no key); every other field gives an option's
    ``value`` or an object's ``name`` (components), or the string itself (labels, text fields)."""
    keys = ("key", "name") if field_id == "project" else ("value", "name")
    items = value if isinstance(value, list | tuple) else (value,)
    names: list[str] = []
    seen: set[str] = set()
    for item in items:
        text = _text(item, keys)
        if text is not None and fold(text) not in seen:
            seen.add(fold(text))
            names.append(text)
    return tuple(names)


def team_column(raw_values: Iterable[Any], field_id: str | None) -> pd.Series:
    """The ``team_values`` column of the issue table from each issue's raw team field value (all empty when
    no team field is set)."""
    if field_id is None:
        return pd.Series([()] * sum(1 for _ in raw_values), dtype=object)
    return pd.Series([team_values(value, field_id) for value in raw_values], dtype=object)


def team_field_id(frames: IssueFrames) -> str | None:
    """The team field the tables were parsed with (None when no team field is set)."""
    return dict(frames.field_ids).get(TEAM_KEY)


def _issue_teams(frames: IssueFrames) -> pd.Series:
    if TEAM_COLUMN in frames.issues:
        return frames.issues[TEAM_COLUMN]
    return pd.Series([()] * len(frames.issues), dtype=object)


def _spellings(frames: IssueFrames) -> dict[str, str]:
    """Folded name → the spelling first seen in input order (``(none)`` included when an issue has no team)."""
    spellings: dict[str, str] = {}
    for names in _issue_teams(frames):
        for name in names or (NONE_TEAM,):
            spellings.setdefault(fold(name), name)
    return spellings


def _sorted_names(spellings: Mapping[str, str]) -> list[str]:
    none_key = fold(NONE_TEAM)
    return sorted((name for key, name in spellings.items() if key != none_key), key=lambda name: (fold(name), name)
                  ) + ([spellings[none_key]] if none_key in spellings else [])


def team_names(frames: IssueFrames) -> list[str]:
    """Every team in the tables, sorted by name case-insensitively with ``(none)`` last; ``TeamError`` when no
    team field is set."""
    if team_field_id(frames) is None:
        raise TeamError(TEAM_FIELD_MISSING)
    return _sorted_names(_spellings(frames))


def canonical_team(frames: IssueFrames, team: str) -> str:
    """``team`` as the data spells it (first spelling seen); ``TeamError`` naming the known teams when it is
    not one of them, or when no team field is set."""
    if team_field_id(frames) is None:
        raise TeamError(TEAM_FIELD_MISSING)
    spellings = _spellings(frames)
    found = spellings.get(fold(team))
    if found is None:
        known = ", ".join(_sorted_names(spellings)) or "none: the data has no issues"
        raise TeamError(f"unknown team {team.strip()!r}; the teams are: {known}")
    return found


def restrict_to_team(frames: IssueFrames, team: str) -> IssueFrames:
    """The tables holding only ``team``'s issues (case-insensitive name), with their intervals and transitions
    renumbered; ``TeamError`` for an unknown team or when no team field is set.

    Coverage is not part of the tables: take ``all_issues_coverage`` of the unrestricted ``frames`` and pass
    it to the calculators, so a team's trends start where the data starts (METRICS.md, "Coverage")."""
    wanted = fold(canonical_team(frames, team))
    none = wanted == fold(NONE_TEAM)
    keep = np.fromiter(((not names) if none else any(fold(name) == wanted for name in names)
                        for names in _issue_teams(frames)), dtype=bool, count=len(frames.issues))
    positions = np.flatnonzero(keep)
    renumber = np.full(len(frames.issues), -1, dtype=np.int64)
    renumber[positions] = np.arange(positions.size, dtype=np.int64)

    def by_issue(table: pd.DataFrame) -> pd.DataFrame:
        owner = table["issue_idx"].to_numpy(dtype=np.int64)
        rows = keep[owner] if owner.size else np.zeros(0, dtype=bool)
        out = table.loc[rows].reset_index(drop=True)
        out["issue_idx"] = renumber[owner[rows]]
        return out

    issues = frames.issues.iloc[positions].reset_index(drop=True)
    return IssueFrames(issues, by_issue(frames.intervals), by_issue(frames.transitions), frames.field_ids,
                       frames.config, skipped_issue_count=frames.skipped_issue_count)


def all_issues_coverage(frames: IssueFrames) -> date | None:
    """The first day the unrestricted data covers (the earliest ``created``): the ``coverage=`` of a team."""
    return coverage_start(column_us(frames, "created"))


def teams_json(rows: Sequence[tuple[str, Mapping[str, Any]]], *, period_start: date, period_end: date,
               generated_at: datetime) -> str:
    """``{"period": {"start", "end"}, "teams": [{"team", "metrics"}]}``; each ``metrics`` is exactly the
    ``metrics`` object of ``cli.py metrics --team`` (same rendering, same key order)."""
    teams = [{"team": team, "metrics": json.loads(to_json(metrics, period_start=period_start, period_end=period_end,
                                                          generated_at=generated_at))["metrics"]}
             for team, metrics in rows]
    document = {"period": {"start": period_start.isoformat(), "end": period_end.isoformat()}, "teams": teams}
    return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def teams_csv(rows: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
    """One line per team and metric: a ``team`` column, then the metrics CSV's columns and cells."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["team", *CSV_COLUMNS])
    for team, metrics in rows:
        for line in list(csv.reader(io.StringIO(to_csv(metrics))))[1:]:
            writer.writerow([safe_csv_text(team), *line])
    return buffer.getvalue()
