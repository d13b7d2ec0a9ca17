"""The cycle-time scatter (ANALYTICS.md, ``cycle_time``): which completed items took long.

The points are the Flow Time card's sample for the period (flow items completed in it with a valid start),
read from the flow calculator's own memoised population, so ``percentiles["50"]`` is the card's value by
construction. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np

from data.metrics.analytics_common import cycle_sample, iso_utc_array, percentiles, section
from data.metrics.flow_calculator import NO_COMPLETED_MESSAGE, missing_configuration
from data.metrics.issue_frame import ensure_derived
from data.metrics.issue_tables import IssueFrames
from data.metrics.periods import Period

NO_USABLE_MESSAGE = "No completed item in this period has a usable flow time"


def cycle_time(frames: IssueFrames, settings: Mapping[str, Any], period: Period, now: datetime) -> dict[str, Any]:
    """``points`` (sorted by completed_at then key), ``percentiles``, ``total_issue_count`` and
    ``excluded_issue_count`` of the period, with ``error_state``/``error_message``.

    ``now`` is accepted for a uniform signature across the sections; completion times decide alone."""
    frames = ensure_derived(frames, settings)
    assert frames.config is not None
    message = missing_configuration("flow_time", frames.config)[2]
    if message:
        return section("missing_mapping", message, points=[], percentiles=percentiles(np.empty(0)),
                       total_issue_count=0, excluded_issue_count=0)
    rows, completed, days, total, excluded = cycle_sample(frames, period)
    keys = frames.issues["key"].to_numpy(dtype=object)[rows].tolist()
    flow_types = frames.issues["flow_type"].to_numpy(dtype=object)[rows].tolist()
    points = [{"key": str(key), "completed_at": stamp, "cycle_time_days": float(value), "flow_type": flow_type}
              for key, stamp, value, flow_type in zip(keys, iso_utc_array(completed), days.tolist(), flow_types,
                                                      strict=True)]
    fields = {"points": points, "percentiles": percentiles(days), "total_issue_count": int(total),
              "excluded_issue_count": int(excluded)}
    if not points:
        return section("no_data", NO_USABLE_MESSAGE if total else NO_COMPLETED_MESSAGE, **fields)
    return section("success", None, **fields)
