"""The one DORA performance-tier table (State of DevOps 2023) and the function that applies it.

Every tier shown anywhere (cards, exports, docs) comes from ``TIER_TABLE``; ``docs/metrics.md`` repeats it
for users and a test checks that the two agree.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

BENCHMARK_YEAR = 2023

TIER_NAMES: tuple[str, ...] = ("Elite", "High", "Medium", "Low")

TIER_COLORS: dict[str, str] = {"Elite": "green", "High": "yellow", "Medium": "orange", "Low": "red"}

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "≥": operator.ge,
    ">": operator.gt,
    "≤": operator.le,
    "<": operator.lt,
}


@dataclass(frozen=True)
class TierRule:
    """Thresholds of one metric: a value meeting ``better_op threshold`` earns the tier, best tier first.

    ``elite``, ``high`` and ``medium`` are the thresholds of those tiers; everything else is Low
    (the Low column reads ``worse_op medium``).
    """

    metric_name: str
    unit: str
    better_op: str
    worse_op: str
    elite: float
    high: float
    medium: float

    def thresholds(self) -> tuple[tuple[str, float], ...]:
        return (("Elite", self.elite), ("High", self.high), ("Medium", self.medium))


TIER_TABLE: dict[str, TierRule] = {
    rule.metric_name: rule
    for rule in (
        TierRule("deployment_frequency", "per month", "≥", "<", 30.0, 30.0 / 7.0, 1.0),
        TierRule("lead_time_for_changes", "days", "<", "≥", 1.0, 7.0, 30.0),
        TierRule("change_failure_rate", "%", "≤", ">", 5.0, 10.0, 15.0),
        TierRule("mean_time_to_recovery", "hours", "<", "≥", 1.0, 24.0, 168.0),
    )
}


def classify_tier(metric_name: str, value: float | None) -> tuple[str | None, str | None]:
    """Return ``(tier, color)`` for a DORA metric value; ``(None, None)`` for untiered metrics or no value."""
    rule = TIER_TABLE.get(metric_name)
    if rule is None or value is None or value != value:
        return None, None
    better = _OPERATORS[rule.better_op]
    for tier, threshold in rule.thresholds():
        if better(value, threshold):
            return tier, TIER_COLORS[tier]
    return "Low", TIER_COLORS["Low"]


def benchmark_details(metric_name: str) -> dict[str, Any]:
    """The benchmark entries a DORA MetricValue carries in ``details`` (seed 001 names)."""
    rule = TIER_TABLE[metric_name]
    return {
        "benchmark_year": BENCHMARK_YEAR,
        "benchmark_elite": rule.elite,
        "benchmark_high": rule.high,
        "benchmark_medium": rule.medium,
        "benchmark_low": rule.medium,
        "benchmark_rules": {
            "Elite": f"{rule.better_op} {rule.elite:.4g}",
            "High": f"{rule.better_op} {rule.high:.4g}",
            "Medium": f"{rule.better_op} {rule.medium:.4g}",
            "Low": f"{rule.worse_op} {rule.medium:.4g}",
        },
    }
