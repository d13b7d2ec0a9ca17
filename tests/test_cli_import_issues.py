"""``python cli.py import-issues FILE`` end to end: the file becomes the issue cache (served like fetched data,
its tables ready), and every refusal leaves the cache exactly as it was."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from filelock import FileLock

from configuration.settings import field_mapping_hash, load_settings_state, merge_with_defaults
from data.metrics.issue_frame import build_issue_frames
from data.services import dashboard_service
from data.services.dashboard_service import effective_settings, ensure_demo_data, load_dataset, run_update
from data.store.issue_cache import cache_invalid_reason, load_fetch_meta
from data.store.table_cache import table_path
from tests.conftest import PROJECT_ROOT
from tests.test_table_cache import assert_same_frames

pytestmark = pytest.mark.usefixtures("restore_root_logging")


def run_cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(PROJECT_ROOT / "cli.py"), *args], cwd=PROJECT_ROOT,
                          env=dict(os.environ), capture_output=True, text=True, timeout=timeout)


def one_error_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("export") / "team-export.json"
    result = run_cli("demo", "--issues", "300", "--anchor", "2025-06-30T18:00:00Z", "--output", str(path))
    assert result.returncode == 0, result.stderr
    return path


def cache_files(data_dir: Path) -> dict[str, bytes]:
    """Every file of the cache folder but the lock files, with its bytes."""
    folder = data_dir / "cache"
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if not p.name.endswith(".lock")}


def dashboard_effective_settings() -> dict[str, Any]:
    return effective_settings(load_settings_state().settings)


def test_the_file_becomes_the_cache_with_its_tables_ready(demo_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_cli("import-issues", str(demo_file))

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    [line] = result.stdout.strip().splitlines()
    assert line.startswith("imported 300 issues from team-export.json into the issue cache")
    assert "Update Data replaces them with a full fetch of the demo data" in line
    meta = load_fetch_meta()
    assert {key: meta[key] for key in ("source", "url", "deployment", "jql", "issue_count")} == {
        "source": "file", "url": "", "deployment": "", "jql": "team-export.json", "issue_count": 300}
    assert meta["data_version"] in line
    # Every field of the file is kept, so a mapping chosen later finds its field.
    issues = orjson.loads(demo_file.read_bytes())["issues"]
    assert meta["fields"] == sorted({name for issue in issues for name in issue["fields"]})

    settings = dashboard_effective_settings()
    assert table_path(meta["data_version"], field_mapping_hash(settings)).exists()

    def no_parsing(*_args: Any) -> None:
        raise AssertionError("the dashboard parsed the issues although the import prepared the tables")

    monkeypatch.setattr(dashboard_service, "_loaded", None)
    monkeypatch.setattr(dashboard_service, "build_issue_frames", no_parsing)
    dataset = load_dataset(settings)
    assert dataset is not None and dataset.data_version == meta["data_version"]
    assert_same_frames(build_issue_frames(issues, settings), dataset.frames)

    ensure_demo_data(settings)  # what a fresh page does in demo mode: the imported issues are kept
    assert load_fetch_meta()["data_version"] == meta["data_version"]
    # the page names the file the data came from, not "Demo data"
    assert dashboard_service.source_label(settings, load_fetch_meta()) == "Imported file · team-export.json"


def test_a_second_import_is_a_new_data_version_and_the_old_tables_go(demo_file: Path, tmp_path: Path,
                                                                     isolated_data_dir: Path) -> None:
    assert run_cli("import-issues", str(demo_file)).returncode == 0
    first = load_fetch_meta()["data_version"]
    smaller = tmp_path / "smaller.json"
    smaller.write_bytes(orjson.dumps(orjson.loads(demo_file.read_bytes())["issues"][:120]))  # a bare array

    result = run_cli("import-issues", str(smaller))

    assert result.returncode == 0, result.stderr
    meta = load_fetch_meta()
    assert meta["data_version"] != first and meta["issue_count"] == 120 and meta["jql"] == "smaller.json"
    tables = sorted((isolated_data_dir / "cache").glob("tables-*.arrow"))
    assert tables == [table_path(meta["data_version"], field_mapping_hash(dashboard_effective_settings()))]


BAD_FILES = {
    "missing": (None, "issues file not found"),
    "not JSON": (b"{not json", "is not valid JSON"),
    "not issues": (b'{"values": []}', 'expected a JSON array of Jira issues or an object with an "issues" array'),
    "an issue without fields": (b'[{"key": "A-1"}]', 'A-1 has no "fields" object'),
    "no issues": (b'{"issues": []}', "holds no issues; nothing imported"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_file_is_refused_and_changes_nothing(case: str, demo_file: Path, tmp_path: Path,
                                                   isolated_data_dir: Path) -> None:
    assert run_cli("import-issues", str(demo_file)).returncode == 0
    before = cache_files(isolated_data_dir)
    content, message = BAD_FILES[case]
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_bytes(content)

    result = run_cli("import-issues", str(bad))

    assert result.returncode == 1
    assert message in one_error_line(result)
    assert result.stdout == ""
    assert cache_files(isolated_data_dir) == before


def test_an_unusable_settings_file_is_refused_and_changes_nothing(demo_file: Path, tmp_path: Path,
                                                                  isolated_data_dir: Path) -> None:
    assert run_cli("import-issues", str(demo_file)).returncode == 0
    before = cache_files(isolated_data_dir)
    (isolated_data_dir / "app_settings.json").write_text('{"jira": {"page_size": "100"}}')

    broken = run_cli("import-issues", str(demo_file))
    assert broken.returncode == 1
    assert "page_size" in one_error_line(broken)

    named = tmp_path / "settings.json"
    named.write_text("[1, 2]")
    wrong_named = run_cli("import-issues", str(demo_file), "--settings", str(named))
    assert wrong_named.returncode == 1
    assert "must hold a JSON object" in one_error_line(wrong_named)

    assert cache_files(isolated_data_dir) == before


def test_an_import_while_an_update_runs_is_refused_and_changes_nothing(demo_file: Path,
                                                                       isolated_data_dir: Path) -> None:
    assert run_cli("import-issues", str(demo_file)).returncode == 0
    before = cache_files(isolated_data_dir)
    update_lock = FileLock(str(isolated_data_dir / "update.lock"))  # what run_update holds while it works

    with update_lock:
        result = run_cli("import-issues", str(demo_file))

    assert result.returncode == 1
    assert "an update is running" in one_error_line(result)
    assert cache_files(isolated_data_dir) == before


def test_with_a_jira_configured_the_next_update_is_a_full_fetch_and_the_command_says_so(
        demo_file: Path, tmp_path: Path) -> None:
    settings_file = tmp_path / "settings.json"
    settings_file.write_text(json.dumps({"jira": {"url": "https://example.atlassian.net", "deployment": "cloud",
                                                  "jql": "project = ABC"}}))

    result = run_cli("import-issues", str(demo_file), "--settings", str(settings_file))

    assert result.returncode == 0, result.stderr
    expected = "Update Data replaces them with a full fetch from Jira Cloud · https://example.atlassian.net"
    assert expected in result.stdout
    jira_settings = merge_with_defaults(json.loads(settings_file.read_text()))
    assert cache_invalid_reason(load_fetch_meta(), jira_settings) == "the data source changed"


def test_update_data_in_demo_mode_replaces_the_imported_issues(demo_file: Path) -> None:
    assert run_cli("import-issues", str(demo_file)).returncode == 0

    result = run_update(dashboard_effective_settings())

    assert result.mode == "full" and result.changed
    assert load_fetch_meta()["source"] == "demo"


def test_tables_that_cannot_be_prepared_leave_the_import_standing(demo_file: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from data.services import issue_import

    def failing_load(*_args: Any) -> None:
        raise MemoryError("no room for the tables")

    monkeypatch.setattr(issue_import, "load_dataset", failing_load)

    result = issue_import.import_issues(demo_file)

    assert not result.tables_ready
    assert "(its tables are built on the first page load)" in result.summary()
    assert load_fetch_meta()["data_version"] == result.data_version and result.issue_count == 300
