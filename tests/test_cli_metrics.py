"""``cli.py metrics|snapshot|export|import-snapshots|demo``: the output is the calculators' output, bad input is
one ``error:`` line with exit code 2 (usage) or 1 (anything else), and no snapshot is ever lost."""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson
import pytest

import cli
from configuration.settings import merge_with_defaults
from data.metrics.exporters import CSV_COLUMNS, export_metrics
from data.metrics.issue_frame import build_issue_frames
from data.metrics.periods import Period
from data.services.dashboard_service import effective_settings
from data.services.metrics_service import ALL_METRICS, calculate_all_metrics
from data.sources.demo_data import generate_demo_issues
from data.sources.demo_fields import DEMO_SETTINGS_OVERLAY
from data.store.issue_cache import load_cached_issues, required_fields, save_cached_issues
from data.store.metrics_snapshots import load_snapshots, save_metric_snapshot, week_label
from tests.conftest import PROJECT_ROOT

ANCHOR = datetime(2025, 7, 2, 9, 0, tzinfo=UTC)  # a Wednesday; ISO week 2025-27
NOW_TEXT = "2025-07-02T09:00:00Z"
START, END = "2025-06-01", "2025-06-30"
REAL_SAMPLE = Path("/work/shared/jira-samples/real-cloud-issues.json")


pytestmark = pytest.mark.usefixtures("restore_root_logging")


@pytest.fixture(scope="module")
def demo_issues() -> list[dict]:
    return generate_demo_issues(400, anchor=ANCHOR, seed=7)


@pytest.fixture
def files(tmp_path: Path, demo_issues: list[dict]) -> dict[str, Path]:
    """The demo issues as a bare array and as a search response, and the demo's partial settings file."""
    paths = {"array": tmp_path / "issues-array.json", "search": tmp_path / "issues-search.json",
             "settings": tmp_path / "settings.json"}
    paths["array"].write_bytes(orjson.dumps(demo_issues))
    paths["search"].write_bytes(orjson.dumps({"startAt": 0, "maxResults": 400, "total": len(demo_issues),
                                              "issues": demo_issues}))
    paths["settings"].write_bytes(orjson.dumps({"dora_flow_config": DEMO_SETTINGS_OVERLAY}))
    return paths


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """``python cli.py`` in a real process with the test's data directory (set by conftest)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("JIRA_")}
    return subprocess.run([sys.executable, str(PROJECT_ROOT / "cli.py"), *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def expected_metrics(issues: list[dict], settings: dict, start: str, end: str, now: datetime) -> dict[str, dict]:
    """What the calculators give for the same input, called directly (the CLI must add nothing)."""
    frames = build_issue_frames(copy.deepcopy(issues), settings)
    return calculate_all_metrics(frames, settings, Period(start, end), now, snapshots=load_snapshots())


def metrics_args(files: dict[str, Path], *extra: str, source: str = "array") -> list[str]:
    return ["metrics", "--issues", str(files[source]), "--settings", str(files["settings"]), "--start", START,
            "--end", END, "--now", NOW_TEXT, *extra]


DEMO_SETTINGS = merge_with_defaults({"dora_flow_config": DEMO_SETTINGS_OVERLAY})


# --- metrics: output -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "csv", "prometheus"])
def test_output_is_the_exporter_applied_to_the_calculators_result(capsys, files, demo_issues, fmt: str) -> None:
    code, out, err = run_main(capsys, *metrics_args(files, "--format", fmt))
    assert (code, err) == (0, "")
    metrics = expected_metrics(demo_issues, DEMO_SETTINGS, START, END, ANCHOR)
    assert out == export_metrics(fmt, metrics, period_start=date(2025, 6, 1), period_end=date(2025, 6, 30),
                                 generated_at=ANCHOR)


@pytest.fixture()
def long_retention() -> None:
    """Keep ten years of weeks: these tests import weeks of 2025, which a 52-week retention would leave out."""
    from configuration.settings import save_app_settings

    save_app_settings(merge_with_defaults({"snapshots": {"weeks_to_keep": 520}}))


def test_json_output_has_the_nine_metrics(capsys, files) -> None:
    code, out, _ = run_main(capsys, *metrics_args(files))
    assert code == 0
    document = json.loads(out)
    assert len(ALL_METRICS) == 9
    assert sorted(document["metrics"]) == sorted(ALL_METRICS)
    for name, record in document["metrics"].items():
        assert record["metric_name"] == name
        assert record["time_period_start"].startswith("2025-06-01T00:00:00")
    assert document["period"] == {"start": START, "end": END}
    # The demo's mappings reach the calculators: deployments are counted, not reported as unmapped.
    assert document["metrics"]["deployment_frequency"]["error_state"] == "success"


def test_csv_output_has_a_header_and_nine_rows(capsys, files) -> None:
    code, out, _ = run_main(capsys, *metrics_args(files, "--format", "csv"))
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == list(CSV_COLUMNS)
    assert len(rows) == 10
    assert sorted(row[0] for row in rows[1:]) == sorted(ALL_METRICS)


def test_prometheus_output_has_help_and_type_for_each_metric(capsys, files) -> None:
    code, out, _ = run_main(capsys, *metrics_args(files, "--format", "prometheus"))
    assert code == 0
    lines = out.splitlines()
    for name in ALL_METRICS:
        assert sum(line.startswith(f"# HELP dora_flow_{name} ") for line in lines) == 1
        assert lines.count(f"# TYPE dora_flow_{name} gauge") == 1


def test_search_response_and_bare_array_give_identical_output(capsys, files) -> None:
    outputs = [run_main(capsys, *metrics_args(files, "--format", "json", source=source)) for source in
               ("array", "search")]
    assert outputs[0] == outputs[1]
    assert outputs[0][0] == 0


def test_settings_are_used_as_given(capsys, files, isolated_data_dir: Path) -> None:
    """Without --settings the data directory's file is read as saved: no demo mappings are added to it."""
    with_file = run_main(capsys, *metrics_args(files))
    args = metrics_args(files)
    del args[3:5]  # --settings FILE
    code, without, _ = run_main(capsys, *args)
    assert code == 0
    assert json.loads(without)["metrics"]["deployment_frequency"]["error_state"] == "missing_mapping"
    (isolated_data_dir / "app_settings.json").write_bytes(files["settings"].read_bytes())
    assert run_main(capsys, *args) == with_file


def test_now_defaults_to_the_current_time(capsys, files) -> None:
    args = metrics_args(files)
    del args[-2:]  # --now
    before = datetime.now(UTC)
    code, out, _ = run_main(capsys, *args)
    after = datetime.now(UTC)
    assert code == 0
    generated = datetime.fromisoformat(json.loads(out)["generated_at"])
    assert before - timedelta(seconds=1) <= generated <= after + timedelta(seconds=1)


def test_end_to_end_in_a_process(files, demo_issues) -> None:
    result = run_cli(*metrics_args(files, "--format", "json", source="search"))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    metrics = expected_metrics(demo_issues, DEMO_SETTINGS, START, END, ANCHOR)
    assert result.stdout == export_metrics("json", metrics, period_start=START, period_end=END,
                                           generated_at=ANCHOR)


def test_real_jira_cloud_sample(capsys, tmp_path: Path) -> None:
    """33 issues exactly as Jira Cloud returned them (non-ASCII statuses, +0800 offsets, reopened issues)."""
    completed = ["已完成", "Closed", "Resolved"]
    settings = tmp_path / "real-settings.json"
    settings.write_text(json.dumps({"dora_flow_config": {
        "wip_statuses": ["In Progress", "In Development"],
        "active_statuses": ["In Progress", "In Development"],
        "completed_statuses": completed,
        "flow_type_mappings": {"Feature": ["故事", "Story", "Epic"], "Defect": ["缺陷"],
                               "Risk": ["Test Execution"], "Technical_Debt": ["任务", "子任务"]},
    }}, ensure_ascii=False), encoding="utf-8")
    args = ["metrics", "--issues", str(REAL_SAMPLE), "--settings", str(settings), "--start", "2020-06-01",
            "--end", "2021-03-31", "--now", "2022-07-17T00:00:00Z"]
    code, out, err = run_main(capsys, *args)
    assert (code, err) == (0, "")
    metrics = json.loads(out)["metrics"]
    assert sorted(metrics) == sorted(ALL_METRICS)
    assert all(record["error_state"] != "calculation_error" for record in metrics.values()), metrics
    # Independent count: every issue now in a completed status reached it inside the period (the sample's
    # completions are all dated 2020-06..2021-03), and every issue type is mapped to a flow type, so
    # velocity = completed issues / (304 days / 7).
    issues = orjson.loads(REAL_SAMPLE.read_bytes())["issues"]
    done = sum(issue["fields"]["status"]["name"] in completed for issue in issues)
    assert done == 30
    assert metrics["flow_velocity"]["value"] == pytest.approx(done / (304 / 7))
    result = run_cli(*args, "--format", "prometheus")
    assert result.returncode == 0 and result.stderr == "", result.stderr


# --- metrics: bad input ----------------------------------------------------------------------------------------


def _bad_issue_files(folder: Path) -> dict[str, Path]:
    contents = {
        "truncated.json": b'[{"key": "A-1", "fields": {}',
        "not-json.json": b"\xff\xfe not json",
        "object.json": b'{"values": []}',
        "issues-not-array.json": b'{"issues": {"key": "A-1"}}',
        "numbers.json": b"[1, 2]",
        "no-fields.json": b'[{"key": "A-1"}]',
        "string.json": b'"issues"',
        "bad-changelog.json": b'[{"key": "A-1", "fields": {}, "changelog": [1]}]',
    }
    paths = {}
    for name, raw in contents.items():
        paths[name] = folder / name
        paths[name].write_bytes(raw)
    paths["missing.json"] = folder / "missing.json"
    paths["folder"] = folder / "a-folder"
    paths["folder"].mkdir()
    return paths


def test_every_unusable_issues_file_is_one_line_and_exit_1(capsys, files, tmp_path: Path) -> None:
    for name, path in _bad_issue_files(tmp_path).items():
        args = metrics_args(files)
        args[2] = str(path)
        code, out, err = run_main(capsys, *args)
        line = one_error_line(err)
        assert (code, out) == (1, ""), (name, line)
        assert path.name in line, line


def test_issue_file_problems_say_which_item(capsys, files, tmp_path: Path) -> None:
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps([{"key": "OK-1", "fields": {}}, {"key": "BAD-2"}, "x"]))
    args = metrics_args(files)
    args[2] = str(path)
    _, _, err = run_main(capsys, *args)
    line = one_error_line(err)
    assert "BAD-2" in line and "item 2" in line


@pytest.mark.parametrize(("change", "expected"), [
    ({"--start": "2025-02-30"}, "--start '2025-02-30' is not a date"),
    ({"--end": "June"}, "--end 'June' is not a date"),
    ({"--start": "2025-07-01", "--end": "2025-06-30"}, "before its start"),
    ({"--start": "2024-01-01", "--end": "2024-12-31"}, "366 days"),  # 2024 is a leap year
    ({"--now": "yesterday"}, "--now 'yesterday' is not an ISO-8601 time"),
    ({"--format": "yaml"}, "invalid choice: 'yaml'"),
])
def test_usage_errors_are_one_line_and_exit_2(capsys, files, change: dict, expected: str) -> None:
    args = metrics_args(files)
    for flag, value in change.items():
        if flag in args:
            args[args.index(flag) + 1] = value
        else:
            args += [flag, value]
    code, out, err = run_main(capsys, *args)
    assert (code, out) == (2, "")
    assert expected in one_error_line(err)


def test_a_year_of_365_days_is_allowed(capsys, files) -> None:
    args = metrics_args(files)
    # 2024-07-03 .. 2025-07-02 (--now's date) is 365 days, both ends included; a later end would be the future.
    args[args.index("--start") + 1], args[args.index("--end") + 1] = "2024-07-03", "2025-07-02"
    assert run_main(capsys, *args)[0] == 0


def test_missing_options_are_one_line_and_exit_2(capsys, files) -> None:
    code, out, err = run_main(capsys, "metrics", "--issues", str(files["array"]))
    assert (code, out) == (2, "")
    assert "--start, --end" in one_error_line(err)


@pytest.mark.parametrize(("settings", "expected"), [
    (b'{"jira": {"deployment": "server"}}', "jira.deployment"),
    (b'{"dora_flow_config": {"field_mappings": {"dora": {"deployment_date": 10100}}}}',
     "dora_flow_config.field_mappings.dora.deployment_date"),
    (b'{"dora_flow_config": {"wip_statuses": "In Progress"}}', "dora_flow_config.wip_statuses"),
    (b"{not json", "not valid JSON"),
    (b"[]", "must hold a JSON object"),
    (None, "settings file not found"),
])
def test_bad_settings_are_one_line_and_exit_1(capsys, files, settings: bytes | None, expected: str) -> None:
    if settings is None:
        files["settings"].unlink()
    else:
        files["settings"].write_bytes(settings)
    before = files["settings"].read_bytes() if settings is not None else None
    code, out, err = run_main(capsys, *metrics_args(files))
    assert (code, out) == (1, "")
    assert expected in one_error_line(err)
    if before is not None:
        assert files["settings"].read_bytes() == before  # a named settings file is never moved or rewritten


def test_bad_input_in_a_process_has_no_traceback(files, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_bytes(b"[{")
    args = metrics_args(files)
    args[2] = str(broken)
    result = run_cli(*args)
    assert result.returncode == 1 and result.stdout == ""
    assert "broken.json is not valid JSON" in one_error_line(result.stderr)
    args = metrics_args(files)
    args[args.index("--end") + 1] = "2025-05-01"
    result = run_cli(*args)
    assert result.returncode == 2 and result.stdout == ""
    assert "before its start" in one_error_line(result.stderr)


def test_truncated_changelogs_are_reported_but_computed(capsys, files, tmp_path: Path, demo_issues) -> None:
    issues = copy.deepcopy(demo_issues[:50])
    issues[0]["changelog"]["total"] = len(issues[0]["changelog"]["histories"]) + 5
    path = tmp_path / "truncated-changelog.json"
    path.write_bytes(orjson.dumps({"issues": issues}))
    args = metrics_args(files)
    args[2] = str(path)
    code, out, err = run_main(capsys, *args)
    assert code == 0 and json.loads(out)["metrics"]
    assert err.startswith("warning: 1 issue has a truncated changelog")


# --- the issue cache: snapshot and export ----------------------------------------------------------------------


def fill_cache(issues: list[dict]) -> list[dict]:
    """Store ``issues`` as a demo fetch would, and return them as the cache gives them back."""
    settings = effective_settings(merge_with_defaults({}))
    save_cached_issues(copy.deepcopy(issues), {"source": "demo", "jql": "project = DEMO", "url": "",
                                               "deployment": "cloud", "fields": required_fields(settings)})
    cached = load_cached_issues()
    assert cached is not None
    return cached.issues


def wip_at_anchor(issues: list[dict]) -> int:
    """Independent count: flow items (the demo's flow types) whose current status is a WIP status.

    The demo has no change after its anchor, so the current status is the status at the anchor.
    """
    flow_types = {name for names in DEMO_SETTINGS_OVERLAY["flow_type_mappings"].values() for name in names}
    wip = set(DEMO_SETTINGS_OVERLAY["wip_statuses"])
    return sum(1 for issue in issues
               if issue["fields"]["status"]["name"] in wip and issue["fields"]["issuetype"]["name"] in flow_types)


def test_snapshot_records_this_weeks_flow_load(demo_issues) -> None:
    fill_cache(demo_issues)
    result = run_cli("snapshot", "--now", NOW_TEXT)
    assert result.returncode == 0, result.stderr
    expected = wip_at_anchor(demo_issues)
    assert expected > 0
    entry = load_snapshots()["2025-27"]["flow_load"]
    assert week_label(ANCHOR) == "2025-27"
    assert entry["wip_count"] == expected
    assert sum(entry["by_status"].values()) == expected
    assert result.stdout.strip() == f"week 2025-27: Flow Load snapshot saved, {expected} items in progress"


def test_snapshot_drops_weeks_past_the_retention_and_keeps_the_rest(capsys, demo_issues, tmp_path: Path) -> None:
    fill_cache(demo_issues)
    save_metric_snapshot("2025-20", "flow_load", {"wip_count": 3})  # within the last 10 weeks of 2025-27
    save_metric_snapshot("2025-10", "flow_load", {"wip_count": 4})  # 17 weeks before: past a 10-week retention
    settings = tmp_path / "keep-10.json"
    settings.write_text(json.dumps({"snapshots": {"weeks_to_keep": 10}}))
    code, out, err = run_main(capsys, "snapshot", "--now", NOW_TEXT, "--settings", str(settings))
    assert (code, err) == (0, "")
    assert sorted(load_snapshots()) == ["2025-20", "2025-27"]
    assert "removed 1 week older than the last 10" in out
    code, _, _ = run_main(capsys, "snapshot", "--now", NOW_TEXT, "--settings", str(settings))
    assert code == 0 and sorted(load_snapshots()) == ["2025-20", "2025-27"]


def test_snapshot_without_a_cache_says_to_fetch_first(capsys, isolated_data_dir: Path) -> None:
    code, out, err = run_main(capsys, "snapshot")
    assert (code, out) == (1, "")
    assert one_error_line(err) == "error: No cached issues: run `cli.py fetch` first"
    assert not (isolated_data_dir / "metrics_snapshots.json").exists()


@pytest.mark.parametrize("fmt", ["json", "csv", "prometheus"])
def test_export_writes_the_metrics_of_the_cached_issues(capsys, demo_issues, tmp_path: Path, fmt: str) -> None:
    cached = fill_cache(demo_issues)
    (tmp_path / "out").mkdir()
    output = tmp_path / "out" / f"metrics.{fmt}"
    code, out, err = run_main(capsys, "export", "--output", str(output), "--format", fmt, "--start", START,
                              "--end", END, "--now", NOW_TEXT)
    assert (code, err) == (0, ""), err
    settings = effective_settings(merge_with_defaults({}))
    metrics = expected_metrics(cached, settings, START, END, ANCHOR)
    assert output.read_text(encoding="utf-8") == export_metrics(fmt, metrics, period_start=START, period_end=END,
                                                                generated_at=ANCHOR)
    assert str(output) in out


def test_export_days_is_the_period_ending_on_now(capsys, demo_issues, tmp_path: Path) -> None:
    fill_cache(demo_issues)
    output = tmp_path / "metrics.json"
    for extra, first_day in (((), "2025-06-03"), (("--days", "7"), "2025-06-26")):  # 30 and 7 days to 07-02
        code, _, err = run_main(capsys, "export", "--output", str(output), "--now", NOW_TEXT, *extra)
        assert (code, err) == (0, "")
        assert json.loads(output.read_text())["period"] == {"start": first_day, "end": "2025-07-02"}


@pytest.mark.parametrize(("extra", "expected"), [
    (("--days", "7", "--start", START, "--end", END), "not both"),
    (("--start", START), "--start and --end must be given together"),
    (("--days", "0"), "--days must be at least 1"),
    (("--days", "week"), "--days 'week' is not a whole number"),
    (("--days", "366"), "366 days"),
    (("--snapshots", "--format", "csv"), "--snapshots exports"),
])
def test_export_usage_errors(capsys, demo_issues, tmp_path: Path, extra: tuple, expected: str) -> None:
    fill_cache(demo_issues[:20])
    output = tmp_path / "never.json"
    code, out, err = run_main(capsys, "export", "--output", str(output), *extra)
    assert (code, out) == (2, "")
    assert expected in one_error_line(err)
    assert not output.exists()


def test_export_without_a_cache(capsys, tmp_path: Path) -> None:
    code, _, err = run_main(capsys, "export", "--output", str(tmp_path / "x.json"))
    assert code == 1
    assert "No cached issues" in one_error_line(err)


def test_export_to_an_unwritable_place_is_one_line(capsys, demo_issues, tmp_path: Path) -> None:
    fill_cache(demo_issues[:20])
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code, _, err = run_main(capsys, "export", "--output", str(blocker / "metrics.json"), "--now", NOW_TEXT)
    assert code == 1
    assert "cannot write" in one_error_line(err)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "data") == ["a-file"]


# --- snapshot history: export --snapshots and import-snapshots ------------------------------------------------


def _flow_load(wip: int, timestamp: str) -> dict:
    """A seed-format Flow Load entry: ``wip`` items, all in one status."""
    return {"wip_count": wip, "by_status": {"In Progress": wip}, "timestamp": timestamp}


def _seed_history() -> dict:
    save_metric_snapshot("2025-25", "flow_load", _flow_load(5, "2025-06-20T10:00:00Z"))
    save_metric_snapshot("2025-26", "flow_load", _flow_load(6, "2025-06-27T10:00:00Z"))
    save_metric_snapshot("2025-26", "flow_velocity", {"value": 9.0, "timestamp": "2025-06-27T10:00:00Z"})
    return load_snapshots()


@pytest.mark.usefixtures("long_retention")
def test_export_snapshots_round_trips_through_import(capsys, tmp_path: Path, isolated_data_dir: Path) -> None:
    history = _seed_history()
    exported = tmp_path / "history.json"
    code, out, _ = run_main(capsys, "export", "--snapshots", "--output", str(exported))
    assert code == 0 and "wrote 2 weeks of snapshots" in out
    (isolated_data_dir / "metrics_snapshots.json").unlink()
    assert load_snapshots() == {}
    code, out, err = run_main(capsys, "import-snapshots", str(exported))
    assert (code, err) == (0, "")
    assert "2 weeks added" in out
    assert load_snapshots() == history


@pytest.mark.usefixtures("long_retention")
def test_import_merges_and_keeps_newer_entries(capsys, tmp_path: Path) -> None:
    _seed_history()
    incoming = tmp_path / "incoming.json"
    incoming.write_text(json.dumps({
        "2025-24": {"flow_load": _flow_load(1, "2025-06-13T10:00:00Z")},
        "2025-25": {"flow_load": _flow_load(50, "2025-06-21T10:00:00Z")},  # later: replaces
        "2025-26": {"flow_load": _flow_load(60, "2025-06-26T10:00:00Z")},  # earlier: kept out
    }))
    code, out, _ = run_main(capsys, "import-snapshots", str(incoming))
    assert code == 0
    assert "1 week added, 1 entry updated, 1 kept" in out
    weeks = load_snapshots()
    assert [weeks[w]["flow_load"]["wip_count"] for w in ("2025-24", "2025-25", "2025-26")] == [1, 50, 6]
    assert weeks["2025-26"]["flow_velocity"]["value"] == 9.0


@pytest.mark.parametrize("content", [b"{broken", b"[]", b'{"2025-99": {}}', b'{"2025-26": {"flow_load": 3}}',
                                     b'{"2025-26": {"flow_load": {"wip_count": -4, "by_status": {}}}}',
                                     b'{"2025-26": {"flow_load": {"wip_count": 4}}}', b'{"2999-01": {}}', b"",
                                     None])
def test_a_bad_import_changes_nothing(capsys, tmp_path: Path, isolated_data_dir: Path,
                                      content: bytes | None) -> None:
    _seed_history()
    store = isolated_data_dir / "metrics_snapshots.json"
    before = store.read_bytes()
    source = tmp_path / "bad-import.json"
    if content is not None:
        source.write_bytes(content)
    for extra in ((), ("--replace",)):
        code, out, err = run_main(capsys, "import-snapshots", str(source), *extra)
        assert (code, out) == (1, "")
        line = one_error_line(err)
        assert "bad-import.json" in line and "nothing was imported" in line
        assert store.read_bytes() == before
    assert sorted(p.name for p in isolated_data_dir.iterdir() if "before-import" in p.name) == []


@pytest.mark.usefixtures("long_retention")
def test_replace_keeps_a_copy_of_the_previous_history(capsys, tmp_path: Path, isolated_data_dir: Path) -> None:
    history = _seed_history()
    incoming = tmp_path / "only-one-week.json"
    incoming.write_text(json.dumps({"2025-30": {"flow_load": _flow_load(2, "2025-07-25T10:00:00Z")}}))
    code, out, _ = run_main(capsys, "import-snapshots", str(incoming), "--replace")
    assert code == 0
    assert sorted(load_snapshots()) == ["2025-30"]
    [copy_path] = [p for p in isolated_data_dir.iterdir() if "before-import" in p.name]
    assert str(copy_path) in out
    assert load_snapshots(copy_path) == history


# --- demo -----------------------------------------------------------------------------------------------------


def test_demo_writes_a_deterministic_issues_file_metrics_can_read(capsys, tmp_path: Path) -> None:
    first, second = tmp_path / "demo-1.json", tmp_path / "demo-2.json"
    settings = tmp_path / "demo-settings.json"
    for output in (first, second):
        code, out, err = run_main(capsys, "demo", "--issues", "120", "--anchor", NOW_TEXT, "--seed", "3",
                                  "--output", str(output), "--settings-output", str(settings))
        assert (code, err) == (0, "")
        assert out.startswith("wrote 120 demo issues")
    assert first.read_bytes() == second.read_bytes()
    document = orjson.loads(first.read_bytes())
    assert document == {"issues": orjson.loads(orjson.dumps(generate_demo_issues(120, anchor=ANCHOR, seed=3)))}
    code, out, _ = run_main(capsys, "metrics", "--issues", str(first), "--settings", str(settings), "--start",
                            START, "--end", END, "--now", NOW_TEXT)
    assert code == 0
    assert json.loads(out)["metrics"]["deployment_frequency"]["error_state"] == "success"


def test_demo_without_anchor_is_the_dashboards_demo_of_the_day(capsys, tmp_path: Path) -> None:
    # The dashboard's demo (DemoSource with its defaults) and `cli.py demo` with its defaults must be the same
    # issues on the same day, so the CLI's numbers match the page's. Compared: every key and created time.
    from configuration.defaults import DEMO_JQL
    from data.sources.demo_source import DemoSource

    output = tmp_path / "demo.json"
    code, _, err = run_main(capsys, "demo", "--output", str(output))
    assert (code, err) == (0, "")
    written = orjson.loads(output.read_bytes())["issues"]
    served = DemoSource().search_issues(DEMO_JQL, ["created"])
    assert [(i["key"], i["fields"]["created"]) for i in written] == [
        (i["key"], i["fields"]["created"]) for i in served]


@pytest.mark.parametrize(("extra", "expected"), [
    (("--issues", "0"), "--issues must be at least 1"),
    (("--issues", "many"), "--issues 'many' is not a whole number"),
    (("--seed", "-1"), "--seed must be at least 0"),
    (("--anchor", "soon"), "--anchor 'soon' is not an ISO-8601 time"),
])
def test_demo_usage_errors(capsys, tmp_path: Path, extra: tuple, expected: str) -> None:
    output = tmp_path / "demo.json"
    code, out, err = run_main(capsys, "demo", "--output", str(output), *extra)
    assert (code, out) == (2, "")
    assert expected in one_error_line(err)
    assert not output.exists()


def test_import_messages_name_the_week_and_field_in_plain_words(capsys, tmp_path: Path) -> None:
    source = tmp_path / "bad-import.json"
    source.write_bytes(b'{"2025-26": {"flow_load": {"wip_count": -4, "by_status": {"In Progress": 1.5}}}}')
    code, _, err = run_main(capsys, "import-snapshots", str(source))
    assert code == 1
    assert one_error_line(err) == ("error: bad-import.json: week 2025-26: wip_count must be a whole number ≥ 0 "
                                   "(got -4) (and 1 more problem); nothing was imported")
    source.write_bytes(b"")
    code, _, err = run_main(capsys, "import-snapshots", str(source))
    assert one_error_line(err) == ("error: bad-import.json: the file is not JSON: it is empty; "
                                   "nothing was imported")


# --- a file to write goes into an existing folder -------------------------------------------------------------


@pytest.mark.parametrize("command", [
    ("export", "--output", "{missing}/metrics.json", "--now", NOW_TEXT),
    ("export", "--snapshots", "--output", "{missing}/history.json"),
    ("demo", "--issues", "5", "--output", "{missing}/demo.json"),
    ("demo", "--issues", "5", "--output", "{ok}/demo.json", "--settings-output", "{missing}/settings.json"),
])
def test_a_missing_output_folder_is_refused_not_created(capsys, demo_issues, tmp_path: Path,
                                                         command: tuple[str, ...]) -> None:
    fill_cache(demo_issues[:20])
    missing = tmp_path / "no-such-folder"
    argv = [part.format(missing=missing, ok=tmp_path) for part in command]
    code, out, err = run_main(capsys, *argv)
    assert (code, out) == (2, "")
    flag = "--settings-output" if "--settings-output" in command else "--output"
    assert one_error_line(err) == (f"error: folder {missing} does not exist: create it first or choose another "
                                   f"{flag} path")
    assert not missing.exists()
    assert not (tmp_path / "demo.json").exists()  # nothing is written when any output is refused


def test_import_leaves_out_weeks_the_retention_would_delete(capsys, tmp_path: Path) -> None:
    # With the default 52 weeks kept, a week of three years ago would be deleted by the next snapshot: the
    # import leaves it out and says so, and keeps the recent week.
    today = datetime.now(UTC)
    recent = week_label(today - timedelta(weeks=1))
    old = week_label(today - timedelta(weeks=160))
    incoming = tmp_path / "mixed.json"
    incoming.write_text(json.dumps({recent: {"flow_load": _flow_load(2, "2025-01-01T00:00:00Z")},
                                    old: {"flow_load": _flow_load(3, "2023-01-01T00:00:00Z")}}))
    code, out, err = run_main(capsys, "import-snapshots", str(incoming))
    assert (code, err) == (0, "")
    assert "1 week added" in out and "1 week older than the last 52 left out" in out
    assert sorted(load_snapshots()) == [recent]


def test_import_is_refused_while_the_settings_file_is_broken(capsys, tmp_path: Path,
                                                             isolated_data_dir: Path) -> None:
    (isolated_data_dir / "app_settings.json").write_text(json.dumps({"jira": {"page_size": "100"}}))
    incoming = tmp_path / "week.json"
    week = week_label(datetime.now(UTC))
    incoming.write_text(json.dumps({week: {"flow_load": _flow_load(2, "2025-01-01T00:00:00Z")}}))
    code, out, err = run_main(capsys, "import-snapshots", str(incoming))
    assert code == 1 and out == ""
    assert "page_size" in one_error_line(err) and "nothing was imported" in err
    assert not (isolated_data_dir / "metrics_snapshots.json").exists()
