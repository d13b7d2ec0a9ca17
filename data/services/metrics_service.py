"""All nine metrics for a period, the metrics cache around them, and the weekly Flow Load snapshot.

``calculate_all_metrics`` is pure (frames, settings, period, now in; JSON-safe MetricValue dicts out) and
is what the CLI and the exports call. ``calculate_metrics_cached`` adds the two cache layers the dashboard
needs: an in-process memo (a period switch between already-seen periods touches no file) over
``metrics_cache.json`` (TTL, LRU, mapping hash, data version; shared with other processes).
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from configuration.settings import field_mapping_hash
from data.metrics.dora_calculator import calculate_dora_metrics
from data.metrics.flow_calculator import calculate_flow_metrics, current_flow_load
from data.metrics.issue_tables import IssueFrames
from data.metrics.periods import Period
from data.metrics.teams import NONE_TEAM, restrict_to_team, team_field_id, team_names
from data.store.json_store import PersistenceError
from data.store.metrics_cache import build_cache_key, load_cached_metrics, save_cached_metrics
from data.store.metrics_snapshots import (
    load_snapshots,
    save_week_snapshots,
    team_metric_name,
    team_snapshots,
    week_label,
)
from data.store.snapshot_markers import add_recorded_marker, recorded_markers

logger = logging.getLogger(__name__)

DORA_METRICS = ("deployment_frequency", "lead_time_for_changes", "change_failure_rate", "mean_time_to_recovery")
FLOW_METRICS = ("flow_velocity", "flow_time", "flow_efficiency", "flow_load", "flow_distribution")
ALL_METRICS = DORA_METRICS + FLOW_METRICS
_MEMO_SIZE = 64
# Bumped whenever the metric rules change what a stored result means (2: coverage, trend direction from 0),
# so ``metrics_cache.json`` entries computed under older rules are recalculated instead of served.
METRIC_RULES_VERSION = 2

_memo: OrderedDict[tuple, tuple[datetime, dict[str, dict]]] = OrderedDict()
_memo_lock = threading.Lock()


def _fresh_locks_after_fork() -> None:
    """A forked child (Dash runs Update Data in one) starts with new locks: one held by another thread at the
    moment of the fork would stay held forever in the child."""
    global _memo_lock
    _memo_lock = threading.Lock()


os.register_at_fork(after_in_child=_fresh_locks_after_fork)
_snapshot_recorded: set[tuple[str, str, str]] = set()


def calculate_all_metrics(frames: IssueFrames, settings: Mapping[str, Any], period: Period, now: datetime,
                          snapshots: Mapping[str, Any] | None = None,
                          coverage: date | None = None) -> dict[str, dict]:
    """The nine MetricValues for ``period`` as JSON-safe dicts, in display order. ``coverage`` is the first
    day the data covers; by default the calculators take it from the earliest ``created`` in ``frames``
    (a caller that filtered the issues passes the one of all issues: METRICS.md, "Coverage")."""
    results = {**calculate_dora_metrics(frames, settings, period, now, coverage=coverage),
               **calculate_flow_metrics(frames, settings, period, now, snapshots=snapshots, coverage=coverage)}
    return {name: results[name].to_dict() for name in ALL_METRICS}


def calculate_metrics_cached(frames: IssueFrames, settings: Mapping[str, Any], period: Period, now: datetime, *,
                             data_version: str, team: str | None = None,
                             coverage: date | None = None) -> dict[str, dict]:
    """``calculate_all_metrics`` behind the in-process memo and ``metrics_cache.json``.

    With ``team`` (its name as the data spells it), ``frames`` are that team's tables and ``coverage`` the
    first day of all issues; the team is part of both cache keys and its Flow Load history is its own series
    of recorded weeks."""
    mapping_hash = field_mapping_hash(settings)
    cache_settings = settings.get("metrics_cache", {})
    ttl = int(cache_settings.get("ttl_seconds", 3600))
    memo_key = (data_version, mapping_hash, period.start, period.end, team)
    with _memo_lock:
        hit = _memo.get(memo_key)
        if hit and now - hit[0] < timedelta(seconds=ttl):
            _memo.move_to_end(memo_key)
            return hit[1]
    metric_type = "all" if team is None else team_metric_name("all", team)
    cache_key = build_cache_key(metric_type, period.start, period.end, mapping_hash)
    cache_version = f"{data_version}/rules-{METRIC_RULES_VERSION}"
    metrics = load_cached_metrics(cache_key, mapping_hash=mapping_hash, data_version=cache_version, now=now)
    if metrics is None:
        metrics = calculate_all_metrics(frames, settings, period, now, snapshots=snapshots_for(team),
                                        coverage=coverage)
        try:
            save_cached_metrics(cache_key, metrics, metric_type=metric_type, start=period.start, end=period.end,
                                mapping_hash=mapping_hash, data_version=cache_version, ttl_seconds=ttl,
                                max_entries=int(cache_settings.get("max_entries", 100)), now=now)
        except PersistenceError as error:  # the numbers are still right; only the cache could not be kept
            logger.warning("Could not save the metrics cache", extra={"error": str(error)})
    with _memo_lock:
        _memo[memo_key] = (now, metrics)
        while len(_memo) > _MEMO_SIZE:
            _memo.popitem(last=False)
    return metrics


def clear_memo() -> None:
    """Forget in-process results (after a mapping change or in tests)."""
    with _memo_lock:
        _memo.clear()
        _snapshot_recorded.clear()


def snapshots_for(team: str | None) -> dict[str, Any]:
    """The recorded weekly snapshots a calculation reads: all teams', or ``team``'s own series."""
    snapshots = load_snapshots()
    return snapshots if team is None else team_snapshots(snapshots, team)


def has_snapshot_to_record(settings: Mapping[str, Any], now: datetime, data_version: str) -> bool:
    """Whether ``record_flow_load_snapshot`` would still look at this week for this data version (so the
    caller builds each team's tables only when they are needed)."""
    if not settings.get("dora_flow_config", {}).get("wip_statuses"):
        return False
    return not _already_recorded((str(data_version), field_mapping_hash(settings), week_label(now)))


def _already_recorded(marker: tuple[str, str, str]) -> bool:
    """Whether this process, or an earlier one (a restart, another worker), recorded the week for the marker."""
    if marker in _snapshot_recorded:
        return True
    if marker in recorded_markers():
        _snapshot_recorded.add(marker)
        return True
    return False


def record_flow_load_snapshot(frames: IssueFrames, settings: Mapping[str, Any], now: datetime, *,
                              data_version: str | None = None,
                              teams: Mapping[str, IssueFrames] | None = None) -> dict[str, Any] | None:
    """Save this ISO week's Flow Load (WIP now) to ``metrics_snapshots.json`` (seed 000 format), for all
    teams under ``flow_load`` and, for each of ``teams`` (name → that team's tables), under
    ``flow_load@team:<name>``.

    Written only when a stored entry of the week differs (all in one write), and checked once per data
    version and week per process, so switching periods does not rewrite the file.
    """
    label = week_label(now)
    marker = (str(data_version), field_mapping_hash(settings), label)
    if data_version is not None and _already_recorded(marker):
        return None
    if not settings.get("dora_flow_config", {}).get("wip_statuses"):
        return None  # no WIP statuses configured: a 0 here would be a fake value in the history
    snapshot = _flow_load_entry(frames, settings, now)
    entries = {"flow_load": snapshot}
    for team, team_tables in (teams or {}).items():
        entries[team_metric_name("flow_load", team)] = _flow_load_entry(team_tables, settings, now)
    stored_week = load_snapshots().get(label)
    stored_week = stored_week if isinstance(stored_week, Mapping) else {}
    changed = {name: entry for name, entry in entries.items()
               if not isinstance(stored_week.get(name), Mapping)
               or {key: stored_week[name].get(key) for key in entry} != entry}
    if changed:
        try:
            save_week_snapshots(label, changed, now=now)
        except PersistenceError as error:
            logger.warning("Could not save the Flow Load snapshot", extra={"error": str(error)})
            return None
    if data_version is not None:
        _snapshot_recorded.add(marker)
        add_recorded_marker(marker)
    return snapshot


def each_team(frames: IssueFrames) -> dict[str, IssueFrames]:
    """Every team's tables (name → tables; ``(none)`` left out: it is not a team to follow), empty when no team
    field is set: what ``record_flow_load_snapshot`` records a team series from."""
    if team_field_id(frames) is None:
        return {}
    return {name: restrict_to_team(frames, name) for name in team_names(frames) if name != NONE_TEAM}


def _flow_load_entry(frames: IssueFrames, settings: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    load = current_flow_load(frames, settings, now)
    return {"wip_count": int(load["wip_count"]), "by_status": load["by_status"],
            "by_issue_type": load["by_issue_type"]}
