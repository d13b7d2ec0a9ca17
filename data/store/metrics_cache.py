"""Cache of calculated metrics (``metrics_cache.json``, seed 001 entity 3).

Why: recalculating every metric on each period switch is wasted work when neither the issues, the field
mappings nor the period changed. An entry is valid only while all of these hold: the file's
``cache_version`` is ``CACHE_VERSION``, the entry's ``field_mapping_hash`` equals the caller's mapping hash,
its ``data_version`` equals the caller's data version (the version of the fetched issues), and ``now`` is
before ``expires_at`` (``calculated_at + ttl_seconds``). Anything else is a miss, including a damaged file
(moved aside by ``data.store.json_store``) — a cache never breaks the page.

File shape::

    {"cache_version": "1.0", "max_entries": 100, "eviction_policy": "LRU",
     "entries": {"dora_2025-01-01_2025-01-31_a3f5c8d9": {"cache_key": ..., "metric_type": "dora",
         "time_period_start": ..., "time_period_end": ..., "field_mapping_hash": <full hash>,
         "data_version": "...", "metrics": {...}, "calculated_at": ..., "expires_at": ...,
         "ttl_seconds": 3600, "last_accessed": ...}}}

LRU without rewrites: a cache hit must not rewrite the file (switching the period does no file write), so
recency of hits is kept in memory per process and written into ``last_accessed`` only when an entry is
saved. Eviction on save drops expired entries, then the least recently used ones beyond ``max_entries``.
Recency from other processes' hits that were never followed by a save is not seen; that only affects
which entry is evicted first, never correctness.

A file with another ``cache_version`` is replaced by a fresh cache on the next save: the cache is derived
data and holds nothing that cannot be recalculated.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from configuration.paths import data_file
from data.store.json_store import PersistenceError, read_json, update_json

CACHE_FILE = "metrics_cache.json"
CACHE_VERSION = "1.0"
DEFAULT_TTL_SECONDS = 3600
DEFAULT_MAX_ENTRIES = 100
EVICTION_POLICY = "LRU"

logger = logging.getLogger(__name__)

_recency: dict[tuple[str, str], datetime] = {}
_recency_lock = threading.Lock()


def _fresh_locks_after_fork() -> None:
    """A forked child (Dash runs Update Data in one) starts with new locks: one held by another thread at the
    moment of the fork would stay held forever in the child."""
    global _recency_lock
    _recency_lock = threading.Lock()


os.register_at_fork(after_in_child=_fresh_locks_after_fork)


def build_cache_key(
    metric_type: str, start_date: date | datetime | str, end_date: date | datetime | str, mapping_hash: str
) -> str:
    """``f"{metric_type}_{start}_{end}_{mapping_hash[:8]}"``; dates as ISO text (``2025-01-31``)."""
    return f"{metric_type}_{_period_text(start_date)}_{_period_text(end_date)}_{mapping_hash[:8]}"


def load_cached_metrics(
    cache_key: str,
    *,
    mapping_hash: str,
    data_version: str,
    now: datetime | None = None,
    path: str | os.PathLike[str] | None = None,
) -> dict[str, Any] | None:
    """The cached ``metrics`` of ``cache_key`` if the entry is valid (see module docstring), else ``None``.

    Never writes the file (apart from moving a damaged one aside); a hit refreshes the entry's recency in
    this process only. An unreadable file is a miss, logged as a warning.
    """
    moment = _utc(now)
    target = _path(path)
    try:
        document = read_json(target, _empty_cache, expect=dict)
    except PersistenceError as exc:
        logger.warning("Metrics cache unreadable, calculating afresh: %s", exc)
        return None
    if document.get("cache_version") != CACHE_VERSION or not isinstance(document.get("entries"), dict):
        return None
    entry = document["entries"].get(cache_key)
    if not _is_valid(entry, mapping_hash=mapping_hash, data_version=str(data_version), now=moment):
        return None
    with _recency_lock:
        _recency[(_recency_scope(target), cache_key)] = moment
    return entry["metrics"]


def save_cached_metrics(
    cache_key: str,
    metrics: Mapping[str, Any],
    *,
    metric_type: str,
    start: date | datetime | str,
    end: date | datetime | str,
    mapping_hash: str,
    data_version: str,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
    max_entries: int = DEFAULT_MAX_ENTRIES,
    now: datetime | None = None,
    path: str | os.PathLike[str] | None = None,
) -> None:
    """Store ``metrics`` under ``cache_key``, prune expired entries and evict LRU beyond ``max_entries``.

    Raises ``ValueError`` for a non-positive TTL or entry limit, ``PersistenceError`` when the write fails.
    """
    if not isinstance(metrics, Mapping):
        raise ValueError(f"Cached metrics must map metric names to values, got {type(metrics).__name__}")
    if ttl_seconds <= 0 or max_entries < 1:
        raise ValueError(f"ttl_seconds and max_entries must be positive, got {ttl_seconds} and {max_entries}")
    moment = _utc(now)
    target = _path(path)
    scope = _recency_scope(target)
    entry = {
        "cache_key": cache_key,
        "metric_type": metric_type,
        "time_period_start": _period_text(start),
        "time_period_end": _period_text(end),
        "field_mapping_hash": mapping_hash,
        "data_version": str(data_version),
        "metrics": dict(metrics),
        "calculated_at": _iso(moment),
        "expires_at": _iso(moment + timedelta(seconds=ttl_seconds)),
        "ttl_seconds": ttl_seconds,
        "last_accessed": _iso(moment),
    }

    def mutate(document: dict[str, Any]) -> dict[str, Any]:
        entries = document.get("entries")
        if document.get("cache_version") != CACHE_VERSION or not isinstance(entries, dict):
            entries = {}
        entries = {
            key: old for key, old in entries.items() if isinstance(old, dict) and _expires_after(old, moment)
        }
        _merge_recency(scope, entries)
        entries[cache_key] = entry
        _evict(entries, max_entries, keep=cache_key)
        return {**_empty_cache(max_entries), "entries": entries}

    update_json(target, mutate, _empty_cache, expect=dict)
    with _recency_lock:
        _recency[(scope, cache_key)] = moment


def invalidate_cache(path: str | os.PathLike[str] | None = None, *, metric_type: str | None = None) -> int:
    """Remove all entries, or only those of ``metric_type``; returns how many were removed.

    A missing file stays missing (returns 0).
    """
    target = _path(path)
    if not target.exists():
        return 0
    removed: list[str] = []

    def mutate(document: dict[str, Any]) -> dict[str, Any]:
        entries = document.get("entries")
        if document.get("cache_version") != CACHE_VERSION or not isinstance(entries, dict):
            entries = {}
        kept = {}
        for key, entry in entries.items():
            if metric_type is None or (isinstance(entry, dict) and entry.get("metric_type") == metric_type):
                removed.append(key)
            else:
                kept[key] = entry
        limit = document.get("max_entries")
        fresh = _empty_cache(limit if isinstance(limit, int) and limit > 0 else DEFAULT_MAX_ENTRIES)
        return {**fresh, "entries": kept}

    update_json(target, mutate, _empty_cache, expect=dict)
    scope = _recency_scope(target)
    with _recency_lock:
        for key in removed:
            _recency.pop((scope, key), None)
    return len(removed)


def _is_valid(entry: Any, *, mapping_hash: str, data_version: str, now: datetime) -> bool:
    return (
        isinstance(entry, dict)
        and entry.get("field_mapping_hash") == mapping_hash
        and entry.get("data_version") == data_version
        and isinstance(entry.get("metrics"), dict)
        and _expires_after(entry, now)
    )


def _expires_after(entry: dict[str, Any], now: datetime) -> bool:
    expires = _parse(entry.get("expires_at"))
    return expires is not None and now < expires


def _merge_recency(scope: str, entries: dict[str, Any]) -> None:
    with _recency_lock:
        for key, entry in entries.items():
            seen = _recency.get((scope, key))
            stored = _parse(entry.get("last_accessed"))
            if seen is not None and (stored is None or seen > stored):
                entry["last_accessed"] = _iso(seen)


def _evict(entries: dict[str, Any], max_entries: int, *, keep: str) -> None:
    oldest_first = datetime.min.replace(tzinfo=UTC)

    def recency(key: str) -> datetime:
        entry = entries[key]
        return _parse(entry.get("last_accessed")) or _parse(entry.get("calculated_at")) or oldest_first

    candidates = sorted((key for key in entries if key != keep), key=recency)
    for key in candidates[: max(0, len(entries) - max_entries)]:
        del entries[key]


def _empty_cache(max_entries: int = DEFAULT_MAX_ENTRIES) -> dict[str, Any]:
    return {
        "cache_version": CACHE_VERSION,
        "entries": {},
        "max_entries": max_entries,
        "eviction_policy": EVICTION_POLICY,
    }


def _period_text(value: date | datetime | str) -> str:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _path(path: str | os.PathLike[str] | None) -> Path:
    return Path(path) if path is not None else data_file(CACHE_FILE)


def _recency_scope(target: Path) -> str:
    return os.path.abspath(target)
