"""Metrics cache: key format, TTL, LRU eviction, invalidation by hash / data version / cache version."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from data.store import metrics_cache as mc
from data.store.json_store import pop_persistence_warnings

T0 = datetime(2025, 1, 31, 10, 0, tzinfo=UTC)
HASH = "a3f5c8d9" + "0" * 24
OTHER_HASH = "b" * 32
METRICS = {"deployment_frequency": {"value": 45.2, "unit": "deployments/month", "error_state": "success"}}


@pytest.fixture(autouse=True)
def _no_leftover_warnings():
    pop_persistence_warnings()
    yield
    pop_persistence_warnings()


@pytest.fixture
def cache_path(isolated_data_dir: Path) -> Path:
    return isolated_data_dir / "metrics_cache.json"


def _save(key: str, *, now: datetime = T0, metrics=METRICS, **overrides) -> None:
    args = {
        "metric_type": "dora",
        "start": date(2025, 1, 1),
        "end": date(2025, 1, 31),
        "mapping_hash": HASH,
        "data_version": "v1",
        "now": now,
    }
    mc.save_cached_metrics(key, metrics, **{**args, **overrides})


def _load(key: str, *, now: datetime = T0, mapping_hash: str = HASH, data_version: str = "v1"):
    return mc.load_cached_metrics(key, mapping_hash=mapping_hash, data_version=data_version, now=now)


def test_cache_key_matches_the_seed_example():
    # Seed 001: "dora_2025-01-01_2025-01-31_a3f5c8d9" for a DORA January period and hash a3f5c8d9...
    assert mc.build_cache_key("dora", date(2025, 1, 1), date(2025, 1, 31), HASH) == (
        "dora_2025-01-01_2025-01-31_a3f5c8d9"
    )
    assert mc.build_cache_key("flow", "2025-01-01", "2025-01-31", "abc") == "flow_2025-01-01_2025-01-31_abc"


def test_save_then_load_hits_and_file_has_seed_shape(cache_path):
    _save("k")
    assert _load("k") == METRICS
    raw = orjson.loads(cache_path.read_bytes())
    assert raw["cache_version"] == "1.0"
    assert raw["max_entries"] == 100
    assert raw["eviction_policy"] == "LRU"
    entry = raw["entries"]["k"]
    assert entry["cache_key"] == "k"
    assert entry["metric_type"] == "dora"
    assert entry["field_mapping_hash"] == HASH
    assert entry["data_version"] == "v1"
    assert entry["time_period_start"] == "2025-01-01"
    assert entry["time_period_end"] == "2025-01-31"
    assert entry["calculated_at"] == "2025-01-31T10:00:00.000Z"
    assert entry["expires_at"] == "2025-01-31T11:00:00.000Z"
    assert entry["ttl_seconds"] == 3600
    assert entry["metrics"] == METRICS


def test_missing_key_or_file_is_a_miss(cache_path):
    assert _load("k") is None
    assert not cache_path.exists()
    _save("k")
    assert _load("other") is None


def test_ttl_with_injected_clock():
    _save("k")
    assert _load("k", now=T0 + timedelta(seconds=3599)) == METRICS
    assert _load("k", now=T0 + timedelta(seconds=3600)) is None
    _save("short", ttl_seconds=60)
    assert _load("short", now=T0 + timedelta(seconds=59)) == METRICS
    assert _load("short", now=T0 + timedelta(seconds=60)) is None


def test_naive_now_is_taken_as_utc():
    _save("k", now=T0.replace(tzinfo=None))
    assert _load("k", now=T0 + timedelta(minutes=59)) == METRICS


def test_mapping_hash_change_invalidates():
    _save("k")
    assert _load("k", mapping_hash=OTHER_HASH) is None
    assert _load("k", mapping_hash=HASH[:8]) is None
    assert _load("k") == METRICS


def test_data_version_change_invalidates():
    _save("k", data_version="v1")
    assert _load("k", data_version="v2") is None
    assert _load("k", data_version="v1") == METRICS


def test_cache_version_change_invalidates_and_next_save_starts_fresh(cache_path):
    _save("k")
    raw = orjson.loads(cache_path.read_bytes())
    raw["cache_version"] = "0.9"
    cache_path.write_bytes(orjson.dumps(raw))
    assert _load("k") is None
    _save("new")
    raw = orjson.loads(cache_path.read_bytes())
    assert raw["cache_version"] == "1.0"
    assert set(raw["entries"]) == {"new"}


def test_lru_evicts_the_least_recently_used_and_hits_do_not_rewrite(cache_path):
    minute = timedelta(minutes=1)
    _save("k1", now=T0, max_entries=3)
    _save("k2", now=T0 + minute, max_entries=3)
    _save("k3", now=T0 + 2 * minute, max_entries=3)
    before = cache_path.read_bytes()
    assert _load("k1", now=T0 + 3 * minute) == METRICS
    assert cache_path.read_bytes() == before
    _save("k4", now=T0 + 4 * minute, max_entries=3)
    # Last use: k1 at +3 (hit), k2 at +1, k3 at +2, k4 at +4; the least recent, k2, goes.
    raw = orjson.loads(cache_path.read_bytes())
    assert set(raw["entries"]) == {"k1", "k3", "k4"}
    assert raw["entries"]["k1"]["last_accessed"] == "2025-01-31T10:03:00.000Z"
    _save("k5", now=T0 + 5 * minute, max_entries=3)
    assert set(orjson.loads(cache_path.read_bytes())["entries"]) == {"k1", "k4", "k5"}


def test_default_limit_is_one_hundred(cache_path):
    for i in range(101):
        _save(f"k{i:03d}", now=T0 + timedelta(seconds=i))
    entries = orjson.loads(cache_path.read_bytes())["entries"]
    assert len(entries) == 100
    assert "k000" not in entries and "k100" in entries


def test_newly_saved_entry_is_never_evicted_even_with_an_older_clock(cache_path):
    _save("k1", now=T0, max_entries=1)
    _save("k0", now=T0 - timedelta(minutes=5), max_entries=1)
    assert set(orjson.loads(cache_path.read_bytes())["entries"]) == {"k0"}


def test_expired_entries_are_pruned_on_save(cache_path):
    _save("old", now=T0, ttl_seconds=60)
    _save("new", now=T0 + timedelta(seconds=61))
    assert set(orjson.loads(cache_path.read_bytes())["entries"]) == {"new"}


def test_corrupt_cache_file_is_a_miss_not_a_crash(cache_path, isolated_data_dir):
    cache_path.write_bytes(b"\x00\x01 definitely not json")
    assert _load("k") is None
    assert len(list(isolated_data_dir.glob("metrics_cache.json.corrupt-*"))) == 1
    assert pop_persistence_warnings()
    _save("k")
    assert _load("k") == METRICS


@pytest.mark.parametrize(
    "document",
    [
        b"[]",
        b'{"cache_version": "1.0", "entries": []}',
        b'{"cache_version": "1.0", "entries": {"k": "junk"}}',
        b'{"cache_version": "1.0", "entries": {"k": {"field_mapping_hash": "x"}}}',
    ],
)
def test_malformed_cache_documents_are_misses(cache_path, document):
    cache_path.write_bytes(document)
    assert _load("k") is None
    _save("k")
    assert _load("k") == METRICS


def test_invalidate_all_or_by_metric_type(cache_path):
    _save("d1")
    _save("d2")
    _save("f1", metric_type="flow")
    assert mc.invalidate_cache(metric_type="flow") == 1
    assert _load("f1") is None and _load("d1") == METRICS
    assert mc.invalidate_cache() == 2
    assert _load("d1") is None
    assert orjson.loads(cache_path.read_bytes())["entries"] == {}


def test_invalidate_without_a_file_creates_nothing(cache_path):
    assert mc.invalidate_cache() == 0
    assert not cache_path.exists()


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="positive"):
        _save("k", ttl_seconds=0)
    with pytest.raises(ValueError, match="positive"):
        _save("k", max_entries=0)
    with pytest.raises(ValueError, match="map metric names"):
        _save("k", metrics=[1, 2])


def test_unreadable_cache_file_is_a_miss(cache_path):
    cache_path.mkdir()
    assert _load("k") is None
