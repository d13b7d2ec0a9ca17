"""The Update Data callback called directly (no browser): a real update against the test Jira server, the
"already running" answer while another update holds the lock, and the service's own message for a broken
settings file. The two-tab behaviour in a real browser is in ``tests/test_browser_two_tabs.py``."""

from __future__ import annotations

import json
from pathlib import Path

import dash
import pytest
from filelock import FileLock

from callbacks.update import update_data
from configuration.paths import data_file
from tests.jira_server import JiraTestServer
from tests.jira_server.builders import make_issues
from tests.jira_server.fixtures import jira_server_factory  # noqa: F401  (a fixture, used by name)
from tests.test_exports_ui import appended_toast, toast_header, toast_text

EMAIL, TOKEN = "update@example.com", "update-callback-token-77"


def _write_settings(data_dir: Path, server: JiraTestServer) -> Path:
    path = data_dir / "app_settings.json"
    path.write_text(json.dumps({"jira": {"url": server.url, "deployment": "cloud", "email": EMAIL,
                                         "jql": "project = PROJ"}}), encoding="utf-8")
    return path


@pytest.fixture
def jira_settings(jira_server_factory, isolated_data_dir: Path,  # noqa: F811
                  monkeypatch: pytest.MonkeyPatch) -> JiraTestServer:
    server = jira_server_factory(make_issues(4), email=EMAIL, api_token=TOKEN)
    _write_settings(isolated_data_dir, server)
    monkeypatch.setenv("JIRA_EMAIL", EMAIL)
    monkeypatch.setenv("JIRA_API_TOKEN", TOKEN)
    return server


def test_an_update_returns_the_new_data_version_and_a_success_toast(jira_settings: JiraTestServer) -> None:
    progress: list[tuple] = []
    version, toasts = update_data(progress.append, 1, "tab-a")
    assert toast_header(toasts) == "Data updated", toast_text(toasts)
    # A first update is a full fetch of the four issues the server holds.
    assert toast_text(toasts) == "Full update: 4 new, 0 updated, 0 removed; 4 issues in total."
    assert isinstance(version, str) and version
    assert progress and progress[-1][0] == 100


def test_while_another_update_holds_the_lock_the_tab_is_told_one_is_running(
        jira_settings: JiraTestServer) -> None:
    with FileLock(str(data_file("update.lock"))):
        version, toasts = update_data(lambda _value: None, 1, "tab-b")
    assert version is dash.no_update
    assert toast_header(toasts) == "Update Data"
    assert toast_text(toasts).startswith("An update is already running")
    assert "toast-warning" in appended_toast(toasts).class_name
    assert [r for r in jira_settings.requests if r["path"].startswith("/rest/api/")] == []


def test_a_broken_settings_file_shows_the_services_message_and_fetches_nothing(
        jira_settings: JiraTestServer, isolated_data_dir: Path) -> None:
    (isolated_data_dir / "app_settings.json").write_text('{"jira": {"deployment": "moon"}}', encoding="utf-8")
    version, toasts = update_data(lambda _value: None, 1, "tab-c")
    assert version is dash.no_update
    assert toast_header(toasts) == "Update Data"
    assert "jira.deployment" in toast_text(toasts)
    assert "Traceback" not in toast_text(toasts)
    assert jira_settings.requests == []
