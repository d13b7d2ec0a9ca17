"""The dashboard served by gunicorn with several workers: memory per worker, and many users switching periods.

A demo-mode data directory holding the dataset is prepared once per size and day (the demo anchored at today
00:00 UTC, as the dashboard's own demo is, so the presets 7 / 30 / 90 days cover the data), then copied for
the run. ``gunicorn -w <workers> app:server`` serves it (sync workers, no ``--preload``, as docs/serving.md
recommends); every request carries an ``X-Probe`` header that gunicorn's access log writes next to the pid of
the worker that answered, so the script knows when every worker has answered.

Memory, per worker, as PSS (``memory_full_info().pss``: shared pages divided among the processes sharing
them; USS and RSS beside it). *No data*: the median worker of a gunicorn serving a data directory without
any issues (a Jira configured, nothing fetched), after every worker has served the page and its layout;
each worker loads the issue tables as it starts (in the background), so a worker of the real directory
is never without data. *Data loaded*: each worker after it has answered the metric cards of the default
period. *Beyond* is the difference. Measured at a *first start* on the prepared directory and again at a
*restart* on the same directory, with whatever the first start left there (cached tables).

Users: the requests a real Chromium sends when the period preset is clicked are recorded once (Playwright,
``/usr/bin/chromium``): the period callback, then the callbacks that depend on the period. Each of ``--users``
threads then replays, after the restart, ``--switches`` switches (7 → 90 → 30 days, ...), each as the
browser sends it: the period callback, then its dependants at once. A switch's latency runs from its first
request to its last answer. Every worker has loaded the data first; the metrics cache (``metrics_cache.json``,
shared by the workers) is warm after the first switch to each period, as it is for a team using the dashboard.

Targets (issue 14): PSS beyond a worker with no data <= 200 MB.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any

import psutil
import requests
from _common import (
    CHANGES_PER_ISSUE,
    PROJECT_ROOT,
    SEED,
    BenchmarkError,
    emit_result,
    mb,
    median,
    parse_args,
    print_table,
    run_worker,
    worker_args_of,
    write_results,
)

SCRIPT = Path(__file__).resolve()
CHROMIUM = Path("/usr/bin/chromium")
BEYOND_TARGET_MB = 200
PRESETS = ("7", "90", "30")
ACCESS_FORMAT = "%(p)s %({x-probe}i)s %(s)s"
_probes = count(1)


def worker_prepare(job: dict[str, Any]) -> dict[str, Any]:
    """Write the issue cache of a demo-mode data directory (run with DASHBOARD_DATA_DIR set)."""
    from configuration.settings import load_app_settings_or_defaults
    from data.metrics.field_values import utc_iso
    from data.services.dashboard_service import effective_settings
    from data.sources.demo_data import generate_demo_issues
    from data.store.issue_cache import cache_config_hash, cache_identity, required_fields, save_cached_issues

    anchor = datetime.fromisoformat(job["anchor"])
    settings = effective_settings(load_app_settings_or_defaults()[0])
    fields = required_fields(settings)
    stamp = utc_iso(anchor)
    meta = {**cache_identity(settings, demo=True), "fields": fields,
            "config_hash": cache_config_hash(settings, fields, demo=True), "last_successful_fetch": stamp,
            "last_full_fetch": stamp, "last_reconcile": stamp, "demo_anchor": stamp}
    issues = generate_demo_issues(job["size"], anchor=anchor, seed=SEED, changes_per_issue=CHANGES_PER_ISSUE)
    return {"issue_count": save_cached_issues(issues, meta)["issue_count"]}


WORKERS = {"prepare": worker_prepare}


def prepared_dir(size: int, results_dir: Path) -> Path:
    anchor = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    folder = results_dir / f"serving-data-{size}-{anchor:%Y%m%d}"
    if not (folder / "cache" / "fetch_meta.json").exists():
        shutil.rmtree(folder, ignore_errors=True)
        print(f"preparing a data directory with {size:,} demo issues -> {folder.name}", flush=True)
        job = {"size": size, "anchor": anchor.isoformat()}
        run_worker(SCRIPT, "prepare", job, env_overrides={"DASHBOARD_DATA_DIR": str(folder)}).result()
    return folder


# ---------------------------------------------------------------- gunicorn


class Served:
    """gunicorn serving one data directory, with the access log that names the worker of each request."""

    def __init__(self, data_dir: Path, workers: int) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.access = data_dir / "gunicorn-access.txt"
        self.access.touch()
        self.output = data_dir / "gunicorn-output.txt"
        command = [sys.executable, "-m", "gunicorn", "-w", str(workers), "--bind", f"127.0.0.1:{port}",
                   "--timeout", "300", "--no-control-socket", "--access-logfile", str(self.access),
                   "--access-logformat", ACCESS_FORMAT, "app:server"]
        with self.output.open("wb") as out:
            self.process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT,
                                            env={**os.environ, "DASHBOARD_DATA_DIR": str(data_dir)})
        self.workers = workers
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchmarkError(f"gunicorn exited: {self.output.read_text(errors='replace')[-2000:]}")
            try:
                if requests.get(self.url + "/_dash-layout", timeout=5).status_code == 200 and \
                        len(self.worker_pids()) == workers:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise BenchmarkError("gunicorn did not answer within 120 s")

    def worker_pids(self) -> list[int]:
        return sorted(child.pid for child in psutil.Process(self.process.pid).children())

    def answered_by(self, probe: str) -> int:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for line in self.access.read_text(errors="replace").splitlines():
                parts = line.split()
                if len(parts) == 3 and parts[1] == probe:
                    return int(parts[0].strip("<>"))
            time.sleep(0.05)
        raise BenchmarkError(f"no access log line for {probe}")

    def on_every_worker(self, label: str, request: Any, per_round: int = 8, rounds: int = 30) -> None:
        """Send ``request(probe)`` ``per_round`` at a time until every worker has answered one."""
        answered: set[int] = set()
        for _ in range(rounds):
            probes = [f"{label}-{next(_probes)}" for _ in range(per_round)]
            with ThreadPoolExecutor(per_round) as pool:
                statuses = list(pool.map(request, probes))
            if any(status != 200 for status in statuses):
                raise BenchmarkError(f"{label}: answers {statuses}")
            answered |= {self.answered_by(probe) for probe in probes}
            if answered >= set(self.worker_pids()):
                return
        raise BenchmarkError(f"{label}: only {len(answered)} of {self.workers} workers answered")

    def memory(self) -> list[dict[str, float]]:
        figures = []
        for pid in self.worker_pids():
            info = psutil.Process(pid).memory_full_info()
            figures.append({"pid": pid, "pss": info.pss, "uss": info.uss, "rss": info.rss})
        return figures

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


# ---------------------------------------------------------------- the browser's requests


def record_switches(url: str) -> dict[str, list[dict[str, Any]]]:
    """{preset: the callback POSTs (path with query, body) a real Chromium sends when that preset is clicked}."""
    if not CHROMIUM.exists():
        raise BenchmarkError(f"{CHROMIUM} is missing: the period switch is recorded from a real browser")
    from playwright.sync_api import expect, sync_playwright

    recorded: dict[str, list[dict[str, Any]]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(url)
        expect(page.locator(".metric-value")).to_have_count(9, timeout=300_000)
        page.wait_for_load_state("networkidle")
        posts: list[dict[str, Any]] = []
        page.on("request", lambda request: posts.append(
            {"path": request.url[len(url):], "body": request.post_data}) if request.method == "POST" else None)
        for preset in (*PRESETS[1:], PRESETS[0]):  # the page starts on 30 days: click 90, 30, then 7
            posts.clear()
            page.locator(f"label[for=_dbcprivate_radioitems_period-preset_input_{preset}]").click()
            page.wait_for_timeout(500)
            page.wait_for_load_state("networkidle")
            starts = [k for k, post in enumerate(posts) if '"changedPropIds":["period-preset.value"]' in post["body"]]
            if not starts:
                raise BenchmarkError(f"clicking {preset} days sent no period callback ({len(posts)} requests)")
            recorded[preset] = posts[starts[0]:]  # an answer to the page load may still be under way before it
        browser.close()
    return recorded


def _post(url: str, recorded: dict[str, Any], probe: str) -> int:
    answer = requests.post(url + recorded["path"], data=recorded["body"], timeout=300,
                           headers={"Content-Type": "application/json", "X-Probe": probe})
    if answer.status_code not in (200, 204):
        raise BenchmarkError(f"{recorded['path']} answered {answer.status_code}: {answer.text[:300]}")
    return 200


def replay(url: str, switches: dict[str, list[dict[str, Any]]], users: int, per_user: int) -> list[dict]:
    """``users`` threads, each switching ``per_user`` times; one sample per switch."""
    samples: list[dict[str, Any]] = []
    lock = threading.Lock()

    def user(number: int) -> None:
        with ThreadPoolExecutor(8) as pool:
            for k in range(per_user):
                preset = PRESETS[(number + k) % len(PRESETS)]
                first, *dependants = switches[preset]
                started = time.perf_counter()
                _post(url, first, f"u{number}-{k}-0")
                probes = [f"u{number}-{k}-{index}" for index in range(1, len(dependants) + 1)]
                list(pool.map(lambda post, probe: _post(url, post, probe), dependants, probes))
                seconds = time.perf_counter() - started
                with lock:
                    samples.append({"user": number, "preset": preset, "seconds": seconds})

    threads = [threading.Thread(target=user, args=(number,)) for number in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples


# ---------------------------------------------------------------- one measurement


# The metric cards of the default period, in the shape the page sends them (see record_switches).
CARDS_BODY = json.dumps({
    "output": "..dora-card-row.children...flow-card-row.children...navbar-last-updated.children..."
              "navbar-data-source.children...demo-banner.is_open..",
    "outputs": [{"id": component, "property": name} for component, name in (
        ("dora-card-row", "children"), ("flow-card-row", "children"), ("navbar-last-updated", "children"),
        ("navbar-data-source", "children"), ("demo-banner", "is_open"))],
    "inputs": [{"id": "period-store", "property": "data", "value": {"preset": "30", "start": None, "end": None}},
               {"id": "data-version-store", "property": "data"}, {"id": "settings-version-store", "property": "data"},
               {"id": "team-selector", "property": "value", "value": ""}],
    "changedPropIds": ["period-store.data"]})


def serve_once(folder: Path, workers: int, users: int, switches: int) -> dict[str, Any]:
    """Start gunicorn on ``folder``, measure memory with no data and with the data loaded on every worker, then
    (when ``users``) replay the users' period switches; stop it."""
    served = Served(folder, workers)
    try:
        url = served.url
        served.on_every_worker("page", lambda probe: requests.get(url + "/", headers={"X-Probe": probe},
                                                                  timeout=120).status_code)
        served.on_every_worker("layout", lambda probe: requests.get(url + "/_dash-layout", timeout=120,
                                                                    headers={"X-Probe": probe}).status_code)
        no_data = served.memory()
        cards = {"path": "/_dash-update-component", "body": CARDS_BODY}
        started = time.perf_counter()
        served.on_every_worker("load", lambda probe: _post(url, cards, probe), per_round=2 * workers)
        result: dict[str, Any] = {"memory_no_data": no_data, "memory_loaded": served.memory(),
                                  "every_worker_loaded_s": time.perf_counter() - started}
        if users:
            recorded = record_switches(url)
            result.update(requests_per_switch={preset: len(posts) for preset, posts in recorded.items()},
                          switches=replay(url, recorded, users, switches), memory_after_users=served.memory())
        return result
    finally:
        served.stop()


def memory_without_data(workers: int) -> list[dict[str, int]]:
    """Each worker of a gunicorn serving a data directory with no issues (a Jira configured, never fetched,
    so no demo data is made either), after the page and its layout."""
    folder = Path(tempfile.mkdtemp(prefix="bench-serving-empty-"))
    try:
        (folder / "app_settings.json").write_text(json.dumps(
            {"jira": {"url": "https://jira.example.invalid", "jql": "project = NONE"}}))
        served = Served(folder, workers)
        try:
            for step in ("page", "layout"):
                path = "/" if step == "page" else "/_dash-layout"
                served.on_every_worker(step, lambda probe, path=path: requests.get(
                    served.url + path, headers={"X-Probe": probe}, timeout=120).status_code)
            return served.memory()
        finally:
            served.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def measure(size: int, workers: int, users: int, switches: int, results_dir: Path) -> dict[str, Any]:
    """A first start on the prepared data directory, then a restart on the same directory (with whatever the
    first start left there, such as cached tables); the users switch periods after the restart."""
    source = prepared_dir(size, results_dir)
    folder = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    try:
        empty = memory_without_data(workers)
        shutil.copytree(source, folder, dirs_exist_ok=True)
        first = serve_once(folder, workers, 0, switches)
        restart = serve_once(folder, workers, users, switches)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"size": size, "workers": workers, "users": users, "switches_per_user": switches,
            "no_data": empty, "first_start": first, "restart": restart}


def tables(measurements: list[dict[str, Any]]) -> list[str]:
    memory_rows, user_rows = [], []
    for m in measurements:
        empty = {key: median(entry[key] for entry in m["no_data"]) for key in ("pss", "uss")}
        for start in ("first_start", "restart"):
            figures = m[start]
            for entry in figures["memory_loaded"]:
                memory_rows.append([m["size"], start.replace("_", " "), entry["pid"], mb(empty["pss"]),
                                    mb(entry["pss"]), mb(entry["pss"] - empty["pss"]),
                                    mb(entry["uss"] - empty["uss"]), mb(entry["rss"]),
                                    figures["every_worker_loaded_s"]])
        seconds = sorted(sample["seconds"] * 1000 for sample in m["restart"]["switches"])
        user_rows.append([m["size"], m["workers"], m["users"], len(seconds), median(seconds),
                          seconds[int(0.9 * (len(seconds) - 1))], max(seconds)])
    return [
        print_table(f"Memory per gunicorn worker, MB (target: PSS beyond no data <= {BEYOND_TARGET_MB} MB)",
                    ["issues", "start", "worker", "PSS no data", "PSS loaded", "PSS beyond", "USS beyond",
                     "RSS loaded", "all loaded s"], memory_rows),
        print_table("Concurrent users switching periods, ms per switch (browser's requests replayed, after "
                    "the restart)", ["issues", "workers", "users", "switches", "median", "p90", "max"], user_rows),
    ]


def _extra_options(parser: Any) -> None:
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes (default 4)")
    parser.add_argument("--users", type=int, default=8, help="concurrent users switching periods (default 8)")
    parser.add_argument("--switches", type=int, default=12, help="period switches per user (default 12)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv, sizes=(50000,), runs=1, extra=_extra_options)
    if args.worker:
        emit_result(WORKERS[args.worker](worker_args_of(args)))
        return 0
    try:
        measurements = [measure(size, args.workers, args.users, args.switches, args.results_dir)
                        for size in args.sizes for _ in range(args.runs)]
    except BenchmarkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    write_results(args.results_dir, SCRIPT.stem, args, measurements, tables(measurements))
    return 0


if __name__ == "__main__":
    sys.exit(main())
