"""The Analytics view's service and ``cli.py analytics``: the dashboard's numbers are the cards', the CSV
exports are the sections row by row (formula-injection safe), and the command line prints the same object as
JSON or refuses bad input with one line and exit code 2."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from configuration.settings import merge_with_defaults
from data.metrics.analytics import SECTIONS, calculate_analytics
from data.metrics.issue_frame import build_issue_frames
from data.metrics.periods import Period
from data.services import dashboard_service
from data.services.analytics_service import analytics_csv, analytics_for_dashboard, csv_cell
from data.sources.demo_data import generate_demo_issues
from data.sources.demo_fields import DEMO_SETTINGS_OVERLAY
from tests.conftest import PROJECT_ROOT
from tests.test_analytics import NOW, PERIOD, SETTINGS, TEAM, issue

pytestmark = pytest.mark.usefixtures("restore_root_logging")
ANCHOR = datetime(2025, 7, 2, 9, 0, tzinfo=UTC)


def test_dashboard_analytics_match_the_cards(isolated_data_dir: Path) -> None:
    settings = dashboard_service.effective_settings(merge_with_defaults({}))
    today = datetime.now(UTC).date()
    start = today - timedelta(days=29)
    now = datetime.now(UTC)
    assert analytics_for_dashboard(settings, start, today, now) is None  # no data yet
    dashboard_service.ensure_demo_data(settings)
    result = analytics_for_dashboard(settings, start, today, now)
    metrics, _ = dashboard_service.metrics_for_period(settings, start, today, now)
    assert result is not None and result["period"] == {"start": start.isoformat(), "end": today.isoformat()}
    assert result["cycle_time"]["percentiles"]["50"] == metrics["flow_time"]["value"]
    assert result["aging_wip"]["count"] == metrics["flow_load"]["value"]
    assert sum(result["throughput"]["daily"]) == metrics["flow_velocity"]["details"]["completed_count"]


def _csv(section: str, analytics: dict) -> tuple[str, list[list[str]]]:
    name, text = analytics_csv(section, analytics)
    return name, list(csv.reader(io.StringIO(text)))


def test_csv_of_each_section() -> None:
    result = calculate_analytics(build_issue_frames(TEAM, SETTINGS), SETTINGS, PERIOD, NOW)
    name, rows = _csv("cycle_time", result)
    assert name == "analytics_cycle_time_2025-03-03_2025-03-12.csv"
    assert rows[0] == ["key", "completed_at", "cycle_time_days", "flow_type"]
    assert rows[1] == ["A-2", "2025-03-05T00:00:00.000Z", "1.0", "Defect"] and len(rows) == 4
    _, rows = _csv("aging_wip", result)
    assert rows == [["key", "status", "age_days", "flow_type"], ["A-4", "In Progress", "6.5", "Feature"],
                    ["A-5", "Review", "1.5", "Defect"]]
    _, rows = _csv("time_in_status", result)
    assert rows[0] == ["status", "total_days", "share_percent", "items", "median_days", "active"]
    assert rows[2] == ["Review", "6.0", "50.0", "2", "3.0", "false"]
    _, rows = _csv("cfd", result)
    assert rows[0] == ["day", "Done", "已完成", "Review", "In Progress", "To Do"]
    assert rows[1] == ["2025-03-03", "0", "1", "1", "1", "2"] and len(rows) == 11
    _, rows = _csv("throughput", result)
    assert rows[0] == ["day", "completed"] and rows[3] == ["2025-03-05", "1"] and len(rows) == 11
    with pytest.raises(ValueError, match="Unknown analytics section"):
        analytics_csv("nonsense", result)


def test_csv_neutralises_formulas() -> None:
    team = [issue("E-1", "Story", "2025-03-01T00:00:00.000+0000",
                  ("2025-03-04T00:00:00.000+0000", "To Do", "=HYPERLINK(\"x\")"),
                  ("2025-03-06T00:00:00.000+0000", "=HYPERLINK(\"x\")", "In Progress"))]
    result = calculate_analytics(build_issue_frames(team, SETTINGS), SETTINGS, PERIOD, NOW)
    _, rows = _csv("cfd", result)
    assert "'=HYPERLINK(\"x\")" in rows[0]
    assert csv_cell("-1") == "'-1" and csv_cell(-1.5) == "-1.5" and csv_cell("@x") == "'@x" and csv_cell(None) == ""


# ---------------------------------------------------------------- the command line (a real subprocess)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("analytics-cli")
    paths = {"issues": folder / "issues.json", "settings": folder / "settings.json"}
    paths["issues"].write_bytes(orjson.dumps({"issues": generate_demo_issues(300, anchor=ANCHOR, seed=5)}))
    paths["settings"].write_bytes(orjson.dumps({"dora_flow_config": DEMO_SETTINGS_OVERLAY}))
    return paths


def run_cli(*argv: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DASHBOARD_DATA_DIR": str(data_dir), "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, str(PROJECT_ROOT / "cli.py"), *argv], capture_output=True, text=True,
                          env=env, cwd=PROJECT_ROOT, timeout=120, encoding="utf-8")


def test_cli_prints_the_analytics_object(files: dict[str, Path], isolated_data_dir: Path) -> None:
    done = run_cli("analytics", "--issues", str(files["issues"]), "--settings", str(files["settings"]),
                   "--start", "2025-06-01", "--end", "2025-06-30", "--now", "2025-07-02T09:00:00Z",
                   data_dir=isolated_data_dir)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    printed = json.loads(done.stdout)
    settings = merge_with_defaults({"dora_flow_config": DEMO_SETTINGS_OVERLAY})
    raw = orjson.loads(files["issues"].read_bytes())["issues"]
    expected = calculate_analytics(build_issue_frames(raw, settings), settings, Period("2025-06-01", "2025-06-30"),
                                   ANCHOR)
    assert printed == expected
    assert list(printed) == ["period", "team", *SECTIONS]


@pytest.mark.parametrize(("change", "message"), [
    ({"--start": "2025-13-01"}, "--start '2025-13-01' is not a date"),
    ({"--end": "yesterday"}, "--end 'yesterday' is not a date"),
    ({"--end": "2025-07-03"}, "is in the future"),
    ({"--start": "2025-07-01", "--end": "2025-06-01"}, "before its start"),
    ({"--now": "noon"}, "--now 'noon' is not an ISO-8601 time"),
    ({"--issues": "/nonexistent/issues.json"}, "issues file not found"),
    ({"--settings": "/nonexistent/settings.json"}, "settings file not found"),
    ({"--format": "csv"}, "invalid choice"),
])
def test_cli_bad_input_is_one_line_and_exit_2(files: dict[str, Path], isolated_data_dir: Path, change: dict,
                                              message: str) -> None:
    options = {"--issues": str(files["issues"]), "--settings": str(files["settings"]), "--start": "2025-06-01",
               "--end": "2025-06-30", "--now": "2025-07-02T09:00:00Z", **change}
    argv = [part for pair in options.items() for part in pair]
    done = run_cli("analytics", *argv, data_dir=isolated_data_dir)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], done.stderr


def test_cli_unreadable_issues_file_is_exit_2(files: dict[str, Path], isolated_data_dir: Path,
                                              tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    done = run_cli("analytics", "--issues", str(broken), "--settings", str(files["settings"]), "--start",
                   "2025-06-01", "--end", "2025-06-30", "--now", "2025-07-02T09:00:00Z", data_dir=isolated_data_dir)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and "is not valid JSON" in done.stderr


def test_chart_hover_gets_summaries_without_changing_the_exported_object(isolated_data_dir: Path) -> None:
    # The scatter's hover shows each item's summary; the object the CSV and the CLI use keeps ANALYTICS.md's
    # fields only. Summaries are compared with the cached demo issues' own fields.summary.
    from data.services.analytics_service import with_summaries
    from data.store.issue_cache import load_cached_issues

    settings = dashboard_service.effective_settings(merge_with_defaults({}))
    dashboard_service.ensure_demo_data(settings)
    today, now = datetime.now(UTC).date(), datetime.now(UTC)
    plain = analytics_for_dashboard(settings, today - timedelta(days=29), today, now)
    before = json.dumps(plain, sort_keys=True)
    enriched = with_summaries(settings, plain)
    summaries = {i["key"]: i["fields"]["summary"] for i in load_cached_issues().issues}
    points = enriched["cycle_time"]["points"]
    assert points and all(point["summary"] == summaries[point["key"]] for point in points)
    assert all(item["summary"] == summaries[item["key"]] for item in enriched["aging_wip"]["items"])
    assert json.dumps(plain, sort_keys=True) == before and "summary" not in plain["cycle_time"]["points"][0]
