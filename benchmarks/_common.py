"""What every benchmark script shares: arguments, timing, memory, cached demo datasets, tables and JSON results.

The scripts measure the product's quality bars (PRODUCT.md "Quality bars"); tests never time anything. Each
measurement that needs its own memory figure runs in a fresh Python process (a *worker*: the same script
started with ``--worker``) that reports its figures as one JSON line on stdout; its CPU time comes from
``os.wait4`` and its peak resident memory from the child itself (see ``_PEAK_REPORTER``).

Datasets are the demo team of ``data.sources.demo_data`` with a fixed anchor and about ten status changes per issue,
written once to ``<results>/datasets/`` and reused by every script and run.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

import orjson  # noqa: E402  (after the project root is importable, like the project modules below)
import psutil  # noqa: E402

DEFAULT_RESULTS_DIR = PROJECT_ROOT / "benchmarks" / "results"
ANCHOR = datetime(2025, 6, 30, 18, 0, tzinfo=UTC)
CHANGES_PER_ISSUE = 10
SEED = 42
MB = 1024 * 1024
RESULT_MARKER = "BENCH-RESULT "


class BenchmarkError(RuntimeError):
    """A measurement could not be made (a worker failed); the message says which and why."""


# ---------------------------------------------------------------- arguments and output


def parse_args(description: str, argv: Sequence[str] | None, *, sizes: Sequence[int], runs: int,
               extra: Callable[[argparse.ArgumentParser], None] | None = None) -> argparse.Namespace:
    """The options every script takes: ``--sizes``, ``--runs``, ``--results-dir`` (and the hidden ``--worker``)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(sizes), metavar="N",
                        help=f"numbers of issues (default: {' '.join(map(str, sizes))})")
    parser.add_argument("--runs", type=int, default=runs, help=f"runs per figure; the median is shown (default {runs})")
    parser.add_argument("--results-dir", type=Path, default=DEFAULT_RESULTS_DIR,
                        help="where datasets and JSON results go (default: benchmarks/results, git-ignored)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-args", default="{}", help=argparse.SUPPRESS)
    if extra is not None:
        extra(parser)
    args = parser.parse_args(argv)
    if args.runs < 1 or any(size < 1 for size in args.sizes):
        parser.error("--runs and every --sizes value must be at least 1")
    args.results_dir = args.results_dir.resolve()
    return args


def median(values: Iterable[float]) -> float:
    values = list(values)
    return statistics.median(values) if values else float("nan")


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Print (and return) a plain-text table: a title line, the headers, a rule, right-aligned cells."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max([len(header), *(len(row[i]) for row in cells)]) for i, header in enumerate(headers)]
    lines = [title, "  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    text = "\n".join(lines)
    print(text + "\n", flush=True)
    return text


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if value != value:  # NaN: not measured
            return "-"
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def machine_info() -> dict[str, Any]:
    """The machine, and its 1/5/15-minute load averages at the end (other work on the cores skews figures)."""
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "memory_mb": round(psutil.virtual_memory().total / MB),
            "load_average": [round(value, 2) for value in os.getloadavg()]}


def write_results(results_dir: Path, script: str, args: argparse.Namespace, results: Any,
                  tables: Sequence[str]) -> Path:
    """``<results>/<script>.json``: when, where, with which options, the figures and the printed tables."""
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{script}.json"
    document = {"script": script, "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": machine_info(), "sizes": args.sizes, "runs": args.runs, "results": results,
                "tables": list(tables)}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    load = document["machine"]["load_average"]
    print(f"{document['machine']['cpus']} CPUs, load average {load[0]} / {load[1]} / {load[2]} (1/5/15 min) at the end")
    print(f"results written to {path}")
    return path


# ---------------------------------------------------------------- timing and memory


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of one call, by ``time.perf_counter``."""
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def rss_bytes() -> int:
    """Resident memory of this process now."""
    return psutil.Process().memory_info().rss


def reset_peak_rss() -> bool:
    """Restart this process's peak-RSS record (Linux ``clear_refs``); False where the kernel cannot."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_bytes() -> int:
    """Peak resident memory of this process since start or since ``reset_peak_rss`` (``VmHWM``)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def collect() -> None:
    """A full garbage collection, so memory figures do not include garbage of the previous step."""
    gc.collect()


_PEAK_REPORTER = """
import atexit, os, runpy, sys
def _report_peak():
    try:
        with open('/proc/self/status') as status:
            peak = next((line.split()[1] for line in status if line.startswith('VmHWM:')), '')
    except OSError:
        peak = ''
    with open(os.environ['BENCH_PEAK_FILE'], 'w') as out:
        out.write(peak)
atexit.register(_report_peak)
if sys.argv[1] == '-c':
    code, sys.argv = sys.argv[2], ['-c', *sys.argv[3:]]
    exec(compile(code, '<string>', 'exec'), {'__name__': '__main__'})
else:
    sys.argv = sys.argv[1:]
    sys.path[0] = os.path.dirname(os.path.abspath(sys.argv[0]))
    runpy.run_path(sys.argv[0], run_name='__main__')
"""
"""Runs a script (or ``-c CODE``) and, at exit, writes its peak RSS (``VmHWM``, KiB) to ``$BENCH_PEAK_FILE``.

Why not ``ru_maxrss`` from ``wait4``: Linux carries the parent's high-water mark into a child across
fork + exec, so a child of a large parent (the fetch benchmark's parent holds the test server's 50,000
issues) would report the parent's peak. ``VmHWM`` belongs to the memory the child itself mapped."""


@dataclass(frozen=True)
class Measured:
    """One finished child process: exit code, output, wall time, its own CPU time and peak resident memory."""

    returncode: int
    stdout: str
    stderr: str
    started: float  # time.monotonic() just before the start, comparable with the child's monotonic clock
    wall_s: float
    cpu_s: float
    peak_rss: float  # bytes; NaN when the child could not report it (killed, or no /proc)

    def result(self) -> dict[str, Any]:
        """The worker's JSON result line; ``BenchmarkError`` when the worker failed."""
        if self.returncode != 0:
            raise BenchmarkError(f"worker exited with {self.returncode}: {self.stderr.strip()[-2000:]}")
        for line in reversed(self.stdout.splitlines()):
            if line.startswith(RESULT_MARKER):
                return json.loads(line[len(RESULT_MARKER):])
        raise BenchmarkError(f"worker printed no result: {self.stdout[-500:]} {self.stderr[-1500:]}")


def run_measured(command: Sequence[str], *, env: dict[str, str] | None = None,
                 cwd: Path = PROJECT_ROOT) -> Measured:
    """Run ``python <command>`` (a script and its arguments, or ``-c CODE ...``) in a fresh interpreter.

    Wall time by the monotonic clock, CPU time from ``os.wait4`` (this child only), peak RSS as the child
    reported it (see ``_PEAK_REPORTER``).
    """
    with tempfile.TemporaryDirectory(prefix="bench-run-") as folder:
        peak_file = Path(folder) / "peak"
        out_path, err_path = Path(folder) / "out", Path(folder) / "err"
        child_env = {**(os.environ if env is None else env), "BENCH_PEAK_FILE": str(peak_file)}
        with out_path.open("wb") as out, err_path.open("wb") as err:
            started = time.monotonic()
            process = subprocess.Popen([sys.executable, "-c", _PEAK_REPORTER, *command], stdout=out, stderr=err,
                                       env=child_env, cwd=cwd)
            _, status, usage = os.wait4(process.pid, 0)
            wall = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        peak = peak_file.read_text().strip() if peak_file.exists() else ""
        return Measured(process.returncode, out_path.read_text("utf-8", "replace"),
                        err_path.read_text("utf-8", "replace"), started, wall, usage.ru_utime + usage.ru_stime,
                        int(peak) * 1024 if peak.isdigit() else float("nan"))


def run_worker(script: Path, worker: str, worker_args: dict[str, Any], *,
               env_overrides: dict[str, str] | None = None) -> Measured:
    """Start ``script --worker <worker>`` in a fresh interpreter (the figures of that process only)."""
    env = {**os.environ, **(env_overrides or {})}
    return run_measured([str(script), "--worker", worker, "--worker-args", json.dumps(worker_args)], env=env)


def emit_result(result: dict[str, Any]) -> None:
    """A worker's last word: its figures as one marked JSON line on stdout."""
    print(RESULT_MARKER + json.dumps(result), flush=True)


# ---------------------------------------------------------------- datasets and settings


def demo_settings(**jira: Any) -> dict[str, Any]:
    """Default settings with the demo's mappings and status lists (and ``jira`` keys when given)."""
    from configuration.settings import merge_with_defaults
    from data.sources.demo_fields import DEMO_SETTINGS_OVERLAY

    partial: dict[str, Any] = {"dora_flow_config": copy.deepcopy(DEMO_SETTINGS_OVERLAY)}
    if jira:
        partial["jira"] = jira
    return merge_with_defaults(partial)


def dataset_file(n_issues: int, results_dir: Path) -> Path:
    """The cached demo dataset of ``n_issues`` (a JSON array in REST shape), generated on first use."""
    folder = results_dir / "datasets"
    # "-teams": generated since the demo has its Team field (older cached files lack it)
    path = folder / f"demo-{n_issues}-c{CHANGES_PER_ISSUE}-s{SEED}-{ANCHOR:%Y%m%dT%H%M}-teams.json"
    if not path.exists():
        from data.sources.demo_data import generate_demo_issues

        folder.mkdir(parents=True, exist_ok=True)
        print(f"generating the demo dataset of {n_issues:,} issues -> {path.name}", flush=True)
        issues = generate_demo_issues(n_issues, anchor=ANCHOR, seed=SEED, changes_per_issue=CHANGES_PER_ISSUE)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_bytes(orjson.dumps(issues))
        os.replace(temporary, path)
    return path


def load_issues(n_issues: int, results_dir: Path) -> list[dict[str, Any]]:
    payload = dataset_file(n_issues, results_dir).read_bytes()
    collecting = gc.isenabled()
    gc.disable()  # millions of new dicts: the cyclic collector would rescan them again and again
    try:
        return orjson.loads(payload)
    finally:
        if collecting:
            gc.enable()


def changelog_counts(issues: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Histories, changelog items and status changes in ``issues``."""
    histories = items = status = 0
    for issue in issues:
        for history in (issue.get("changelog") or {}).get("histories") or ():
            histories += 1
            for item in history.get("items") or ():
                items += 1
                status += item.get("field") == "status" or item.get("fieldId") == "status"
    return {"histories": histories, "items": items, "status_changes": status}


def worker_args_of(args: argparse.Namespace) -> dict[str, Any]:
    return json.loads(args.worker_args)


def mb(value: float) -> float:
    return value / MB
