"""Test helper: one of several processes saving snapshots into the same file at once.

Usage: ``python tests/_snapshot_writer.py PATH WRITER_ID CALLS GO_FILE``. Waits until GO_FILE exists (so all
writers start together), then saves metric ``writer_<ID>`` for weeks 2024-01 .. 2024-<CALLS>, one call each.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data.store.metrics_snapshots import save_metric_snapshot


def main() -> None:
    path, writer, calls, go_file = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
    while not go_file.exists():
        time.sleep(0.01)
    for week in range(1, calls + 1):
        save_metric_snapshot(
            f"2024-{week:02d}", f"writer_{writer}", {"value": writer * 1000 + week}, path=path
        )


if __name__ == "__main__":
    main()
