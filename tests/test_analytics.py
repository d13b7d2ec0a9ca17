"""The five analytics sections (ANALYTICS.md) on a small hand-made team whose every number is worked out by
hand in the comments, plus the real Jira Cloud sample (non-ASCII statuses, +0800 offsets)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from data.metrics.analytics import calculate_analytics
from data.metrics.flow_calculator import calculate_flow_metrics
from data.metrics.issue_frame import build_issue_frames
from data.metrics.periods import Period

NOW = datetime(2025, 3, 12, 12, 0, tzinfo=UTC)
PERIOD = Period("2025-03-03", "2025-03-12")  # Monday 3 March .. Wednesday 12 March: ISO weeks 2025-10, 2025-11
REAL_SAMPLE = Path("/work/shared/jira-samples/real-cloud-issues.json")
SETTINGS = {"dora_flow_config": {
    "wip_statuses": ["In Progress", "Review"],
    "active_statuses": ["In Progress"],
    "completed_statuses": ["Done", "已完成"],
    "field_mappings": {"flow": {"flow_item_type": "issuetype"}},
    "flow_type_mappings": {"Feature": ["Story"], "Defect": ["Bug"]},
}}


def issue(key: str, kind: str, created: str, *changes: tuple[str, str, str]) -> dict:
    """An issue created at ``created`` with status changes (time, from, to); its status is the last ``to``."""
    status = changes[-1][2] if changes else "To Do"
    histories = [{"id": str(i), "created": at, "items": [{"field": "status", "fromString": old, "toString": new}]}
                 for i, (at, old, new) in enumerate(changes)]
    return {"key": key, "fields": {"issuetype": {"name": kind}, "status": {"name": status}, "created": created},
            "changelog": {"histories": histories}}


TEAM = [
    # In Progress 3 Mar 00:00 -> Review 5 Mar -> Done 6 Mar: cycle 3 d (2 d In Progress, 1 d Review).
    issue("A-1", "Story", "2025-03-01T00:00:00.000+0000", ("2025-03-03T00:00:00.000+0000", "To Do", "In Progress"),
          ("2025-03-05T00:00:00.000+0000", "In Progress", "Review"),
          ("2025-03-06T00:00:00.000+0000", "Review", "Done")),
    # In Progress 4 Mar -> Done 5 Mar: cycle 1 d, all In Progress.
    issue("A-2", "Bug", "2025-03-02T00:00:00.000+0000", ("2025-03-04T00:00:00.000+0000", "To Do", "In Progress"),
          ("2025-03-05T00:00:00.000+0000", "In Progress", "Done")),
    # In Progress 2 Mar 12:00 -> Review 3 Mar 12:00 (written in +0800) -> In Progress 8 Mar 12:00 -> Done
    # 10 Mar 12:00: cycle 8 d = In Progress 1 + 2 d, Review 5 d.
    issue("A-3", "Story", "2025-03-01T00:00:00.000+0000", ("2025-03-02T12:00:00.000+0000", "To Do", "In Progress"),
          ("2025-03-03T20:00:00.000+0800", "In Progress", "Review"),
          ("2025-03-08T12:00:00.000+0000", "Review", "In Progress"),
          ("2025-03-10T12:00:00.000+0000", "In Progress", "Done")),
    # In Progress since 6 Mar 00:00: 6.5 d old at now (12 Mar 12:00).
    issue("A-4", "Story", "2025-03-04T00:00:00.000+0000", ("2025-03-06T00:00:00.000+0000", "To Do", "In Progress")),
    # created 10 Mar, Review since 11 Mar 00:00: 1.5 d old at now.
    issue("A-5", "Bug", "2025-03-10T00:00:00.000+0000", ("2025-03-11T00:00:00.000+0000", "To Do", "Review")),
    # never moved.
    issue("A-6", "Story", "2025-03-01T00:00:00.000+0000"),
    # completed in February, in the non-ASCII completed status 已完成.
    issue("A-7", "Story", "2025-02-01T00:00:00.000+0000", ("2025-02-02T00:00:00.000+0000", "To Do", "In Progress"),
          ("2025-02-20T00:00:00.000+0000", "In Progress", "已完成")),
    # created 5 Mar, straight to Done on 7 Mar: completed in the period without a start (excluded).
    issue("A-8", "Bug", "2025-03-05T00:00:00.000+0000", ("2025-03-07T00:00:00.000+0000", "To Do", "Done")),
]


def analytics(period: Period = PERIOD, now: datetime = NOW, settings: dict | None = None, team=None) -> dict:
    settings = settings or SETTINGS
    return calculate_analytics(build_issue_frames(team or TEAM, settings), settings, period, now)


def test_envelope_is_json_with_every_section():
    result = analytics()
    assert list(result) == ["period", "team", "cycle_time", "aging_wip", "time_in_status", "cfd", "throughput"]
    assert result["period"] == {"start": "2025-03-03", "end": "2025-03-12"} and result["team"] is None
    assert json.loads(json.dumps(result, allow_nan=False)) == result
    assert all(result[name]["error_state"] == "success" and result[name]["error_message"] is None
               for name in ("cycle_time", "aging_wip", "time_in_status", "cfd", "throughput"))


def test_cycle_time_points_and_percentiles():
    section = analytics()["cycle_time"]
    # Completed in the period: A-2 (5 Mar), A-1 (6 Mar), A-8 (7 Mar, no start: excluded), A-3 (10 Mar 12:00).
    assert section["total_issue_count"] == 4 and section["excluded_issue_count"] == 1
    assert section["points"] == [
        {"key": "A-2", "completed_at": "2025-03-05T00:00:00.000Z", "cycle_time_days": 1.0, "flow_type": "Defect"},
        {"key": "A-1", "completed_at": "2025-03-06T00:00:00.000Z", "cycle_time_days": 3.0, "flow_type": "Feature"},
        {"key": "A-3", "completed_at": "2025-03-10T12:00:00.000Z", "cycle_time_days": 8.0, "flow_type": "Feature"},
    ]
    # [1, 3, 8]: rank (n-1)p: 50 -> 1 -> 3; 70 -> 1.4 -> 3 + 0.4*5 = 5; 85 -> 1.7 -> 6.5; 95 -> 1.9 -> 7.5.
    assert section["percentiles"] == {"50": 3.0, "70": 5.0, "85": 6.5, "95": 7.5}


def test_cycle_time_ties_sort_by_key_and_flow_type_is_null_when_unmapped():
    settings = {"dora_flow_config": {**SETTINGS["dora_flow_config"], "field_mappings": {}}}
    team = [issue(key, "Story", "2025-03-01T00:00:00.000+0000",
                  ("2025-03-02T00:00:00.000+0000", "To Do", "In Progress"),
                  ("2025-03-04T00:00:00.000+0000", "In Progress", "Done")) for key in ("B-2", "B-10", "B-1")]
    points = analytics(settings=settings, team=team)["cycle_time"]["points"]
    # Same completion instant: by key as text ("B-1" < "B-10" < "B-2").
    assert [p["key"] for p in points] == ["B-1", "B-10", "B-2"]
    assert {p["flow_type"] for p in points} == {None}


def test_aging_wip_at_now():
    section = analytics()["aging_wip"]
    # as_of = min(12 Mar 23:59:59.999999, now 12 Mar 12:00) = now. In WIP: A-4 In Progress since 6 Mar 00:00
    # (6.5 d), A-5 Review since 11 Mar 00:00 (1.5 d; its start is its first WIP entry).
    assert section["as_of"] == "2025-03-12T12:00:00.000Z" and section["count"] == 2
    assert section["items"] == [
        {"key": "A-4", "status": "In Progress", "age_days": 6.5, "flow_type": "Feature"},
        {"key": "A-5", "status": "Review", "age_days": 1.5, "flow_type": "Defect"},
    ]
    # p85 = 6.5: an age equal to it does not exceed it.
    assert section["percentiles"]["85"] == 6.5 and section["over_85"] == 0
    assert section["by_status"] == {"In Progress": 1, "Review": 1}


def test_aging_wip_at_the_end_of_a_past_period():
    section = analytics(period=Period("2025-03-03", "2025-03-05"))["aging_wip"]
    # as_of = 5 Mar 23:59:59.999999: A-1 in Review (started 3 Mar 00:00: 3 d − 1 µs), A-3 in Review (started
    # 2 Mar 12:00: 3.5 d − 1 µs); A-2 is Done since 5 Mar 00:00, A-4 still To Do.
    assert section["as_of"] == "2025-03-05T23:59:59.999Z"
    assert [(i["key"], i["status"]) for i in section["items"]] == [("A-3", "Review"), ("A-1", "Review")]
    assert section["items"][0]["age_days"] == pytest.approx(3.5 - 1e-6 / 86400, abs=1e-12)
    # The period's only point is A-2 (1 d), so every percentile is 1 and both items exceed p85.
    assert section["percentiles"] == {"50": 1.0, "70": 1.0, "85": 1.0, "95": 1.0} and section["over_85"] == 2


def test_aging_wip_unknown_age_sorts_last():
    settings = {"dora_flow_config": {**SETTINGS["dora_flow_config"],
                                     "field_mappings": {"flow": {"work_started_date": "cf_start"}}}}
    team = [issue("C-1", "Story", "2025-03-01T00:00:00.000+0000",
                  ("2025-03-02T00:00:00.000+0000", "To Do", "In Progress")) for _ in range(3)]
    for raw, key, start in zip(team, ("C-1", "C-2", "C-3"), ("not a date", "2025-03-11T00:00:00Z", "2025-03-20"),
                               strict=True):
        raw["key"], raw["fields"]["cf_start"] = key, start
    items = analytics(settings=settings, team=team)["aging_wip"]["items"]
    # C-2 started 11 Mar 00:00: 1.5 d. C-1's start does not parse and C-3's is after as_of: null, last, by key.
    assert items == [{"key": "C-2", "status": "In Progress", "age_days": 1.5, "flow_type": None},
                     {"key": "C-1", "status": "In Progress", "age_days": None, "flow_type": None},
                     {"key": "C-3", "status": "In Progress", "age_days": None, "flow_type": None}]


def test_time_in_status_shares_and_bottleneck():
    section = analytics()["time_in_status"]
    # Σ flow time = 1 + 3 + 8 = 12 d. In Progress: A-2 1, A-1 2, A-3 3 = 6 d (3 items, median 2);
    # Review: A-1 1, A-3 5 = 6 d (2 items, median 3). A tie of 6 d: by name. Bottleneck: Review (not active).
    assert section["statuses"] == [
        {"status": "In Progress", "total_days": 6.0, "share_percent": 50.0, "items": 3, "median_days": 2.0,
         "active": True},
        {"status": "Review", "total_days": 6.0, "share_percent": 50.0, "items": 2, "median_days": 3.0,
         "active": False},
    ]
    assert section["bottleneck"] == "Review"


def test_cfd_counts_and_band_order():
    section = analytics()["cfd"]
    assert section["days"] == [f"2025-03-{d:02d}" for d in range(3, 13)]
    # Replayed by hand at each day's end (12 Mar: at now, 12:00); A-7 sits in 已完成 throughout.
    assert section["counts"] == {
        "Done": [0, 0, 1, 2, 3, 3, 3, 4, 4, 4],
        "已完成": [1] * 10,
        "Review": [1, 1, 2, 1, 1, 0, 0, 0, 1, 1],
        "In Progress": [1, 2, 0, 1, 1, 2, 2, 1, 1, 1],
        "To Do": [2, 2, 3, 2, 1, 1, 1, 2, 1, 1],
    }
    # Completed statuses in settings order, WIP statuses reversed, then the rest by name.
    assert section["order"] == ["Done", "已完成", "Review", "In Progress", "To Do"]


def test_cfd_and_throughput_stop_at_the_day_of_now():
    result = analytics(now=datetime(2025, 3, 5, 0, 0, tzinfo=UTC))
    # Days 3, 4, 5 March; 5 March's instant is now (00:00), the very moment A-1 enters Review and A-2 Done.
    assert result["cfd"]["days"] == ["2025-03-03", "2025-03-04", "2025-03-05"]
    assert result["cfd"]["counts"]["Review"] == [1, 1, 2] and result["cfd"]["counts"]["Done"] == [0, 0, 1]
    assert result["throughput"]["days"] == result["cfd"]["days"] and result["throughput"]["daily"] == [0, 0, 1]


def test_throughput_days_and_partial_weeks():
    section = analytics()["throughput"]
    # Completions: A-2 5 Mar, A-1 6 Mar, A-8 7 Mar, A-3 10 Mar (A-7 is February's).
    assert section["daily"] == [0, 0, 1, 1, 1, 0, 0, 1, 0, 0]
    # Week 2025-10 = 3..9 Mar (3), week 2025-11 counted over 10..12 Mar only (1).
    assert section["weekly"] == {"labels": ["2025-10", "2025-11"], "values": [3, 1]}


def test_headlines_are_the_cards_values():
    frames = build_issue_frames(TEAM, SETTINGS)
    cards = calculate_flow_metrics(frames, SETTINGS, PERIOD, NOW)
    result = calculate_analytics(frames, SETTINGS, PERIOD, NOW)
    assert result["cycle_time"]["percentiles"]["50"] == cards["flow_time"].value == 3.0
    assert result["aging_wip"]["count"] == cards["flow_load"].value == 2
    assert sum(result["throughput"]["daily"]) == cards["flow_velocity"].details["completed_count"] == 4


def test_missing_status_lists_are_missing_mapping():
    no_done = {"dora_flow_config": {**SETTINGS["dora_flow_config"], "completed_statuses": []}}
    result = analytics(settings=no_done)
    for name in ("cycle_time", "time_in_status", "throughput"):
        assert result[name]["error_state"] == "missing_mapping", name
        assert "completed statuses" in result[name]["error_message"]
    assert result["cycle_time"]["points"] == [] and result["throughput"]["daily"] == []
    assert result["aging_wip"]["error_state"] == "success" and result["aging_wip"]["count"] == 2
    assert result["aging_wip"]["percentiles"] == {"50": None, "70": None, "85": None, "95": None}
    assert result["aging_wip"]["over_85"] is None
    no_wip = {"dora_flow_config": {**SETTINGS["dora_flow_config"], "wip_statuses": []}}
    result = analytics(settings=no_wip)
    assert result["aging_wip"]["error_state"] == "missing_mapping" and result["aging_wip"]["count"] is None
    assert "WIP statuses" in result["aging_wip"]["error_message"]
    assert result["cfd"]["error_state"] == "success"


def test_no_data_states():
    result = analytics(period=Period("2025-01-06", "2025-01-12"))
    # Nothing completed in that January week: no points, no time to split; no item exists yet (the first, A-7,
    # is created on 1 Feb), so no band has a count.
    assert result["cycle_time"]["error_state"] == "no_data"
    assert result["cycle_time"]["error_message"] == "No work items completed in this period"
    assert result["time_in_status"]["error_state"] == "no_data"
    assert result["cfd"]["counts"] == {} and result["cfd"]["order"] == []
    assert result["throughput"]["error_state"] == "success" and result["throughput"]["daily"] == [0] * 7
    empty = analytics(team=[issue("D-1", "Story", "not a time")])
    assert empty["aging_wip"]["error_state"] == "no_data" and empty["cfd"]["error_state"] == "no_data"
    assert empty["throughput"]["error_state"] == "no_data"


def test_real_cloud_sample():
    """Real Jira Cloud data: non-ASCII statuses and +0800 offsets go through every section, and the headlines
    are the cards' (the sample's first year: 30 items completed, 13 of them after a WIP status)."""
    raw = json.loads(REAL_SAMPLE.read_text(encoding="utf-8"))["issues"]
    settings = {"dora_flow_config": {"wip_statuses": ["In Development", "In Progress", "Ready for Dev"],
                                     "active_statuses": ["In Development"],
                                     "completed_statuses": ["已完成", "Resolved", "Closed"]}}
    frames = build_issue_frames(raw, settings)
    now = datetime(2022, 7, 17, tzinfo=UTC)
    period = Period("2020-06-12", "2021-06-11")
    result = calculate_analytics(frames, settings, period, now)
    cards = calculate_flow_metrics(frames, settings, period, now)
    assert all(result[name]["error_state"] == "success" for name in ("cycle_time", "time_in_status", "cfd",
                                                                      "throughput", "aging_wip"))
    assert result["cycle_time"]["total_issue_count"] == 30 and len(result["cycle_time"]["points"]) == 13
    assert result["cycle_time"]["percentiles"]["50"] == cards["flow_time"].value
    assert result["aging_wip"]["count"] == cards["flow_load"].value
    assert sum(result["throughput"]["daily"]) == cards["flow_velocity"].details["completed_count"] == 30
    # Every start comes from the status timeline (never before creation): the shares add up to 100.
    assert sum(row["share_percent"] for row in result["time_in_status"]["statuses"]) == pytest.approx(100.0)
    assert result["cfd"]["order"][0] == "已完成"
    assert json.loads(json.dumps(result, ensure_ascii=False)) == result
