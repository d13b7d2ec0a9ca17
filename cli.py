"""Command line for cron jobs, scripts and tests: ``python cli.py <command> --help``.

Each command is one small function calling ``data/``; ``cli_parser.build_parser`` registers them as subcommands. A
failure prints one line, ``error: <message>``, on stderr and exits with 1 (2 for usage errors); the
traceback, if any, goes to the log file only.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from cli_parser import DEFAULT_EXPORT_DAYS, build_parser
from configuration.logging_config import redact_text, setup_logging
from configuration.settings import (
    SettingsError,
    is_demo_mode,
)
from data.services.command_arguments import (
    UsageError,
    date_arg,
    int_arg,
    load_cli_settings,
    output_path,
    period_arg,
    reported,
    time_arg,
)
from data.services.update_messages import plural

if TYPE_CHECKING:
    from data.metrics.periods import Period

logger = logging.getLogger("cli")


def _progress_printer() -> Callable[[int, int | None], None] | None:
    """A one-line ``\\r`` progress bar on stderr when it is a terminal."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int | None) -> None:
        text = f"{done}/{plural(total, 'issue')} ({done * 100 // total}%)" if total else plural(done, "issue")
        sys.stderr.write(f"\rFetching: {text}   ")
        sys.stderr.flush()

    return show


NO_SOURCE = ("no data source is configured, so there is nothing to fetch: choose Jira or Azure DevOps in the "
             "dashboard's Data source dialog, or in app_settings.json (or --settings FILE) set jira.url and "
             "jira.jql with JIRA_EMAIL + JIRA_API_TOKEN (Cloud) or JIRA_PAT (Data Center) in the environment, or "
             'source "azure_devops" with azure_devops.organization_url and azure_devops.project (optionally '
             "azure_devops.wiql_filter) and AZURE_DEVOPS_PAT in the environment; for demo data use "
             "`cli.py demo --output ISSUES.json`")


def _print_retry(message: str) -> None:
    """A retry (Jira busy or slow) on its own stderr line, so a long wait is never silent."""
    sys.stderr.write(f"\n{message}\n" if sys.stderr.isatty() else f"{message}\n")
    sys.stderr.flush()


@reported
def cmd_fetch(args: argparse.Namespace) -> int:
    """Update the issue cache from the configured source (Jira or Azure DevOps) and optionally write the issues
    to a file.

    Without a configured source (``is_demo_mode``) this is a usage error, never a silent fetch of the demo data:
    a cron job meant to fetch a team's Jira or Azure DevOps must not fill the cache with invented issues.
    """
    from data.services.command_service import fetch_issues

    output = output_path(args.output, "--output")
    settings = load_cli_settings(args.settings)
    if is_demo_mode(settings):
        raise UsageError(NO_SOURCE)
    progress = _progress_printer()
    try:
        line = fetch_issues(settings, full=args.full, progress=progress, output=output, on_retry=_print_retry)
    finally:
        if progress is not None:
            sys.stderr.write("\n")
    print(line)
    return 0


# --- metrics, snapshot, export, import-snapshots, demo ----------------------------------------------------------

def _export_period(args: argparse.Namespace, now: datetime) -> Period:
    """``--start``/``--end`` together, or the ``--days`` (default 30) days ending on ``now``'s UTC date."""
    if args.days is not None and (args.start or args.end):
        raise UsageError("use either --start/--end or --days, not both")
    if bool(args.start) != bool(args.end):
        raise UsageError("--start and --end must be given together")
    if args.start:
        return period_arg(date_arg(args.start, "--start"), date_arg(args.end, "--end"), now.date())
    days = int_arg(args.days, "--days", DEFAULT_EXPORT_DAYS, 1)
    return period_arg(now.date() - timedelta(days=days - 1), now.date(), now.date())


def _cache_settings(path: str | None) -> dict[str, Any]:
    """Settings for commands that read the issue cache: those ``fetch`` and the dashboard use with it."""
    from data.services.dashboard_service import effective_settings

    return effective_settings(load_cli_settings(path))


@reported
def cmd_metrics(args: argparse.Namespace) -> int:
    """Print the nine MetricValues for a period, computed from an issues file (nothing is cached or saved)."""
    from data.services.issues_file import gc_paused

    now = time_arg(args.now)
    period = period_arg(date_arg(args.start, "--start"), date_arg(args.end, "--end"), now.date())
    settings = load_cli_settings(args.settings)
    # Millions of small objects and no cycles: the collector would only slow their building, and resumed while
    # they live it would walk them all once more; they are freed before it resumes.
    with gc_paused():
        text, count = _metrics_text(args, settings, period, now)
    if count:
        print(f"warning: {plural(count, 'issue')} {'has' if count == 1 else 'have'} a truncated changelog (fewer "
              "histories than changelog.total); their status times may be incomplete. `cli.py fetch --output` "
              "writes complete changelogs.", file=sys.stderr)
    sys.stdout.write(text)
    return 0


def _metrics_text(args: argparse.Namespace, settings: dict[str, Any], period: Period,
                  now: datetime) -> tuple[str, int]:
    """``cmd_metrics``'s output and how many issues have a truncated changelog (the issues die on return)."""
    from data.metrics.exporters import export_metrics
    from data.services.command_service import compute_metrics
    from data.services.issues_file import load_issues_file

    loaded = load_issues_file(args.issues, settings)
    metrics = compute_metrics(loaded.issues, settings, period, now, args.team)
    text = export_metrics(args.format, metrics, period_start=period.start, period_end=period.end, generated_at=now,
                          team=args.team)
    return text, loaded.truncated_changelogs


@reported
def cmd_snapshot(args: argparse.Namespace) -> int:
    """Record this ISO week's Flow Load from the cached issues and drop weeks older than the retention."""
    from data.services.command_service import record_week_snapshot

    print(record_week_snapshot(_cache_settings(args.settings), time_arg(args.now)))
    return 0


@reported
def cmd_export(args: argparse.Namespace) -> int:
    """Write the period's metrics (from the issue cache) or, with ``--snapshots``, the snapshot history."""
    from data.metrics.exporters import export_metrics
    from data.services.command_service import cached_issues, compute_metrics, export_snapshot_history, write_text_file

    output = output_path(args.output, "--output")
    if args.snapshots:
        if args.start or args.end or args.days is not None or args.format not in (None, "json") or args.team:
            raise UsageError("--snapshots exports the whole snapshot history as JSON: "
                             "--start, --end, --days, --format and --team do not apply")
        count = export_snapshot_history(output)
        print(f"wrote {plural(count, 'week')} of snapshots to {output}")
        return 0
    now = time_arg(args.now)
    period = _export_period(args, now)
    fmt = args.format or "json"
    settings = _cache_settings(args.settings)
    metrics = compute_metrics(cached_issues(), settings, period, now, args.team)
    text = export_metrics(fmt, metrics, period_start=period.start, period_end=period.end, generated_at=now,
                          team=args.team)
    write_text_file(output, text)
    print(f"wrote {plural(len(metrics), 'metric')} for {period.start.isoformat()}..{period.end.isoformat()} as {fmt} "
          f"to {output}")
    return 0


@reported
def cmd_import_snapshots(args: argparse.Namespace) -> int:
    """Merge a snapshot export into the store (or replace the store, keeping a copy of the old history)."""
    from data.services.command_service import import_snapshot_history

    print(import_snapshot_history(args.file, replace=args.replace, now=datetime.now(UTC)))
    return 0


@reported
def cmd_import_issues(args: argparse.Namespace) -> int:
    """Make an issues file the issue cache, as if fetched (the dashboard then serves it)."""
    from data.services.issue_import import import_issues

    settings = load_cli_settings(args.settings) if args.settings else None
    print(import_issues(args.file, settings).summary())
    return 0


MAX_DEMO_ISSUES = 1_000_000  # 20 times the largest benchmark team; more would take minutes and gigabytes


@reported
def cmd_demo(args: argparse.Namespace) -> int:
    """Write the deterministic demo dataset as ``{"issues": [...]}`` (input of ``metrics --issues``)."""
    from data.services.command_service import write_demo_files

    output = output_path(args.output, "--output")
    settings_output = output_path(args.settings_output, "--settings-output")
    if settings_output is not None and output is not None and settings_output.resolve() == output.resolve():
        raise UsageError("--output and --settings-output name the same file: choose two files")
    count = int_arg(args.issues, "--issues", 2000, 1, MAX_DEMO_ISSUES)
    seed = int_arg(args.seed, "--seed", 42, 0)
    anchor = time_arg(args.anchor, "--anchor")
    if args.anchor is None:
        anchor = anchor.replace(hour=0, minute=0, second=0, microsecond=0)  # the dashboard demo's anchor
    try:
        print(write_demo_files(output, count=count, anchor=anchor, seed=seed,
                               settings_output=settings_output))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return 0


@reported
def cmd_forecast(args: argparse.Namespace) -> int:
    """Print a Monte Carlo forecast (how many items by a date, or when N items will be done) as JSON.

    Every argument is checked before the issues file is read; any problem, an unreadable file included, is one
    ``error:`` line with exit code 2.
    """
    import json

    from configuration.settings import SettingsError
    from data.metrics.forecast import (
        DEFAULT_HISTORY_DAYS,
        DEFAULT_TRIALS,
        MAX_TRIALS,
        MIN_TRIALS,
        ForecastInputError,
        check_arguments,
    )
    from data.services.command_service import compute_team_forecast
    from data.services.issues_file import IssuesInputError, gc_paused, load_issues_file

    def forecast_of_file() -> dict[str, Any]:  # the issues die on return, before the collector resumes
        return compute_team_forecast(load_issues_file(args.issues, settings).issues, settings, now, args.team,
                                     items=items, until=until, history_days=history_days, trials=trials, seed=seed)

    now = time_arg(args.now)
    items = None if args.items is None else int_arg(args.items, "--items", 0, 1)
    until = None if args.until is None else date_arg(args.until, "--until")
    history_days = int_arg(args.history_days, "--history-days", DEFAULT_HISTORY_DAYS, 1)
    trials = int_arg(args.trials, "--trials", DEFAULT_TRIALS, MIN_TRIALS, MAX_TRIALS)
    seed = int_arg(args.seed, "--seed", 0, 0)
    try:
        check_arguments(now.date(), items, until, history_days, trials)
        settings = load_cli_settings(args.settings)
        with gc_paused():
            result = forecast_of_file()
    except (ForecastInputError, SettingsError, IssuesInputError) as exc:
        raise UsageError(str(exc)) from None
    sys.stdout.write(json.dumps(result, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    return 0


@reported
def cmd_analytics(args: argparse.Namespace) -> int:
    """Print the flow analytics of a period (ANALYTICS.md) computed from an issues file, as JSON.

    Every input problem (a date, a future end, an unreadable issues or settings file) is a usage error: one
    line, exit code 2, nothing printed on stdout."""
    from configuration.settings import SettingsError
    from data.services.analytics_service import analytics_json
    from data.services.command_service import compute_team_analytics
    from data.services.issues_file import IssuesInputError, gc_paused, load_issues_file

    def analytics_of_file() -> str:  # the issues die on return, before the collector resumes
        loaded = load_issues_file(args.issues, settings)
        return analytics_json(compute_team_analytics(loaded.issues, settings, period, now, args.team))

    now = time_arg(args.now)
    period = period_arg(date_arg(args.start, "--start"), date_arg(args.end, "--end"), now.date())
    try:
        settings = load_cli_settings(args.settings)
        with gc_paused():
            text = analytics_of_file()
    except (SettingsError, IssuesInputError) as exc:
        raise UsageError(str(exc)) from None
    sys.stdout.write(text)
    return 0


@reported
def cmd_teams(args: argparse.Namespace) -> int:
    """Print the nine MetricValues of every team for a period, each as ``metrics --team`` gives it; every input
    problem (an unreadable file, no team field set) is one line with exit code 2."""
    from data.metrics.teams import teams_csv, teams_json
    from data.services.command_service import compute_team_metrics
    from data.services.issues_file import IssuesInputError, gc_paused, load_issues_file

    def team_rows() -> list[tuple[str, dict[str, dict]]]:  # the issues die on return, before the collector resumes
        return compute_team_metrics(load_issues_file(args.issues, settings).issues, settings, period, now)

    now = time_arg(args.now)
    period = period_arg(date_arg(args.start, "--start"), date_arg(args.end, "--end"), now.date())
    try:
        settings = load_cli_settings(args.settings)
        with gc_paused():
            rows = team_rows()
    except (SettingsError, IssuesInputError) as exc:
        raise UsageError(str(exc)) from None
    sys.stdout.write(teams_csv(rows) if args.format == "csv" else
                     teams_json(rows, period_start=period.start, period_end=period.end, generated_at=now))
    return 0



COMMANDS = {"fetch": cmd_fetch, "metrics": cmd_metrics, "analytics": cmd_analytics, "snapshot": cmd_snapshot,
            "export": cmd_export, "import_snapshots": cmd_import_snapshots, "demo": cmd_demo,
            "forecast": cmd_forecast, "teams": cmd_teams, "import_issues": cmd_import_issues}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(COMMANDS)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return 2
    setup_logging(console=False)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the one place a failure becomes a message instead of a traceback
        expected = _is_user_error(exc)  # a message written for the user needs no traceback in the log
        logger.error("cli %s failed: %s", args.command, exc, exc_info=not expected)
        message = " ".join(str(exc).split())
        if not expected:
            message = f"unexpected {type(exc).__name__}: {message} (the traceback is in the log file)"
        print(f"error: {redact_text(message)}", file=sys.stderr)
        return 1


def _is_user_error(exc: Exception) -> bool:
    """Whether the message of ``exc`` is written for the user (anything else is a bug and says so)."""
    try:
        return isinstance(exc, _user_errors())
    except ImportError:
        return isinstance(exc, SettingsError)


def _user_errors() -> tuple[type[BaseException], ...]:
    from data.services.command_service import USER_ERRORS

    return USER_ERRORS


if __name__ == "__main__":
    sys.exit(main())
