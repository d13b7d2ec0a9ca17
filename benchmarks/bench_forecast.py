"""Monte Carlo forecasts: the engine in-process, and ``python cli.py forecast`` against the time to parse its input.

For each size the demo dataset (a JSON array of issues in REST shape) is loaded and its tables built once; then,
in this process, ``forecast()`` runs for 10,000 and 100,000 trials over 30- and 365-day horizons, in both modes:

- *how many* (``until`` = the anchor's day + horizon);
- *when* (``items`` = that how-many forecast's 50% answer, so the trials finish around the same horizon).

The first call per size is reported apart (it builds the memoised completion population, as after a data
update); the table shows the median of the later runs. Then, as separate processes interleaved run by run:
``cli.py forecast --issues F --settings S --now ANCHOR --until ANCHOR+30d`` against ``json.load`` and
``orjson.loads`` of F (bare ``python -c`` processes).

Targets (ANALYTICS.md): 10,000 trials × 365 days well under 150 ms in-process; ``cli.py forecast`` within 2.5x
the time to parse its input (``json.load``, as for ``cli.py metrics``).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from _common import (
    ANCHOR,
    PROJECT_ROOT,
    BenchmarkError,
    dataset_file,
    demo_settings,
    load_issues,
    mb,
    median,
    parse_args,
    print_table,
    run_measured,
    timed,
    write_results,
)

SCRIPT = Path(__file__).resolve()
RATIO_TARGET = 2.5
ENGINE_TARGET_MS = 150.0
TRIALS = (10_000, 100_000)
HORIZONS = (30, 365)
PARSERS = {
    "json.load": "import json, sys\nwith open(sys.argv[1], 'rb') as f: json.load(f)",
    "orjson.loads": "import orjson, sys, pathlib\norjson.loads(pathlib.Path(sys.argv[1]).read_bytes())",
}


def measure_engine(size: int, runs: int, results_dir: Path) -> dict[str, Any]:
    """Median milliseconds of ``forecast()`` per (mode, trials, horizon), on tables built once."""
    from data.metrics.forecast import forecast
    from data.metrics.issue_frame import build_issue_frames

    settings = demo_settings()
    frames = build_issue_frames(load_issues(size, results_dir), settings)
    today = ANCHOR.date()
    first_s, first = timed(lambda: forecast(frames, settings, ANCHOR, until=today + timedelta(days=30)))
    rows = []
    for trials in TRIALS:
        for horizon in HORIZONS:
            until = today + timedelta(days=horizon)
            how_many = [timed(lambda u=until, t=trials: forecast(frames, settings, ANCHOR, until=u, trials=t))
                        for _ in range(runs)]
            answer = how_many[-1][1]
            items = max(1, int(answer["results"]["50"] or 1))
            when = [timed(lambda n=items, t=trials: forecast(frames, settings, ANCHOR, items=n, trials=t))
                    for _ in range(runs)]
            rows.append({"trials": trials, "horizon_days": horizon, "items": items,
                         "how_many_ms": [s * 1000 for s, _ in how_many], "when_ms": [s * 1000 for s, _ in when],
                         "how_many_50": answer["results"]["50"], "when_50_days": when[-1][1]["days"]["50"],
                         "error_state": answer["error_state"]})
    return {"size": size, "first_call_ms": first_s * 1000, "first_error_state": first["error_state"],
            "rows": rows}


def _cli_command(issues: Path, settings: Path) -> list[str]:
    until = ANCHOR.date() + timedelta(days=30)
    return [str(PROJECT_ROOT / "cli.py"), "forecast", "--issues", str(issues), "--settings", str(settings),
            "--now", ANCHOR.isoformat(), "--until", until.isoformat()]


def measure_cli(size: int, runs: int, results_dir: Path, env: dict[str, str], settings: Path) -> dict[str, Any]:
    issues = dataset_file(size, results_dir)
    samples: dict[str, list[dict[str, float]]] = {"cli forecast": [], **{name: [] for name in PARSERS}}
    state = ""
    for _ in range(runs):
        cli = run_measured(_cli_command(issues, settings), env=env)
        if cli.returncode != 0:
            raise BenchmarkError(f"cli.py forecast exited with {cli.returncode}: {cli.stderr.strip()[-1500:]}")
        state = json.loads(cli.stdout)["error_state"]
        samples["cli forecast"].append({"wall_s": cli.wall_s, "peak_rss": cli.peak_rss})
        for name, code in PARSERS.items():
            parsed = run_measured(["-c", code, str(issues)], env=env)
            if parsed.returncode != 0:
                raise BenchmarkError(f"{name} exited with {parsed.returncode}: {parsed.stderr.strip()[-1500:]}")
            samples[name].append({"wall_s": parsed.wall_s, "peak_rss": parsed.peak_rss})
    walls = {name: median(s["wall_s"] for s in runs_) for name, runs_ in samples.items()}
    return {"size": size, "file_bytes": issues.stat().st_size, "samples": samples, "median_wall_s": walls,
            "ratio_json": walls["cli forecast"] / walls["json.load"],
            "ratio_orjson": walls["cli forecast"] / walls["orjson.loads"], "error_state": state}


def tables(engine: list[dict[str, Any]], cli: list[dict[str, Any]]) -> list[str]:
    rows = []
    for m in engine:
        for row in m["rows"]:
            rows.append([m["size"], row["trials"], row["horizon_days"], median(row["how_many_ms"]),
                         max(row["how_many_ms"]), row["items"], median(row["when_ms"]), max(row["when_ms"]),
                         f"{m['first_call_ms']:.1f}", row["error_state"]])
    printed = [print_table(f"Forecast engine in-process, ms (median and max of the runs after the first call); "
                           f"target 10,000 trials x 365 days well under {ENGINE_TARGET_MS:g} ms",
                           ["issues", "trials", "days", "how many", "max", "items", "when", "max",
                            "first call", "state"], rows)]
    rows = []
    for m in cli:
        walls = m["median_wall_s"]
        peaks = {name: median(mb(s["peak_rss"]) for s in runs) for name, runs in m["samples"].items()}
        rows.append([m["size"], mb(m["file_bytes"]), walls["cli forecast"], walls["json.load"], walls["orjson.loads"],
                     f"{m['ratio_json']:.2f}x", f"{m['ratio_orjson']:.2f}x", peaks["cli forecast"],
                     m["error_state"]])
    printed.append(print_table(f"cli.py forecast vs parsing its input: wall seconds (median), peak MB; "
                               f"target ratio <= {RATIO_TARGET:g}x json.load",
                               ["issues", "file MB", "cli forecast", "json.load", "orjson.loads", "ratio json",
                                "ratio orjson", "cli peak MB", "state"], rows))
    return printed


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv, sizes=(50000,), runs=5)
    folder = Path(tempfile.mkdtemp(prefix="bench-forecast-"))
    try:
        settings = folder / "settings.json"
        settings.write_text(json.dumps({"dora_flow_config": demo_settings()["dora_flow_config"]}), encoding="utf-8")
        env = {**os.environ, "DASHBOARD_DATA_DIR": str(folder / "data")}
        engine = [measure_engine(size, args.runs, args.results_dir) for size in args.sizes]
        cli = [measure_cli(size, args.runs, args.results_dir, env, settings) for size in args.sizes]
        printed = tables(engine, cli)
    except BenchmarkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    results = [{"size": e["size"], "engine": e, "cli": c} for e, c in zip(engine, cli, strict=True)]
    write_results(args.results_dir, SCRIPT.stem, args, results, printed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
