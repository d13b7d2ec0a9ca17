"""Metric exports as JSON, CSV and Prometheus text: the one code path behind the CLI and the UI downloads.

Both call these functions with the same MetricValues (``metric_name`` → MetricValue as a JSON-safe dict),
so a download and ``cli.py metrics --format ...`` are the same bytes. Every export is deterministic: the
same metrics give the same text, whatever the order of the input dict. Each result is complete text
ending with a newline; write it as-is (no extra newline).

Row and family order is DORA metrics, then Flow metrics, then any other type, each by name.
Values are never rounded: numbers are written with Python's shortest exact ``repr``.

Prometheus (text exposition format 0.0.4): one gauge family per metric,
``<prefix>_<metric_name>{error_state, metric_type, team, unit}``, plus the ``<prefix>_metric_tier{metric,
team}`` and ``<prefix>_sample_size{metric, team}`` families. ``team`` is the team's name, ``all`` for all
teams. Every sample of a family carries the same label names and ``error_state`` is always present
(``success`` included), so a metric that moves from ``no_data`` to ``success`` keeps the same label names.
The tier is a value, not a label, so a tier change does not start a new series: ``metric_tier`` is 1 for
Elite, 2 High, 3 Medium, 4 Low (``TIER_LEVELS``) and ``NaN`` when the metric has no tier (Flow metrics,
error states). A metric that is not ``success`` has the value ``NaN``: no value, never a fake 0.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from data.metrics.csv_cells import safe_csv_text

CSV_COLUMNS: tuple[str, ...] = (
    "metric_name",
    "metric_type",
    "value",
    "unit",
    "performance_tier",
    "performance_tier_color",
    "error_state",
    "error_message",
    "total_issue_count",
    "excluded_issue_count",
    "sample_size",
    "trend_percentage",
    "trend_direction",
    "time_period_start",
    "time_period_end",
    "calculation_timestamp",
)
_DETAIL_COLUMNS = frozenset({"sample_size", "trend_percentage", "trend_direction"})

EXPORT_FORMATS: dict[str, tuple[str, str]] = {
    "json": ("json", "application/json"),
    "csv": ("csv", "text/csv; charset=utf-8"),
    "prometheus": ("prom", "text/plain; version=0.0.4; charset=utf-8"),
}
"""Format name → (file extension, media type) for downloads and ``--format``."""

_TYPE_ORDER = {"dora": 0, "flow": 1}
_TYPE_NAMES = {"dora": "DORA", "flow": "Flow"}
_INVALID_NAME_CHARS = re.compile(r"[^a-zA-Z0-9_:]")
_INVALID_FILENAME_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")


def _as_dict(metric: Any) -> dict[str, Any]:
    if isinstance(metric, Mapping):
        return dict(metric)
    to_dict = getattr(metric, "to_dict", None)
    if callable(to_dict):
        return dict(to_dict())
    if dataclasses.is_dataclass(metric) and not isinstance(metric, type):
        return dataclasses.asdict(metric)
    raise TypeError(f"A metric must be a mapping or a MetricValue, not {type(metric).__name__}")


def _ordered(metrics: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    records = [(str(name), _as_dict(metric)) for name, metric in metrics.items()]
    return sorted(records, key=lambda item: (_TYPE_ORDER.get(item[1].get("metric_type"), 2), item[0]))


def _iso_date(value: date | datetime | str) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _iso_timestamp(value: datetime | date | str) -> str:
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _json_safe(value: Any) -> Any:
    """Plain JSON values only: non-finite floats become null, dates ISO strings, numpy scalars Python ones."""
    if isinstance(value, Mapping):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime | date):
        return _iso_timestamp(value)
    item = getattr(value, "item", None)
    if callable(item):
        return _json_safe(item())
    raise TypeError(f"Cannot export a value of type {type(value).__name__} as JSON")


def to_json(metrics: Mapping[str, Any], *, period_start: date | str, period_end: date | str,
            generated_at: datetime | str) -> str:
    """``{"period": {"start", "end"}, "generated_at", "metrics": {metric_name: MetricValue}}``.

    Sorted keys, two-space indent, UTF-8 text (non-ASCII kept), NaN/Infinity written as null.
    """
    document = {
        "period": {"start": _iso_date(period_start), "end": _iso_date(period_end)},
        "generated_at": _iso_timestamp(generated_at),
        "metrics": {name: record for name, record in _ordered(metrics)},
    }
    text = json.dumps(_json_safe(document), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
    return text + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return safe_csv_text(value)
    safe = _json_safe(value)
    if isinstance(safe, dict | list):
        return json.dumps(safe, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return _cell(safe)


def to_csv(metrics: Mapping[str, Any]) -> str:
    """One row per metric with ``CSV_COLUMNS`` (sample size and trend come from ``details``).

    Written by the csv module with ``\\n`` line endings; None and non-finite numbers are empty cells.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for name, record in _ordered(metrics):
        details = record.get("details") if isinstance(record.get("details"), Mapping) else {}
        row = []
        for column in CSV_COLUMNS:
            if column == "metric_name":
                row.append(_cell(record.get("metric_name") or name))
            elif column in _DETAIL_COLUMNS:
                row.append(_cell(details.get(column)))
            else:
                row.append(_cell(record.get(column)))
        writer.writerow(row)
    return buffer.getvalue()


def prometheus_name(name: str) -> str:
    """``name`` made a valid Prometheus metric name (``[a-zA-Z_:][a-zA-Z0-9_:]*``)."""
    cleaned = _INVALID_NAME_CHARS.sub("_", name)
    return cleaned if cleaned and not cleaned[0].isdigit() else f"_{cleaned}"


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n")


def _labels(labels: Mapping[str, str]) -> str:
    return ",".join(f'{key}="{_escape_label(labels[key])}"' for key in sorted(labels))


def _sample_value(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "NaN"
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
    return repr(value) if isinstance(value, float) else str(value)


def _label_text(value: Any) -> str:
    return "" if value is None else str(value)


def _help_text(name: str, record: Mapping[str, Any]) -> str:
    words = name.replace("_", " ").strip().capitalize() or name
    raw_type = _label_text(record.get("metric_type"))
    metric_type = _TYPE_NAMES.get(raw_type, raw_type or "other")
    unit = _label_text(record.get("unit")) or "no unit"
    return f"{words} ({metric_type} metric, unit: {unit}); NaN when error_state is not success."


def _sample_size(record: Mapping[str, Any]) -> Any:
    details = record.get("details") if isinstance(record.get("details"), Mapping) else {}
    if "sample_size" in details:
        return details["sample_size"]
    total, excluded = record.get("total_issue_count"), record.get("excluded_issue_count")
    if isinstance(total, int) and isinstance(excluded, int):
        return total - excluded
    return None


TIER_LEVELS: dict[str, int] = {"Elite": 1, "High": 2, "Medium": 3, "Low": 4}
"""The value of the Prometheus ``metric_tier`` gauge for each performance tier (1 is best)."""
ALL_TEAMS_LABEL = "all"
"""The Prometheus ``team`` label of metrics over all teams."""


def to_prometheus(metrics: Mapping[str, Any], *, prefix: str = "dora_flow", team: str | None = None) -> str:
    """Prometheus text exposition (0.0.4) of ``metrics``; see the module docstring for the families.
    ``team`` (None: all teams, labelled ``all``) is the ``team`` label of every sample.

    HELP and TYPE precede each family's samples, one TYPE per family; label values are escaped
    (backslash, double quote, newline); two metrics whose names clean up to the same family name get
    ``_2``, ``_3``... suffixes rather than sharing a family. Empty input gives empty text.
    """
    records = _ordered(metrics)
    if not records:
        return ""
    base = prometheus_name(prefix)
    sample_family = f"{base}_sample_size"
    tier_family = f"{base}_metric_tier"
    used = {sample_family, tier_family}
    team_label = ALL_TEAMS_LABEL if team is None else team
    lines: list[str] = []
    for name, record in records:
        family = prometheus_name(f"{base}_{name}")
        candidate, suffix = family, 2
        while candidate in used:
            candidate, suffix = f"{family}_{suffix}", suffix + 1
        used.add(candidate)
        error_state = _label_text(record.get("error_state")) or "success"
        labels = {
            "error_state": error_state,
            "metric_type": _label_text(record.get("metric_type")),
            "team": team_label,
            "unit": _label_text(record.get("unit")),
        }
        value = record.get("value") if error_state == "success" else None
        lines += [
            f"# HELP {candidate} {_escape_help(_help_text(name, record))}",
            f"# TYPE {candidate} gauge",
            f"{candidate}{{{_labels(labels)}}} {_sample_value(value)}",
        ]
    lines += [
        f"# HELP {tier_family} Performance tier of each metric: 1 Elite, 2 High, 3 Medium, 4 Low; NaN when none.",
        f"# TYPE {tier_family} gauge",
    ]
    lines += [
        f"{tier_family}{{{_labels({'metric': name, 'team': team_label})}}} "
        f"{_sample_value(TIER_LEVELS.get(_label_text(record.get('performance_tier'))))}"
        for name, record in records
    ]
    lines += [
        f"# HELP {sample_family} Issues behind each metric's value (considered minus excluded).",
        f"# TYPE {sample_family} gauge",
    ]
    lines += [
        f"{sample_family}{{{_labels({'metric': name, 'team': team_label})}}} {_sample_value(_sample_size(record))}"
        for name, record in records
    ]
    return "\n".join(lines) + "\n"


def export_filename(kind: str, period_start: date | str, period_end: date | str, ext: str) -> str:
    """Download name ``<kind>_<start>_<end>.<ext>``, e.g. ``dora_flow_metrics_2025-01-01_2025-01-31.csv``.

    Characters other than letters, digits, ``_``, ``.`` and ``-`` become ``_``, so the name is safe
    on every file system and in a Content-Disposition header.
    """
    def clean(text: str) -> str:
        return _INVALID_FILENAME_CHARS.sub("_", text).strip("._") or "export"

    start, end = clean(_iso_date(period_start)), clean(_iso_date(period_end))
    return f"{clean(kind)}_{start}_{end}.{clean(ext.lstrip('.'))}"


def csv_filename(kind: str, period_start: date | str, period_end: date | str) -> str:
    """``export_filename`` with the ``csv`` extension (drill-down and metrics CSV downloads)."""
    return export_filename(kind, period_start, period_end, "csv")


def export_metrics(fmt: str, metrics: Mapping[str, Any], *, period_start: date | str, period_end: date | str,
                   generated_at: datetime | str, prefix: str = "dora_flow", team: str | None = None) -> str:
    """The export text in ``fmt`` (a key of ``EXPORT_FORMATS``); raises ValueError for an unknown format.
    ``team`` (None: all teams) is the Prometheus ``team`` label; JSON and CSV do not carry it."""
    renderers: dict[str, Callable[[], str]] = {
        "json": lambda: to_json(metrics, period_start=period_start, period_end=period_end,
                                generated_at=generated_at),
        "csv": lambda: to_csv(metrics),
        "prometheus": lambda: to_prometheus(metrics, prefix=prefix, team=team),
    }
    if fmt not in renderers:
        raise ValueError(f"Unknown export format '{fmt}'; use {', '.join(EXPORT_FORMATS)}")
    return renderers[fmt]()
