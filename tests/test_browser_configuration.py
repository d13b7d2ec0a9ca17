"""The dashboard in a real Chromium against the test Jira server (Cloud): Update Data (progress, success,
failure), the field-mapping modal's validation and save, and the Jira settings' connection test.

One test Jira server and one app process serve the whole module; the app reads its settings from its own
data directory and its credentials from JIRA_EMAIL / JIRA_API_TOKEN. Every test gets a fresh browser
context and fails on any console error or uncaught page error.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Locator, Page, expect

from data.sources.demo_data import generate_demo_issues
from data.sources.demo_fields import DEMO_FIELDS, DEMO_SETTINGS_OVERLAY
from tests.conftest import RunningApp, start_app, stop_app, watched_page
from tests.jira_server.app import NOT_AUTHENTICATED, JiraTestServer

pytestmark = pytest.mark.browser

EMAIL = "dora@example.com"
TOKEN = "browser-test-token-4711"
EMPTY_VALUE = "—"
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def jira() -> Iterator[JiraTestServer]:
    anchor = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    server = JiraTestServer(generate_demo_issues(300, anchor=anchor, seed=7), email=EMAIL, api_token=TOKEN,
                            fields=DEMO_FIELDS)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def jira_app(tmp_path_factory: pytest.TempPathFactory, jira: JiraTestServer) -> Iterator[RunningApp]:
    data_dir = tmp_path_factory.mktemp("browser-jira-data")
    config = {**copy.deepcopy(DEMO_SETTINGS_OVERLAY), "last_updated": datetime.now(UTC).isoformat()}
    settings = {
        "version": 1,
        "jira": {"url": jira.url, "deployment": "cloud", "email": EMAIL, "jql": "project = DEMO"},
        "dora_flow_config": config,
    }
    (data_dir / "app_settings.json").write_text(json.dumps(settings, indent=2), encoding="utf-8")
    app = start_app(data_dir, env={"JIRA_EMAIL": EMAIL, "JIRA_API_TOKEN": TOKEN})
    yield app
    stop_app(app)


@pytest.fixture
def page(browser, jira_app: RunningApp) -> Iterator[Page]:
    with watched_page(browser, jira_app) as page:
        # Loaded: the placeholders are replaced (by nine cards, or by "No data yet" before the first update).
        expect(page.locator(".metric-card-loading")).to_have_count(0, timeout=TIMEOUT_MS)
        yield page


def _values(page: Page) -> Locator:
    return page.locator(".metric-value")


def _expect_nine_values(page: Page) -> list[str]:
    values = _values(page)
    expect(values).to_have_count(9, timeout=TIMEOUT_MS)
    for index in range(9):
        expect(values.nth(index)).not_to_have_text(EMPTY_VALUE)
    return values.all_inner_texts()


def _update(page: Page) -> None:
    page.locator("#update-data-button").click()


def _successful_update(page: Page) -> list[str]:
    """Run Update Data, wait for its success toast and return the nine values it shows."""
    _update(page)
    toast = page.locator("#toast-container .toast").first
    expect(toast).to_be_visible(timeout=TIMEOUT_MS)
    expect(toast).to_contain_text("Data updated")
    expect(toast).to_have_class(re.compile(r"\btoast-success\b"))
    return _expect_nine_values(page)


def _ensure_data(page: Page, app: RunningApp) -> list[str]:
    """The nine values, after one successful Update Data unless an earlier test already fetched."""
    if not (app.data_dir / "cache" / "issues.json").exists():
        return _successful_update(page)
    return _expect_nine_values(page)


def test_update_data_shows_progress_then_the_values(page: Page, jira: JiraTestServer) -> None:
    # Slow the first few Jira answers down so the running state stays on screen long enough to be seen.
    jira.inject(None, count=3, path_prefix="/rest/api/", delay=1.0)
    progress = page.locator("#update-progress-area")
    expect(progress).to_be_hidden()
    _update(page)
    expect(progress).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator("#update-data-button")).to_be_disabled()
    expect(progress).to_be_hidden(timeout=TIMEOUT_MS)
    success = page.locator("#toast-container .toast-success")
    expect(success).to_be_visible(timeout=TIMEOUT_MS)
    expect(success).to_contain_text("Data updated")
    _expect_nine_values(page)
    assert any(request["path"].startswith("/rest/api/3/search/jql") for request in jira.requests)
    # A success toast hides by itself after ui.page.AUTO_HIDE_MS (5 s); errors stay (test_browser_layout.py).
    expect(success).to_be_hidden(timeout=5000 + 5000)


def test_update_data_succeeds_again_after_a_reload(page: Page, jira_app: RunningApp) -> None:
    # A user coming back later: the page is loaded (the server reads the cached issues), then updates again.
    _ensure_data(page, jira_app)
    page.reload()
    _expect_nine_values(page)
    _successful_update(page)


def test_a_rejected_token_shows_jiras_message_and_keeps_the_values(
        page: Page, jira: JiraTestServer, jira_app: RunningApp) -> None:
    before = _ensure_data(page, jira_app)
    # The next Jira answer is the 401 Jira gives a revoked token; the update must stop on it.
    jira.inject(401, count=1, path_prefix="/rest/api/", body={"errorMessages": [NOT_AUTHENTICATED], "errors": {}})
    _update(page)
    danger = page.locator("#toast-container .toast-danger")
    expect(danger).to_be_visible(timeout=TIMEOUT_MS)
    expect(danger).to_contain_text("Client must be authenticated")
    expect(danger).to_contain_text("The previous data is unchanged")
    expect(page.locator("#update-data-button")).to_be_enabled()
    assert _expect_nine_values(page) == before


def _open_field_mapping(page: Page) -> None:
    page.locator("#open-field-mapping-button").click()
    expect(page.locator("#field-mapping-modal")).to_be_visible()
    expect(page.locator("#field-mapping-form")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator("#field-mapping-save-button")).to_be_enabled()


def _choose(page: Page, item_class: str, name: str) -> None:
    """Pick the option called ``name`` in the dropdown of the mapping item ``item_class``, by keyboard.

    Dash 4's dropdown options wrap a disabled radio input, so Playwright sees them as not clickable; a user
    types into the search box and picks the single match with ArrowDown + Enter, which is what this does.
    """
    item = page.locator(f".{item_class}")
    item.locator("button.dash-dropdown").click()
    search = page.locator(".dash-dropdown-search")
    expect(search).to_have_count(1)
    search.fill(name)
    expect(page.get_by_role("option")).to_have_count(1)
    expect(page.get_by_role("option")).to_contain_text(name)
    search.press("ArrowDown")
    search.press("Enter")
    expect(page.get_by_role("listbox")).to_have_count(0)
    expect(item.locator(".dash-dropdown-value")).to_contain_text(name)


def test_field_mapping_rejects_a_text_field_for_a_date_then_saves_a_date_field(
        page: Page, jira_app: RunningApp) -> None:
    settings_file = jira_app.data_dir / "app_settings.json"
    before = settings_file.read_bytes()
    _open_field_mapping(page)
    item_class = "mapping-item-dora-deployment_date"
    _choose(page, item_class, "Team Notes")
    page.locator("#field-mapping-save-button").click()
    error = page.locator(f".{item_class} [role=alert]")
    expect(error).not_to_have_text("", timeout=TIMEOUT_MS)
    expect(page.locator("#field-mapping-summary")).to_be_visible()
    expect(page.locator("#field-mapping-modal")).to_be_visible()
    assert settings_file.read_bytes() == before

    _choose(page, item_class, "Code Commit Date")
    page.locator("#field-mapping-save-button").click()
    expect(page.locator("#field-mapping-modal")).to_be_hidden(timeout=TIMEOUT_MS)
    saved = json.loads(settings_file.read_text(encoding="utf-8"))
    assert settings_file.read_bytes() != before
    assert saved["dora_flow_config"]["field_mappings"]["dora"]["deployment_date"] == "customfield_10102"


def test_jira_settings_test_connection_shows_the_401_and_never_echoes_the_token(page: Page) -> None:
    wrong_token = "wrong-token-never-echoed-8301"
    page.locator("#open-jira-settings-button").click()
    modal = page.locator("#jira-settings-modal")
    expect(modal).to_be_visible()
    expect(page.locator("#jira-settings-email")).to_have_value(EMAIL)
    page.locator("#jira-settings-api-token").fill(wrong_token)
    page.locator("#jira-settings-test-button").click()
    result = page.locator("#jira-settings-test-result")
    expect(result).to_contain_text("Client must be authenticated", timeout=TIMEOUT_MS)
    expect(result.locator(".alert-danger")).to_be_visible()
    assert wrong_token not in page.content()
    assert TOKEN not in page.content()
