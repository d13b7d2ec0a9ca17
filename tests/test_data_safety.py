"""Data safety around the settings file, the demo and the issue cache, end to end through the services and the
callbacks (real files in the per-test data dir; Jira is the test server over loopback).

- A broken ``app_settings.json`` never leads to a write over the cached issues, the snapshots, the metrics cache
  or the settings file; the page says what is wrong and keeps showing the cached data read-only; Update Data is
  refused with a message naming the file and the key.
- Serving the demo from a fresh clone leaves the tracked ``app_settings.json`` byte for byte as it was.
- Without cached data the cards show one neutral "No data yet" message and no stale demo banner.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dash
import pytest

from callbacks.metrics import NO_DATA_JIRA, NO_DATA_READ_ONLY, show_metrics
from configuration.settings import load_settings_state
from data.services import dashboard_service, metrics_service
from data.services.dashboard_service import UpdateRefused, run_update
from data.services.page_state_service import load_page_state
from data.store.issue_cache import load_cached_issues, load_fetch_meta
from tests.conftest import PROJECT_ROOT
from tests.jira_server import JiraTestServer
from tests.jira_server.builders import make_issues
from ui import ids

EMAIL, TOKEN = "user@example.com", "secret-token-123"
PERIOD = {"preset": "90", "start": None, "end": None}


@pytest.fixture(scope="module")
def jira() -> Iterator[JiraTestServer]:
    # Five issues; with two histories each ends "In Review", a WIP status: the Flow Load snapshot has a value.
    server = JiraTestServer(make_issues(5, histories=2), email=EMAIL, api_token=TOKEN)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def fresh_memo() -> Iterator[None]:
    metrics_service.clear_memo()
    yield
    metrics_service.clear_memo()


def _jira_settings(server: JiraTestServer, **jira: Any) -> dict[str, Any]:
    return {"jira": {"url": server.url, "deployment": "cloud", "email": EMAIL, "jql": "project = PROJ",
                     "requests_per_second": 100.0, **jira},
            "dora_flow_config": {"field_mappings": {"dora": {"deployment_date": "customfield_10100"}},
                                 "last_updated": "2025-01-01T00:00:00.000Z"}}


def _write(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def _state_files(data_dir: Path) -> dict[str, bytes]:
    """Every file that holds the user's data or history (the cache folder's runtime notes aside)."""
    names = ["app_settings.json", "metrics_snapshots.json", "metrics_cache.json", "cache/issues.json",
             "cache/fetch_meta.json"]
    return {name: (data_dir / name).read_bytes() for name in names if (data_dir / name).is_file()}


@pytest.fixture
def jira_cache(isolated_data_dir: Path, jira: JiraTestServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data dir that has served Jira data: one update and one page view with valid settings."""
    monkeypatch.setenv("JIRA_API_TOKEN", TOKEN)
    settings_file = isolated_data_dir / "app_settings.json"
    _write(settings_file, _jira_settings(jira))
    assert run_update().total == 5
    load_page_state()
    show_metrics(PERIOD, None)
    assert (isolated_data_dir / "metrics_snapshots.json").exists()  # the valid path does record the week
    return settings_file


BROKEN = {
    "page_size as text": lambda good: {**good, "jira": {**good["jira"], "page_size": "100"}},
    "a negative TTL": lambda good: {**good, "metrics_cache": {"ttl_seconds": -5}},
}


@pytest.mark.parametrize("breakage", sorted(BROKEN))
def test_a_broken_settings_file_writes_nothing_and_shows_the_cached_jira_data_read_only(
        jira_cache: Path, isolated_data_dir: Path, jira: JiraTestServer, breakage: str) -> None:
    _write(jira_cache, BROKEN[breakage](_jira_settings(jira)))
    before = _state_files(isolated_data_dir)
    version = load_fetch_meta()["data_version"]
    metrics_service.clear_memo()  # as in a fresh process: nothing is served from memory

    state = load_page_state()
    dora, flow, _, source, banner = show_metrics(PERIOD, version)

    assert _state_files(isolated_data_dir) == before
    assert state.read_only and not state.demo_mode and banner is False
    assert source == f"Jira Cloud · {jira.url}"
    [notice] = [notice for notice in state.notices if notice.header == "Settings file"]
    key = "jira.page_size" if breakage == "page_size as text" else "metrics_cache.ttl_seconds"
    assert notice.text.startswith(f"app_settings.json: {key}") and "read-only" in notice.text
    assert not notice.dismissible
    # The cards are the cached Jira issues computed with the last settings that worked (nine cards).
    assert len(dora) == 4 and len(flow) == 5
    cached = load_cached_issues()
    assert cached is not None and {issue["key"] for issue in cached.issues} == {f"PROJ-{n}" for n in range(1, 6)}


@pytest.mark.parametrize("breakage", ["invalid JSON", "a folder in the way"])
def test_an_unreadable_settings_file_is_not_replaced_and_the_demo_never_starts(
        jira_cache: Path, isolated_data_dir: Path, breakage: str) -> None:
    if breakage == "invalid JSON":
        jira_cache.write_bytes(b'{"jira": {"url": ')
    else:
        jira_cache.unlink()
        jira_cache.mkdir()
    before = _state_files(isolated_data_dir)

    state = load_page_state()
    show_metrics(PERIOD, None)

    assert _state_files(isolated_data_dir) == before
    assert load_fetch_meta()["source"] == "jira" and state.read_only and not state.demo_mode
    assert jira_cache.is_dir() or jira_cache.read_bytes() == b'{"jira": {"url": '
    assert not list(isolated_data_dir.glob("app_settings.json.corrupt-*"))


def test_update_data_is_refused_until_the_file_is_fixed(jira_cache: Path, isolated_data_dir: Path,
                                                        jira: JiraTestServer) -> None:
    _write(jira_cache, BROKEN["page_size as text"](_jira_settings(jira)))
    before = _state_files(isolated_data_dir)
    jira.clear_requests()
    with pytest.raises(UpdateRefused) as refused:
        run_update()
    message = str(refused.value)
    assert message.startswith("Update Data is off until the settings file is fixed. app_settings.json: "
                              "jira.page_size must be")
    assert "'100'" in message and "the cached data is kept" in message
    assert jira.requests == [] and _state_files(isolated_data_dir) == before
    _write(jira_cache, _jira_settings(jira))  # fixed: the next update runs
    assert run_update().mode in ("incremental", "reconcile")


def test_without_a_recorded_last_good_the_cache_keeps_its_own_source(
        jira_cache: Path, isolated_data_dir: Path, jira: JiraTestServer) -> None:
    (isolated_data_dir / "cache" / "last_good_settings.json").unlink()
    _write(jira_cache, BROKEN["page_size as text"](_jira_settings(jira)))
    before = _state_files(isolated_data_dir)
    current = dashboard_service.dashboard_settings()
    assert current.read_only and not load_settings_state().from_last_good
    assert current.settings["jira"]["url"] == jira.url  # defaults, but of the cached Jira: not the demo
    state = load_page_state()
    assert not state.demo_mode and "with defaults" in state.notices[0].text
    assert _state_files(isolated_data_dir) == before


def test_no_cache_and_a_broken_file_show_the_no_data_state(isolated_data_dir: Path) -> None:
    _write(isolated_data_dir / "app_settings.json", {"jira": {"page_size": "100"}})
    dora, flow, _, _, banner = show_metrics(PERIOD, None)
    assert _texts(dora) == ["No data yet — click Update Data", NO_DATA_READ_ONLY] and flow == []
    assert banner is False and not (isolated_data_dir / "cache" / "fetch_meta.json").exists()


def test_a_fresh_clone_serving_its_demo_leaves_the_tracked_settings_file_unchanged(isolated_data_dir: Path) -> None:
    settings_file = isolated_data_dir / "app_settings.json"
    shutil.copyfile(PROJECT_ROOT / "app_settings.json", settings_file)
    before = settings_file.read_bytes()
    state = load_page_state()  # prepares the demo data through the update path
    assert state.demo_mode and load_fetch_meta()["source"] == "demo"
    run_update(full=True)  # and an explicit Update Data
    show_metrics(PERIOD, None)
    assert settings_file.read_bytes() == before
    assert load_fetch_meta()["cache_key"]  # the runtime facts are kept with the cache instead


def _texts(component: Any) -> list[str]:
    """Every text inside ``component`` (depth first)."""
    found: list[str] = []
    if isinstance(component, str):
        return [component]
    if isinstance(component, list | tuple):
        for item in component:
            found += _texts(item)
        return found
    children = getattr(component, "children", None)
    return _texts(children) if children is not None else []


def _ids(component: Any) -> list[Any]:
    found = [getattr(component, "id", None)]
    children = component if isinstance(component, list | tuple) else getattr(component, "children", None)
    for child in children if isinstance(children, list | tuple) else [children] if children is not None else []:
        if not isinstance(child, str):
            found += _ids(child)
    return [item for item in found if item is not None]


def test_after_saving_jira_settings_before_the_first_fetch_the_cards_say_no_data_yet(
        isolated_data_dir: Path, jira: JiraTestServer) -> None:
    _write(isolated_data_dir / "app_settings.json", _jira_settings(jira))
    dora, flow, last_updated, source, banner = show_metrics(PERIOD, None)
    assert ids.Notices.NO_DATA in _ids(dora) and flow == []
    assert _texts(dora) == ["No data yet — click Update Data", NO_DATA_JIRA]
    assert banner is False and last_updated == "Never updated" and source == f"Jira Cloud · {jira.url}"


def test_demo_data_cached_but_jira_configured_closes_the_demo_banner(isolated_data_dir: Path,
                                                                    jira: JiraTestServer) -> None:
    load_page_state()  # the demo data is cached
    assert show_metrics(PERIOD, None)[4] is True
    _write(isolated_data_dir / "app_settings.json", _jira_settings(jira))
    # The connection service drops the demo cache when the source changes; a stale one must not look like demo.
    assert show_metrics(PERIOD, None)[4] is False
    assert load_page_state().demo_mode is False


def test_the_demo_banner_is_left_alone_on_a_period_switch(isolated_data_dir: Path) -> None:
    load_page_state()
    assert show_metrics(PERIOD, None, period_only=True)[4] is dash.no_update
    assert show_metrics(PERIOD, None, now=datetime.now(UTC))[4] is True
