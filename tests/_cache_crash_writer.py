"""Test helper: a process that saves a new issue set and dies between the issues write and the metadata write.

Usage: ``DASHBOARD_DATA_DIR=DIR python tests/_cache_crash_writer.py`` — saves one issue (id 99) over whatever
cache ``DIR`` holds; ``os.replace`` onto ``fetch_meta.json`` ends the process instead (``os._exit``, like a
power cut or ``kill -9``), so the new ``issues.json`` is complete while the metadata still describes the
previous issue set.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data.store import issue_cache
from data.store import json_store as persistence


def main() -> None:
    real_replace = os.replace

    def replace_or_die(source: str, target: str | os.PathLike[str]) -> None:
        if Path(target).name == "fetch_meta.json":
            os._exit(1)
        real_replace(source, target)

    persistence.os.replace = replace_or_die  # type: ignore[attr-defined]
    issue = {"id": "99", "key": "NEW-99", "fields": {"summary": "written by the crashing process"}}
    meta = {"source": "jira", "url": "https://example.atlassian.net", "deployment": "cloud",
            "jql": "project = ABC", "fields": ["summary"]}
    issue_cache.save_cached_issues([issue], meta)
    sys.exit(0)


if __name__ == "__main__":
    main()
