"""Text for numbers on screen: values with units, trends, counts, timestamps.

MetricValues carry unrounded numbers; rounding happens only here, once, with one rule for every card:

- ``percent``: one decimal, e.g. ``12.3%``.
- ``items`` (a count): an integer when the value is integral, otherwise like any other number.
- everything else: three significant figures, never dropping integer digits (``12.345 -> 12.3``,
  ``0.01234 -> 0.0123``, ``1234.5 -> 1,235``), trailing zeros removed (``2.0 -> 2``).
- rounding is half-up on the decimal the user would read (``2.675 -> 2.68``), not on the binary float.
- a missing or non-finite value shows as an em dash, never as 0.
- a trend of a ``percent`` metric is a change in percentage points (``+3.2 pp``), others a relative change.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

MISSING = "—"

_SINGULAR_UNITS = {
    "days": "day",
    "hours": "hour",
    "items": "item",
    "deployments/month": "deployment/month",
    "items/week": "item/week",
}


def _as_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _decimal(value: float) -> Decimal:
    return Decimal(repr(value))


def _quantize(number: Decimal, places: int) -> Decimal:
    rounded = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return rounded if rounded != 0 else Decimal(0).quantize(Decimal(1).scaleb(-places))


def _round_significant(number: Decimal, digits: int = 3) -> Decimal:
    if number == 0:
        return Decimal(0)
    places = max(digits - 1 - number.adjusted(), 0)
    return _quantize(number, places)


def _plain(number: Decimal, *, keep_zeros: bool = False) -> str:
    text = format(number, ",f")
    if "." in text and not keep_zeros:
        text = text.rstrip("0").rstrip(".")
    return text


def format_number(value: Any, unit: str = "") -> str:
    """The rounded number alone (no unit) per the module rule; ``MISSING`` when there is no value."""
    number = _as_float(value)
    if number is None:
        return MISSING
    exact = _decimal(number)
    if unit == "percent":
        return _plain(_quantize(exact, 1), keep_zeros=True)
    if unit == "items" and number.is_integer():
        return _plain(_quantize(exact, 0))
    return _plain(_round_significant(exact))


def unit_label(unit: str, number_text: str) -> str:
    """The unit as shown after ``number_text``: ``%`` for percent, singular after exactly ``1``."""
    if unit == "percent":
        return "%"
    if number_text == "1":
        return _SINGULAR_UNITS.get(unit, unit)
    return unit


def format_value_parts(value: Any, unit: str) -> tuple[str, str]:
    """``(number, unit)`` for a card that styles them apart; the unit is empty when there is no value."""
    number_text = format_number(value, unit)
    if number_text == MISSING:
        return MISSING, ""
    return number_text, unit_label(unit, number_text)


def format_value(value: Any, unit: str) -> str:
    """One string: ``12.3 days``, ``45.0%``, ``12 items``, or ``MISSING``."""
    number_text, label = format_value_parts(value, unit)
    if not label:
        return number_text
    return f"{number_text}{label}" if label == "%" else f"{number_text} {label}"


def format_trend(percentage: Any) -> str:
    """``+12.5% vs previous period`` (signed, one decimal), or ``no previous data`` when unknown."""
    number = _as_float(percentage)
    if number is None:
        return "no previous data"
    rounded = _quantize(_decimal(number), 1)
    sign = "+" if rounded > 0 else ""
    return f"{sign}{_plain(rounded, keep_zeros=True)}% vs previous period"


def format_points(change: Any) -> str:
    """``+3.2 pp vs previous period``: a change of a percentage in percentage points (signed, one decimal)."""
    number = _as_float(change)
    if number is None:
        return "no previous data"
    rounded = _quantize(_decimal(number), 1)
    sign = "+" if rounded > 0 else ""
    return f"{sign}{_plain(rounded, keep_zeros=True)} pp vs previous period"


def trend_text(value: Any, unit: str, details: Mapping[str, Any]) -> str:
    """The card's trend words (METRICS.md, "Trend"), from a MetricValue's value, unit and details.

    - a ``percent`` metric: the change in percentage points (``+3.2 pp``), never a relative % of a %;
    - a previous value of 0: ``was 0`` (a change from 0 has no relative size);
    - no previous value because the previous period starts before the fetched data (``previous_covered``
      false): ``no earlier data``; any other missing previous value: ``no data in the previous period``;
    - otherwise the relative change ``+12.5% vs previous period``.
    """
    current = _as_float(value)
    previous = _as_float(details.get("previous_value"))
    if current is not None and previous is not None and unit == "percent":
        return format_points(current - previous)
    percentage = _as_float(details.get("trend_percentage"))
    if percentage is not None:
        return format_trend(percentage)
    if previous == 0:
        return "was 0 in the previous period"
    if details.get("previous_covered") is False:
        return "no earlier data"
    if "previous_value" in details:
        return "no data in the previous period"
    return format_trend(None)


def format_count(count: Any) -> str:
    """An integer count with thousands separators (``1,200``); ``MISSING`` when not a number."""
    number = _as_float(count)
    if number is None:
        return MISSING
    return f"{round(number):,}"


def format_progress(done: Any, total: Any) -> str:
    """Update progress: ``1,200 / 2,000 issues``, or ``1,200 issues`` while the total is unknown."""
    total_number = _as_float(total)
    if total_number is None or total_number <= 0:
        return f"{format_count(done if done is not None else 0)} issues"
    return f"{format_count(done if done is not None else 0)} / {format_count(total_number)} issues"


def format_last_updated(timestamp: str | None) -> str:
    """``Last updated 2025-01-31 10:00 UTC`` from an ISO 8601 timestamp; ``Never updated`` for None.

    A naive timestamp is read as UTC; text that is not ISO 8601 is shown as given.
    """
    if not timestamp:
        return "Never updated"
    try:
        moment = datetime.fromisoformat(str(timestamp).strip())
    except ValueError:
        return f"Last updated {timestamp}"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"Last updated {moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def format_exclusion_reasons(reasons: Any) -> str:
    """One line per reason, most frequent first: ``missing code commit date: 2``; empty when none."""
    if not isinstance(reasons, dict):
        return ""
    counted = [(str(reason).replace("_", " "), _as_float(count)) for reason, count in reasons.items()]
    counted = [(reason, count) for reason, count in counted if count]
    counted.sort(key=lambda item: (-item[1], item[0]))
    return "\n".join(f"{reason}: {format_count(count)}" for reason, count in counted)
