"""The safe JSON store: atomic writes, crash safety, locking, quarantine of damaged files, versions."""

from __future__ import annotations

import errno
import logging
import re
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import orjson
import pytest

from configuration.paths import data_dir, data_file, project_root
from data.store import json_store as persistence
from data.store.json_store import (
    NewerVersionError,
    PersistenceError,
    ensure_version,
    file_lock,
    get_version,
    pop_persistence_warnings,
    read_json,
    update_json,
    write_json_atomic,
)
from data.store.metrics_snapshots import load_snapshots

TESTS_DIR = Path(__file__).resolve().parent
QUARANTINE_RE = re.compile(r"^state\.json\.corrupt-\d{8}T\d{6}Z$")


@pytest.fixture(autouse=True)
def _no_leftover_warnings():
    pop_persistence_warnings()
    yield
    pop_persistence_warnings()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder of its own (the shared fixture puts the data directory in ``tmp_path`` too)."""
    store = tmp_path / "store"
    store.mkdir()
    return store


def _others(folder: Path, keep: str) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in {keep, keep + ".lock"})


def test_paths_follow_environment_at_call_time(tmp_path, monkeypatch):
    assert (project_root() / "configuration" / "paths.py").is_file()
    target = tmp_path / "elsewhere" / "nested"
    monkeypatch.setenv("DASHBOARD_DATA_DIR", str(target))
    assert data_dir() == target
    assert target.is_dir()
    assert data_file("metrics_cache.json") == target / "metrics_cache.json"
    monkeypatch.delenv("DASHBOARD_DATA_DIR")
    assert data_dir() == project_root()


@pytest.mark.parametrize("bad", ["", "/etc/passwd", "../outside.json", "cache/../../x.json"])
def test_data_file_refuses_names_outside_the_data_dir(bad):
    with pytest.raises(ValueError, match="relative path"):
        data_file(bad)


def test_missing_file_gives_a_fresh_default(folder):
    calls = []

    def default():
        calls.append(1)
        return {"fresh": True}

    assert read_json(folder / "absent.json", default) == {"fresh": True}
    assert calls == [1]
    assert not (folder / "absent.json").exists()


def test_round_trip_pretty_and_compact_with_numpy_and_int_keys(folder):
    path = folder / "state.json"
    data = {"count": np.int64(7), "values": np.array([1.5, 2.5]), 3: "three"}
    write_json_atomic(path, data, indent=2)
    text = path.read_text()
    assert text.startswith('{\n  "count": 7')
    assert read_json(path, dict) == {"count": 7, "values": [1.5, 2.5], "3": "three"}
    write_json_atomic(path, [1, 2], indent=None)
    assert path.read_bytes() == b"[1,2]\n"
    assert _others(folder, "state.json") == []


def test_existing_file_keeps_its_permissions(folder):
    path = folder / "secret.json"
    write_json_atomic(path, {"a": 1}, mode=0o600)
    assert path.stat().st_mode & 0o777 == 0o600
    write_json_atomic(path, {"a": 2})
    assert path.stat().st_mode & 0o777 == 0o600


def test_corrupt_file_is_quarantined_with_its_bytes(folder, caplog):
    path = folder / "state.json"
    original = b'{"weeks": {"2025-44": '
    path.write_bytes(original)
    with caplog.at_level(logging.WARNING, logger="data.store.json_store"):
        assert read_json(path, lambda: {"default": 1}) == {"default": 1}
    assert not path.exists()
    moved = _others(folder, "state.json")
    assert len(moved) == 1 and QUARANTINE_RE.match(moved[0])
    assert (folder / moved[0]).read_bytes() == original
    warnings = pop_persistence_warnings()
    assert len(warnings) == 1
    assert "state.json" in warnings[0] and moved[0] in warnings[0]
    assert moved[0] in caplog.text
    assert pop_persistence_warnings() == []


def test_wrong_top_level_type_is_quarantined(folder):
    path = folder / "state.json"
    path.write_bytes(b"[1, 2, 3]")
    assert read_json(path, dict, expect=dict) == {}
    moved = _others(folder, "state.json")
    assert len(moved) == 1 and (folder / moved[0]).read_bytes() == b"[1, 2, 3]"
    assert "expected a JSON object" in pop_persistence_warnings()[0]


def test_second_quarantine_in_the_same_second_does_not_overwrite_the_first(folder, monkeypatch):
    monkeypatch.setattr(persistence, "_utc_stamp", lambda: "20250101T000000Z")
    path = folder / "state.json"
    path.write_bytes(b"first broken")
    read_json(path, dict)
    path.write_bytes(b"second broken")
    read_json(path, dict)
    first = folder / "state.json.corrupt-20250101T000000Z"
    second = folder / "state.json.corrupt-20250101T000000Z-1"
    assert first.read_bytes() == b"first broken"
    assert second.read_bytes() == b"second broken"


def test_update_json_reads_mutates_and_writes(folder):
    path = folder / "state.json"
    assert update_json(path, lambda d: {**d, "a": 1}, dict) == {"a": 1}

    def in_place(data):
        data["b"] = 2

    assert update_json(path, in_place, dict) == {"a": 1, "b": 2}
    assert orjson.loads(path.read_bytes()) == {"a": 1, "b": 2}


def test_update_json_on_corrupt_file_starts_from_default_and_keeps_the_bad_copy(folder):
    path = folder / "state.json"
    path.write_bytes(b"{oops")
    update_json(path, lambda d: {**d, "a": 1}, dict, expect=dict)
    assert orjson.loads(path.read_bytes()) == {"a": 1}
    moved = _others(folder, "state.json")
    assert len(moved) == 1 and (folder / moved[0]).read_bytes() == b"{oops"


def test_disk_full_during_write_keeps_old_file_and_raises(folder, monkeypatch):
    path = folder / "state.json"
    write_json_atomic(path, {"old": True})
    before = path.read_bytes()

    def full_disk(_fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(persistence.os, "fsync", full_disk)
    with pytest.raises(PersistenceError, match=r"Could not save state\.json: No space left on device"):
        write_json_atomic(path, {"new": True})
    assert path.read_bytes() == before
    assert _others(folder, "state.json") == []


def test_permission_denied_creating_temp_file_raises(folder, monkeypatch):
    path = folder / "state.json"
    write_json_atomic(path, {"old": True})
    before = path.read_bytes()

    def denied(*_args, **_kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(persistence.tempfile, "mkstemp", denied)
    with pytest.raises(PersistenceError, match="Permission denied"):
        update_json(path, lambda d: {"new": True}, dict)
    assert path.read_bytes() == before


def test_failed_replace_removes_temp_file_and_keeps_target(folder, monkeypatch):
    path = folder / "state.json"
    write_json_atomic(path, {"old": True})
    before = path.read_bytes()

    def refuse(*_args):
        raise OSError(errno.EBUSY, "Device or resource busy")

    monkeypatch.setattr(persistence.os, "replace", refuse)
    with pytest.raises(PersistenceError, match="busy"):
        write_json_atomic(path, {"new": True})
    assert path.read_bytes() == before
    assert _others(folder, "state.json") == []


def test_unserialisable_data_raises_without_touching_the_file(folder):
    path = folder / "state.json"
    write_json_atomic(path, {"old": True})
    with pytest.raises(PersistenceError, match="not JSON-serialisable"):
        write_json_atomic(path, {"bad": object()})
    assert orjson.loads(path.read_bytes()) == {"old": True}


@pytest.mark.parametrize("mode", ["mid_write", "before_replace"])
def test_writer_killed_mid_write_leaves_old_file_intact(folder, mode):
    path = folder / "state.json"
    write_json_atomic(path, {"old": list(range(100))})
    before = path.read_bytes()
    proc = subprocess.run(
        [sys.executable, str(TESTS_DIR / "_crash_writer.py"), str(path), mode],
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr.decode()
    assert path.read_bytes() == before
    assert read_json(path, dict) == {"old": list(range(100))}
    leftovers = _others(folder, "state.json")
    assert len(leftovers) == 1 and leftovers[0].endswith(".tmp")


def test_eight_processes_saving_snapshots_lose_nothing(folder):
    path = folder / "metrics_snapshots.json"
    go_file = folder / "go"
    writers, calls = 8, 50
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(TESTS_DIR / "_snapshot_writer.py"),
                str(path),
                str(i),
                str(calls),
                str(go_file),
            ],
            stderr=subprocess.PIPE,
        )
        for i in range(writers)
    ]
    go_file.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    weeks = load_snapshots(path)
    # Each writer saves its own metric in every week 2024-01..2024-50: 8 x 50 = 400 distinct entries.
    stored = {
        (week, name): entry["value"] for week, metrics in weeks.items() for name, entry in metrics.items()
    }
    expected = {
        (f"2024-{w:02d}", f"writer_{i}"): i * 1000 + w for i in range(writers) for w in range(1, calls + 1)
    }
    assert len(stored) == 400
    assert stored == expected


def test_lock_is_reentrant_in_a_thread_and_exclusive_across_threads(folder):
    path = folder / "state.json"
    outcome = {}

    def contender():
        try:
            with file_lock(path, timeout=0.2):
                outcome["other"] = "acquired"
        except PersistenceError as exc:
            outcome["other"] = str(exc)

    with file_lock(path, timeout=1), file_lock(path, timeout=1):
        thread = threading.Thread(target=contender)
        thread.start()
        thread.join()
    assert outcome["other"].startswith("Timed out after 0.2 s waiting for the lock on state.json")
    thread = threading.Thread(target=contender)
    thread.start()
    thread.join()
    assert outcome["other"] == "acquired"


def test_lock_excludes_another_process(folder):
    path = folder / "state.json"
    code = (
        "import sys; sys.path.insert(0, sys.argv[2])\n"
        "from data.store.json_store import file_lock, PersistenceError\n"
        "try:\n"
        "    with file_lock(sys.argv[1], timeout=0.3): print('acquired')\n"
        "except PersistenceError: print('timeout')\n"
    )
    args = [sys.executable, "-c", code, str(path), str(project_root())]
    with file_lock(path):
        held = subprocess.run(args, capture_output=True, text=True, timeout=60)
    free = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert held.stdout.strip() == "timeout", held.stderr
    assert free.stdout.strip() == "acquired", free.stderr


def test_version_helpers_with_nested_key():
    data = ensure_version({"2025-44": {}}, 3, ("_meta", "version"))
    assert data == {"2025-44": {}, "_meta": {"version": 3}}
    assert get_version(data, ("_meta", "version")) == 3
    assert get_version(data) is None
    assert get_version([1], "version") is None


def test_newer_version_is_left_untouched_and_not_overwritten(folder):
    path = folder / "state.json"
    original = b'{"version": 9, "precious": true}'
    path.write_bytes(original)
    assert read_json(path, lambda: {"version": 1}, expect=dict, max_version=2) == {"version": 1}
    assert "newer release (schema version 9" in pop_persistence_warnings()[0]
    with pytest.raises(NewerVersionError, match="left untouched"):
        update_json(path, lambda d: {"version": 2}, dict, expect=dict, max_version=2)
    assert path.read_bytes() == original
    assert _others(folder, "state.json") == []


def test_older_or_missing_version_is_returned_as_is(folder):
    path = folder / "state.json"
    path.write_bytes(b'{"version": 1, "a": 1}')
    assert read_json(path, dict, expect=dict, max_version=2) == {"version": 1, "a": 1}
    path.write_bytes(b'{"a": 1}')
    assert read_json(path, dict, expect=dict, max_version=2) == {"a": 1}
    assert pop_persistence_warnings() == []


def test_non_integer_version_is_treated_as_corrupt(folder):
    path = folder / "state.json"
    path.write_bytes(b'{"version": "two"}')
    assert read_json(path, dict, expect=dict, max_version=2) == {}
    moved = _others(folder, "state.json")
    assert len(moved) == 1 and (folder / moved[0]).read_bytes() == b'{"version": "two"}'


def test_a_forked_process_can_lock_a_path_its_parent_locked_before(tmp_path) -> None:
    """Dash runs Update Data in a forked process; locks used by the server before the fork must not break it."""
    import os

    from data.store.json_store import update_json

    target = tmp_path / "state.json"
    update_json(target, lambda data: {"writer": "parent"}, dict)  # the parent has used this path's lock
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            update_json(target, lambda data: {**data, "writer": "child"}, dict)
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert read_json(target, dict) == {"writer": "child"}
