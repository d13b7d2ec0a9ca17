"""The MetricValue record (seed 001, entity 2) and the helpers that build one.

A MetricValue crosses every layer: calculators return it, the cache stores ``to_dict()``, the UI and the
exports read it. ``value`` is ``None`` unless ``error_state`` is ``success``; errors are values, never
exceptions, at this boundary.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from typing import Any, Literal

import numpy as np
import pandas as pd

from configuration.tiers import benchmark_details, classify_tier
from data.metrics.issue_tables import IssueFrames, column_us
from data.metrics.periods import MetricWindows, Window, coverage_start

ErrorState = Literal["success", "missing_mapping", "no_data", "calculation_error"]
ERROR_STATES: tuple[str, ...] = ("success", "missing_mapping", "no_data", "calculation_error")


@dataclass
class MetricValue:
    """One metric for one period; ``details`` holds trend, sparkline, percentiles and benchmarks."""

    metric_name: str
    metric_type: str
    value: float | None
    unit: str
    performance_tier: str | None
    performance_tier_color: str | None
    calculation_timestamp: datetime
    time_period_start: datetime
    time_period_end: datetime
    error_state: ErrorState
    error_message: str | None
    excluded_issue_count: int
    total_issue_count: int
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.error_state not in ERROR_STATES:
            raise ValueError(f"Unknown error_state {self.error_state!r}")
        if self.error_state != "success":
            self.value = None
            self.performance_tier = None
            self.performance_tier_color = None
        elif self.value is not None:
            self.value = float(self.value)

    @property
    def is_success(self) -> bool:
        return self.error_state == "success"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict: ISO UTC strings ending in ``Z``, plain Python numbers, NaN as ``None``."""
        return {f.name: json_safe(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MetricValue:
        """Rebuild a MetricValue from ``to_dict()`` output (e.g. the metrics cache)."""
        kwargs = {f.name: data.get(f.name) for f in fields(cls)}
        for name in ("calculation_timestamp", "time_period_start", "time_period_end"):
            kwargs[name] = pd.Timestamp(kwargs[name]).to_pydatetime()
        kwargs["details"] = dict(kwargs.get("details") or {})
        kwargs["excluded_issue_count"] = int(kwargs.get("excluded_issue_count") or 0)
        kwargs["total_issue_count"] = int(kwargs.get("total_issue_count") or 0)
        return cls(**kwargs)

    @classmethod
    def success(cls, base: MetricBase, value: float, *, tier: tuple[str | None, str | None] = (None, None),
                total: int = 0, excluded: int = 0, details: dict[str, Any] | None = None) -> MetricValue:
        return cls._make(base, "success", value, None, tier, total, excluded, details)

    @classmethod
    def missing_mapping(cls, base: MetricBase, message: str, *, details: dict[str, Any] | None = None,
                        ) -> MetricValue:
        return cls._make(base, "missing_mapping", None, message, (None, None), 0, 0, details)

    @classmethod
    def no_data(cls, base: MetricBase, message: str, *, total: int = 0, excluded: int = 0,
                details: dict[str, Any] | None = None) -> MetricValue:
        return cls._make(base, "no_data", None, message, (None, None), total, excluded, details)

    @classmethod
    def calculation_error(cls, base: MetricBase, message: str) -> MetricValue:
        return cls._make(base, "calculation_error", None, message, (None, None), 0, 0, {})

    @classmethod
    def _make(cls, base: MetricBase, state: ErrorState, value: float | None, message: str | None,
              tier: tuple[str | None, str | None], total: int, excluded: int,
              details: dict[str, Any] | None) -> MetricValue:
        return cls(
            metric_name=base.metric_name,
            metric_type=base.metric_type,
            value=value,
            unit=base.unit,
            performance_tier=tier[0],
            performance_tier_color=tier[1],
            calculation_timestamp=base.calculation_timestamp,
            time_period_start=base.time_period_start,
            time_period_end=base.time_period_end,
            error_state=state,
            error_message=message,
            excluded_issue_count=int(excluded),
            total_issue_count=int(total),
            details=dict(details or {}),
        )


@dataclass(frozen=True)
class MetricBase:
    """What every MetricValue of one calculation shares: the metric's identity and the period."""

    metric_name: str
    metric_type: str
    unit: str
    calculation_timestamp: datetime
    time_period_start: datetime
    time_period_end: datetime


def metric_base(metric_name: str, metric_type: str, unit: str, start: datetime, end: datetime,
                now: datetime) -> MetricBase:
    """The shared identity of one metric calculation; a naive ``now`` is read as UTC."""
    stamp = pd.Timestamp(now)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return MetricBase(metric_name, metric_type, unit, stamp.to_pydatetime(), start, end)


def utc_iso(value: datetime | pd.Timestamp | date) -> str:
    """``2025-01-31T23:59:59.999Z``: UTC, millisecond precision, as in seed 001."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def json_safe(value: Any) -> Any:
    """Convert numpy/pandas scalars, timestamps and NaN into plain JSON values, recursively."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, datetime | date):
        return None if pd.isna(value) else utc_iso(value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, Sequence | np.ndarray | set | frozenset):
        return [json_safe(v) for v in value]
    if value is pd.NaT or value is pd.NA:
        return None
    return str(value)


def trend(value: float | None, previous: float | None) -> dict[str, Any]:
    """``trend_percentage``, ``trend_direction`` and ``previous_value`` versus the previous period
    (METRICS.md, "Trend"): the direction follows the sign of value − previous whenever both are known, even
    when previous is 0 (the percentage is then null: a change from 0 has no relative size)."""
    if value is None or previous is None:
        return {"trend_percentage": None, "trend_direction": "flat", "previous_value": previous}
    direction = "up" if value > previous else "down" if value < previous else "flat"
    change = None if previous == 0 else (value - previous) / previous * 100.0
    return {"trend_percentage": change, "trend_direction": direction, "previous_value": previous}


def data_coverage(frames: IssueFrames, coverage: date | None = None) -> date | None:
    """The first day the data covers: ``coverage`` when the caller knows it (e.g. from the issues before a
    team filter), else the UTC date of the earliest ``created`` among all issues of ``frames``."""
    return coverage if coverage is not None else coverage_start(column_us(frames, "created"))


def coverage_details(windows: MetricWindows) -> dict[str, Any]:
    """``coverage_start`` (the first day the data covers, ISO date or None) and ``previous_covered`` (whether
    the previous period lies inside it), so a null previous value can say why it is null."""
    return {"coverage_start": windows.coverage.isoformat() if windows.coverage else None,
            "previous_covered": windows.covers(windows.previous)}


def missing_mapping_message(labels: Sequence[str], *, any_of: bool = False) -> str:
    """``Map the Deployment Date field`` / ``Map the X and Y fields`` / ``Map the X or Y field``."""
    if len(labels) == 1:
        return f"Map the {labels[0]} field"
    joined = ", ".join(labels[:-1]) + (" or " if any_of else " and ") + labels[-1]
    return f"Map the {joined} field" if any_of else f"Map the {joined} fields"


# ---------------------------------------------------------------- populations and assembly


class Population:
    """The candidates of one metric over the whole data set, sorted by the time that places them in a
    period (NaN times are dropped: such an item belongs to no period). A window is a contiguous slice, so
    the headline, the previous period and each sparkline week read the same arrays the same way.

    ``reason`` holds 0 for an included candidate, else the 1-based index into ``reasons``.
    """

    def __init__(self, issue_idx: np.ndarray, event_us: np.ndarray, reason: np.ndarray,
                 reasons: Sequence[str], **arrays: np.ndarray) -> None:
        keep = np.flatnonzero(~np.isnan(event_us))
        order = keep[np.argsort(event_us[keep], kind="stable")]
        self.issue_idx = np.asarray(issue_idx)[order]
        self.event_us = np.asarray(event_us)[order]
        self.reason = np.asarray(reason, dtype=np.int8)[order]
        self.reasons = tuple(reasons)
        self.arrays = {name: np.asarray(values)[order] for name, values in arrays.items()}

    def __len__(self) -> int:
        return int(self.event_us.size)

    def span(self, window: Window) -> slice:
        lo, hi = np.searchsorted(self.event_us, [window.start_us, window.end_us], side="left")
        return slice(int(lo), int(hi))

    def counts(self, span: slice) -> tuple[int, int, dict[str, int]]:
        """(candidates, excluded, {reason: count}) within ``span``."""
        codes = self.reason[span]
        tally = np.bincount(codes, minlength=len(self.reasons) + 1)
        reasons = {text: int(tally[i + 1]) for i, text in enumerate(self.reasons) if tally[i + 1]}
        return int(codes.size), int(codes.size - tally[0]), reasons

    def included(self, span: slice) -> np.ndarray:
        return self.reason[span] == 0

    def table(self, issues: pd.DataFrame, span: slice, columns: Sequence[str],
              extra: Mapping[str, str] | None = None) -> pd.DataFrame:
        """The drill-down rows of ``span``: key, summary, issue_type, ``columns`` of the issue table,
        ``extra`` arrays (output name → array name), value and excluded_reason (None when included)."""
        rows = self.issue_idx[span]
        picked = issues.iloc[rows]
        names = ("key", "summary", "issue_type", *columns)
        out = pd.DataFrame({name: picked[name].to_numpy() for name in names})
        for out_name, array_name in (extra or {}).items():
            out[out_name] = self.arrays[array_name][span]
        out["value"] = self.arrays["value"][span] if "value" in self.arrays else np.nan
        labels = np.array((None, *self.reasons), dtype=object)
        out["excluded_reason"] = labels[self.reason[span]]
        return out


@dataclass
class WindowResult:
    """A metric over one window: ``value`` is None when there is no sample (``message`` says why)."""

    value: float | None
    total: int = 0
    excluded: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    message: str | None = None


def median_details(values: np.ndarray) -> dict[str, Any]:
    """``p85``, ``p95`` and ``mean`` (linear interpolation between closest ranks)."""
    p85, p95 = np.percentile(values, [85.0, 95.0])
    return {"p85": float(p85), "p95": float(p95), "mean": float(np.mean(values))}


def assemble_metric(base: MetricBase, evaluate: Callable[[Window, bool], WindowResult],
                    windows: MetricWindows, *, tiered: bool, weekly: Sequence[float | None] | None = None,
                    extra_details: Mapping[str, Any] | None = None) -> MetricValue:
    """Evaluate the period (with full details), the previous period and every sparkline week through the
    same ``evaluate(window, full)``, then build the MetricValue (tier, trend, sparkline, counts).

    The period itself is always computed; the previous period and each week are null when they start before
    the data's coverage (METRICS.md, "Coverage")."""
    current = evaluate(windows.current, True)
    previous = evaluate(windows.previous, False).value if windows.covers(windows.previous) else None
    if weekly is None:
        weekly = [evaluate(week, False).value if windows.covers(week) else None for week in windows.weeks]
    details: dict[str, Any] = {
        **current.details,
        "sample_size": current.total - current.excluded,
        "exclusion_reasons": current.reasons,
        "weekly_values": list(weekly),
        "week_labels": [week.label for week in windows.weeks],
        **trend(current.value, previous),
        **coverage_details(windows),
        **(extra_details or {}),
    }
    if tiered:
        details.update(benchmark_details(base.metric_name))
    if current.value is None:
        return MetricValue.no_data(base, current.message or "No data in this period", total=current.total,
                                   excluded=current.excluded, details=details)
    tier = classify_tier(base.metric_name, current.value) if tiered else (None, None)
    return MetricValue.success(base, current.value, tier=tier, total=current.total, excluded=current.excluded,
                               details=details)


def empty_population_metric(base: MetricBase, windows: MetricWindows, message: str, *, tiered: bool,
                            weekly: Sequence[float | None] | None = None) -> MetricValue:
    """``no_data`` for a count metric whose population is empty in the whole data set: its weeks are null
    too, except recorded values passed in ``weekly`` (Flow Load snapshots)."""
    details: dict[str, Any] = {
        "sample_size": 0,
        "exclusion_reasons": {},
        "weekly_values": list(weekly) if weekly is not None else [None] * len(windows.weeks),
        "week_labels": [week.label for week in windows.weeks],
        **trend(None, None),
        **coverage_details(windows),
    }
    if tiered:
        details.update(benchmark_details(base.metric_name))
    return MetricValue.no_data(base, message, details=details)


def guarded(base: MetricBase, compute: Callable[[], MetricValue]) -> MetricValue:
    """Run one metric; an unexpected failure becomes a ``calculation_error`` value instead of an exception,
    so one broken metric never takes the others down."""
    try:
        return compute()
    except Exception as exc:
        return MetricValue.calculation_error(base, f"Could not calculate {base.metric_name}: "
                                                   f"{type(exc).__name__}: {exc}")
