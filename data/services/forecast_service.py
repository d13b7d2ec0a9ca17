"""Forecasts for the dashboard and the command line: the pure engine of ``data/metrics/forecast.py`` run over
the cached dataset (dashboard) or an issues file (``cli.py forecast``), so both give the same numbers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from data.metrics.flow_calculator import current_flow_load, missing_configuration
from data.metrics.forecast import (
    DEFAULT_HISTORY_DAYS,
    DEFAULT_TRIALS,
    ForecastInputError,
    forecast,
    utc_day,
)
from data.metrics.issue_frame import ensure_derived
from data.services.dashboard_service import load_dataset, team_tables

INVALID_INPUT = "invalid_input"
"""``error_state`` of a dashboard forecast whose inputs break a rule (the message says which and what to do)."""


def _invalid(message: str, *, items: int | None, until: date | None, history_days: int,
             now: datetime) -> dict[str, Any]:
    """The forecast shape with no results, so the panel shows ``error_message`` instead of numbers."""
    mode = "how_many" if until is not None and items is None else "when"
    out: dict[str, Any] = {"mode": mode, "history": None, "trials": DEFAULT_TRIALS, "seed": 0}
    if mode == "how_many":
        assert until is not None
        out["horizon_days"] = (until - utc_day(now)).days
    else:
        out["items"] = items
    out["results"] = {level: None for level in ("50", "70", "85", "95")}
    if mode == "when":
        out["days"] = {level: None for level in ("50", "70", "85", "95")}
        out["beyond_horizon"] = False
    out["distribution"] = {"values": [], "counts": []}
    out["error_state"] = INVALID_INPUT
    text = message.replace("--items", "the number of items").replace(
        "--until", "the date").replace("--history-days", "the history window").replace("--trials", "trials")
    out["error_message"] = text[:1].upper() + text[1:]
    return out


def forecast_for_dashboard(settings: Mapping[str, Any], now: datetime, *, items: int | None, until: date | None,
                           history_days: int = DEFAULT_HISTORY_DAYS, team: str | None = None) -> dict | None:
    """The forecast JSON object of the cached dataset (seed 0, 10,000 trials), of ``team``'s issues only when
    given (``TeamError`` for an unknown team); None before any data.

    Inputs that break a rule (both or neither of ``items``/``until``, ``items`` < 1, ``until`` not after today,
    ``history_days`` < 1) give the same shape with ``error_state`` ``invalid_input`` and a message saying what
    to change, never an exception: a half-typed number in the panel must not break the page."""
    dataset = load_dataset(settings)
    if dataset is None:
        return None
    frames, _ = team_tables(dataset, team)
    try:
        return forecast(frames, settings, now, items=items, until=until, history_days=history_days)
    except ForecastInputError as error:
        return _invalid(str(error), items=items, until=until, history_days=history_days, now=now)


def current_wip_count(settings: Mapping[str, Any], now: datetime, *, team: str | None = None) -> int | None:
    """How many flow items (of ``team`` when given) are in progress now (the Flow Load card's count), to
    pre-fill "when will N items be done"; None before any data or while no WIP statuses are set (then nothing
    can be in progress)."""
    dataset = load_dataset(settings)
    if dataset is None:
        return None
    frames = ensure_derived(team_tables(dataset, team)[0], settings)
    assert frames.config is not None
    if missing_configuration("flow_load", frames.config)[2]:
        return None
    return int(current_flow_load(frames, settings, now)["wip_count"])
