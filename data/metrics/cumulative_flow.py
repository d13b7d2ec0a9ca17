"""Cumulative flow (ANALYTICS.md, ``cfd``): how many flow items sit in each status at each day of the period.

Each day's instant is min(end of that day, now); an item counts at an instant when it exists (created by
then) and one of its status intervals holds it, the same replay as Flow Load. Vectorised: every interval
covers a contiguous run of days (the instants increase), found with ``searchsorted`` and added as +1/−1 at
its two ends, then a cumulative sum per status: no loop per item or per day. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np

from data.metrics.analytics_common import (
    NO_ITEMS_MESSAGE,
    NO_STATUS,
    flow_intervals,
    ordered_statuses,
    period_days,
    section,
)
from data.metrics.field_values import fold
from data.metrics.issue_frame import ensure_derived
from data.metrics.issue_tables import IssueFrames
from data.metrics.periods import Period

NO_DAYS_MESSAGE = "The period starts after now: there is no day to show yet"


def cumulative_flow(frames: IssueFrames, settings: Mapping[str, Any], period: Period,
                    now: datetime) -> dict[str, Any]:
    """``days``, ``counts`` ({status: [count per day]}, in ``order``) and ``order`` (bottom band first), with
    ``error_state``/``error_message``."""
    frames = ensure_derived(frames, settings)
    days = period_days(period, now)
    if not days.days:
        return section("no_data", NO_DAYS_MESSAGE, days=[], counts={}, order=[])
    if not frames.issues["is_flow_item"].any():
        return section("no_data", NO_ITEMS_MESSAGE, days=days.labels, counts={}, order=[])
    names, matrix = _status_matrix(frames, days.instants)
    present = matrix.any(axis=1)
    names = [name for name, keep in zip(names, present.tolist(), strict=True) if keep]
    rows = {name: row for name, row in zip(names, matrix[present], strict=True)}
    order = band_order(names, settings)
    counts = {name: [int(v) for v in rows[name].tolist()] for name in order}
    return section("success", None, days=days.labels, counts=counts, order=order)


def _status_matrix(frames: IssueFrames, instants: np.ndarray) -> tuple[list[str], np.ndarray]:
    """(status names, counts[status, day]) of the flow items at ``instants`` (increasing epoch µs)."""
    intervals = flow_intervals(frames)
    first = np.searchsorted(instants, intervals.start, side="left")
    stop = np.maximum(np.searchsorted(instants, intervals.left, side="left"), first)
    rows = len(intervals.names)
    width = instants.size + 1
    change = (np.bincount(intervals.code * width + first, minlength=rows * width)
              - np.bincount(intervals.code * width + stop, minlength=rows * width)).reshape(rows, width)
    return list(intervals.names), np.cumsum(change, axis=1)[:, :instants.size]


def band_order(names: list[str], settings: Mapping[str, Any]) -> list[str]:
    """Bottom band first: completed statuses (settings order), WIP statuses (reverse settings order), then
    every other status by name. Spellings of one setting entry follow each other by name."""
    completed = ordered_statuses(settings, "completed_statuses")
    wip = ordered_statuses(settings, "wip_statuses")
    groups = [*completed, *(w for w in reversed(wip) if w not in completed)]
    rank = {folded: i for i, folded in enumerate(groups)}

    def key(name: str) -> tuple[int, str]:
        folded = fold(name) if name != NO_STATUS else None
        return (rank.get(folded, len(groups)) if folded is not None else len(groups), name)

    return sorted(names, key=key)
