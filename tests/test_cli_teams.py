"""``cli.py teams`` and ``--team`` on ``metrics``, ``analytics``, ``forecast`` and ``export``: a team's numbers are
those of a file holding only its issues (the coverage start excepted: it stays that of all issues), ``teams``
repeats ``metrics --team`` for every team, and every team problem is one line with exit code 2."""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import orjson
import pytest

import cli
from configuration.settings import merge_with_defaults
from data.metrics.exporters import CSV_COLUMNS, export_metrics
from data.metrics.issue_frame import build_issue_frames
from data.metrics.periods import Period
from data.metrics.teams import all_issues_coverage
from data.services.dashboard_service import effective_settings
from data.services.metrics_service import ALL_METRICS, calculate_all_metrics
from data.sources.demo_data import generate_demo_issues
from data.sources.demo_fields import DEMO_SETTINGS_OVERLAY, TEAM
from data.store.issue_cache import required_fields, save_cached_issues
from tests.conftest import PROJECT_ROOT

ANCHOR = datetime(2025, 7, 2, 9, 0, tzinfo=UTC)
NOW_TEXT = "2025-07-02T09:00:00Z"
START, END = "2025-05-01", "2025-06-30"
TEAMS = ("Alpha", "Beta", "Gamma")

pytestmark = pytest.mark.usefixtures("restore_root_logging")


def team_issues() -> list[dict]:
    """Demo issues labelled Alpha/Beta/Gamma in turn (Beta written "beta" on every other one), every tenth with
    no label; the earliest created issue is Alpha's, so Beta's own earliest day is later than the data's."""
    issues = generate_demo_issues(240, anchor=ANCHOR, seed=5)
    for position, item in enumerate(issues):
        team = TEAMS[position % 3]
        if team == "Beta" and position % 2 == 0:
            team = "beta"
        item["fields"]["labels"] = [] if position % 10 == 9 else [team]
    earliest = min(range(len(issues)), key=lambda i: issues[i]["fields"]["created"])
    issues[earliest]["fields"]["labels"] = ["Alpha"]
    for item in issues:  # the demo's own Team field (what demo mode maps) names the same teams
        item["fields"][TEAM] = {"value": item["fields"]["labels"][0]} if item["fields"]["labels"] else None
    return issues


ISSUES = team_issues()


def only(team: str) -> list[dict]:
    return [item for item in ISSUES if [name.casefold() for name in item["fields"]["labels"]] == [team.casefold()]]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {"issues": tmp_path / "issues.json", "beta": tmp_path / "beta.json", "settings": tmp_path / "s.json",
             "unmapped": tmp_path / "unmapped.json"}
    paths["issues"].write_bytes(orjson.dumps({"issues": ISSUES}))
    paths["beta"].write_bytes(orjson.dumps({"issues": only("Beta")}))
    paths["settings"].write_bytes(orjson.dumps({"dora_flow_config": {**DEMO_SETTINGS_OVERLAY, "team_field": "labels"}}))
    paths["unmapped"].write_bytes(orjson.dumps({"dora_flow_config": {**DEMO_SETTINGS_OVERLAY, "team_field": None}}))
    return paths


SETTINGS = merge_with_defaults({"dora_flow_config": {**DEMO_SETTINGS_OVERLAY, "team_field": "labels"}})


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "Traceback" not in err
    return lines[0]


def period_args(files: dict[str, Path], source: str = "issues", settings: str = "settings") -> list[str]:
    return ["--issues", str(files[source]), "--settings", str(files[settings]), "--start", START, "--end", END,
            "--now", NOW_TEXT]


# --- teams --------------------------------------------------------------------------------------------------------


def test_teams_json_gives_each_team_the_metrics_of_metrics_team(capsys, files) -> None:
    code, out, err = run_main(capsys, "teams", *period_args(files))
    assert (code, err) == (0, "")
    document = json.loads(out)
    assert list(document) == ["period", "teams"]
    assert document["period"] == {"start": START, "end": END}
    # sorted case-insensitively, "(none)" last; Beta keeps its first spelling (position 1 is "Beta")
    assert [row["team"] for row in document["teams"]] == ["Alpha", "Beta", "Gamma", "(none)"]
    for row in document["teams"]:
        assert sorted(row["metrics"]) == sorted(ALL_METRICS)
        code, single, _ = run_main(capsys, "metrics", *period_args(files), "--team", row["team"].upper())
        assert code == 0
        assert row["metrics"] == json.loads(single)["metrics"]


def test_teams_csv_is_the_metrics_csv_of_each_team_with_a_team_column(capsys, files) -> None:
    code, out, err = run_main(capsys, "teams", *period_args(files), "--format", "csv")
    assert (code, err) == (0, "")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["team", *CSV_COLUMNS]
    assert len(rows) == 1 + 4 * 9  # four teams, nine metrics each
    for team in ("Alpha", "Beta", "Gamma", "(none)"):
        _, single, _ = run_main(capsys, "metrics", *period_args(files), "--team", team, "--format", "csv")
        expected = list(csv.reader(io.StringIO(single)))[1:]
        assert [row[1:] for row in rows[1:] if row[0] == team] == expected


def test_teams_runs_as_a_real_process(files) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("JIRA_")}
    done = subprocess.run([sys.executable, str(PROJECT_ROOT / "cli.py"), "teams", *period_args(files)],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert (done.returncode, done.stderr) == (0, "")
    assert len(json.loads(done.stdout)["teams"]) == 4


# --- --team -------------------------------------------------------------------------------------------------------


def test_a_team_equals_a_file_of_its_issues_except_the_coverage(capsys, files) -> None:
    code, team_out, err = run_main(capsys, "metrics", *period_args(files), "--team", "BETA")
    assert (code, err) == (0, "")
    _, alone_out, _ = run_main(capsys, "metrics", *period_args(files, "beta"))
    team, alone = json.loads(team_out)["metrics"], json.loads(alone_out)["metrics"]
    all_frames = build_issue_frames(copy.deepcopy(ISSUES), SETTINGS)
    beta_frames = build_issue_frames(copy.deepcopy(only("Beta")), SETTINGS)
    coverage = all_issues_coverage(all_frames)
    assert coverage < all_issues_coverage(beta_frames)  # the data starts before Beta's first issue
    for name in ALL_METRICS:
        for field in ("value", "total_issue_count", "excluded_issue_count", "error_state", "performance_tier"):
            assert team[name][field] == alone[name][field], (name, field)
        assert team[name]["details"]["coverage_start"] == coverage.isoformat()
        assert alone[name]["details"]["coverage_start"] == all_issues_coverage(beta_frames).isoformat()
    # exactly the calculators on Beta's issues with the coverage of all issues
    expected = calculate_all_metrics(beta_frames, SETTINGS, Period(date(2025, 5, 1), date(2025, 6, 30)), ANCHOR,
                                     coverage=coverage)
    assert team_out == export_metrics("json", expected, period_start=date(2025, 5, 1), period_end=date(2025, 6, 30),
                                      generated_at=ANCHOR)


def test_analytics_team_is_the_analytics_of_the_teams_file_named(capsys, files) -> None:
    code, team_out, err = run_main(capsys, "analytics", *period_args(files), "--team", "bEtA")
    assert (code, err) == (0, "")
    _, alone_out, _ = run_main(capsys, "analytics", *period_args(files, "beta"))
    team, alone = json.loads(team_out), json.loads(alone_out)
    assert team["team"] == "Beta" and alone["team"] is None  # the data's spelling, not the typed one
    assert list(team) == list(alone)
    assert {**team, "team": None} == alone
    assert team["cycle_time"]["points"]  # not an empty comparison


def test_forecast_team_is_the_forecast_of_the_teams_file(capsys, files) -> None:
    args = ["--items", "10", "--issues"]
    code, team_out, err = run_main(capsys, "forecast", *args, str(files["issues"]), "--settings",
                                   str(files["settings"]), "--now", NOW_TEXT, "--team", "beta")
    assert (code, err) == (0, "")
    _, alone_out, _ = run_main(capsys, "forecast", *args, str(files["beta"]), "--settings", str(files["settings"]),
                               "--now", NOW_TEXT)
    _, all_out, _ = run_main(capsys, "forecast", *args, str(files["issues"]), "--settings", str(files["settings"]),
                             "--now", NOW_TEXT)
    assert team_out == alone_out
    assert json.loads(team_out)["history"]["total"] < json.loads(all_out)["history"]["total"]


def test_export_team_writes_the_teams_metrics_from_the_cache(capsys, files, tmp_path: Path) -> None:
    save_cached_issues(copy.deepcopy(ISSUES), {"source": "demo", "jql": "project = DEMO", "url": "",
                                               "deployment": "cloud",
                                               "fields": required_fields(effective_settings(SETTINGS))})
    output = tmp_path / "beta.csv"
    code, out, err = run_main(capsys, "export", "--output", str(output), "--settings", str(files["settings"]),
                              "--start", START, "--end", END, "--now", NOW_TEXT, "--format", "csv", "--team", "Beta")
    assert (code, err) == (0, ""), err
    assert "wrote 9 metrics" in out
    _, single, _ = run_main(capsys, "metrics", *period_args(files), "--team", "Beta", "--format", "csv")
    assert output.read_text() == single


# --- errors -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["metrics", "analytics", "forecast", "export"])
def test_an_unknown_team_is_one_line_naming_the_teams(capsys, files, tmp_path: Path, command: str) -> None:
    save_cached_issues(copy.deepcopy(ISSUES[:30]), {"source": "demo", "jql": "project = DEMO", "url": "",
                                                    "deployment": "cloud",
                                                    "fields": required_fields(effective_settings(SETTINGS))})
    args = {"metrics": period_args(files), "analytics": period_args(files),
            "forecast": ["--issues", str(files["issues"]), "--settings", str(files["settings"]), "--items", "3"],
            "export": ["--output", str(tmp_path / "x.json"), "--settings", str(files["settings"])]}[command]
    code, out, err = run_main(capsys, command, *args, "--team", "Delta")
    assert (code, out) == (2, "")
    assert one_error_line(err) == "error: unknown team 'Delta'; the teams are: Alpha, Beta, Gamma, (none)"
    assert not (tmp_path / "x.json").exists()


@pytest.mark.parametrize("argv", [["teams"], ["metrics", "--team", "Alpha"], ["analytics", "--team", "Alpha"]])
def test_without_a_team_field_the_line_says_what_to_set(capsys, files, argv: list[str]) -> None:
    code, out, err = run_main(capsys, *argv, *period_args(files, settings="unmapped"))
    assert (code, out) == (2, "")
    line = one_error_line(err)
    assert "no team field is set: set dora_flow_config.team_field" in line
    assert '"project", "components", "labels"' in line


def test_teams_input_problems_are_usage_errors(capsys, files, tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    code, out, err = run_main(capsys, "teams", "--issues", str(missing), "--settings", str(files["settings"]),
                              "--start", START, "--end", END, "--now", NOW_TEXT)
    assert (code, out) == (2, "")
    assert str(missing) in one_error_line(err)
    code, _, err = run_main(capsys, "teams", *period_args(files), "--format", "prometheus")
    assert code == 2 and "invalid choice" in one_error_line(err)


def test_export_snapshots_takes_no_team(capsys, tmp_path: Path) -> None:
    code, out, err = run_main(capsys, "export", "--output", str(tmp_path / "s.json"), "--snapshots", "--team", "A")
    assert (code, out) == (2, "")
    assert "--team do not apply" in one_error_line(err)
