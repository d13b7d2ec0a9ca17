"""Test helper: a process that dies in the middle of ``write_json_atomic``.

Usage: ``python tests/_crash_writer.py PATH MODE`` where MODE is
- ``mid_write``: the process exits after writing half of the new bytes to the temp file;
- ``before_replace``: the temp file is complete and fsynced, the process exits instead of ``os.replace``.
``os._exit`` skips every cleanup handler, like a power cut or ``kill -9``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data.store import json_store as persistence


def main() -> None:
    target, mode = sys.argv[1], sys.argv[2]
    real_write = os.write

    def half_write_then_die(fd: int, data: bytes) -> int:
        real_write(fd, bytes(data[: len(data) // 2]))
        os._exit(1)

    def die(*_args: object) -> None:
        os._exit(1)

    if mode == "mid_write":
        persistence.os.write = half_write_then_die  # type: ignore[attr-defined]
    elif mode == "before_replace":
        persistence.os.replace = die  # type: ignore[attr-defined]
    else:
        raise SystemExit(f"unknown mode {mode}")
    persistence.write_json_atomic(target, {"new": list(range(50_000))})
    sys.exit(0)


if __name__ == "__main__":
    main()
