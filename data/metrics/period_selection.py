"""Turn the period selector's state (a preset or custom dates) into a ``Period``.

Presets are the last N days ending today (UTC), both ends included: "7" is today and the six days before.
A custom period may not end after today: the future has no data yet (METRICS.md, "Period").
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from data.metrics.periods import Period, PeriodError, period_until

PRESET_DAYS = {"7": 7, "30": 30, "90": 90}


def resolve_period(selection: Mapping[str, Any] | None, today: date) -> Period:
    """``{"preset": "30"}`` or ``{"preset": "custom", "start": "YYYY-MM-DD", "end": "YYYY-MM-DD"}``."""
    selection = selection or {"preset": "30"}
    preset = str(selection.get("preset") or "30")
    if preset in PRESET_DAYS:
        return Period(today - timedelta(days=PRESET_DAYS[preset] - 1), today)
    if preset == "custom":
        start, end = selection.get("start"), selection.get("end")
        if not start or not end:
            raise PeriodError("Choose a start and an end date")
        return period_until(str(start)[:10], str(end)[:10], today)
    raise PeriodError(f"Unknown period preset {preset!r}")
