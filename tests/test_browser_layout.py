"""The page's layout in a real Chromium at 1440x900, against the test Jira server reached through a
120-character Jira URL (a context path): the navbar stays one row, idle and while Update Data runs; an error
toast keeps clear of the Export menu and stays until closed; the field-mapping dialog says why Save is off.

The test server serves Jira at its root, so every request under the context path is answered 404 (after an
injected delay when a test needs the running state on screen): Update Data fails with Jira's message and the
field list cannot load, which is what these tests need. One server and one app process serve the module;
every test gets a fresh browser context and fails on any console error or uncaught page error.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect

from callbacks.field_mapping_discard import LOAD_ERROR_HINT
from data.sources.demo_data import generate_demo_issues
from data.sources.demo_fields import DEMO_FIELDS, DEMO_SETTINGS_OVERLAY
from tests.conftest import RunningApp, start_app, stop_app, watched_page
from tests.jira_server.app import JiraTestServer
from ui import ids

pytestmark = pytest.mark.browser

EMAIL = "layout@example.com"
TOKEN = "layout-test-token-5520"
CONTEXT_PATH = "/jira-context"
URL_LENGTH = 120
TIMEOUT_MS = 60_000
AUTO_HIDE_MS = 5000  # ui.page.AUTO_HIDE_MS: success and info toasts hide after it, errors stay


def long_jira_url(server_url: str) -> str:
    """``<server>/jira-context/xxx…`` padded to exactly ``URL_LENGTH`` characters."""
    start = f"{server_url}{CONTEXT_PATH}/"
    return start + "x" * (URL_LENGTH - len(start))


@pytest.fixture(scope="module")
def jira() -> Iterator[JiraTestServer]:
    anchor = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    server = JiraTestServer(generate_demo_issues(40, anchor=anchor, seed=3), email=EMAIL, api_token=TOKEN,
                            fields=DEMO_FIELDS)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def jira_url(jira: JiraTestServer) -> str:
    return long_jira_url(jira.url)


@pytest.fixture(scope="module")
def layout_app(tmp_path_factory: pytest.TempPathFactory, jira_url: str) -> Iterator[RunningApp]:
    data_dir = tmp_path_factory.mktemp("browser-layout-data")
    config = {**copy.deepcopy(DEMO_SETTINGS_OVERLAY), "last_updated": datetime.now(UTC).isoformat()}
    settings = {"version": 1, "jira": {"url": jira_url, "deployment": "cloud", "email": EMAIL, "jql": "project = DEMO"},
                "dora_flow_config": config}
    (data_dir / "app_settings.json").write_text(json.dumps(settings, indent=2), encoding="utf-8")
    app = start_app(data_dir, env={"JIRA_EMAIL": EMAIL, "JIRA_API_TOKEN": TOKEN})
    yield app
    stop_app(app)


@pytest.fixture
def page(browser, layout_app: RunningApp) -> Iterator[Page]:
    with watched_page(browser, layout_app) as page:
        expect(page.locator(".metric-card-loading")).to_have_count(0, timeout=TIMEOUT_MS)
        yield page


def _navbar_parts(page: Page) -> dict[str, dict[str, float]]:
    parts = {name: page.locator(f"#{ids.Navbar.NAVBAR} {selector}").bounding_box()
             for name, selector in (("brand", ".navbar-brand"), ("status", ".navbar-status"),
                                    ("actions", ".navbar-actions"))}
    parts["navbar"] = page.locator(f"#{ids.Navbar.NAVBAR}").bounding_box()
    return parts


def _assert_one_row(page: Page) -> float:
    """The brand, the status and the actions share one row; returns the navbar's height."""
    parts = _navbar_parts(page)
    boxes = [parts[name] for name in ("brand", "status", "actions")]
    # On one row every part's vertical span overlaps every other's; a wrapped part starts below the others' end.
    assert max(box["y"] for box in boxes) < min(box["y"] + box["height"] for box in boxes), parts
    # And the navbar is no taller than its tallest part plus its own padding and border (a second row would
    # add at least a button's height).
    chrome = page.evaluate(
        """id => { const s = getComputedStyle(document.getElementById(id));
                   return ['paddingTop', 'paddingBottom', 'borderTopWidth', 'borderBottomWidth']
                       .reduce((sum, name) => sum + parseFloat(s[name]), 0); }""",
        ids.Navbar.NAVBAR,
    )
    assert parts["navbar"]["height"] <= max(box["height"] for box in boxes) + chrome + 1, parts
    assert parts["status"]["width"] > 150, parts  # the source label keeps readable room
    return parts["navbar"]["height"]


def test_the_navbar_stays_one_row_with_a_long_jira_url_and_during_an_update(
        page: Page, jira: JiraTestServer, jira_url: str) -> None:
    assert len(jira_url) == URL_LENGTH
    label = page.locator(f"#{ids.Navbar.DATA_SOURCE}")
    expect(label).to_have_text(f"Jira Cloud · {jira_url}")
    # The full text is the tooltip; the visible text ends in an ellipsis because it does not fit.
    expect(label).to_have_attribute("title", f"Jira Cloud · {jira_url}")
    truncation = label.evaluate(
        """el => { const box = el.parentElement; const s = getComputedStyle(box);
                   return {overflow: box.scrollWidth > box.clientWidth, ellipsis: s.textOverflow}; }""")
    assert truncation == {"overflow": True, "ellipsis": "ellipsis"}
    idle_height = _assert_one_row(page)

    # Hold the first Jira answer for 4 s so the running state (progress bar + Cancel) is on screen.
    jira.inject(None, count=1, path_prefix=CONTEXT_PATH, delay=4.0)
    page.locator(f"#{ids.Navbar.UPDATE_BUTTON}").click()
    expect(page.locator(f"#{ids.UpdateProgress.AREA}")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator(f"#{ids.Navbar.CANCEL_BUTTON}")).to_be_visible()
    assert _assert_one_row(page) == idle_height
    # The progress itself is one compact line: the bar and the count side by side.
    area = page.locator(f"#{ids.UpdateProgress.AREA}").bounding_box()
    count = page.locator(f"#{ids.UpdateProgress.TEXT}").bounding_box()
    assert area["height"] <= count["height"] + 1, (area, count)
    # The update fails on the 404 under the context path; the page is idle again afterwards.
    expect(page.locator("#toast-container .toast-danger")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator(f"#{ids.Navbar.CANCEL_BUTTON}")).to_be_hidden()


def _overlap(first: dict[str, float], second: dict[str, float]) -> bool:
    return (first["x"] < second["x"] + second["width"] and second["x"] < first["x"] + first["width"]
            and first["y"] < second["y"] + second["height"] and second["y"] < first["y"] + first["height"])


def test_an_error_toast_keeps_clear_of_the_export_menu_and_stays_until_closed(page: Page) -> None:
    page.locator(f"#{ids.Navbar.UPDATE_BUTTON}").click()
    danger = page.locator("#toast-container .toast-danger")
    expect(danger).to_be_visible(timeout=TIMEOUT_MS)
    expect(danger).to_contain_text("HTTP 404")

    page.locator(f"#{ids.Exports.MENU}").click()
    menu = page.locator(f"#{ids.Exports.MENU} .dropdown-menu")
    expect(menu).to_be_visible()
    assert not _overlap(danger.bounding_box(), menu.bounding_box())
    # Whatever the screen size, a menu is drawn above the toasts: the menu's z-index is the higher one.
    toast_z = page.locator("#toast-container").evaluate("el => Number(getComputedStyle(el).zIndex)")
    menu_z = menu.evaluate("el => Number(getComputedStyle(el).zIndex)")
    assert menu_z > toast_z >= 1056  # and toasts stay above an open modal (Bootstrap's modal is 1055)
    for item_id in (ids.Exports.METRICS_JSON, ids.Exports.METRICS_CSV, ids.Exports.METRICS_PROMETHEUS,
                    ids.Exports.SNAPSHOTS, ids.Exports.OPEN_IMPORT):
        box = page.locator(f"#{item_id}").bounding_box()
        on_top = page.evaluate(
            "([x, y]) => { const el = document.elementFromPoint(x, y); return el && el.closest('[id]').id; }",
            [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])
        assert on_top == item_id
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()

    # An error stays past the time a success toast needs to hide, until the user closes it.
    page.wait_for_timeout(AUTO_HIDE_MS + 1500)
    expect(danger).to_be_visible()
    danger.locator(".btn-close").click()
    expect(danger).to_be_hidden()


def test_field_mapping_says_why_save_is_off_when_the_fields_cannot_load(page: Page) -> None:
    page.locator(f"#{ids.Navbar.OPEN_FIELD_MAPPING}").click()
    expect(page.locator(f"#{ids.FieldMapping.LOAD_ERROR}")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator(f"#{ids.FieldMapping.SAVE_BUTTON}")).to_be_disabled()
    hint = page.locator(f"#{ids.FieldMapping.SAVE_HINT}")
    expect(hint).to_have_text(LOAD_ERROR_HINT)
    expect(hint).to_be_visible()
    expect(page.locator(f"#{ids.FieldMapping.SAVE_WRAPPER}")).to_have_attribute("title", LOAD_ERROR_HINT)


def test_cancel_says_that_the_update_was_cancelled(page: Page, jira: JiraTestServer) -> None:
    # Jira holds its first answer for 8 s; Cancel ends the job and a toast says so, the page is idle again.
    jira.inject(None, count=1, path_prefix=CONTEXT_PATH, delay=8.0)
    page.locator(f"#{ids.Navbar.UPDATE_BUTTON}").click()
    cancel = page.locator(f"#{ids.Navbar.CANCEL_BUTTON}")
    expect(cancel).to_be_visible(timeout=TIMEOUT_MS)
    cancel.click()
    expect(page.locator("#toast-container").get_by_text("Update cancelled")).to_be_visible(timeout=TIMEOUT_MS)
    expect(cancel).to_be_hidden(timeout=TIMEOUT_MS)
    expect(page.locator("#toast-container .toast-danger")).to_have_count(0)
