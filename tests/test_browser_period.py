"""The period selector and the cards in a real Chromium (demo mode): the dates the numbers cover, no future
day in the picker, a typed future day clamped to today with a message, typed text that is not a date named
and changing nothing, the sparkline's hover, and card footers that fit on one line at 1440 px.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from data.metrics.period_selection import resolve_period
from tests.conftest import RunningApp, expect_nine_values, start_app, stop_app, watched_page
from ui.period_selector import period_dates_text

pytestmark = pytest.mark.browser

LOAD_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    data_dir: Path = tmp_path_factory.mktemp("browser-period-data")
    app = start_app(data_dir)
    yield app
    stop_app(app)


@pytest.fixture
def page(browser, demo_app: RunningApp) -> Iterator[Page]:
    with watched_page(browser, demo_app) as page:
        yield page


def _dates_for(preset: str) -> str:
    return period_dates_text(resolve_period({"preset": preset}, datetime.now(UTC).date()))


def test_the_dates_the_numbers_cover_are_shown_and_follow_the_preset(page: Page) -> None:
    expect_nine_values(page)
    dates = page.locator("#period-dates")
    expect(dates).to_have_text(_dates_for("30"))
    page.locator("#period-preset label", has_text="7 days").click()
    expect(dates).to_have_text(_dates_for("7"))


def test_the_picker_offers_no_day_after_today(page: Page) -> None:
    expect_nine_values(page)
    page.locator("#period-preset label", has_text="Custom").click()
    page.locator("#period-date-range-end-date").click()
    today = datetime.now(UTC).date()
    cells = page.locator(".dash-datepicker-content td.dash-datepicker-calendar-date-inside")
    allowed = cells.and_(page.locator(":not(.dash-datepicker-calendar-date-disabled)"))
    # Wait until the calendar shows today's month (today is an allowed day in it).
    expect(allowed.get_by_text(str(today.day), exact=True).last).to_be_visible()
    # Last month and this one are shown: every day up to today can be picked, none after it.
    days = [int(text) for text in cells.all_inner_texts()]
    disabled = [("dash-datepicker-calendar-date-disabled" in (cell.get_attribute("class") or ""))
                for cell in cells.all()]
    this_month = days[days.index(1, 1):] if days.count(1) == 2 else days
    assert this_month[-1] in (28, 29, 30, 31) and days[-1] == this_month[-1]
    later = this_month[-1] - today.day
    assert disabled == [False] * (len(days) - later) + [True] * later, (days, disabled)


def test_a_typed_future_end_is_clamped_to_today_and_said(page: Page) -> None:
    expect_nine_values(page)
    page.locator("#period-preset label", has_text="Custom").click()
    start, end = page.locator("#period-date-range"), page.locator("#period-date-range-end-date")
    today = datetime.now(UTC).date()
    first = today.replace(day=1)
    start.fill(first.isoformat())
    start.press("Enter")
    expect(start).to_have_value(first.isoformat())
    page.wait_for_load_state("networkidle")  # the start's callbacks re-render the picker: let them finish first
    future = today.replace(year=today.year + 1).isoformat()
    end.fill(future)
    end.press("Enter")
    error = page.locator("#period-error")
    expect(error).to_contain_text(f"{future} is in the future")
    expect(error).to_contain_text(f"the period now ends today, {today.isoformat()}")
    expect(end).to_have_value(today.isoformat())
    expect(page.locator("#period-dates")).to_have_text(
        period_dates_text(resolve_period({"preset": "custom", "start": first.isoformat(),
                                          "end": today.isoformat()}, today)))


@pytest.mark.parametrize(("box", "garbage"), [("end", "2026-02-30"), ("end", "2026-13-45"), ("start", "2026-02-30")])
def test_typed_text_that_is_not_a_date_is_named_and_changes_nothing(page: Page, box: str, garbage: str) -> None:
    before = expect_nine_values(page)
    page.locator("#period-preset label", has_text="Custom").click()
    error = page.locator("#period-error")
    expect(error).to_have_text("Choose a start and an end date")
    end = page.locator("#period-date-range-end-date" if box == "end" else "#period-date-range")
    end.fill(garbage)
    end.press("Enter")
    expect(error).to_contain_text(f"{garbage} is not a date")
    # The previous period stays: the same dates beside the selector and the same numbers on the cards.
    expect(page.locator("#period-dates")).to_have_text(_dates_for("30"))
    assert page.locator(".metric-value").all_inner_texts() == before
    expect(end).not_to_have_value("2026-03-02")  # not silently moved to another day


def test_a_sparkline_shows_its_week_and_value_on_hover(page: Page) -> None:
    expect_nine_values(page)
    graph = page.locator("#dora-card-row .metric-card .sparkline").first
    expect(graph.locator(".main-svg").first).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    box = graph.bounding_box()
    assert box is not None
    # The newest week is at the right edge; move along the line until the hover label appears.
    label = page.locator(".hoverlayer .hovertext")
    for fraction in (0.99, 0.97, 0.9, 0.8, 0.7, 0.6, 0.5):
        page.mouse.move(box["x"] + box["width"] * fraction, box["y"] + box["height"] / 2)
        if label.count():
            break
    assert label.count() == 1
    text = label.first.text_content() or ""
    week, _, value = text.partition(": ")
    assert len(week) == 7 and week[4] == "-" and week.replace("-", "").isdigit(), text
    assert value.split()[-1] in ("deployments/month", "deployment/month"), text


def test_card_footers_fit_on_one_line_at_1440_px(page: Page) -> None:
    expect_nine_values(page)
    footers = page.locator(".metric-footer")
    expect(footers).to_have_count(9)
    for index in range(9):
        counts = footers.nth(index).locator(".metric-counts")
        fits = counts.evaluate("node => node.scrollWidth <= node.clientWidth + 1")
        line = counts.evaluate("node => parseFloat(getComputedStyle(node).lineHeight) || 20")
        height = counts.bounding_box()["height"]
        assert fits and height < 1.5 * line, (index, counts.inner_text(), height, line)
        assert "Excluded:" in counts.inner_text()
