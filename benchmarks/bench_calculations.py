"""Normalisation and all nine metrics (sparklines and trends included) at 1,000 / 10,000 / 50,000 demo issues.

Each size runs two fresh processes:

- ``normalise``: read the dataset, time ``build_issue_frames`` (raw issues -> tables), count the changelog, and
  pickle the tables for the next step;
- ``calculate``: load only the tables (the "data already normalised" state of the dashboard), then time
  ``calculate_all_metrics`` for the 30-, 90- and 365-day periods ending at the dataset's anchor, *cold* (the
  per-dataset populations the calculators memoise on the tables are cleared before each run, as after a
  data update) and *warm* (populations kept, as on a later period switch). Its memory figures: RSS with the
  tables loaded, peak RSS while calculating (Linux ``VmHWM`` reset just before), RSS afterwards.

Targets (PRODUCT.md): all nine metrics <= 1 s and calculation peak <= 600 MB at 50,000 issues; normalising
50,000 raw issues <= 3 s.
"""

from __future__ import annotations

import pickle
import sys
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from _common import (
    ANCHOR,
    BenchmarkError,
    changelog_counts,
    collect,
    dataset_file,
    demo_settings,
    emit_result,
    load_issues,
    mb,
    median,
    parse_args,
    peak_rss_bytes,
    print_table,
    reset_peak_rss,
    rss_bytes,
    run_worker,
    timed,
    worker_args_of,
    write_results,
)

SCRIPT = Path(__file__).resolve()
PERIOD_DAYS = (30, 90, 365)
CALC_TARGET_S, CALC_PEAK_TARGET_MB, NORMALISE_TARGET_S = 1.0, 600, 3.0


def _frames_file(results_dir: Path, size: int) -> Path:
    return results_dir / f"frames-{size}.pickle"


def worker_normalise(job: dict[str, Any]) -> dict[str, Any]:
    from data.metrics.issue_frame import build_issue_frames

    results_dir = Path(job["results_dir"])
    issues = load_issues(job["size"], results_dir)
    counts = changelog_counts(issues)
    settings = demo_settings()
    times, frames = [], None
    for _ in range(job["runs"]):
        frames = None
        collect()
        seconds, frames = timed(lambda: build_issue_frames(issues, settings))
        times.append(seconds)
    assert frames is not None
    frames.memo.clear()
    _frames_file(results_dir, job["size"]).write_bytes(pickle.dumps(frames, protocol=pickle.HIGHEST_PROTOCOL))
    return {"issues": len(issues), **counts, "intervals": len(frames.intervals), "normalise_s": times}


def worker_calculate(job: dict[str, Any]) -> dict[str, Any]:
    from data.metrics.periods import Period
    from data.services.metrics_service import calculate_all_metrics

    path = _frames_file(Path(job["results_dir"]), job["size"])
    frames = pickle.loads(path.read_bytes())
    path.unlink()
    settings = demo_settings()
    collect()
    rss_before, load_peak = rss_bytes(), peak_rss_bytes()
    peak_reset = reset_peak_rss()
    periods: dict[str, Any] = {}
    for days in PERIOD_DAYS:
        period = Period(ANCHOR.date() - timedelta(days=days - 1), ANCHOR.date())
        cold, warm, metrics = [], [], {}
        for _ in range(job["runs"]):
            frames.memo.clear()
            seconds, metrics = timed(partial(calculate_all_metrics, frames, settings, period, ANCHOR))
            cold.append(seconds)
        for _ in range(job["runs"]):
            seconds, metrics = timed(partial(calculate_all_metrics, frames, settings, period, ANCHOR))
            warm.append(seconds)
        successes = sum(metric["error_state"] == "success" for metric in metrics.values())
        periods[str(days)] = {"cold_s": cold, "warm_s": warm, "metrics": len(metrics), "successes": successes}
    return {"rss_before": rss_before, "load_peak": load_peak, "calc_peak": peak_rss_bytes() if peak_reset else None,
            "rss_after": rss_bytes(), "periods": periods}


WORKERS = {"normalise": worker_normalise, "calculate": worker_calculate}


def measure(size: int, runs: int, results_dir: Path) -> dict[str, Any]:
    dataset_file(size, results_dir)
    job = {"size": size, "runs": runs, "results_dir": str(results_dir)}
    normalise = run_worker(SCRIPT, "normalise", job)
    calculate = run_worker(SCRIPT, "calculate", job)
    return {"size": size, "normalise": normalise.result(), "normalise_process_peak": normalise.peak_rss,
            "calculate": calculate.result(), "calculate_process_peak": calculate.peak_rss}


def tables(measurements: list[dict[str, Any]]) -> list[str]:
    timing_rows, memory_rows = [], []
    for m in measurements:
        norm, calc = m["normalise"], m["calculate"]
        row: list[Any] = [m["size"], norm["items"], norm["status_changes"], median(norm["normalise_s"])]
        for days in PERIOD_DAYS:
            figures = calc["periods"][str(days)]
            row += [median(figures["cold_s"]), median(figures["warm_s"])]
        row.append(f"{calc['periods']['30']['successes']}/{calc['periods']['30']['metrics']}")
        timing_rows.append(row)
        peak = calc["calc_peak"]
        memory_rows.append([m["size"], mb(m["normalise_process_peak"]), mb(calc["rss_before"]),
                            mb(peak) if peak is not None else float("nan"), mb(calc["rss_after"]),
                            mb(max(calc["load_peak"], m["calculate_process_peak"]))])
    timing = print_table(
        "Calculation time, seconds (median; cold = memoised populations cleared, warm = kept)",
        ["issues", "changelog items", "status changes", "normalise", "30d cold", "30d warm", "90d cold",
         "90d warm", "365d cold", "365d warm", "ok metrics"], timing_rows)
    memory = print_table(
        "Memory, MB (RSS)",
        ["issues", "normalise process peak", "tables loaded", "calc peak", "after calc", "calc process peak"],
        memory_rows)
    targets = (f"Targets at 50,000 issues: normalise <= {NORMALISE_TARGET_S:g} s; nine metrics <= {CALC_TARGET_S:g} s; "
               f"calc peak <= {CALC_PEAK_TARGET_MB} MB")
    print(targets + "\n")
    return [timing, memory, targets]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv, sizes=(1000, 10000, 50000), runs=5)
    if args.worker:
        emit_result(WORKERS[args.worker](worker_args_of(args)))
        return 0
    try:
        measurements = [measure(size, args.runs, args.results_dir) for size in args.sizes]
    except BenchmarkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    write_results(args.results_dir, SCRIPT.stem, args, measurements, tables(measurements))
    return 0


if __name__ == "__main__":
    sys.exit(main())
