"""Fetching from Jira: full fetch, issue-cache save and load, and the no-change incremental update.

The test Jira server (``tests.jira_server``) holds the demo dataset and serves it over loopback from this
process; every client runs in a fresh process with its own data directory. The fetch's wall time therefore
includes the test server's own work on the same cores (it renders each page in Python; its stored issues are
frozen out of the garbage collector, whose full passes over them would otherwise pause it for a second or
more at random); the client's CPU seconds and peak RSS are the product's own cost.

- **full fetch** (``update_issues`` with a ``JiraClient``, empty cache): Cloud and Data Center, page cap 100,
  each inline changelog cap of ``--inline-caps``. The demo issues have at most about 28 histories, so the
  brief's cap of 40 truncates none; the second default cap (16) truncates about 8% of them, which Cloud
  completes by ``/changelog/bulkfetch`` and Data Center issue by issue. Requests are compared with the
  minimum: pages of issues plus the completion requests the truncated changelogs need (Cloud: batches of
  1,000 issues in search order, each paged by 1,000 status histories; Data Center: pages of 100 histories
  per issue). The
  client's rate limit is off (``--rps 0``) so the figures show our cost; a real Jira at the default
  10 requests/s adds ``requests / 10`` seconds.
- **cache**: ``save_cached_issues`` of freshly fetched issues, ``load_cached_issues``, and a re-save of
  loaded issues (what an incremental update with changes writes).
- **incremental, nothing changed**: ``run_update`` (the Update Data path: lock, client, update) on the
  cache the full fetch left, with Jira returning nothing new. Target: 1 request, <= 1 s at 50,000 issues.
"""

from __future__ import annotations

import gc
import math
import shutil
import sys
import tempfile
from collections import Counter
from functools import partial
from pathlib import Path
from typing import Any

from _common import (
    BenchmarkError,
    collect,
    dataset_file,
    demo_settings,
    emit_result,
    load_issues,
    mb,
    median,
    parse_args,
    print_table,
    run_worker,
    timed,
    worker_args_of,
    write_results,
)

SCRIPT = Path(__file__).resolve()
EMAIL, API_TOKEN, PAT = "bench@example.com", "bench-api-token", "bench-pat"
JQL = "project = DEMO"
PAGE_CAP = 100
BULKFETCH_IDS = BULKFETCH_HISTORIES = 1000
CHANGELOG_PAGE = 100
INCREMENTAL_TARGET_S = 1.0


def _settings(url: str, mode: str) -> dict[str, Any]:
    return demo_settings(url=url, deployment=mode, email=EMAIL, jql=JQL, page_size=PAGE_CAP)


class _TimedSource:
    """A ``JiraClient`` whose searches are timed, so fetch time and cache-save time can be told apart."""

    def __init__(self, client: Any) -> None:
        self.client, self.search_s = client, 0.0

    @property
    def request_count(self) -> int:
        return self.client.request_count

    def search_issues(self, jql: str, fields: list[str], **options: Any) -> list[dict[str, Any]]:
        seconds, issues = timed(partial(self.client.search_issues, jql, fields, **options))
        self.search_s += seconds
        return issues

    def list_issue_ids(self, jql: str, **options: Any) -> list[tuple[str, str]]:
        return self.client.list_issue_ids(jql, **options)


def worker_fetch(job: dict[str, Any]) -> dict[str, Any]:
    from data.services.data_update import update_issues
    from data.sources.jira_client import JiraClient

    client = JiraClient(job["url"], job["mode"], email=EMAIL, api_token=API_TOKEN, pat=PAT, page_size=PAGE_CAP,
                        max_concurrency=job["concurrency"], requests_per_second=job["rps"] or None)
    source = _TimedSource(client)
    seconds, result = timed(partial(update_issues, _settings(job["url"], job["mode"]), source))
    return {"total_s": seconds, "search_s": source.search_s, "requests": client.request_count,
            "issues": result.total, "update_mode": result.mode}


def worker_incremental(job: dict[str, Any]) -> dict[str, Any]:
    from data.services.dashboard_service import run_update

    settings = _settings(job["url"], job["mode"])
    times, requests, modes = [], [], []
    for _ in range(job["runs"]):
        seconds, result = timed(partial(run_update, settings))
        times.append(seconds)
        requests.append(result.requests)
        modes.append(f"{result.mode}{'' if not result.changed else ' (changed)'}")
    return {"times_s": times, "requests": requests, "modes": modes}


def worker_cache(job: dict[str, Any]) -> dict[str, Any]:
    from data.store.issue_cache import (
        cache_identity,
        issues_path,
        load_cached_issues,
        required_fields,
        save_cached_issues,
    )

    settings = _settings("https://bench.example.net", "cloud")
    issues = load_issues(job["size"], Path(job["results_dir"]))
    meta = {**cache_identity(settings), "fields": required_fields(settings)}
    save, load, resave, loaded = [], [], [], None
    for _ in range(job["runs"]):
        collect()
        save.append(timed(partial(save_cached_issues, issues, meta))[0])
    del issues
    for _ in range(job["runs"]):
        loaded = None
        collect()
        seconds, loaded = timed(load_cached_issues)
        load.append(seconds)
    assert loaded is not None
    for _ in range(job["runs"]):
        collect()
        resave.append(timed(partial(save_cached_issues, loaded.issues, meta))[0])
    return {"save_s": save, "load_s": load, "resave_s": resave, "file_bytes": issues_path().stat().st_size,
            "issues": len(loaded.issues)}


WORKERS = {"fetch": worker_fetch, "incremental": worker_incremental, "cache": worker_cache}


def _status_histories(issue: dict[str, Any]) -> int:
    return sum(any((item.get("fieldId") or item.get("field")) == "status" for item in history.get("items") or ())
               for history in (issue.get("changelog") or {}).get("histories") or ())


def minimum_requests(issues: list[dict[str, Any]], mode: str, inline_cap: int) -> tuple[int, int, int]:
    """(pages, completion requests, truncated issues) at the least: see the module docstring."""
    pages = max(1, math.ceil(len(issues) / PAGE_CAP))
    truncated = [issue for issue in issues if len(issue["changelog"]["histories"]) > inline_cap]
    if not truncated:
        return pages, 0, 0
    if mode == "cloud":  # truncated issues in search (key) order, 1,000 per batch, each batch paged by histories
        batches = [truncated[first:first + BULKFETCH_IDS] for first in range(0, len(truncated), BULKFETCH_IDS)]
        completion = sum(max(1, math.ceil(sum(map(_status_histories, batch)) / BULKFETCH_HISTORIES))
                         for batch in batches)
    else:
        completion = sum(math.ceil(len(issue["changelog"]["histories"]) / CHANGELOG_PAGE) for issue in truncated)
    return pages, completion, len(truncated)


def _endpoint(path: str) -> str:
    for suffix, name in (("/search/jql", "search"), ("/search", "search"), ("/approximate-count", "count"),
                         ("/changelog/bulkfetch", "completion"), ("/changelog", "completion")):
        if path.endswith(suffix):
            return name
    return "other"


def measure_mode(issues: list[dict[str, Any]], mode: str, caps: list[int], args: Any) -> list[dict[str, Any]]:
    from tests.jira_server import JiraTestServer

    rows = []
    for position, cap in enumerate(caps):
        server = JiraTestServer(issues, mode=mode, email=EMAIL, api_token=API_TOKEN, pat=PAT, page_cap=PAGE_CAP,
                                inline_changelog_cap=cap)
        gc.freeze()  # the server's millions of stored objects: no full collections pausing its answers
        try:
            pages, completion, truncated = minimum_requests(issues, mode, cap)
            row: dict[str, Any] = {"size": len(issues), "mode": mode, "inline_cap": cap, "truncated": truncated,
                                   "minimum": pages + completion, "minimum_pages": pages,
                                   "minimum_completion": completion, "runs": []}
            for run in range(args.runs):
                folder = Path(tempfile.mkdtemp(prefix="bench-fetch-"))
                try:
                    server.clear_requests()
                    job = {"url": server.url, "mode": mode, "rps": args.rps, "concurrency": args.concurrency}
                    measured = run_worker(SCRIPT, "fetch", job, env_overrides={"DASHBOARD_DATA_DIR": str(folder)})
                    figures = measured.result()
                    figures["by_endpoint"] = dict(Counter(_endpoint(r["path"]) for r in server.requests))
                    figures["peak_rss"], figures["client_cpu_s"] = measured.peak_rss, measured.cpu_s
                    row["runs"].append(figures)
                    if position == 0 and run == args.runs - 1:
                        server.clear_requests()
                        env = {"DASHBOARD_DATA_DIR": str(folder), "JIRA_EMAIL": EMAIL, "JIRA_API_TOKEN": API_TOKEN,
                               "JIRA_PAT": PAT}
                        incremental = run_worker(SCRIPT, "incremental", {**job, "runs": args.runs},
                                                 env_overrides=env).result()
                        incremental["server_requests"] = len(server.requests)
                        row["incremental"] = incremental
                finally:
                    shutil.rmtree(folder, ignore_errors=True)
            rows.append(row)
        finally:
            server.stop()
            gc.unfreeze()
    return rows


def measure(size: int, args: Any) -> dict[str, Any]:
    dataset_file(size, args.results_dir)
    folder = Path(tempfile.mkdtemp(prefix="bench-cache-"))
    try:
        cache_job = {"size": size, "runs": args.runs, "results_dir": str(args.results_dir)}
        cache = run_worker(SCRIPT, "cache", cache_job, env_overrides={"DASHBOARD_DATA_DIR": str(folder)})
        cache_figures = {**cache.result(), "peak_rss": cache.peak_rss}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    issues = load_issues(size, args.results_dir)
    fetches = []
    for mode in args.modes:
        fetches += measure_mode(issues, mode, args.inline_caps, args)
    del issues
    collect()
    return {"size": size, "cache": cache_figures, "fetches": fetches}


def tables(measurements: list[dict[str, Any]]) -> list[str]:
    fetch_rows, incremental_rows, cache_rows = [], [], []
    for m in measurements:
        for row in m["fetches"]:
            runs = row["runs"]
            last = runs[-1]["by_endpoint"]
            fetch_rows.append([row["size"], row["mode"], row["inline_cap"], row["truncated"],
                               median(r["requests"] for r in runs), row["minimum"],
                               f"{last.get('search', 0)}+{last.get('count', 0)}+{last.get('completion', 0)}",
                               median(r["search_s"] for r in runs), median(r["total_s"] for r in runs),
                               median(r["client_cpu_s"] for r in runs), median(mb(r["peak_rss"]) for r in runs)])
            if "incremental" in row:
                inc = row["incremental"]
                incremental_rows.append([row["size"], row["mode"], median(inc["requests"]), max(inc["requests"]),
                                         median(inc["times_s"]), max(inc["times_s"]), inc["modes"][-1]])
        cache = m["cache"]
        cache_rows.append([m["size"], mb(cache["file_bytes"]), median(cache["save_s"]), median(cache["load_s"]),
                           median(cache["resave_s"])])
    printed = [
        print_table("Full fetch over loopback (median; requests = search+count+completion of the last run)",
                    ["issues", "mode", "inline cap", "truncated", "requests", "minimum", "split", "fetch s",
                     "fetch+save s", "client CPU s", "client peak MB"], fetch_rows),
        print_table(f"Update Data with nothing changed (run_update; target 1 request, <= {INCREMENTAL_TARGET_S:g} s)",
                    ["issues", "mode", "requests", "max requests", "median s", "max s", "result"], incremental_rows),
        print_table("Issue cache (cache/issues.json), seconds (median)",
                    ["issues", "file MB", "save", "load", "re-save loaded"], cache_rows),
    ]
    return printed


def _extra_options(parser: Any) -> None:
    parser.add_argument("--modes", nargs="+", choices=("cloud", "datacenter"), default=["cloud", "datacenter"])
    parser.add_argument("--inline-caps", type=int, nargs="+", default=[40, 16], metavar="N",
                        help="inline changelog caps of the test server (default: 40 16)")
    parser.add_argument("--rps", type=float, default=0.0, help="client requests per second (default 0: no limit)")
    parser.add_argument("--concurrency", type=int, default=4, help="client max_concurrency (default 4)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv, sizes=(10000, 50000), runs=3, extra=_extra_options)
    if args.worker:
        emit_result(WORKERS[args.worker](worker_args_of(args)))
        return 0
    try:
        measurements = [measure(size, args) for size in args.sizes]
    except BenchmarkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    write_results(args.results_dir, SCRIPT.stem, args, measurements, tables(measurements))
    return 0


if __name__ == "__main__":
    sys.exit(main())
