"""The flow analytics object (ANALYTICS.md, "``cli.py analytics`` JSON"): the five sections for a period.

One pure function over the issue tables, shared by the dashboard's Analytics view, its CSV exports and the
command line, so the three agree byte for byte. No I/O, no clock: ``now`` is an argument.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from data.metrics.aging_wip import aging_wip
from data.metrics.cumulative_flow import cumulative_flow
from data.metrics.cycle_time import cycle_time
from data.metrics.issue_frame import ensure_derived
from data.metrics.issue_tables import IssueFrames
from data.metrics.periods import Period
from data.metrics.throughput import throughput
from data.metrics.time_in_status import time_in_status

SECTIONS: tuple[str, ...] = ("cycle_time", "aging_wip", "time_in_status", "cfd", "throughput")


def calculate_analytics(frames: IssueFrames, settings: Mapping[str, Any], period: Period,
                        now: datetime) -> dict[str, Any]:
    """``{"period", "team", "cycle_time", "aging_wip", "time_in_status", "cfd", "throughput"}``: JSON-safe
    (plain numbers, ISO UTC strings, ISO dates). ``team`` is null: the view covers every item."""
    frames = ensure_derived(frames, settings)
    return {
        "period": {"start": period.start.isoformat(), "end": period.end.isoformat()},
        "team": None,
        "cycle_time": cycle_time(frames, settings, period, now),
        "aging_wip": aging_wip(frames, settings, period, now),
        "time_in_status": time_in_status(frames, settings, period, now),
        "cfd": cumulative_flow(frames, settings, period, now),
        "throughput": throughput(frames, settings, period, now),
    }
