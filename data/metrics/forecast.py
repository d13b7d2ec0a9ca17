"""Monte Carlo forecasts (ANALYTICS.md, "cli.py forecast JSON"): how many items by a date, and when N items
will be done, from the daily throughput of a recent history window.

Pure: no I/O and no clock (``now`` is an argument). The simulation is vectorised: every trial's days are drawn
at once as a trials × days matrix from one seeded ``numpy.random.Generator``, so the same inputs and seed give
the same output, and 10,000 trials over a year take milliseconds. "When" draws its matrix in chunks of days,
only for the trials still short of N, so memory stays bounded up to the 3,650-day cap.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from data.metrics.flow_calculator import flow_population, missing_configuration
from data.metrics.issue_frame import ensure_derived
from data.metrics.issue_tables import IssueFrames
from data.metrics.periods import US_PER_DAY, day_start_us

LEVELS: tuple[int, ...] = (50, 70, 85, 95)
"""Confidence levels, in percent: the keys of ``results`` and ``days``."""
MIN_TRIALS = 100
MAX_TRIALS = 1_000_000
DEFAULT_TRIALS = 10_000
DEFAULT_HISTORY_DAYS = 90
MAX_FORECAST_DAYS = 3_650
"""A "when" trial still short after this many days stops; a "how many" horizon may not exceed it either."""
CELL_BUDGET = 4_000_000
"""Most draws held at once (trials × days); 10,000 trials × 365 days fit in one matrix."""


class ForecastInputError(ValueError):
    """A forecast argument the user can correct; the message says what is wrong and what to do."""


def _no_data_message(history_days: int) -> str:
    span = "day" if history_days == 1 else f"{history_days} days"
    return f"No items were completed in the last {span}, so there is no throughput to simulate"


def daily_throughput(frames: IssueFrames, settings: Mapping[str, Any], today: date,
                     history_days: int) -> dict[str, Any]:
    """The ``history`` object: completed flow items per UTC day over ``[today − H, today − 1]``.

    The population is Flow Velocity's (flow items with their ``completed_at``), so a forecast and the velocity
    card never disagree about what was completed. Days with none count as 0 (weekends included)."""
    if history_days < 1:
        raise ForecastInputError(f"--history-days must be at least 1 (got {history_days})")
    frames = ensure_derived(frames, settings)
    start = today - timedelta(days=history_days)
    population = flow_population("flow_velocity", frames)
    edges = day_start_us(start) + np.arange(history_days + 1, dtype=np.float64) * US_PER_DAY
    positions = np.searchsorted(population.event_us, edges, side="left")
    daily = np.diff(positions).astype(np.int64)
    return {"start": start.isoformat(), "end": (today - timedelta(days=1)).isoformat(), "days": history_days,
            "daily": daily.tolist(), "total": int(daily.sum())}


def _rank(level: int, trials: int) -> int:
    """ceil(level% × trials) in integers, so no rounding of 0.7 × 10,000 can move a rank."""
    return -(-level * trials // 100)


def _value_at_rank(distinct: np.ndarray, cumulative: np.ndarray, rank: int) -> int:
    """The value at 1-based ``rank`` of the sorted sample whose histogram is (``distinct``, ``cumulative``)."""
    return int(distinct[int(np.searchsorted(cumulative, rank, side="left"))])


def simulate_how_many(daily: np.ndarray, horizon_days: int, trials: int, seed: int) -> np.ndarray:
    """Each trial's total over ``horizon_days`` uniform draws (with replacement) from ``daily``.

    One trials × days matrix when it fits the cell budget (10,000 × 365 does), else a few such matrices of
    whole days, summed: memory stays bounded for a million trials."""
    rng = np.random.default_rng(seed)
    pool = np.asarray(daily, dtype=np.int64)
    totals = np.zeros(trials, dtype=np.int64)
    chunk = max(1, min(horizon_days, CELL_BUDGET // trials))
    done = 0
    while done < horizon_days:
        width = min(chunk, horizon_days - done)
        totals += rng.choice(pool, size=(trials, width), replace=True).sum(axis=1)
        done += width
    return totals


def simulate_when(daily: np.ndarray, items: int, trials: int, seed: int,
                  max_days: int = MAX_FORECAST_DAYS) -> np.ndarray:
    """Each trial's number of days until its running total reaches ``items``; 0 for a trial still short after
    ``max_days`` days.

    Days are drawn in chunks (a matrix of the trials still short × the chunk's days); within a chunk the
    running total is a cumulative sum along the days and the finishing day is the first column reaching
    ``items``. The first chunk is sized from the mean throughput, so most trials finish in it."""
    rng = np.random.default_rng(seed)
    pool = np.asarray(daily, dtype=np.int64)
    result = np.zeros(trials, dtype=np.int64)
    active = np.arange(trials)
    running = np.zeros(trials, dtype=np.int64)
    most = int(pool.max()) * max_days if pool.size else 0
    items = min(items, most + 1)  # beyond any reachable total: no trial finishes, and int64 cannot overflow
    mean = float(pool.mean()) if pool.size else 0.0
    expected = int(np.ceil(items / mean)) if mean > 0 else max_days
    chunk = max(8, int(expected * 1.5) + 8)
    offset = 0
    while active.size and offset < max_days:
        width = max(1, min(chunk, max_days - offset, CELL_BUDGET // active.size))
        cumulative = rng.choice(pool, size=(active.size, width), replace=True).cumsum(axis=1)
        cumulative += running[:, None]
        reached = cumulative >= items
        finished = reached[:, -1]
        first = reached.argmax(axis=1)
        result[active[finished]] = offset + first[finished] + 1
        running = cumulative[~finished, -1]
        active = active[~finished]
        offset += width
        chunk = width * 2
    return result


def check_arguments(today: date, items: int | None, until: date | None, history_days: int,
                    trials: int) -> None:
    """Raise ``ForecastInputError`` when the arguments break a rule, before any file is read or row built."""
    if (items is None) == (until is None):
        raise ForecastInputError("give exactly one of --items N (when will N items be done) or --until "
                                 "YYYY-MM-DD (how many items by that date)")
    if items is not None and items < 1:
        raise ForecastInputError(f"--items must be at least 1 (got {items})")
    if until is not None and until <= today:
        raise ForecastInputError(f"--until must be after today ({today.isoformat()}); got {until.isoformat()}")
    if until is not None and (until - today).days > MAX_FORECAST_DAYS:
        raise ForecastInputError(f"--until may be at most {MAX_FORECAST_DAYS:,} days after today "
                                 f"({(today + timedelta(days=MAX_FORECAST_DAYS)).isoformat()}); got "
                                 f"{until.isoformat()}")
    if not MIN_TRIALS <= trials <= MAX_TRIALS:
        raise ForecastInputError(f"--trials must be between {MIN_TRIALS} and {MAX_TRIALS:,} (got {trials})")
    if history_days < 1:
        raise ForecastInputError(f"--history-days must be at least 1 (got {history_days})")


def _shell(mode: str, history: dict[str, Any] | None, trials: int, seed: int, items: int | None,
           until: date | None, today: date) -> dict[str, Any]:
    result: dict[str, Any] = {"mode": mode, "history": history, "trials": trials, "seed": seed}
    if mode == "how_many":
        assert until is not None
        result["horizon_days"] = (until - today).days
    else:
        result["items"] = items
    result["results"] = {str(level): None for level in LEVELS}
    if mode == "when":
        result["days"] = {str(level): None for level in LEVELS}
        result["beyond_horizon"] = False
    result["distribution"] = {"values": [], "counts": []}
    result["error_state"] = "success"
    result["error_message"] = None
    return result


def forecast(frames: IssueFrames, settings: Mapping[str, Any], now: datetime, *, items: int | None = None,
             until: date | None = None, history_days: int = DEFAULT_HISTORY_DAYS, trials: int = DEFAULT_TRIALS,
             seed: int = 0) -> dict[str, Any]:
    """The ``cli.py forecast`` JSON object: "how many by ``until``" or "when will ``items`` be done".

    Raises ``ForecastInputError`` for arguments outside the rules (both or neither of items/until, items < 1,
    until not after today or beyond 3,650 days, trials outside 100..1,000,000, history_days < 1)."""
    today = utc_day(now)
    check_arguments(today, items, until, history_days, trials)
    mode = "how_many" if until is not None else "when"
    frames = ensure_derived(frames, settings)
    assert frames.config is not None
    message = missing_configuration("flow_velocity", frames.config)[2]
    if message:
        out = _shell(mode, None, trials, seed, items, until, today)
        out.update(error_state="missing_mapping", error_message=message)
        return out
    history = daily_throughput(frames, settings, today, history_days)
    out = _shell(mode, history, trials, seed, items, until, today)
    if history["total"] == 0:
        out.update(error_state="no_data", error_message=_no_data_message(history_days))
        return out
    daily = np.asarray(history["daily"], dtype=np.int64)
    if mode == "how_many":
        totals = simulate_how_many(daily, out["horizon_days"], trials, seed)
        distinct, counts = np.unique(totals, return_counts=True)
        cumulative = np.cumsum(counts)
        out["results"] = {str(level): _value_at_rank(distinct, cumulative, trials - _rank(level, trials) + 1)
                          for level in LEVELS}
    else:
        assert items is not None
        days = simulate_when(daily, items, trials, seed)
        distinct, counts = np.unique(days[days > 0], return_counts=True)
        cumulative = np.cumsum(counts)
        finished = int(cumulative[-1]) if cumulative.size else 0
        for level in LEVELS:
            rank = _rank(level, trials)
            if rank > finished:
                out["beyond_horizon"] = True
                continue
            needed = _value_at_rank(distinct, cumulative, rank)
            out["days"][str(level)] = needed
            out["results"][str(level)] = (today + timedelta(days=needed)).isoformat()
    out["distribution"] = {"values": distinct.tolist(), "counts": counts.tolist()}
    return out


def utc_day(now: datetime) -> date:
    """The UTC calendar day of ``now`` (a naive value is read as UTC): the forecast's "today"."""
    return now.date() if now.tzinfo is None else now.astimezone(UTC).date()
