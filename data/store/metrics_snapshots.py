"""Weekly metric snapshots (``metrics_snapshots.json``, seed 000 format).

Why: some metrics, Flow Load (WIP) above all, cannot be rebuilt from Jira's current state, so every
calculation records the current week's value and the history grows week by week.

File format: the top level maps ISO week labels ``"%G-%V"`` (``"2025-44"``) to ``{metric_name: {..fields..,
"timestamp": "2025-10-31T17:00:00Z"}}``. The one reserved key ``"_meta"`` holds ``{"version": 1}``; the week
functions ignore it and any other key that is not a week label, and such keys are preserved on save.
Files from the seed (no ``_meta``) are read as version 1. A file from a newer release is left untouched
(see ``data.store.json_store``): reads return no data and writes raise ``NewerVersionError``.

Saving the same week and metric again replaces that entry: a week's snapshot is the latest calculation made
in that week. Weeks without data read as ``None``, never as 0, so a chart shows a gap, not a false zero.

Teams: a team's series lives in the same week object under ``"<metric>@team:<team name>"`` (for example
``"flow_load@team:Platform"``), next to the all-teams entry whose key stays ``"flow_load"``; export, import
and validation carry these keys like any other metric entry. ``team_snapshots`` gives a team's series in the
all-teams shape (``{week: {"flow_load": {...}}}``), so the calculators read it unchanged.

Import rule (``import_snapshots``): the file is validated first (every week and every field of every entry,
see ``data.store.snapshot_validation``) and nothing changes when any part is invalid.
A week new to the store is added whole. For a week+metric present on both sides the existing entry is kept
unless the imported one has a strictly later ``timestamp`` (an existing entry without a readable timestamp
counts as oldest; an imported entry without one never replaces anything). ``replace=True`` makes the store
exactly the imported weeks.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from configuration.paths import data_file
from data.store.json_store import ensure_version, read_json, update_json, write_json_atomic
from data.store.snapshot_validation import (
    META_KEY,
    parse_json_document,
    parse_timestamp,
    snapshot_document_problems,
    week_monday,
)

SNAPSHOTS_FILE = "metrics_snapshots.json"
SNAPSHOTS_VERSION = 1
VERSION_KEY = (META_KEY, "version")
DEFAULT_WEEKS_TO_KEEP = 52


@dataclass
class ImportResult:
    """Outcome of ``import_snapshots``; when ``errors`` is not empty nothing was changed."""

    added_weeks: int = 0
    updated: int = 0
    skipped: int = 0
    too_old: int = 0  # weeks before the retention window, left out (the next snapshot would delete them)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def week_label(value: date | datetime) -> str:
    """ISO week label ``"%G-%V"`` of the calendar date of ``value`` (2021-01-03 -> ``"2020-53"``)."""
    day = value.date() if isinstance(value, datetime) else value
    iso = day.isocalendar()
    return f"{iso.year:04d}-{iso.week:02d}"


def is_week_label(label: Any) -> bool:
    """True for a label of a real ISO week (``"2020-53"`` yes, ``"2021-53"`` no)."""
    return isinstance(label, str) and week_monday(label) is not None


def save_metric_snapshot(
    week_label: str,
    metric_name: str,
    metric_data: Mapping[str, Any],
    *,
    path: str | os.PathLike[str] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Store ``metric_data`` as the snapshot of ``metric_name`` for ``week_label`` and return the entry.

    A ``timestamp`` (UTC, ``...Z``; ``now`` or the current time) is added when ``metric_data`` has none.
    Runs as one locked read-modify-write, so concurrent writers in other processes are not lost.
    """
    _require_week(week_label)
    if not isinstance(metric_name, str) or not metric_name.strip():
        raise ValueError(f"Metric name must be a non-empty string, got {metric_name!r}")
    if not isinstance(metric_data, Mapping):
        kind = type(metric_data).__name__
        raise ValueError(f"Snapshot data for {metric_name} must be a JSON object, got {kind}")
    entry = dict(metric_data)
    entry.setdefault("timestamp", _utc_text(now))

    def mutate(data: dict[str, Any]) -> dict[str, Any]:
        week = data.get(week_label)
        if not isinstance(week, dict):
            week = {}
            data[week_label] = week
        week[metric_name] = entry
        return _stamp(data)

    _update(path, mutate)
    return entry


TEAM_SEPARATOR = "@team:"


def team_metric_name(metric_name: str, team: str) -> str:
    """The key of ``team``'s series of ``metric_name`` in a week object (``"flow_load@team:Platform"``)."""
    return f"{metric_name}{TEAM_SEPARATOR}{team}"


def team_snapshots(snapshots: Mapping[str, Any], team: str, metric_name: str = "flow_load") -> dict[str, Any]:
    """``team``'s weeks of ``metric_name`` under the plain metric name, as the calculators read the all-teams
    store; the team name compares case-insensitively (a team keeps its series when the data respells it)."""
    wanted = team_metric_name(metric_name, team).casefold()
    series: dict[str, Any] = {}
    for label, week in snapshots.items():
        if not is_week_label(label) or not isinstance(week, Mapping):
            continue
        for key, entry in week.items():
            if isinstance(key, str) and key.casefold() == wanted and isinstance(entry, Mapping):
                series[label] = {metric_name: dict(entry)}
                break
    return series


def save_week_snapshots(week_label: str, entries: Mapping[str, Mapping[str, Any]], *,
                        path: str | os.PathLike[str] | None = None, now: datetime | None = None) -> None:
    """Store several metric entries of one week (the all-teams one and each team's) in one locked write, so
    a week never holds one team's new value beside another's old one; each entry gets a ``timestamp``."""
    _require_week(week_label)
    stamp = _utc_text(now)
    prepared = {name: {**dict(data), "timestamp": data.get("timestamp", stamp)} for name, data in entries.items()}

    def mutate(data: dict[str, Any]) -> dict[str, Any]:
        week = data.get(week_label)
        if not isinstance(week, dict):
            week = {}
            data[week_label] = week
        week.update(prepared)
        return _stamp(data)

    _update(path, mutate)


def get_metric_snapshot(
    week_label: str, metric_name: str, *, path: str | os.PathLike[str] | None = None
) -> dict[str, Any] | None:
    """The stored snapshot of ``metric_name`` for ``week_label`` (with its timestamp), or ``None``."""
    entry = load_snapshots(path).get(week_label, {}).get(metric_name)
    return entry if isinstance(entry, dict) else None


def get_metric_weekly_values(
    week_labels: Iterable[str],
    metric_name: str,
    value_key: str,
    *,
    path: str | os.PathLike[str] | None = None,
) -> list[float | int | None]:
    """``value_key`` of ``metric_name`` for each label, aligned with ``week_labels``.

    A week without a snapshot, or whose value is missing or not a number, gives ``None``.
    The file is read once.
    """
    weeks = load_snapshots(path)
    values: list[float | int | None] = []
    for label in week_labels:
        entry = weeks.get(label, {}).get(metric_name)
        value = entry.get(value_key) if isinstance(entry, dict) else None
        values.append(value if _is_number(value) else None)
    return values


def load_snapshots(path: str | os.PathLike[str] | None = None) -> dict[str, dict[str, Any]]:
    """All weeks as ``{week_label: {metric_name: entry}}`` (seed format, without ``_meta``)."""
    raw = _read(path)
    return {label: week for label, week in raw.items() if is_week_label(label) and isinstance(week, dict)}


def save_snapshots(
    snapshots: Mapping[str, Mapping[str, Any]], path: str | os.PathLike[str] | None = None
) -> None:
    """Replace all weeks with ``snapshots`` (shaped as ``load_snapshots`` returns); other keys are kept."""
    for label, week in snapshots.items():
        _require_week(label)
        if not isinstance(week, Mapping):
            raise ValueError(f"Week {label} must map metric names to snapshots, got {type(week).__name__}")
    new_weeks = copy.deepcopy({label: dict(week) for label, week in snapshots.items()})

    def mutate(data: dict[str, Any]) -> dict[str, Any]:
        kept = {key: value for key, value in data.items() if not is_week_label(key)}
        return _stamp({**kept, **new_weeks})

    _update(path, mutate)


def retention_cutoff(weeks_to_keep: int, today: date) -> date:
    """The Monday of the oldest week kept: ``weeks_to_keep`` calendar weeks ending with ``today``'s week."""
    return today - timedelta(days=today.weekday()) - timedelta(weeks=weeks_to_keep - 1)


def cleanup_old_snapshots(
    weeks_to_keep: int = DEFAULT_WEEKS_TO_KEEP,
    *,
    path: str | os.PathLike[str] | None = None,
    today: date | None = None,
) -> int:
    """Remove weeks older than the ``weeks_to_keep`` calendar weeks ending with ``today``'s week.

    The window counts calendar weeks, not stored weeks: with ``weeks_to_keep=52`` a year of history is kept
    even if some weeks have no snapshot. Weeks after ``today`` are kept. Returns the number of weeks removed;
    the file is not rewritten when nothing is removed.
    """
    if isinstance(weeks_to_keep, bool) or not isinstance(weeks_to_keep, int) or weeks_to_keep < 1:
        raise ValueError(f"weeks_to_keep must be a whole number of at least 1, got {weeks_to_keep!r}")
    cutoff = retention_cutoff(weeks_to_keep, today or datetime.now(UTC).date())
    old = {label for label in load_snapshots(path) if week_monday(label) < cutoff}
    if not old:
        return 0
    removed: list[str] = []

    def mutate(data: dict[str, Any]) -> dict[str, Any]:
        for label in [key for key in data if is_week_label(key) and week_monday(key) < cutoff]:
            del data[label]
            removed.append(label)
        return _stamp(data)

    _update(path, mutate)
    return len(removed)


def get_snapshot_stats(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """``total_weeks``, sorted ``metrics``, ``oldest_week``, ``newest_week`` and ``file_size_kb``."""
    target = _path(path)
    weeks = load_snapshots(target)
    labels = sorted(weeks)
    metrics = sorted({name for week in weeks.values() for name in week})
    try:
        size = target.stat().st_size
    except FileNotFoundError:
        size = 0
    return {
        "total_weeks": len(labels),
        "metrics": metrics,
        "oldest_week": labels[0] if labels else None,
        "newest_week": labels[-1] if labels else None,
        "file_size_kb": round(size / 1024, 2),
    }


def export_snapshots(dest_path: str | os.PathLike[str], path: str | os.PathLike[str] | None = None) -> int:
    """Write all weeks (seed format plus ``_meta``) to ``dest_path`` atomically; returns how many."""
    weeks = load_snapshots(path)
    write_json_atomic(dest_path, _stamp(dict(sorted(weeks.items()))))
    return len(weeks)


def import_snapshots(
    source: str | os.PathLike[str] | Mapping[str, Any],
    *,
    now: datetime,
    replace: bool = False,
    path: str | os.PathLike[str] | None = None,
    weeks_to_keep: int | None = None,
) -> ImportResult:
    """Merge snapshots from a file or a dict into the store (rules in the module docstring).

    ``now`` is the moment of the import: weeks after its ISO week and timestamps after its UTC day are refused.
    Invalid input never raises: the result lists the problems in ``errors`` and the store is unchanged.
    A failing write raises ``PersistenceError``.
    """
    incoming, errors = _load_import(source, now)
    if errors:
        return ImportResult(errors=errors)
    result = ImportResult()
    if weeks_to_keep is not None:  # the retention applies to imported weeks too, and the result says so
        cutoff = retention_cutoff(weeks_to_keep, now.date())
        kept = {label: week for label, week in incoming.items() if week_monday(label) >= cutoff}
        result.too_old, incoming = len(incoming) - len(kept), kept

    def mutate(data: dict[str, Any]) -> dict[str, Any]:
        if replace:
            kept = {key: value for key, value in data.items() if not is_week_label(key)}
            result.added_weeks = len(incoming)
            return _stamp({**kept, **incoming})
        for label, week in incoming.items():
            existing = data.get(label)
            if not isinstance(existing, dict):
                data[label] = week
                result.added_weeks += 1
                continue
            for name, entry in week.items():
                if name in existing and not _is_newer_entry(entry, existing[name]):
                    result.skipped += 1
                else:
                    existing[name] = entry
                    result.updated += 1
        return _stamp(data)

    _update(path, mutate)
    return result


def _load_import(source: str | os.PathLike[str] | Mapping[str, Any],
                 now: datetime) -> tuple[dict[str, Any], list[str]]:
    if isinstance(source, Mapping):
        raw: Any = copy.deepcopy(dict(source))
        name = "the imported data"
    else:
        name = Path(source).name
        try:
            raw = parse_json_document(Path(source).read_bytes())
        except FileNotFoundError:
            return {}, [f"{name}: file not found"]
        except OSError as exc:
            return {}, [f"{name}: cannot be read ({exc.strerror or exc})"]
        except ValueError as exc:
            return {}, [f"{name}: {exc}"]
    if not isinstance(raw, dict):
        return {}, [f"{name}: expected a JSON object of weeks at the top level, such as "
                    '{"2025-44": {"flow_load": {...}}}']
    errors = [f"{name}: {problem}" for problem in snapshot_document_problems(raw, now, SNAPSHOTS_VERSION)]
    weeks = {key: value for key, value in raw.items() if key != META_KEY}
    return weeks, errors


def _is_newer_entry(incoming: dict[str, Any], existing: Any) -> bool:
    new_time = parse_timestamp(incoming.get("timestamp"))
    if new_time is None:
        return False
    old_time = parse_timestamp(existing.get("timestamp")) if isinstance(existing, dict) else None
    return old_time is None or new_time > old_time


def _require_week(label: Any) -> None:
    if not is_week_label(label):
        raise ValueError(f"{label!r} is not an ISO week label like 2025-44 (year-week, week 01-53)")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _utc_text(now: datetime | None) -> str:
    moment = now or datetime.now(UTC)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _stamp(data: dict[str, Any]) -> dict[str, Any]:
    return ensure_version(data, SNAPSHOTS_VERSION, VERSION_KEY)


def _path(path: str | os.PathLike[str] | None) -> Path:
    return Path(path) if path is not None else data_file(SNAPSHOTS_FILE)


def _read(path: str | os.PathLike[str] | None) -> dict[str, Any]:
    return read_json(_path(path), dict, expect=dict, max_version=SNAPSHOTS_VERSION, version_key=VERSION_KEY)


def _update(path: str | os.PathLike[str] | None, mutate: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    update_json(
        _path(path), mutate, dict, expect=dict, max_version=SNAPSHOTS_VERSION, version_key=VERSION_KEY
    )
