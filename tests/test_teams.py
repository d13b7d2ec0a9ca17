"""Teams (docs/analytics.md, "Teams"): team names from each kind of field, membership, case folding, the
restricted tables, and the metrics of a team against those of a file holding only that team's issues."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from configuration.settings import field_mapping_hash, merge_with_defaults, validate_settings
from data.metrics.issue_frame import build_issue_frames, ensure_derived
from data.metrics.issue_tables import FramesMismatchError
from data.metrics.periods import Period
from data.metrics.teams import (
    NONE_TEAM,
    TEAM_COLUMN,
    TeamError,
    all_issues_coverage,
    restrict_to_team,
    team_names,
    team_values,
)
from data.services.metrics_service import METRIC_RULES_VERSION, calculate_all_metrics, calculate_metrics_cached
from data.sources.demo_data import generate_demo_issues
from data.sources.demo_fields import DEMO_SETTINGS_OVERLAY
from data.store.issue_cache import required_fields
from data.store.metrics_cache import build_cache_key, load_cached_metrics
from data.store.metrics_snapshots import load_snapshots, save_metric_snapshot

TEAM_FIELD = "customfield_10500"


def team_settings(field: str | None = TEAM_FIELD, **config: object) -> dict:
    return merge_with_defaults({"dora_flow_config": {"team_field": field, **config}})


def issue(key: str, fields: dict, created: str = "2025-03-03T10:00:00.000+0000",
          changes: tuple[tuple[str, str, str], ...] = ()) -> dict:
    """A Jira issue in REST shape; ``changes`` are (time, from, to) status changes, oldest first."""
    histories = [{"created": at, "items": [{"field": "status", "fromString": old, "toString": new}]}
                 for at, old, new in changes]
    status = changes[-1][2] if changes else "To Do"
    return {"id": key, "key": key, "changelog": {"histories": histories},
            "fields": {"summary": key, "issuetype": {"name": "Story"}, "status": {"name": status},
                       "created": created, **fields}}


# --- team names from each kind of field -----------------------------------------------------------------------


@pytest.mark.parametrize(("field", "value", "expected"), [
    # project: the key, never the name; the name only when there is no key
    ("project", {"id": "10000", "key": "PAY", "name": "Payments"}, ("PAY",)),
    ("project", {"name": "Payments"}, ("Payments",)),
    # components: each component's name, in order
    ("components", [{"id": "1", "name": "API"}, {"id": "2", "name": " Web "}], ("API", "Web")),
    ("components", [], ()),
    # labels: each label, trimmed; an empty label is no team
    ("labels", ["backend", " frontend ", ""], ("backend", "frontend")),
    # a custom field: option value, object name, plain string, or a list of any of these
    (TEAM_FIELD, {"self": "x", "value": "Team A", "id": "1"}, ("Team A",)),
    (TEAM_FIELD, {"name": "Team B", "key": "b"}, ("Team B",)),
    (TEAM_FIELD, " Team C ", ("Team C",)),
    (TEAM_FIELD, [{"value": "A"}, {"name": "B"}, "C"], ("A", "B", "C")),
    # nothing usable: no team
    (TEAM_FIELD, None, ()),
    (TEAM_FIELD, "  ", ()),
    (TEAM_FIELD, {"id": "7"}, ()),
    (TEAM_FIELD, 42, ()),
    # the same team twice in one issue (any case) counts once, in the first spelling
    ("labels", ["ops", "OPS", " Ops"], ("ops",)),
])
def test_team_values_of_each_field_kind(field: str, value: object, expected: tuple[str, ...]) -> None:
    assert team_values(value, field) == expected


@pytest.mark.parametrize(("field", "fields", "expected"), [
    ("project", {"project": {"key": "PAY", "name": "Payments"}}, ("PAY",)),
    ("components", {"components": [{"name": "API"}, {"name": "Web"}]}, ("API", "Web")),
    ("labels", {"labels": ["backend"]}, ("backend",)),
    (TEAM_FIELD, {TEAM_FIELD: {"value": "Team A"}}, ("Team A",)),
])
def test_the_team_column_is_built_at_parse_time(field: str, fields: dict, expected: tuple[str, ...]) -> None:
    frames = build_issue_frames([issue("K-1", fields)], team_settings(field))
    assert frames.issues[TEAM_COLUMN].tolist() == [expected]


def test_team_names_fold_case_keep_the_first_spelling_and_put_none_last() -> None:
    issues = [
        issue("K-1", {TEAM_FIELD: "payments"}),         # first seen: "payments"
        issue("K-2", {TEAM_FIELD: {"value": "Payments"}}),  # same team, later spelling: ignored
        issue("K-3", {}),                                # no value: "(none)"
        issue("K-4", {TEAM_FIELD: ["Search", "PAYMENTS"]}),
        issue("K-5", {TEAM_FIELD: "alpha"}),
        issue("K-6", {TEAM_FIELD: "Zeta"}),
    ]
    frames = build_issue_frames(issues, team_settings())
    # sorted case-insensitively (alpha < payments < Search < Zeta), "(none)" last although "(" sorts first
    assert team_names(frames) == ["alpha", "payments", "Search", "Zeta", NONE_TEAM]


def test_none_is_listed_only_when_some_issue_has_no_team() -> None:
    frames = build_issue_frames([issue("K-1", {"labels": ["b"]}), issue("K-2", {"labels": ["A"]})],
                                team_settings("labels"))
    assert team_names(frames) == ["A", "b"]


# --- restriction ------------------------------------------------------------------------------------------------


def timeline_issues() -> list[dict]:
    """Four issues with status changes: K-1 in teams a and b, K-2 in b, K-3 in none, K-4 in a (as "A")."""
    moves = (("2025-03-04T10:00:00.000+0000", "To Do", "In Progress"),
             ("2025-03-06T10:00:00.000+0000", "In Progress", "Done"))
    return [
        issue("K-1", {"labels": ["a", "b"]}, created="2025-03-02T00:00:00.000+0000", changes=moves),
        issue("K-2", {"labels": ["b"]}, created="2025-03-01T00:00:00.000+0000", changes=moves[:1]),
        issue("K-3", {}, created="2025-02-01T00:00:00.000+0000", changes=moves),
        issue("K-4", {"labels": ["A"]}, created="2025-03-03T00:00:00.000+0000"),
    ]


def test_an_issue_with_several_teams_belongs_to_each_and_none_to_none_only() -> None:
    frames = build_issue_frames(timeline_issues(), team_settings("labels"))
    assert team_names(frames) == ["a", "b", NONE_TEAM]
    keys = {team: restrict_to_team(frames, team).issues["key"].tolist() for team in ("a", "B", "(NONE)")}
    assert keys == {"a": ["K-1", "K-4"], "B": ["K-1", "K-2"], "(NONE)": ["K-3"]}


def test_restricted_tables_keep_each_issues_own_intervals_and_transitions() -> None:
    frames = build_issue_frames(timeline_issues(), team_settings("labels"))
    team = restrict_to_team(frames, "b")
    # K-1: 3 intervals (To Do, In Progress, Done), 2 transitions; K-2: 2 intervals, 1 transition
    assert team.issues.index.tolist() == [0, 1]
    keys = team.issues["key"].to_numpy()
    assert [(keys[i], str(s)) for i, s in zip(team.intervals["issue_idx"], team.intervals["status"], strict=True)] \
        == [("K-1", "To Do"), ("K-1", "In Progress"), ("K-1", "Done"), ("K-2", "To Do"), ("K-2", "In Progress")]
    assert [(keys[i], str(s)) for i, s in zip(team.transitions["issue_idx"], team.transitions["to_status"],
                                                strict=True)] == [("K-1", "In Progress"), ("K-1", "Done"),
                                                                  ("K-2", "In Progress")]
    # the original tables are untouched
    assert len(frames.issues) == 4


def test_coverage_stays_that_of_all_issues() -> None:
    frames = build_issue_frames(timeline_issues(), team_settings("labels"))
    # the earliest created is K-3's (2025-02-01), which is in no team: a team's coverage still starts there
    assert all_issues_coverage(frames) == date(2025, 2, 1)
    assert all_issues_coverage(restrict_to_team(frames, "b")) == date(2025, 3, 1)  # what the team alone would say


def test_an_unknown_team_names_the_known_teams() -> None:
    frames = build_issue_frames(timeline_issues(), team_settings("labels"))
    with pytest.raises(TeamError, match=r"unknown team 'c'; the teams are: a, b, \(none\)"):
        restrict_to_team(frames, "c")


def test_without_a_team_field_the_error_says_what_to_set() -> None:
    frames = build_issue_frames(timeline_issues(), team_settings(None))
    for call in (lambda: team_names(frames), lambda: restrict_to_team(frames, NONE_TEAM)):
        with pytest.raises(TeamError, match=r"dora_flow_config\.team_field"):
            call()


# --- settings ---------------------------------------------------------------------------------------------------


def test_team_field_defaults_to_null_and_must_be_a_field_id() -> None:
    assert merge_with_defaults({})["dora_flow_config"]["team_field"] is None
    assert validate_settings(team_settings("labels")) == []
    for bad in ("", "  ", 7, ["labels"]):
        errors = validate_settings(team_settings(bad))  # type: ignore[arg-type]
        assert len(errors) == 1 and errors[0].startswith("dora_flow_config.team_field must be a Jira field id")


def test_changing_the_team_field_reparses_and_misses_the_metrics_cache_but_keeps_the_snapshots() -> None:
    now = datetime(2025, 3, 10, 12, tzinfo=UTC)
    save_metric_snapshot("2025-10", "flow_load", {"wip_count": 5, "by_status": {}, "by_issue_type": {}}, now=now)
    before, after = team_settings(None), team_settings("labels")
    assert field_mapping_hash(before) != field_mapping_hash(after)
    frames = build_issue_frames(timeline_issues(), before)
    with pytest.raises(FramesMismatchError):  # the raw team values were not kept: the issues are parsed again
        ensure_derived(frames, after)
    period = Period(date(2025, 3, 1), date(2025, 3, 9))
    version = f"v1/rules-{METRIC_RULES_VERSION}"

    def cached(config: dict) -> dict | None:
        key = build_cache_key("all", period.start, period.end, field_mapping_hash(config))
        return load_cached_metrics(key, mapping_hash=field_mapping_hash(config), data_version=version, now=now)

    calculate_metrics_cached(frames, before, period, now, data_version="v1")
    assert cached(before) is not None and cached(after) is None  # the entry of the old team field does not serve
    calculate_metrics_cached(build_issue_frames(timeline_issues(), after), after, period, now, data_version="v1")
    assert cached(after) is not None
    assert load_snapshots()["2025-10"]["flow_load"]["wip_count"] == 5


def test_a_fetch_asks_jira_for_the_team_field() -> None:
    assert "labels" in required_fields(team_settings("labels"))
    assert "components" not in required_fields(team_settings(None))


# --- metrics of a team ------------------------------------------------------------------------------------------

ANCHOR = datetime(2025, 7, 2, 9, 0, tzinfo=UTC)
PERIOD = Period(date(2025, 5, 1), date(2025, 6, 30))
DEMO = generate_demo_issues(160, anchor=ANCHOR, seed=11)
SPELLINGS = ("Alpha", "alpha", "ALPHA", "Beta", "beta", "Gamma")


def labelled(teams: list[str]) -> list[dict]:
    issues = copy.deepcopy(DEMO)
    for item, team in zip(issues, teams, strict=True):
        item["fields"]["labels"] = [team]
    return issues


DEMO_TEAM_SETTINGS = team_settings(**{**DEMO_SETTINGS_OVERLAY, "team_field": "labels"})  # not the demo's Team


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(SPELLINGS), min_size=len(DEMO), max_size=len(DEMO)))
def test_single_team_counts_add_up_and_a_team_equals_its_own_file(teams: list[str]) -> None:
    issues = labelled(teams)
    frames = build_issue_frames(issues, DEMO_TEAM_SETTINGS)
    coverage = all_issues_coverage(frames)
    everyone = calculate_all_metrics(frames, DEMO_TEAM_SETTINGS, PERIOD, ANCHOR, coverage=coverage)
    per_team = {name: calculate_all_metrics(restrict_to_team(frames, name), DEMO_TEAM_SETTINGS, PERIOD, ANCHOR,
                                            coverage=coverage) for name in team_names(frames)}
    assert NONE_TEAM not in per_team  # every issue has exactly one team
    assert sorted(per_team, key=str.casefold) == list(per_team)
    for metric in ("deployment_frequency", "flow_velocity", "flow_load"):
        # counts: each issue is in exactly one team, so the teams' populations partition all issues
        assert sum(m[metric]["total_issue_count"] for m in per_team.values()) == everyone[metric]["total_issue_count"]
        values = [m[metric]["value"] or 0.0 for m in per_team.values()]
        assert sum(values) == pytest.approx(everyone[metric]["value"] or 0.0)
    for name, metrics in per_team.items():
        own = [item for item, team in zip(issues, teams, strict=True) if team.casefold() == name.casefold()]
        alone = build_issue_frames(own, DEMO_TEAM_SETTINGS)
        # the team's metrics are those of a file holding only its issues, with the coverage of all issues
        assert metrics == calculate_all_metrics(alone, DEMO_TEAM_SETTINGS, PERIOD, ANCHOR, coverage=coverage)


def test_a_teams_metrics_equal_the_reference_on_its_own_issues() -> None:
    # Independent oracle: the plain-Python reference (tests/reference_metrics.py) run on the issues whose demo
    # "Team" option names the team (membership read straight from the raw field here), with the coverage start
    # of all issues; compared with `cli.py metrics --team`'s computation for every team and every metric.
    from datetime import UTC, date, datetime

    from data.metrics.periods import Period
    from data.services.command_service import compute_metrics
    from data.sources.demo_data import generate_demo_issues
    from data.sources.demo_fields import DEMO_SETTINGS_OVERLAY
    from tests.reference_metrics import reference

    now = datetime(2025, 6, 30, 12, tzinfo=UTC)
    raw = generate_demo_issues(400, anchor=now, seed=5)
    settings = merge_with_defaults({"dora_flow_config": copy.deepcopy(DEMO_SETTINGS_OVERLAY)})
    field = settings["dora_flow_config"]["team_field"]
    start, end = date(2025, 5, 1), date(2025, 6, 29)

    def team_of(issue: dict) -> str:
        option = issue["fields"].get(field)
        return option["value"] if isinstance(option, dict) and option.get("value") else "(none)"

    teams = sorted({team_of(issue) for issue in raw})
    assert len(teams) >= 4
    for team in teams:
        mine = [issue for issue in raw if team_of(issue) == team]
        got = compute_metrics(raw, settings, Period(start, end), now, team=team)
        for name, metric in got.items():
            if metric["error_state"] == "missing_mapping":
                continue
            expected = reference(name, mine, settings, start, end, now, coverage_of=raw)
            value = metric["value"]
            assert (value is None) == (expected["value"] is None), (team, name)
            assert value is None or abs(value - expected["value"]) <= 1e-9 * max(1.0, abs(value)), (team, name)
            previous = metric["details"]["previous_value"]
            assert (previous is None) == (expected["previous"] is None), (team, name)
            weekly = metric["details"]["weekly_values"]
            assert [w is None for w in weekly] == [w is None for w in expected["weekly"]], (team, name)
