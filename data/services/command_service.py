"""What ``cli.py`` does beyond reading its arguments: each command's work as one call, so the command line
stays a thin layer over the same services the dashboard uses.

Failures a user can act on raise ``CommandFailure`` (or one of ``USER_ERRORS``) with a message written for
them; ``cli.py`` prints it as one line.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from configuration.paths import DataDirError, data_file
from configuration.settings import SettingsError
from data.metrics.analytics import calculate_analytics
from data.metrics.forecast import forecast
from data.metrics.issue_frame import build_issue_frames
from data.metrics.issue_tables import IssueFrames
from data.metrics.periods import Period
from data.metrics.teams import TeamError, all_issues_coverage, canonical_team, restrict_to_team, team_names
from data.services.issues_file import IssuesInputError
from data.services.metrics_service import calculate_all_metrics, each_team, record_flow_load_snapshot
from data.services.update_errors import UpdateAlreadyRunning
from data.services.update_messages import plural
from data.sources.ado_errors import AzureDevOpsError
from data.sources.base import FetchCancelled, UpdateError
from data.sources.demo_data import generate_demo_issues
from data.sources.demo_fields import DEMO_SETTINGS_OVERLAY
from data.sources.jira_errors import JiraError
from data.store.issue_cache import load_cached_issues
from data.store.json_store import PersistenceError, write_bytes_atomic, write_json_atomic
from data.store.metrics_snapshots import (
    SNAPSHOTS_FILE,
    cleanup_old_snapshots,
    export_snapshots,
    import_snapshots,
    load_snapshots,
    week_label,
)


class CommandFailure(RuntimeError):
    """A command cannot do its work for a reason its message explains: exit code 1."""


USER_ERRORS: tuple[type[BaseException], ...] = (
    SettingsError, DataDirError, UpdateError, UpdateAlreadyRunning, JiraError, AzureDevOpsError, FetchCancelled,
    PersistenceError, IssuesInputError, CommandFailure, TeamError,
)
"""Errors whose message is written for the user (anything else is a bug, and the CLI says so)."""


def fetch_issues(settings: dict[str, Any], *, full: bool, progress: Callable[[int, int | None], None] | None,
                 output: Path | None, on_retry: Callable[[str], None] | None = None) -> str:
    """Update the issue cache; with ``output`` also write the issues as ``{"issues": [...]}``. The summary.

    ``on_retry(message)`` hears of each retry (e.g. Jira answering 429) so a long wait is never silent."""
    from data.services.dashboard_service import effective_settings, run_update  # the update machinery, only here

    result = run_update(effective_settings(settings), full=full, progress=progress, on_retry=on_retry)
    line = result.summary()
    if output is not None:
        issues = cached_issues()
        write_json_atomic(output, {"issues": issues}, indent=None)
        line += f"; wrote {plural(len(issues), 'issue')} to {output}"
    return line


def cached_issues() -> list[dict[str, Any]]:
    """The cached issues; ``CommandFailure`` when there are none yet."""
    cached = load_cached_issues()
    if cached is None:
        raise CommandFailure("No cached issues: run `cli.py fetch` first")
    return cached.issues


def compute_metrics(issues: list[dict[str, Any]], settings: dict[str, Any], period: Period,
                    now: datetime, team: str | None = None) -> dict[str, dict]:
    """The nine MetricValues, exactly as ``calculate_all_metrics`` gives them (with the stored snapshots);
    with ``team``, those of that team's issues (``TeamError`` for an unknown team or no team field set)."""
    frames = build_issue_frames(issues, settings)
    if team is None:
        return calculate_all_metrics(frames, settings, period, now, snapshots=load_snapshots())
    return _team_metrics(frames, settings, period, now, team, all_issues_coverage(frames))


def _team_metrics(frames: IssueFrames, settings: dict[str, Any], period: Period, now: datetime, team: str,
                  coverage: date | None) -> dict[str, dict]:
    """One team's nine MetricValues: the tables restricted once, the coverage start that of all issues.

    The recorded weekly Flow Load snapshots count every team, so a team's Flow Load history is replayed from
    its own changelogs instead."""
    return calculate_all_metrics(restrict_to_team(frames, team), settings, period, now, coverage=coverage)


def compute_team_metrics(issues: list[dict[str, Any]], settings: dict[str, Any], period: Period,
                         now: datetime) -> list[tuple[str, dict[str, dict]]]:
    """``cli.py teams``: (team, nine MetricValues) per team, sorted by name with ``(none)`` last; each exactly
    what ``compute_metrics(..., team=name)`` gives."""
    frames = build_issue_frames(issues, settings)
    coverage = all_issues_coverage(frames)
    return [(name, _team_metrics(frames, settings, period, now, name, coverage)) for name in team_names(frames)]


def team_frames(issues: list[dict[str, Any]], settings: dict[str, Any],
                team: str | None) -> tuple[IssueFrames, str | None]:
    """The tables of ``issues`` (restricted to ``team`` when given) and the team as the data spells it."""
    frames = build_issue_frames(issues, settings)
    if team is None:
        return frames, None
    return restrict_to_team(frames, team), canonical_team(frames, team)


def compute_team_analytics(issues: list[dict[str, Any]], settings: dict[str, Any], period: Period,
                           now: datetime, team: str | None) -> dict[str, Any]:
    """``cli.py analytics [--team]``: the analytics object, ``team`` set to the team's name when restricted."""
    frames, name = team_frames(issues, settings, team)
    analytics = calculate_analytics(frames, settings, period, now)
    analytics["team"] = name
    return analytics


def compute_team_forecast(issues: list[dict[str, Any]], settings: dict[str, Any], now: datetime,
                          team: str | None, **options: Any) -> dict[str, Any]:
    """``cli.py forecast [--team]``: the forecast of the (team's) issues; ``options`` are ``forecast``'s
    (``ForecastInputError`` for arguments out of rule)."""
    frames, _ = team_frames(issues, settings, team)
    return forecast(frames, settings, now, **options)


def record_week_snapshot(settings: dict[str, Any], now: datetime) -> str:
    """Record this ISO week's Flow Load from the cached issues and apply the retention; one line of result."""
    frames = build_issue_frames(cached_issues(), settings)
    label = week_label(now)
    snapshot = record_flow_load_snapshot(frames, settings, now, teams=each_team(frames))
    if snapshot is None:
        raise CommandFailure(f"could not save the Flow Load snapshot of week {label} (the reason is in the log file)")
    weeks = settings["snapshots"]["weeks_to_keep"]
    removed = cleanup_old_snapshots(weeks, today=now.date())
    line = f"week {label}: Flow Load snapshot saved, {plural(snapshot['wip_count'], 'item')} in progress"
    if removed:
        line += f"; removed {plural(removed, 'week')} older than the last {weeks}"
    return line


def export_snapshot_history(output: Path) -> int:
    """Write the snapshot history to ``output``; the number of weeks written."""
    return export_snapshots(output)


def import_snapshot_history(file: str, *, replace: bool, now: datetime) -> str:
    """Merge (or, with ``replace``, swap in) a snapshot export; a replaced history is kept in a copy first.

    Refused while ``app_settings.json`` is broken (nothing is written then); weeks older than
    ``snapshots.weeks_to_keep`` are left out and counted, since the next snapshot would delete them anyway."""
    from data.services.dashboard_service import dashboard_settings

    current = dashboard_settings()
    if current.read_only:
        raise CommandFailure(f"{current.error}; nothing was imported (fix the settings file first)")
    weeks_to_keep = int(current.settings["snapshots"]["weeks_to_keep"])
    backup = None
    if replace and load_snapshots():
        backup = data_file(f"{SNAPSHOTS_FILE}.before-import-{now.strftime('%Y%m%dT%H%M%SZ')}")
        export_snapshots(backup)
    result = import_snapshots(file, now=now, replace=replace, weeks_to_keep=weeks_to_keep)
    if not result.ok:
        if backup is not None:
            backup.unlink(missing_ok=True)
        more = f" (and {plural(len(result.errors) - 1, 'more problem')})" if len(result.errors) > 1 else ""
        raise CommandFailure(f"{result.errors[0]}{more}; nothing was imported")
    if replace:
        kept = f"; the previous history is in {backup}" if backup else ""
        return (f"replaced the snapshot history with {plural(result.added_weeks, 'week')} from {file}{kept}"
                f"{_too_old_note(result.too_old, weeks_to_keep)}")
    return (f"imported {file}: {plural(result.added_weeks, 'week')} added, "
            f"{plural(result.updated, 'entry', 'entries')} updated, {result.skipped} kept (the stored entry "
            f"was as new or newer){_too_old_note(result.too_old, weeks_to_keep)}")


def _too_old_note(too_old: int, weeks_to_keep: int) -> str:
    if not too_old:
        return ""
    return (f"; {plural(too_old, 'week')} older than the last {weeks_to_keep} left out "
            "(snapshots.weeks_to_keep)")


def write_demo_files(output: Path, *, count: int, anchor: datetime, seed: int, settings_output: Path | None) -> str:
    """Write the demo issues (and optionally the settings they need); ``ValueError`` for impossible arguments."""
    issues = generate_demo_issues(count, anchor=anchor, seed=seed)
    write_json_atomic(output, {"issues": issues}, indent=None)
    line = f"wrote {plural(len(issues), 'demo issue')} (anchor {anchor.isoformat()}, seed {seed}) to {output}"
    if settings_output is not None:
        write_json_atomic(settings_output, {"dora_flow_config": DEMO_SETTINGS_OVERLAY}, indent=2)
        line += f"; their settings to {settings_output}"
    return line


def write_text_file(path: Path, text: str) -> None:
    """Write ``text`` atomically (a reader never sees half of it); ``CommandFailure`` naming the path."""
    try:
        write_bytes_atomic(path, text.encode("utf-8"))
    except PersistenceError as error:
        cause = error.__cause__
        reason = (cause.strerror or str(cause)) if isinstance(cause, OSError) else str(error)
        raise CommandFailure(f"cannot write {path}: {reason}") from None
