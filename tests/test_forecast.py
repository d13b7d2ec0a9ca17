"""The Monte Carlo forecast engine (ANALYTICS.md, "cli.py forecast JSON"): the history window, exact cases,
the simulated quantiles against exact distributions, reproducibility, bad input and the 3,650-day cap.

The statistical tests are deterministic (fixed seed) and honest: the exact distribution of a trial's result is
computed by repeated convolution of the daily-count distribution, and the simulated answer must lie inside the
band where the number of trials below it is within 4.5 binomial standard deviations of its expectation.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from data.metrics.forecast import (
    MAX_FORECAST_DAYS,
    ForecastInputError,
    daily_throughput,
    forecast,
    simulate_how_many,
    simulate_when,
)
from data.metrics.issue_frame import build_issue_frames
from tests.test_flow_calculator import done, flow_settings

NOW = datetime(2025, 6, 30, 15, 30, tzinfo=UTC)
TODAY = NOW.date()
LEVELS = (50, 70, 85, 95)
SIGMAS = 4.5


def completions(daily: list[int], *, today: date = TODAY) -> list[dict]:
    """Issues completed at noon UTC: ``daily[i]`` of them on day ``today − len(daily) + i``."""
    raw = []
    start = today - timedelta(days=len(daily))
    for offset, count in enumerate(daily):
        day = start + timedelta(days=offset)
        for n in range(count):
            raw.append(done(f"D{offset}-{n}", f"{day.isoformat()}T08:00:00Z", f"{day.isoformat()}T12:00:00Z"))
    return raw


def run(daily: list[int], **options) -> dict:
    settings = flow_settings()
    return forecast(build_issue_frames(completions(daily), settings), settings, NOW, **options)


# ---------------------------------------------------------------- history


def test_history_is_the_whole_days_before_today_with_zeros_counted():
    settings = flow_settings()
    raw = [
        done("BEFORE", "2025-06-26T00:00:00Z", "2025-06-26T23:59:59.999Z"),  # today − 4: outside H = 3
        done("FIRST", "2025-06-27T00:00:00Z", "2025-06-27T00:00:00Z"),  # today − 3 at 00:00: inside
        done("LAST", "2025-06-28T00:00:00Z", "2025-06-29T23:59:59.999Z"),  # today − 1 at the last instant
        done("LAST2", "2025-06-28T00:00:00Z", "2025-06-29T10:00:00Z"),
        done("TODAY", "2025-06-28T00:00:00Z", "2025-06-30T00:00:00Z"),  # today: not history
        done("DEP", "2025-06-28T00:00:00Z", "2025-06-29T10:00:00Z", cf_deploy="2025-06-29"),  # a deployment
    ]
    history = daily_throughput(build_issue_frames(raw, settings), settings, TODAY, 3)
    # Days 06-27, 06-28 (none: counted as 0), 06-29 (LAST, LAST2; DEP is not a flow item).
    assert history == {"start": "2025-06-27", "end": "2025-06-29", "days": 3, "daily": [1, 0, 2], "total": 3}


def test_no_completions_in_the_window_is_no_data_naming_the_window():
    # One completion 10 days ago, none in the last 7 days.
    result = run([1, 0, 0, 0, 0, 0, 0, 0, 0, 0], items=5, history_days=7)
    assert result["error_state"] == "no_data"
    assert result["error_message"] == ("No items were completed in the last 7 days, so there is no throughput "
                                       "to simulate")
    assert result["history"]["daily"] == [0] * 7 and result["history"]["total"] == 0
    assert result["results"] == {"50": None, "70": None, "85": None, "95": None}
    assert result["distribution"] == {"values": [], "counts": []}


def test_unset_completed_statuses_is_missing_mapping():
    settings = flow_settings(completed_statuses=[])
    result = forecast(build_issue_frames(completions([1, 1]), settings), settings, NOW, items=3)
    assert result["error_state"] == "missing_mapping"
    assert "completed statuses" in result["error_message"]


# ---------------------------------------------------------------- exact cases


def test_constant_history_gives_k_times_n_at_every_level():
    # 3 items every day for 10 days: every draw is 3, so 14 days hold exactly 3 × 14 = 42 in every trial.
    result = run([3] * 10, until=TODAY + timedelta(days=14), history_days=10, trials=500)
    assert result["mode"] == "how_many" and result["horizon_days"] == 14
    assert result["results"] == {"50": 42, "70": 42, "85": 42, "95": 42}
    assert result["distribution"] == {"values": [42], "counts": [500]}
    assert (result["error_state"], result["error_message"]) == ("success", None)
    assert list(result) == ["mode", "history", "trials", "seed", "horizon_days", "results", "distribution",
                            "error_state", "error_message"]


def test_constant_history_finishes_in_ceil_n_over_k_days():
    # 3 a day: 10 items need ceil(10 / 3) = 4 days (3, 6, 9, 12), so every level is today + 4 = 2025-07-04.
    result = run([3] * 10, items=10, history_days=10, trials=500)
    assert result["mode"] == "when" and result["items"] == 10
    assert result["days"] == {"50": 4, "70": 4, "85": 4, "95": 4}
    assert result["results"] == {"50": "2025-07-04", "70": "2025-07-04", "85": "2025-07-04", "95": "2025-07-04"}
    assert result["beyond_horizon"] is False
    assert result["distribution"] == {"values": [4], "counts": [500]}
    assert list(result) == ["mode", "history", "trials", "seed", "items", "results", "days", "beyond_horizon",
                            "distribution", "error_state", "error_message"]
    # 9 items with 3 a day: exactly 3 days (the running total reaching N counts, not exceeding it).
    assert run([3] * 10, items=9, history_days=10, trials=500)["days"]["95"] == 3


# ---------------------------------------------------------------- against exact distributions

HISTORY = [0, 0, 1, 1, 1, 2, 2, 3, 5, 8]  # a skewed week-and-a-half: 23 items over 10 days


def one_day_pmf(daily: list[int]) -> np.ndarray:
    counts = np.bincount(daily)
    return counts / counts.sum()


def total_pmfs(daily: list[int], days: int) -> list[np.ndarray]:
    """pmf of the sum of 1..``days`` draws, by repeated convolution (index = total)."""
    step = one_day_pmf(daily)
    pmfs, current = [], np.array([1.0])
    for _ in range(days):
        current = np.convolve(current, step)
        pmfs.append(current)
    return pmfs


def band(cdf: np.ndarray, rank: int, trials: int) -> tuple[int, int]:
    """The values the sample's ``rank``-th smallest can take, but for a 4.5 σ binomial event.

    The rank-th smallest is ≤ v exactly when at least ``rank`` trials are ≤ v, a Binomial(trials, cdf[v])
    count: below ``lo`` that count is more than 4.5 σ short of ``rank``; from ``hi`` on it is 4.5 σ above it."""
    cdf = np.clip(cdf, 0.0, 1.0)  # sums of floats may overshoot 1 by an ulp
    expected = trials * cdf
    sd = np.sqrt(trials * cdf * (1 - cdf))
    lo = int(np.flatnonzero(expected + SIGMAS * sd >= rank)[0])
    hi = int(np.flatnonzero(expected - SIGMAS * sd >= rank)[0])
    return lo, hi


@pytest.mark.parametrize("horizon", [1, 14, 60])
def test_how_many_quantiles_match_the_exact_distribution(horizon):
    trials = 10_000
    result = run(HISTORY, until=TODAY + timedelta(days=horizon), history_days=10, trials=trials, seed=7)
    cdf = np.cumsum(total_pmfs(HISTORY, horizon)[-1])
    for level in LEVELS:
        rank = trials - math.ceil(level * trials / 100) + 1  # 1-based, ascending totals
        lo, hi = band(cdf, rank, trials)
        exact = int(np.flatnonzero(1 - np.concatenate(([0.0], cdf[:-1])) >= level / 100)[-1])  # max v: P(T ≥ v) ≥ c
        assert lo <= exact <= hi  # the band is about the true answer
        assert hi - lo <= max(2, horizon // 7), (level, lo, hi)  # and narrow enough to mean something
        assert lo <= result["results"][str(level)] <= hi, (level, result["results"], lo, hi)
    assert sum(result["distribution"]["counts"]) == trials
    assert result["distribution"]["values"] == sorted(result["distribution"]["values"])


@pytest.mark.parametrize("items", [1, 12, 80])
def test_when_quantiles_match_the_exact_distribution(items):
    trials = 10_000
    result = run(HISTORY, items=items, history_days=10, trials=trials, seed=11)
    # D ≤ d exactly when the total of d draws reaches N (counts are never negative): P(D ≤ d) = P(S_d ≥ N).
    days = 4 * items + 20
    cdf = np.array([0.0] + [float(pmf[items:].sum()) for pmf in total_pmfs(HISTORY, days)])  # index = d
    assert cdf[-1] > 1 - 1e-9
    for level in LEVELS:
        rank = math.ceil(level * trials / 100)
        lo, hi = band(cdf, rank, trials)
        exact = int(np.flatnonzero(cdf >= level / 100)[0])  # smallest d with P(D ≤ d) ≥ c
        assert lo <= exact <= hi
        assert hi - lo <= max(2, items // 10), (level, lo, hi)
        assert lo <= result["days"][str(level)] <= hi, (level, result["days"], lo, hi)
        assert result["results"][str(level)] == (TODAY + timedelta(days=result["days"][str(level)])).isoformat()
    assert sum(result["distribution"]["counts"]) == trials and result["beyond_horizon"] is False


# ---------------------------------------------------------------- reproducibility


def test_same_inputs_and_seed_give_byte_identical_output():
    first = json.dumps(run(HISTORY, items=40, history_days=10, seed=3))
    assert json.dumps(run(HISTORY, items=40, history_days=10, seed=3)) == first
    other = run(HISTORY, items=40, history_days=10, seed=4)
    assert other["seed"] == 4 and json.dumps(other) != first
    how_many = json.dumps(run(HISTORY, until=TODAY + timedelta(days=30), history_days=10, seed=3))
    assert json.dumps(run(HISTORY, until=TODAY + timedelta(days=30), history_days=10, seed=3)) == how_many


def test_a_million_trials_are_drawn_in_bounded_chunks_with_the_same_rule():
    # 3 a day, 1,000,000 trials × 20 days (more than one matrix of the cell budget): still 60 in every trial.
    totals = simulate_how_many(np.array([3, 3]), 20, 1_000_000, 0)
    assert totals.min() == totals.max() == 60
    assert set(np.unique(simulate_when(np.array([3, 3]), 10, 1_000_000, 0)).tolist()) == {4}
    # More items than 3 a day can reach in 3,650 days (and than int64 holds): every trial is still short.
    assert not simulate_when(np.array([3, 3]), 10**30, 1_000, 0).any()
    assert not simulate_when(np.array([3, 3]), 3 * MAX_FORECAST_DAYS + 1, 1_000, 0).any()
    assert set(simulate_when(np.array([3, 3]), 3 * MAX_FORECAST_DAYS, 1_000, 0).tolist()) == {MAX_FORECAST_DAYS}


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(("options", "words"), [
    ({"items": 0}, "--items must be at least 1"),
    ({"until": TODAY}, "--until must be after today"),
    ({"until": TODAY - timedelta(days=1)}, "--until must be after today"),
    ({"until": TODAY + timedelta(days=MAX_FORECAST_DAYS + 1)}, "at most 3,650 days"),
    ({"items": 3, "until": TODAY + timedelta(days=2)}, "exactly one of --items"),
    ({}, "exactly one of --items"),
    ({"items": 3, "trials": 99}, "between 100 and 1,000,000"),
    ({"items": 3, "trials": 1_000_001}, "between 100 and 1,000,000"),
    ({"items": 3, "history_days": 0}, "--history-days must be at least 1"),
])
def test_bad_arguments_are_refused_with_what_to_change(options, words):
    with pytest.raises(ForecastInputError, match=words):
        run([1, 2], **options)


# ---------------------------------------------------------------- the 3,650-day cap


def binomial_cdf_reaching(items: int, p: float, max_days: int) -> np.ndarray:
    """P(D ≤ d) for d = 0..max_days when each day completes one item with probability p: P(Bin(d, p) ≥ N)."""
    cdf = np.zeros(max_days + 1)
    pmf = np.array([1.0])
    for d in range(1, max_days + 1):
        pmf = np.convolve(pmf, [1 - p, p])
        cdf[d] = pmf[items:].sum()
    return cdf


def test_trials_still_short_after_3650_days_give_null_beyond_the_horizon():
    history = [0] * 89 + [1]  # one item in 90 days
    trials = 10_000
    hopeless = run(history, items=100, trials=trials)
    # Bin(3,650, 1/90) has mean 40.6 and sd 6.3: reaching 100 is about 9 sd away, so no trial finishes.
    assert hopeless["beyond_horizon"] is True
    assert hopeless["results"] == {"50": None, "70": None, "85": None, "95": None}
    assert hopeless["days"] == {"50": None, "70": None, "85": None, "95": None}
    assert hopeless["distribution"] == {"values": [], "counts": []}
    assert hopeless["error_state"] == "success"

    # 35 items: P(Bin(3,650, 1/90) ≥ 35) ≈ 0.82, so 50% and 70% are answered, 85% and 95% are not.
    result = run(history, items=35, trials=trials, seed=5)
    cdf = binomial_cdf_reaching(35, 1 / 90, MAX_FORECAST_DAYS)
    finished = sum(result["distribution"]["counts"])
    sd = math.sqrt(trials * cdf[-1] * (1 - cdf[-1]))
    assert abs(finished - trials * cdf[-1]) <= SIGMAS * sd
    assert result["beyond_horizon"] is True
    assert result["days"]["85"] is None and result["days"]["95"] is None
    for level in (50, 70):
        lo, hi = band(cdf, math.ceil(level * trials / 100), trials)
        assert lo <= result["days"][str(level)] <= hi
    assert max(result["distribution"]["values"]) <= MAX_FORECAST_DAYS
