"""``python cli.py metrics`` end to end against the time merely to parse its input JSON.

For each size the demo dataset file (a JSON array of issues in REST shape) is the ``--issues`` input; the
settings file holds the demo's mappings. Measured as separate processes, interleaved run by run, wall time
from start to exit and peak RSS (``os.wait4``):

- ``cli.py metrics --issues F --settings S --start --end --now`` (30 days ending at the anchor, JSON output);
- the reference parse: ``gc.disable(); orjson.loads(read_bytes())`` of F, timed inside its process (read and
  parse only: no interpreter start-up, no imports, no clean-up) and, as a second reference, that whole bare
  ``python -c`` process;
- ``json.load`` of F and ``orjson.loads`` of F with the collector on (each a bare ``python -c`` process);
- ``python -c pass`` (the interpreter's own start-up, for reference).

Target: ``cli.py metrics`` end to end within 2x the in-process GC-free parse of its input (goal 1.5x); the
ratios to the GC-free parse process and to ``json.load`` (PRODUCT.md's original 2.5x) are shown too.
``--profile`` adds a cProfile of one CLI run.
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
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
    mb,
    median,
    parse_args,
    print_table,
    run_measured,
    write_results,
)

SCRIPT = Path(__file__).resolve()
RATIO_TARGET = 2.0  # cli.py metrics vs the in-process GC-free parse
RATIO_GOAL = 1.5
REFERENCE = "gc-free parse"
PARSERS = {
    REFERENCE: "import gc, orjson, pathlib, sys, time\ngc.disable()\nstart = time.perf_counter()\n"
               "orjson.loads(pathlib.Path(sys.argv[1]).read_bytes())\nprint(time.perf_counter() - start)",
    "json.load": "import json, sys\nwith open(sys.argv[1], 'rb') as f: json.load(f)",
    "orjson.loads": "import orjson, sys, pathlib\norjson.loads(pathlib.Path(sys.argv[1]).read_bytes())",
    "python -c pass": "pass",
}


def _cli_command(issues: Path, settings: Path) -> list[str]:
    end = ANCHOR.date()
    return [str(PROJECT_ROOT / "cli.py"), "metrics", "--issues", str(issues), "--settings",
            str(settings), "--start", (end - timedelta(days=29)).isoformat(), "--end", end.isoformat(),
            "--now", ANCHOR.isoformat(), "--format", "json"]


def _successes(stdout: str) -> str:
    metrics = json.loads(stdout)["metrics"]
    return f"{sum(metric['error_state'] == 'success' for metric in metrics.values())}/{len(metrics)}"


def measure(size: int, runs: int, results_dir: Path, env: dict[str, str], settings: Path) -> dict[str, Any]:
    issues = dataset_file(size, results_dir)
    samples: dict[str, list[dict[str, float]]] = {"cli metrics": [], **{name: [] for name in PARSERS}}
    ok = ""
    for _ in range(runs):
        cli = run_measured(_cli_command(issues, settings), env=env)
        if cli.returncode != 0:
            raise BenchmarkError(f"cli.py metrics exited with {cli.returncode}: {cli.stderr.strip()[-1500:]}")
        ok = _successes(cli.stdout)
        samples["cli metrics"].append({"wall_s": cli.wall_s, "peak_rss": cli.peak_rss})
        for name, code in PARSERS.items():
            parsed = run_measured(["-c", code, str(issues)], env=env)
            if parsed.returncode != 0:
                raise BenchmarkError(f"{name} exited with {parsed.returncode}: {parsed.stderr.strip()[-1500:]}")
            sample = {"wall_s": parsed.wall_s, "peak_rss": parsed.peak_rss}
            if name == REFERENCE:
                sample["in_process_s"] = float(parsed.stdout.strip())
            samples[name].append(sample)
    walls = {name: median(s["wall_s"] for s in runs_) for name, runs_ in samples.items()}
    in_process = median(s["in_process_s"] for s in samples[REFERENCE])
    return {"size": size, "file_bytes": issues.stat().st_size, "samples": samples, "median_wall_s": walls,
            "median_gc_free_parse_in_process_s": in_process,
            "ratio_gc_free_in_process": walls["cli metrics"] / in_process,
            "ratio_gc_free_process": walls["cli metrics"] / walls[REFERENCE],
            "ratio_json": walls["cli metrics"] / walls["json.load"],
            "ratio_orjson": walls["cli metrics"] / walls["orjson.loads"], "ok_metrics": ok}


def profile(size: int, results_dir: Path, settings: Path) -> str:
    """The top of a cProfile of one in-process ``cli.main`` run (cumulative time)."""
    import cli

    command = _cli_command(dataset_file(size, results_dir), settings)[1:]
    profiler = cProfile.Profile()
    stdout, sys.stdout = sys.stdout, io.StringIO()
    try:
        profiler.runcall(cli.main, command)
    finally:
        sys.stdout = stdout
    report = io.StringIO()
    pstats.Stats(profiler, stream=report).sort_stats("cumulative").print_stats(25)
    return report.getvalue()


def tables(measurements: list[dict[str, Any]]) -> list[str]:
    rows = []
    for m in measurements:
        walls = m["median_wall_s"]
        peaks = {name: median(mb(s["peak_rss"]) for s in runs) for name, runs in m["samples"].items()}
        ratio = m["ratio_gc_free_in_process"]
        verdict = "goal met" if ratio <= RATIO_GOAL else "met" if ratio <= RATIO_TARGET else "NOT met"
        rows.append([m["size"], mb(m["file_bytes"]), walls["cli metrics"], m["median_gc_free_parse_in_process_s"],
                     walls[REFERENCE], walls["json.load"], walls["orjson.loads"], walls["python -c pass"],
                     f"{ratio:.2f}x", f"{m['ratio_gc_free_process']:.2f}x", f"{m['ratio_json']:.2f}x",
                     peaks["cli metrics"], peaks[REFERENCE], m["ok_metrics"], verdict])
    return [print_table(f"cli.py metrics vs parsing its input: wall seconds (median), peak MB; target ratio <= "
                        f"{RATIO_TARGET:g}x the in-process GC-free orjson parse (goal {RATIO_GOAL:g}x)",
                        ["issues", "file MB", "cli metrics", "parse in-process", "parse process", "json.load",
                         "orjson.loads", "python -c pass", "ratio in-process", "ratio process", "ratio json",
                         "cli peak MB", "parse peak MB", "ok metrics", "target"], rows)]


def _extra_options(parser: Any) -> None:
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of one CLI run per size")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv, sizes=(10000, 50000), runs=3, extra=_extra_options)
    folder = Path(tempfile.mkdtemp(prefix="bench-cli-"))
    try:
        settings = folder / "settings.json"
        settings.write_text(json.dumps({"dora_flow_config": demo_settings()["dora_flow_config"]}), encoding="utf-8")
        env = {**os.environ, "DASHBOARD_DATA_DIR": str(folder / "data")}
        measurements = [measure(size, args.runs, args.results_dir, env, settings) for size in args.sizes]
        printed = tables(measurements)
        if args.profile:
            os.environ["DASHBOARD_DATA_DIR"] = env["DASHBOARD_DATA_DIR"]
            for size in args.sizes:
                text = profile(size, args.results_dir, settings)
                print(f"cProfile of cli.py metrics at {size:,} issues\n{text}")
                printed.append(text)
    except BenchmarkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    write_results(args.results_dir, SCRIPT.stem, args, measurements, printed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
