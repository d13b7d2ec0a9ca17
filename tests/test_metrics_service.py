"""The calculation service: cache layers, the weekly Flow Load snapshot, and exclusive Update Data."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from filelock import FileLock

from configuration.settings import merge_with_defaults
from data.metrics.issue_frame import build_issue_frames
from data.metrics.periods import Period
from data.services import dashboard_service, metrics_service
from data.sources.demo_data import generate_demo_issues
from data.sources.demo_fields import DEMO_SETTINGS_OVERLAY
from data.store.metrics_snapshots import load_snapshots, week_label

ANCHOR = datetime(2025, 6, 18, 14, 0, tzinfo=UTC)


@pytest.fixture()
def demo() -> tuple[list[dict], dict]:
    settings = merge_with_defaults({"dora_flow_config": DEMO_SETTINGS_OVERLAY})
    metrics_service.clear_memo()
    return generate_demo_issues(300, anchor=ANCHOR, seed=3), settings


def _wip_now_by_hand(issues: list[dict], settings: dict) -> int:
    """Independent count: work items (not deployments) created by now whose current status is a WIP status."""
    wip = {name.lower() for name in settings["dora_flow_config"]["wip_statuses"]}
    deployment_types = set(settings["dora_flow_config"]["deployment_issue_types"])
    return sum(1 for issue in issues
               if issue["fields"]["issuetype"]["name"] not in deployment_types
               and issue["fields"]["status"]["name"].lower() in wip)


def test_cached_metrics_equal_direct_calculation_and_repeat_reads_touch_no_file(
        demo: tuple[list[dict], dict], isolated_data_dir: Path) -> None:
    issues, settings = demo
    frames = build_issue_frames(issues, settings)
    period = Period(date(2025, 5, 20), date(2025, 6, 18))
    direct = metrics_service.calculate_all_metrics(frames, settings, period, ANCHOR, snapshots={})
    first = metrics_service.calculate_metrics_cached(frames, settings, period, ANCHOR, data_version="v1")
    assert list(first) == list(metrics_service.ALL_METRICS)
    assert {name: m["value"] for name, m in first.items()} == {name: m["value"] for name, m in direct.items()}
    cache_file = isolated_data_dir / "metrics_cache.json"
    before = cache_file.stat().st_mtime_ns
    again = metrics_service.calculate_metrics_cached(frames, settings, period, ANCHOR + timedelta(minutes=5),
                                                     data_version="v1")
    assert again is first  # served from the in-process memo
    assert cache_file.stat().st_mtime_ns == before
    # A new data version is a miss: the file cache must not serve numbers for other data.
    metrics_service.clear_memo()
    other = metrics_service.calculate_metrics_cached(frames, settings, period, ANCHOR, data_version="v2")
    assert other is not first and other["flow_load"]["value"] == first["flow_load"]["value"]


def test_flow_load_snapshot_is_recorded_once_per_week_with_the_count_of_wip_items(
        demo: tuple[list[dict], dict], isolated_data_dir: Path) -> None:
    issues, settings = demo
    frames = build_issue_frames(issues, settings)
    snapshot = metrics_service.record_flow_load_snapshot(frames, settings, ANCHOR, data_version="v1")
    assert snapshot is not None and snapshot["wip_count"] == _wip_now_by_hand(issues, settings)
    stored = load_snapshots()[week_label(ANCHOR)]["flow_load"]
    assert stored["wip_count"] == snapshot["wip_count"]
    path = isolated_data_dir / "metrics_snapshots.json"
    content = path.read_bytes()
    assert metrics_service.record_flow_load_snapshot(frames, settings, ANCHOR, data_version="v1") is None
    metrics_service.clear_memo()  # same numbers from a fresh process: still no rewrite
    metrics_service.record_flow_load_snapshot(frames, settings, ANCHOR, data_version="v1")
    assert path.read_bytes() == content


def test_a_restart_knows_the_week_was_recorded_and_builds_no_team_tables_for_it(
        demo: tuple[list[dict], dict], isolated_data_dir: Path) -> None:
    issues, settings = demo
    frames = build_issue_frames(issues, settings)
    assert metrics_service.has_snapshot_to_record(settings, ANCHOR, "v1")
    metrics_service.record_flow_load_snapshot(frames, settings, ANCHOR, data_version="v1")
    metrics_service.clear_memo()  # a new process (a restart, another worker)
    assert not metrics_service.has_snapshot_to_record(settings, ANCHOR, "v1")
    assert metrics_service.has_snapshot_to_record(settings, ANCHOR, "v2")  # new data: its week is checked again
    assert metrics_service.has_snapshot_to_record(settings, ANCHOR + timedelta(days=7), "v1")  # and a new week
    (isolated_data_dir / "cache" / "snapshots_recorded.json").write_text("{not json")
    metrics_service.clear_memo()
    assert metrics_service.has_snapshot_to_record(settings, ANCHOR, "v1")  # a damaged marker file: check again


def test_no_snapshot_without_wip_statuses(demo: tuple[list[dict], dict], isolated_data_dir: Path) -> None:
    issues, settings = demo
    settings["dora_flow_config"]["wip_statuses"] = []
    settings["dora_flow_config"]["active_statuses"] = []
    frames = build_issue_frames(issues, settings)
    assert metrics_service.record_flow_load_snapshot(frames, settings, ANCHOR, data_version="v1") is None
    assert not (isolated_data_dir / "metrics_snapshots.json").exists()


def test_second_update_is_told_one_is_running(isolated_data_dir: Path) -> None:
    settings = merge_with_defaults({})
    holder = FileLock(str(isolated_data_dir / "update.lock"))
    holder_ready, release = threading.Event(), threading.Event()

    def hold() -> None:
        with holder:
            holder_ready.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    holder_ready.wait(5)
    try:
        with pytest.raises(dashboard_service.UpdateAlreadyRunning, match="already running"):
            dashboard_service.run_update(settings)
    finally:
        release.set()
        thread.join()
    assert not (isolated_data_dir / "cache" / "fetch_meta.json").exists()


def test_demo_mode_end_to_end_gives_nine_metrics(isolated_data_dir: Path) -> None:
    settings = dashboard_service.effective_settings(merge_with_defaults({}))
    dashboard_service.ensure_demo_data(settings)
    today = datetime.now(UTC).date()
    metrics, dataset = dashboard_service.metrics_for_period(settings, today - timedelta(days=29), today)
    assert dataset is not None and dataset.issue_count > 1000
    assert [m["error_state"] for m in metrics.values()].count("success") == 9


def test_read_only_metrics_equal_the_cached_ones_and_write_no_file(isolated_data_dir: Path) -> None:
    settings = dashboard_service.effective_settings(merge_with_defaults({}))
    dashboard_service.ensure_demo_data(settings)
    metrics_service.clear_memo()
    today = datetime.now(UTC).date()
    before = sorted(path.name for path in isolated_data_dir.iterdir())
    read_only, dataset = dashboard_service.metrics_for_period(settings, today - timedelta(days=29), today,
                                                              read_only=True)
    assert dataset is not None
    assert sorted(path.name for path in isolated_data_dir.iterdir()) == before  # no snapshot, no metrics cache
    # The numbers are the same as the normal path's, which then records the week and caches the result.
    normal, _ = dashboard_service.metrics_for_period(settings, today - timedelta(days=29), today, read_only=False)
    assert {name: metric["value"] for name, metric in read_only.items()} == \
        {name: metric["value"] for name, metric in normal.items()}
    assert {"metrics_snapshots.json", "metrics_cache.json"} <= {path.name for path in isolated_data_dir.iterdir()}


def test_a_broken_settings_file_makes_metrics_read_only_by_default(isolated_data_dir: Path) -> None:
    settings = dashboard_service.effective_settings(merge_with_defaults({}))
    dashboard_service.ensure_demo_data(settings)
    (isolated_data_dir / "app_settings.json").write_text('{"snapshots": {"weeks_to_keep": -1}}', encoding="utf-8")
    today = datetime.now(UTC).date()
    metrics, dataset = dashboard_service.metrics_for_period(settings, today - timedelta(days=29), today)
    assert dataset is not None and len(metrics) == 9
    assert not (isolated_data_dir / "metrics_snapshots.json").exists()
    assert not (isolated_data_dir / "metrics_cache.json").exists()
