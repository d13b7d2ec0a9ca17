"""Throughput (ANALYTICS.md, ``throughput``): completed flow items per UTC day and per ISO week of the period.

The completions are the Flow Velocity card's population (the flow calculator's memoised one), so the days
add up to the card's count. Vectorised: one ``bincount`` over the completion times. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from data.metrics.analytics_common import period_days, section
from data.metrics.flow_calculator import flow_population, missing_configuration
from data.metrics.issue_frame import ensure_derived
from data.metrics.issue_tables import IssueFrames
from data.metrics.periods import US_PER_DAY, Period, iso_week_label

NO_COMPLETIONS_MESSAGE = "No completed work items in the data"


def throughput(frames: IssueFrames, settings: Mapping[str, Any], period: Period, now: datetime) -> dict[str, Any]:
    """``days`` and ``daily`` (the period's days up to the day of ``now``) and ``weekly`` (``labels``,
    ``values``: every ISO week the period touches, partial first/last weeks counted over the period's days
    only), with ``error_state``/``error_message``."""
    frames = ensure_derived(frames, settings)
    assert frames.config is not None
    message = missing_configuration("flow_velocity", frames.config)[2]
    if message:
        return section("missing_mapping", message, days=[], daily=[], weekly={"labels": [], "values": []})
    days = period_days(period, now)
    population = flow_population("flow_velocity", frames)
    span = population.span(period.window())
    offsets = np.floor((population.event_us[span] - days.start_us) / US_PER_DAY).astype(np.int64)
    per_day = np.bincount(offsets, minlength=period.days)[:period.days]
    first_weekday = period.start.weekday()
    week_of_day = (np.arange(period.days) + first_weekday) // 7
    weeks = int(week_of_day[-1]) + 1
    values = np.bincount(week_of_day, weights=per_day, minlength=weeks)
    monday = period.start - timedelta(days=first_weekday)
    weekly = {"labels": [iso_week_label(monday + timedelta(weeks=i)) for i in range(weeks)],
              "values": [int(v) for v in values.tolist()]}
    fields = {"days": days.labels, "daily": [int(v) for v in per_day[:len(days.days)].tolist()], "weekly": weekly}
    if len(population) == 0:
        return section("no_data", NO_COMPLETIONS_MESSAGE, **fields)
    return section("success", None, **fields)
