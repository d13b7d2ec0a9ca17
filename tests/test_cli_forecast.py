"""``cli.py forecast`` and the dashboard's forecast service: the same engine over an issues file or the cache,
byte-identical output for the same inputs and seed, and every bad input refused with one line and exit code 2."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import cli
from data.metrics.forecast import forecast
from data.metrics.issue_frame import build_issue_frames
from data.services.forecast_service import INVALID_INPUT, current_wip_count, forecast_for_dashboard
from data.store.issue_cache import required_fields, save_cached_issues
from tests.test_flow_calculator import flow_settings
from tests.test_forecast import HISTORY, NOW, TODAY, completions
from tests.test_issue_frame import change, issue

pytestmark = pytest.mark.usefixtures("restore_root_logging")


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    issues = tmp_path / "issues.json"
    issues.write_text(json.dumps({"issues": completions(HISTORY)}), encoding="utf-8")
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"dora_flow_config": flow_settings()["dora_flow_config"]}), encoding="utf-8")
    return issues, settings


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(["forecast", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def base_args(files: tuple[Path, Path]) -> list[str]:
    return ["--issues", str(files[0]), "--settings", str(files[1]), "--now", NOW.isoformat()]


def test_cli_prints_the_engine_result_and_repeats_it_byte_for_byte(capsys, files):
    args = [*base_args(files), "--items", "20", "--history-days", "10", "--trials", "2000", "--seed", "9"]
    code, out, err = run_cli(capsys, *args)
    assert (code, err) == (0, "")
    settings = flow_settings()
    expected = forecast(build_issue_frames(completions(HISTORY), settings), settings, NOW, items=20,
                        history_days=10, trials=2000, seed=9)
    assert json.loads(out) == expected
    assert expected["history"]["daily"] == HISTORY and expected["error_state"] == "success"
    assert run_cli(capsys, *args)[1] == out  # same inputs and seed: the same bytes

    code, how_many, _ = run_cli(capsys, *base_args(files), "--until", (TODAY + timedelta(days=5)).isoformat())
    result = json.loads(how_many)
    # Defaults: 90 days of history (the 10 days of HISTORY are its last 10), 10,000 trials, seed 0.
    assert code == 0 and (result["mode"], result["horizon_days"], result["trials"], result["seed"]) == (
        "how_many", 5, 10_000, 0)
    assert result["history"]["days"] == 90 and result["history"]["daily"][-10:] == HISTORY


def test_cli_reports_no_data_as_json_not_as_an_error(capsys, files):
    # HISTORY's completions end on 2025-06-29; with --now a day later and --history-days 1 the history is the
    # single day 2025-06-30, on which nothing was completed.
    args = ["--issues", str(files[0]), "--settings", str(files[1]), "--now", (NOW + timedelta(days=1)).isoformat(),
            "--items", "5", "--history-days", "1"]
    code, out, _ = run_cli(capsys, *args)
    result = json.loads(out)
    assert code == 0 and result["error_state"] == "no_data"
    assert result["error_message"] == ("No items were completed in the last day, so there is no throughput to "
                                       "simulate")


@pytest.mark.parametrize(("extra", "words"), [
    (["--items", "0"], "--items must be at least 1 (got 0)"),
    (["--items", "-3"], "--items must be at least 1 (got -3)"),
    (["--items", "many"], "--items 'many' is not a whole number"),
    (["--until", TODAY.isoformat()], "--until must be after today (2025-06-30)"),
    (["--until", "2025-06-01"], "--until must be after today"),
    (["--until", "30/07/2025"], "--until '30/07/2025' is not a date"),
    (["--items", "3", "--until", "2025-07-30"], "give exactly one of --items"),
    ([], "give exactly one of --items"),
    (["--items", "3", "--trials", "99"], "--trials must be at least 100 (got 99)"),
    (["--items", "3", "--trials", "1000001"], "--trials must be at most 1,000,000 (got 1,000,001)"),
    (["--items", "3", "--history-days", "0"], "--history-days must be at least 1 (got 0)"),
    (["--items", "3", "--seed", "-1"], "--seed must be at least 0"),
    (["--items", "3", "--format", "csv"], "invalid choice: 'csv'"),
])
def test_bad_arguments_exit_2_with_one_line(capsys, files, extra, words):
    code, out, err = run_cli(capsys, *base_args(files), *extra)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and words in err and err.count("\n") == 1, err


def test_unreadable_files_exit_2_with_one_line(capsys, files, tmp_path):
    missing = tmp_path / "nope.json"
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    cases = [
        (["--issues", str(missing), "--settings", str(files[1])], f"issues file not found: {missing}"),
        (["--issues", str(broken), "--settings", str(files[1])], "is not valid JSON"),
        (["--issues", str(tmp_path), "--settings", str(files[1])], "cannot read issues file"),
        (["--issues", str(files[0]), "--settings", str(missing)], f"settings file not found: {missing}"),
        (["--issues", str(files[0]), "--settings", str(broken)], "is not valid JSON"),
    ]
    for args, words in cases:
        code, out, err = run_cli(capsys, *args, "--now", NOW.isoformat(), "--items", "3")
        assert code == 2 and out == "", err
        assert err.startswith("error: ") and words in err and err.count("\n") == 1, err


# ---------------------------------------------------------------- the dashboard's service


def test_service_is_none_before_any_data():
    settings = flow_settings()
    assert forecast_for_dashboard(settings, NOW, items=5, until=None, history_days=90) is None
    assert current_wip_count(settings, NOW) is None


def test_service_forecasts_the_cache_and_counts_the_work_in_progress():
    settings = flow_settings()
    raw = [*completions(HISTORY),
           issue("W1", "2025-06-01", "In Progress", [change("2025-06-02T00:00:00Z", "To Do", "In Progress")]),
           issue("W2", "2025-06-01", "In Progress", [change("2025-06-03T00:00:00Z", "To Do", "In Progress")]),
           issue("T1", "2025-06-01", "To Do")]
    save_cached_issues(raw, {"source": "jira", "url": "https://example.atlassian.net", "deployment": "cloud",
                             "jql": "project = T", "fields": required_fields(settings)})
    result = forecast_for_dashboard(settings, NOW, items=12, until=None, history_days=10)
    expected = forecast(build_issue_frames(raw, settings), settings, NOW, items=12, history_days=10)
    assert result == expected and result["error_state"] == "success"
    # W1 and W2 are In Progress now (a WIP status); T1 is still To Do and the completed items are Done.
    assert current_wip_count(settings, NOW) == 2

    refused = forecast_for_dashboard(settings, NOW, items=None, until=TODAY, history_days=90)
    assert refused["error_state"] == INVALID_INPUT and refused["results"]["50"] is None
    assert refused["error_message"] == "The date must be after today (2025-06-30); got 2025-06-30"
    zero = forecast_for_dashboard(settings, datetime(2025, 6, 30, tzinfo=UTC), items=0, until=None,
                                  history_days=90)
    assert zero["error_state"] == INVALID_INPUT and zero["error_message"] == (
        "The number of items must be at least 1 (got 0)")
