"""The dashboard in a real Chromium, served by gunicorn with two worker processes (``app:server``).

On the demo data: the page loads with its nine values, Update Data runs to its end, a period switch redraws the
cards, and the page's requests were answered by both workers (gunicorn's access log names the worker of each
request). Against the test Jira server: Cancel ends the update's process, whichever worker the Cancel reaches.
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest
from playwright.sync_api import expect

from data.sources.demo_data import generate_demo_issues
from data.sources.demo_fields import DEMO_FIELDS, DEMO_SETTINGS_OVERLAY
from tests.conftest import expect_nine_values, watched_page
from tests.jira_server.app import JiraTestServer
from tests.test_gunicorn import ACCESS_LINE, EMAIL, TOKEN, GunicornApp, start_gunicorn, stop_gunicorn
from ui import ids

pytestmark = pytest.mark.browser
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GunicornApp]:
    app = start_gunicorn(tmp_path_factory.mktemp("browser-gunicorn-data"))
    yield app
    stop_gunicorn(app)


def _workers_that_answered(access_path: Path) -> set[int]:
    lines = access_path.read_text(errors="replace").splitlines()
    return {int(match["pid"]) for line in lines if (match := ACCESS_LINE.match(line.strip()))}


def _choose_preset(page, label: str) -> None:
    page.locator("#period-preset label", has_text=re.compile(f"^{label}$")).click()


def test_the_dashboard_works_in_a_browser_against_two_gunicorn_workers(browser, demo_app: GunicornApp) -> None:
    with watched_page(browser, demo_app) as page:
        expect(page).to_have_title("DORA & Flow Metrics")
        expect_nine_values(page)

        page.locator(f"#{ids.Navbar.UPDATE_BUTTON}").click()
        success = page.locator("#toast-container .toast-success")
        expect(success).to_be_visible(timeout=TIMEOUT_MS)
        expect(success).to_contain_text("Data updated")
        expect(page.locator(f"#{ids.UpdateProgress.AREA}")).to_be_hidden()
        expect(page.locator(f"#{ids.Navbar.UPDATE_BUTTON}")).to_be_enabled()
        page.wait_for_load_state("networkidle")  # the cards redrawn for the updated data
        thirty_days = expect_nine_values(page)
        dates = page.locator("#period-dates")
        thirty_days_dates = dates.inner_text()

        # 90 days shows other dates and other values; back on 30 days the values are the 30-day ones again.
        values = page.locator(".metric-value")
        _choose_preset(page, "90 days")
        expect(dates).not_to_have_text(thirty_days_dates, timeout=TIMEOUT_MS)
        expect(values).not_to_have_text(thirty_days, timeout=TIMEOUT_MS)
        expect_nine_values(page)
        _choose_preset(page, "30 days")
        expect(dates).to_have_text(thirty_days_dates, timeout=TIMEOUT_MS)
        expect(values).to_have_text(thirty_days, timeout=TIMEOUT_MS)

    assert _workers_that_answered(demo_app.access_path) == demo_app.worker_pids()


@pytest.fixture(scope="module")
def jira() -> Iterator[JiraTestServer]:
    anchor = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    server = JiraTestServer(generate_demo_issues(300, anchor=anchor, seed=11), email=EMAIL, api_token=TOKEN,
                            fields=DEMO_FIELDS)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def jira_app(tmp_path_factory: pytest.TempPathFactory, jira: JiraTestServer) -> Iterator[GunicornApp]:
    data_dir = tmp_path_factory.mktemp("browser-gunicorn-jira-data")
    settings = {"version": 1, "jira": {"url": jira.url, "deployment": "cloud", "email": EMAIL, "jql": "project = DEMO"},
                "dora_flow_config": copy.deepcopy(DEMO_SETTINGS_OVERLAY)}
    (data_dir / "app_settings.json").write_text(json.dumps(settings, indent=2), encoding="utf-8")
    app = start_gunicorn(data_dir, env={"JIRA_EMAIL": EMAIL, "JIRA_API_TOKEN": TOKEN})
    yield app
    stop_gunicorn(app)


def _update_jobs(app: GunicornApp) -> list[psutil.Process]:
    """The processes Update Data runs in: children of the workers (Dash starts one per job)."""
    return [job for pid in app.worker_pids() for job in psutil.Process(pid).children()]


def _ended(job: psutil.Process) -> bool:
    """Gone, or a zombie (killed, not yet reaped by the worker that started it)."""
    try:
        return job.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_cancel_ends_the_update_job_whichever_worker_answers(browser, jira: JiraTestServer,
                                                            jira_app: GunicornApp) -> None:
    jira.inject(None, count=1, path_prefix="/rest/api/", delay=20.0)  # the update waits on its first answer
    with watched_page(browser, jira_app) as page:
        expect(page.locator("#no-data-state")).to_be_visible(timeout=TIMEOUT_MS)
        page.locator(f"#{ids.Navbar.UPDATE_BUTTON}").click()
        cancel = page.locator(f"#{ids.Navbar.CANCEL_BUTTON}")
        expect(cancel).to_be_visible(timeout=TIMEOUT_MS)
        # the button shows as soon as the request is sent; the worker starts the job's process just after
        deadline = time.monotonic() + 30
        while not (jobs := _update_jobs(jira_app)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(jobs) == 1, jobs
        cancel.click()
        expect(page.locator("#toast-container").get_by_text("Update cancelled")).to_be_visible(timeout=TIMEOUT_MS)
        expect(cancel).to_be_hidden(timeout=TIMEOUT_MS)
        expect(page.locator(f"#{ids.Navbar.UPDATE_BUTTON}")).to_be_enabled()
        deadline = time.monotonic() + 10
        while not all(_ended(job) for job in jobs) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert all(_ended(job) for job in jobs), "the update's process still runs after Cancel"
    assert not (jira_app.data_dir / "cache" / "fetch_meta.json").exists()  # nothing was written
