"""The benchmark scripts still run: each at a tiny size, one run, into a temporary results folder.

Nothing is timed here (speed is what the scripts report, not what tests assert); a script passes when it exits
with 0, prints each of its tables (by their headings) and writes its JSON results with one entry per size.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

SIZE = 200
SCRIPTS = {
    "bench_calculations": (["Calculation time, seconds", "Memory, MB (RSS)"], []),
    "bench_fetch": (["Full fetch over loopback", "Update Data with nothing changed", "Issue cache (cache/issues.json)"],
                    ["--inline-caps", "5"]),
    "bench_dashboard": (["First page load after a restart", "Period switch server time"], []),
    "bench_cli": (["cli.py metrics vs parsing its input"], []),
    "bench_analytics": (["Analytics time, seconds", "Each section alone, warm, seconds"], []),
    "bench_forecast": (["Forecast engine in-process", "cli.py forecast vs parsing its input"], []),
    "bench_teams": (["Team switch, seconds", "cli.py teams vs parsing its input"], ["--cli-runs", "1"]),
    "bench_ado_fetch": (["Azure DevOps fetch over loopback"], []),
    "bench_serving": (["Memory per gunicorn worker", "Concurrent users switching periods"], ["--switches", "2"]),
}


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_benchmark_script_runs_at_a_tiny_size(script: str, tmp_path: Path) -> None:
    headings, options = SCRIPTS[script]
    results = tmp_path / "results"
    completed = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "benchmarks" / f"{script}.py"), "--sizes", str(SIZE), "--runs", "1",
         "--results-dir", str(results), *options],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=240)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-4000:]
    for heading in headings:
        assert heading in completed.stdout, f"{heading!r} missing from:\n{completed.stdout}"
    document = json.loads((results / f"{script}.json").read_text(encoding="utf-8"))
    assert document["sizes"] == [SIZE]
    assert [entry["size"] for entry in document["results"]] == [SIZE]
    assert document["tables"] and all(table.strip() for table in document["tables"])


def test_bad_sizes_are_refused_with_a_message(tmp_path: Path) -> None:
    """A size below 1 is refused with a one-line usage error (exit 2), before any dataset or result is written."""
    completed = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "benchmarks" / "bench_calculations.py"), "--sizes", "0",
         "--results-dir", str(tmp_path)], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert completed.returncode == 2
    assert "at least 1" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert not (tmp_path / "bench_calculations.json").exists()
