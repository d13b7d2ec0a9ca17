"""The table cache: the normalised tables kept in an Arrow file restore exactly, a stale or damaged file is
rebuilt from the JSON issue cache, and neither a crash nor two builders at once can leave a bad file.

The reference every restored table is compared with is ``build_issue_frames`` of the same issues (the JSON
path the dashboard took before the table cache); the comparison is exact (dtypes, values, categories), and
the metrics, analytics and team figures computed from both must be equal.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest

from configuration.settings import field_mapping_hash, merge_with_defaults
from data.metrics.analytics import calculate_analytics
from data.metrics.frame_columns import UnsupportedColumnError, frames_to_columns
from data.metrics.issue_frame import build_issue_frames
from data.metrics.issue_tables import IssueFrames
from data.metrics.periods import Period
from data.metrics.teams import restrict_to_team, team_field_id, team_names
from data.services import dashboard_service
from data.services.dashboard_service import effective_settings, load_dataset
from data.services.metrics_service import calculate_all_metrics
from data.sources.demo_data import generate_demo_issues
from data.sources.demo_fields import DEMO_SETTINGS_OVERLAY
from data.store import table_cache
from data.store.issue_cache import issues_path, save_cached_issues
from data.store.table_cache import load_tables, save_tables, table_path
from tests.conftest import PROJECT_ROOT

ANCHOR = datetime(2025, 6, 30, 18, 0, tzinfo=UTC)
SAMPLE = next((path for path in (PROJECT_ROOT.parent / "shared" / "jira-samples" / "real-cloud-issues.json",
                                 Path("/work/shared/jira-samples/real-cloud-issues.json")) if path.exists()), None)
DEMO_SETTINGS = merge_with_defaults({"dora_flow_config": DEMO_SETTINGS_OVERLAY})


@pytest.fixture(autouse=True)
def fresh_dataset_memo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts like a new server process: nothing memoised."""
    monkeypatch.setattr(dashboard_service, "_loaded", None)


def edge_issues() -> list[dict[str, Any]]:
    """Hand-made issues holding every kind of value the tables keep: a missing status (taken from the
    changelog), NA booleans, NaN numbers, unparsable and missing dates, several teams, no team, non-ASCII."""
    return [
        {"id": "1", "key": "E-1", "fields": {
            "summary": "Grüße – 日本", "status": {"name": "Done"}, "issuetype": {"name": "Story"},
            "project": {"key": "E"}, "created": "2025-01-02T10:00:00.000+0000", "resolutiondate": None,
            "customfield_1": "2025-01-05T10:00:00.000+0000", "customfield_2": "yes", "customfield_3": 4.5,
            "customfield_4": [{"value": "Payments"}, {"value": "Mobile"}], "customfield_5": {"value": "Bug"}},
         "changelog": {"histories": [{"created": "2025-01-03T10:00:00.000+0000", "items": [
             {"field": "status", "fromString": "To Do", "toString": "In Progress"}]},
             {"created": "2025-01-04T10:00:00.000+0000", "items": [
                 {"field": "status", "fromString": "In Progress", "toString": "Done"}]}]}},
        {"id": "2", "key": "E-2", "fields": {
            "summary": None, "status": None, "issuetype": {"name": "Bug"}, "project": {"key": "E"},
            "created": "not a date", "customfield_1": "", "customfield_2": None, "customfield_3": "n/a",
            "customfield_4": None},
         "changelog": {"histories": [{"created": "2025-01-03T10:00:00.000+0000", "items": [
             {"field": "status", "fromString": "To Do", "toString": "Blocked"}]}]}},
        {"id": "3", "key": "E-3", "fields": {"status": {"name": "To Do"}, "created": "2025-01-02T11:00:00Z",
                                             "customfield_2": False, "customfield_4": []}},
        {"id": "4", "key": "E-4", "fields": {"status": None, "created": "2025-01-02T12:00:00Z"}},
        "not an issue",
    ]


def unchanged_issues() -> list[dict[str, Any]]:
    """Issues without a single status change: the transitions table is empty but keeps its categories."""
    return [{"id": str(n), "key": f"U-{n}", "fields": {"status": {"name": name}, "created": "2025-03-01T09:00:00Z"}}
            for n, name in enumerate(("To Do", "In Progress", "Done"))]


EDGE_SETTINGS = merge_with_defaults({"dora_flow_config": {
    "field_mappings": {"dora": {"deployment_date": "customfield_1", "deployment_successful": "customfield_2"},
                       "flow": {"active_work_hours": "customfield_3", "flow_item_type": "customfield_5"}},
    "team_field": "customfield_4"}})


def datasets() -> list[tuple[str, list[Any], dict[str, Any]]]:
    found = [("demo 600 issues with teams", generate_demo_issues(600, anchor=ANCHOR, seed=7), DEMO_SETTINGS),
             ("demo without mappings", generate_demo_issues(200, anchor=ANCHOR, seed=3), merge_with_defaults({})),
             ("hand-made edge values", edge_issues(), EDGE_SETTINGS),
             ("no status changes at all", unchanged_issues(), merge_with_defaults({}))]
    if SAMPLE is not None:
        found.append(("real Jira Cloud sample", orjson.loads(SAMPLE.read_bytes())["issues"], merge_with_defaults({})))
    return found


def exact(value: Any) -> tuple[type, Any]:
    """A cell as a comparable pair: its type and its value (NaN, unequal to itself, as a marker)."""
    return type(value), "<NaN>" if isinstance(value, float) and value != value else value


def assert_same_frames(expected: IssueFrames, actual: IssueFrames) -> None:
    for name in ("issues", "intervals", "transitions"):
        left, right = getattr(expected, name), getattr(actual, name)
        pd.testing.assert_frame_equal(left, right, check_dtype=True, check_exact=True, check_categorical=True,
                                      check_column_type=True, check_index_type=True)
        for column in left.columns:
            if left[column].dtype == object:  # None stays None, NaN stays NaN, a tuple a tuple, text str
                assert [exact(v) for v in left[column]] == [exact(v) for v in right[column]], column
    assert actual.field_ids == expected.field_ids
    assert actual.config == expected.config
    assert actual.skipped_issue_count == expected.skipped_issue_count


def cache_issues(issues: list[Any]) -> str:
    meta = save_cached_issues([issue for issue in issues if isinstance(issue, dict)],
                              {"source": "demo", "url": "", "deployment": "", "jql": "x",
                               "fields": sorted({f for i in issues if isinstance(i, dict) for f in i["fields"]})})
    return str(meta["data_version"])


@pytest.mark.parametrize(("label", "issues", "settings"), datasets(), ids=lambda value: value if isinstance(
    value, str) else "")
def test_tables_from_the_file_equal_the_tables_built_from_json(label: str, issues: list[Any],
                                                               settings: dict[str, Any]) -> None:
    expected = build_issue_frames(issues, settings)
    version, mapping = cache_issues(issues), field_mapping_hash(settings)
    assert save_tables(expected, version, mapping) == table_path(version, mapping)

    restored = load_tables(version, mapping, settings)

    assert restored is not None, label
    assert_same_frames(expected, restored)
    for start, end in ((date(2025, 6, 1), date(2025, 6, 30)), (date(2024, 7, 1), date(2025, 6, 30))):
        period = Period(start, end)
        assert calculate_all_metrics(restored, settings, period, ANCHOR) == calculate_all_metrics(
            expected, settings, period, ANCHOR)
        assert calculate_analytics(restored, settings, period, ANCHOR) == calculate_analytics(
            expected, settings, period, ANCHOR)
    for team in team_names(expected) if team_field_id(expected) else ():
        period = Period(date(2025, 4, 1), date(2025, 6, 30))
        assert calculate_all_metrics(restrict_to_team(restored, team), settings, period, ANCHOR) == \
            calculate_all_metrics(restrict_to_team(expected, team), settings, period, ANCHOR)


def test_the_edge_datasets_hold_the_values_that_need_care() -> None:
    # So the round trip above really meets them: NaN (not None) in an object column, where pandas puts it when
    # an issue has neither a status nor a change to take one from, and an empty table with categories.
    edge = build_issue_frames(edge_issues(), EDGE_SETTINGS)
    assert any(isinstance(v, float) and v != v for v in edge.issues["status"])
    assert any(v is None for v in edge.issues["summary"])
    assert edge.issues["deployment_successful"].isna().any() and edge.skipped_issue_count == 1
    unchanged = build_issue_frames(unchanged_issues(), merge_with_defaults({}))
    assert len(unchanged.transitions) == 0 and len(unchanged.transitions["to_status"].cat.categories) == 3


def test_numbers_and_times_are_read_in_place_from_the_mapped_file() -> None:
    issues = generate_demo_issues(300, anchor=ANCHOR, seed=5)
    version = cache_issues(issues)
    save_tables(build_issue_frames(issues, DEMO_SETTINGS), version, field_mapping_hash(DEMO_SETTINGS))

    restored = load_tables(version, field_mapping_hash(DEMO_SETTINGS), DEMO_SETTINGS)

    # A copy would be a writeable array of its own; the mapped file's pages are read-only.
    for table, column in (("intervals", "issue_idx"), ("intervals", "entered"), ("transitions", "at"),
                          ("issues", "active_days"), ("issues", "is_flow_item")):
        array = getattr(restored, table)[column].array
        values = array.view("i8") if isinstance(array, pd.arrays.DatetimeArray) else np.asarray(array)
        assert not values.flags.writeable and not values.flags.owndata, (table, column)


def test_a_column_the_file_cannot_hold_exactly_keeps_no_table_file(caplog: pytest.LogCaptureFixture) -> None:
    issues = generate_demo_issues(50, anchor=ANCHOR, seed=1)
    frames = build_issue_frames(issues, DEMO_SETTINGS)
    mixed = frames.issues.copy()
    mixed["summary"] = pd.Series([1.5, *mixed["summary"][1:]], dtype=object)  # a number among texts
    odd = IssueFrames(mixed, frames.intervals, frames.transitions, frames.field_ids, frames.config)
    with pytest.raises(UnsupportedColumnError, match="summary"):
        frames_to_columns(odd)

    with caplog.at_level(logging.WARNING):
        assert save_tables(odd, cache_issues(issues), field_mapping_hash(DEMO_SETTINGS)) is None
    assert "not kept in a table cache" in caplog.text
    assert list(issues_path().parent.glob("tables-*")) == []


def test_load_dataset_saves_the_tables_once_and_then_maps_them(monkeypatch: pytest.MonkeyPatch) -> None:
    issues = generate_demo_issues(300, anchor=ANCHOR, seed=9)
    settings = effective_settings(merge_with_defaults({}))
    version = cache_issues(issues)

    first = load_dataset(settings)
    assert first is not None and table_path(version, field_mapping_hash(settings)).exists()
    # the process that built the tables serves them from the file it wrote (shared pages), like the others
    entered = first.frames.intervals["entered"].array.view("i8")
    assert not entered.flags.writeable and not entered.flags.owndata

    def no_parsing(*_args: Any) -> IssueFrames:
        raise AssertionError("the tables were built from JSON although the table file matches")

    monkeypatch.setattr(dashboard_service, "_loaded", None)  # a restart
    monkeypatch.setattr(dashboard_service, "build_issue_frames", no_parsing)
    second = load_dataset(settings)
    assert second is not None and second.data_version == version
    assert_same_frames(first.frames, second.frames)


def test_stale_files_are_rebuilt_and_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    issues = generate_demo_issues(200, anchor=ANCHOR, seed=2)
    settings = effective_settings(merge_with_defaults({}))
    cache_issues(issues)
    load_dataset(settings)
    [old] = list(issues_path().parent.glob("tables-*.arrow"))

    # New data: a new data version means a new file, and the old one goes.
    version = cache_issues(issues[:150])
    monkeypatch.setattr(dashboard_service, "_loaded", None)
    assert load_dataset(settings).issue_count == 150
    [new] = list(issues_path().parent.glob("tables-*.arrow"))
    assert new != old and new == table_path(version, field_mapping_hash(settings))

    # Other mappings: another key (the other status lists would give other derived columns).
    remapped = effective_settings(merge_with_defaults({"dora_flow_config": {"wip_statuses": ["In Review"]}}))
    monkeypatch.setattr(dashboard_service, "_loaded", None)
    dataset = load_dataset(remapped)
    assert_same_frames(build_issue_frames(issues[:150], remapped), dataset.frames)
    assert list(issues_path().parent.glob("tables-*.arrow")) == [table_path(version, field_mapping_hash(remapped))]

    # A new release whose normalisation differs: the code version is part of the key.
    monkeypatch.setattr(table_cache, "code_version", lambda: "another-release")
    assert load_tables(version, field_mapping_hash(remapped), remapped) is None


def damage_truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def damage_flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) * 3 // 4] ^= 0xFF  # inside a table's data: only the checksum can tell
    path.write_bytes(bytes(data))


def damage_garbage(path: Path) -> None:
    path.write_bytes(b"this is not a table file" * 10)


def damage_empty(path: Path) -> None:
    path.write_bytes(b"")


@pytest.mark.parametrize("damage", [damage_truncate, damage_flip_a_byte, damage_garbage, damage_empty])
def test_a_damaged_file_is_rebuilt_from_json_and_replaced(damage: Any, caplog: pytest.LogCaptureFixture,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    issues = generate_demo_issues(200, anchor=ANCHOR, seed=4)
    settings = effective_settings(merge_with_defaults({}))
    version = cache_issues(issues)
    load_dataset(settings)
    path = table_path(version, field_mapping_hash(settings))
    damage(path)

    monkeypatch.setattr(dashboard_service, "_loaded", None)
    with caplog.at_level(logging.WARNING):
        dataset = load_dataset(settings)

    assert "cannot be used" in caplog.text and path.name in caplog.text
    assert_same_frames(build_issue_frames(issues, settings), dataset.frames)
    assert load_tables(version, field_mapping_hash(settings), settings) is not None  # replaced by a good one


def test_a_file_under_another_keys_name_is_not_used(caplog: pytest.LogCaptureFixture) -> None:
    issues = generate_demo_issues(100, anchor=ANCHOR, seed=6)
    settings = effective_settings(merge_with_defaults({}))
    version = cache_issues(issues)
    save_tables(build_issue_frames(issues, settings), version, "mapping-a")
    table_path(version, "mapping-a").rename(table_path(version, "mapping-b"))

    with caplog.at_level(logging.WARNING):
        assert load_tables(version, "mapping-b", settings) is None
    assert "its key differs" in caplog.text


def test_tables_of_a_data_version_the_cache_moved_on_from_are_not_saved() -> None:
    issues = generate_demo_issues(100, anchor=ANCHOR, seed=8)
    settings = effective_settings(merge_with_defaults({}))
    old_version = cache_issues(issues)
    frames = build_issue_frames(issues, settings)
    cache_issues(issues[:50])  # another process saved newer data meanwhile

    assert save_tables(frames, old_version, field_mapping_hash(settings)) is None
    assert list(issues_path().parent.glob("tables-*")) == []


def test_a_broken_settings_file_writes_no_table_file(isolated_data_dir: Path) -> None:
    issues = generate_demo_issues(100, anchor=ANCHOR, seed=8)
    cache_issues(issues)
    (isolated_data_dir / "app_settings.json").write_text("{not json")
    settings = dashboard_service.dashboard_settings()
    assert settings.read_only

    assert load_dataset(settings.settings) is not None
    assert list(issues_path().parent.glob("tables-*")) == []


def test_an_update_that_changed_the_data_leaves_its_tables_ready() -> None:
    settings = effective_settings(merge_with_defaults({}))
    result = dashboard_service.run_update(settings)

    assert result.changed
    assert table_path(result.data_version, field_mapping_hash(settings)).exists()


def run_helper(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(PROJECT_ROOT / "tests" / "_table_cache_writer.py"), *args],
                            cwd=PROJECT_ROOT, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_a_crash_while_writing_leaves_the_previous_file_intact() -> None:
    issues = generate_demo_issues(200, anchor=ANCHOR, seed=10)
    settings = effective_settings(merge_with_defaults({}))
    version = cache_issues(issues)
    save_tables(build_issue_frames(issues, settings), version, field_mapping_hash(settings))
    before = table_path(version, field_mapping_hash(settings)).read_bytes()

    crashed = run_helper("crash", field_mapping_hash(settings))
    crashed.communicate(timeout=120)

    assert crashed.returncode == 1  # died where the new file would have replaced the old one
    assert table_path(version, field_mapping_hash(settings)).read_bytes() == before
    strays = list(issues_path().parent.glob(".tables-*.tmp"))
    assert len(strays) == 1 and strays[0].stat().st_size > 0  # the complete temporary, never renamed
    assert_same_frames(build_issue_frames(issues, settings),
                       load_tables(version, field_mapping_hash(settings), settings))


def test_two_processes_building_at_once_leave_one_good_file(caplog: pytest.LogCaptureFixture) -> None:
    issues = generate_demo_issues(1500, anchor=ANCHOR, seed=11)
    settings = effective_settings(merge_with_defaults({}))
    version = cache_issues(issues)
    expected = build_issue_frames(issues, settings)

    builders = [run_helper("build") for _ in range(3)]
    with caplog.at_level(logging.WARNING):
        while any(builder.poll() is None for builder in builders):  # a reader meanwhile: old file, new, or none
            restored = load_tables(version, field_mapping_hash(settings), settings)
            if restored is not None:
                assert_same_frames(expected, restored)
    assert "cannot be used" not in caplog.text  # never a half-written file
    outcomes = [builder.communicate(timeout=180) for builder in builders]

    assert [builder.returncode for builder in builders] == [0, 0, 0], outcomes
    assert [out.strip() for out, _ in outcomes] == [str(len(issues))] * 3
    assert list(issues_path().parent.glob("tables-*.arrow")) == [table_path(version, field_mapping_hash(settings))]
    assert list(issues_path().parent.glob(".tables-*")) == []
    assert_same_frames(expected, load_tables(version, field_mapping_hash(settings), settings))


def test_a_process_waits_for_another_building_the_same_tables_and_maps_its_file(monkeypatch: pytest.MonkeyPatch,
                                                                                 ) -> None:
    # Several gunicorn workers meeting a data version without a table file: one builds, the others wait for
    # its file instead of each building (and keeping) a private copy. Building here would fail the test.
    issues = generate_demo_issues(300, anchor=ANCHOR, seed=12)
    settings = effective_settings(merge_with_defaults({}))
    cache_issues(issues)
    holder = run_helper("hold")
    assert holder.stdout is not None and holder.stdout.readline().strip() == "building"

    def no_second_build(*_args: Any, **_kwargs: Any) -> IssueFrames:
        raise AssertionError("built the tables while another process was building them")

    monkeypatch.setattr(dashboard_service, "build_issue_frames", no_second_build)
    dataset = load_dataset(settings)
    holder.communicate(timeout=120)
    assert holder.returncode == 0
    assert dataset is not None
    assert_same_frames(build_issue_frames(issues, settings), dataset.frames)


def test_a_start_preloads_the_tables_before_the_first_request(monkeypatch: pytest.MonkeyPatch) -> None:
    issues = generate_demo_issues(120, anchor=ANCHOR, seed=13)
    version = cache_issues(issues)
    assert dashboard_service._loaded is None
    dashboard_service.preload_dataset().join(timeout=120)
    loaded = dashboard_service._loaded
    assert loaded is not None and loaded.data_version == version and loaded.issue_count == len(issues)
    assert load_dataset(dashboard_service.dashboard_settings().settings) is loaded  # the request finds it ready



def test_a_fifo_in_the_files_place_is_not_read(caplog: pytest.LogCaptureFixture) -> None:
    # reading a FIFO with no writer would block the loading process (and every request waiting on it) forever
    issues = generate_demo_issues(50, anchor=ANCHOR, seed=14)
    settings = effective_settings(merge_with_defaults({}))
    version = cache_issues(issues)
    os.mkfifo(table_path(version, field_mapping_hash(settings)))
    with caplog.at_level(logging.WARNING):
        assert load_tables(version, field_mapping_hash(settings), settings) is None
    assert "not a regular file" in caplog.text
