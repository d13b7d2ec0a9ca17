"""The drill-down behind a metric card: which issues make the number, with the dates and values used.

Why: a number is only trusted when a user can see the issues behind it. The rows come from the calculators'
own populations (``dora_calculator.population`` / ``flow_calculator.population``), never from a second
implementation, so the table always explains exactly the card's number for the same period and ``now``:
the rows that are not excluded are the sample, every row is a candidate (count metrics list every
candidate, including the excluded ones), and Flow Load lists the items in WIP at ``min(period end, now)``.

``build_drilldown`` is pure (frames, settings, period, now in; a ``Drilldown`` out). Its rows are JSON-safe:
timestamps are ISO 8601 UTC strings (``2025-01-15T10:00:00.000Z``), durations plain floats (never rounded),
flags booleans, missing values ``None``. ``drilldown_csv`` writes them with the csv module, one column per
``DrilldownColumn.id`` plus the issue ``url``. ``drilldown_for_dashboard`` is the only function with I/O: it
reads the loaded dataset and the card's MetricValue, and uses that value's ``calculation_timestamp`` as
``now`` so the table and the card agree even when the card came from the metrics cache.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote

import numpy as np
import pandas as pd

from configuration.defaults import FIELD_LABELS
from configuration.settings import chosen_source, is_demo_mode
from data.metrics import dora_calculator, flow_calculator
from data.metrics.csv_cells import csv_cell
from data.metrics.exporters import csv_filename
from data.metrics.issue_frame import ensure_derived
from data.metrics.issue_tables import BOOLEAN_KEYS, DATE_KEYS, NUMBER_KEYS, TEXT_KEYS, IssueFrames, frame_config
from data.metrics.periods import Period
from data.services.dashboard_service import metrics_for_period, team_tables

ColumnKind = Literal["key", "text", "timestamp", "number", "flag"]


@dataclass(frozen=True)
class DrilldownColumn:
    """One column of the drill-down: ``id`` names it in the rows and the CSV header, ``label`` on screen.

    ``unit`` is set for numbers (``days``, ``hours``, ``percent``); ``description`` says how a derived
    column is computed (the table shows it as the header's tooltip)."""

    id: str
    label: str
    kind: ColumnKind
    unit: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Drilldown:
    """The issues behind one metric for one period.

    ``now`` is the instant the metric was calculated at (Flow Load's ``as_of`` is ``min(period end, now)``);
    ``message`` says why there are no rows when a mapping is missing or no data is loaded; ``metric`` is the
    MetricValue dict the rows explain, when known."""

    metric_name: str
    period: Period
    now: datetime
    columns: tuple[DrilldownColumn, ...]
    rows: tuple[dict[str, Any], ...]
    description: str
    as_of: datetime | None = None
    message: str | None = None
    metric: dict[str, Any] | None = field(default=None, compare=False)

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def excluded(self) -> int:
        return sum(1 for row in self.rows if row.get("excluded_reason"))

    @property
    def included(self) -> int:
        return self.total - self.excluded


METRIC_NAMES: tuple[str, ...] = dora_calculator.DORA_METRICS + flow_calculator.FLOW_METRICS

DESCRIPTIONS: dict[str, str] = {
    "deployment_frequency": "Deployments in the period that are production deployments or have an empty target "
                            "environment; those with an empty environment are excluded, the rest are counted.",
    "lead_time_for_changes": "Production deployments in the period with the time from code commit to "
                             "production; the value is the median of the rows that are not excluded.",
    "change_failure_rate": "Production deployments in the period and whether each failed (Deployment "
                           "Successful false or Production Impact true); the value is the failed share of the "
                           "rows that are not excluded.",
    "mean_time_to_recovery": "Incidents resolved in the period with the hours from detection to resolution; the "
                             "value is the median of the rows that are not excluded.",
    "flow_velocity": "Work items completed in the period; the value is their count per week.",
    "flow_time": "Work items completed in the period with the days from start to completion; the value is the "
                 "median of the rows that are not excluded.",
    "flow_efficiency": "Work items completed in the period with their active and total flow time; the value is "
                       "the sum of active time over the sum of flow time of the rows that are not excluded.",
    "flow_load": "Work items in a WIP status at the end of the period (or now, when the period has not ended), "
                 "with their status at that moment, when their work started and their age then.",
    "flow_distribution": "Work items completed in the period with their flow type; the value is the Feature "
                         "share.",
}

VALUE_COLUMNS: dict[str, DrilldownColumn | None] = {
    "deployment_frequency": None,
    "lead_time_for_changes": DrilldownColumn("lead_time_days", "Lead time (days)", "number", "days"),
    "change_failure_rate": DrilldownColumn("failed", "Failed", "flag"),
    "mean_time_to_recovery": DrilldownColumn("recovery_hours", "Recovery time (hours)", "number", "hours"),
    "flow_velocity": None,
    "flow_time": DrilldownColumn("flow_time_days", "Flow time (days)", "number", "days"),
    "flow_efficiency": DrilldownColumn("efficiency_percent", "Efficiency (%)", "number", "percent"),
    "flow_load": None,
    "flow_distribution": None,
}
"""The population's ``value`` under a metric-specific name; None for count metrics (each row counts once)."""

_KNOWN_COLUMNS: dict[str, DrilldownColumn] = {
    "key": DrilldownColumn("key", "Key", "key"),
    "summary": DrilldownColumn("summary", "Summary", "text"),
    "issue_type": DrilldownColumn("issue_type", "Type", "text"),
    "status": DrilldownColumn("status", "Status then", "text"),
    "created": DrilldownColumn("created", "Created", "timestamp"),
    "started_at": DrilldownColumn("started_at", "Started", "timestamp"),
    "completed_at": DrilldownColumn("completed_at", "Completed", "timestamp"),
    "flow_type": DrilldownColumn("flow_type", "Flow type", "text"),
    "flow_days": DrilldownColumn("flow_days", "Flow time (days)", "number", "days"),
    "active_days": DrilldownColumn("active_days", "Active time (days)", "number", "days"),
    "excluded_reason": DrilldownColumn("excluded_reason", "Excluded because", "text"),
}
AGE_COLUMN = DrilldownColumn(
    "age_days", "Age (days)", "number", "days",
    description="Days from the start of work (the mapped Work Started Date, else the first move into a WIP "
                "status) to the moment Flow Load is measured: the end of the period, or now when the period "
                "has not ended. Empty when the start is unknown or later than that moment.",
)
"""Flow Load's work-item age: how long each item in progress has been in progress at ``as_of``."""
_KNOWN_COLUMNS[AGE_COLUMN.id] = AGE_COLUMN
COLUMN_DESCRIPTIONS: dict[str, str] = {
    column.id: column.description for column in _KNOWN_COLUMNS.values() if column.description
}
"""Header tooltips of the derived columns, by column id."""
_MAPPED_KINDS: dict[str, ColumnKind] = {
    **dict.fromkeys(DATE_KEYS, "timestamp"), **dict.fromkeys(BOOLEAN_KEYS, "flag"),
    **dict.fromkeys(NUMBER_KEYS, "number"), **dict.fromkeys(TEXT_KEYS, "text"),
}
URL_COLUMN = "url"
NO_DATA_MESSAGE = "No issues are loaded yet: click Update Data."


AZURE_DEVOPS_EDIT_PATH = "/_workitems/edit"


def issue_url(jira_url: str | None, key: Any) -> str | None:
    """``<jira url>/browse/<key>``, or for an Azure DevOps link base (``<org>/<project>/_workitems/edit``, see
    ``jira_base_url``) ``<base>/<id>`` (a shown ``#1234`` links to 1234); None without a base (demo mode) or key."""
    if not jira_url or not isinstance(key, str) or not key.strip():
        return None
    base = jira_url.rstrip("/")
    if base.endswith(AZURE_DEVOPS_EDIT_PATH):
        return f"{base}/{quote(key.strip().lstrip('#'), safe='')}"
    return f"{base}/browse/{quote(key.strip(), safe='')}"


def shown_key(jira_url: str | None, key: Any) -> Any:
    """The key as the table shows it: an Azure DevOps work item id as ``#1234`` (its own web page's form)."""
    if jira_url and jira_url.rstrip("/").endswith(AZURE_DEVOPS_EDIT_PATH) and isinstance(key, str) and key:
        return key if key.startswith("#") else f"#{key}"
    return key


def jira_base_url(settings: Mapping[str, Any]) -> str | None:
    """What issue links start with: the Jira URL, or for Azure DevOps the project's work item page
    (``<organization url>/<project>/_workitems/edit``); None in demo mode (demo keys exist nowhere)."""
    if is_demo_mode(settings):
        return None
    if chosen_source(settings) == "azure_devops":
        block = settings.get("azure_devops") or {}
        organization = str(block.get("organization_url") or "").strip().rstrip("/")
        return f"{organization}/{quote(str(block.get('project') or '').strip(), safe='')}{AZURE_DEVOPS_EDIT_PATH}"
    return str(settings.get("jira", {}).get("url") or "").strip().rstrip("/") or None


def population_frame(metric_name: str, frames: IssueFrames, settings: Mapping[str, Any], period: Period,
                     now: datetime) -> pd.DataFrame:
    """The calculator's drill-down table for ``metric_name`` (raises ValueError for an unknown name)."""
    if metric_name in dora_calculator.DORA_METRICS:
        return dora_calculator.population(metric_name, frames, settings, period, now)
    if metric_name in flow_calculator.FLOW_METRICS:
        return flow_calculator.population(metric_name, frames, settings, period, now)
    raise ValueError(f"Unknown metric '{metric_name}'; use one of {', '.join(METRIC_NAMES)}")


def configuration_message(metric_name: str, settings: Mapping[str, Any]) -> str | None:
    """What must be mapped or set before the metric has a population (None when ready)."""
    config = frame_config(settings)
    if metric_name in dora_calculator.DORA_METRICS:
        return dora_calculator.missing_mappings(metric_name, config)[1]
    return flow_calculator.missing_configuration(metric_name, config)[2]


def flow_load_as_of(period: Period, now: datetime) -> datetime:
    """The instant Flow Load is measured at: the period's last instant, or ``now`` when that is earlier."""
    end = period.end_ts.to_pydatetime()
    moment = _utc(now)
    return min(end, moment)


def with_age(table: pd.DataFrame, issues: pd.DataFrame, as_of: datetime) -> pd.DataFrame:
    """Flow Load's rows with ``age_days`` = (as_of − started_at) in days after the issue type (where it is
    read first, and its header tooltip has room) and ``started_at`` (from the derived issue table, by key)
    before ``value``; the age is missing when started_at is missing or after ``as_of``."""
    starts = dict(zip(issues["key"], issues["started_at"], strict=True))
    started = pd.to_datetime(table["key"].map(starts), utc=True, errors="coerce")
    age = (pd.Timestamp(_utc(as_of)) - started).dt.total_seconds() / 86400.0
    out = table.copy()
    position = out.columns.get_loc("value") if "value" in out.columns else len(out.columns)
    out.insert(position, "started_at", started)
    position = out.columns.get_loc("issue_type") + 1 if "issue_type" in out.columns else 1
    out.insert(position, AGE_COLUMN.id, age.where(age >= 0))
    return out


def build_drilldown(metric_name: str, frames: IssueFrames, settings: Mapping[str, Any], period: Period,
                    now: datetime, *, jira_url: str | None = None,
                    metric: Mapping[str, Any] | None = None) -> Drilldown:
    """The rows and columns behind ``metric_name`` for ``period`` (see the module docstring)."""
    table = population_frame(metric_name, frames, settings, period, now)
    if metric_name == "flow_load":
        table = with_age(table, ensure_derived(frames, settings).issues, flow_load_as_of(period, now))
        if not table.empty:
            table = table.sort_values(["created", "key"], kind="stable", na_position="last")
    columns = _columns(metric_name, table)
    value_column = VALUE_COLUMNS[metric_name]
    rows = _rows(table, columns, value_column.id if value_column is not None else None, jira_url)
    return Drilldown(
        metric_name=metric_name,
        period=period,
        now=_utc(now),
        columns=columns,
        rows=rows,
        description=DESCRIPTIONS[metric_name],
        as_of=flow_load_as_of(period, now) if metric_name == "flow_load" else None,
        message=configuration_message(metric_name, settings),
        metric=dict(metric) if metric is not None else None,
    )


def empty_drilldown(metric_name: str, period: Period, now: datetime, message: str) -> Drilldown:
    """A drill-down without rows that says why (no data loaded, for instance)."""
    if metric_name not in METRIC_NAMES:
        raise ValueError(f"Unknown metric '{metric_name}'; use one of {', '.join(METRIC_NAMES)}")
    columns = _columns(metric_name, pd.DataFrame(columns=["key", "summary", "issue_type", "value",
                                                          "excluded_reason"]))
    return Drilldown(metric_name, period, _utc(now), columns, (), DESCRIPTIONS[metric_name], message=message)


def drilldown_csv(drilldown: Drilldown) -> str:
    """The rows as CSV text: ``key``, ``url``, then the other column ids; ``\\n`` line endings.

    Empty cells for missing values; booleans ``true``/``false``; numbers at full precision (``repr``)."""
    ids = [column.id for column in drilldown.columns]
    header = [ids[0], URL_COLUMN, *ids[1:]]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in drilldown.rows:
        writer.writerow([csv_cell(row.get(name)) for name in header])
    return buffer.getvalue()


def drilldown_filename(drilldown: Drilldown) -> str:
    """``<metric>_issues_<start>_<end>.csv``."""
    return csv_filename(f"{drilldown.metric_name}_issues", drilldown.period.start, drilldown.period.end)


def drilldown_for_dashboard(metric_name: str, settings: Mapping[str, Any], period: Period,
                            now: datetime, *, team: str | None = None) -> Drilldown:
    """The drill-down of the card the dashboard shows for ``period`` (and ``team``; None: all teams): same
    dataset, same team tables, same calculation time. ``TeamError`` for an unknown team."""
    metrics, dataset = metrics_for_period(settings, period.start, period.end, now, team=team)
    if dataset is None:
        return empty_drilldown(metric_name, period, now, NO_DATA_MESSAGE)
    metric = metrics.get(metric_name)
    calculated_at = _calculation_time(metric) or now
    frames, _ = team_tables(dataset, team)
    return build_drilldown(metric_name, frames, settings, period, calculated_at,
                           jira_url=jira_base_url(settings), metric=metric)


def _calculation_time(metric: Mapping[str, Any] | None) -> datetime | None:
    stamp = (metric or {}).get("calculation_timestamp")
    if not stamp:
        return None
    try:
        return _utc(pd.Timestamp(stamp).to_pydatetime())
    except (TypeError, ValueError):
        return None


def _columns(metric_name: str, table: pd.DataFrame) -> tuple[DrilldownColumn, ...]:
    columns: list[DrilldownColumn] = []
    value_column = VALUE_COLUMNS[metric_name]
    for name in table.columns:
        if name == "value":
            if value_column is not None:
                columns.append(value_column)
        elif name != "excluded_reason":
            columns.append(_column_for(name, table[name]))
    columns.append(_KNOWN_COLUMNS["excluded_reason"])
    return tuple(columns)


def _column_for(name: str, values: pd.Series) -> DrilldownColumn:
    if name in _KNOWN_COLUMNS:
        return _KNOWN_COLUMNS[name]
    label = FIELD_LABELS.get(name) or name.replace("_", " ").capitalize()
    if name in _MAPPED_KINDS:
        return DrilldownColumn(name, label, _MAPPED_KINDS[name])
    if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(values.dtype):
        return DrilldownColumn(name, label, "timestamp")
    if pd.api.types.is_bool_dtype(values.dtype):
        return DrilldownColumn(name, label, "flag")
    if pd.api.types.is_numeric_dtype(values.dtype):
        return DrilldownColumn(name, label, "number")
    return DrilldownColumn(name, label, "text")


def _rows(table: pd.DataFrame, columns: tuple[DrilldownColumn, ...], value_id: str | None,
          jira_url: str | None) -> tuple[dict[str, Any], ...]:
    """The table's rows as JSON-safe dicts, converted column by column (vectorised: a year of a large
    team's completed items is tens of thousands of rows)."""
    values: dict[str, list[Any]] = {}
    for column in columns:
        source = "value" if column.id == value_id else column.id
        series = table[source] if source in table.columns else pd.Series([None] * len(table), dtype=object)
        values[column.id] = _column_values(series, column.kind)
    keys = values.get("key", [None] * len(table))
    values[URL_COLUMN] = [issue_url(jira_url, key) for key in keys]
    if "key" in values:
        values["key"] = [shown_key(jira_url, key) for key in keys]
    names = list(values)
    return tuple(dict(zip(names, cells, strict=True)) for cells in zip(*values.values(), strict=True))


def _column_values(series: pd.Series, kind: ColumnKind) -> list[Any]:
    """One column as Python values: ISO UTC text, finite floats, booleans or text, None where missing."""
    if kind == "timestamp":
        stamps = pd.to_datetime(series, utc=True, errors="coerce")
        text = stamps.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"
        return [None if missing else value for value, missing in zip(text.tolist(), stamps.isna(), strict=True)]
    if kind == "number":
        numbers = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        return [number if math.isfinite(number) else None for number in numbers.tolist()]
    missing = series.isna().to_numpy()
    if kind == "flag":
        return [None if gone else bool(value) for value, gone in zip(series.tolist(), missing, strict=True)]
    return [None if gone or value == "" else str(value) for value, gone in zip(series.tolist(), missing, strict=True)]


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
