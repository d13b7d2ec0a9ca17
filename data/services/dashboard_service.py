"""What the dashboard's callbacks call: the loaded dataset, metrics for a period, and Update Data.

The normalised tables are built once per data version and mapping hash per process and kept in memory, so a
period or theme switch never reads the issue cache again. Update Data runs under an exclusive cross-process
lock: a second tab (or a cron job) that asks while one runs is told so instead of corrupting anything.

A broken ``app_settings.json`` makes the dashboard read-only (``dashboard_settings``): the cached issues are
shown with the last settings that worked (or, when none were recorded, the defaults with the cache's own
source, so Jira data is never taken for the demo), nothing is written (no demo preparation, no snapshot, no
metrics-cache entry) and ``run_update`` refuses with a message naming the file and the key.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from filelock import FileLock, Timeout

from configuration.paths import data_file
from configuration.secrets import load_credentials
from configuration.settings import (
    chosen_source,
    field_mapping_hash,
    is_demo_mode,
    load_settings_state,
    merge_with_defaults,
    validate_settings,
)
from data.metrics.issue_frame import build_issue_frames
from data.metrics.issue_tables import IssueFrames
from data.metrics.periods import Period
from data.metrics.teams import (
    NONE_TEAM,
    all_issues_coverage,
    canonical_team,
    restrict_to_team,
    team_field_id,
    team_names,
)
from data.services.data_update import FetchResult, update_issues
from data.services.metrics_service import (
    calculate_all_metrics,
    calculate_metrics_cached,
    has_snapshot_to_record,
    record_flow_load_snapshot,
    snapshots_for,
)
from data.services.update_errors import UpdateAlreadyRunning, UpdateRefused
from data.sources.ado_errors import AzureDevOpsError
from data.sources.base import FetchCancelled, UpdateError
from data.sources.demo_fields import DEMO_SETTINGS_OVERLAY
from data.sources.jira_errors import JiraError
from data.sources.selection import make_source
from data.store.issue_cache import load_cached_issues, load_fetch_meta
from data.store.json_store import PersistenceError
from data.store.metrics_snapshots import load_snapshots
from data.store.table_cache import load_tables, save_tables

logger = logging.getLogger(__name__)

IMPORTED_SOURCE = "file"
"""The cache's ``source`` after ``cli.py import-issues``: served as it is, replaced only by Update Data."""

# Failures whose message says it all: logged without a traceback.
_EXPECTED_FAILURES = (JiraError, AzureDevOpsError, UpdateError, PersistenceError)


@dataclass(frozen=True)
class DashboardSettings:
    """The settings the dashboard computes with (effective: demo mappings applied in demo mode) and, when
    ``app_settings.json`` is unusable, the message saying so; ``read_only`` then forbids every write."""

    settings: dict[str, Any]
    error: str | None = None

    @property
    def read_only(self) -> bool:
        return self.error is not None


@dataclass(frozen=True)
class LoadedDataset:
    frames: IssueFrames
    meta: dict[str, Any]
    data_version: str
    mapping_hash: str

    @property
    def issue_count(self) -> int:
        return len(self.frames.issues)


TABLE_BUILD_LOCK = "cache/tables.build.lock"
TABLE_BUILD_WAIT_SECONDS = 120.0  # building 50,000 issues takes a few seconds; a stuck builder is not waited for

_loaded: LoadedDataset | None = None
_loaded_lock = threading.Lock()
# One team's tables per loaded dataset: restricted once per data version and mappings, then reused by every
# card, drill-down, export, analytics and forecast of that team. Keyed by the dataset object itself, so a
# new data version (a new LoadedDataset) starts afresh.
_team_tables: dict[str, IssueFrames] = {}
_team_tables_of: LoadedDataset | None = None
_team_lock = threading.Lock()


def _fresh_locks_after_fork() -> None:
    """A forked child (Dash runs Update Data in one) starts with new locks: one held by another thread at the
    moment of the fork would stay held forever in the child."""
    global _loaded_lock, _team_lock
    _loaded_lock = threading.Lock()
    _team_lock = threading.Lock()


os.register_at_fork(after_in_child=_fresh_locks_after_fork)


def effective_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings the calculators use: in demo mode always the demo's own mappings.

    Why always: the demo data has its own field ids and statuses, and the user's mappings (saved for their
    Jira) mean nothing to it; the mapping dialog refuses to save in demo mode, so the two never mix.
    """
    result = copy.deepcopy(dict(settings))
    config = result.get("dora_flow_config", {})
    if is_demo_mode(result):
        result["dora_flow_config"] = {**config, **copy.deepcopy(DEMO_SETTINGS_OVERLAY)}
    return result


def dashboard_settings() -> DashboardSettings:
    """The effective settings of ``app_settings.json``, or the read-only stand-in when it cannot be used."""
    state = load_settings_state()
    if not state.read_only:
        return DashboardSettings(effective_settings(state.settings))
    settings = state.settings if state.from_last_good else _defaults_for_the_cache()
    return DashboardSettings(effective_settings(settings), state.error)


def _defaults_for_the_cache() -> dict[str, Any]:
    """Defaults, but of the cache's own source: cached Jira issues stay Jira data (no demo banner, no demo
    mappings over them)."""
    meta = load_fetch_meta() or {}
    if meta.get("source") == "azure_devops":  # the identity's deployment is the project, its jql the filter
        return merge_with_defaults({"source": "azure_devops", "azure_devops": {
            "organization_url": meta.get("url") or "", "project": meta.get("deployment") or "",
            "wiql_filter": meta.get("jql") or ""}})
    if meta.get("source") != "jira":
        return merge_with_defaults({})
    return merge_with_defaults({"jira": {key: meta.get(key) or "" for key in ("url", "deployment", "jql")}})


def source_label(settings: Mapping[str, Any], meta: Mapping[str, Any] | None = None) -> str:
    """Where the shown data comes from: the configured source, or, when the cache holds issues imported with
    ``cli.py import-issues`` (``meta`` is the cache's fetch metadata), that file until the next update."""
    if meta and meta.get("source") == IMPORTED_SOURCE:
        return f"Imported file · {meta.get('jql') or 'issues'}"
    if is_demo_mode(settings):
        return "Demo data"
    if chosen_source(settings) == "azure_devops":
        block = settings.get("azure_devops", {})
        return f"Azure DevOps · {str(block.get('organization_url') or '').rstrip('/')}/{block.get('project', '')}"
    jira = settings.get("jira", {})
    kind = "Jira Cloud" if jira.get("deployment") == "cloud" else "Jira Data Center"
    return f"{kind} · {jira.get('url', '')}"


def load_dataset(settings: Mapping[str, Any]) -> LoadedDataset | None:
    """The normalised issue tables for the current cache, built at most once per data version and mappings."""
    global _loaded
    meta = load_fetch_meta()
    if not meta:
        return None
    mapping_hash = field_mapping_hash(settings)
    with _loaded_lock:
        current = _loaded
        if current and current.data_version == meta.get("data_version") and current.mapping_hash == mapping_hash:
            return current
        frames = load_tables(str(meta.get("data_version")), mapping_hash, settings)
        if frames is None:
            with _table_build_turn():  # another worker building the same tables: wait, then map its file
                frames = load_tables(str(meta.get("data_version")), mapping_hash, settings)
                if frames is None:
                    cached = load_cached_issues()
                    if cached is None:
                        return None
                    meta = cached.meta
                    frames = build_issue_frames(cached.issues, settings)
                    if _save_tables_quietly(frames, str(meta.get("data_version")), mapping_hash):
                        # serve from the file just written, as every other process will: its pages are
                        # shared, while the tables just built are this process's own memory
                        frames = load_tables(str(meta.get("data_version")), mapping_hash, settings) or frames
        _loaded = LoadedDataset(frames, dict(meta), str(meta.get("data_version")), mapping_hash)
        logger.info("Loaded the issue tables", extra={"issues": len(frames.issues),
                                                      "data_version": _loaded.data_version})
        return _loaded


@contextmanager
def _table_build_turn() -> Iterator[None]:
    """One process at a time builds the tables of a data version that has no table file yet: the others
    wait and then memory-map the file it wrote, sharing its pages instead of each keeping a private copy.
    Waiting is bounded; after ``TABLE_BUILD_WAIT_SECONDS`` a process builds on its own. Nothing is taken while
    ``app_settings.json`` is unusable: the tables built then are not saved, so there is nothing to wait for."""
    if load_settings_state().read_only:
        yield
        return
    lock = FileLock(str(data_file(TABLE_BUILD_LOCK)))
    try:
        lock.acquire(timeout=TABLE_BUILD_WAIT_SECONDS)
    except Timeout:
        yield
        return
    try:
        yield
    finally:
        lock.release()


def preload_dataset() -> threading.Thread:
    """Load the current issue tables in a background thread, so the first visitor after a start does not
    wait for them (a request meanwhile waits for this load instead of starting its own). Never fails the
    start: a problem is logged and the first request loads as before."""

    def load() -> None:
        try:
            load_dataset(dashboard_settings().settings)
        except Exception:  # the first request will meet (and report) the same problem
            logger.warning("Preloading the issue tables failed; the first request loads them", exc_info=True)

    thread = threading.Thread(target=load, name="preload-issue-tables", daemon=True)
    thread.start()
    return thread


def _save_tables_quietly(frames: IssueFrames, data_version: str, mapping_hash: str) -> bool:
    """Keep the tables just built in the table cache, so the next start maps them instead of parsing; never
    while ``app_settings.json`` is unusable (stand-in settings write nothing), never failing the caller.
    Whether the file was written."""
    if load_settings_state().read_only:
        return False
    try:
        return save_tables(frames, data_version, mapping_hash) is not None
    except PersistenceError as error:
        logger.warning("The table cache was not saved: %s", error)
        return False


def team_tables(dataset: LoadedDataset, team: str | None) -> tuple[IssueFrames, str | None]:
    """The tables of ``team`` (all of them for None) and its name as the data spells it.

    ``TeamError`` for an unknown team or when no team field is set: the page validates the selection first,
    so an unknown name here is never quietly shown as all teams."""
    global _team_tables_of
    if team is None:
        return dataset.frames, None
    name = canonical_team(dataset.frames, team)
    with _team_lock:
        if _team_tables_of is not dataset:
            _team_tables.clear()
            _team_tables_of = dataset
        frames = _team_tables.get(name)
        if frames is None:
            frames = restrict_to_team(dataset.frames, name)
            _team_tables[name] = frames
    return frames, name


def all_team_tables(dataset: LoadedDataset) -> dict[str, IssueFrames]:
    """Every team's tables (name → tables; ``(none)`` left out: it is not a team to follow), empty when no
    team field is set: the per-team Flow Load snapshots are recorded from these."""
    if team_field_id(dataset.frames) is None:
        return {}
    return {name: team_tables(dataset, name)[0] for name in team_names(dataset.frames) if name != NONE_TEAM}


def ensure_demo_data(settings: Mapping[str, Any]) -> None:
    """In demo mode with no cached data yet, build the demo dataset through the normal update path.

    Never while ``app_settings.json`` is unusable: its defaults would say "demo" and replace cached Jira data.
    """
    if not is_demo_mode(settings) or load_settings_state().read_only:
        return
    meta = load_fetch_meta()
    if meta and meta.get("source") in ("demo", IMPORTED_SOURCE):  # imported issues are kept until an update
        return
    try:
        run_update(settings, wait_seconds=30)
    except UpdateAlreadyRunning:
        logger.info("Demo data is being prepared by another process")


def metrics_for_period(settings: Mapping[str, Any], start: date, end: date, now: datetime | None = None, *,
                       read_only: bool | None = None,
                       team: str | None = None) -> tuple[dict[str, dict], LoadedDataset | None]:
    """All nine MetricValues (JSON-safe dicts) for the period, from the metrics cache when it serves.

    ``read_only`` (by default: whether ``app_settings.json`` is unusable) computes without writing the weekly
    snapshot or a metrics-cache entry: numbers from stand-in settings must not enter the history.
    ``team`` (None: all teams) restricts every population to that team's issues, with the coverage of all
    issues and the team's own Flow Load weeks; ``TeamError`` for an unknown team or no team field set.
    """
    now = now or datetime.now(UTC)
    dataset = load_dataset(settings)
    if dataset is None:
        return {}, None
    period = Period(start, end)
    frames, name = team_tables(dataset, team)
    coverage = None if name is None else all_issues_coverage(dataset.frames)
    if read_only if read_only is not None else load_settings_state().read_only:
        snapshots = snapshots_for(name) if name is not None else load_snapshots()
        return calculate_all_metrics(frames, settings, period, now, snapshots=snapshots,
                                     coverage=coverage), dataset
    # Record this week's snapshots first, so the cards (and their cache entry) already show them as recorded.
    record_flow_load_snapshot(dataset.frames, settings, now, data_version=dataset.data_version,
                              teams=_teams_to_record(dataset, settings, now))
    metrics = calculate_metrics_cached(frames, settings, period, now, data_version=dataset.data_version,
                                       team=name, coverage=coverage)
    return metrics, dataset


def _teams_to_record(dataset: LoadedDataset, settings: Mapping[str, Any], now: datetime) -> dict[str, IssueFrames]:
    """The team tables for this week's snapshot, built only when the week still has to be recorded (so a
    period switch never restricts every team again)."""
    if not has_snapshot_to_record(settings, now, dataset.data_version):
        return {}
    return all_team_tables(dataset)


def run_update(settings: Mapping[str, Any] | None = None, *, full: bool = False,
               progress: Callable[[int, int | None], None] | None = None,
               cancel: threading.Event | None = None, wait_seconds: float = 0,
               on_retry: Callable[[str], None] | None = None) -> FetchResult:
    """Update Data, exclusively: raises ``UpdateAlreadyRunning`` if another update holds the lock.

    ``settings`` default to those of ``app_settings.json`` (made effective). Raises ``UpdateRefused`` (nothing
    fetched, nothing written) when the file, or the settings given, cannot be used. ``on_retry(message)`` hears
    of each retry the source makes ("Jira busy (HTTP 429), retry 2 of 4 in 5 s"). Every failed update is
    logged at ERROR level (``logs/errors.log``); a cancelled one at INFO.
    """
    settings = _settings_for_update(settings)
    lock = FileLock(str(data_file("update.lock")))
    try:
        lock.acquire(timeout=wait_seconds)
    except Timeout:
        raise UpdateAlreadyRunning("An update is already running (another tab or a scheduled job). Wait for it "
                                   "to finish, then reload this page to see the new data.") from None
    try:
        source = make_source(settings, load_credentials(settings))
        if on_retry is not None and hasattr(source, "on_retry"):
            source.on_retry = on_retry
        result = update_issues(settings, source, full=full, progress=progress, cancel=cancel)
        if result.changed:
            _prepare_tables(settings)
        return result
    except FetchCancelled:
        logger.info("Update Data was cancelled; the previous data is kept")
        raise
    except Exception as error:
        logger.error("Update Data failed: %s", error, exc_info=not isinstance(error, _EXPECTED_FAILURES))
        raise
    finally:
        lock.release()


def _prepare_tables(settings: Mapping[str, Any]) -> None:
    """Build the new data version's tables and save them in the table cache while the update still holds its
    lock, so every server process maps them instead of parsing the issues again. A failure here is logged and
    leaves the update a success: the tables are then built on first use."""
    try:
        load_dataset(settings)
    except Exception as error:  # the issue cache is saved; the tables are only a faster way to read it
        logger.warning("The issue tables of the new data were not prepared: %s", error,
                       exc_info=not isinstance(error, PersistenceError))


def _settings_for_update(settings: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if settings is None:
        state = load_settings_state()
        if state.read_only:
            raise UpdateRefused(f"Update Data is off until the settings file is fixed. {state.problem}. Fix the "
                                "file (a wrong value may also be removed to use its default), then click Update "
                                "Data again; the cached data is kept.")
        return effective_settings(state.settings)
    errors = validate_settings(merge_with_defaults(settings))
    if errors:
        raise UpdateRefused(f"Update Data cannot run with these settings: {'; '.join(errors)}. The cached data is "
                            "kept.")
    return settings
