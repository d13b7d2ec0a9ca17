"""The drill-down and the Export menu in a real Chromium, demo mode (no settings file): the Deployment
Frequency drill-down lists exactly the deployments the rules select, and the metrics downloads are the
bytes ``cli.py metrics`` prints for the same issues, settings, period and calculation time.

One app process serves the whole module (its own data directory); every test gets a fresh browser context
and fails on any console error or uncaught page error. Expectations are computed in the test from the
issue cache the app wrote, never read back from the page.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from configuration.settings import merge_with_defaults
from data.services.dashboard_service import effective_settings
from data.store.issue_cache import load_cached_issues
from tests.conftest import PROJECT_ROOT, RunningApp, start_app, stop_app, watched_page
from ui import ids

pytestmark = pytest.mark.browser

EMPTY_VALUE = "—"
LOAD_TIMEOUT_MS = 60_000
DEPLOYMENT_DATE = "customfield_10100"
TARGET_ENVIRONMENT = "customfield_10101"
DRILLDOWN_FILENAME = re.compile(r"^deployment_frequency_issues_(\d{4}-\d{2}-\d{2})_(\d{4}-\d{2}-\d{2})\.csv$")
EXPORT_ITEMS = (("json", ids.Exports.METRICS_JSON), ("csv", ids.Exports.METRICS_CSV),
                ("prometheus", ids.Exports.METRICS_PROMETHEUS))


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    data_dir: Path = tmp_path_factory.mktemp("browser-drilldown-data")
    app = start_app(data_dir)
    yield app
    stop_app(app)


@pytest.fixture
def page(browser, demo_app: RunningApp) -> Iterator[Page]:
    with watched_page(browser, demo_app, accept_downloads=True) as page:
        values = page.locator(".metric-value")
        expect(values).to_have_count(9, timeout=LOAD_TIMEOUT_MS)
        for index in range(9):
            expect(values.nth(index)).not_to_have_text(EMPTY_VALUE, timeout=LOAD_TIMEOUT_MS)
        yield page


@pytest.fixture
def app_issues(demo_app: RunningApp, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The issues the app cached (read after the page showed its cards, so the demo data exists)."""
    monkeypatch.setenv("DASHBOARD_DATA_DIR", str(demo_app.data_dir))
    cached = load_cached_issues()
    assert cached is not None and cached.issues, "the app wrote no issue cache"
    return cached.issues


def _jira_utc_date(value: Any) -> date | None:
    """The UTC day of a Jira timestamp like ``2025-03-01T10:00:00.000+0530``; None when unparseable."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC).date()
    except ValueError:
        return None


def _expected_deployment_keys(issues: list[dict[str, Any]], start: date, end: date) -> set[str]:
    """METRICS.md deployment_frequency candidates, by hand: Deployment issues with a parseable Deployment Date
    whose UTC day is in [start, end], with environment Production or empty (the demo's settings)."""
    keys = set()
    for issue in issues:
        fields = issue["fields"]
        if (fields.get("issuetype") or {}).get("name") != "Deployment":
            continue
        day = _jira_utc_date(fields.get(DEPLOYMENT_DATE))
        environment = (fields.get(TARGET_ENVIRONMENT) or {}).get("value")
        if day is not None and start <= day <= end and environment in (None, "", "Production"):
            keys.add(issue["key"])
    return keys


def _pattern_id(component_id: dict[str, str]) -> str:
    """The DOM id Dash gives a pattern-matching component (its dict as compact JSON, keys sorted)."""
    return json.dumps(component_id, sort_keys=True, separators=(",", ":"))


def _download_text(page: Page, click_target: str) -> tuple[str, str]:
    """(suggested file name, UTF-8 text) of the download a click on ``click_target`` starts."""
    with page.expect_download(timeout=LOAD_TIMEOUT_MS) as info:
        page.locator(click_target).click()
    download = info.value
    path = download.path()
    return download.suggested_filename, Path(path).read_bytes().decode("utf-8")


def test_the_deployment_frequency_drilldown_lists_the_deployments_of_the_period(
        page: Page, app_issues: list[dict[str, Any]]) -> None:
    button = page.locator(f"[id='{_pattern_id(ids.drilldown_button('deployment_frequency'))}']")
    button.click()
    modal = page.locator(f"#{ids.Drilldown.MODAL}")
    expect(modal).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    expect(page.locator(f"#{ids.Drilldown.TITLE}")).to_contain_text("Deployment Frequency", timeout=LOAD_TIMEOUT_MS)
    table_keys = page.locator(f"#{ids.Drilldown.TABLE} td[data-dash-column='key']")
    expect(table_keys.first).to_be_visible(timeout=LOAD_TIMEOUT_MS)

    filename, text = _download_text(page, f"#{ids.Drilldown.DOWNLOAD_BUTTON}")
    # The file name carries the period the drill-down used; the default preset is the last 30 days ending
    # today (UTC), both ends included. Read "today" around the click so a run across midnight cannot fail.
    match = DRILLDOWN_FILENAME.match(filename)
    assert match, filename
    start, end = date.fromisoformat(match[1]), date.fromisoformat(match[2])
    assert end in {datetime.now(UTC).date(), datetime.now(UTC).date() - timedelta(days=1)}
    assert (end - start).days == 29

    rows = list(csv.DictReader(io.StringIO(text)))
    shown = [row["key"] for row in rows]
    expected = _expected_deployment_keys(app_issues, start, end)
    assert expected, "the demo data should hold deployments in the last 30 days"
    assert len(shown) == len(set(shown))
    assert set(shown) == expected
    # The table's first page shows the same keys (demo mode: plain keys, no links).
    on_screen = set(table_keys.all_inner_texts())
    assert on_screen and on_screen <= expected
    assert len(on_screen) == min(len(expected), 25)  # ui.drilldown.PAGE_SIZE rows per page


def _run_cli(args: list[str], data_dir: Path) -> bytes:
    result = subprocess.run([sys.executable, str(PROJECT_ROOT / "cli.py"), *args], cwd=PROJECT_ROOT,
                            env={**os.environ, "DASHBOARD_DATA_DIR": str(data_dir)}, capture_output=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr.decode("utf-8", errors="replace")
    return result.stdout


def _open_export_menu(page: Page) -> None:
    page.locator(f"#{ids.Exports.MENU}").click()
    expect(page.locator(f"#{ids.Exports.METRICS_JSON}")).to_be_visible()


def test_the_metrics_downloads_equal_the_cli_output(page: Page, app_issues: list[dict[str, Any]],
                                                    demo_app: RunningApp, tmp_path: Path) -> None:
    downloads: dict[str, str] = {}
    for fmt, item in EXPORT_ITEMS:
        _open_export_menu(page)
        _, downloads[fmt] = _download_text(page, f"#{item}")
    document = json.loads(downloads["json"])
    calculated_at = document["generated_at"]
    assert calculated_at == document["metrics"]["deployment_frequency"]["calculation_timestamp"]

    issues_file, settings_file = tmp_path / "issues.json", tmp_path / "settings.json"
    issues_file.write_text(json.dumps({"issues": app_issues}), encoding="utf-8")
    settings_file.write_text(json.dumps(effective_settings(merge_with_defaults({}))), encoding="utf-8")
    arguments = ["metrics", "--issues", str(issues_file), "--settings", str(settings_file),
                 "--start", document["period"]["start"], "--end", document["period"]["end"], "--now", calculated_at]
    # The CLI reads the stored Flow Load snapshots from the app's data directory: the app recorded this week's
    # snapshot before calculating the cards, so both saw the same store and the bytes must be identical.
    for fmt, _ in EXPORT_ITEMS:
        printed = _run_cli([*arguments, "--format", fmt], demo_app.data_dir)
        assert downloads[fmt].encode("utf-8") == printed, fmt
    assert document["metrics"]["flow_load"]["details"]["week_labels"][-1] not in \
        document["metrics"]["flow_load"]["details"]["reconstructed_weeks"]  # this week is a recorded snapshot


AS_OF_TEXT = re.compile(r"as of (\d{4}-\d{2}-\d{2} \d{2}:\d{2}) UTC")


def test_the_flow_load_drilldown_shows_each_items_age_and_explains_it(page: Page) -> None:
    page.locator(f"[id='{_pattern_id(ids.drilldown_button('flow_load'))}']").click()
    expect(page.locator(f"#{ids.Drilldown.TITLE}")).to_contain_text("Flow Load", timeout=LOAD_TIMEOUT_MS)
    table = page.locator(f"#{ids.Drilldown.TABLE}")
    expect(table.locator("td[data-dash-column='age_days']").first).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    header = table.locator("th[data-dash-column='age_days']").filter(has_text="Age (days)")
    expect(header).to_be_visible()
    header.hover()
    tooltip = page.locator(".dash-tooltip")
    expect(tooltip).to_be_visible()
    expect(tooltip).to_contain_text("first move into a WIP status")

    # Every age is as_of − started_at in days. The summary gives as_of to the minute (the period is running,
    # so as_of is the calculation time), so each full-precision age in the CSV is within a minute of it.
    match = AS_OF_TEXT.search(page.locator(f"#{ids.Drilldown.SUMMARY}").inner_text())
    assert match, "the Flow Load summary names its as_of moment"
    as_of = datetime.strptime(match[1], "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    _, text = _download_text(page, f"#{ids.Drilldown.DOWNLOAD_BUTTON}")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows, "the demo always has work in progress"
    minute = 1 / (24 * 60)
    for row in rows:
        if not row["started_at"]:  # no known start: no age
            assert row["age_days"] == "", row
            continue
        started = datetime.strptime(row["started_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        expected = (as_of - started).total_seconds() / 86400
        assert float(row["age_days"]) >= 0 and abs(float(row["age_days"]) - expected) <= minute, row
