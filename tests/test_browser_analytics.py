"""The Analytics view in a real Chromium on the demo data: every chart drawn with the service's data (as many
dots, bars and bands as the service returns for the same period), the forecast answering again when the
question changes, Dashboard ↔ Analytics keeping the period, a reload of /analytics staying on the view, the
charts following the dark theme, a chart's CSV download, and no console error throughout."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from data.metrics.period_selection import resolve_period
from data.sources.demo_data import generate_demo_issues
from data.sources.demo_fields import DEMO_FIELDS, DEMO_SETTINGS_OVERLAY
from tests.conftest import RunningApp, start_app, stop_app, watched_page
from tests.jira_server.app import JiraTestServer
from ui.notices import NO_DATA_TITLE
from ui.period_selector import period_dates_text

pytestmark = pytest.mark.browser

LOAD_TIMEOUT_MS = 90_000


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    data_dir: Path = tmp_path_factory.mktemp("browser-analytics-data")
    app = start_app(data_dir)
    yield app
    stop_app(app)


@pytest.fixture
def page(browser, demo_app: RunningApp) -> Iterator[Page]:
    with watched_page(browser, demo_app, accept_downloads=True) as page:
        yield page


def _service_analytics(app: RunningApp, preset: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What the service returns for the preset, read from the app's own data folder."""
    monkeypatch.setenv("DASHBOARD_DATA_DIR", str(app.data_dir))
    from data.services.analytics_service import analytics_for_dashboard
    from data.services.dashboard_service import dashboard_settings

    now = datetime.now(UTC)
    period = resolve_period({"preset": preset}, now.date())
    analytics = analytics_for_dashboard(dashboard_settings().settings, period.start, period.end, now)
    assert analytics is not None
    return analytics


def _open_analytics(page: Page, app: RunningApp) -> None:
    page.goto(app.url + "/analytics")
    expect(page.locator(".analytics-card-cycle_time .scatterlayer .point").first).to_be_attached(
        timeout=LOAD_TIMEOUT_MS)
    expect(page.locator("#forecast-results table")).to_be_visible(timeout=LOAD_TIMEOUT_MS)


def test_every_chart_is_drawn_with_the_services_data(page: Page, demo_app: RunningApp,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    _open_analytics(page, demo_app)
    expect(page.locator("#dashboard-view")).to_be_hidden()
    analytics = _service_analytics(demo_app, "30", monkeypatch)
    points = analytics["cycle_time"]["points"]
    assert len(points) > 0
    expect(page.locator(".analytics-card-cycle_time .scatterlayer .point")).to_have_count(len(points))
    aged = [item for item in analytics["aging_wip"]["items"] if item["age_days"] is not None]
    expect(page.locator(".analytics-card-aging_wip .scatterlayer .point")).to_have_count(len(aged))
    expect(page.locator(".analytics-card-time_in_status .barlayer .point")).to_have_count(
        len(analytics["time_in_status"]["statuses"]))
    expect(page.locator(".analytics-card-cfd .scatterlayer .trace")).to_have_count(len(analytics["cfd"]["counts"]))
    expect(page.locator(".analytics-card-throughput .barlayer .point")).to_have_count(
        len(analytics["throughput"]["days"]))
    # Each card states its finding in words.
    expect(page.locator(".analytics-card-cycle_time .analytics-summary")).to_contain_text(
        "85% of items finished within")
    expect(page.locator(".analytics-card-aging_wip .analytics-summary")).to_contain_text(
        f"{analytics['aging_wip']['over_85']} items are older than 85% of finished items")
    expect(page.locator(".analytics-card-time_in_status .analytics-summary")).to_contain_text(
        f"Bottleneck: work waits longest in “{analytics['time_in_status']['bottleneck']}”")
    # Hovering a dot names the item and its cycle time.
    page.locator(".analytics-card-cycle_time .scatterlayer .point").first.hover(force=True)
    expect(page.locator(".hoverlayer .hovertext").first).to_contain_text("Cycle time", timeout=10_000)


def test_the_forecast_answers_again_when_the_question_changes(page: Page, demo_app: RunningApp) -> None:
    _open_analytics(page, demo_app)
    answers = page.locator("#forecast-results")
    expect(answers).to_contain_text("85% likely: at least")
    expect(page.locator("#forecast-histogram .barlayer .point").first).to_be_attached()
    expect(page.locator("#forecast-items")).not_to_have_value("", timeout=LOAD_TIMEOUT_MS)  # the WIP count
    page.locator("#forecast-mode label", has_text="When will").click()
    expect(answers).to_contain_text("85% likely: done by", timeout=LOAD_TIMEOUT_MS)
    expect(page.locator("#forecast-until-area")).to_be_hidden()
    before = answers.inner_text()
    page.locator("#forecast-items").fill("1")
    page.locator("#forecast-items").press("Enter")
    expect(answers).not_to_have_text(before, timeout=LOAD_TIMEOUT_MS)
    page.locator("#forecast-mode label", has_text="How many by").click()
    expect(answers).to_contain_text("85% likely: at least", timeout=LOAD_TIMEOUT_MS)


def test_navigation_keeps_the_period_and_a_reload_stays_on_the_view(page: Page, demo_app: RunningApp) -> None:
    _open_analytics(page, demo_app)
    page.locator("#period-preset label", has_text="7 days").click()
    dates = period_dates_text(resolve_period({"preset": "7"}, datetime.now(UTC).date()))
    expect(page.locator("#period-dates")).to_have_text(dates)
    page.locator("#nav-dashboard-link").click()
    expect(page).to_have_url(demo_app.url + "/")
    expect(page.locator("#dashboard-view")).to_be_visible()
    expect(page.locator("#analytics-view")).to_be_hidden()
    expect(page.locator("#period-dates")).to_have_text(dates)
    page.locator("#nav-analytics-link").click()
    expect(page).to_have_url(demo_app.url + "/analytics")
    expect(page.locator("#analytics-view")).to_be_visible()
    expect(page.locator("#period-dates")).to_have_text(dates)
    expect(page.locator("#nav-analytics-link")).to_have_class("py-1 px-2 nav-link active")
    page.reload()
    expect(page.locator("#analytics-view")).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    expect(page.locator("#dashboard-view")).to_be_hidden()
    expect(page.locator(".analytics-card-cycle_time .scatterlayer .point").first).to_be_attached(
        timeout=LOAD_TIMEOUT_MS)


def test_charts_follow_the_dark_theme_and_download_their_data(page: Page, demo_app: RunningApp,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    _open_analytics(page, demo_app)
    title = page.locator(".analytics-card-cycle_time .xtitle")
    expect(title).to_have_text("Completion date")
    page.locator("#theme-switch").check()
    expect(title).to_have_css("fill", "rgb(222, 226, 230)", timeout=LOAD_TIMEOUT_MS)
    with page.expect_download() as download_info:
        page.locator(".analytics-card-cycle_time button", has_text="CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith("analytics_cycle_time")
    lines = Path(download.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0] == "key,completed_at,cycle_time_days,flow_type"
    assert len(lines) == 1 + len(_service_analytics(demo_app, "30", monkeypatch)["cycle_time"]["points"])


JIRA_EMAIL = "analytics@example.com"
JIRA_TOKEN = "analytics-test-token-7021"


@pytest.fixture(scope="module")
def jira() -> Iterator[JiraTestServer]:
    anchor = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    server = JiraTestServer(generate_demo_issues(200, anchor=anchor, seed=5), email=JIRA_EMAIL,
                            api_token=JIRA_TOKEN, fields=DEMO_FIELDS)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def jira_app(tmp_path_factory: pytest.TempPathFactory, jira: JiraTestServer) -> Iterator[RunningApp]:
    data_dir = tmp_path_factory.mktemp("browser-analytics-jira-data")
    config = {**copy.deepcopy(DEMO_SETTINGS_OVERLAY), "last_updated": datetime.now(UTC).isoformat()}
    settings = {"version": 1, "jira": {"url": jira.url, "deployment": "cloud", "email": JIRA_EMAIL,
                                       "jql": "project = DEMO"}, "dora_flow_config": config}
    (data_dir / "app_settings.json").write_text(json.dumps(settings, indent=2), encoding="utf-8")
    app = start_app(data_dir, env={"JIRA_EMAIL": JIRA_EMAIL, "JIRA_API_TOKEN": JIRA_TOKEN})
    yield app
    stop_app(app)


def test_before_any_update_the_view_says_so_and_a_dot_then_opens_its_issue_in_jira(
        browser, jira_app: RunningApp, jira: JiraTestServer) -> None:
    with watched_page(browser, jira_app) as page:
        page.goto(jira_app.url + "/analytics")
        # Nothing fetched yet: every chart and the forecast say what to do, in the cards' words; no empty axis.
        states = page.locator(".analytics-state", has_text=NO_DATA_TITLE)
        expect(states).to_have_count(5, timeout=LOAD_TIMEOUT_MS)
        expect(page.locator("#forecast-message")).to_contain_text(NO_DATA_TITLE)
        expect(page.locator(".analytics-graph:visible")).to_have_count(0)

        page.locator("#update-data-button").click()
        expect(page.locator("#toast-container .toast-success")).to_be_visible(timeout=LOAD_TIMEOUT_MS)
        dot = page.locator(".analytics-card-cycle_time .scatterlayer .point").first
        expect(dot).to_be_attached(timeout=LOAD_TIMEOUT_MS)
        page.locator(".analytics-card-cycle_time").scroll_into_view_if_needed()
        box = dot.bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        hover = page.locator(".hoverlayer .hovertext").first
        expect(hover).to_contain_text("Cycle time", timeout=10_000)
        key = re.search(r"DEMO-\d+", hover.text_content() or "").group(0)
        with page.context.expect_page(timeout=10_000) as opened:
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        assert opened.value.url == f"{jira.url}/browse/{key}"
        opened.value.close()


@pytest.fixture(scope="module")
def unmapped_app(tmp_path_factory: pytest.TempPathFactory, jira: JiraTestServer) -> Iterator[RunningApp]:
    """The Jira app with no WIP statuses set: ageing work in progress cannot be drawn."""
    data_dir = tmp_path_factory.mktemp("browser-analytics-unmapped-data")
    config = {**copy.deepcopy(DEMO_SETTINGS_OVERLAY), "last_updated": datetime.now(UTC).isoformat(),
              "wip_statuses": []}
    settings = {"version": 1, "jira": {"url": jira.url, "deployment": "cloud", "email": JIRA_EMAIL,
                                       "jql": "project = DEMO"}, "dora_flow_config": config}
    (data_dir / "app_settings.json").write_text(json.dumps(settings, indent=2), encoding="utf-8")
    app = start_app(data_dir, env={"JIRA_EMAIL": JIRA_EMAIL, "JIRA_API_TOKEN": JIRA_TOKEN})
    yield app
    stop_app(app)


def test_an_unmapped_chart_says_what_to_configure_and_opens_the_mappings(browser, unmapped_app: RunningApp) -> None:
    with watched_page(browser, unmapped_app) as page:
        page.goto(unmapped_app.url + "/analytics")
        page.locator("#update-data-button").click()
        expect(page.locator("#toast-container .toast-success")).to_be_visible(timeout=LOAD_TIMEOUT_MS)
        aging = page.locator(".analytics-card-aging_wip")
        expect(aging.locator(".analytics-state")).to_contain_text("Set the WIP statuses", timeout=LOAD_TIMEOUT_MS)
        expect(aging.locator(".analytics-graph")).to_be_hidden()  # a message, never an empty axis
        expect(aging.locator(".analytics-summary")).to_have_text("")
        aging.locator("button", has_text="Configure field mappings").click()
        expect(page.locator("#field-mapping-modal")).to_be_visible(timeout=LOAD_TIMEOUT_MS)
