"""The one safe JSON store behind every state file.

Why: the dashboard is served by several threads, sometimes several worker processes, and a cron job may run
the command line at the same time. A state file must therefore never be seen half-written, two writers must
never lose each other's changes, and a damaged file must never be silently replaced.

Contract:
- ``write_json_atomic`` writes a temporary file in the target's folder, flushes and fsyncs it, then
  ``os.replace``-s it onto the target. The target is never deleted first, so a crash at any moment leaves
  either the old or the new complete file (a crash may leave a stray ``.<name>.*.tmp`` next to it).
- ``file_lock`` is a cross-process lock on ``<file>.lock`` (``filelock``), re-entrant within a thread.
- ``update_json`` is read-modify-write under that lock.
- ``read_json`` returns ``default()`` for a missing file. A file that does not parse, or whose top level is
  not of the ``expect``-ed type, is moved aside to ``<name>.corrupt-<YYYYmmddTHHMMSSZ>`` (a ``-N`` suffix
  when that name is taken), a WARNING is logged, the message is kept for the UI
  (``pop_persistence_warnings``) and ``default()`` is returned.
- Failures to write or lock raise ``PersistenceError`` with a message fit for the UI.

Schema versions: each file carries an integer version (``ensure_version`` writes it; the field may be nested,
e.g. ``("_meta", "version")``). Passing ``max_version`` to ``read_json``/``update_json`` applies this rule:
- no version or an older one: the data is returned as is; the owning module upgrades it in memory and the
  next save writes the current version;
- a version newer than this release understands (a file written by a later release): the file is left
  untouched, a warning is recorded, ``read_json`` returns ``default()`` and ``update_json`` raises
  ``NewerVersionError`` instead of overwriting it;
- a version that is not an integer makes the file unreadable, so it is moved aside like a corrupt file.
"""

from __future__ import annotations

import errno
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from filelock import FileLock, Timeout

logger = logging.getLogger(__name__)

DEFAULT_LOCK_TIMEOUT = 30.0
VersionKey = str | tuple[str, ...]

_warnings: list[str] = []
_warnings_lock = threading.Lock()
_locks: dict[tuple[int, str], FileLock] = {}
_locks_guard = threading.Lock()


def _fresh_locks_after_fork() -> None:
    """A forked child (Dash runs Update Data in one) starts with new locks: one held by another thread at the
    moment of the fork would stay held forever in the child."""
    global _warnings_lock, _locks_guard
    _warnings_lock = threading.Lock()
    _locks_guard = threading.Lock()


os.register_at_fork(after_in_child=_fresh_locks_after_fork)


class PersistenceError(RuntimeError):
    """A state file could not be written, read or locked; ``str(error)`` is a plain sentence for the UI."""


class NewerVersionError(PersistenceError):
    """The file was written by a newer release; it is kept untouched and not overwritten."""


def add_persistence_warning(message: str) -> None:
    """Log ``message`` as a warning and keep it for the UI (identical pending messages are kept once)."""
    logger.warning(message)
    with _warnings_lock:
        if message not in _warnings:
            _warnings.append(message)


def pop_persistence_warnings() -> list[str]:
    """Return the warnings recorded since the last call and forget them (thread-safe)."""
    with _warnings_lock:
        pending = list(_warnings)
        _warnings.clear()
    return pending


def _lock_for(path: Path) -> FileLock:
    lock_path = os.path.abspath(f"{path}.lock")
    # Keyed by process id too: a process forked from this one (Dash background callbacks) must build its own
    # lock objects, since a lock inherited across fork is neither held nor usable there.
    key = (os.getpid(), lock_path)
    with _locks_guard:
        lock = _locks.get(key)
        if lock is None:
            lock = FileLock(lock_path)
            _locks[key] = lock
        return lock


@contextmanager
def file_lock(path: str | os.PathLike[str], timeout: float = DEFAULT_LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the cross-process lock of ``path`` (the file ``<path>.lock``) for the ``with`` block.

    One lock object per path per process: nested use in one thread is re-entrant, other threads and
    processes wait. Raises ``PersistenceError`` after ``timeout`` seconds.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PersistenceError(f"Cannot create folder for {target.name}: {_reason(exc)}") from exc
    lock = _lock_for(target)
    try:
        lock.acquire(timeout=timeout)
    except Timeout as exc:
        raise PersistenceError(
            f"Timed out after {timeout:g} s waiting for the lock on {target.name}; "
            "another process may be busy with it"
        ) from exc
    except OSError as exc:
        raise PersistenceError(f"Cannot lock {target.name}: {_reason(exc)}") from exc
    try:
        yield
    finally:
        lock.release()


def read_json(
    path: str | os.PathLike[str],
    default: Callable[[], Any],
    *,
    expect: type | None = None,
    max_version: int | None = None,
    version_key: VersionKey = "version",
) -> Any:
    """Read ``path``; ``default()`` when missing, corrupt (moved aside) or of a newer schema version.

    Raises ``PersistenceError`` when the file exists but cannot be read (permission, a folder in the way).
    """
    target = Path(path)
    data = _read(target, default, expect)
    if max_version is not None and _version_state(data, target, max_version, version_key) != "ok":
        return default()
    return data


def read_json_in_place(path: str | os.PathLike[str], default: Callable[[], Any], *,
                       expect: type | None = None) -> Any:
    """Read a file the user edits by hand (``app_settings.json``): ``default()`` when missing, and a damaged
    file is left where it is and raised as ``PersistenceError`` saying what is wrong.

    Why not move it aside like ``read_json``: the next read would find no file and run on defaults, i.e. the
    user's configuration would silently be replaced; the user fixes their own file instead.
    """
    target = Path(path)
    raw = _read_bytes(target)
    if raw is None:
        return default()
    problem, data = _parse(raw, expect)
    if problem is not None:
        raise PersistenceError(f"{target.name} cannot be read: {problem}")
    return data


def write_json_atomic(
    path: str | os.PathLike[str],
    data: Any,
    *,
    indent: int | None = 2,
    mode: int | None = None,
) -> None:
    """Write ``data`` as JSON to ``path`` atomically (temp file, flush, fsync, ``os.replace``).

    ``indent`` of 2 (or any truthy value) pretty-prints with two spaces; ``None`` writes compact JSON.
    Non-string dict keys and numpy values are accepted. A new file gets ``mode`` if given; an existing
    file keeps its permission bits. On failure the target is untouched, the temp file removed, and
    ``PersistenceError`` raised.
    """
    target = Path(path)
    try:
        payload = orjson.dumps(data, option=_dump_options(indent))
    except TypeError as exc:
        message = f"Could not save {target.name}: data is not JSON-serialisable ({exc})"
        raise PersistenceError(message) from exc
    write_bytes_atomic(target, payload, mode=mode)


def write_bytes_atomic(path: str | os.PathLike[str], payload: bytes, *, mode: int | None = None) -> None:
    """Write ``payload`` to ``path`` atomically: the same guarantees as ``write_json_atomic``."""
    target = Path(path)
    tmp_name: str | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            _write_all(fd, payload)
            os.fsync(fd)
        finally:
            os.close(fd)
        _apply_mode(tmp_name, target, mode)
        os.replace(tmp_name, target)
        tmp_name = None
        _fsync_dir(target.parent)
    except OSError as exc:
        raise PersistenceError(f"Could not save {target.name}: {_reason(exc)}") from exc
    finally:
        if tmp_name is not None:
            _remove_quietly(tmp_name)


def update_json(
    path: str | os.PathLike[str],
    mutate: Callable[[Any], Any],
    default: Callable[[], Any],
    *,
    expect: type | None = None,
    max_version: int | None = None,
    version_key: VersionKey = "version",
    indent: int | None = 2,
    timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> Any:
    """Read-modify-write ``path`` under its lock and return the data written.

    ``mutate(data)`` returns the new data; if it returns ``None`` the (in-place modified) ``data`` is
    written. Raises ``NewerVersionError`` (file untouched) when the file carries a newer version than
    ``max_version``, ``PersistenceError`` when the lock or the write fails.
    """
    target = Path(path)
    with file_lock(target, timeout=timeout):
        current = _read(target, default, expect)
        state = "ok" if max_version is None else _version_state(current, target, max_version, version_key)
        if state == "newer":
            raise NewerVersionError(_newer_message(target, current, version_key, max_version))
        if state == "quarantined":
            current = default()
        result = mutate(current)
        new_data = current if result is None else result
        write_json_atomic(target, new_data, indent=indent)
        return new_data


def ensure_version(data: dict[str, Any], version: int, key: VersionKey = "version") -> dict[str, Any]:
    """Set the schema version field of ``data`` (creating nested dicts for a tuple key); returns ``data``."""
    keys = (key,) if isinstance(key, str) else key
    node = data
    for part in keys[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[keys[-1]] = version
    return data


def get_version(data: Any, key: VersionKey = "version") -> Any:
    """The version field of ``data`` (``None`` when absent or when ``data`` is not a dict)."""
    node = data
    for part in (key,) if isinstance(key, str) else key:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _read(target: Path, default: Callable[[], Any], expect: type | None) -> Any:
    raw = _read_bytes(target)
    if raw is None:
        return default()
    problem, data = _parse(raw, expect)
    if problem is None:
        return data
    _quarantine(target, raw, problem)
    return default()


def _read_bytes(target: Path) -> bytes | None:
    try:
        return target.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PersistenceError(f"Cannot read {target.name}: {_reason(exc)}") from exc


def _parse(raw: bytes, expect: type | None) -> tuple[str | None, Any]:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return f"invalid JSON ({exc})", None
    if expect is not None and not isinstance(data, expect):
        found = _json_type_name(type(data))
        return f"expected a JSON {_json_type_name(expect)} at the top level, found {found}", None
    return None, data


def _quarantine(target: Path, raw: bytes, problem: str) -> None:
    """Move the corrupt file aside, under the lock, unless another process already replaced it."""
    with file_lock(target):
        if _read_bytes(target) != raw:
            return
        destination = _free_quarantine_name(target)
        try:
            os.replace(target, destination)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise PersistenceError(
                f"{target.name} is damaged ({problem}) and could not be moved aside: {_reason(exc)}"
            ) from exc
    add_persistence_warning(
        f"{target.name} was damaged ({problem}); it was moved to {destination.name} and defaults are used."
    )


def _free_quarantine_name(target: Path) -> Path:
    base = target.with_name(f"{target.name}.corrupt-{_utc_stamp()}")
    candidate = base
    counter = 0
    while candidate.exists():
        counter += 1
        candidate = base.with_name(f"{base.name}-{counter}")
    return candidate


def _utc_stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _version_state(data: Any, target: Path, max_version: int, version_key: VersionKey) -> str:
    """``"ok"`` (absent, older or current), ``"newer"`` (warned) or ``"quarantined"`` (not an integer)."""
    version = get_version(data, version_key)
    if version is None:
        return "ok"
    if isinstance(version, bool) or not isinstance(version, int):
        raw = _read_bytes(target)
        if raw is not None:
            _quarantine(target, raw, f"schema version {version!r} is not a whole number")
        return "quarantined"
    if version <= max_version:
        return "ok"
    add_persistence_warning(_newer_message(target, data, version_key, max_version))
    return "newer"


def _newer_message(target: Path, data: Any, version_key: VersionKey, max_version: int) -> str:
    version = get_version(data, version_key)
    return (
        f"{target.name} was written by a newer release (schema version {version}, this release reads up to "
        f"{max_version}); it is left untouched, defaults are used and changes to it are not saved."
    )


def _dump_options(indent: int | None) -> int:
    options = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_APPEND_NEWLINE
    if indent:
        options |= orjson.OPT_INDENT_2
    return options


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.EIO, "short write")
        view = view[written:]


def _apply_mode(tmp_name: str, target: Path, mode: int | None) -> None:
    try:
        os.chmod(tmp_name, target.stat().st_mode & 0o7777)
    except FileNotFoundError:
        os.chmod(tmp_name, 0o666 & ~_UMASK if mode is None else mode)


def _read_umask() -> int:
    """The process umask, read once at import (``os.umask`` can only be read by setting it)."""
    current = os.umask(0o022)
    os.umask(current)
    return current


_UMASK = _read_umask()


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove_quietly(name: str) -> None:
    try:
        os.remove(name)
    except OSError:
        logger.warning("Could not remove temporary file %s", name)


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def _json_type_name(kind: type) -> str:
    names = {dict: "object", list: "array", str: "string", int: "number", float: "number", bool: "boolean"}
    if kind is type(None):
        return "null"
    return names.get(kind, kind.__name__)
