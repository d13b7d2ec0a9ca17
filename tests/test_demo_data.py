"""The demo dataset: deterministic, in Jira's REST shape, internally consistent, and carrying every quirk the
parsers and calculators must survive. Expected values are counted here with plain loops over the JSON, not
with the project's own parsing code."""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from configuration.settings import merge_with_defaults, validate_settings
from data.metrics.periods import Period
from data.services.command_service import compute_team_metrics
from data.sources.demo_data import generate_demo_issues
from data.sources.demo_fields import DEMO_FIELD_MAPPINGS, DEMO_FIELDS, DEMO_SETTINGS_OVERLAY, DEMO_USER
from data.sources.demo_teams import team_weights

ANCHOR = datetime(2025, 6, 18, 14, tzinfo=UTC)  # a Wednesday afternoon
JIRA_FORMAT = "%Y-%m-%dT%H:%M:%S.%f%z"
WIP = {"In Progress", "In Review"}
DONE = {"Done", "Closed"}
TRUE_TEXT = {"true", "yes", "y", "1", "success", "successful", "passed"}
FALSE_TEXT = {"false", "no", "n", "0", "failed", "failure"}


@pytest.fixture(scope="module")
def issues() -> list[dict[str, Any]]:
    return generate_demo_issues(anchor=ANCHOR)


def parse(text: str) -> datetime:
    return datetime.strptime(text, JIRA_FORMAT)


def type_name(issue: dict[str, Any]) -> str:
    return issue["fields"]["issuetype"]["name"]


def status_changes(issue: dict[str, Any]) -> list[tuple[datetime, dict[str, Any]]]:
    """Status items oldest first, each with its history's instant."""
    changes = [(parse(history["created"]), item) for history in issue["changelog"]["histories"]
               for item in history["items"] if item["field"] == "status"]
    return sorted(changes, key=lambda change: change[0])


def option_text(value: Any) -> Any:
    return value.get("value") if isinstance(value, dict) else value


def is_failed(fields: dict[str, Any]) -> bool:
    return str(option_text(fields["customfield_10106"])).strip().lower() in FALSE_TEXT


# --- determinism and arguments ----------------------------------------------------------------------------

def test_same_arguments_give_identical_json_and_another_seed_differs() -> None:
    first = json.dumps(generate_demo_issues(300, anchor=ANCHOR, seed=7))
    assert json.dumps(generate_demo_issues(300, anchor=ANCHOR, seed=7)) == first
    assert json.dumps(generate_demo_issues(300, anchor=ANCHOR, seed=8)) != first


def test_naive_anchor_is_read_as_utc_and_other_offsets_are_converted() -> None:
    expected = json.dumps(generate_demo_issues(50, anchor=ANCHOR))
    assert json.dumps(generate_demo_issues(50, anchor=ANCHOR.replace(tzinfo=None))) == expected
    in_new_york = ANCHOR.astimezone(datetime.fromisoformat("2025-01-01T00:00:00-05:00").tzinfo)
    assert json.dumps(generate_demo_issues(50, anchor=in_new_york)) == expected


@pytest.mark.parametrize("kwargs", [{"n_issues": -1}, {"n_issues": 2.5}, {"months": 0},
                                    {"project_key": "demo"}, {"project_key": "DE MO"},
                                    {"changes_per_issue": -1}, {"changes_per_issue": "10"}])
def test_unusable_arguments_raise_a_clear_value_error(kwargs: dict[str, Any]) -> None:
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=name):
        generate_demo_issues(**{"n_issues": 10, "anchor": ANCHOR, **kwargs})


def test_zero_issues_is_an_empty_list_and_tiny_sizes_work() -> None:
    assert generate_demo_issues(0, anchor=ANCHOR) == []
    for size in (1, 3, 9):
        result = generate_demo_issues(size, anchor=ANCHOR)
        assert len(result) == size
        assert_consistent(result)


def test_nothing_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    generate_demo_issues(100, anchor=ANCHOR)
    assert capsys.readouterr() == ("", "")


# --- shape ------------------------------------------------------------------------------------------------

def test_issue_shape_and_identity(issues: list[dict[str, Any]]) -> None:
    assert len(issues) == 2000
    assert [issue["key"] for issue in issues] == [f"DEMO-{n}" for n in range(1, 2001)]
    assert [issue["id"] for issue in issues] == [str(10000 + i) for i in range(2000)]
    for issue in issues:
        assert issue["self"].endswith(f"/rest/api/3/issue/{issue['id']}")
        fields = issue["fields"]
        assert {"summary", "issuetype", "status", "project", "created", "updated", "resolutiondate",
                "priority"} <= set(fields)
        assert set(fields["issuetype"]) >= {"id", "name", "subtask"}
        assert fields["issuetype"]["subtask"] is False
        assert set(fields["status"]) >= {"id", "name", "statusCategory"}
        assert fields["status"]["statusCategory"]["key"] in {"new", "indeterminate", "done"}
        assert fields["project"]["key"] == "DEMO" and fields["project"]["id"]
        assert isinstance(fields["summary"], str) and fields["summary"]
        assert fields["priority"]["name"] in {"Highest", "High", "Medium", "Low", "Lowest"}
        changelog = issue["changelog"]
        assert changelog["startAt"] == 0
        assert changelog["total"] == changelog["maxResults"] == len(changelog["histories"])
        for history in changelog["histories"]:
            assert set(history) == {"id", "author", "created", "items"}
            assert set(history["author"]) >= {"displayName", "accountId"}
            assert history["items"]


def test_keys_follow_creation_order(issues: list[dict[str, Any]]) -> None:
    created = [parse(issue["fields"]["created"]) for issue in issues]
    assert created == sorted(created)


def test_history_ids_are_unique(issues: list[dict[str, Any]]) -> None:
    ids = [history["id"] for issue in issues for history in issue["changelog"]["histories"]]
    assert len(ids) == len(set(ids))


def assert_consistent(issues: list[dict[str, Any]], anchor: datetime = ANCHOR) -> None:
    """The invariants every issue keeps, whatever its size or change target."""
    for issue in issues:
        fields, histories = issue["fields"], issue["changelog"]["histories"]
        created = parse(fields["created"])
        instants = [parse(history["created"]) for history in histories]
        assert instants == sorted(instants, reverse=True), issue["key"]  # newest first, as Jira inlines them
        assert len(set(instants)) == len(instants), issue["key"]
        assert all(created < instant <= anchor for instant in instants), issue["key"]
        updated = parse(fields["updated"])
        assert updated == max([created, *instants]), issue["key"]
        changes = status_changes(issue)
        for (_, before), (_, after) in itertools.pairwise(changes):
            assert after["fromString"] == before["toString"], issue["key"]
        for _, change in changes:
            assert change["fromString"] != change["toString"], issue["key"]
        current = fields["status"]["name"]
        if changes:
            assert changes[-1][1]["toString"] == current, issue["key"]
        category = {"To Do": "new", "In Progress": "indeterminate", "In Review": "indeterminate",
                    "Done": "done", "Closed": "done"}[current]
        assert fields["status"]["statusCategory"]["key"] == category
        entries = [instant for instant, change in changes
                   if change["toString"] in DONE and change["fromString"] not in DONE]
        if current in DONE:
            assert parse(fields["resolutiondate"]) == entries[-1], issue["key"]
        else:
            assert fields["resolutiondate"] is None, issue["key"]


def test_changelogs_agree_with_fields_and_time(issues: list[dict[str, Any]]) -> None:
    assert_consistent(issues)


def test_every_timestamp_parses_in_jira_format_with_mixed_offsets(issues: list[dict[str, Any]]) -> None:
    date_fields = ("created", "updated", "resolutiondate", "customfield_10100", "customfield_10103",
                   "customfield_10104", "customfield_10105")
    suffixes = Counter()
    for issue in issues:
        stamps = [issue["fields"].get(name) for name in date_fields]
        stamps += [history["created"] for history in issue["changelog"]["histories"]]
        for stamp in filter(None, stamps):
            parse(stamp)
            suffixes[stamp[-5:]] += 1
    assert {"+0000", "+0100", "-0500", "+0800"} <= set(suffixes)


def test_no_field_value_is_after_the_anchor(issues: list[dict[str, Any]]) -> None:
    for issue in issues:
        for name in ("created", "updated", "resolutiondate", "customfield_10100", "customfield_10103",
                     "customfield_10104", "customfield_10105"):
            value = issue["fields"].get(name)
            if value:
                assert parse(value) <= ANCHOR, (issue["key"], name)


# --- population -------------------------------------------------------------------------------------------

def test_issue_type_mix(issues: list[dict[str, Any]]) -> None:
    counts = Counter(type_name(issue) for issue in issues)
    assert counts["Deployment"] == 240  # 12% of 2000
    assert counts["Incident"] == 80  # 4% of 2000
    assert {"Story", "Bug", "Task", "Risk", "Technical Debt"} <= set(counts)
    assert sum(counts.values()) == 2000


def test_work_type_option_is_set_on_most_flow_items_and_matches_the_type_mapping(
        issues: list[dict[str, Any]]) -> None:
    mapping = DEMO_SETTINGS_OVERLAY["flow_type_mappings"]
    flow_items = [issue for issue in issues if type_name(issue) != "Deployment"]
    missing = 0
    for issue in flow_items:
        value = issue["fields"]["customfield_10200"]
        if value is None:
            missing += 1
            continue
        assert set(value) >= {"value", "id"}
        assert type_name(issue) in mapping[value["value"]], issue["key"]
    assert 0 < missing < len(flow_items) * 0.1


def test_deployment_fields(issues: list[dict[str, Any]]) -> None:
    deployments = [issue for issue in issues if type_name(issue) == "Deployment"]
    environments = Counter(option_text(d["fields"]["customfield_10101"]) for d in deployments)
    assert environments["Production"] > environments["Staging"] > environments[None] > 0
    unparseable = missing = 0
    for deployment in deployments:
        fields = deployment["fields"]
        assert fields["status"]["name"] == "Done"
        assert [c["toString"] for _, c in status_changes(deployment)] == ["Done"]
        deployed = parse(fields["customfield_10100"])
        commit = fields["customfield_10102"]
        if commit is None:
            missing += 1
        else:
            try:
                committed = parse(commit)
            except ValueError:
                unparseable += 1
            else:
                assert timedelta(minutes=30) <= deployed - committed <= timedelta(days=42)
        if option_text(fields["customfield_10101"]) == "Staging":
            assert fields["customfield_10103"] is None
        else:
            assert parse(fields["customfield_10103"]) >= deployed
        success = str(option_text(fields["customfield_10106"])).strip().lower()
        assert success in TRUE_TEXT | FALSE_TEXT
    assert unparseable >= 2 and missing >= 1
    assert any(isinstance(d["fields"]["customfield_10106"], str) for d in deployments)
    production = [d for d in deployments if option_text(d["fields"]["customfield_10101"]) == "Production"]
    share = sum(is_failed(d["fields"]) for d in production) / len(production)
    assert 0.08 <= share <= 0.15


def test_incident_fields(issues: list[dict[str, Any]]) -> None:
    incidents = [issue for issue in issues if type_name(issue) == "Incident"]
    unresolved = 0
    for incident in incidents:
        fields = incident["fields"]
        assert option_text(fields["customfield_10107"]) in {"Yes", "No"}
        detected = parse(fields["customfield_10104"])
        if fields["customfield_10105"] is None:
            unresolved += 1
            assert fields["status"]["name"] != "Done"
            continue
        recovery = parse(fields["customfield_10105"]) - detected
        assert timedelta(minutes=30) <= recovery <= timedelta(days=7)
        assert fields["status"]["name"] == "Done"
    assert unresolved >= 1


def test_flow_load_at_the_anchor_is_realistic(issues: list[dict[str, Any]]) -> None:
    in_progress = [issue for issue in issues
                   if type_name(issue) != "Deployment" and issue["fields"]["status"]["name"] in WIP]
    assert 10 <= len(in_progress) <= 40


def test_natural_change_counts(issues: list[dict[str, Any]]) -> None:
    status_mean = sum(len(status_changes(issue)) for issue in issues) / len(issues)
    history_mean = sum(len(issue["changelog"]["histories"]) for issue in issues) / len(issues)
    assert 3.0 <= status_mean <= 5.0
    assert 4.0 <= history_mean <= 6.0


# --- quirks -----------------------------------------------------------------------------------------------

def transitions(issue: dict[str, Any]) -> list[tuple[str, str]]:
    return [(change["fromString"], change["toString"]) for _, change in status_changes(issue)]


def test_every_promised_quirk_is_present(issues: list[dict[str, Any]]) -> None:
    work = [issue for issue in issues if type_name(issue) not in ("Deployment", "Incident")]
    reopened = [issue for issue in work
                if any(src in DONE and dst not in DONE for src, dst in transitions(issue))]
    assert reopened
    assert any(issue["fields"]["status"]["name"] not in DONE for issue in reopened)
    assert any(issue["fields"]["status"]["name"] in DONE for issue in reopened)
    assert any(("In Review", "In Progress") in transitions(issue) for issue in work)
    assert any(("In Progress", "To Do") in transitions(issue) for issue in work)
    assert any(transitions(issue) and transitions(issue)[0][0] == "In Progress" for issue in work)
    assert any(("Done", "Closed") in transitions(issue) for issue in work)
    assert any(not transitions(issue) and issue["fields"]["status"]["name"] == "To Do" for issue in work)
    deployments = [issue["fields"] for issue in issues if type_name(issue) == "Deployment"]
    assert any(fields["customfield_10101"] is None for fields in deployments)
    assert any(is_failed(fields) for fields in deployments)
    incidents = [issue["fields"] for issue in issues if type_name(issue) == "Incident"]
    assert any(fields["customfield_10105"] is None for fields in incidents)


def test_histories_also_change_other_fields(issues: list[dict[str, Any]]) -> None:
    histories = [history for issue in issues for history in issue["changelog"]["histories"]]
    fields = Counter(item["field"] for history in histories for item in history["items"])
    assert {"assignee", "priority", "resolution", "labels", "Story Points"} <= set(fields)
    assert any(all(item["field"] != "status" for item in history["items"]) for history in histories)
    assert any(len(history["items"]) > 1 and history["items"][0]["field"] != "status"
               for history in histories)
    assert any("fieldId" not in item for history in histories for item in history["items"])


def test_current_priority_agrees_with_the_last_priority_change(issues: list[dict[str, Any]]) -> None:
    checked = 0
    for issue in issues:
        changes = sorted((parse(history["created"]), item) for history in issue["changelog"]["histories"]
                         for item in history["items"] if item["field"] == "priority")
        if changes:
            assert changes[-1][1]["toString"] == issue["fields"]["priority"]["name"]
            checked += 1
    assert checked > 0


# --- recent activity --------------------------------------------------------------------------------------

def test_each_of_the_last_16_iso_weeks_has_deployments_and_completions(issues: list[dict[str, Any]]) -> None:
    this_monday = datetime(2025, 6, 16, tzinfo=UTC)  # the Monday of ANCHOR's ISO week (2025-25)
    deployments: Counter[str] = Counter()
    completions: Counter[str] = Counter()
    for issue in issues:
        fields = issue["fields"]
        if type_name(issue) == "Deployment":
            deployments[parse(fields["customfield_10100"]).astimezone(UTC).strftime("%G-%V")] += 1
        elif fields["resolutiondate"]:
            completions[parse(fields["resolutiondate"]).astimezone(UTC).strftime("%G-%V")] += 1
    weeks = [(this_monday - timedelta(weeks=k)).strftime("%G-%V") for k in range(1, 17)]
    assert weeks[0] == "2025-24" and weeks[-1] == "2025-09"
    for week in weeks:
        assert deployments[week] >= 2, week
        assert completions[week] >= 5, week


def test_the_last_seven_days_have_production_deployments_and_a_recovery(issues: list[dict[str, Any]]) -> None:
    since = ANCHOR - timedelta(days=7)
    deployed = [issue for issue in issues if type_name(issue) == "Deployment"
                and option_text(issue["fields"]["customfield_10101"]) == "Production"
                and parse(issue["fields"]["customfield_10100"]) >= since]
    recovered = [issue for issue in issues
                 if type_name(issue) == "Incident" and issue["fields"]["customfield_10105"]
                 and parse(issue["fields"]["customfield_10105"]) >= since]
    assert len(deployed) >= 2 and recovered


def test_issues_spread_over_the_months_before_the_anchor() -> None:
    result = generate_demo_issues(400, anchor=ANCHOR, months=6)
    created = [parse(issue["fields"]["created"]) for issue in result]
    # 6 months of 365.25/12 days (182.6), plus at most 6 days of weekend shift and 3 of deployment lead-in
    assert min(created) >= ANCHOR - timedelta(days=192)
    assert min(created) <= ANCHOR - timedelta(days=170)
    assert max(created) <= ANCHOR


# --- change target ----------------------------------------------------------------------------------------

def test_changes_per_issue_reaches_the_target_and_keeps_the_invariants() -> None:
    result = generate_demo_issues(400, anchor=ANCHOR, changes_per_issue=10)
    mean = sum(len(status_changes(issue)) for issue in result) / len(result)
    assert abs(mean - 10) <= 0.05
    assert_consistent(result)


def test_a_target_below_the_natural_mean_changes_nothing() -> None:
    assert json.dumps(generate_demo_issues(200, anchor=ANCHOR, changes_per_issue=1)) == \
        json.dumps(generate_demo_issues(200, anchor=ANCHOR))


# --- fields, mappings, settings ---------------------------------------------------------------------------

EXPECTED_TYPES = {  # mapped or decoy custom field -> (schema.type, schema.custom suffix), per JIRA_API.md
    "customfield_10100": ("datetime", "datetime"), "customfield_10101": ("option", "select"),
    "customfield_10102": ("datetime", "datetime"), "customfield_10103": ("datetime", "datetime"),
    "customfield_10104": ("datetime", "datetime"), "customfield_10105": ("datetime", "datetime"),
    "customfield_10106": ("option", "select"), "customfield_10107": ("option", "select"),
    "customfield_10200": ("option", "select"), "customfield_10300": ("string", "textfield"),
    "customfield_10301": ("number", "float"),
}


def test_demo_fields_cover_every_mapped_id_with_the_right_schema() -> None:
    by_id = {field["id"]: field for field in DEMO_FIELDS}
    assert len(by_id) == len(DEMO_FIELDS)
    mapped = [value for group in DEMO_FIELD_MAPPINGS.values() for value in group.values() if value]
    assert len(mapped) == 9
    assert set(mapped) <= set(by_id)
    for field_id, (schema_type, suffix) in EXPECTED_TYPES.items():
        field = by_id[field_id]
        assert field["custom"] is True and field["key"] == field_id
        assert field["schema"] == {"type": schema_type, "customId": int(field_id.split("_")[1]),
                                   "custom": f"com.atlassian.jira.plugin.system.customfieldtypes:{suffix}"}
        assert f"cf[{field_id.split('_')[1]}]" in field["clauseNames"]
    for field_id in ("summary", "status", "issuetype", "created", "updated", "resolutiondate", "project",
                     "priority", "assignee", "labels"):
        field = by_id[field_id]
        assert field["custom"] is False and field["schema"]["system"] == field_id
        assert field_id in field["clauseNames"] or field_id == "resolutiondate"
    for field in DEMO_FIELDS:
        assert {"id", "key", "name", "custom", "orderable", "navigable", "searchable", "clauseNames",
                "schema"} <= set(field)
    assert by_id["created"]["schema"]["type"] == "datetime"
    assert by_id["labels"]["schema"] == {"type": "array", "items": "string", "system": "labels"}


def test_field_mappings_name_every_dora_key_and_the_flow_type() -> None:
    assert DEMO_FIELD_MAPPINGS["dora"] == {
        "deployment_date": "customfield_10100", "target_environment": "customfield_10101",
        "code_commit_date": "customfield_10102", "deployed_to_production_date": "customfield_10103",
        "incident_detected_at": "customfield_10104", "incident_resolved_at": "customfield_10105",
        "deployment_successful": "customfield_10106", "production_impact": "customfield_10107"}
    assert DEMO_FIELD_MAPPINGS["flow"] == {"flow_item_type": "customfield_10200", "work_started_date": None,
                                           "work_completed_date": None, "active_work_hours": None}


def test_settings_overlay_is_valid_and_covers_the_demo_types(issues: list[dict[str, Any]]) -> None:
    settings = merge_with_defaults({"dora_flow_config": DEMO_SETTINGS_OVERLAY})
    assert validate_settings(settings) == []
    config = settings["dora_flow_config"]
    assert config["field_mappings"] == DEMO_FIELD_MAPPINGS
    assert config["wip_statuses"] == ["In Progress", "In Review"]
    assert config["completed_statuses"] == ["Done", "Closed"]
    mapped_types = {name for names in config["flow_type_mappings"].values() for name in names}
    flow_types = {type_name(issue) for issue in issues} - {"Deployment"}
    assert flow_types == mapped_types
    statuses = {issue["fields"]["status"]["name"] for issue in issues}
    assert statuses <= {"To Do", *config["wip_statuses"], *config["completed_statuses"]}


def test_demo_user_is_what_myself_returns() -> None:
    assert DEMO_USER["displayName"] == "Demo User" and DEMO_USER["timeZone"] == "UTC"
    assert DEMO_USER["accountId"]


# --- the demo organisation (teams) ------------------------------------------------------------------------

TEAM_FIELD = "customfield_10400"
TEAM_NAMES = ("Platform", "Payments", "Mobile", "Growth")
# sha256 of json.dumps(issues, sort_keys=True) with the Team field removed, taken from the generator as it was
# before the demo had teams: the team draw must leave every other generated value exactly as it was.
UNCHANGED_CASES = [
    ({"n_issues": 2000, "anchor": datetime(2026, 3, 2, 12, tzinfo=UTC), "seed": 42},
     "6a788e30f38f45a93278dbd8f1f6c5b4d8f3bf4b3771fa79cca8916c43dc07a9"),
    ({"n_issues": 777, "anchor": datetime(2025, 7, 15, 9, tzinfo=UTC), "seed": 7, "months": 6,
      "project_key": "ABC", "changes_per_issue": 8.0},
     "e9999335ce31e808142f4ce7f4fa51aa1793ec8655d67a3e2d5300a50d6d8277"),
    ({"n_issues": 5, "anchor": datetime(2026, 1, 1, tzinfo=UTC), "seed": 1},
     "39b542e35125d71e8d88a7f2086e06472c427e49688d9c60fb826b98da7d1503"),
]


@pytest.mark.parametrize(("arguments", "expected"), UNCHANGED_CASES)
def test_without_the_team_field_the_issues_are_those_of_the_single_team_demo(arguments: dict[str, Any],
                                                                           expected: str) -> None:
    issues = generate_demo_issues(**arguments)
    for issue in issues:
        del issue["fields"][TEAM_FIELD]  # a KeyError here means an issue lacks the field
    assert hashlib.sha256(json.dumps(issues, sort_keys=True).encode()).hexdigest() == expected


def team_of(issue: dict[str, Any]) -> str | None:
    value = issue["fields"][TEAM_FIELD]
    return None if value is None else value["value"]


def test_the_team_field_is_a_select_field_the_demo_settings_map() -> None:
    field = next(field for field in DEMO_FIELDS if field["id"] == TEAM_FIELD)
    assert field["name"] == "Team" and field["schema"]["type"] == "option"
    assert DEMO_SETTINGS_OVERLAY["team_field"] == TEAM_FIELD
    assert validate_settings(merge_with_defaults({"dora_flow_config": copy.deepcopy(DEMO_SETTINGS_OVERLAY)})) == []


def test_every_issue_has_a_team_option_and_only_a_few_work_items_have_none(issues: list[dict[str, Any]]) -> None:
    teams = Counter(team_of(issue) for issue in issues)
    assert set(teams) == {*TEAM_NAMES, None}
    # the four teams have different sizes; about 2% of the 84% work items have no team (about 34 of 2,000)
    assert len({teams[name] for name in TEAM_NAMES}) == 4
    assert 10 <= teams[None] <= 70
    assert all(type_name(issue) not in ("Deployment", "Incident") for issue in issues if team_of(issue) is None)
    options = {json.dumps(issue["fields"][TEAM_FIELD], sort_keys=True) for issue in issues if team_of(issue)}
    assert len(options) == 4  # one option object (id, value, self) per team


def test_platform_deploys_most_and_safest_and_payments_fails_most(issues: list[dict[str, Any]]) -> None:
    deployments = [issue for issue in issues if type_name(issue) == "Deployment"]
    count = Counter(team_of(issue) for issue in deployments)
    failed = Counter(team_of(issue) for issue in deployments if is_failed(issue["fields"]))
    rate = {name: failed[name] / count[name] for name in TEAM_NAMES}
    assert count.most_common(1)[0][0] == "Platform"
    assert min(rate, key=rate.get) == "Platform" and rate["Platform"] <= 0.05
    # about 11% of deployments fail overall; 75% of the failed ones go to Payments, which takes about a quarter
    # of all deployments: roughly a third of its deployments fail
    assert max(rate, key=rate.get) == "Payments" and rate["Payments"] >= 0.2


def test_platform_commits_reach_production_fastest(issues: list[dict[str, Any]]) -> None:
    waits: dict[str, list[float]] = {name: [] for name in TEAM_NAMES}
    for issue in issues:
        fields = issue["fields"]
        if type_name(issue) == "Deployment" and fields["customfield_10103"] and fields["customfield_10102"]:
            try:
                commit = parse(fields["customfield_10102"])
            except ValueError:  # the demo's unparseable commit dates
                continue
            waits[team_of(issue)].append((parse(fields["customfield_10103"]) - commit) / timedelta(hours=1))
    medians = {name: sorted(values)[len(values) // 2] for name, values in waits.items()}
    assert min(medians, key=medians.get) == "Platform"
    assert medians["Platform"] < 24 < min(medians[name] for name in TEAM_NAMES if name != "Platform")


def test_the_team_comparison_shows_an_elite_deployer_and_a_struggling_team(issues: list[dict[str, Any]]) -> None:
    settings = merge_with_defaults({"dora_flow_config": copy.deepcopy(DEMO_SETTINGS_OVERLAY)})
    end = ANCHOR.date() - timedelta(days=1)
    rows = dict(compute_team_metrics(copy.deepcopy(issues), settings,
                                     Period(end - timedelta(days=89), end), ANCHOR))
    assert list(rows) == ["Growth", "Mobile", "Payments", "Platform", "(none)"]
    platform, payments = rows["Platform"], rows["Payments"]
    assert platform["lead_time_for_changes"]["performance_tier"] == "Elite"
    assert platform["change_failure_rate"]["performance_tier"] == "Elite"
    assert payments["change_failure_rate"]["performance_tier"] == "Low"
    assert platform["deployment_frequency"]["value"] > payments["deployment_frequency"]["value"]


def test_team_weights_are_probabilities() -> None:
    records = [{"type": kind} for kind in ("Story", "Bug", "Task", "Technical Debt", "Risk")]
    records += [{"type": "Deployment", "failed": failed, "deployed": 100 * 3_600_000, "committed": committed}
                for failed in (True, False) for committed in (None, 99 * 3_600_000, 70 * 3_600_000, 0)]
    records += [{"type": "Incident", "detected": 0, "recovered": recovered}
                for recovered in (None, 1_000, 5 * 3_600_000, 30 * 3_600_000)]
    for record in records:
        weights = team_weights(record)
        assert len(weights) == 5 and min(weights) >= 0 and sum(weights) == pytest.approx(1.0)
