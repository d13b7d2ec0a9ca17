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

from tests.conftest import PROJECT_ROOT, RunningApp, expect_nine_values, start_app, stop_app, watched_page

pytestmark = pytest.mark.browser

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
    with watched_page(browser, demo_app) as page:
        yield page


def _choose_preset(page: Page, label: str) -> None:
    page.locator("#period-preset label", has_text=label).click()
    expect(page.locator("#period-preset label.active")).to_have_text(label)


def test_demo_page_shows_nine_cards_with_values_and_the_banner(page: Page, tmp_path: Path) -> None:
    expect_nine_values(page)
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
    expect_nine_values(page)
    _choose_preset(page, "7 days")
    # The cards re-render after the callback; wait until they show values again before reading.
    week = expect_nine_values(page)
    _choose_preset(page, "90 days")
    values = page.locator(".metric-value")
    # 90 days of demo data hold far more deployments and completed items than 7 days, so at least one
    # number (deployment frequency, throughput …) differs; wait for the re-render to show it.
    expect(values).not_to_have_text(week, timeout=LOAD_TIMEOUT_MS)
    quarter = expect_nine_values(page)
    assert quarter != week


def test_a_custom_range_over_365_days_shows_the_inline_error(page: Page) -> None:
    expect_nine_values(page)
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
    expect_nine_values(page)
    html = page.locator("html")
    expect(html).to_have_attribute("data-bs-theme", "light")
    page.locator("#theme-switch").click()
    expect(html).to_have_attribute("data-bs-theme", "dark")
    page.locator("#theme-switch").click()
    expect(html).to_have_attribute("data-bs-theme", "light")


def _rgba(text: str) -> tuple[float, float, float, float]:
    """``rgb(r, g, b)`` / ``rgba(r, g, b, a)`` as four numbers (alpha 1 when absent)."""
    numbers = [float(part) for part in text[text.index("(") + 1:text.index(")")].split(",")]
    return (*numbers[:3], numbers[3] if len(numbers) == 4 else 1.0)


def _luminance(rgb: tuple[float, float, float]) -> float:
    """WCAG 2 relative luminance of an sRGB colour (0 black … 1 white)."""
    def channel(value: float) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    red, green, blue = (channel(value) for value in rgb)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def _contrast(foreground: str, background: str) -> float:
    """WCAG contrast ratio of a text colour (alpha blended over the background) against the background."""
    *fg, alpha = _rgba(foreground)
    bg = _rgba(background)[:3]
    blended = tuple(alpha * f + (1 - alpha) * b for f, b in zip(fg, bg, strict=True))
    light, dark = sorted((_luminance(blended), _luminance(bg)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


# The colour an element is drawn on: its own background, else the first ancestor's that is not transparent.
EFFECTIVE_COLOURS = """el => {
    let node = el;
    while (node && node.nodeType === 1) {
        const bg = getComputedStyle(node).backgroundColor;
        if (bg && bg !== 'transparent' && !/rgba\\(.*,\\s*0\\)$/.test(bg)) {
            return {background: bg, color: getComputedStyle(el).color};
        }
        node = node.parentElement;
    }
    return {background: 'rgb(255, 255, 255)', color: getComputedStyle(el).color};
}"""
DARK_BACKGROUND_MAX = 0.1  # Bootstrap's dark body (#212529) is 0.016; white is 1.0
READABLE_CONTRAST = 4.5  # WCAG AA for normal text


def _assert_dark_and_readable(locator) -> None:
    colours = locator.evaluate(EFFECTIVE_COLOURS)
    assert _luminance(_rgba(colours["background"])[:3]) < DARK_BACKGROUND_MAX, colours
    assert _contrast(colours["color"], colours["background"]) >= READABLE_CONTRAST, colours


def test_the_date_picker_and_the_dropdowns_follow_the_dark_theme(page: Page) -> None:
    expect_nine_values(page)
    page.locator("#theme-switch").click()
    expect(page.locator("html")).to_have_attribute("data-bs-theme", "dark")
    _choose_preset(page, "Custom")
    start = page.locator("#period-date-range")
    start.fill("2024-03-05")
    _assert_dark_and_readable(start)
    start.click()
    calendar = page.locator(".dash-datepicker-calendar-wrapper")
    expect(calendar).to_be_visible()
    _assert_dark_and_readable(calendar.locator("td", has_text="14").first)
    page.keyboard.press("Escape")

    page.locator("#open-field-mapping-button").click()
    expect(page.locator("#field-mapping-form")).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    item = page.locator(".mapping-item-dora-deployment_date")
    _assert_dark_and_readable(item.locator(".dash-dropdown-value"))
    item.locator("button.dash-dropdown").click()
    _assert_dark_and_readable(page.get_by_role("option").first)


def _choose_field(page: Page, item_class: str, name: str) -> None:
    """Pick the option called ``name`` in a mapping dropdown by keyboard (Dash 4's options are not clickable
    for Playwright: each wraps a disabled input), as a user typing into its search box does."""
    item = page.locator(f".{item_class}")
    item.locator("button.dash-dropdown").click()
    search = page.locator(".dash-dropdown-search")
    search.fill(name)
    expect(page.get_by_role("option")).to_have_count(1)
    search.press("ArrowDown")
    search.press("Enter")
    expect(page.get_by_role("listbox")).to_have_count(0)
    expect(item.locator(".dash-dropdown-value")).to_contain_text(name)


def test_escape_with_unsaved_mapping_edits_asks_before_discarding(page: Page) -> None:
    expect_nine_values(page)
    modal, confirm = page.locator("#field-mapping-modal"), page.locator("#field-mapping-discard-confirm")
    item_class = "mapping-item-dora-deployment_date"
    value = page.locator(f".{item_class} .dash-dropdown-value")

    def open_form() -> None:
        page.locator("#open-field-mapping-button").click()
        expect(page.locator("#field-mapping-form")).to_be_visible(timeout=LOAD_TIMEOUT_MS)
        expect(value).to_contain_text("Deployment Date")  # the demo's saved mapping

    # Without edits Escape closes the dialog at once, as it always did.
    open_form()
    page.keyboard.press("Escape")
    expect(modal).to_be_hidden()

    open_form()
    _choose_field(page, item_class, "Code Commit Date")
    page.keyboard.press("Escape")
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text("Discard changes?")
    expect(modal).to_be_visible()
    page.locator("#field-mapping-keep-editing-button").click()
    expect(confirm).to_be_hidden()
    expect(value).to_contain_text("Code Commit Date")
    # The header's X and the footer's Cancel ask the same question.
    page.locator("#field-mapping-dismiss-button").click()
    expect(confirm).to_be_visible()
    page.locator("#field-mapping-keep-editing-button").click()
    page.locator("#field-mapping-close-button").click()
    expect(confirm).to_be_visible()
    page.locator("#field-mapping-cancel-button").click()  # "Discard changes"
    expect(modal).to_be_hidden()

    # The edit is gone: the dialog shows the saved mapping again, and Escape closes it without asking.
    open_form()
    expect(value).not_to_contain_text("Code Commit Date")
    page.keyboard.press("Escape")
    expect(modal).to_be_hidden()
    expect(confirm).to_be_hidden()
