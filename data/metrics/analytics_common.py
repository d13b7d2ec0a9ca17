"""What the five analytics sections share (ANALYTICS.md): the section envelope, the percentile levels, status
labels and the days of a period as instants. Pure: no I/O, no clock."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from configuration.defaults import DEFAULT_SETTINGS
from data.metrics.field_values import fold
from data.metrics.flow_calculator import flow_population
from data.metrics.issue_tables import IssueFrames, column_us
from data.metrics.periods import US_PER_DAY, Period, day_start_us, series_us, timestamp_us

LEVELS: tuple[str, ...] = ("50", "70", "85", "95")
NO_STATUS = "(none)"
"""The label of the time an item has no status at all (no current status and no status change)."""
NO_ITEMS_MESSAGE = "No work items in the data"


def section(state: str, message: str | None, **fields: Any) -> dict[str, Any]:
    """One section of the analytics object: its fields, then ``error_state`` and ``error_message``."""
    return {**fields, "error_state": state, "error_message": message}


def percentiles(values: np.ndarray) -> dict[str, float | None]:
    """Levels 50/70/85/95 by linear interpolation between closest ranks; all null without values.

    The 50th is ``np.median`` itself, the very call the Flow Time card makes, so the two are equal to the bit
    (``np.percentile`` may round the midpoint of two values differently)."""
    if values.size == 0:
        return dict.fromkeys(LEVELS)
    others = np.percentile(values, [70.0, 85.0, 95.0])
    return {"50": float(np.median(values)), "70": float(others[0]), "85": float(others[1]),
            "95": float(others[2])}


def status_labels(values: Sequence[Any] | np.ndarray) -> list[str]:
    """Status names as found in the data; a missing status is ``(none)``."""
    return [NO_STATUS if value is None or value != value else str(value) for value in values]


def iso_utc_array(us: np.ndarray) -> list[str]:
    """Epoch microseconds as ``2025-01-31T23:59:59.999Z`` strings (millisecond precision, like every other
    timestamp the product writes), converted in one numpy call."""
    if us.size == 0:
        return []
    text = np.datetime_as_string(us.astype(np.int64).astype("datetime64[us]").astype("datetime64[ms]"), unit="ms")
    return [f"{value}Z" for value in text.tolist()]


@dataclass(frozen=True)
class PeriodDays:
    """The UTC days of a period up to and including the day of ``now``, each with its instant
    min(end of that day, now) in epoch µs."""

    days: tuple[date, ...]
    instants: np.ndarray
    start_us: float

    @property
    def labels(self) -> list[str]:
        return [day.isoformat() for day in self.days]


def period_days(period: Period, now: datetime) -> PeriodDays:
    """The days a day-by-day view shows: the future has no data yet, so it stops at the day of ``now``."""
    now_us = timestamp_us(now)
    today = date(1970, 1, 1) + timedelta(days=int(np.floor(now_us / US_PER_DAY)))
    last = min(period.end, today)
    count = max((last - period.start).days + 1, 0)
    days = tuple(period.start + timedelta(days=i) for i in range(count))
    start_us = day_start_us(period.start)
    ends = start_us + (np.arange(count, dtype=np.float64) + 1.0) * US_PER_DAY - 1.0
    return PeriodDays(days, np.minimum(ends, now_us), start_us)


def as_of_us(period: Period, now: datetime) -> float:
    """min(end of period, now) in epoch µs: the instant a "now" view of the period is taken at."""
    return min(period.window().end_us - 1.0, timestamp_us(now))


def ordered_statuses(settings: Mapping[str, Any], key: str) -> list[str]:
    """A status list of the settings in its own order, folded, first occurrence kept (defaults when unset)."""
    config = settings.get("dora_flow_config") or {}
    values = config.get(key, DEFAULT_SETTINGS["dora_flow_config"][key]) or []
    if isinstance(values, str):
        values = [values]
    seen: list[str] = []
    for value in values:
        if isinstance(value, str) and value.strip() and fold(value) not in seen:
            seen.append(fold(value))
    return seen


def cycle_sample(frames: IssueFrames, period: Period) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """(issue rows, completed_at µs, cycle time days, candidates, excluded) of the Flow Time population of
    ``period``, sorted by completed_at then key; ``frames`` already derived for the settings.

    Three sections read it for the same period: the latest one is kept on ``frames``."""
    cached = frames.memo.get("cycle_sample")
    if cached is not None and cached[0] == (period.start, period.end):
        return cached[1]
    sample = _cycle_sample(frames, period)
    frames.memo["cycle_sample"] = ((period.start, period.end), sample)
    return sample


def _cycle_sample(frames: IssueFrames, period: Period) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    population = flow_population("flow_time", frames)
    span = population.span(period.window())
    total, excluded, _ = population.counts(span)
    included = population.included(span)
    rows = population.issue_idx[span][included]
    completed = population.event_us[span][included]
    days = population.arrays["value"][span][included].astype(np.float64)
    keys = frames.issues["key"].to_numpy(dtype=object)[rows].astype(str)
    order = np.lexsort((keys, completed))
    return rows[order], completed[order], days[order], total, excluded


@dataclass(frozen=True)
class FlowIntervals:
    """The status intervals of the flow items as arrays, built once per tables: ``owner`` (issue row),
    ``code`` (status index into ``names``; the last name is ``(none)``), ``entered``/``left`` (epoch µs as in
    the timeline; ``left`` is +inf for the current status) and ``start`` = max(entered, created), the first
    instant the interval can hold an existing item."""

    owner: np.ndarray
    code: np.ndarray
    entered: np.ndarray
    left: np.ndarray
    start: np.ndarray
    names: tuple[str, ...]


def flow_intervals(frames: IssueFrames) -> FlowIntervals:
    """The flow items' status intervals (memoised on ``frames``; derived for the settings)."""
    cached = frames.memo.get("flow_intervals")
    if cached is not None:
        return cached
    intervals = frames.intervals
    owner = intervals["issue_idx"].to_numpy()
    selected = np.flatnonzero(frames.issues["is_flow_item"].to_numpy()[owner])
    owner = owner[selected]
    categories = intervals["status"].cat.categories
    codes = intervals["status"].cat.codes.to_numpy()[selected].astype(np.int64)
    entered = series_us(intervals["entered"])[selected]
    left = series_us(intervals["left"])[selected]
    left = np.where(np.isnan(left), np.inf, left)
    result = FlowIntervals(owner, np.where(codes < 0, len(categories), codes), entered, left,
                           np.fmax(entered, column_us(frames, "created")[owner]),
                           (*(str(c) for c in categories), NO_STATUS))
    frames.memo["flow_intervals"] = result
    return result
