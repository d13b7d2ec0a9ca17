"""The dashboard at 50,000 issues: first page load after a restart, period switches, resident memory.

A data directory is prepared once per size (``cache/`` written by ``save_cached_issues`` with the demo
source's metadata, so the app serves it in demo mode without regenerating anything) and copied for every run.
Each run is a fresh process that does what a restarted server does for its first visitor, calling the
functions in-process: ``import app``, ``create_app()``, ``serve_layout()`` (and its JSON encoding), then the
metric-cards callback ``show_metrics`` for the default period (30 days) and its JSON encoding. Times are
counted from the moment the process was started and from the first request (the moment ``create_app()``
returned: a server is ready to answer then). The same data directory is started three times: first without a
table cache (the tables are built from ``cache/issues.json`` and the table file is written), then again with the
table file and the ``metrics_cache.json`` the first process left (a restart within the cache's TTL), then with
the table file only (``metrics_cache.json`` removed: a restart after the metrics cache expired).

Period switches (server time of ``show_metrics`` plus the JSON encoding Dash does), ``--switches`` of each
kind in the first run's process: *cold* = a period not yet seen (the 7- and 90-day presets, then custom
periods; a metrics-cache miss), *warm* = switching between the presets already seen. The clock is the
dataset's anchor, so the presets cover the demo's data.

Targets (PRODUCT.md): period switch <= 150 ms; resident memory with 50,000 issues loaded <= 800 MB; first
cards after a restart <= 1.0 s from the first request.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from _common import (
    ANCHOR,
    BenchmarkError,
    dataset_file,
    emit_result,
    load_issues,
    mb,
    median,
    parse_args,
    peak_rss_bytes,
    print_table,
    rss_bytes,
    run_worker,
    timed,
    worker_args_of,
    write_results,
)

SCRIPT = Path(__file__).resolve()
SWITCH_TARGET_S, RESIDENT_TARGET_MB, FIRST_CARDS_TARGET_S = 0.150, 800, 1.0
WARM_PRESETS = ("30", "7", "90")


def worker_prepare(job: dict[str, Any]) -> dict[str, Any]:
    """Write the cache of a demo-mode data directory holding the dataset (run with DASHBOARD_DATA_DIR set)."""
    from configuration.settings import load_app_settings_or_defaults
    from data.metrics.field_values import utc_iso
    from data.services.dashboard_service import effective_settings
    from data.store.issue_cache import cache_config_hash, cache_identity, required_fields, save_cached_issues

    settings = effective_settings(load_app_settings_or_defaults()[0])
    fields = required_fields(settings)
    stamp = utc_iso(ANCHOR)
    meta = {**cache_identity(settings, demo=True), "fields": fields,
            "config_hash": cache_config_hash(settings, fields, demo=True), "last_successful_fetch": stamp,
            "last_full_fetch": stamp, "last_reconcile": stamp, "demo_anchor": stamp}
    written = save_cached_issues(load_issues(job["size"], Path(job["results_dir"])), meta)
    return {"issue_count": written["issue_count"]}


def _callback_time(show_metrics: Any, to_json: Any, period: dict[str, str]) -> dict[str, float]:
    seconds, response = timed(lambda: show_metrics(period, None, now=ANCHOR))
    encode_s, _ = timed(lambda: to_json(list(response)))
    return {"callback_s": seconds, "encode_s": encode_s, "total_s": seconds + encode_s}


def _cold_periods(count: int) -> list[dict[str, str]]:
    periods = [{"preset": "7"}, {"preset": "90"}]
    for k in range(max(0, count - len(periods))):
        end = ANCHOR.date() - timedelta(days=7 * (k + 1))
        periods.append({"preset": "custom", "start": (end - timedelta(days=29)).isoformat(), "end": end.isoformat()})
    return periods


def worker_dashboard(job: dict[str, Any]) -> dict[str, Any]:
    stamps = {"started_imports": time.monotonic()}
    from dash._utils import to_json

    import app as dashboard_app

    stamps["imported"] = time.monotonic()
    dashboard_app.create_app()
    stamps["created"] = time.monotonic()
    from ui.app_shell import serve_layout

    to_json(serve_layout())
    stamps["layout"] = time.monotonic()
    from callbacks.metrics import show_metrics

    to_json(list(show_metrics({"preset": "30"}, None, now=ANCHOR)))
    stamps["first_metrics"] = time.monotonic()
    result: dict[str, Any] = {"stamps": stamps, "rss_loaded": rss_bytes(), "peak_loaded": peak_rss_bytes()}
    if job["switches"]:
        result["cold"] = [_callback_time(show_metrics, to_json, period) for period in _cold_periods(job["switches"])]
        presets = [WARM_PRESETS[i % len(WARM_PRESETS)] for i in range(job["switches"])]
        result["warm"] = [_callback_time(show_metrics, to_json, {"preset": preset}) for preset in presets]
    result.update(_dataset_facts(), rss_end=rss_bytes())
    return result


def _dataset_facts() -> dict[str, Any]:
    from configuration.settings import load_app_settings_or_defaults
    from data.services.dashboard_service import effective_settings, metrics_for_period

    settings = effective_settings(load_app_settings_or_defaults()[0])
    metrics, dataset = metrics_for_period(settings, ANCHOR.date() - timedelta(days=29), ANCHOR.date(), ANCHOR)
    return {"issues_loaded": dataset.issue_count if dataset else 0,
            "successes": sum(metric["error_state"] == "success" for metric in metrics.values())}


WORKERS = {"prepare": worker_prepare, "dashboard": worker_dashboard}


def prepared_dir(size: int, results_dir: Path) -> Path:
    folder = results_dir / f"dashboard-data-{size}-teams"
    if not (folder / "cache" / "fetch_meta.json").exists():
        dataset_file(size, results_dir)
        shutil.rmtree(folder, ignore_errors=True)
        job = {"size": size, "results_dir": str(results_dir)}
        run_worker(SCRIPT, "prepare", job, env_overrides={"DASHBOARD_DATA_DIR": str(folder)}).result()
    return folder


def _start_up(measured: Any) -> dict[str, Any]:
    figures = measured.result()
    stamps = figures.pop("stamps")
    figures["since_start_s"] = {name: stamp - measured.started for name, stamp in stamps.items()}
    figures["since_first_request_s"] = {name: stamps[name] - stamps["created"] for name in ("layout", "first_metrics")}
    figures["peak_rss"] = measured.peak_rss
    return figures


def measure(size: int, runs: int, switches: int, results_dir: Path) -> dict[str, Any]:
    source = prepared_dir(size, results_dir)
    first, restart, tables_only = [], [], []
    for run in range(runs):
        folder = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
        try:
            shutil.copytree(source, folder, dirs_exist_ok=True)
            env = {"DASHBOARD_DATA_DIR": str(folder)}
            job = {"switches": switches if run == 0 else 0}
            first.append(_start_up(run_worker(SCRIPT, "dashboard", job, env_overrides=env)))
            if not list((folder / "cache").glob("tables-*.arrow")):
                raise BenchmarkError("the first start left no table cache (cache/tables-*.arrow)")
            restart.append(_start_up(run_worker(SCRIPT, "dashboard", {"switches": 0},
                                                env_overrides=env)))
            (folder / "metrics_cache.json").unlink(missing_ok=True)
            tables_only.append(_start_up(run_worker(SCRIPT, "dashboard", {"switches": 0}, env_overrides=env)))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return {"size": size, "first_start": first, "restart_with_metrics_cache": restart,
            "restart_with_table_cache": tables_only}


def _start_row(label: str, runs: list[dict[str, Any]]) -> list[Any]:
    since = [run["since_start_s"] for run in runs]
    after_request = [run["since_first_request_s"] for run in runs]
    return [runs[0]["issues_loaded"], label, median(s["imported"] for s in since), median(s["created"] for s in since),
            median(s["layout"] for s in since), median(s["first_metrics"] for s in since),
            median(s["first_metrics"] for s in after_request),
            median(mb(run["rss_loaded"]) for run in runs), median(mb(run["rss_end"]) for run in runs),
            median(mb(run["peak_rss"]) for run in runs), f"{runs[0]['successes']}/9"]


def tables(measurements: list[dict[str, Any]]) -> list[str]:
    start_rows, switch_rows = [], []
    for m in measurements:
        start_rows.append(_start_row("no table cache (builds it)", m["first_start"]))
        start_rows.append(_start_row("table cache + metrics cache", m["restart_with_metrics_cache"]))
        start_rows.append(_start_row("table cache only", m["restart_with_table_cache"]))
        sample = m["first_start"][0]
        for kind in ("cold", "warm"):
            times = sample[kind]
            totals = sorted(t["total_s"] * 1000 for t in times)
            switch_rows.append([m["size"], kind, len(times), median(t["callback_s"] * 1000 for t in times),
                                median(t["encode_s"] * 1000 for t in times), median(totals),
                                sum(total <= SWITCH_TARGET_S * 1000 for total in totals), max(totals)])
    return [
        print_table("First page load after a restart: seconds since process start, and from the first request "
                    f"to the cards (target <= {FIRST_CARDS_TARGET_S:g} s) (median), memory MB",
                    ["issues loaded", "start", "imports", "create_app", "layout served", "first metrics",
                     "request to cards", "RSS loaded", "RSS end", "peak RSS", "ok metrics"], start_rows),
        print_table(f"Period switch server time, ms (target <= {SWITCH_TARGET_S * 1000:g} ms; "
                    f"resident target <= {RESIDENT_TARGET_MB} MB)",
                    ["issues", "switch", "samples", "show_metrics", "JSON encode", "total median", "within target",
                     "total max"],
                    switch_rows),
    ]


def _extra_options(parser: Any) -> None:
    parser.add_argument("--switches", type=int, default=12,
                        help="cold and warm period switches timed in the first run's process (default 12 each)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv, sizes=(50000,), runs=3, extra=_extra_options)
    if args.worker:
        emit_result(WORKERS[args.worker](worker_args_of(args)))
        return 0
    try:
        measurements = [measure(size, args.runs, args.switches, args.results_dir) for size in args.sizes]
    except BenchmarkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    write_results(args.results_dir, SCRIPT.stem, args, measurements, tables(measurements))
    return 0


if __name__ == "__main__":
    sys.exit(main())
