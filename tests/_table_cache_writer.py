"""Test helper: a process that writes the table cache of the data directory's issue cache.

Usage (``DASHBOARD_DATA_DIR`` set):

- ``python tests/_table_cache_writer.py build`` builds the tables from the cached issues and saves them five
  times in a row (several of these at once are builders racing), then prints the number of issues;
- ``python tests/_table_cache_writer.py crash MAPPING_HASH`` saves them under that mapping hash, but the
  ``os.replace`` that would put the new file in place ends the process instead (``os._exit``, like a power cut
  or ``kill -9``), so only the complete temporary file is left behind;
- ``python tests/_table_cache_writer.py hold`` takes the tables' build turn (the lock a dashboard process
  holds while it builds), prints ``building``, takes a second, saves the tables once and lets go.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from filelock import FileLock

from configuration.paths import data_file
from configuration.settings import field_mapping_hash, merge_with_defaults
from data.metrics.issue_frame import build_issue_frames
from data.services.dashboard_service import TABLE_BUILD_LOCK, effective_settings
from data.store import json_store
from data.store.issue_cache import load_cached_issues
from data.store.table_cache import save_tables


def main() -> None:
    settings = effective_settings(merge_with_defaults({}))
    cached = load_cached_issues()
    assert cached is not None
    frames = build_issue_frames(cached.issues, settings)
    version = str(cached.meta["data_version"])
    if sys.argv[1] == "hold":
        with FileLock(str(data_file(TABLE_BUILD_LOCK))):
            print("building", flush=True)
            time.sleep(1.0)
            save_tables(frames, version, field_mapping_hash(settings))
        sys.exit(0)
    if sys.argv[1] == "crash":
        real_replace = os.replace

        def replace_or_die(source: str, target: str | os.PathLike[str]) -> None:
            if Path(target).name.startswith("tables-"):
                os._exit(1)
            real_replace(source, target)

        json_store.os.replace = replace_or_die  # type: ignore[attr-defined]
        save_tables(frames, version, sys.argv[2])
        sys.exit(0)
    for _ in range(5):
        save_tables(frames, version, field_mapping_hash(settings))
    print(len(frames.issues))


if __name__ == "__main__":
    main()
