"""Switching team on the dashboard, and ``python cli.py teams`` against the time merely to parse its input.

Team switch (one fresh worker process per size; the tables are built first, not timed): for every team of the
demo organisation (the Team field of ``data/sources/demo_data.py``: Platform, Payments, Mobile, Growth and
``(none)``), ``restrict_to_team`` plus ``calculate_all_metrics`` (all nine metrics with sparklines and trends,
the 30 days ending at the anchor, ``coverage=`` that of all issues). *Cold* is a team not seen since the data
was loaded: the restriction is made again and its memoised populations start empty. *Warm* is a team already
seen: the restricted tables (and their memoised populations) are kept, as the dashboard keeps them per team.
"All teams" is the unrestricted calculation for reference. Target: the 150 ms period-switch budget.

``cli.py teams``: the dataset is rewritten with ten teams (the Team field set to "Team 00" ... "Team 09" in
turn) and measured as separate processes, interleaved run by run, against ``json.load`` and ``orjson.loads``
of the same file. Target: within 2.5x the ``json.load`` time.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import orjson
from _common import (
    ANCHOR,
    PROJECT_ROOT,
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
    run_measured,
    run_worker,
    timed,
    worker_args_of,
    write_results,
)

SCRIPT = Path(__file__).resolve()
SWITCH_TARGET_S = 0.150
RATIO_TARGET = 2.5
CLI_TEAMS = 10
PERIOD_DAYS = 30
PARSERS = {
    "json.load": "import json, sys\nwith open(sys.argv[1], 'rb') as f: json.load(f)",
    "orjson.loads": "import orjson, sys, pathlib\norjson.loads(pathlib.Path(sys.argv[1]).read_bytes())",
}


def _period() -> Any:
    from data.metrics.periods import Period

    return Period(ANCHOR.date() - timedelta(days=PERIOD_DAYS - 1), ANCHOR.date())


def worker_switch(job: dict[str, Any]) -> dict[str, Any]:
    from data.metrics.issue_frame import build_issue_frames
    from data.metrics.teams import all_issues_coverage, restrict_to_team, team_names
    from data.services.metrics_service import calculate_all_metrics

    settings = demo_settings()
    issues = load_issues(job["size"], Path(job["results_dir"]))
    build_s, frames = timed(partial(build_issue_frames, issues, settings))
    del issues
    collect()
    period, coverage = _period(), all_issues_coverage(frames)
    teams: dict[str, dict[str, Any]] = {}
    all_cold, all_warm = [], []
    for _ in range(job["runs"]):
        frames.memo.clear()
        all_cold.append(timed(lambda: calculate_all_metrics(frames, settings, period, ANCHOR))[0])
        all_warm.append(timed(lambda: calculate_all_metrics(frames, settings, period, ANCHOR))[0])
    for name in team_names(frames):
        figures: dict[str, Any] = {"restrict_s": [], "cold_s": [], "warm_s": []}
        for _ in range(job["runs"]):
            started = time.perf_counter()
            restricted = restrict_to_team(frames, name)
            restricted_at = time.perf_counter()
            calculate_all_metrics(restricted, settings, period, ANCHOR, coverage=coverage)
            figures["restrict_s"].append(restricted_at - started)
            figures["cold_s"].append(time.perf_counter() - started)
            seconds, metrics = timed(lambda restricted=restricted: calculate_all_metrics(
                restricted, settings, period, ANCHOR, coverage=coverage))
            figures["warm_s"].append(seconds)
        figures["issues"] = len(restricted.issues)
        figures["ok"] = f"{sum(m['error_state'] == 'success' for m in metrics.values())}/{len(metrics)}"
        teams[name] = figures
    return {"issues": len(frames.issues), "build_s": build_s, "all_cold_s": all_cold, "all_warm_s": all_warm,
            "teams": teams}


WORKERS = {"switch": worker_switch}


def ten_team_file(size: int, results_dir: Path) -> Path:
    """The dataset with its Team field set to ten teams in turn (written once next to the dataset)."""
    from data.sources.demo_fields import TEAM, option

    source = dataset_file(size, results_dir)
    path = source.with_name(source.stem + f"-{CLI_TEAMS}teams.json")
    if not path.exists():
        issues = orjson.loads(source.read_bytes())
        options = [option(str(10500 + k), f"Team {k:02d}") for k in range(CLI_TEAMS)]
        for index, issue in enumerate(issues):
            issue["fields"][TEAM] = options[index % CLI_TEAMS]
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_bytes(orjson.dumps(issues))
        os.replace(temporary, path)
    return path


def _cli_command(issues: Path, settings: Path) -> list[str]:
    period = _period()
    return [str(PROJECT_ROOT / "cli.py"), "teams", "--issues", str(issues), "--settings", str(settings),
            "--start", period.start.isoformat(), "--end", period.end.isoformat(), "--now", ANCHOR.isoformat(),
            "--format", "json"]


def measure_cli(size: int, runs: int, results_dir: Path, env: dict[str, str], settings: Path) -> dict[str, Any]:
    issues = ten_team_file(size, results_dir)
    samples: dict[str, list[dict[str, float]]] = {"cli teams": [], **{name: [] for name in PARSERS}}
    rows = 0
    for _ in range(runs):
        cli = run_measured(_cli_command(issues, settings), env=env)
        if cli.returncode != 0:
            raise BenchmarkError(f"cli.py teams exited with {cli.returncode}: {cli.stderr.strip()[-1500:]}")
        rows = len(json.loads(cli.stdout)["teams"])
        samples["cli teams"].append({"wall_s": cli.wall_s, "peak_rss": cli.peak_rss})
        for name, code in PARSERS.items():
            parsed = run_measured(["-c", code, str(issues)], env=env)
            if parsed.returncode != 0:
                raise BenchmarkError(f"{name} exited with {parsed.returncode}: {parsed.stderr.strip()[-1500:]}")
            samples[name].append({"wall_s": parsed.wall_s, "peak_rss": parsed.peak_rss})
    walls = {name: median(s["wall_s"] for s in runs_) for name, runs_ in samples.items()}
    return {"file_bytes": issues.stat().st_size, "samples": samples, "median_wall_s": walls, "teams": rows,
            "ratio_json": walls["cli teams"] / walls["json.load"],
            "ratio_orjson": walls["cli teams"] / walls["orjson.loads"]}


def measure(size: int, runs: int, cli_runs: int, results_dir: Path, env: dict[str, str],
            settings: Path) -> dict[str, Any]:
    dataset_file(size, results_dir)
    switch = run_worker(SCRIPT, "switch", {"size": size, "runs": runs, "results_dir": str(results_dir)},
                        env_overrides={"DASHBOARD_DATA_DIR": env["DASHBOARD_DATA_DIR"]})
    return {"size": size, "switch": switch.result(), "switch_process_peak": switch.peak_rss,
            "cli": measure_cli(size, cli_runs, results_dir, env, settings)}


def tables(measurements: list[dict[str, Any]]) -> list[str]:
    switch_rows, cli_rows = [], []
    for m in measurements:
        s = m["switch"]
        switch_rows.append([m["size"], "All teams", s["issues"], "", median(s["all_cold_s"]),
                            median(s["all_warm_s"]), ""])
        for name, figures in s["teams"].items():
            switch_rows.append([m["size"], name, figures["issues"], median(figures["restrict_s"]),
                                median(figures["cold_s"]), median(figures["warm_s"]), figures["ok"]])
        c = m["cli"]
        walls = c["median_wall_s"]
        cli_rows.append([m["size"], c["teams"], mb(c["file_bytes"]), walls["cli teams"], walls["json.load"],
                         walls["orjson.loads"], f"{c['ratio_json']:.2f}x", f"{c['ratio_orjson']:.2f}x",
                         median(mb(x["peak_rss"]) for x in c["samples"]["cli teams"])])
    switch = print_table(
        f"Team switch, seconds (median; {PERIOD_DAYS} days; cold = restrict + nine metrics on a team not seen "
        f"since loading, warm = team already seen); target <= {SWITCH_TARGET_S:g} s",
        ["issues", "team", "team issues", "restrict", "cold", "warm", "ok metrics"], switch_rows)
    cli = print_table(
        f"cli.py teams vs parsing its input: wall seconds (median); target ratio <= {RATIO_TARGET:g}x json.load",
        ["issues", "teams", "file MB", "cli teams", "json.load", "orjson.loads", "ratio json", "ratio orjson",
         "cli peak MB"], cli_rows)
    return [switch, cli]


def _extra_options(parser: Any) -> None:
    parser.add_argument("--cli-runs", type=int, default=3, help="runs of the cli.py teams comparison (default 3)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv, sizes=(50000,), runs=5, extra=_extra_options)
    if args.worker:
        emit_result(WORKERS[args.worker](worker_args_of(args)))
        return 0
    folder = Path(tempfile.mkdtemp(prefix="bench-teams-"))
    try:
        settings = folder / "settings.json"
        settings.write_text(json.dumps({"dora_flow_config": demo_settings()["dora_flow_config"]}), encoding="utf-8")
        env = {**os.environ, "DASHBOARD_DATA_DIR": str(folder / "data")}
        measurements = [measure(size, args.runs, max(args.cli_runs, 1), args.results_dir, env, settings)
                        for size in args.sizes]
    except BenchmarkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    write_results(args.results_dir, SCRIPT.stem, args, measurements, tables(measurements))
    return 0


if __name__ == "__main__":
    sys.exit(main())
