"""What a running app works with when ``app_settings.json`` is fine, and when it is not (``load_settings_state``)."""

from __future__ import annotations

import json
from pathlib import Path

from configuration import settings as st


def _write(path: Path, data: object) -> None:
    path.write_text(json.dumps(data), encoding="utf-8")


def test_a_usable_file_is_remembered_as_the_last_good_settings(isolated_data_dir: Path) -> None:
    _write(isolated_data_dir / "app_settings.json", {"jira": {"jql": "project = A"}})
    state = st.load_settings_state()
    assert not state.read_only and state.error is None and state.settings["jira"]["jql"] == "project = A"
    assert st.load_last_good_settings() == state.settings
    stamp = st.last_good_path().stat().st_mtime_ns
    st.load_settings_state()
    assert st.last_good_path().stat().st_mtime_ns == stamp  # unchanged settings are not written again


def test_a_broken_file_gives_the_last_good_settings_read_only(isolated_data_dir: Path) -> None:
    settings_file = isolated_data_dir / "app_settings.json"
    _write(settings_file, {"jira": {"jql": "project = A"}})
    st.load_settings_state()
    _write(settings_file, {"jira": {"jql": "project = B", "max_retries": 99}})
    state = st.load_settings_state()
    assert state.read_only and state.from_last_good
    assert state.settings["jira"]["jql"] == "project = A"
    assert state.problem == "app_settings.json: jira.max_retries must be a whole number from 0 to 20 (got 99)"
    assert state.error == (f"{state.problem}. Until it is fixed, the dashboard shows the cached data with the "
                           "last settings that worked, read-only, and Update Data is off.")
    assert st.load_last_good_settings()["jira"]["jql"] == "project = A"  # the broken file is never recorded


def test_without_a_record_the_defaults_stand_in(isolated_data_dir: Path) -> None:
    _write(isolated_data_dir / "app_settings.json", {"jira": {"deployment": "moon"}})
    state = st.load_settings_state()
    assert state.read_only and not state.from_last_good and state.settings == st.merge_with_defaults({})
    assert "with defaults, read-only" in (state.error or "")
    assert not st.last_good_path().exists()


def test_another_settings_file_is_never_recorded(tmp_path: Path, isolated_data_dir: Path) -> None:
    other = tmp_path / "other.json"
    _write(other, {"jira": {"jql": "project = X"}})
    assert st.load_settings_state(other).settings["jira"]["jql"] == "project = X"
    assert not st.last_good_path().exists()
