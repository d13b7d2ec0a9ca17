"""The dashboard under gunicorn with two worker processes (``app:server``), against the test Jira server.

Which worker answers a request is the kernel's choice, so the tests never aim at a worker: every request carries
an ``X-Probe`` header that gunicorn's access log writes next to the pid of the worker that answered
(``--access-logformat``), and a test sends requests concurrently until both workers have answered. Nothing in
the product tells a worker apart; only gunicorn's own log does.

Update Data is a Dash background callback: the first POST starts a job (a child process of the worker that
answered) and returns signed handles; the page then polls with the same POST plus ``cacheKey`` and ``job``
until the result arrives. Here the polls land on either worker, which only works when every worker shares the
job store (``cache/callbacks`` in the data directory) and its signing secret.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

from data.sources.demo_data import generate_demo_issues
from data.sources.demo_fields import DEMO_FIELDS, DEMO_SETTINGS_OVERLAY
from tests.conftest import PROJECT_ROOT, free_port, wait_for_http
from tests.jira_server.app import JiraTestServer
from tests.jira_server.builders import jira_time

EMAIL = "gunicorn@example.com"
TOKEN = "gunicorn-test-token-7340"
WORKERS = 2
ACCESS_FORMAT = "%(p)s %({x-probe}i)s %(s)s %(m)s %(U)s"
ACCESS_LINE = re.compile(r"^<(?P<pid>\d+)> (?P<probe>\S+) (?P<status>\d{3}) (?P<method>[A-Z]+) (?P<path>\S+)$")
FIRST_ISSUES, ADDED_ISSUES = 300, 60
SLOW_ANSWERS, SLOW_SECONDS = 6, 1.5  # the slowed update's first six Jira answers take 1.5 s each: about 9 s
_probes = count(1)


# ---------------------------------------------------------------- gunicorn as a subprocess


@dataclass
class GunicornApp:
    process: subprocess.Popen
    url: str
    data_dir: Path
    output_path: Path
    access_path: Path

    def output(self) -> str:
        return self.output_path.read_text(errors="replace") if self.output_path.exists() else ""

    def worker_pids(self) -> set[int]:
        """The pids of the worker processes (the children of gunicorn's master)."""
        return {child.pid for child in psutil.Process(self.process.pid).children()}

    def answered_by(self, probe: str, timeout: float = 10.0) -> tuple[int, int]:
        """(pid, status) of the worker that answered the request sent with ``X-Probe: probe``.

        gunicorn writes the access line just after the response, so it may lag the client a moment."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.access_path.read_text(errors="replace").splitlines():
                match = ACCESS_LINE.match(line.strip())
                if match and match["probe"] == probe:
                    return int(match["pid"]), int(match["status"])
            if time.monotonic() > deadline:
                raise AssertionError(f"no access log line for probe {probe}:\n{self.access_path.read_text()[-2000:]}")
            time.sleep(0.05)


def start_gunicorn(data_dir: Path, *, workers: int = WORKERS, env: dict[str, str] | None = None,
                   timeout: float = 90.0) -> GunicornApp:
    """``gunicorn -w <workers> --bind 127.0.0.1:<free port> app:server`` with ``data_dir`` as the data directory."""
    port = free_port()
    output_path, access_path = data_dir / "gunicorn-output.txt", data_dir / "gunicorn-access.txt"
    access_path.touch()
    command = [sys.executable, "-m", "gunicorn", "-w", str(workers), "--bind", f"127.0.0.1:{port}",
               "--no-control-socket", "--access-logfile", str(access_path), "--access-logformat", ACCESS_FORMAT,
               "app:server"]
    full_env = {**os.environ, "DASHBOARD_DATA_DIR": str(data_dir), **(env or {})}
    with output_path.open("wb") as output:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=full_env, stdout=output, stderr=subprocess.STDOUT)
    app = GunicornApp(process, f"http://127.0.0.1:{port}", data_dir, output_path, access_path)
    try:
        wait_for_http(app.url + "/_dash-layout", timeout=timeout, process=process)
        deadline = time.monotonic() + timeout
        while len(app.worker_pids()) < workers and time.monotonic() < deadline:
            time.sleep(0.1)
    except Exception:
        process.kill()
        raise RuntimeError(f"gunicorn did not start:\n{output_path.read_text(errors='replace')}") from None
    return app


def stop_gunicorn(app: GunicornApp) -> None:
    app.process.terminate()  # gunicorn's master stops its workers on SIGTERM
    try:
        app.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        app.process.kill()


# ---------------------------------------------------------------- requests as the page sends them


def probe_name(label: str) -> str:
    return f"{label}-{next(_probes)}"


def send(app: GunicornApp, method: str, path: str, probe: str, **kwargs: Any) -> requests.Response:
    headers = {"X-Probe": probe, **kwargs.pop("headers", {})}
    return requests.request(method, app.url + path, headers=headers, timeout=60, **kwargs)


def on_every_worker(app: GunicornApp, label: str, call: Callable[[str], Any], *, per_round: int = 6,
                    rounds: int = 20) -> dict[int, list[Any]]:
    """Run ``call(probe)`` ``per_round`` times at once, round after round, until every worker has answered at
    least once; {worker pid: the results of the calls it answered}."""
    by_worker: dict[int, list[Any]] = {}
    workers = app.worker_pids()
    for _ in range(rounds):
        probes = [probe_name(label) for _ in range(per_round)]
        with ThreadPoolExecutor(per_round) as pool:
            results = list(pool.map(call, probes))
        for probe, result in zip(probes, results, strict=True):
            by_worker.setdefault(app.answered_by(probe)[0], []).append(result)
        if workers <= set(by_worker):
            return by_worker
    raise AssertionError(f"only workers {sorted(by_worker)} of {sorted(workers)} answered {label} requests")


def callback_body(outputs: Iterable[tuple[str, str]], inputs: Iterable[tuple[str, str, Any]],
                  state: Iterable[tuple[str, str, Any]] = (), changed: str | None = None) -> dict[str, Any]:
    """A multi-output ``/_dash-update-component`` body in the shape Dash's renderer sends (a value left out
    when it is None, as the renderer does)."""
    def prop(component: str, name: str, value: Any) -> dict[str, Any]:
        return {"id": component, "property": name, **({} if value is None else {"value": value})}

    outputs = list(outputs)
    return {"output": ".." + "...".join(f"{component}.{name}" for component, name in outputs) + "..",
            "outputs": [{"id": component, "property": name} for component, name in outputs],
            "inputs": [prop(*entry) for entry in inputs], "state": [prop(*entry) for entry in state],
            "changedPropIds": [changed] if changed else []}


def update_body(tab_id: str) -> dict[str, Any]:
    return callback_body([("data-version-store", "data"), ("toast-container", "children")],
                         [("update-data-button", "n_clicks", 1)], [("tab-id-store", "data", tab_id)],
                         changed="update-data-button.n_clicks")


METRICS_BODY = callback_body(
    [("dora-card-row", "children"), ("flow-card-row", "children"), ("navbar-last-updated", "children"),
     ("navbar-data-source", "children"), ("demo-banner", "is_open")],
    [("period-store", "data", {"preset": "30", "start": None, "end": None}), ("data-version-store", "data", None),
     ("settings-version-store", "data", None), ("team-selector", "value", "")],
    changed="period-store.data")

TEAMS_BODY = callback_body(
    [("team-selector", "options"), ("team-selector", "value"), ("team-selector", "disabled"),
     ("team-selector-hint", "title"), ("team-selector-hint", "style"), ("page-location", "search")],
    [("page-location", "search", ""), ("team-selector", "value", ""), ("data-version-store", "data", None),
     ("settings-version-store", "data", None)])


@dataclass
class BackgroundRun:
    """One Update Data job as the page runs it: who started it, who answered each poll, its final answer."""

    started_by: int
    polled_by: list[int]
    response: dict[str, Any]


def run_update(app: GunicornApp, tab_id: str, *, interval: float = 0.2, timeout: float = 120.0) -> BackgroundRun:
    """Start Update Data for the tab ``tab_id`` and poll until its result, as the page does."""
    body = update_body(tab_id)
    probe = probe_name(f"update-{tab_id}")
    started = send(app, "POST", "/_dash-update-component", probe, json=body)
    assert started.status_code == 200, started.text
    handles = started.json()
    assert {"cacheKey", "job"} <= set(handles), handles
    polled_by: list[int] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(interval)
        probe_poll = probe_name(f"poll-{tab_id}")
        poll = send(app, "POST", "/_dash-update-component", probe_poll, json=body,
                    params={"cacheKey": handles["cacheKey"], "job": handles["job"]})
        # 204 (no update) would end the job in the page without its result: what a worker answers when it
        # cannot read the job's handles or store.
        assert poll.status_code == 200, f"poll answered {poll.status_code} by worker {app.answered_by(probe_poll)}"
        polled_by.append(app.answered_by(probe_poll)[0])
        answer = poll.json()
        if "response" in answer:
            return BackgroundRun(app.answered_by(probe)[0], polled_by, answer["response"])
    raise AssertionError(f"the update of tab {tab_id} did not finish within {timeout} s:\n{app.output()[-3000:]}")


def toast_texts(response: dict[str, Any]) -> str:
    """The text of the toasts a background answer appends (a Dash ``Patch`` of the toast container)."""
    return json.dumps(response.get("toast-container", {}).get("children"))


def fetch_meta(app: GunicornApp) -> dict[str, Any]:
    return json.loads((app.data_dir / "cache" / "fetch_meta.json").read_text(encoding="utf-8"))


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def demo_issues() -> list[dict]:
    anchor = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return generate_demo_issues(FIRST_ISSUES + ADDED_ISSUES, anchor=anchor, seed=11)


@pytest.fixture(scope="module")
def jira(demo_issues: list[dict]) -> Iterator[JiraTestServer]:
    server = JiraTestServer(demo_issues[:FIRST_ISSUES], email=EMAIL, api_token=TOKEN, fields=DEMO_FIELDS)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, jira: JiraTestServer) -> Iterator[GunicornApp]:
    data_dir = tmp_path_factory.mktemp("gunicorn-data")
    config = {**copy.deepcopy(DEMO_SETTINGS_OVERLAY), "last_updated": datetime.now(UTC).isoformat()}
    settings = {"version": 1, "jira": {"url": jira.url, "deployment": "cloud", "email": EMAIL, "jql": "project = DEMO"},
                "dora_flow_config": config}
    (data_dir / "app_settings.json").write_text(json.dumps(settings, indent=2), encoding="utf-8")
    app = start_gunicorn(data_dir, env={"JIRA_EMAIL": EMAIL, "JIRA_API_TOKEN": TOKEN})
    yield app
    stop_gunicorn(app)


# ---------------------------------------------------------------- tests


def test_app_module_builds_nothing_until_server_is_read(isolated_data_dir: Path) -> None:
    """gunicorn imports ``app`` and reads ``server``; a plain import (tests, benchmarks) builds no app."""
    code = ("import app, sys; assert app._wsgi_server is None; server = app.server; "
            "assert app.server is server; print(type(server).__name__, server.debug)")
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True,
                            timeout=120, env={**os.environ})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Flask False"  # debug off


def test_the_page_is_served_by_both_workers(served: GunicornApp) -> None:
    assert len(served.worker_pids()) == WORKERS
    pages = on_every_worker(served, "page", lambda probe: send(served, "GET", "/", probe))
    layouts = on_every_worker(served, "layout", lambda probe: send(served, "GET", "/_dash-layout", probe))
    for answers in [*pages.values(), *layouts.values()]:
        assert all(answer.status_code == 200 for answer in answers)
    assert all("<title>DORA & Flow Metrics</title>" in answer.text for answers in pages.values() for answer in answers)
    assert set(pages) == set(layouts) == served.worker_pids()


def test_a_foreign_host_and_a_foreign_origin_are_refused_by_every_worker(served: GunicornApp) -> None:
    hosts = on_every_worker(served, "host", lambda probe: send(served, "GET", "/", probe,
                                                                headers={"Host": "rebound.example.com"}))
    origins = on_every_worker(served, "origin", lambda probe: send(
        served, "POST", "/_dash-update-component", probe, json=METRICS_BODY,
        headers={"Origin": "http://attacker.example.com"}))
    assert {answer.status_code for answers in hosts.values() for answer in answers} == {400}
    assert {answer.status_code for answers in origins.values() for answer in answers} == {403}
    assert "does not answer to the host name 'rebound.example.com'" in next(iter(hosts.values()))[0].text


def test_the_public_name_of_a_reverse_proxy_is_answered_when_listed(tmp_path: Path) -> None:
    """docs/serving.md: behind a proxy, ``DASHBOARD_ALLOWED_HOSTS`` names the public name; the proxy may pass the
    browser's Host on or rewrite it to the loopback address, and the browser's Origin is the public https one."""
    app = start_gunicorn(tmp_path, env={"DASHBOARD_ALLOWED_HOSTS": "dash.example.com"})
    try:
        loopback = app.url.removeprefix("http://")
        public = {"Host": "dash.example.com", "Origin": "https://dash.example.com"}
        rewritten = {"Host": loopback, "Origin": "https://dash.example.com"}
        foreign = {"Host": loopback, "Origin": "https://other.example.com"}
        answers = {name: send(app, "POST", "/_dash-update-component", probe_name(name), json=METRICS_BODY,
                              headers=headers).status_code
                   for name, headers in [("public", public), ("rewritten", rewritten), ("foreign", foreign)]}
        page = send(app, "GET", "/", probe_name("public-page"), headers={"Host": "dash.example.com"})
        other_name = send(app, "GET", "/", probe_name("other-page"), headers={"Host": "other.example.com"})
    finally:
        stop_gunicorn(app)
    assert answers == {"public": 200, "rewritten": 200, "foreign": 403}
    assert (page.status_code, other_name.status_code) == (200, 400)


def test_bad_allowed_hosts_stop_gunicorn_with_one_line(tmp_path: Path) -> None:
    """gunicorn.conf.py checks the list in the master, before any worker starts."""
    command = [sys.executable, "-m", "gunicorn", "-w", "2", "--bind", f"127.0.0.1:{free_port()}",
               "--no-control-socket", "app:server"]
    env = {**os.environ, "DASHBOARD_DATA_DIR": str(tmp_path), "DASHBOARD_ALLOWED_HOSTS": "https://x.example.com/"}
    result = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert ("Could not start the dashboard: DASHBOARD_ALLOWED_HOSTS entry 'https://x.example.com/' is not a host "
            "name") in result.stderr
    assert "Traceback" not in result.stderr and "Booting worker" not in result.stderr


def test_a_worker_given_bad_allowed_hosts_ends_with_one_line(tmp_path: Path) -> None:
    """Without gunicorn.conf.py's check (gunicorn started elsewhere), each worker refuses on its own: one line and
    gunicorn's "application failed to load" status, which stops gunicorn instead of restarting the worker."""
    env = {**os.environ, "DASHBOARD_DATA_DIR": str(tmp_path), "DASHBOARD_ALLOWED_HOSTS": "a.example.com,:80"}
    result = subprocess.run([sys.executable, "-c", "import app; app.server"], cwd=PROJECT_ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 4
    assert result.stderr.strip() == ("Could not start the dashboard: DASHBOARD_ALLOWED_HOSTS entry ':80' is not a "
                                     "host name: list bare names or addresses separated by commas, such as "
                                     "dash.example.com,192.168.1.20")


def test_a_worker_that_cannot_build_the_app_ends_with_one_line(tmp_path: Path) -> None:
    """A data directory where the background-job store cannot be made (here a file named ``cache``; a full disk
    does the same): one line and the "application failed to load" status, never a traceback per worker."""
    (tmp_path / "cache").write_text("not a folder")
    env = {**os.environ, "DASHBOARD_DATA_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", "import app; app.server"], cwd=PROJECT_ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 4
    assert result.stderr.strip().splitlines()[-1].startswith("Could not start the dashboard: ")
    assert "Traceback" not in result.stderr


def test_update_runs_once_across_workers_and_every_worker_sees_each_new_version(
        served: GunicornApp, jira: JiraTestServer, demo_issues: list[dict]) -> None:
    # Before any update: no data on any worker.
    empty = on_every_worker(served, "metrics-empty", lambda probe: send(
        served, "POST", "/_dash-update-component", probe, json=METRICS_BODY).json())
    assert all("No data yet" in json.dumps(answer) for answers in empty.values() for answer in answers)

    # A slowed first update; meanwhile other tabs ask too, until one of them reaches the other worker.
    jira.inject(None, count=SLOW_ANSWERS, path_prefix="/rest/api/", delay=SLOW_SECONDS)
    first: dict[str, BackgroundRun] = {}
    runner = threading.Thread(target=lambda: first.setdefault("run", run_update(served, "tab-first")))
    runner.start()
    started_by = _wait_for_start(served, "update-tab-first")
    refused = _update_from_the_other_worker(served, started_by)
    assert "An update is already running" in toast_texts(refused.response)
    assert "data-version-store" not in refused.response  # the refused tab changes no data
    runner.join(timeout=180)
    run = first["run"]
    assert "Data updated" in toast_texts(run.response) and "300 new" in toast_texts(run.response)
    first_version = fetch_meta(served)["data_version"]
    assert run.response["data-version-store"]["data"] == first_version
    assert set(run.polled_by) == served.worker_pids(), "the job's polls were answered by one worker only"

    # Every worker now shows the data: the same cards everywhere, and the team selector counts 300 issues
    # (the demo gives every issue one team or none, so the teams' counts add up to the issues fetched).
    cards_first = _same_on_every_worker(served, "metrics-first", METRICS_BODY)
    assert "No data yet" not in cards_first
    assert _issues_in_team_options(_same_on_every_worker(served, "teams-first", TEAMS_BODY)) == FIRST_ISSUES

    # Jira gets 60 more issues (updated now, so an incremental update fetches them); one more update.
    now = datetime.now(UTC)
    for issue in demo_issues[FIRST_ISSUES:]:
        jira.add_issue({**issue, "fields": {**issue["fields"], "updated": jira_time(now)}})
    second = run_update(served, "tab-second")
    assert "60 new" in toast_texts(second.response)
    second_version = fetch_meta(served)["data_version"]
    assert second_version != first_version
    assert second.response["data-version-store"]["data"] == second_version

    # No restart: every worker answers from the new version (the teams count 360) with the same cards.
    cards_second = _same_on_every_worker(served, "metrics-second", METRICS_BODY)
    teams_second = _same_on_every_worker(served, "teams-second", TEAMS_BODY)
    assert _issues_in_team_options(teams_second) == FIRST_ISSUES + ADDED_ISSUES
    assert cards_second != cards_first


def _issues_in_team_options(answer: str) -> int:
    """The issues counted by the team selector's options ("Growth (56 issues)"), added up over the teams."""
    options = json.loads(answer)["response"]["team-selector"]["options"]
    return sum(int(match[1]) for option in options if (match := re.search(r"\((\d+) issues?\)$", option["label"])))


def _wait_for_start(app: GunicornApp, probe_prefix: str, timeout: float = 30.0) -> int:
    """The pid of the worker that answered the first request whose probe starts with ``probe_prefix``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in app.access_path.read_text(errors="replace").splitlines():
            match = ACCESS_LINE.match(line.strip())
            if match and match["probe"].startswith(probe_prefix + "-"):
                return int(match["pid"])
        time.sleep(0.05)
    raise AssertionError(f"no request {probe_prefix} in the access log")


def _update_from_the_other_worker(app: GunicornApp, busy_worker: int) -> BackgroundRun:
    """Update Data from new tabs, several at once, until one was started by a worker other than ``busy_worker``."""
    tabs = count(1)
    for _ in range(10):
        names = [f"tab-other-{next(tabs)}" for _ in range(4)]
        with ThreadPoolExecutor(len(names)) as pool:
            runs = list(pool.map(lambda name: run_update(app, name), names))
        for candidate in runs:
            if candidate.started_by != busy_worker:
                return candidate
    raise AssertionError("no update request reached the second worker")


def _same_on_every_worker(app: GunicornApp, label: str, body: dict[str, Any]) -> str:
    """The callback's answer, checked to be the same from every worker (as JSON text)."""
    answers = on_every_worker(app, label, lambda probe: send(app, "POST", "/_dash-update-component", probe,
                                                             json=body).text)
    texts = {text for texts in answers.values() for text in texts}
    assert len(texts) == 1, f"the workers answered differently: {[text[:300] for text in texts]}"
    return texts.pop()
