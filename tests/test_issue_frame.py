"""Normalisation of raw Jira issues into the issue and interval tables (docs/metrics.md, Common rules and
Status timeline). Expected values are worked out by hand from the literal inputs; each test says how.

The small builders at the top (``issue``, ``change``, ``make_settings``) are shared with the calculator tests.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from configuration.defaults import DEFAULT_SETTINGS
from data.metrics.field_values import boolean_value, number_value, option_text, parse_jira_time, parse_timestamps
from data.metrics.issue_frame import build_issue_frames, ensure_derived
from data.metrics.issue_tables import FramesMismatchError

SAMPLE = Path("/work/shared/jira-samples/real-cloud-issues.json")
SAMPLE_COMPLETED = ["已完成", "Closed", "Resolved", "Done"]


def change(at: str, from_status: str | None, to_status: str, *, extra_items: bool = False) -> dict:
    """One changelog history with a single status item (plus an unrelated item when asked)."""
    items = [{"field": "status", "fieldtype": "jira", "fieldId": "status", "from": "1", "fromString": from_status,
              "to": "2", "toString": to_status}]
    if extra_items:
        items.insert(0, {"field": "assignee", "fieldtype": "jira", "fromString": "A", "toString": "B"})
    return {"id": "1", "created": at, "items": items}


def issue(key: str, created: str | None, status: str | None, changes: list[dict] | tuple = (), *,
          issue_type: str = "Story", newest_first: bool = True, **fields: Any) -> dict:
    """A Jira issue in the REST shape; ``changes`` are given oldest first and stored newest first by default
    (as Jira's search returns them)."""
    histories = list(reversed(changes)) if newest_first else list(changes)
    body = {"summary": f"Summary of {key}", "issuetype": {"name": issue_type}, "project": {"key": "PRJ"},
            "status": {"name": status, "statusCategory": {"key": "x"}} if status is not None else None,
            "created": created, "updated": created, **fields}
    return {"id": str(abs(hash(key)) % 100000), "key": key, "fields": body,
            "changelog": {"startAt": 0, "maxResults": 100, "total": len(histories), "histories": histories}}


def make_settings(dora: dict | None = None, flow: dict | None = None, **config: Any) -> dict:
    """Default settings with the given mappings (mapping key -> field id) and dora_flow_config overrides."""
    settings = copy.deepcopy(DEFAULT_SETTINGS)
    section = settings["dora_flow_config"]
    section["field_mappings"]["dora"].update(dora or {})
    section["field_mappings"]["flow"].update(flow or {})
    section.update(config)
    return settings


def sample_issues() -> list[dict]:
    return json.loads(SAMPLE.read_text(encoding="utf-8"))["issues"]


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text).tz_convert("UTC") if pd.Timestamp(text).tzinfo else pd.Timestamp(text, tz="UTC")


def row(frames, key: str) -> pd.Series:
    return frames.issues.loc[frames.issues["key"] == key].iloc[0]


def statuses(frames, key: str) -> list[tuple[str, pd.Timestamp, Any]]:
    idx = int(frames.issues.index[frames.issues["key"] == key][0])
    part = frames.intervals[frames.intervals["issue_idx"] == idx]
    return list(zip(part["status"], part["entered"], part["left"], strict=True))


# ---------------------------------------------------------------- field values


def test_timestamps_parse_every_jira_and_iso_form_to_utc():
    values = ["2025-01-15T10:00:00.000+0000", "2025-01-15T10:00:00.000+0800", "2025-01-15T10:00:00Z",
              "2025-01-15T10:00:00+05:30", "2025-01-15", "2025-01-15T10:00:00", "garbage", None, "",
              1736935200, 1736935200000, "2025-02-30"]
    parsed = list(parse_timestamps(values))
    # +0800 is 8 hours ahead of UTC, +05:30 five and a half; date-only is midnight UTC; no offset reads as UTC;
    # 1736935200 s = 1736935200000 ms = 2025-01-15 10:00 UTC; 30 February does not exist.
    assert parsed[:6] == [utc("2025-01-15 10:00"), utc("2025-01-15 02:00"), utc("2025-01-15 10:00"),
                          utc("2025-01-15 04:30"), utc("2025-01-15 00:00"), utc("2025-01-15 10:00")]
    assert all(pd.isna(v) for v in parsed[6:9])
    assert parsed[9] == parsed[10] == utc("2025-01-15 10:00")
    assert pd.isna(parsed[11])
    assert str(parse_timestamps(values).dtype) == "datetime64[us, UTC]"


def test_epoch_seconds_and_milliseconds():
    parsed = list(parse_timestamps([1736935200, 1736935200000.0, 1736935200.5]))
    # Under 1e11 the number is seconds, at or above it milliseconds.
    assert parsed == [utc("2025-01-15 10:00"), utc("2025-01-15 10:00"), utc("2025-01-15 10:00:00.5")]


UNUSABLE_TIMES = [9e18, 9_000_000_000_000_000_000, 1e308, float("nan"), float("inf"), 10**400,
                  "10000-01-01T00:00:00.000+0000", "9999-12-31T23:59:59.000-1200", "0001-01-01T00:00:00+1400",
                  "1" * 5000, 4e15, -4e15, 2e14, "2262-04-12T00:00:00Z", "1677-01-01T00:00:00Z"]


def test_timestamps_beyond_any_calendar_become_nat_not_errors():
    # Mixed with a good value so both the string and the number paths run. 4e15 is taken as milliseconds
    # (≥ 1e11): year 128,000; 2e14 ms is the year 8307; the last two lie just outside 1678–2262.
    parsed = list(parse_timestamps([*UNUSABLE_TIMES, "2025-01-15T10:00:00.000+0000"]))
    assert all(pd.isna(value) for value in parsed[:-1])
    assert parsed[-1] == utc("2025-01-15 10:00")
    strings_only = [v for v in UNUSABLE_TIMES if isinstance(v, str)]
    assert all(pd.isna(value) for value in parse_timestamps(strings_only))


@pytest.mark.parametrize("value", UNUSABLE_TIMES, ids=lambda value: repr(value)[:32])
def test_parse_jira_time_gives_none_beyond_any_calendar(value):
    assert parse_jira_time(value) is None


def test_parse_jira_time_keeps_the_edges_of_the_range():
    assert parse_jira_time("1678-01-01T00:00:00Z") == datetime(1678, 1, 1, tzinfo=UTC)
    assert parse_jira_time(1736935200) == datetime(2025, 1, 15, 10, tzinfo=UTC)


def test_issues_with_unusable_times_are_kept_and_their_changes_ignored():
    raw = [issue("A-1", "2025-01-01", "Done", [change("2025-01-02T00:00:00Z", "To Do", "Done")])]
    for n, value in enumerate(UNUSABLE_TIMES):
        bad_change = change("2025-01-03T00:00:00Z", "Done", "To Do")
        bad_change["created"] = value
        raw[0]["changelog"]["histories"].append(bad_change)
        raw.append(issue(f"B-{n}", None, "To Do", resolutiondate=value, updated=value,
                         customfield_1=value, customfield_2=value))
        raw[-1]["fields"]["created"] = value
        raw[-1]["id"] = value if isinstance(value, int) else raw[-1]["id"]
    frames = build_issue_frames(raw, make_settings(dora={"deployment_date": "customfield_1"},
                                                   flow={"active_work_hours": "customfield_2"}))
    # A-1 keeps its one readable change; every B issue is kept with no dates; as a number of hours, 9e18 is a
    # number (if an odd one) while NaN, infinity and 10**400 are none.
    assert [s for s, _, _ in statuses(frames, "A-1")] == ["To Do", "Done"]
    assert len(frames.issues) == 1 + len(UNUSABLE_TIMES)
    others = frames.issues[frames.issues["key"] != "A-1"]
    assert others[["created", "updated", "resolved", "deployment_date"]].isna().all().all()
    hours = others["active_work_hours"].to_numpy()
    assert np.isfinite(hours[~np.isnan(hours)]).all() and np.isnan(hours[3:6]).all()


@pytest.mark.parametrize(("value", "expected"), [
    ("  Production ", "Production"),
    ({"value": " Staging"}, "Staging"),
    ({"name": "Story", "id": "10001"}, "Story"),
    ({"value": "", "name": "Fallback"}, "Fallback"),
    ([{"value": ""}, {"value": "Second"}], "Second"),
    ([], None),
    ("   ", None),
    (None, None),
    (3, "3"),
    (2.0, "2"),
    (True, "true"),
    ({"id": "1"}, None),
])
def test_option_text(value, expected):
    assert option_text(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    *[(word, True) for word in ("true", "YES", " y ", "1", "Success", "successful", "PASSED")],
    *[(word, False) for word in ("false", "No", "n", "0", "FAILED", "failure")],
    (True, True), (False, False), (1, True), (0, False), (1.0, True), (2, None),
    ({"value": "Yes"}, True), ([{"value": "No"}], False), ("maybe", None), ("", None), (None, None),
])
def test_boolean_like_values(value, expected):
    assert boolean_value(value) is expected


@pytest.mark.parametrize(("value", "expected"), [
    (5, 5.0), ("12.5", 12.5), (" 3 ", 3.0), ({"value": "4"}, 4.0), (True, None), ("lots", None),
    (float("nan"), None), (None, None),
])
def test_number_values(value, expected):
    assert number_value(value) == expected


# ---------------------------------------------------------------- status timeline


def test_interval_table_follows_the_changelog():
    raw = [issue("A-1", "2025-01-01T00:00:00.000+0000", "Done", [
        change("2025-01-02T00:00:00.000+0000", "To Do", "In Progress", extra_items=True),
        change("2025-01-04T12:00:00.000+0000", "In Progress", "Done"),
    ])]
    frames = build_issue_frames(raw, make_settings())
    # The first status is the oldest change's fromString, holding from created; each change starts its toString.
    assert [(s, e) for s, e, _ in statuses(frames, "A-1")] == [
        ("To Do", utc("2025-01-01")), ("In Progress", utc("2025-01-02")), ("Done", utc("2025-01-04 12:00"))]
    lefts = [left for _, _, left in statuses(frames, "A-1")]
    assert lefts[:2] == [utc("2025-01-02"), utc("2025-01-04 12:00")] and pd.isna(lefts[2])
    assert list(frames.intervals["status_key"].astype(object)) == ["to do", "in progress", "done"]
    assert len(frames.transitions) == 2


def test_newest_first_and_oldest_first_changelogs_give_the_same_timeline():
    changes = [change("2025-01-02T00:00:00.000+0000", "To Do", "In Progress"),
               change("2025-01-03T00:00:00.000+0800", "In Progress", "In Review"),
               change("2025-01-05T00:00:00Z", "In Review", "Done")]
    newest = build_issue_frames([issue("A-1", "2025-01-01", "Done", changes, newest_first=True)], make_settings())
    oldest = build_issue_frames([issue("A-1", "2025-01-01", "Done", changes, newest_first=False)], make_settings())
    assert statuses(newest, "A-1") == statuses(oldest, "A-1")
    # 2025-01-03 00:00 +0800 is 2025-01-02 16:00 UTC, still after the 2025-01-02 00:00 change.
    assert [s for s, _, _ in statuses(newest, "A-1")] == ["To Do", "In Progress", "In Review", "Done"]
    assert statuses(newest, "A-1")[2][1] == utc("2025-01-02 16:00")


@pytest.mark.parametrize("newest_first", [True, False])
def test_changes_at_the_same_instant_keep_the_history_order(newest_first):
    same = "2025-01-02T00:00:00.000+0000"
    changes = [change(same, "To Do", "In Progress"), change(same, "In Progress", "Done")]
    frames = build_issue_frames([issue("A-1", "2025-01-01", "Done", changes, newest_first=newest_first)],
                                make_settings())
    # All changes share one time, so the order is told by which change leads to the current status (Done).
    assert [s for s, _, _ in statuses(frames, "A-1")] == ["To Do", "In Progress", "Done"]


def test_ties_inside_a_longer_changelog_follow_its_direction():
    same = "2025-01-02T00:00:00.000+0000"
    changes = [change(same, "To Do", "In Progress"), change(same, "In Progress", "Blocked"),
               change("2025-01-03T00:00:00.000+0000", "Blocked", "Done")]
    for newest_first in (True, False):
        frames = build_issue_frames([issue("A-1", "2025-01-01", "Done", changes, newest_first=newest_first)],
                                    make_settings())
        assert [s for s, _, _ in statuses(frames, "A-1")] == ["To Do", "In Progress", "Blocked", "Done"]


def test_status_items_are_found_by_field_or_field_id_and_unparseable_change_times_are_ignored():
    by_id = {"id": "9", "created": "2025-01-03T00:00:00Z",
             "items": [{"field": "Status", "fieldId": "status", "fromString": "In Progress", "toString": "Done"}]}
    broken = change("not a time", "Done", "Reopened")
    raw = [issue("A-1", "2025-01-01", "Done", [change("2025-01-02T00:00:00Z", "To Do", "In Progress")])]
    raw[0]["changelog"]["histories"] = [by_id, broken, *raw[0]["changelog"]["histories"]]
    frames = build_issue_frames(raw, make_settings())
    assert [s for s, _, _ in statuses(frames, "A-1")] == ["To Do", "In Progress", "Done"]


def test_issue_without_changes_holds_its_current_status_from_created():
    frames = build_issue_frames([issue("A-1", "2025-01-01T08:00:00+0800", "In Progress")], make_settings())
    assert [(s, e) for s, e, _ in statuses(frames, "A-1")] == [("In Progress", utc("2025-01-01 00:00"))]


def test_missing_current_status_is_the_timelines_last_status():
    raw = [issue("A-1", "2025-01-01", None, [change("2025-01-02T00:00:00Z", "To Do", "Done")])]
    frames = build_issue_frames(raw, make_settings())
    assert row(frames, "A-1")["status"] == "Done"


# ---------------------------------------------------------------- started_at / completed_at


def _derived(raw: list[dict], settings: dict | None = None):
    return build_issue_frames(raw, settings or make_settings())


def test_started_at_is_created_when_created_in_progress_else_first_wip_entry():
    raw = [
        issue("IN-PROGRESS-AT-CREATION", "2025-01-01", "Done",
              [change("2025-01-03T00:00:00Z", "In Progress", "Done")]),
        issue("LATER", "2025-01-01", "Done", [change("2025-01-02T06:00:00Z", "To Do", "In Review"),
                                               change("2025-01-03T00:00:00Z", "In Review", "In Progress"),
                                               change("2025-01-04T00:00:00Z", "In Progress", "Done")]),
        issue("NEVER", "2025-01-01", "Done", [change("2025-01-02T00:00:00Z", "To Do", "Done")]),
    ]
    frames = _derived(raw)
    assert row(frames, "IN-PROGRESS-AT-CREATION")["started_at"] == utc("2025-01-01")
    # In Review is a WIP status (default settings), so the first WIP entry is the 06:00 move into it.
    assert row(frames, "LATER")["started_at"] == utc("2025-01-02 06:00")
    assert pd.isna(row(frames, "NEVER")["started_at"])


def test_completed_at_rules_reopen_done_to_closed_and_created_done():
    raw = [
        # Done -> Closed is not a new entry: completed when it first became Done. (Listed first so that the
        # next issue, created done, directly follows an issue whose last status is completed.)
        issue("DONE-CLOSED", "2025-01-01", "Closed", [change("2025-01-02T00:00:00Z", "To Do", "In Progress"),
                                                      change("2025-01-03T00:00:00Z", "In Progress", "Done"),
                                                      change("2025-01-05T00:00:00Z", "Done", "Closed")]),
        # Created in a completed status and never left it: completed at creation.
        issue("CREATED-DONE", "2025-01-01T10:00:00Z", "Closed", [change("2025-01-04T00:00:00Z", "Done", "Closed")]),
        # Reopened and done again: the last entry into the completed set counts.
        issue("REDONE", "2025-01-01", "Done", [change("2025-01-02T00:00:00Z", "To Do", "Done"),
                                               change("2025-01-03T00:00:00Z", "Done", "In Progress"),
                                               change("2025-01-06T00:00:00Z", "In Progress", "Resolved")]),
        # Reopened and not done now: not completed.
        issue("REOPENED", "2025-01-01", "In Progress", [change("2025-01-02T00:00:00Z", "To Do", "Done"),
                                                        change("2025-01-03T00:00:00Z", "Done", "In Progress")]),
    ]
    frames = _derived(raw)
    assert row(frames, "DONE-CLOSED")["completed_at"] == utc("2025-01-03")
    assert row(frames, "REDONE")["completed_at"] == utc("2025-01-06")
    assert pd.isna(row(frames, "REOPENED")["completed_at"])
    assert row(frames, "CREATED-DONE")["completed_at"] == utc("2025-01-01 10:00")


def test_status_names_compare_ignoring_case_and_spaces():
    raw = [issue("A-1", "2025-01-01", "DONE ", [change("2025-01-02T00:00:00Z", "to do", " in progress"),
                                               change("2025-01-03T00:00:00Z", "in progress", "DONE ")])]
    frames = _derived(raw)
    assert row(frames, "A-1")["started_at"] == utc("2025-01-02")
    assert row(frames, "A-1")["completed_at"] == utc("2025-01-03")


def test_mapped_work_dates_win_and_unparseable_ones_give_no_date():
    settings = make_settings(flow={"work_started_date": "customfield_1", "work_completed_date": "customfield_2"})
    raw = [
        issue("MAPPED", "2025-01-01", "In Progress", [change("2025-01-02T00:00:00Z", "To Do", "In Progress")],
              customfield_1="2025-01-05", customfield_2={"value": "2025-01-07T12:00:00+0800"}),
        issue("FALLBACK", "2025-01-01", "Done", [change("2025-01-02T00:00:00Z", "To Do", "In Progress"),
                                                 change("2025-01-03T00:00:00Z", "In Progress", "Done")],
              customfield_1=None, customfield_2="  "),
        issue("GARBAGE", "2025-01-01", "Done", [change("2025-01-02T00:00:00Z", "To Do", "In Progress"),
                                                change("2025-01-03T00:00:00Z", "In Progress", "Done")],
              customfield_1="next week", customfield_2="someday"),
    ]
    frames = _derived(raw, settings)
    # Mapped and set: the field's value (12:00 +0800 is 04:00 UTC), even for an item that is not done now.
    assert row(frames, "MAPPED")["started_at"] == utc("2025-01-05")
    assert row(frames, "MAPPED")["completed_at"] == utc("2025-01-07 04:00")
    # Empty (or blank) fields fall back to the status rules.
    assert row(frames, "FALLBACK")["started_at"] == utc("2025-01-02")
    assert row(frames, "FALLBACK")["completed_at"] == utc("2025-01-03")
    # Set but unparseable: no date (no fallback).
    assert pd.isna(row(frames, "GARBAGE")["started_at"]) and pd.isna(row(frames, "GARBAGE")["completed_at"])
    assert bool(row(frames, "GARBAGE")["work_started_date_set"]) is True


def test_active_days_counts_active_status_time_inside_the_flow_window():
    settings = make_settings(wip_statuses=["In Progress", "Review"], active_statuses=["In Progress"])
    raw = [issue("A-1", "2025-01-01", "Done", [
        change("2025-01-02T00:00:00Z", "To Do", "In Progress"),
        change("2025-01-04T00:00:00Z", "In Progress", "Review"),
        change("2025-01-05T00:00:00Z", "Review", "In Progress"),
        change("2025-01-05T12:00:00Z", "In Progress", "Done"),
        change("2025-01-08T00:00:00Z", "Done", "In Progress"),
        change("2025-01-09T00:00:00Z", "In Progress", "Done"),
    ])]
    frames = _derived(raw, settings)
    # Started 01-02, completed 01-09 (last entry into Done). Active: 01-02..01-04 (2 d) + 01-05..01-05 12:00
    # (0.5 d) + 01-08..01-09 (1 d) = 3.5 d.
    assert row(frames, "A-1")["active_days"] == pytest.approx(3.5)


# ---------------------------------------------------------------- mapped fields and populations


def test_mapped_fields_accept_options_lists_and_standard_fields():
    settings = make_settings(
        dora={"deployment_date": "created", "target_environment": "customfield_env",
              "deployment_successful": "customfield_ok", "production_impact": "customfield_impact"},
        flow={"flow_item_type": "issuetype", "work_completed_date": "resolutiondate",
              "active_work_hours": "customfield_hours"})
    raw = [issue("A-1", "2025-01-01T00:00:00.000+0000", "Done", issue_type="Bug",
                 resolutiondate="2025-01-03T00:00:00.000+0000", customfield_env=[{"value": " Production "}],
                 customfield_ok={"value": "Failed"}, customfield_impact="", customfield_hours="7.5")]
    frames = build_issue_frames(raw, settings)
    got = row(frames, "A-1")
    assert got["deployment_date"] == utc("2025-01-01")
    assert got["target_environment"] == "Production"
    assert bool(got["deployment_successful"]) is False and pd.isna(got["production_impact"])
    assert got["flow_item_type"] == "Bug" and got["completed_at"] == utc("2025-01-03")
    assert got["active_work_hours"] == 7.5
    assert bool(got["is_deployment"]) and bool(got["is_production"]) and not bool(got["is_flow_item"])


def test_flow_types_canonical_mapped_and_other():
    settings = make_settings(flow={"flow_item_type": "customfield_type"})
    values = {"A": "feature", "B": {"value": "Bug"}, "C": "Technical_Debt", "D": "Chore", "E": None,
              "F": [{"value": "Tech Debt"}]}
    raw = [issue(key, "2025-01-01", "To Do", customfield_type=value) for key, value in values.items()]
    frames = build_issue_frames(raw, settings)
    # Defaults map Bug -> Defect and "Tech Debt" -> Technical_Debt; canonical names match ignoring case.
    assert list(frames.issues["flow_type"]) == ["Feature", "Defect", "Technical_Debt", "Other", "Other",
                                                "Technical_Debt"]
    unmapped = build_issue_frames(raw, make_settings())
    assert unmapped.issues["flow_type"].isna().all()


def test_deployment_incident_and_flow_item_populations():
    settings = make_settings(
        dora={"deployment_date": "cf_deploy", "target_environment": "cf_env", "incident_detected_at": "cf_inc"},
        deployment_issue_types=["Deployment"], incident_issue_types=["incident"], flow_issue_types=["Story", "Bug"])
    raw = [
        issue("DEP-PROD", "2025-01-01", "Done", issue_type="Deployment", cf_deploy="2025-01-02", cf_env="production"),
        issue("DEP-STAGING", "2025-01-01", "Done", issue_type="Deployment", cf_deploy="2025-01-02", cf_env="Staging"),
        issue("DEP-EMPTY", "2025-01-01", "Done", issue_type="Deployment", cf_deploy="2025-01-02", cf_env=" "),
        issue("STORY-WITH-DATE", "2025-01-01", "Done", issue_type="Story", cf_deploy="2025-01-02"),
        issue("DEP-NO-DATE", "2025-01-01", "Done", issue_type="Deployment", cf_deploy="unknown"),
        issue("INC", "2025-01-01", "Done", issue_type="Incident", cf_inc="2025-01-03"),
        issue("TASK", "2025-01-01", "Done", issue_type="Task"),
    ]
    frames = build_issue_frames(raw, settings)
    table = frames.issues.set_index("key")
    assert list(table.index[table["is_deployment"]]) == ["DEP-PROD", "DEP-STAGING", "DEP-EMPTY"]
    assert list(table.index[table["is_production"]]) == ["DEP-PROD"]
    assert list(table.index[table["env_empty"]]) == ["DEP-EMPTY"]
    assert list(table.index[table["is_incident"]]) == ["INC"]
    # Deployments are not work items; only Story/Bug are flow items here.
    assert list(table.index[table["is_flow_item"]]) == ["STORY-WITH-DATE"]


def test_non_issue_entries_are_skipped_and_counted():
    frames = build_issue_frames([issue("A-1", "2025-01-01", "To Do"), "junk", None, {"key": "B-1"}],
                                make_settings())
    assert list(frames.issues["key"]) == ["A-1", "B-1"] and frames.skipped_issue_count == 2
    assert pd.isna(row(frames, "B-1")["created"])


def test_malformed_changelogs_and_fields_never_crash():
    raw = [issue("A-1", "2025-01-01", "Done", [change("2025-01-02T00:00:00Z", "To Do", "Done")])]
    raw[0]["changelog"]["histories"] += ["junk", {"created": "x", "items": "nope"},
                                         {"created": "2025-01-03T00:00:00Z", "items": [5, None]}]
    raw += [{"key": "B-1", "fields": {"created": "2025-01-01"}, "changelog": {"histories": "garbage"}},
            {"key": "C-1", "fields": None, "changelog": ["x"]},
            {"key": "D-1", "fields": {"status": 42, "issuetype": ["odd"], "created": {"value": "2025-01-02"}}}]
    frames = build_issue_frames(raw, make_settings())
    # Only A-1's one well-formed status change survives; the other issues hold their (possibly missing) status.
    assert [s for s, _, _ in statuses(frames, "A-1")] == ["To Do", "Done"]
    assert len(frames.transitions) == 1 and len(frames.intervals) == 5
    assert row(frames, "D-1")["status"] == "42" and row(frames, "D-1")["issue_type"] == "odd"
    assert row(frames, "D-1")["created"] == utc("2025-01-02")


def test_ensure_derived_rederives_for_status_changes_and_refuses_mapping_changes():
    raw = [issue("A-1", "2025-01-01", "Review", [change("2025-01-02T00:00:00Z", "To Do", "Review")])]
    frames = build_issue_frames(raw, make_settings())
    assert pd.isna(row(frames, "A-1")["started_at"])
    wider = make_settings(wip_statuses=["In Progress", "Review"])
    again = ensure_derived(frames, wider)
    assert row(again, "A-1")["started_at"] == utc("2025-01-02")
    assert ensure_derived(frames, wider) is again
    assert ensure_derived(frames, make_settings()) is frames
    with pytest.raises(FramesMismatchError):
        ensure_derived(frames, make_settings(dora={"deployment_date": "customfield_9"}))


# ---------------------------------------------------------------- the real Jira Cloud sample


def test_real_cloud_sample_normalises():
    settings = make_settings(completed_statuses=SAMPLE_COMPLETED, wip_statuses=["In Progress", "In Development"],
                             flow={"flow_item_type": "issuetype"})
    frames = build_issue_frames(sample_issues(), settings)
    assert len(frames.issues) == 33 and frames.skipped_issue_count == 0
    # 165 status items in the file (field "status"); all of them have parseable +0800 times.
    assert len(frames.transitions) == 165
    assert len(frames.intervals) == 33 + 165
    assert set(frames.issues["status"]) == {"已完成", "To Do"}
    ee1 = row(frames, "EE-1")
    # EE-1: created 2020-06-12T08:13:13.360+0800 = 00:13:13.360 UTC; Open -> Closed at 2020-06-19T14:31:18.526+0800
    # (06:31:18.526 UTC) is the completion; the later Closed -> 已完成 stays inside the completed set.
    assert ee1["created"] == utc("2020-06-12 00:13:13.360")
    assert ee1["completed_at"] == utc("2020-06-19 06:31:18.526")
    # EE-1 entered "In Development" at 2020-06-12T11:38:39.785+0800.
    assert ee1["started_at"] == utc("2020-06-12 03:38:39.785")
    # EE-14 was resolved, reopened to To Do, and resolved again at 2020-06-15T16:59:51.341+0800.
    assert row(frames, "EE-14")["completed_at"] == utc("2020-06-15 08:59:51.341")
    assert row(frames, "K5-2")["flow_type"] == "Feature" and pd.isna(row(frames, "K5-2")["completed_at"])
    assert np.isfinite(frames.issues["active_days"].dropna()).all()
