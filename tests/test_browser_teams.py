"""Teams in a real Chromium on the demo data (whose issues carry a Team field): the navbar selector restricts the
cards to a team (the numbers equal the service's for that team), the team is in the URL so a reload keeps it,
the /teams table has one row per team plus "All teams", and clicking a row selects that team on the Dashboard."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote_plus

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import RunningApp, start_app, stop_app, watched_page
from ui.formatting import format_value_parts
from ui.metric_info import DORA_METRICS, FLOW_METRICS

pytestmark = pytest.mark.browser

LOAD_TIMEOUT_MS = 90_000


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    data_dir: Path = tmp_path_factory.mktemp("browser-teams-data")
    app = start_app(data_dir)
    yield app
    stop_app(app)


@pytest.fixture
def page(browser, demo_app: RunningApp) -> Iterator[Page]:
    with watched_page(browser, demo_app) as page:
        yield page


def _service(app: RunningApp, monkeypatch: pytest.MonkeyPatch) -> tuple[list[tuple[str, int]], dict[str, list[str]]]:
    """(team choices, each team's nine card numbers) as the services give them for the default 30-day period,
    read from the app's own data folder ("" = all teams)."""
    monkeypatch.setenv("DASHBOARD_DATA_DIR", str(app.data_dir))
    from data.metrics.period_selection import resolve_period
    from data.services.dashboard_service import dashboard_settings, metrics_for_period
    from data.services.team_service import team_choices

    now = datetime.now(UTC)
    period = resolve_period({"preset": "30"}, now.date())
    settings = dashboard_settings().settings
    choices = team_choices(settings)
    numbers: dict[str, list[str]] = {}
    for team in ["", *(name for name, _count in choices)]:
        metrics, _dataset = metrics_for_period(settings, period.start, period.end, now, team=team or None)
        # A card without a value (e.g. no incident in a team's period) shows a message instead of a number.
        numbers[team] = [format_value_parts(metrics[name].get("value"), str(metrics[name].get("unit") or ""))[0]
                         for name in (*DORA_METRICS, *FLOW_METRICS) if metrics[name].get("value") is not None]
    return choices, numbers


def _wait_for_cards(page: Page, expected: list[str]) -> None:
    expect(page.locator(".metric-card")).to_have_count(9, timeout=LOAD_TIMEOUT_MS)
    expect(page.locator(".metric-value")).to_have_text(expected, timeout=LOAD_TIMEOUT_MS)


def _choose_team(page: Page, name: str) -> None:
    """Pick ``name`` by keyboard (Dash 4's options wrap a disabled radio input Playwright will not click)."""
    page.locator("#team-selector").click()
    search = page.locator(".dash-dropdown-search")
    search.fill(name)
    expect(page.get_by_role("option")).to_have_count(1)
    search.press("ArrowDown")
    search.press("Enter")
    expect(page.get_by_role("listbox")).to_have_count(0)


def test_selector_restricts_the_cards_and_the_url_keeps_the_team(
        page: Page, demo_app: RunningApp, monkeypatch: pytest.MonkeyPatch) -> None:
    # The first load prepares the demo data; only then can the service be asked for the expected numbers.
    expect(page.locator(".metric-value")).to_have_count(9, timeout=LOAD_TIMEOUT_MS)
    choices, numbers = _service(demo_app, monkeypatch)
    assert len(choices) >= 3, choices
    _wait_for_cards(page, numbers[""])
    selector = page.locator("#team-selector")
    expect(selector).to_contain_text("All teams")
    # The team whose numbers differ most from all teams' makes the change visible on the page.
    team = max((name for name, _ in choices), key=lambda name: sum(
        a != b for a, b in zip(numbers[name], numbers[""], strict=False)))
    assert numbers[team] != numbers[""]
    count = dict(choices)[team]
    _choose_team(page, team)
    expect(selector).to_contain_text(f"{team} ({count} issue")
    expect(page).to_have_url(re.compile(re.escape(f"?team={quote_plus(team)}") + "$"))
    _wait_for_cards(page, numbers[team])
    page.reload()
    expect(page.locator("#team-selector")).to_contain_text(team, timeout=LOAD_TIMEOUT_MS)
    _wait_for_cards(page, numbers[team])
    _choose_team(page, "All teams")
    expect(page).to_have_url(demo_app.url + "/")
    _wait_for_cards(page, numbers[""])


def test_teams_table_lists_every_team_and_a_click_selects_it(
        page: Page, demo_app: RunningApp, monkeypatch: pytest.MonkeyPatch) -> None:
    expect(page.locator(".metric-value")).to_have_count(9, timeout=LOAD_TIMEOUT_MS)
    choices, numbers = _service(demo_app, monkeypatch)
    page.locator("#nav-teams-link").click()
    expect(page).to_have_url(demo_app.url + "/teams")
    expect(page.locator("#dashboard-view")).to_be_hidden()
    rows = page.locator("#teams-table tbody tr:has(td)")
    # One row per team plus "All teams", which comes first.
    expect(rows).to_have_count(len(choices) + 1, timeout=LOAD_TIMEOUT_MS)
    expect(rows.first.locator("td").first).to_have_text("All teams")
    # Every DORA tier is written out on its badge: the all-teams row shows as many badges as DORA metrics with
    # a tier on the cards (checked loosely: at least one).
    expect(rows.first.locator(".tier-badge").first).to_be_visible()
    # Sorting by team name (descending) keeps "All teams" first and puts the last name second.
    header = page.locator("#teams-table th", has_text="Team").first
    header.locator(".column-header--sort").click()
    header.locator(".column-header--sort").click()
    last = sorted((name for name, _ in choices), key=str.casefold)[-1]
    expect(rows.nth(1).locator("td").first).to_have_text(last)
    expect(rows.first.locator("td").first).to_have_text("All teams")
    rows.nth(1).locator("td").first.click()
    expect(page).to_have_url(demo_app.url + f"/?team={quote_plus(last)}")
    expect(page.locator("#dashboard-view")).to_be_visible()
    expect(page.locator("#teams-view")).to_be_hidden()
    expect(page.locator("#team-selector")).to_contain_text(last)
    _wait_for_cards(page, numbers[last])
