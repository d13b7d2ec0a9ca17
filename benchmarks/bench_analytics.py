"""The five flow analytics sections (``calculate_analytics``) for a 90-day period at 1,000 / 10,000 / 50,000
demo issues.

Each size runs in one fresh process that reads the dataset and builds the tables first (not timed here: see
bench_calculations), then times ``calculate_analytics`` for the 90 days ending at the dataset's anchor,
*cold* (the populations the calculators memoise on the tables cleared before each run, as after a data
update) and *warm* (kept, as when the Analytics view is opened again or its period is switched back), plus
each section alone (warm), the RSS before calculating (the raw issues were read in this process, so it includes
memory Python keeps after freeing them) and how far the peak RSS rose above it while calculating (Linux
``VmHWM`` reset just before).

Target: the Analytics view's server time within the dashboard's 150 ms period-switch budget at 50,000 issues
(warm), and no more than 1 s cold (the nine metrics' bar, PRODUCT.md).
"""

from __future__ import annotations

import sys
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from _common import (
    ANCHOR,
    BenchmarkError,
    collect,
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
PERIOD_DAYS = 90
WARM_TARGET_S, COLD_TARGET_S = 0.150, 1.0
SECTION_NAMES = ("cycle_time", "aging_wip", "time_in_status", "cfd", "throughput")


def worker_analytics(job: dict[str, Any]) -> dict[str, Any]:
    from data.metrics import aging_wip, cumulative_flow, cycle_time, throughput, time_in_status
    from data.metrics.analytics import calculate_analytics
    from data.metrics.issue_frame import build_issue_frames
    from data.metrics.periods import Period

    settings = demo_settings()
    frames = build_issue_frames(load_issues(job["size"], Path(job["results_dir"])), settings)
    period = Period(ANCHOR.date() - timedelta(days=PERIOD_DAYS - 1), ANCHOR.date())
    collect()
    rss_before = rss_bytes()
    peak_reset = reset_peak_rss()
    cold, warm, result = [], [], {}
    for _ in range(job["runs"]):
        frames.memo.clear()
        seconds, result = timed(partial(calculate_analytics, frames, settings, period, ANCHOR))
        cold.append(seconds)
    for _ in range(job["runs"]):
        seconds, result = timed(partial(calculate_analytics, frames, settings, period, ANCHOR))
        warm.append(seconds)
    functions = {"cycle_time": cycle_time.cycle_time, "aging_wip": aging_wip.aging_wip,
                 "time_in_status": time_in_status.time_in_status, "cfd": cumulative_flow.cumulative_flow,
                 "throughput": throughput.throughput}
    sections = {name: [timed(partial(function, frames, settings, period, ANCHOR))[0] for _ in range(job["runs"])]
                for name, function in functions.items()}
    return {"issues": len(frames.issues), "intervals": len(frames.intervals), "rss_before": rss_before,
            "calc_peak": peak_rss_bytes() if peak_reset else None, "cold_s": cold, "warm_s": warm,
            "sections_s": sections, "points": len(result["cycle_time"]["points"]),
            "wip": result["aging_wip"]["count"],
            "successes": sum(result[name]["error_state"] == "success" for name in SECTION_NAMES)}


WORKERS = {"analytics": worker_analytics}


def measure(size: int, runs: int, results_dir: Path) -> dict[str, Any]:
    job = {"size": size, "runs": runs, "results_dir": str(results_dir)}
    worker = run_worker(SCRIPT, "analytics", job)
    return {"size": size, "analytics": worker.result(), "process_peak": worker.peak_rss}


def tables(measurements: list[dict[str, Any]]) -> list[str]:
    timing_rows, section_rows = [], []
    for m in measurements:
        a = m["analytics"]
        peak = a["calc_peak"]
        timing_rows.append([m["size"], a["intervals"], a["points"], a["wip"], median(a["cold_s"]),
                            median(a["warm_s"]), mb(a["rss_before"]),
                            mb(peak - a["rss_before"]) if peak is not None else float("nan"),
                            f"{a['successes']}/{len(SECTION_NAMES)}"])
        section_rows.append([m["size"], *(median(a["sections_s"][name]) for name in SECTION_NAMES)])
    timing = print_table(
        f"Analytics time, seconds ({PERIOD_DAYS}-day period; median; cold = memoised populations cleared, "
        "warm = kept)",
        ["issues", "status intervals", "cycle-time points", "WIP items", "cold", "warm", "RSS before MB",
         "calc peak above it MB",
         "ok sections"], timing_rows)
    sections = print_table("Each section alone, warm, seconds", ["issues", *SECTION_NAMES], section_rows)
    targets = (f"Targets at 50,000 issues: warm <= {WARM_TARGET_S * 1000:g} ms (the period-switch budget); "
               f"cold <= {COLD_TARGET_S:g} s")
    print(targets + "\n")
    return [timing, sections, targets]


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
