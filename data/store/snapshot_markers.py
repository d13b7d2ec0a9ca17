"""Which data versions already had this week's Flow Load snapshot recorded (``cache/snapshots_recorded.json``).

Recording a week's snapshot needs every team's tables; a restarted server (or another worker) would build
them all again for the first visitor only to find the week already stored. A marker
``(data version, mapping hash, ISO week)`` kept on disk says the work is done. A missing or damaged file only
means the check runs once more: the snapshot file itself is never touched here.
"""

from __future__ import annotations

from pathlib import Path

from configuration.paths import data_file
from data.store.json_store import PersistenceError, read_json, write_json_atomic

MARKERS_FILE = "cache/snapshots_recorded.json"
KEPT_MARKERS = 16  # a few data versions of the current week are plenty; older ones are never asked again

Marker = tuple[str, str, str]


def markers_path() -> Path:
    return data_file(MARKERS_FILE)


def recorded_markers() -> set[Marker]:
    """The markers on disk (empty when the file is missing, damaged or unreadable)."""
    try:
        stored = read_json(markers_path(), list, expect=list)
    except PersistenceError:
        return set()
    return {(row[0], row[1], row[2]) for row in stored
            if isinstance(row, list) and len(row) == 3 and all(isinstance(part, str) for part in row)}


def add_recorded_marker(marker: Marker) -> None:
    """Remember ``marker`` on disk, keeping the newest ``KEPT_MARKERS``. Best effort: a failed write (or a
    concurrent writer's marker lost) only means one more check after the next restart."""
    try:
        stored = read_json(markers_path(), list, expect=list)
    except PersistenceError:
        stored = []
    rows = [row for row in stored if isinstance(row, list) and tuple(row) != marker]
    try:
        write_json_atomic(markers_path(), [*rows, list(marker)][-KEPT_MARKERS:], indent=None)
    except PersistenceError:
        return
