"""Ageing work in progress (ANALYTICS.md, ``aging_wip``): which items in progress are getting old.

The items are the Flow Load card's population at ``as_of`` = min(end of period, now), read through the flow
calculator's own replay of the status intervals, so ``count`` is the card's value by construction. Each
item's age is compared with the cycle-time percentiles of the same period. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np

from data.metrics.analytics_common import (
    NO_ITEMS_MESSAGE,
    as_of_us,
    cycle_sample,
    iso_utc_array,
    percentiles,
    section,
    status_labels,
)
from data.metrics.flow_calculator import missing_configuration, wip_at
from data.metrics.issue_frame import ensure_derived
from data.metrics.issue_tables import IssueFrames, column_us
from data.metrics.periods import US_PER_DAY, Period


def aging_wip(frames: IssueFrames, settings: Mapping[str, Any], period: Period, now: datetime) -> dict[str, Any]:
    """``as_of``, ``count``, ``items`` (oldest first, unknown ages last), ``percentiles``, ``over_85`` and
    ``by_status``, with ``error_state``/``error_message``."""
    frames = ensure_derived(frames, settings)
    assert frames.config is not None
    as_of = as_of_us(period, now)
    stamp = iso_utc_array(np.array([as_of]))[0]
    lines = _cycle_percentiles(frames, period)
    message = missing_configuration("flow_load", frames.config)[2]
    if message or not frames.issues["is_flow_item"].any():
        state = "missing_mapping" if message else "no_data"
        return section(state, message or NO_ITEMS_MESSAGE, as_of=stamp, count=None, items=[], percentiles=lines,
                       over_85=None, by_status={})
    rows, statuses = wip_at(frames, as_of)
    started = column_us(frames, "started_at")[rows]
    with np.errstate(invalid="ignore"):
        age = np.where(started <= as_of, (as_of - started) / US_PER_DAY, np.nan)
    keys = frames.issues["key"].to_numpy(dtype=object)[rows].astype(str)
    unknown = np.isnan(age)
    order = np.lexsort((keys, np.where(unknown, 0.0, -age), unknown))
    labels = status_labels(statuses)
    flow_types = frames.issues["flow_type"].to_numpy(dtype=object)[rows]
    items = [{"key": str(keys[i]), "status": labels[i], "age_days": None if unknown[i] else float(age[i]),
              "flow_type": flow_types[i]} for i in order.tolist()]
    p85 = lines["85"]
    over_85 = None if p85 is None else int(np.count_nonzero(age[~unknown] > p85))
    return section("success", None, as_of=stamp, count=int(rows.size), items=items, percentiles=lines,
                   over_85=over_85, by_status=_by_status(labels))


def _cycle_percentiles(frames: IssueFrames, period: Period) -> dict[str, float | None]:
    """The cycle-time percentiles of the period (all null when Flow Time cannot be computed)."""
    assert frames.config is not None
    if missing_configuration("flow_time", frames.config)[2]:
        return percentiles(np.empty(0))
    return percentiles(cycle_sample(frames, period)[2])


def _by_status(labels: list[str]) -> dict[str, int]:
    """``{status: count}``, most items first, then by name."""
    tally: dict[str, int] = {}
    for label in labels:
        tally[label] = tally.get(label, 0) + 1
    return dict(sorted(tally.items(), key=lambda pair: (-pair[1], pair[0])))
