"""Two tabs of the dashboard in a real Chromium against the test Jira server: Update Data in one tab is not
ended by a click on Update Data in the other, and the other tab is told that an update is running.

Dash keys a background job by its arguments; both tabs click once (``n_clicks`` 1), so without a per-tab
argument the two jobs share a key and the second tab's quick answer ends the first tab's job.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from data.sources.demo_data import generate_demo_issues
from data.sources.demo_fields import DEMO_FIELDS, DEMO_SETTINGS_OVERLAY
from tests.conftest import RunningApp, start_app, stop_app
from tests.jira_server.app import JiraTestServer

pytestmark = pytest.mark.browser

EMAIL = "two-tabs@example.com"
TOKEN = "two-tabs-test-token-5150"
TIMEOUT_MS = 60_000
SLOW_ANSWERS, SLOW_SECONDS = 6, 1.5  # the first update's first six Jira answers take 1.5 s each: about 9 s


@pytest.fixture(scope="module")
def jira() -> Iterator[JiraTestServer]:
    anchor = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    server = JiraTestServer(generate_demo_issues(300, anchor=anchor, seed=11), email=EMAIL, api_token=TOKEN,
                            fields=DEMO_FIELDS)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def jira_app(tmp_path_factory: pytest.TempPathFactory, jira: JiraTestServer) -> Iterator[RunningApp]:
    data_dir = tmp_path_factory.mktemp("browser-two-tabs-data")
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
def context(browser, jira_app: RunningApp) -> Iterator[tuple[BrowserContext, list[str]]]:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    errors: list[str] = []
    yield context, errors
    context.close()
    problems = [text for text in errors if "favicon" not in text]
    assert problems == [], f"browser errors: {problems}\nserver output:\n{jira_app.output()[-3000:]}"


def _open_tab(context: BrowserContext, errors: list[str], url: str) -> Page:
    page = context.new_page()
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    # Loaded: nine calculated cards, or (nothing fetched yet) the "No data yet" message in their place.
    loaded = page.locator("#no-data-state, .metric-card:not(.metric-card-loading)")
    expect(loaded.first).to_be_visible(timeout=TIMEOUT_MS)
    return page


def test_a_second_tab_is_told_an_update_runs_and_does_not_end_the_first(
        context: tuple[BrowserContext, list[str]], jira: JiraTestServer, jira_app: RunningApp) -> None:
    browser_context, errors = context
    first = _open_tab(browser_context, errors, jira_app.url)
    second = _open_tab(browser_context, errors, jira_app.url)
    jira.clear_requests()
    jira.inject(None, count=SLOW_ANSWERS, path_prefix="/rest/api/", delay=SLOW_SECONDS)

    first.locator("#update-data-button").click()
    expect(first.locator("#update-progress-area")).to_be_visible(timeout=TIMEOUT_MS)
    second.locator("#update-data-button").click()

    # The second tab hears at once (the first update still has seconds to go) that an update is running.
    busy = second.locator("#toast-container .toast", has_text="An update is already running")
    expect(busy).to_be_visible(timeout=TIMEOUT_MS)
    expect(second.locator("#update-data-button")).to_be_enabled()
    expect(first.locator("#update-data-button")).to_be_disabled()

    # The first tab's update carries on to its own success toast; it never shows the second tab's answer.
    success = first.locator("#toast-container .toast-success")
    expect(success).to_be_visible(timeout=TIMEOUT_MS)
    expect(success).to_contain_text("Data updated")
    expect(success).to_contain_text(re.compile(r"300 new"))
    expect(first.locator("#toast-container .toast", has_text="already running")).to_have_count(0)
    expect(first.locator("#update-progress-area")).to_be_hidden()
    meta = json.loads((jira_app.data_dir / "cache" / "fetch_meta.json").read_text(encoding="utf-8"))
    assert meta["source"] != "demo"
