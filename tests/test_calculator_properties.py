"""Property tests: the calculators against the simple reference (tests/reference_metrics.py) and against the
invariants of docs/metrics.md, over generated Jira issue sets (mixed time zones, option objects,
boolean-like text, garbage values, reopened items, newest- or oldest-first changelogs)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data.metrics.dora_calculator import DORA_METRICS, calculate_dora_metrics
from data.metrics.flow_calculator import FLOW_METRICS, calculate_flow_metrics
from data.metrics.issue_frame import build_issue_frames
from data.metrics.periods import Period
from tests.reference_metrics import reference

BASE = datetime(2024, 11, 1, tzinfo=UTC)
SPAN_DAYS = 140
STATUSES = ("To Do", "In Progress", " in progress", "Review", "Blocked", "Done", "Closed", "已完成", "Reopened")
ISSUE_TYPES = ("Story", "Bug", "Task", "Deployment", "Incident")
PERIODS = (
    (date(2025, 1, 6), date(2025, 2, 9)),
    (date(2025, 1, 1), date(2025, 1, 31)),
    (date(2024, 12, 30), date(2025, 1, 5)),
    (date(2025, 2, 1), date(2025, 3, 20)),
)
NOWS = (datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 1, 20, 12, 30, tzinfo=UTC),
        datetime(2024, 12, 31, 23, 0, tzinfo=UTC))


def stamp(moment: datetime, style: int) -> str:
    """The same instant written the ways Jira and ISO 8601 allow."""
    moment = moment.replace(microsecond=(moment.microsecond // 1000) * 1000)
    if style == 0:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
    if style == 1:
        local = moment.astimezone(timezone(timedelta(hours=8)))
        return local.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0800"
    if style == 2:
        return moment.strftime("%Y-%m-%dT%H:%M:%S") + "Z"
    local = moment.astimezone(timezone(timedelta(hours=-5, minutes=-30)))
    return local.isoformat()


@st.composite
def moments(draw: st.DrawFn) -> datetime:
    return BASE + timedelta(days=draw(st.integers(0, SPAN_DAYS)), minutes=draw(st.integers(0, 1439)),
                            milliseconds=draw(st.integers(0, 999)))


@st.composite
def date_values(draw: st.DrawFn, near: datetime | None = None) -> object:
    """A date field: usually a timestamp (any style), sometimes date-only, garbage or empty."""
    kind = draw(st.sampled_from(["ts", "ts", "ts", "ts", "ts", "date", "garbage", "none", "option"]))
    moment = draw(moments()) if near is None else near + timedelta(minutes=draw(st.integers(-2000, 20000)),
                                                                   milliseconds=draw(st.integers(0, 999)))
    if kind == "ts":
        return stamp(moment, draw(st.integers(0, 3)))
    if kind == "date":
        return moment.date().isoformat()
    if kind == "garbage":
        return draw(st.sampled_from(["soon", "2025-13-45", "  ", ""]))
    if kind == "option":
        return {"value": stamp(moment, 2)}
    return None


ENVIRONMENTS = ("Production", " production ", "Production", {"value": "Production"}, {"value": "Production"},
                [{"value": ""}, {"value": "PRODUCTION"}], "Staging", {"value": "staging"}, "", None, {"value": ""})
BOOLEANS = (True, False, "yes", "FAILED", "passed", "Success", "maybe", None, {"value": "Yes"}, [{"value": "No"}],
            1, 0, 2, "")
FLOW_TYPE_VALUES = ({"value": "Feature"}, "defect", "Story", "Bug", {"name": "Technical_Debt"}, "Risk", "Whatever",
                    None, [{"value": "Task"}])


@st.composite
def issues(draw: st.DrawFn, index: int) -> dict:
    created = draw(moments())
    issue_type = draw(st.sampled_from(ISSUE_TYPES))
    status = draw(st.sampled_from(STATUSES))
    histories = []
    moment = created
    for _ in range(draw(st.integers(0, 5))):
        moment = moment + timedelta(minutes=draw(st.integers(1, 30000)), milliseconds=draw(st.integers(1, 999)))
        target = draw(st.sampled_from(STATUSES))
        source = status if draw(st.integers(0, 9)) else draw(st.sampled_from(STATUSES))
        items = [{"field": "status", "fieldId": "status", "fromString": source, "toString": target}]
        if draw(st.booleans()):
            items.insert(0, {"field": "assignee", "fromString": "a", "toString": "b"})
        histories.append({"id": str(len(histories)), "created": stamp(moment, draw(st.integers(0, 3))),
                          "items": items})
        status = target
    if draw(st.booleans()):
        histories.reverse()
    deployment_near = created + timedelta(days=1)
    fields = {
        "summary": f"Issue {index}",
        "issuetype": {"name": issue_type},
        "status": {"name": status} if draw(st.integers(0, 9)) else None,
        # Now and then a creation time that does not parse: no timeline, and no say in the data's coverage.
        "created": stamp(created, draw(st.integers(0, 3))) if draw(st.integers(0, 14)) else "not a time",
        "cf_deploy": draw(date_values(deployment_near)) if issue_type == "Deployment" or draw(
            st.integers(0, 4)) == 0 else None,
        "cf_env": draw(st.sampled_from(ENVIRONMENTS)),
        "cf_commit": draw(date_values(created)),
        "cf_prod": draw(date_values(deployment_near)),
        "cf_ok": draw(st.sampled_from(BOOLEANS)),
        "cf_impact": draw(st.sampled_from(BOOLEANS)),
        "cf_detected": draw(date_values(created)) if issue_type == "Incident" or draw(st.integers(0, 4)) == 0
        else None,
        "cf_resolved": draw(date_values(created + timedelta(hours=5))),
        "cf_type": draw(st.sampled_from(FLOW_TYPE_VALUES)),
        "cf_started": draw(date_values(created)) if draw(st.integers(0, 5)) == 0 else None,
        "cf_completed": draw(date_values(created + timedelta(days=3))) if draw(st.integers(0, 5)) == 0 else None,
        "cf_hours": draw(st.sampled_from([None, None, 5, "12.5", -3, "lots", 0.5, 400])),
    }
    return {"id": str(10000 + index), "key": f"P-{index}", "fields": fields,
            "changelog": {"startAt": 0, "total": len(histories), "histories": histories}}


@st.composite
def issue_sets(draw: st.DrawFn) -> list[dict]:
    count = draw(st.integers(0, 40))
    return [draw(issues(i)) for i in range(count)]


@st.composite
def settings_variants(draw: st.DrawFn) -> dict:
    def maybe(field_id: str) -> str | None:
        return field_id if draw(st.integers(0, 5)) else None

    return {"dora_flow_config": {
        "field_mappings": {
            "dora": {"deployment_date": "cf_deploy", "target_environment": maybe("cf_env"),
                     "code_commit_date": "cf_commit", "deployed_to_production_date": "cf_prod",
                     "incident_detected_at": "cf_detected", "incident_resolved_at": "cf_resolved",
                     "deployment_successful": maybe("cf_ok"), "production_impact": maybe("cf_impact")},
            "flow": {"flow_item_type": "cf_type", "work_started_date": maybe("cf_started"),
                     "work_completed_date": maybe("cf_completed"), "active_work_hours": maybe("cf_hours")},
        },
        "wip_statuses": ["In Progress", "Review", "Blocked"],
        "active_statuses": ["in progress"],
        "completed_statuses": ["Done", "Closed", "已完成"],
        "production_environment_values": draw(st.sampled_from([["Production"], [], ["production", "Prod"]])),
        "deployment_issue_types": draw(st.sampled_from([[], ["Deployment"]])),
        "incident_issue_types": draw(st.sampled_from([[], ["incident"]])),
        "flow_issue_types": draw(st.sampled_from([[], ["Story", "Bug", "Task"]])),
        "flow_type_mappings": {"Feature": ["Story"], "Defect": ["Bug"], "Risk": [], "Technical_Debt": ["Task"]},
    }}


def _calculate(raw: list[dict], config: dict, period: Period, now: datetime, snapshots: dict | None) -> dict:
    frames = build_issue_frames(raw, config)
    return {**calculate_dora_metrics(frames, config, period, now),
            **calculate_flow_metrics(frames, config, period, now, snapshots)}


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


PROPERTY_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(raw=issue_sets(), config=settings_variants(), period_index=st.integers(0, len(PERIODS) - 1),
       now=st.sampled_from(NOWS), snapshot_weeks=st.sets(st.sampled_from(["2025-02", "2025-04", "2024-50"])))
def test_calculators_agree_with_the_reference(raw, config, period_index, now, snapshot_weeks):
    """Every metric's value, counts, weekly values, previous value and trend equal the per-issue reference,
    including the coverage rule (comparison windows before the earliest ``created`` are null)."""
    start, end = PERIODS[period_index]
    snapshots = {label: {"flow_load": {"wip_count": 7}} for label in snapshot_weeks}
    results = _calculate(raw, config, Period(start, end), now, snapshots)
    for name in (*DORA_METRICS, *FLOW_METRICS):
        got = results[name]
        expected = reference(name, raw, config, start, end, now, snapshots)
        mapped_outcome = any(config["dora_flow_config"]["field_mappings"]["dora"][k]
                             for k in ("deployment_successful", "production_impact"))
        if name == "change_failure_rate" and not mapped_outcome:
            assert got.error_state == "missing_mapping", name
            continue
        assert got.error_state != "calculation_error", (name, got.error_message)
        assert _close(got.value, expected["value"]), (name, got.value, expected["value"])
        assert (got.error_state == "success") == (expected["value"] is not None), name
        if expected["value"] is not None or name not in ("deployment_frequency", "flow_velocity", "flow_load"):
            assert got.total_issue_count == expected["total"], (name, got.total_issue_count, expected["total"])
            assert got.excluded_issue_count == expected["excluded"], name
        weekly = got.details["weekly_values"]
        assert len(weekly) == 16 and got.details["week_labels"] == expected["labels"]
        assert all(_close(a, b) for a, b in zip(weekly, expected["weekly"], strict=True)), (
            name, weekly, expected["weekly"])
        assert _close(got.details["trend_percentage"], expected["trend"]), name
        assert _close(got.details["previous_value"], expected["previous"]), (name, got.details["previous_value"],
                                                                           expected["previous"])
        assert got.details["trend_direction"] == expected["direction"], name
        coverage = expected["coverage"].isoformat() if expected["coverage"] else None
        assert got.details["coverage_start"] == coverage, name


@PROPERTY_SETTINGS
@given(raw=issue_sets(), config=settings_variants(), period_index=st.integers(0, len(PERIODS) - 1),
       now=st.sampled_from(NOWS))
def test_invariants_hold(raw, config, period_index, now):
    """Ranges, the value/error_state link, JSON safety and the sparkline length, for every metric."""
    start, end = PERIODS[period_index]
    results = _calculate(raw, config, Period(start, end), now, None)
    for name, got in results.items():
        as_dict = got.to_dict()
        assert (got.value is None) == (got.error_state != "success"), name
        assert as_dict["value"] is None or isinstance(as_dict["value"], float)
        if got.error_state in ("success", "no_data"):
            assert len(got.details["weekly_values"]) == 16
            assert got.details["sample_size"] == got.total_issue_count - got.excluded_issue_count
        if got.value is not None:
            assert got.value >= 0
        if name in ("change_failure_rate", "flow_efficiency", "flow_distribution") and got.value is not None:
            assert 0 <= got.value <= 100 + 1e-9, (name, got.value)
        if name == "flow_distribution" and got.value is not None:
            assert sum(got.details["distribution"].values()) == pytest.approx(100.0, abs=1e-9)
            assert sum(got.details["counts"].values()) == got.total_issue_count
        if name in ("change_failure_rate", "flow_efficiency"):
            for value in got.details.get("weekly_values", []):
                assert value is None or 0 <= value <= 100 + 1e-9
        if got.metric_type == "dora" and got.value is not None:
            assert got.performance_tier in ("Elite", "High", "Medium", "Low")
        else:
            assert got.performance_tier is None
