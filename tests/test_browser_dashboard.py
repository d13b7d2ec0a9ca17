"""The dashboard in a real Chromium, demo mode (no settings file): cards, period switching, custom-range
validation, dark mode, and the README screenshot.

One app process serves the whole module (its own data directory); every test gets a fresh browser context
and fails on any console error or uncaught page error.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PROJECT_ROOT, RunningApp, start_app, stop_app

pytestmark = pytest.mark.browser

EMPTY_VALUE = "—"
LOAD_TIMEOUT_MS = 60_000
# The README's screenshot is refreshed only on request (UPDATE_SCREENSHOT=1), so a test run never edits tracked files.
README_SCREENSHOT = PROJECT_ROOT / "docs" / "screenshot.png"


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    data_dir: Path = tmp_path_factory.mktemp("browser-demo-data")
    app = start_app(data_dir)
    yield app
    stop_app(app)


@pytest.fixture
def page(browser, demo_app: RunningApp) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(demo_app.url)
    yield page
    context.close()
    problems = [text for text in errors if "favicon" not in text]
    assert problems == [], f"browser errors: {problems}\nserver output:\n{demo_app.output()[-3000:]}"


def _expect_nine_values(page: Page) -> list[str]:
    values = page.locator(".metric-value")
    expect(values).to_have_count(9, timeout=LOAD_TIMEOUT_MS)
    for index in range(9):
        expect(values.nth(index)).not_to_have_text(EMPTY_VALUE)
    return values.all_inner_texts()


def _choose_preset(page: Page, label: str) -> None:
    page.locator("#period-preset label", has_text=label).click()
    expect(page.locator("#period-preset label.active")).to_have_text(label)


def test_demo_page_shows_nine_cards_with_values_and_the_banner(page: Page, tmp_path: Path) -> None:
    _expect_nine_values(page)
    expect(page.locator(".metric-card")).to_have_count(9)
    expect(page.locator("#demo-banner")).to_be_visible()
    expect(page.locator("#demo-banner")).to_contain_text("demo data")
    # Every demo card has a weekly sparkline; wait until Plotly has drawn all nine before the screenshot.
    expect(page.locator(".metric-card .js-plotly-plot .main-svg").first).to_be_visible()
    expect(page.locator(".metric-card .js-plotly-plot")).to_have_count(9, timeout=LOAD_TIMEOUT_MS)
    target = README_SCREENSHOT if os.environ.get("UPDATE_SCREENSHOT") == "1" else tmp_path / "screenshot.png"
    page.screenshot(path=str(target), full_page=True, animations="disabled")
    assert target.stat().st_size > 20_000  # a real rendered page, not a blank image
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_switching_the_period_changes_the_values(page: Page) -> None:
    _expect_nine_values(page)
    _choose_preset(page, "7 days")
    # The cards re-render after the callback; wait until they show values again before reading.
    week = _expect_nine_values(page)
    _choose_preset(page, "90 days")
    values = page.locator(".metric-value")
    # 90 days of demo data hold far more deployments and completed items than 7 days, so at least one
    # number (deployment frequency, throughput …) differs; wait for the re-render to show it.
    expect(values).not_to_have_text(week, timeout=LOAD_TIMEOUT_MS)
    quarter = _expect_nine_values(page)
    assert quarter != week


def test_a_custom_range_over_365_days_shows_the_inline_error(page: Page) -> None:
    _expect_nine_values(page)
    _choose_preset(page, "Custom")
    area = page.locator("#period-custom-range-area")
    expect(area).to_be_visible()
    error = page.locator("#period-error")
    expect(error).to_have_text("Choose a start and an end date")
    # 2024-01-01 .. 2024-12-31 is 366 days (leap year, both ends included): one over the limit.
    start, end = page.locator("#period-date-range"), page.locator("#period-date-range-end-date")
    start.fill("2024-01-01")
    start.press("Enter")
    end.fill("2024-12-31")
    end.press("Enter")
    expect(error).to_have_text("Choose at most 365 days")
    # 2024-01-02 .. 2024-12-31 is exactly 365 days: allowed, the error goes away.
    start.fill("2024-01-02")
    start.press("Enter")
    expect(error).to_have_text("")


def test_the_theme_switch_toggles_dark_and_light(page: Page) -> None:
    _expect_nine_values(page)
    html = page.locator("html")
    expect(html).to_have_attribute("data-bs-theme", "light")
    page.locator("#theme-switch").click()
    expect(html).to_have_attribute("data-bs-theme", "dark")
    page.locator("#theme-switch").click()
    expect(html).to_have_attribute("data-bs-theme", "light")
