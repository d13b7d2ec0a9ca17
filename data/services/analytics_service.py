"""What the Analytics view and ``cli.py analytics`` call: the five flow analytics sections for a period, and
their CSV exports.

The dashboard computes from the same loaded tables and settings as the cards (``dashboard_service``), the
command line from an issues file; both go through ``calculate_analytics``, so a chart, its CSV and the
command line show the same numbers.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from data.metrics.analytics import SECTIONS, calculate_analytics
from data.metrics.csv_cells import csv_cell
from data.metrics.exporters import csv_filename
from data.metrics.periods import Period
from data.services.dashboard_service import load_dataset, team_tables


def analytics_for_dashboard(settings: Mapping[str, Any], start: date, end: date,
                            now: datetime, *, team: str | None = None) -> dict[str, Any] | None:
    """The analytics object for the period from the loaded dataset (``team``'s issues only when given, its
    ``team`` then set to the name as the data spells it); None when there is no data yet; ``TeamError`` for
    an unknown team.

    ``settings`` are the ones the cards compute with (``dashboard_settings().settings``: effective, the
    demo's mappings applied in demo mode), so the view and the cards always describe the same items."""
    dataset = load_dataset(settings)
    if dataset is None:
        return None
    frames, name = team_tables(dataset, team)
    analytics = calculate_analytics(frames, settings, Period(start, end), now)
    if name is not None:
        analytics["team"] = name
    return analytics


def with_summaries(settings: Mapping[str, Any], analytics: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A copy of ``analytics`` whose cycle-time points and ageing items also carry the issue's ``summary``, for
    the charts' hover text. The object of the command line and the CSV downloads stays without it (ANALYTICS.md
    fields only); the summaries come from the same loaded tables."""
    if analytics is None:
        return None
    dataset = load_dataset(settings)
    if dataset is None:
        return dict(analytics)
    issues = dataset.frames.issues
    summary_of = dict(zip(issues["key"].astype(str), issues["summary"], strict=True))
    enriched = dict(analytics)
    for section, rows in (("cycle_time", "points"), ("aging_wip", "items")):
        part = analytics.get(section)
        if isinstance(part, Mapping) and isinstance(part.get(rows), list):
            enriched[section] = {**part, rows: [{**row, "summary": summary_of.get(str(row.get("key")))}
                                                for row in part[rows]]}
    return enriched


def analytics_json(analytics: Mapping[str, Any]) -> str:
    """The object as the command line prints it: two-space indent, UTF-8 text (non-ASCII kept), one final
    newline; keys in the order ANALYTICS.md lists them."""
    return json.dumps(analytics, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def analytics_csv(section: str, analytics: Mapping[str, Any]) -> tuple[str, str]:
    """(file name, CSV text) of one section: a header row, then one row per point, item, status or day.

    Cells go through the drill-down's ``csv_cell``: a status or key a spreadsheet would run as a formula
    (``=...``, ``+...``, ``-...``, ``@...``) is written with a leading ``'``; numbers stay numbers.

    ``ValueError`` for an unknown section name."""
    if section not in _WRITERS:
        raise ValueError(f"Unknown analytics section {section!r}; expected one of {', '.join(SECTIONS)}")
    period = analytics.get("period") or {}
    header, rows = _WRITERS[section](analytics.get(section) or {})
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([csv_cell(name) for name in header])
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
    name = csv_filename(f"analytics_{section}", period.get("start", ""), period.get("end", ""))
    return name, buffer.getvalue()


Rows = tuple[list[str], list[list[Any]]]


def _cycle_rows(data: Mapping[str, Any]) -> Rows:
    return (["key", "completed_at", "cycle_time_days", "flow_type"],
            [[p["key"], p["completed_at"], p["cycle_time_days"], p["flow_type"]] for p in data.get("points", [])])


def _aging_rows(data: Mapping[str, Any]) -> Rows:
    return (["key", "status", "age_days", "flow_type"],
            [[i["key"], i["status"], i["age_days"], i["flow_type"]] for i in data.get("items", [])])


def _status_rows(data: Mapping[str, Any]) -> Rows:
    names = ["status", "total_days", "share_percent", "items", "median_days", "active"]
    return names, [[row[name] for name in names] for row in data.get("statuses", [])]


def _cfd_rows(data: Mapping[str, Any]) -> Rows:
    order = list(data.get("order", []))
    counts = data.get("counts", {})
    return (["day", *order],
            [[day, *(counts[name][i] for name in order)] for i, day in enumerate(data.get("days", []))])


def _throughput_rows(data: Mapping[str, Any]) -> Rows:
    return ["day", "completed"], [[day, count] for day, count in zip(data.get("days", []), data.get("daily", []),
                                                                      strict=True)]


_WRITERS: dict[str, Callable[[Mapping[str, Any]], Rows]] = {
    "cycle_time": _cycle_rows, "aging_wip": _aging_rows, "time_in_status": _status_rows, "cfd": _cfd_rows,
    "throughput": _throughput_rows,
}
