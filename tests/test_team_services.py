"""The dashboard's team services: every service function follows ``team=`` (numbers equal to those of the team's
issues alone, coverage of all issues), unknown teams raise ``TeamError``, the metrics cache keeps teams apart,
each team's Flow Load is recorded in its own weekly series (and read back for its sparkline), and the team
selector's choices and comparison rows come from the same tables."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

import cli
from configuration.settings import merge_with_defaults
from data.metrics.issue_frame import build_issue_frames
from data.metrics.periods import Period
from data.metrics.teams import TeamError, all_issues_coverage
from data.services import dashboard_service, metrics_service
from data.services.analytics_service import analytics_for_dashboard
from data.services.drilldown_service import drilldown_for_dashboard
from data.services.export_service import current_metrics_export, import_uploaded_snapshots, snapshots_export
from data.services.forecast_service import current_wip_count, forecast_for_dashboard
from data.services.team_service import ALL_TEAMS, team_choices, teams_comparison
from data.sources.demo_fields import TEAM
from data.store.issue_cache import required_fields, save_cached_issues
from data.store.metrics_snapshots import load_snapshots, save_week_snapshots, team_snapshots, week_label
from tests.test_cli_teams import ISSUES, SETTINGS, only

NOW = datetime(2025, 7, 2, 9, 0, tzinfo=UTC)
START, END = date(2025, 5, 1), date(2025, 6, 30)
TODAY = NOW.date()  # a period ending today: its Flow Load is the WIP now, countable from current statuses
pytestmark = pytest.mark.usefixtures("restore_root_logging")


@pytest.fixture()
def cached(isolated_data_dir: Path) -> dict:
    """The labelled demo issues (Alpha/Beta/Gamma, every tenth with no label; the demo's Team field naming the
    same teams, for the demo-mode command line) in the issue cache."""
    metrics_service.clear_memo()
    save_cached_issues(copy.deepcopy(ISSUES), {"source": "demo", "jql": "project = DEMO", "url": "",
                                               "deployment": "cloud",
                                               "fields": [*required_fields(SETTINGS), TEAM]})
    return SETTINGS


def _values(metrics: dict) -> dict:
    return {name: metric["value"] for name, metric in metrics.items()}


def _wip_by_hand(issues: list[dict]) -> int:
    """Independent count: work items (not deployments) whose current status is a WIP status."""
    config = SETTINGS["dora_flow_config"]
    wip = {name.lower() for name in config["wip_statuses"]}
    return sum(1 for item in issues if item["fields"]["issuetype"]["name"] not in config["deployment_issue_types"]
               and item["fields"]["status"]["name"].lower() in wip)


def test_team_metrics_are_those_of_the_team_issues_alone(cached: dict) -> None:
    # Independent computation: the tables of a list holding only Beta's issues (either spelling), with the
    # coverage start of all issues (ANALYTICS.md, "Teams").
    beta_frames = build_issue_frames(copy.deepcopy(only("Beta")), SETTINGS)
    coverage = all_issues_coverage(build_issue_frames(copy.deepcopy(ISSUES), SETTINGS))
    expected = metrics_service.calculate_all_metrics(beta_frames, SETTINGS, Period(START, END), NOW, snapshots={},
                                                     coverage=coverage)
    metrics, dataset = dashboard_service.metrics_for_period(cached, START, END, NOW, team="beta")
    assert dataset is not None
    assert _values(metrics) == _values(expected)
    everyone, _ = dashboard_service.metrics_for_period(cached, START, END, NOW)
    assert _values(everyone) != _values(metrics)


def test_the_cache_keys_keep_teams_apart(cached: dict, isolated_data_dir: Path) -> None:
    everyone, _ = dashboard_service.metrics_for_period(cached, START, TODAY, NOW)
    beta, _ = dashboard_service.metrics_for_period(cached, START, TODAY, NOW, team="Alpha")
    again, _ = dashboard_service.metrics_for_period(cached, START, TODAY, NOW)
    assert again is everyone and beta is not everyone
    # Hand counts of the current statuses: 8 work items in progress in all, 3 of them Alpha's.
    assert beta["flow_load"]["value"] == _wip_by_hand(only("Alpha")) == 3
    assert everyone["flow_load"]["value"] == _wip_by_hand(ISSUES) == 8
    # A fresh process (memo cleared) reads metrics_cache.json: each team its own entry.
    metrics_service.clear_memo()
    from_file, _ = dashboard_service.metrics_for_period(cached, START, TODAY, NOW, team="Alpha")
    assert _values(from_file) == _values(beta)
    entries = json.loads((isolated_data_dir / "metrics_cache.json").read_text())
    assert any("@team:Alpha" in key for key in json.dumps(entries).split('"'))


def test_unknown_team_is_refused_everywhere(cached: dict) -> None:
    period = Period(START, END)
    calls = [lambda: dashboard_service.metrics_for_period(cached, START, END, NOW, team="Delta"),
             lambda: drilldown_for_dashboard("flow_load", cached, period, NOW, team="Delta"),
             lambda: current_metrics_export("json", cached, period, NOW, team="Delta"),
             lambda: analytics_for_dashboard(cached, START, END, NOW, team="Delta"),
             lambda: forecast_for_dashboard(cached, NOW, items=3, until=None, team="Delta"),
             lambda: current_wip_count(cached, NOW, team="Delta")]
    for call in calls:
        with pytest.raises(TeamError, match="unknown team 'Delta'; the teams are: Alpha, Beta, Gamma, \\(none\\)"):
            call()


def test_each_team_flow_load_is_recorded_with_the_all_teams_snapshot(cached: dict) -> None:
    dashboard_service.metrics_for_period(cached, START, END, NOW)
    week = load_snapshots()[week_label(NOW)]
    assert week["flow_load"]["wip_count"] == _wip_by_hand(ISSUES)
    for team in ("Alpha", "Beta", "Gamma"):
        assert week[f"flow_load@team:{team}"]["wip_count"] == _wip_by_hand(only(team))
    assert not any(key.endswith("(none)") for key in week)
    # Each issue has at most one label here, so the teams plus the unlabelled issues add up to all of them.
    unlabelled = [item for item in ISSUES if not item["fields"]["labels"]]
    assert sum(week[f"flow_load@team:{t}"]["wip_count"] for t in ("Alpha", "Beta", "Gamma")) + _wip_by_hand(
        unlabelled) == week["flow_load"]["wip_count"]


def test_a_team_flow_load_sparkline_reads_its_own_weeks(cached: dict) -> None:
    # Two weeks before NOW, all teams recorded 7 WIP items and Beta 99: Beta's weekly values show 99, never 7.
    earlier = NOW - timedelta(days=14)
    save_week_snapshots(week_label(earlier), {"flow_load": {"wip_count": 7, "by_status": {"In Progress": 7}},
                                              "flow_load@team:Beta": {"wip_count": 99,
                                                                      "by_status": {"In Progress": 99}}},
                        now=earlier)
    beta, _ = dashboard_service.metrics_for_period(cached, START, END, NOW, team="Beta")
    everyone, _ = dashboard_service.metrics_for_period(cached, START, END, NOW)
    assert 99 in beta["flow_load"]["details"]["weekly_values"]
    assert 7 not in beta["flow_load"]["details"]["weekly_values"]
    assert 7 in everyone["flow_load"]["details"]["weekly_values"]
    assert team_snapshots(load_snapshots(), "BETA")[week_label(earlier)]["flow_load"]["wip_count"] == 99


def test_snapshot_export_and_import_carry_team_series(cached: dict, tmp_path: Path) -> None:
    dashboard_service.metrics_for_period(cached, START, END, NOW)
    exported = json.loads(snapshots_export(NOW.date()).content)
    assert "flow_load@team:Gamma" in exported[week_label(NOW)]
    label = week_label(NOW - timedelta(days=7))
    document = {label: {"flow_load": {"wip_count": 2, "by_status": {"In Progress": 2}},
                        "flow_load@team:Alpha": {"wip_count": 1, "by_status": {"In Progress": 1}}}}
    upload = "data:application/json;base64," + __import__("base64").b64encode(json.dumps(document).encode()).decode()
    outcome = import_uploaded_snapshots(upload, "s.json", now=NOW)
    assert outcome.ok, outcome.message
    assert load_snapshots()[label]["flow_load@team:Alpha"]["wip_count"] == 1
    # A team entry is held to the Flow Load rules: by_status must add up to wip_count (1 ≠ 3).
    bad = {label: {"flow_load@team:Alpha": {"wip_count": 3, "by_status": {"In Progress": 1}}}}
    upload = "data:application/json;base64," + __import__("base64").b64encode(json.dumps(bad).encode()).decode()
    refused = import_uploaded_snapshots(upload, "bad.json", now=NOW)
    assert not refused.ok and "flow_load@team:Alpha.by_status adds up to 1, but wip_count is 3" in refused.message


def test_drilldown_analytics_forecast_and_wip_follow_the_team(cached: dict) -> None:
    alpha_keys = {item["key"] for item in only("Alpha")}
    drill = drilldown_for_dashboard("flow_load", cached, Period(START, TODAY), NOW, team="Alpha")
    keys = {row["key"] for row in drill.rows}
    assert keys <= alpha_keys and len(keys) == _wip_by_hand(only("Alpha")) == 3
    analytics = analytics_for_dashboard(cached, START, TODAY, NOW, team="alpha")
    assert analytics is not None and analytics["team"] == "Alpha"
    assert {item["key"] for item in analytics["aging_wip"]["items"]} == keys
    assert analytics_for_dashboard(cached, START, TODAY, NOW)["team"] is None
    assert current_wip_count(cached, NOW, team="Alpha") == 3
    assert current_wip_count(cached, NOW, team="Beta") == _wip_by_hand(only("Beta")) == 0
    assert current_wip_count(cached, NOW) == _wip_by_hand(ISSUES) == 8
    team_forecast = forecast_for_dashboard(cached, NOW, items=5, until=None, team="Beta")
    all_forecast = forecast_for_dashboard(cached, NOW, items=5, until=None)
    assert team_forecast["history"] != all_forecast["history"]


def test_prometheus_export_labels_the_team(cached: dict) -> None:
    period = Period(START, END)
    team_text = current_metrics_export("prometheus", cached, period, NOW, team="beta").content
    all_text = current_metrics_export("prometheus", cached, period, NOW).content
    assert 'team="Beta"' in team_text and 'team="all"' not in team_text
    assert 'team="all"' in all_text and "tier=" not in all_text


def test_team_choices_count_each_team_issues(cached: dict) -> None:
    # By hand from the labels: 240 issues, every tenth (24) unlabelled; the rest labelled Alpha/Beta/Gamma
    # in turn, plus the earliest issue relabelled Alpha (counted from the data rather than assumed).
    expected = [(team, len(only(team))) for team in ("Alpha", "Beta", "Gamma")]
    expected.append(("(none)", sum(1 for item in ISSUES if not item["fields"]["labels"])))
    assert team_choices(cached) == expected
    assert expected[-1] == ("(none)", 24) and sum(count for _, count in expected) == 240


def test_team_choices_are_empty_without_team_field_or_data(isolated_data_dir: Path) -> None:
    no_field = merge_with_defaults({"dora_flow_config": {**SETTINGS["dora_flow_config"], "team_field": None}})
    assert team_choices(SETTINGS) == []  # no data yet
    assert teams_comparison(SETTINGS, START, END, NOW) == []
    save_cached_issues(copy.deepcopy(ISSUES), {"source": "demo", "jql": "project = DEMO", "url": "",
                                               "deployment": "cloud", "fields": required_fields(SETTINGS)})
    assert team_choices(no_field) == []
    rows = teams_comparison(no_field, START, END, NOW)
    assert [row["team"] for row in rows] == [ALL_TEAMS]


def test_teams_comparison_rows_are_the_cards_of_each_team(cached: dict) -> None:
    rows = teams_comparison(cached, START, END, NOW)
    assert [row["team"] for row in rows] == [ALL_TEAMS, "Alpha", "Beta", "Gamma", "(none)"]
    everyone, _ = dashboard_service.metrics_for_period(cached, START, END, NOW)
    assert _values(rows[0]["metrics"]) == _values(everyone)
    for row in rows[1:]:
        team, _ = dashboard_service.metrics_for_period(cached, START, END, NOW, team=row["team"])
        assert _values(row["metrics"]) == _values(team)
    assert len({json.dumps(_values(row["metrics"]), sort_keys=True) for row in rows}) == len(rows)


def test_cli_snapshot_and_prometheus_follow_the_teams(cached: dict, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    settings_file = tmp_path / "s.json"
    settings_file.write_text(json.dumps({"dora_flow_config": {"team_field": "labels"}}))
    assert cli.main(["snapshot", "--settings", str(settings_file), "--now", "2025-07-02T09:00:00Z"]) == 0
    week = load_snapshots()[week_label(NOW)]
    # The same hand counts as the dashboard's: 8 in progress in all, Alpha 3, Beta 0, Gamma 3.
    assert [week[key]["wip_count"] for key in ("flow_load", "flow_load@team:Alpha", "flow_load@team:Beta",
                                               "flow_load@team:Gamma")] == [8, 3, 0, 3]
    issues_file = tmp_path / "issues.json"
    issues_file.write_text(json.dumps({"issues": ISSUES}))
    capsys.readouterr()
    assert cli.main(["metrics", "--issues", str(issues_file), "--settings", str(settings_file), "--start",
                     "2025-05-01", "--end", "2025-06-30", "--now", "2025-07-02T09:00:00Z", "--format", "prometheus",
                     "--team", "Gamma"]) == 0
    out = capsys.readouterr().out
    assert 'team="Gamma"' in out and 'team="all"' not in out
