"""Display rounding and texts: one rule for every card (see ui/formatting.py)."""

from __future__ import annotations

import pytest

from ui.formatting import (
    MISSING,
    format_count,
    format_exclusion_reasons,
    format_last_updated,
    format_progress,
    format_trend,
    format_value,
    format_value_parts,
    trend_text,
)

# Expected strings worked out by hand from the rule: percent one decimal; integral counts as integers;
# otherwise three significant figures keeping all integer digits, half-up, trailing zeros removed.
ROUNDING_TABLE = [
    (12.345, "days", "12.3 days"),
    (0.5, "hours", "0.5 hours"),
    (1.0, "days", "1 day"),
    (1.0000001, "days", "1 day"),
    (2.675, "hours", "2.68 hours"),  # binary 2.675 is 2.67499…; the user reads 2.675 and expects 2.68
    (1234.5, "days", "1,235 days"),
    (99.96, "days", "100 days"),
    (0.01234, "hours", "0.0123 hours"),
    (0.0, "deployments/month", "0 deployments/month"),
    (30 / 7, "deployments/month", "4.29 deployments/month"),
    (1.0, "deployments/month", "1 deployment/month"),
    (12.0, "items", "12 items"),
    (1, "items", "1 item"),
    (2.5, "items", "2.5 items"),
    (1.5, "items/week", "1.5 items/week"),
    (33.3333, "percent", "33.3%"),
    (100, "percent", "100.0%"),
    (12.35, "percent", "12.4%"),
    (0.04, "percent", "0.0%"),
    (None, "days", MISSING),
    (float("nan"), "days", MISSING),
    (float("inf"), "percent", MISSING),
    ("not a number", "days", MISSING),
    (5.0, "widgets", "5 widgets"),
]


@pytest.mark.parametrize(("value", "unit", "expected"), ROUNDING_TABLE)
def test_rounding_table(value: object, unit: str, expected: str) -> None:
    assert format_value(value, unit) == expected


def test_value_parts_split_number_and_unit() -> None:
    assert format_value_parts(12.345, "days") == ("12.3", "days")
    assert format_value_parts(45.0, "percent") == ("45.0", "%")
    assert format_value_parts(None, "percent") == (MISSING, "")


@pytest.mark.parametrize(
    ("percentage", "expected"),
    [
        (12.5, "+12.5% vs previous period"),
        (-3.25, "-3.3% vs previous period"),  # half-up rounds away from zero
        (0.0, "0.0% vs previous period"),
        (-0.04, "0.0% vs previous period"),  # rounds to zero: no "-0.0"
        (1500.0, "+1,500.0% vs previous period"),
        (None, "no previous data"),
    ],
)
def test_trend_text(percentage: float | None, expected: str) -> None:
    assert format_trend(percentage) == expected


@pytest.mark.parametrize(
    ("value", "unit", "details", "expected"),
    [
        # A percent metric: 15.2 − 12.0 = +3.2 percentage points, never the relative +26.7 %.
        (15.2, "percent", {"previous_value": 12.0, "trend_percentage": 26.666}, "+3.2 pp vs previous period"),
        (10.0, "percent", {"previous_value": 12.05, "trend_percentage": -17.0}, "-2.1 pp vs previous period"),
        # From 0 % a change in points still exists: 40 − 0 = +40.0 pp.
        (40.0, "percent", {"previous_value": 0.0, "trend_percentage": None}, "+40.0 pp vs previous period"),
        # Previous 0 for another unit: no relative size, the words say what it was.
        (3.0, "days", {"previous_value": 0.0, "trend_percentage": None}, "was 0 in the previous period"),
        # Previous period before the fetched data: "no earlier data" (percent metrics too).
        (3.0, "days", {"previous_value": None, "trend_percentage": None, "previous_covered": False},
         "no earlier data"),
        (30.0, "percent", {"previous_value": None, "trend_percentage": None, "previous_covered": False},
         "no earlier data"),
        # Covered, but no sample in the previous period.
        (3.0, "days", {"previous_value": None, "trend_percentage": None, "previous_covered": True},
         "no data in the previous period"),
        (3.0, "days", {"previous_value": 2.0, "trend_percentage": 50.0}, "+50.0% vs previous period"),
    ],
)
def test_trend_words(value: float, unit: str, details: dict, expected: str) -> None:
    assert trend_text(value, unit, details) == expected


def test_counts_and_progress() -> None:
    assert format_count(1200) == "1,200"
    assert format_count(None) == MISSING
    assert format_progress(1200, 2000) == "1,200 / 2,000 issues"
    assert format_progress(1200, None) == "1,200 issues"
    assert format_progress(None, 0) == "0 issues"


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        ("2025-01-31T10:00:00Z", "Last updated 2025-01-31 10:00 UTC"),
        ("2025-01-31T12:30:00+02:00", "Last updated 2025-01-31 10:30 UTC"),
        ("2025-01-31T10:00:00", "Last updated 2025-01-31 10:00 UTC"),
        (None, "Never updated"),
        ("yesterday", "Last updated yesterday"),
    ],
)
def test_last_updated(timestamp: str | None, expected: str) -> None:
    assert format_last_updated(timestamp) == expected


def test_exclusion_reasons_most_frequent_first_and_zero_counts_dropped() -> None:
    reasons = {"missing_commit_date": 2, "negative_duration": 3, "unparseable_date": 0}
    assert format_exclusion_reasons(reasons) == "negative duration: 3\nmissing commit date: 2"
    assert format_exclusion_reasons(None) == ""
