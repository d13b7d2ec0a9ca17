"""Flow metrics: hand-computed golden cases for every rule in docs/metrics.md (Flow metrics), plus every
metric over the real Jira Cloud sample. Each test's comment says how its expected numbers were derived.

Default settings: WIP = In Progress, In Review; active = In Progress; completed = Done, Closed, Resolved.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

from data.metrics.dora_calculator import calculate_dora_metrics
from data.metrics.flow_calculator import calculate_flow_metrics, current_flow_load, population
from data.metrics.issue_frame import build_issue_frames
from data.metrics.periods import Period
from tests.test_issue_frame import SAMPLE_COMPLETED, change, issue, make_settings, sample_issues

NOW = datetime(2025, 3, 1, tzinfo=UTC)
PERIOD = Period(date(2025, 1, 6), date(2025, 1, 19))  # 14 days, ISO weeks 2025-02 and 2025-03


def flow_settings(**overrides) -> dict:
    flow = {"flow_item_type": "cf_type", **overrides.pop("flow", {})}
    return make_settings(dora={"deployment_date": "cf_deploy"}, flow=flow, **overrides)


def run(raw: list[dict], settings: dict | None = None, period: Period = PERIOD, now: datetime = NOW,
        snapshots: dict | None = None) -> dict:
    settings = settings or flow_settings()
    return calculate_flow_metrics(build_issue_frames(raw, settings), settings, period, now, snapshots)


def done(key: str, started: str, finished: str, *, created: str = "2025-01-01", **fields) -> dict:
    """To Do at creation, In Progress at ``started``, Done at ``finished``."""
    return issue(key, created, "Done", [change(started, "To Do", "In Progress"),
                                        change(finished, "In Progress", "Done")], **fields)


# ---------------------------------------------------------------- velocity


def test_flow_velocity_counts_completions_in_the_period():
    raw = [
        done("V1", "2025-01-06T00:00:00Z", "2025-01-08T00:00:00Z"),
        issue("V2", "2025-01-07", "Closed", [change("2025-01-10T00:00:00Z", "In Progress", "Done"),
                                             change("2025-01-20T00:00:00Z", "Done", "Closed")]),
        issue("V3", "2025-01-07", "In Progress", [change("2025-01-09T00:00:00Z", "In Progress", "Done"),
                                                  change("2025-01-11T00:00:00Z", "Done", "In Progress")]),
        done("V4", "2025-01-10T00:00:00Z", "2025-01-19T23:59:59.999Z"),
        done("V5", "2025-01-10T00:00:00Z", "2025-01-20T00:00:00.000Z"),
        done("V6", "2025-01-10T00:00:00Z", "2025-01-20T07:00:00.000+0800"),
        done("DEP", "2025-01-10T00:00:00Z", "2025-01-12T00:00:00Z", cf_deploy="2025-01-12"),
    ]
    metric = run(raw)["flow_velocity"]
    # V1 (01-08), V2 (Done 01-10; Done → Closed is not a new entry), V4 (01-19 23:59:59.999) and V6
    # (01-20 07:00 +0800 = 01-19 23:00 UTC) count; V3 was reopened, V5 is the next day, DEP is a deployment.
    # 4 × 7 / 14 = 2.0 items/week.
    assert (metric.error_state, metric.value) == ("success", 2.0)
    assert metric.details["completed_count"] == 4 and metric.total_issue_count == 4
    assert metric.performance_tier is None and metric.unit == "items/week"
    # Week 2025-02 holds V1, V2; week 2025-03 holds V4, V6: 2 × 7 / 7 each. The data covers days from the
    # earliest creation, 2025-01-01 (V1): the 14 earlier weeks start before it → null, never 0.
    assert metric.details["weekly_values"][-2:] == [2.0, 2.0]
    assert metric.details["weekly_values"][:-2] == [None] * 14
    # Previous period (2024-12-23..2025-01-05) starts before 2025-01-01: no previous value, trend null/flat.
    assert metric.details["previous_value"] is None and metric.details["coverage_start"] == "2025-01-01"
    assert (metric.details["trend_percentage"], metric.details["trend_direction"]) == (None, "flat")


def test_flow_velocity_zero_versus_no_data():
    zero = run([done("OLD", "2024-06-01T00:00:00Z", "2024-06-02T00:00:00Z", created="2024-05-01")])
    assert (zero["flow_velocity"].error_state, zero["flow_velocity"].value) == ("success", 0.0)
    # The median and ratio metrics have no sample in the period: no_data, not 0.
    assert zero["flow_time"].error_state == "no_data" and zero["flow_time"].value is None
    assert zero["flow_time"].error_message == "No work items completed in this period"
    none_done = run([issue("OPEN", "2025-01-01", "In Progress")])["flow_velocity"]
    assert none_done.error_state == "no_data" and none_done.error_message == "No completed work items in the data"


# ---------------------------------------------------------------- flow time


def test_flow_time_median_and_exclusions():
    settings = flow_settings(flow={"work_started_date": "cf_start"})
    raw = [
        done("T1", "2025-01-02T00:00:00Z", "2025-01-07T00:00:00Z"),                      # 5 days
        issue("T2", "2025-01-05T00:00:00Z", "Done",                                     # created in progress
              [change("2025-01-06T12:00:00Z", "In Progress", "Done")]),                 # 1.5 days
        issue("T3", "2025-01-01", "Done", [change("2025-01-01T00:00:00Z", "To Do", "In Progress"),
                                           change("2025-01-02T00:00:00Z", "In Progress", "To Do"),
                                           change("2025-01-04T00:00:00Z", "To Do", "In Progress"),
                                           change("2025-01-09T00:00:00Z", "In Progress", "Done")]),  # 8 days
        issue("T4", "2025-01-01", "Done", [change("2025-01-08T00:00:00Z", "To Do", "Done")]),  # never in WIP
        done("T5", "2025-01-02T00:00:00Z", "2025-01-10T00:00:00Z", cf_start="2025-01-20"),  # negative
        done("T6", "2025-01-02T00:00:00Z", "2025-01-10T00:00:00Z", cf_start="garbage"),     # unparseable
    ]
    metric = run(raw, settings)["flow_time"]
    # T3 started at its first WIP entry (01-01) despite the back-move. Values 1.5, 5, 8: median 5;
    # p85 at rank 1.7 → 5 + 0.7 × 3 = 7.1; p95 at rank 1.9 → 7.7; mean 14.5 / 3.
    assert metric.value == pytest.approx(5.0)
    assert metric.details["p85"] == pytest.approx(7.1)
    assert metric.details["p95"] == pytest.approx(7.7)
    assert metric.details["mean"] == pytest.approx(14.5 / 3)
    assert (metric.total_issue_count, metric.excluded_issue_count) == (6, 3)
    assert metric.details["exclusion_reasons"] == {
        "no start: never in a WIP status": 1,
        "work started date does not parse": 1,
        "negative flow time (completed before started)": 1,
    }
    table = population("flow_time", build_issue_frames(raw, settings), settings, PERIOD, NOW)
    assert len(table) == 6
    assert float(np.median(table.loc[table["excluded_reason"].isna(), "value"])) == pytest.approx(metric.value)
    assert {"started_at", "completed_at"} <= set(table.columns)


# ---------------------------------------------------------------- flow efficiency


def test_flow_efficiency_from_the_timeline_and_from_active_hours():
    settings = flow_settings(flow={"active_work_hours": "cf_hours"})
    same = "2025-01-10T00:00:00Z"
    raw = [
        issue("E1", "2025-01-01", "Done", [change("2025-01-06T00:00:00Z", "To Do", "In Progress"),
                                           change("2025-01-08T00:00:00Z", "In Progress", "In Review"),
                                           change("2025-01-09T00:00:00Z", "In Review", "In Progress"),
                                           change("2025-01-10T00:00:00Z", "In Progress", "Done")]),
        done("E2", "2025-01-07T00:00:00Z", "2025-01-09T00:00:00Z", cf_hours=12),
        done("E3", "2025-01-08T00:00:00Z", "2025-01-09T00:00:00Z", cf_hours="100"),
        issue("E4", "2025-01-01", "Done", [change(same, "To Do", "In Progress"), change(same, "In Progress", "Done")]),
        issue("E5", "2025-01-01", "Done", [change("2025-01-08T00:00:00Z", "To Do", "Done")]),
    ]
    metric = run(raw, settings)["flow_efficiency"]
    # E1: flow 01-06..01-10 = 4 d, active In Progress 2 d + 1 d = 3 d. E2: flow 2 d, 12 h = 0.5 d active.
    # E3: flow 1 d, 100 h capped at 1 d. E4 has zero flow time, E5 never started: excluded.
    # (3 + 0.5 + 1) / (4 + 2 + 1) × 100 = 64.2857 %.
    assert metric.value == pytest.approx(450 / 7)
    assert metric.details["active_days"] == pytest.approx(4.5)
    assert metric.details["flow_days"] == pytest.approx(7.0)
    assert (metric.total_issue_count, metric.excluded_issue_count) == (5, 2)
    assert metric.details["exclusion_reasons"] == {"flow time zero or negative": 1,
                                                   "no start: never in a WIP status": 1}
    table = population("flow_efficiency", build_issue_frames(raw, settings), settings, PERIOD, NOW)
    per_item = table.set_index("key")
    assert per_item.loc["E1", "value"] == pytest.approx(75.0) and per_item.loc["E3", "active_days"] == 1.0


# ---------------------------------------------------------------- flow load


LOAD_ISSUES = [
    issue("W1", "2025-01-08", "In Progress", [change("2025-01-10T00:00:00Z", "To Do", "In Progress")]),
    issue("W2", "2025-01-15", "In Review", issue_type="Bug"),
    issue("W3", "2025-01-08", "Done", [change("2025-01-10T00:00:00Z", "To Do", "In Progress"),
                                       change("2025-01-18T00:00:00Z", "In Progress", "Done")]),
    issue("W4", "2025-01-08", "Done", [change("2025-01-10T00:00:00Z", "To Do", "In Progress"),
                                       change("2025-01-25T00:00:00Z", "In Progress", "Done")]),
    issue("W5", "2025-01-25", "In Progress"),
    issue("W6", "2025-01-01", "To Do"),
    issue("W7", "2025-01-01", "In Progress", [change("2025-01-20T07:00:00+0800", "To Do", "In Progress")],
          issue_type="Task"),
    issue("DEP", "2025-01-08", "In Progress", cf_deploy="2025-01-09"),
]


def test_flow_load_replays_statuses_at_the_period_end():
    metric = run(LOAD_ISSUES)["flow_load"]
    # as_of = 2025-01-19 23:59:59.999999 (now is later). In WIP then: W1, W2 (created in review), W4 (done only
    # on 01-25) and W7 (01-20 07:00 +0800 = 01-19 23:00 UTC). W3 was done, W5 not yet created, W6 never
    # started, DEP is a deployment → 4.
    assert (metric.error_state, metric.value) == ("success", 4.0)
    assert metric.details["wip_count"] == 4 and metric.total_issue_count == 4
    assert metric.details["by_status"] == {"In Progress": 3, "In Review": 1}
    assert metric.details["by_issue_type"] == {"Story": 2, "Bug": 1, "Task": 1}
    table = population("flow_load", build_issue_frames(LOAD_ISSUES, flow_settings()), flow_settings(), PERIOD, NOW)
    assert sorted(table["key"]) == ["W1", "W2", "W4", "W7"]


def test_flow_load_is_capped_at_now_and_uses_snapshots_for_its_history():
    now = datetime(2025, 1, 12, tzinfo=UTC)
    snapshots = {"2025-01": {"flow_load": {"wip_count": 9, "by_status": {}}}, "2025-03": {"flow_load": {}}}
    metric = run(LOAD_ISSUES, now=now, snapshots=snapshots)["flow_load"]
    # as_of = now (01-12 00:00): W1, W3 and W4 are In Progress (since 01-10); W2, W5 not created; W7 later → 3.
    assert metric.value == 3.0
    weekly = dict(zip(metric.details["week_labels"], metric.details["weekly_values"], strict=True))
    # 2025-03 starts after now → null (its snapshot has no wip_count); 2025-02 replayed at now → 3;
    # 2025-01 comes from the recorded snapshot → 9 (a recording, kept although that week starts 2024-12-30,
    # before the data's first day 2025-01-01 = W6's creation); the 13 earlier weeks start before that day and
    # have no recording → null, not a replayed 0.
    assert weekly["2025-03"] is None and weekly["2025-02"] == 3.0 and weekly["2025-01"] == 9
    assert [weekly[label] for label in metric.details["week_labels"][:13]] == [None] * 13
    assert metric.details["reconstructed_weeks"] == ["2025-02"]
    # Previous period 2024-12-23..2025-01-05 starts before 2025-01-01: no previous value, trend null/flat.
    assert metric.details["previous_value"] is None and metric.details["trend_direction"] == "flat"


def test_flow_load_status_at_an_instant_is_the_one_entered_at_or_before_it():
    metric = run(LOAD_ISSUES, now=datetime(2025, 1, 18, tzinfo=UTC))["flow_load"]
    # as_of = 01-18 00:00 exactly when W3 moved to Done: W3 is Done at that instant. W1, W2 and W4 are in WIP → 3.
    assert metric.value == 3.0


def test_flow_load_no_items_is_no_data():
    metric = run([issue("DEP", "2025-01-08", "In Progress", cf_deploy="2025-01-09")])["flow_load"]
    assert metric.error_state == "no_data" and metric.error_message == "No work items in the data"


# ---------------------------------------------------------------- flow distribution


def test_flow_distribution_shares_sum_to_100():
    kinds = {"D1": {"value": "Feature"}, "D2": "Story", "D3": "Bug", "D4": "tech debt", "D5": "Chore", "D6": None,
             "D7": "RISK"}
    raw = [done(key, "2025-01-07T00:00:00Z", "2025-01-08T00:00:00Z", cf_type=value) for key, value in kinds.items()]
    raw.append(done("LATE", "2025-01-07T00:00:00Z", "2025-02-08T00:00:00Z", cf_type="Feature"))
    metric = run(raw)["flow_distribution"]
    # Feature: D1 and D2 (Story → Feature); Defect D3 (Bug); Technical_Debt D4 ("Tech Debt", ignoring case);
    # Risk D7; Other D5 and D6 (empty). 7 items in the period; Feature share 2 / 7.
    assert metric.details["counts"] == {"Feature": 2, "Defect": 1, "Risk": 1, "Technical_Debt": 1, "Other": 2}
    assert metric.value == pytest.approx(200 / 7)
    assert sum(metric.details["distribution"].values()) == pytest.approx(100.0, abs=1e-9)
    assert metric.total_issue_count == 7 and metric.excluded_issue_count == 0


def test_flow_distribution_needs_the_flow_item_type_mapping_and_accepts_issuetype():
    raw = [done("S1", "2025-01-07T00:00:00Z", "2025-01-08T00:00:00Z"),
           done("B1", "2025-01-07T00:00:00Z", "2025-01-08T00:00:00Z", issue_type="Bug")]
    unmapped = run(raw, make_settings())["flow_distribution"]
    assert unmapped.error_state == "missing_mapping" and unmapped.error_message == "Map the Flow Item Type field"
    assert unmapped.details["missing_fields"] == ["flow_item_type"]
    standard = run(raw, make_settings(flow={"flow_item_type": "issuetype"}))["flow_distribution"]
    # Story → Feature, Bug → Defect by the default flow-type mappings: 50 % Feature.
    assert standard.value == pytest.approx(50.0)
    assert standard.details["distribution"] == {"Feature": 50.0, "Defect": 50.0, "Risk": 0.0, "Technical_Debt": 0.0}


# ---------------------------------------------------------------- configuration


def test_empty_status_lists_are_reported_not_zero():
    raw = [done("A", "2025-01-07T00:00:00Z", "2025-01-08T00:00:00Z")]
    no_completed = run(raw, flow_settings(completed_statuses=[]))
    assert no_completed["flow_velocity"].error_state == "missing_mapping"
    assert no_completed["flow_velocity"].error_message == (
        "Set the completed statuses (or map the Work Completed Date field)")
    assert no_completed["flow_velocity"].details["missing_settings"] == ["completed_statuses"]
    assert no_completed["flow_load"].error_state == "success"
    mapped_completion = flow_settings(completed_statuses=[], flow={"work_completed_date": "resolutiondate"})
    raw_resolved = [done("A", "2025-01-07T00:00:00Z", "2025-01-08T00:00:00Z", resolutiondate="2025-01-08")]
    assert run(raw_resolved, mapped_completion)["flow_velocity"].value == 0.5  # 1 × 7 / 14
    no_active = run(raw, flow_settings(active_statuses=[]))["flow_efficiency"]
    assert no_active.error_message == "Set the active statuses (or map the Active Work Hours field)"
    no_wip = run(raw, flow_settings(wip_statuses=[]))
    assert no_wip["flow_load"].error_message == "Set the WIP statuses"
    assert no_wip["flow_time"].error_message == "Set the WIP statuses (or map the Work Started Date field)"


# ---------------------------------------------------------------- the real Jira Cloud sample


def test_every_metric_runs_on_the_real_cloud_sample():
    settings = make_settings(
        dora={"deployment_date": "resolutiondate", "code_commit_date": "created",
              "deployed_to_production_date": "resolutiondate", "incident_detected_at": "created",
              "incident_resolved_at": "resolutiondate", "deployment_successful": "customfield_10060"},
        flow={"flow_item_type": "issuetype", "work_started_date": "customfield_10015"},
        completed_statuses=SAMPLE_COMPLETED, wip_statuses=["In Progress", "In Development", "Open"],
        active_statuses=["In Progress", "In Development"], deployment_issue_types=["Test Execution"],
        incident_issue_types=["缺陷"], flow_type_mappings={"Feature": ["故事", "Story"], "Defect": ["缺陷"],
                                                           "Risk": [], "Technical_Debt": ["任务", "子任务"]})
    frames = build_issue_frames(sample_issues(), settings)
    period = Period(date(2020, 6, 1), date(2020, 7, 15))
    now = datetime(2021, 6, 1, tzinfo=UTC)
    results = {**calculate_dora_metrics(frames, settings, period, now),
               **calculate_flow_metrics(frames, settings, period, now)}
    assert len(results) == 9
    assert all(m.error_state != "calculation_error" for m in results.values()), {
        k: m.error_message for k, m in results.items()}
    states = {name: m.error_state for name, m in results.items()}
    # "End date" values are dates, not boolean-like: every deployment is excluded from the failure rate.
    assert states.pop("change_failure_rate") == "no_data"
    assert set(states.values()) == {"success"}
    # The only Test Execution issue (EE-37) resolved 2020-06-18 12:04 +0800: 1 deployment × 30 / 45 days.
    assert results["deployment_frequency"].value == pytest.approx(30 / 45)
    # The only 缺陷 (EE-23): created 2020-06-12 08:33:57.204, resolved 2020-06-15 17:07:56.798 (+0800).
    expected_hours = (pd.Timestamp("2020-06-15T17:07:56.798+0800")
                      - pd.Timestamp("2020-06-12T08:33:57.204+0800")) / pd.Timedelta(hours=1)
    assert results["mean_time_to_recovery"].value == pytest.approx(expected_hours)
    distribution = results["flow_distribution"].details["distribution"]
    assert sum(distribution.values()) == pytest.approx(100.0)
    for metric in results.values():
        assert len(metric.details["weekly_values"]) == 16
        metric.to_dict()


def test_current_flow_load_is_the_snapshot_content_at_now():
    frames = build_issue_frames(LOAD_ISSUES, flow_settings())
    load = current_flow_load(frames, flow_settings(), datetime(2025, 1, 12, tzinfo=UTC))
    # Same instant as the capped headline above: W1, W3, W4 In Progress (Story issues) → 3.
    assert load["wip_count"] == 3
    assert load["by_status"] == {"In Progress": 3} and load["by_issue_type"] == {"Story": 3}
    assert load["as_of"] == pd.Timestamp("2025-01-12T00:00:00Z")
