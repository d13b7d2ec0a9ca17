"""Fetching from Azure DevOps: full fetch, incremental updates, and the two history routes' request counts.

The test Azure DevOps server (``tests.ado_server``) holds ``--sizes`` work items of about ``--revisions``
revisions each (``make_work_items``, created one an hour from 2022 on: about two thirds of the revisions
change the state) and serves them over loopback from this process; every client runs in a fresh process
(its CPU seconds and peak RSS are the client's own; the wall time includes the server's work on the same
cores; one unshown full fetch first warms the server's caches). The client's rate limit is off (``--rps 0``)
so the figures show our cost; a real organisation at the default 10 requests/s adds ``requests / 10``
seconds.

- **full fetch** (``AzureDevOpsClient.search_issues`` with an empty filter) with each history route: ``auto``
  (the default), ``updates`` (per item) and ``reporting`` (the bulk revision stream).
- **incremental, nothing changed** (``changed_since`` ten minutes back): one WIQL request and nothing else.
- **incremental, ``--changed`` items changed** (each gets a new state now): with each history route.
- **id listing** (``list_issue_ids``): what every Update Data from Azure DevOps adds to the delta, to drop
  deleted and moved items (so Update Data with nothing changed is the delta plus this).
"""

from __future__ import annotations

import gc
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _common import (
    BenchmarkError,
    emit_result,
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
PAT = "bench-ado-pat-0123456789"
FIELDS = ["summary", "status", "issuetype", "project", "created", "updated", "resolutiondate", "resolution",
          "area_path"]
ROUTES = ("auto", "updates", "reporting")


def worker_fetch(job: dict[str, Any]) -> dict[str, Any]:
    from data.sources.ado_client import AzureDevOpsClient

    client = AzureDevOpsClient(job["url"], job["project"], pat=PAT, requests_per_second=job["rps"],
                               history_route=job["route"])
    if job.get("listing"):
        seconds, ids = timed(lambda: client.list_issue_ids(""))
        return {"seconds": seconds, "requests": client.request_count, "issues": len(ids), "histories": 0,
                "history_requests": {}}
    if job["since"] is None:
        seconds, issues = timed(lambda: client.search_issues("", FIELDS))
    else:
        since = datetime.fromisoformat(job["since"])
        seconds, issues = timed(lambda: client.changed_since("", since, FIELDS))
    histories = sum(len(issue["changelog"]["histories"]) for issue in issues)
    return {"seconds": seconds, "requests": client.request_count, "issues": len(issues), "histories": histories,
            "history_requests": client.last_history_requests}


WORKERS = {"fetch": worker_fetch}


def _run(server: Any, job: dict[str, Any], runs: int) -> dict[str, Any]:
    samples = []
    for _ in range(runs):
        server.clear_requests()
        measured = run_worker(SCRIPT, "fetch", job)
        figures = measured.result()
        figures["by_endpoint"] = dict(Counter(entry["endpoint"] for entry in server.requests))
        figures["client_cpu_s"], figures["peak_rss"] = measured.cpu_s, measured.peak_rss
        samples.append(figures)
    return {"route": job["route"], "since": job["since"], "runs": samples}


def measure(size: int, args: Any) -> dict[str, Any]:
    from tests.ado_server import AdoTestServer
    from tests.ado_server.builders import make_work_items

    # one item an hour from this date: 20,000 items end in 2024, all in the past
    items = make_work_items(size, revisions=args.revisions, start=datetime(2022, 1, 1, tzinfo=UTC))
    revisions = sum(len(item["revisions"]) for item in items)
    server = AdoTestServer(items, pat=PAT)
    del items
    gc.freeze()  # the server's stored revisions: no full collections pausing its answers
    try:
        base = {"url": server.organization_url, "project": server.project, "rps": args.rps}
        _run(server, {**base, "route": "reporting", "since": None}, 1)  # warm-up (the server's caches), not shown
        full = [_run(server, {**base, "route": route, "since": None}, args.runs) for route in ROUTES]
        since = (datetime.now(UTC) - timedelta(minutes=10)).isoformat()
        unchanged = _run(server, {**base, "route": "auto", "since": since}, args.runs)
        listing = _run(server, {**base, "route": "auto", "since": None, "listing": True}, args.runs)
        step = max(1, size // max(1, args.changed))
        changed_ids = list(range(1, size + 1, step))[:args.changed]
        for item_id in changed_ids:
            server.change_work_item(item_id, {"System.State": "Removed"})
        time.sleep(0.01)
        changed = [_run(server, {**base, "route": route, "since": since}, args.runs) for route in ROUTES]
    finally:
        server.stop()
        gc.unfreeze()
    return {"size": size, "revisions": revisions, "changed": len(changed_ids), "full": full,
            "unchanged": unchanged, "listing": listing, "incremental": changed}


def _row(size: int, case: str, measured: dict[str, Any]) -> list[Any]:
    runs = measured["runs"]
    last = runs[-1]
    split = "+".join(str(last["by_endpoint"].get(name, 0))
                     for name in ("wiql", "workitemsbatch", "updates", "revisions"))
    return [size, case, measured["route"], last["issues"], median(r["requests"] for r in runs), split,
            median(r["seconds"] for r in runs), median(r["client_cpu_s"] for r in runs),
            median(mb(r["peak_rss"]) for r in runs)]


def tables(measurements: list[dict[str, Any]]) -> list[str]:
    rows = []
    for m in measurements:
        rows += [_row(m["size"], "full fetch", full) for full in m["full"]]
        rows.append(_row(m["size"], "incremental, nothing changed", m["unchanged"]))
        rows.append(_row(m["size"], "id listing (every update)", m["listing"]))
        rows += [_row(m["size"], f"incremental, {m['changed']} changed", inc) for inc in m["incremental"]]
    headers = ["items", "case", "history route", "fetched", "requests", "wiql+batch+updates+revisions", "seconds",
               "client CPU s", "client peak MB"]
    return [print_table("Azure DevOps fetch over loopback (median; split of the last run)", headers, rows)]


def _extra_options(parser: Any) -> None:
    parser.add_argument("--revisions", type=int, default=10, help="revisions per work item, about (default 10)")
    parser.add_argument("--changed", type=int, default=5, help="items changed for the incremental case (default 5)")
    parser.add_argument("--rps", type=float, default=0.0, help="client requests per second (default 0: no limit)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv, sizes=(20000,), runs=1, extra=_extra_options)
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
