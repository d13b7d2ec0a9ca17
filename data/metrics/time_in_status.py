"""Where work waits (ANALYTICS.md, ``time_in_status``): the flow time of the period's cycle-time points
split by the status timeline.

For each point, every status interval counts where it overlaps [started_at, completed_at], exactly as Flow
Efficiency counts the active statuses, so the active rows add up to the efficiency's active days. Time
before an item's creation belongs to no status (a mapped Work Started Date earlier than the creation), so
the shares then add up to less than 100. Pure: no I/O, no clock; vectorised over the interval table.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np

from data.metrics.analytics_common import NO_STATUS, cycle_sample, flow_intervals, section
from data.metrics.cycle_time import NO_USABLE_MESSAGE
from data.metrics.field_values import fold
from data.metrics.flow_calculator import NO_COMPLETED_MESSAGE, missing_configuration
from data.metrics.issue_frame import ensure_derived
from data.metrics.issue_tables import IssueFrames, column_us
from data.metrics.periods import US_PER_DAY, Period

NO_TIME_MESSAGE = "The items completed in this period spent no time between their start and completion"


def time_in_status(frames: IssueFrames, settings: Mapping[str, Any], period: Period,
                   now: datetime) -> dict[str, Any]:
    """``statuses`` (most time first, then by name) and ``bottleneck``, with ``error_state``/``error_message``.

    ``now`` is accepted for a uniform signature across the sections; the points decide alone."""
    frames = ensure_derived(frames, settings)
    config = frames.config
    assert config is not None
    message = missing_configuration("flow_time", config)[2]
    if message:
        return section("missing_mapping", message, statuses=[], bottleneck=None)
    rows, completed, days, total, _ = cycle_sample(frames, period)
    if rows.size == 0:
        return section("no_data", NO_USABLE_MESSAGE if total else NO_COMPLETED_MESSAGE, statuses=[],
                       bottleneck=None)
    table = _status_table(frames, rows, completed)
    flow_days = float(days.sum())
    if not table or flow_days <= 0:
        return section("no_data", NO_TIME_MESSAGE, statuses=[], bottleneck=None)
    statuses = []
    bottleneck = None
    for name, total_days, items, median_days in sorted(table, key=lambda row: (-row[1], row[0])):
        folded = fold(name) if name != NO_STATUS else None
        active = folded in config.active
        statuses.append({"status": name, "total_days": total_days, "share_percent": total_days / flow_days * 100.0,
                         "items": items, "median_days": median_days, "active": active})
        if bottleneck is None and not active and folded not in config.completed:
            bottleneck = name
    return section("success", None, statuses=statuses, bottleneck=bottleneck)


def _status_table(frames: IssueFrames, rows: np.ndarray, completed: np.ndarray) -> list[tuple[str, float, int, float]]:
    """(status, total days, items with more than 0 s in it, median days over those items) per status that
    holds any of the points' flow time; vectorised over the flow items' intervals."""
    intervals = flow_intervals(frames)
    count = rows.size
    position = np.full(len(frames.issues), -1, dtype=np.int64)
    position[rows] = np.arange(count)
    point = position[intervals.owner]
    picked = np.flatnonzero(point >= 0)
    point = point[picked]
    low = np.fmax(intervals.entered[picked], column_us(frames, "started_at")[rows][point])
    high = np.fmin(intervals.left[picked], completed[point])
    overlap = high - low
    keep = overlap > 0
    code, point, overlap = intervals.code[picked][keep], point[keep], overlap[keep]
    groups, inverse = np.unique(code * count + point, return_inverse=True)
    per_item = np.bincount(inverse, weights=overlap) / US_PER_DAY  # one value per (status, item)
    group_code = groups // count
    size = len(intervals.names)
    totals = np.bincount(group_code, weights=per_item, minlength=size)
    items = np.bincount(group_code, minlength=size)
    values = per_item[np.lexsort((per_item, group_code))]  # by status, then ascending time
    offsets = np.concatenate(([0], np.cumsum(items)[:-1]))
    table = []
    for index in np.flatnonzero(items).tolist():
        low_mid = int(offsets[index] + (items[index] - 1) // 2)
        high_mid = int(offsets[index] + items[index] // 2)
        table.append((intervals.names[index], float(totals[index]), int(items[index]),
                      float((values[low_mid] + values[high_mid]) / 2.0)))
    return table
