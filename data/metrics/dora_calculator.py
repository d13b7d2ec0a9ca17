"""The four DORA metrics (METRICS.md, "DORA metrics"): pure functions over the issue tables.

No I/O and no clock: ``now`` only stamps ``calculation_timestamp``. Each metric builds its population once
(every candidate in the data set, with its event time, value and exclusion reason); the period, the previous
period, the 16 sparkline weeks and the drill-down are slices of that same population.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from configuration.defaults import FIELD_LABELS
from data.metrics.issue_frame import ensure_derived
from data.metrics.issue_tables import FrameConfig, IssueFrames, column_us
from data.metrics.metric_value import (
    MetricBase,
    MetricValue,
    Population,
    WindowResult,
    assemble_metric,
    data_coverage,
    empty_population_metric,
    guarded,
    median_details,
    metric_base,
    missing_mapping_message,
)
from data.metrics.periods import US_PER_DAY, US_PER_HOUR, Period, Window, metric_windows

METRIC_TYPE = "dora"
DORA_METRICS: tuple[str, ...] = (
    "deployment_frequency", "lead_time_for_changes", "change_failure_rate", "mean_time_to_recovery",
)
UNITS: dict[str, str] = {
    "deployment_frequency": "deployments/month",
    "lead_time_for_changes": "days",
    "change_failure_rate": "percent",
    "mean_time_to_recovery": "hours",
}
REQUIRED_MAPPINGS: dict[str, tuple[str, ...]] = {
    "deployment_frequency": ("deployment_date",),
    "lead_time_for_changes": ("deployment_date", "code_commit_date", "deployed_to_production_date"),
    "change_failure_rate": ("deployment_date",),
    "mean_time_to_recovery": ("incident_detected_at", "incident_resolved_at"),
}
OUTCOME_KEYS: tuple[str, ...] = ("deployment_successful", "production_impact")


@dataclass(frozen=True)
class _Spec:
    build: Callable[[IssueFrames], Population]
    evaluate: Callable[[Population, Window, bool], WindowResult]
    columns: tuple[str, ...]


# ---------------------------------------------------------------- populations


def _nullable_flag(frames: IssueFrames, key: str) -> np.ndarray:
    """1.0 / 0.0 / NaN from a nullable boolean column; all NaN when the field is not mapped."""
    assert frames.config is not None
    if not frames.config.mapped(key):
        return np.full(len(frames.issues), np.nan)
    return frames.issues[key].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)


def _deployment_frequency_population(frames: IssueFrames) -> Population:
    issues = frames.issues
    env_empty = issues["env_empty"].to_numpy()
    rows = np.flatnonzero(issues["is_production"].to_numpy() | env_empty)
    reason = env_empty[rows].astype(np.int8)
    return Population(rows, column_us(frames, "deployment_date")[rows], reason, ("empty target environment",),
                      value=np.where(reason == 0, 1.0, np.nan))


def _lead_time_population(frames: IssueFrames) -> Population:
    rows = np.flatnonzero(frames.issues["is_production"].to_numpy())
    commit = column_us(frames, "code_commit_date")[rows]
    deployed = column_us(frames, "deployed_to_production_date")[rows]
    days = (deployed - commit) / US_PER_DAY
    reason = np.select([np.isnan(commit), np.isnan(deployed), days < 0], [1, 2, 3], 0)
    reasons = ("missing or unparseable code commit date",
               "missing or unparseable deployed-to-production date",
               "negative lead time (production before commit)")
    return Population(rows, column_us(frames, "deployment_date")[rows], reason, reasons,
                      value=np.where(reason == 0, days, np.nan))


def _change_failure_population(frames: IssueFrames) -> Population:
    rows = np.flatnonzero(frames.issues["is_production"].to_numpy())
    successful = _nullable_flag(frames, "deployment_successful")[rows]
    impact = _nullable_flag(frames, "production_impact")[rows]
    known = ~np.isnan(successful) | ~np.isnan(impact)
    failed = (successful == 0.0) | (impact == 1.0)
    reason = (~known).astype(np.int8)
    return Population(rows, column_us(frames, "deployment_date")[rows], reason,
                      ("no deployment outcome (empty or not boolean-like)",),
                      value=np.where(known, failed.astype(np.float64), np.nan))


def _recovery_population(frames: IssueFrames) -> Population:
    rows = np.flatnonzero(frames.issues["is_incident"].to_numpy())
    detected = column_us(frames, "incident_detected_at")[rows]
    resolved = column_us(frames, "incident_resolved_at")[rows]
    hours = (resolved - detected) / US_PER_HOUR
    reason = (hours < 0).astype(np.int8)
    return Population(rows, resolved, reason, ("negative recovery time (resolved before detected)",),
                      value=np.where(reason == 0, hours, np.nan))


# ---------------------------------------------------------------- window evaluation


def _evaluate_frequency(population: Population, window: Window, full: bool) -> WindowResult:
    span = population.span(window)
    total, excluded, reasons = population.counts(span)
    count = total - excluded
    details = {"deployment_count": count, "period_days": window.days}
    return WindowResult(count * 30.0 / window.days, total, excluded, reasons, details)


def _median_evaluator(empty_message: str, no_sample_message: str,
                      ) -> Callable[[Population, Window, bool], WindowResult]:
    def evaluate(population: Population, window: Window, full: bool) -> WindowResult:
        span = population.span(window)
        total, excluded, reasons = population.counts(span)
        values = population.arrays["value"][span][population.included(span)]
        if values.size == 0:
            message = no_sample_message if total else empty_message
            return WindowResult(None, total, excluded, reasons, message=message)
        details = median_details(values) if full else {}
        return WindowResult(float(np.median(values)), total, excluded, reasons, details)

    return evaluate


def _evaluate_failure_rate(population: Population, window: Window, full: bool) -> WindowResult:
    span = population.span(window)
    total, excluded, reasons = population.counts(span)
    flags = population.arrays["value"][span][population.included(span)]
    if flags.size == 0:
        message = ("No production deployment in this period has a usable outcome" if total
                   else "No production deployments in this period")
        return WindowResult(None, total, excluded, reasons, message=message)
    failed = int(flags.sum())
    return WindowResult(failed / flags.size * 100.0, total, excluded, reasons, {"failed_count": failed})


SPECS: dict[str, _Spec] = {
    "deployment_frequency": _Spec(_deployment_frequency_population, _evaluate_frequency,
                                  ("deployment_date", "target_environment")),
    "lead_time_for_changes": _Spec(
        _lead_time_population,
        _median_evaluator("No production deployments in this period",
                          "No production deployment in this period has usable commit and production dates"),
        ("deployment_date", "code_commit_date", "deployed_to_production_date")),
    "change_failure_rate": _Spec(_change_failure_population, _evaluate_failure_rate,
                                 ("deployment_date", "deployment_successful", "production_impact")),
    "mean_time_to_recovery": _Spec(
        _recovery_population,
        _median_evaluator("No incidents resolved in this period",
                          "No incident resolved in this period has a usable recovery time"),
        ("incident_detected_at", "incident_resolved_at")),
}


# ---------------------------------------------------------------- public API


def missing_mappings(metric_name: str, config: FrameConfig) -> tuple[list[str], str | None]:
    """The mapping keys a DORA metric still needs and the message naming them (``[]``, None when ready)."""
    missing = [key for key in REQUIRED_MAPPINGS[metric_name] if not config.mapped(key)]
    parts = [missing_mapping_message([FIELD_LABELS[key] for key in missing])] if missing else []
    if metric_name == "change_failure_rate" and not any(config.mapped(key) for key in OUTCOME_KEYS):
        missing.extend(OUTCOME_KEYS)
        outcome = missing_mapping_message([FIELD_LABELS[key] for key in OUTCOME_KEYS], any_of=True)
        parts.append(outcome if not parts else outcome[0].lower() + outcome[1:])
    return missing, ("; ".join(parts) if parts else None)


def _population_for(metric_name: str, frames: IssueFrames) -> Population:
    key = ("population", metric_name)
    if key not in frames.memo:
        frames.memo[key] = SPECS[metric_name].build(frames)
    return frames.memo[key]


def _empty_data_message(frames: IssueFrames) -> str:
    if not frames.issues["is_deployment"].any():
        return "No deployments in the data: no issue has a usable Deployment Date"
    return "No production deployments in the data (deployments to other environments are ignored)"


def calculate_metric(metric_name: str, frames: IssueFrames, settings: Mapping[str, Any], period: Period,
                     now: datetime, coverage: date | None = None) -> MetricValue:
    """One DORA metric for ``period`` with its trend and 16-week sparkline. ``coverage`` is the first day
    the data covers (default: from the earliest ``created`` in ``frames``)."""
    base = metric_base(metric_name, METRIC_TYPE, UNITS[metric_name], period.start_ts.to_pydatetime(),
                       period.end_ts.to_pydatetime(), now)
    return guarded(base, lambda: _calculate(base, metric_name, frames, settings, period, coverage))


def _calculate(base: MetricBase, metric_name: str, frames: IssueFrames, settings: Mapping[str, Any],
               period: Period, coverage: date | None) -> MetricValue:
    frames = ensure_derived(frames, settings)
    assert frames.config is not None
    missing, message = missing_mappings(metric_name, frames.config)
    if message:
        return MetricValue.missing_mapping(base, message, details={"missing_fields": missing})
    windows = metric_windows(period, data_coverage(frames, coverage))
    population = _population_for(metric_name, frames)
    if metric_name == "deployment_frequency" and len(population) == 0:
        return empty_population_metric(base, windows, _empty_data_message(frames), tiered=True)
    spec = SPECS[metric_name]
    return assemble_metric(base, lambda window, full: spec.evaluate(population, window, full), windows,
                           tiered=True)


def calculate_dora_metrics(frames: IssueFrames, settings: Mapping[str, Any], period: Period, now: datetime,
                           metrics: Iterable[str] | None = None, coverage: date | None = None,
                           ) -> dict[str, MetricValue]:
    """The DORA metrics (all four unless ``metrics`` names some) for ``period``, keyed by metric name.
    ``coverage``: the first day the data covers (default: from the earliest ``created`` in ``frames``)."""
    names = DORA_METRICS if metrics is None else tuple(m for m in DORA_METRICS if m in set(metrics))
    frames = ensure_derived(frames, settings)
    return {name: calculate_metric(name, frames, settings, period, now, coverage) for name in names}


def population(metric_name: str, frames: IssueFrames, settings: Mapping[str, Any], period: Period,
               now: datetime | None = None) -> pd.DataFrame:
    """The drill-down rows behind a DORA metric's headline for ``period``: the candidates in the period with
    key, summary, issue_type, the dates used, ``value`` (days, hours or the 1/0 flag) and ``excluded_reason``.
    Empty when a required mapping is missing. ``now`` is accepted for symmetry with the Flow metrics."""
    frames = ensure_derived(frames, settings)
    assert frames.config is not None
    spec = SPECS[metric_name]
    if missing_mappings(metric_name, frames.config)[1]:
        columns = ["key", "summary", "issue_type", *spec.columns, "value", "excluded_reason"]
        return pd.DataFrame(columns=columns)
    pop = _population_for(metric_name, frames)
    return pop.table(frames.issues, pop.span(period.window()), spec.columns)
