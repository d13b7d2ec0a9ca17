"""Notices and the no-data state in a real Chromium: a moved-aside file is shown in every tab until dismissed, a
broken settings file keeps the page read-only with a notice naming the key, and a Jira connection without data
shows one calm "No data yet" message.

Each test starts its own app on its own data directory and fails on any console or uncaught page error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import RunningApp, start_app, stop_app

pytestmark = pytest.mark.browser

TIMEOUT_MS = 60_000
MOVED = "metrics_snapshots.json.corrupt-20250101T000000Z"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "app-data"
    folder.mkdir()
    return folder


@pytest.fixture
def app(data_dir: Path, request: pytest.FixtureRequest) -> Iterator[RunningApp]:
    for name, content in getattr(request, "param", {}).items():
        (data_dir / name).write_text(content, encoding="utf-8")
    running = start_app(data_dir)
    yield running
    stop_app(running)


def _open(browser: Browser, app: RunningApp, errors: list[str]) -> Page:
    page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(app.url)
    return page


def _no_errors(errors: list[str], app: RunningApp) -> None:
    problems = [text for text in errors if "favicon" not in text]
    assert problems == [], f"browser errors: {problems}\nserver output:\n{app.output()[-3000:]}"


@pytest.mark.parametrize("app", [{MOVED: "["}], indirect=True)
def test_a_moved_aside_file_is_shown_in_every_tab_until_dismissed(browser: Browser, app: RunningApp) -> None:
    errors: list[str] = []
    first, second = _open(browser, app, errors), _open(browser, app, errors)
    for page in (first, second):
        expect(page.locator("#notices-area .alert")).to_contain_text(MOVED, timeout=TIMEOUT_MS)
    first.get_by_role("button", name="Dismiss").click()
    expect(first.locator("#notices-area .alert")).to_have_count(0, timeout=TIMEOUT_MS)
    second.reload()
    expect(second.locator(".metric-card:not(.metric-card-loading)")).to_have_count(9, timeout=TIMEOUT_MS)
    expect(second.locator("#notices-area .alert")).to_have_count(0)
    assert (app.data_dir / MOVED).exists()
    _no_errors(errors, app)


@pytest.mark.parametrize("app", [{"app_settings.json": json.dumps({"jira": {"page_size": "100"}})}],
                         indirect=True)
def test_a_broken_settings_file_is_named_and_update_data_is_refused(browser: Browser, app: RunningApp) -> None:
    errors: list[str] = []
    page = _open(browser, app, errors)
    notice = page.locator("#notices-area .alert")
    expect(notice).to_contain_text("app_settings.json: jira.page_size", timeout=TIMEOUT_MS)
    expect(notice).to_contain_text("read-only")
    expect(page.locator("#no-data-state")).to_be_visible(timeout=TIMEOUT_MS)  # nothing cached, no demo made
    page.locator("#update-data-button").click()
    expect(page.locator("#toast-container .toast").first).to_contain_text("jira.page_size", timeout=TIMEOUT_MS)
    assert not (app.data_dir / "cache" / "fetch_meta.json").exists()
    assert json.loads((app.data_dir / "app_settings.json").read_text()) == {"jira": {"page_size": "100"}}
    _no_errors(errors, app)


@pytest.mark.parametrize("app", [{"app_settings.json": json.dumps(
    {"jira": {"url": "https://ours.example.net", "jql": "project = OURS"}})}], indirect=True)
def test_jira_without_data_shows_no_data_yet_and_no_demo_banner(browser: Browser, app: RunningApp) -> None:
    errors: list[str] = []
    page = _open(browser, app, errors)
    expect(page.locator("#no-data-state")).to_contain_text("No data yet — click Update Data", timeout=TIMEOUT_MS)
    expect(page.locator(".metric-card")).to_have_count(0)
    expect(page.locator("#demo-banner")).to_have_count(0)
    _no_errors(errors, app)


def test_damage_found_by_a_callback_is_shown_without_a_reload(browser: Browser, app: RunningApp) -> None:
    errors: list[str] = []
    page = _open(browser, app, errors)
    expect(page.locator(".metric-card:not(.metric-card-loading)")).to_have_count(9, timeout=TIMEOUT_MS)
    expect(page.locator("#notices-area .alert")).to_have_count(0)
    (app.data_dir / "metrics_cache.json").write_bytes(b'{"entries": {')  # damaged while the page is open
    page.locator("#period-preset label", has_text="7 days").click()  # a period not calculated yet: reads the file
    expect(page.locator("#notices-area .alert")).to_contain_text("metrics_cache.json", timeout=TIMEOUT_MS)
    assert list(app.data_dir.glob("metrics_cache.json.corrupt-*"))
    _no_errors(errors, app)
