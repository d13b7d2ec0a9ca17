"""DORA metrics, tiers, periods and the MetricValue record: hand-computed golden cases (docs/metrics.md).

Each test's comment says how its expected numbers were derived from the literal inputs.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

from configuration.tiers import TIER_TABLE, classify_tier
from data.metrics import dora_calculator
from data.metrics.dora_calculator import calculate_dora_metrics, population
from data.metrics.issue_frame import build_issue_frames
from data.metrics.metric_value import MetricBase, MetricValue, trend
from data.metrics.periods import Period, PeriodError, iso_week_label, sparkline_weeks
from tests.test_issue_frame import issue, make_settings

NOW = datetime(2025, 3, 1, tzinfo=UTC)
JANUARY = Period(date(2025, 1, 1), date(2025, 1, 30))  # 30 days: count × 30 / 30 = count
DORA_MAPPINGS = {"deployment_date": "cf_deploy", "target_environment": "cf_env", "code_commit_date": "cf_commit",
                 "deployed_to_production_date": "cf_prod", "incident_detected_at": "cf_detected",
                 "incident_resolved_at": "cf_resolved", "deployment_successful": "cf_ok",
                 "production_impact": "cf_impact"}


def dora_settings(**overrides) -> dict:
    mappings = {**DORA_MAPPINGS, **overrides.pop("mappings", {})}
    return make_settings(dora=mappings, **overrides)


def deployment(key: str, when: str | None, env: object = "Production", **fields) -> dict:
    return issue(key, "2024-12-01", "Done", issue_type="Deployment", cf_deploy=when, cf_env=env, **fields)


def incident(key: str, detected: str | None, resolved: str | None) -> dict:
    return issue(key, "2024-12-01", "Done", issue_type="Incident", cf_detected=detected, cf_resolved=resolved)


def run(raw: list[dict], settings: dict | None = None, period: Period = JANUARY) -> dict[str, MetricValue]:
    settings = settings or dora_settings()
    return calculate_dora_metrics(build_issue_frames(raw, settings), settings, period, NOW)


# ---------------------------------------------------------------- deployment frequency


def test_deployment_frequency_filters_environments():
    raw = [
        deployment("P1", "2025-01-05T10:00:00.000+0000"),
        deployment("P2", "2025-01-10", {"value": "production"}),
        deployment("P3", "2025-01-12T00:00:00Z", [{"value": ""}, {"value": " PRODUCTION "}]),
        deployment("S1", "2025-01-12T00:00:00Z", "Staging"),
        deployment("E1", "2025-01-13T00:00:00Z", None),
        deployment("E2", "2025-01-14T00:00:00Z", {"value": ""}),
    ]
    metric = run(raw)["deployment_frequency"]
    # 3 production deployments (case/space/option variants), staging ignored, 2 with an empty environment
    # excluded: candidates 5, excluded 2, value 3 × 30 / 30 = 3.0 → Medium (≥ 1, < 30/7).
    assert (metric.error_state, metric.value) == ("success", 3.0)
    assert (metric.total_issue_count, metric.excluded_issue_count) == (5, 2)
    assert metric.details["sample_size"] == 3
    assert metric.details["exclusion_reasons"] == {"empty target environment": 2}
    assert (metric.performance_tier, metric.performance_tier_color) == ("Medium", "orange")
    assert metric.details["benchmark_year"] == 2023 and metric.details["benchmark_elite"] == 30.0
    table = population("deployment_frequency", build_issue_frames(raw, dora_settings()), dora_settings(), JANUARY)
    assert sorted(table["key"]) == ["E1", "E2", "P1", "P2", "P3"]
    assert table["excluded_reason"].notna().sum() == 2


def test_deployment_frequency_period_boundaries_and_time_zones():
    raw = [
        deployment("START", "2025-01-01T00:00:00.000Z"),
        deployment("END", "2025-01-30T23:59:59.999Z"),
        deployment("AFTER", "2025-01-31T00:00:00.000Z"),
        deployment("BEFORE", "2024-12-31T23:59:59.999Z"),
        deployment("PLUS8-IN", "2025-01-31T07:30:00.000+0800"),   # 2025-01-30 23:30 UTC
        deployment("PLUS8-OUT", "2025-01-01T07:59:59.999+0800"),  # 2024-12-31 23:59:59.999 UTC
    ]
    metric = run(raw)["deployment_frequency"]
    # In: START, END, PLUS8-IN → 3. Previous period 2024-12-02..2024-12-31 holds BEFORE and PLUS8-OUT → 2.
    assert metric.value == 3.0
    assert metric.details["previous_value"] == 2.0
    assert metric.details["trend_percentage"] == pytest.approx(50.0)  # (3 − 2) / 2 × 100
    assert metric.details["trend_direction"] == "up"


def test_deployment_frequency_without_environment_filter_or_with_type_filter():
    raw = [deployment("P1", "2025-01-05"), deployment("S1", "2025-01-06", "Staging"),
           issue("STORY", "2025-01-01", "Done", issue_type="Story", cf_deploy="2025-01-07")]
    # Target environment unmapped: every deployment counts (3 × 30 / 30).
    assert run(raw, dora_settings(mappings={"target_environment": None}))["deployment_frequency"].value == 3.0
    # Empty production values also switch the filter off.
    assert run(raw, dora_settings(production_environment_values=[]))["deployment_frequency"].value == 3.0
    # Only Deployment issues are deployments: STORY is not one; S1 is staging → 1.
    typed = dora_settings(deployment_issue_types=["deployment"])
    assert run(raw, typed)["deployment_frequency"].value == 1.0


def test_deployment_frequency_no_data_versus_zero():
    nothing = run([issue("A-1", "2025-01-02", "Done")])["deployment_frequency"]
    assert nothing.error_state == "no_data" and nothing.value is None
    assert "No deployments" in nothing.error_message
    assert nothing.details["weekly_values"] == [None] * 16
    only_staging = run([deployment("S1", "2025-01-06", "Staging")])["deployment_frequency"]
    assert only_staging.error_state == "no_data" and "production" in only_staging.error_message
    # Deployments exist, just not in January: a real 0 (Low). The data covers days from P1's creation,
    # 2024-12-01: the sparkline's weeks start on Mondays 2024-10-14 … 2025-01-27, so the 7 weeks starting
    # before 2024-12-01 are null and the 9 from 2024-12-02 on are a real 0. The previous period
    # (2024-12-02..2024-12-31) is covered and also 0: percentage null (previous 0), direction flat (0 = 0).
    zero = run([deployment("P1", "2024-06-01")])["deployment_frequency"]
    assert (zero.error_state, zero.value, zero.performance_tier) == ("success", 0.0, "Low")
    assert zero.details["weekly_values"] == [None] * 7 + [0.0] * 9
    assert zero.details["previous_value"] == 0.0
    assert (zero.details["trend_percentage"], zero.details["trend_direction"]) == (None, "flat")


def test_weekly_values_and_iso_week_53_labels():
    period = Period(date(2020, 12, 21), date(2021, 1, 3))
    # OLD, created 2020-01-01, makes the data cover every week of this 2020 sparkline.
    raw = [deployment("P1", "2020-12-30T10:00:00Z"), deployment("P2", "2021-01-03T23:59:59.999Z"),
           deployment("P3", "2020-12-22T00:00:00Z"), issue("OLD", "2020-01-01", "Done")]
    metric = run(raw, period=period)["deployment_frequency"]
    labels = metric.details["week_labels"]
    # The week containing 2021-01-03 is ISO week 2020-53; 16 weeks back starts at 2020-38.
    assert labels[-1] == "2020-53" and labels[0] == "2020-38" and len(labels) == 16
    # 2020-53 (Dec 28 – Jan 3) holds P1 and P2 → 2 × 30 / 7; 2020-52 holds P3 → 30 / 7; others 0.
    assert metric.details["weekly_values"][-1] == pytest.approx(60 / 7)
    assert metric.details["weekly_values"][-2] == pytest.approx(30 / 7)
    assert metric.details["weekly_values"][:-2] == [0.0] * 14
    # The headline over the 14-day period: 3 × 30 / 14.
    assert metric.value == pytest.approx(90 / 14)


# ---------------------------------------------------------------- lead time


def test_lead_time_median_percentiles_and_exclusions():
    raw = [
        deployment("L1", "2025-01-05", cf_commit="2025-01-01T00:00:00Z", cf_prod="2025-01-02T00:00:00Z"),  # 1 d
        deployment("L2", "2025-01-05", cf_commit="2025-01-03T00:00:00+0800", cf_prod="2025-01-04T16:00:00Z"),  # 2
        deployment("L3", "2025-01-09", cf_commit="2025-01-05", cf_prod="2025-01-09"),  # 4 d
        deployment("L4", "2025-01-11", cf_commit="2025-01-01T00:00:00Z", cf_prod="2025-01-11T00:00:00Z"),  # 10
        deployment("X1", "2025-01-12", cf_commit=None, cf_prod="2025-01-12"),
        deployment("X2", "2025-01-12", cf_commit="2025-01-10", cf_prod="garbage"),
        deployment("X3", "2025-01-12", cf_commit="2025-01-10", cf_prod="2025-01-09"),
        deployment("S1", "2025-01-12", "Staging", cf_commit="2025-01-01", cf_prod="2025-01-12"),
    ]
    metric = run(raw)["lead_time_for_changes"]
    # Values 1, 2, 4, 10 days: median 3; p85 at rank 0.85 × 3 = 2.55 → 4 + 0.55 × 6 = 7.3;
    # p95 at rank 2.85 → 4 + 0.85 × 6 = 9.1; mean 17 / 4 = 4.25. Staging is not a candidate.
    assert metric.value == pytest.approx(3.0)
    assert metric.details["p85"] == pytest.approx(7.3)
    assert metric.details["p95"] == pytest.approx(9.1)
    assert metric.details["mean"] == pytest.approx(4.25)
    assert (metric.total_issue_count, metric.excluded_issue_count) == (7, 3)
    assert metric.details["exclusion_reasons"] == {
        "missing or unparseable code commit date": 1,
        "missing or unparseable deployed-to-production date": 1,
        "negative lead time (production before commit)": 1,
    }
    assert (metric.performance_tier, metric.performance_tier_color) == ("High", "yellow")
    table = population("lead_time_for_changes", build_issue_frames(raw, dora_settings()), dora_settings(), JANUARY)
    included = table[table["excluded_reason"].isna()]
    assert len(table) == 7 and float(np.median(included["value"])) == pytest.approx(metric.value)


def test_lead_time_no_sample_is_no_data_and_empty_weeks_are_null():
    # OLD, created 2024-11-01, makes the data cover the weeks from 2024-11-04 on (L1's week included).
    raw = [deployment("X1", "2025-01-12", cf_commit=None, cf_prod="2025-01-12"),
           deployment("L1", "2024-11-05", cf_commit="2024-11-01", cf_prod="2024-11-03"),
           issue("OLD", "2024-11-01", "Done")]
    metric = run(raw)["lead_time_for_changes"]
    # January's only candidate is excluded: no sample → no_data, still reporting the counts.
    assert metric.error_state == "no_data" and metric.value is None
    assert (metric.total_issue_count, metric.excluded_issue_count) == (1, 1)
    # Week of 2024-11-04 (ISO 2024-45) holds L1's 2-day lead time; every other week has no sample (null, not 0).
    weekly = dict(zip(metric.details["week_labels"], metric.details["weekly_values"], strict=True))
    assert weekly.pop("2024-45") == pytest.approx(2.0)
    assert set(weekly.values()) == {None}


# ---------------------------------------------------------------- change failure rate


CFR_DEPLOYMENTS = [
    deployment("C1", "2025-01-02", cf_ok="yes", cf_impact=None),
    deployment("C2", "2025-01-03", cf_ok="FAILED", cf_impact=None),
    deployment("C3", "2025-01-04", cf_ok=None, cf_impact={"value": "Yes"}),
    deployment("C4", "2025-01-05", cf_ok="maybe", cf_impact=None),
    deployment("C5", "2025-01-06", cf_ok=True, cf_impact="no"),
    deployment("C6", "2025-01-07", cf_ok=0, cf_impact="no"),
    deployment("C7", "2025-01-08", cf_ok="passed", cf_impact=True),
    deployment("C8", "2025-01-09", "Staging", cf_ok="FAILED"),
]


def test_change_failure_rate_with_both_outcome_fields():
    metric = run(CFR_DEPLOYMENTS)["change_failure_rate"]
    # Candidates C1–C7 (C8 is staging). C4 has no usable outcome → excluded. Failed: C2 (failed), C3 (impact),
    # C6 (0 = false), C7 (impact) → 4 of 6 = 66.67 % → Low (> 15).
    assert (metric.total_issue_count, metric.excluded_issue_count) == (7, 1)
    assert metric.value == pytest.approx(400 / 6)
    assert metric.details["failed_count"] == 4
    assert (metric.performance_tier, metric.performance_tier_color) == ("Low", "red")


def test_change_failure_rate_with_one_outcome_field():
    metric = run(CFR_DEPLOYMENTS, dora_settings(mappings={"production_impact": None}))["change_failure_rate"]
    # Only Deployment Successful: C3 (empty) and C4 (maybe) excluded; failed C2, C6 → 2 of 5 = 40 %.
    assert (metric.total_issue_count, metric.excluded_issue_count) == (7, 2)
    assert metric.value == pytest.approx(40.0)


# ---------------------------------------------------------------- mean time to recovery


def test_mean_time_to_recovery_is_the_median_in_hours():
    raw = [
        incident("I1", "2025-01-10T00:00:00Z", "2025-01-10T02:00:00Z"),        # 2 h
        incident("I2", "2025-01-10T08:00:00+0800", "2025-01-10T05:00:00Z"),    # 00:00 UTC → 5 h
        incident("I3", "2025-01-10", "2025-01-11T06:00:00Z"),                  # 30 h
        incident("I4", "2025-01-12", "2025-01-11"),                            # negative → excluded
        incident("I5", "2025-01-10", None),                                    # unresolved → not a candidate
        incident("I6", "2025-01-10", "2025-02-05"),                            # resolved after the period
        incident("I7", None, "2025-01-10"),                                    # not an incident
    ]
    metric = run(raw)["mean_time_to_recovery"]
    # Median of 2, 5, 30 = 5 h (High: < 24); mean 37 / 3.
    assert metric.value == pytest.approx(5.0)
    assert metric.details["mean"] == pytest.approx(37 / 3)
    assert (metric.total_issue_count, metric.excluded_issue_count) == (4, 1)
    assert metric.performance_tier == "High"
    assert metric.unit == "hours"


# ---------------------------------------------------------------- missing mappings and errors


def test_missing_mappings_name_the_fields():
    results = run([deployment("P1", "2025-01-05")], make_settings())
    assert {m.error_state for m in results.values()} == {"missing_mapping"}
    assert results["deployment_frequency"].error_message == "Map the Deployment Date field"
    assert results["deployment_frequency"].details["missing_fields"] == ["deployment_date"]
    assert results["change_failure_rate"].error_message == (
        "Map the Deployment Date field; map the Deployment Successful or Production Impact field")
    assert results["mean_time_to_recovery"].error_message == (
        "Map the Incident Detected At and Incident Resolved At fields")
    lead = run([], make_settings(dora={"deployment_date": "cf_deploy"}))["lead_time_for_changes"]
    assert lead.error_message == "Map the Code Commit Date and Deployed to Production Date fields"
    assert all(m.value is None and m.to_dict()["value"] is None for m in results.values())


def test_a_failing_metric_becomes_a_calculation_error(monkeypatch):
    def explode(frames):
        raise RuntimeError("boom")

    broken = dora_calculator._Spec(explode, dora_calculator.SPECS["lead_time_for_changes"].evaluate, ())
    monkeypatch.setitem(dora_calculator.SPECS, "lead_time_for_changes", broken)
    results = run([deployment("P1", "2025-01-05")])
    assert results["lead_time_for_changes"].error_state == "calculation_error"
    assert "boom" in results["lead_time_for_changes"].error_message
    assert results["deployment_frequency"].error_state == "success"


# ---------------------------------------------------------------- tiers


@pytest.mark.parametrize(("metric", "value", "tier"), [
    ("deployment_frequency", 30.0, "Elite"), ("deployment_frequency", 29.99, "High"),
    ("deployment_frequency", 30 / 7, "High"), ("deployment_frequency", 4.28, "Medium"),
    ("deployment_frequency", 1.0, "Medium"), ("deployment_frequency", 0.99, "Low"),
    ("lead_time_for_changes", 0.99, "Elite"), ("lead_time_for_changes", 1.0, "High"),
    ("lead_time_for_changes", 29.9, "Medium"), ("lead_time_for_changes", 30.0, "Low"),
    ("change_failure_rate", 5.0, "Elite"), ("change_failure_rate", 10.0, "High"),
    ("change_failure_rate", 15.0, "Medium"), ("change_failure_rate", 15.01, "Low"),
    ("mean_time_to_recovery", 0.5, "Elite"), ("mean_time_to_recovery", 23.9, "High"),
    ("mean_time_to_recovery", 167.9, "Medium"), ("mean_time_to_recovery", 168.0, "Low"),
])
def test_tier_boundaries(metric, value, tier):
    colors = {"Elite": "green", "High": "yellow", "Medium": "orange", "Low": "red"}
    assert classify_tier(metric, value) == (tier, colors[tier])


def test_untiered_or_empty_values_have_no_tier():
    assert classify_tier("flow_time", 3.0) == (None, None)
    assert classify_tier("lead_time_for_changes", None) == (None, None)
    assert set(TIER_TABLE) == set(dora_calculator.DORA_METRICS)


# ---------------------------------------------------------------- trend


@pytest.mark.parametrize(("value", "previous", "percentage", "direction"), [
    (3.0, 2.0, 50.0, "up"), (1.0, 2.0, -50.0, "down"), (2.0, 2.0, 0.0, "flat"),
    # Previous 0: no relative change, but the direction still follows the sign (the card says "was 0").
    (2.0, 0.0, None, "up"), (0.0, 0.0, None, "flat"), (0.0, 2.0, -100.0, "down"),
    (2.0, None, None, "flat"), (None, 2.0, None, "flat"),
])
def test_trend(value, previous, percentage, direction):
    got = trend(value, previous)
    assert got["trend_direction"] == direction
    assert got["trend_percentage"] == (pytest.approx(percentage) if percentage is not None else None)


# ---------------------------------------------------------------- periods


def test_period_validation_and_arithmetic():
    period = Period("2025-01-01", "2025-01-30")
    assert period.days == 30
    assert period.previous() == Period(date(2024, 12, 2), date(2024, 12, 31))
    assert period.start_ts == pd.Timestamp("2025-01-01T00:00:00Z")
    assert period.end_ts == pd.Timestamp("2025-01-30T23:59:59.999999Z")
    assert Period(date(2024, 1, 1), date(2024, 12, 30)).days == 365
    with pytest.raises(PeriodError, match="366 days"):
        Period(date(2024, 1, 1), date(2024, 12, 31))
    with pytest.raises(PeriodError, match="before its start"):
        Period(date(2025, 2, 1), date(2025, 1, 1))
    with pytest.raises(PeriodError, match="not a date"):
        Period("2025-13-01", "2025-12-31")


def test_iso_week_labels_and_sparkline_weeks():
    assert iso_week_label(date(2021, 1, 3)) == "2020-53"
    assert iso_week_label(date(2025, 1, 29)) == "2025-05"
    # 2021-01-04 07:00 +0800 is still Sunday 2021-01-03 in UTC.
    assert iso_week_label(pd.Timestamp("2021-01-04T07:00:00+0800")) == "2020-53"
    weeks = sparkline_weeks(date(2021, 1, 3))
    assert len(weeks) == 16 and weeks[-1][0] == "2020-53" and weeks[0][0] == "2020-38"
    assert weeks[-1][1] == pd.Timestamp("2020-12-28T00:00:00Z")
    assert weeks[-1][2] == pd.Timestamp("2021-01-03T23:59:59.999999Z")
    assert all(later[1] - earlier[1] == pd.Timedelta(days=7) for earlier, later in itertools.pairwise(weeks))


# ---------------------------------------------------------------- MetricValue


def _base() -> MetricBase:
    return MetricBase("lead_time_for_changes", "dora", "days", datetime(2025, 1, 31, 10, tzinfo=UTC),
                      JANUARY.start_ts.to_pydatetime(), JANUARY.end_ts.to_pydatetime())


def test_metric_value_to_dict_is_json_safe():
    metric = MetricValue.success(_base(), np.float64(2.5), tier=("High", "yellow"), total=np.int64(3),
                                 details={"nan": np.float64("nan"), "count": np.int64(3),
                                          "list": [np.float64(1.5), None], "when": pd.Timestamp("2025-01-02")})
    data = metric.to_dict()
    json.dumps(data, allow_nan=False)
    assert data["value"] == 2.5 and type(data["value"]) is float
    assert data["calculation_timestamp"] == "2025-01-31T10:00:00.000Z"
    assert data["time_period_start"] == "2025-01-01T00:00:00.000Z"
    assert data["time_period_end"] == "2025-01-30T23:59:59.999Z"
    assert data["details"] == {"nan": None, "count": 3, "list": [1.5, None], "when": "2025-01-02T00:00:00.000Z"}
    assert set(data) == {"metric_name", "metric_type", "value", "unit", "performance_tier", "performance_tier_color",
                         "calculation_timestamp", "time_period_start", "time_period_end", "error_state",
                         "error_message", "excluded_issue_count", "total_issue_count", "details"}
    again = MetricValue.from_dict(data)
    assert again.value == 2.5 and again.performance_tier == "High" and again.total_issue_count == 3


def test_non_success_values_are_always_null():
    metric = MetricValue(**{**MetricValue.success(_base(), 1.0).__dict__, "error_state": "no_data"})
    assert metric.value is None and metric.performance_tier is None
    assert MetricValue.no_data(_base(), "none").to_dict()["value"] is None
