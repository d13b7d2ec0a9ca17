"""The five Flow metrics (METRICS.md, "Flow metrics"): pure functions over the issue tables.

No I/O and no clock: ``now`` caps Flow Load's ``as_of`` and stamps ``calculation_timestamp``. Completion-based
metrics slice one population per metric (flow items with their ``completed_at``) by the period, the previous
period and the 16 sparkline weeks. Flow Load replays the status intervals at an instant: an item counts
when it exists at that instant and the interval holding it is a WIP status.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from configuration.defaults import FIELD_LABELS, FLOW_TYPES
from data.metrics.issue_derivation import status_lookup
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
from data.metrics.periods import US_PER_DAY, MetricWindows, Period, Window, metric_windows, series_us, timestamp_us

METRIC_TYPE = "flow"
FLOW_METRICS: tuple[str, ...] = (
    "flow_velocity", "flow_time", "flow_efficiency", "flow_load", "flow_distribution",
)
COMPLETION_METRICS: tuple[str, ...] = ("flow_velocity", "flow_time", "flow_efficiency", "flow_distribution")
UNITS: dict[str, str] = {
    "flow_velocity": "items/week",
    "flow_time": "days",
    "flow_efficiency": "percent",
    "flow_load": "items",
    "flow_distribution": "percent",
}
START_REASONS: tuple[str, ...] = ("no start: never in a WIP status", "work started date does not parse")
NO_COMPLETED_MESSAGE = "No work items completed in this period"
SETTING_LABELS: dict[str, str] = {
    "completed_statuses": "completed statuses",
    "wip_statuses": "WIP statuses",
    "active_statuses": "active statuses",
}


@dataclass(frozen=True)
class _Spec:
    build: Callable[[IssueFrames], Population]
    evaluate: Callable[[Population, Window, bool], WindowResult]
    columns: tuple[str, ...]
    extra: tuple[tuple[str, str], ...] = ()


# ---------------------------------------------------------------- configuration checks


def missing_configuration(metric_name: str, config: FrameConfig) -> tuple[list[str], list[str], str | None]:
    """(mapping keys to map, settings to set, message) for a Flow metric; the message is None when ready.

    Flow metrics need the status lists: without completed statuses (or a Work Completed Date mapping) nothing
    is ever completed, and a 0 would be fake; likewise WIP statuses for a start and active statuses for
    efficiency."""
    fields: list[str] = []
    settings: list[str] = []
    parts: list[str] = []
    if metric_name == "flow_distribution" and not config.mapped("flow_item_type"):
        fields.append("flow_item_type")
        parts.append(missing_mapping_message([FIELD_LABELS["flow_item_type"]]))
    needs = {
        "completed_statuses": metric_name in COMPLETION_METRICS
        and not config.completed and not config.mapped("work_completed_date"),
        "wip_statuses": (metric_name in ("flow_time", "flow_efficiency")
                         and not config.wip and not config.mapped("work_started_date"))
        or (metric_name == "flow_load" and not config.wip),
        "active_statuses": metric_name == "flow_efficiency"
        and not config.active and not config.mapped("active_work_hours"),
    }
    alternatives = {"completed_statuses": "work_completed_date", "wip_statuses": "work_started_date",
                    "active_statuses": "active_work_hours"}
    for setting, needed in needs.items():
        if not needed:
            continue
        settings.append(setting)
        text = f"Set the {SETTING_LABELS[setting]}"
        if metric_name != "flow_load":
            text += f" (or map the {FIELD_LABELS[alternatives[setting]]} field)"
        parts.append(text if not parts else text[0].lower() + text[1:])
    return fields, settings, ("; ".join(parts) if parts else None)


# ---------------------------------------------------------------- populations


def _completed_rows(frames: IssueFrames) -> tuple[np.ndarray, np.ndarray]:
    rows = np.flatnonzero(frames.issues["is_flow_item"].to_numpy())
    return rows, column_us(frames, "completed_at")[rows]


def _start_reason(frames: IssueFrames, rows: np.ndarray, started: np.ndarray) -> np.ndarray:
    assert frames.config is not None
    invalid = np.zeros(rows.size, dtype=bool)
    if frames.config.mapped("work_started_date"):
        invalid = frames.issues["work_started_date_set"].to_numpy()[rows] & np.isnan(started)
    return np.select([invalid, np.isnan(started)], [2, 1], 0)


def _velocity_population(frames: IssueFrames) -> Population:
    rows, completed = _completed_rows(frames)
    return Population(rows, completed, np.zeros(rows.size, dtype=np.int8), (), value=np.ones(rows.size))


def _flow_time_population(frames: IssueFrames) -> Population:
    rows, completed = _completed_rows(frames)
    started = column_us(frames, "started_at")[rows]
    days = (completed - started) / US_PER_DAY
    reason = _start_reason(frames, rows, started)
    reason = np.where((reason == 0) & (days < 0), 3, reason)
    reasons = (*START_REASONS, "negative flow time (completed before started)")
    return Population(rows, completed, reason, reasons, value=np.where(reason == 0, days, np.nan))


def _efficiency_population(frames: IssueFrames) -> Population:
    rows, completed = _completed_rows(frames)
    started = column_us(frames, "started_at")[rows]
    flow_days = (completed - started) / US_PER_DAY
    active_days = frames.issues["active_days"].to_numpy()[rows]
    reason = _start_reason(frames, rows, started)
    reason = np.where((reason == 0) & (flow_days <= 0), 3, reason)
    included = reason == 0
    reasons = (*START_REASONS, "flow time zero or negative")
    with np.errstate(divide="ignore", invalid="ignore"):
        percent = np.where(included, active_days / flow_days * 100.0, np.nan)
    return Population(rows, completed, reason, reasons, value=percent,
                      flow_days=np.where(included, flow_days, np.nan),
                      active_days=np.where(included, active_days, np.nan))


def _distribution_population(frames: IssueFrames) -> Population:
    rows, completed = _completed_rows(frames)
    flow_type = frames.issues["flow_type"].to_numpy(dtype=object)[rows]
    return Population(rows, completed, np.zeros(rows.size, dtype=np.int8), (), value=np.ones(rows.size),
                      flow_type=flow_type)


# ---------------------------------------------------------------- window evaluation


def _evaluate_velocity(population: Population, window: Window, full: bool) -> WindowResult:
    span = population.span(window)
    total, excluded, reasons = population.counts(span)
    return WindowResult(total * 7.0 / window.days, total, excluded, reasons,
                        {"completed_count": total, "period_days": window.days})


def _evaluate_flow_time(population: Population, window: Window, full: bool) -> WindowResult:
    span = population.span(window)
    total, excluded, reasons = population.counts(span)
    values = population.arrays["value"][span][population.included(span)]
    if values.size == 0:
        message = "No completed item in this period has a usable flow time" if total else NO_COMPLETED_MESSAGE
        return WindowResult(None, total, excluded, reasons, message=message)
    details = median_details(values) if full else {}
    return WindowResult(float(np.median(values)), total, excluded, reasons, details)


def _evaluate_efficiency(population: Population, window: Window, full: bool) -> WindowResult:
    span = population.span(window)
    total, excluded, reasons = population.counts(span)
    included = population.included(span)
    if not included.any():
        message = "No completed item in this period has a usable flow time" if total else NO_COMPLETED_MESSAGE
        return WindowResult(None, total, excluded, reasons, message=message)
    active = float(population.arrays["active_days"][span][included].sum())
    flow = float(population.arrays["flow_days"][span][included].sum())
    return WindowResult(active / flow * 100.0, total, excluded, reasons,
                        {"active_days": active, "flow_days": flow})


def _evaluate_distribution(population: Population, window: Window, full: bool) -> WindowResult:
    span = population.span(window)
    total, excluded, reasons = population.counts(span)
    if total == 0:
        return WindowResult(None, 0, 0, reasons, message=NO_COMPLETED_MESSAGE)
    types, tally = np.unique(population.arrays["flow_type"][span].astype(str), return_counts=True)
    found = dict(zip(types.tolist(), tally.tolist(), strict=True))
    names = [*FLOW_TYPES, *(["Other"] if found.get("Other") else [])]
    counts = {name: int(found.get(name, 0)) for name in names}
    distribution = {name: count / total * 100.0 for name, count in counts.items()}
    return WindowResult(distribution["Feature"], total, excluded, reasons,
                        {"distribution": distribution, "counts": counts})


SPECS: dict[str, _Spec] = {
    "flow_velocity": _Spec(_velocity_population, _evaluate_velocity, ("completed_at",)),
    "flow_time": _Spec(_flow_time_population, _evaluate_flow_time, ("started_at", "completed_at")),
    "flow_efficiency": _Spec(_efficiency_population, _evaluate_efficiency, ("started_at", "completed_at"),
                             (("flow_days", "flow_days"), ("active_days", "active_days"))),
    "flow_distribution": _Spec(_distribution_population, _evaluate_distribution,
                               ("completed_at", "flow_item_type", "flow_type")),
}


# ---------------------------------------------------------------- flow load


@dataclass(frozen=True)
class _WipIntervals:
    """WIP-status intervals of flow items; an item is in WIP at ``t`` when ``start <= t < end`` for one of
    them (``start`` is the later of the interval start and the item's creation; the initial interval has no
    lower bound besides creation)."""

    owner: np.ndarray
    start: np.ndarray
    end: np.ndarray
    status: np.ndarray

    def at(self, as_of: float) -> np.ndarray:
        return (self.start <= as_of) & (as_of < self.end)


def _wip_intervals(frames: IssueFrames) -> _WipIntervals:
    key = ("wip_intervals",)
    if key in frames.memo:
        return frames.memo[key]
    assert frames.config is not None
    intervals = frames.intervals
    owner = intervals["issue_idx"].to_numpy()
    categories = intervals["status"].cat.categories
    wip_lookup = status_lookup(categories, frames.config.wip)
    selected = np.flatnonzero(wip_lookup[intervals["status"].cat.codes.to_numpy()]
                              & frames.issues["is_flow_item"].to_numpy()[owner])
    owner = owner[selected]
    entered = series_us(intervals["entered"])[selected]
    entered[intervals["seq"].to_numpy()[selected] == 0] = -np.inf
    left = series_us(intervals["left"])[selected]
    start = np.maximum(entered, column_us(frames, "created")[owner])
    result = _WipIntervals(owner, start, np.where(np.isnan(left), np.inf, left),
                           intervals["status"].to_numpy(dtype=object)[selected])
    frames.memo[key] = result
    return result


def _load_at(frames: IssueFrames, as_of: float, full: bool) -> dict[str, Any]:
    """``wip_count`` at ``as_of`` (epoch µs), with ``as_of``, ``by_status`` and ``by_issue_type`` when full."""
    wip = _wip_intervals(frames)
    mask = wip.at(as_of)
    load: dict[str, Any] = {"wip_count": int(mask.sum())}
    if full:
        issue_types = frames.issues["issue_type"].to_numpy(dtype=object)
        load["as_of"] = pd.Timestamp(int(as_of), unit="us", tz="UTC")
        load["by_status"] = _tally(wip.status[mask])
        load["by_issue_type"] = _tally(issue_types[wip.owner[mask]])
    return load


def _load_evaluator(frames: IssueFrames, now_us: float) -> Callable[[Window, bool], WindowResult]:
    def evaluate(window: Window, full: bool) -> WindowResult:
        load = _load_at(frames, min(window.end_us - 1.0, now_us), full)
        return WindowResult(float(load["wip_count"]), load["wip_count"], 0, {}, load)

    return evaluate


def _tally(values: np.ndarray) -> dict[str, int]:
    labels = np.array(["(none)" if v is None else str(v) for v in values], dtype=object)
    names, counts = np.unique(labels.astype(str), return_counts=True) if labels.size else ([], [])
    ranked = sorted(zip(names, counts, strict=True), key=lambda pair: -pair[1])
    return {str(name): int(count) for name, count in ranked}


def _snapshot_count(snapshots: Mapping[str, Any] | None, label: str) -> int | None:
    entry = (snapshots or {}).get(label)
    load = entry.get("flow_load") if isinstance(entry, Mapping) else None
    count = load.get("wip_count") if isinstance(load, Mapping) else None
    if isinstance(count, bool) or not isinstance(count, int | float) or count != count or count < 0:
        return None
    return int(count)


def _flow_load(base: MetricBase, frames: IssueFrames, windows: MetricWindows, now_us: float,
               snapshots: Mapping[str, Any] | None) -> MetricValue:
    if not frames.issues["is_flow_item"].any():
        recorded = [_snapshot_count(snapshots, week.label) for week in windows.weeks]
        return empty_population_metric(base, windows, "No work items in the data", tiered=False,
                                       weekly=recorded)
    evaluate = _load_evaluator(frames, now_us)
    weekly: list[float | None] = []
    reconstructed: list[str] = []
    for week in windows.weeks:
        recorded = _snapshot_count(snapshots, week.label)
        if recorded is not None:
            weekly.append(recorded)
        elif week.start_us > now_us or not windows.covers(week):
            weekly.append(None)
        else:
            weekly.append(evaluate(week, False).value)
            reconstructed.append(week.label)
    return assemble_metric(base, evaluate, windows, tiered=False, weekly=weekly,
                           extra_details={"reconstructed_weeks": reconstructed})


def _load_table(frames: IssueFrames, period: Period, now_us: float) -> pd.DataFrame:
    wip = _wip_intervals(frames)
    as_of = min(period.window().end_us - 1.0, now_us)
    mask = wip.at(as_of)
    picked = frames.issues.iloc[wip.owner[mask]]
    out = pd.DataFrame({name: picked[name].to_numpy()
                        for name in ("key", "summary", "issue_type", "created")})
    out["status"] = wip.status[mask]
    out["value"] = 1.0
    out["excluded_reason"] = None
    return out


# ---------------------------------------------------------------- public API


def calculate_metric(metric_name: str, frames: IssueFrames, settings: Mapping[str, Any], period: Period,
                     now: datetime, snapshots: Mapping[str, Any] | None = None,
                     coverage: date | None = None) -> MetricValue:
    """One Flow metric for ``period`` with its trend and 16-week sparkline. ``coverage`` is the first day
    the data covers (default: from the earliest ``created`` in ``frames``)."""
    base = metric_base(metric_name, METRIC_TYPE, UNITS[metric_name], period.start_ts.to_pydatetime(),
                       period.end_ts.to_pydatetime(), now)
    return guarded(base, lambda: _calculate(base, metric_name, frames, settings, period, now, snapshots,
                                            coverage))


def _calculate(base: MetricBase, metric_name: str, frames: IssueFrames, settings: Mapping[str, Any],
               period: Period, now: datetime, snapshots: Mapping[str, Any] | None,
               coverage: date | None) -> MetricValue:
    frames = ensure_derived(frames, settings)
    assert frames.config is not None
    fields, needed_settings, message = missing_configuration(metric_name, frames.config)
    if message:
        return MetricValue.missing_mapping(base, message, details={"missing_fields": fields,
                                                                   "missing_settings": needed_settings})
    windows = metric_windows(period, data_coverage(frames, coverage))
    if metric_name == "flow_load":
        return _flow_load(base, frames, windows, timestamp_us(now), snapshots)
    population = _population_for(metric_name, frames)
    if metric_name == "flow_velocity" and len(population) == 0:
        return empty_population_metric(base, windows, "No completed work items in the data", tiered=False)
    spec = SPECS[metric_name]
    return assemble_metric(base, lambda window, full: spec.evaluate(population, window, full), windows,
                           tiered=False)


def current_flow_load(frames: IssueFrames, settings: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Flow Load at ``now``, the content of this week's snapshot (seed 000): ``wip_count``, ``by_status``,
    ``by_issue_type`` and ``as_of``. With no WIP statuses configured nothing can be in WIP: 0."""
    frames = ensure_derived(frames, settings)
    return _load_at(frames, timestamp_us(now), True)


def _population_for(metric_name: str, frames: IssueFrames) -> Population:
    key = ("population", metric_name)
    if key not in frames.memo:
        frames.memo[key] = SPECS[metric_name].build(frames)
    return frames.memo[key]


def calculate_flow_metrics(frames: IssueFrames, settings: Mapping[str, Any], period: Period, now: datetime,
                           snapshots: Mapping[str, Any] | None = None,
                           metrics: Iterable[str] | None = None, coverage: date | None = None,
                           ) -> dict[str, MetricValue]:
    """The Flow metrics (all five unless ``metrics`` names some) for ``period``, keyed by metric name.
    ``snapshots`` is the seed 000 store (``{week_label: {"flow_load": {"wip_count": ...}}}``); ``coverage``
    the first day the data covers (default: from the earliest ``created`` in ``frames``)."""
    names = FLOW_METRICS if metrics is None else tuple(m for m in FLOW_METRICS if m in set(metrics))
    frames = ensure_derived(frames, settings)
    return {name: calculate_metric(name, frames, settings, period, now, snapshots, coverage) for name in names}


def population(metric_name: str, frames: IssueFrames, settings: Mapping[str, Any], period: Period,
               now: datetime) -> pd.DataFrame:
    """The drill-down rows behind a Flow metric's headline for ``period``: key, summary, issue_type, the
    dates used, ``value`` (days, percent or 1 per item) and ``excluded_reason``. For Flow Load, the items in
    WIP at ``as_of`` with their status then. Empty when the metric's configuration is missing."""
    frames = ensure_derived(frames, settings)
    assert frames.config is not None
    if metric_name == "flow_load":
        if missing_configuration(metric_name, frames.config)[2]:
            return pd.DataFrame(columns=["key", "summary", "issue_type", "created", "status", "value",
                                         "excluded_reason"])
        return _load_table(frames, period, timestamp_us(now))
    spec = SPECS[metric_name]
    if missing_configuration(metric_name, frames.config)[2]:
        columns = ["key", "summary", "issue_type", *spec.columns, *(name for name, _ in spec.extra), "value",
                   "excluded_reason"]
        return pd.DataFrame(columns=columns)
    pop = _population_for(metric_name, frames)
    return pop.table(frames.issues, pop.span(period.window()), spec.columns, dict(spec.extra))


# ---------------------------------------------------------------- shared populations


def flow_population(metric_name: str, frames: IssueFrames) -> Population:
    """The memoised candidates of a completion metric (``flow_velocity``, ``flow_time``, ...) over the whole
    data set, for ``frames`` already derived for the settings. Other views (analytics, forecasts) read these
    same arrays, so their numbers agree with the cards by construction rather than by a second rule."""
    return _population_for(metric_name, frames)


def wip_at(frames: IssueFrames, as_of: float) -> tuple[np.ndarray, np.ndarray]:
    """(issue rows, status at ``as_of``) of the Flow Load population at ``as_of`` (epoch µs), for ``frames``
    already derived for the settings: the rows the Flow Load card counts."""
    wip = _wip_intervals(frames)
    mask = wip.at(as_of)
    return wip.owner[mask], wip.status[mask]
