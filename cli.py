"""Command line for cron jobs, scripts and tests: ``python cli.py <command> --help``.

Each command is one small function calling ``data/``; ``build_parser`` registers them as subcommands. A
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
    one_line_errors,
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


NO_SOURCE = ("no Jira is configured, so there is nothing to fetch: set the Jira URL and JQL in the dashboard's "
             "Jira settings dialog, or jira.url and jira.jql in app_settings.json (or --settings FILE) with "
             "JIRA_EMAIL + JIRA_API_TOKEN (Cloud) or JIRA_PAT (Data Center) in the environment; for demo data "
             "use `cli.py demo --output ISSUES.json`")


def _print_retry(message: str) -> None:
    """A retry (Jira busy or slow) on its own stderr line, so a long wait is never silent."""
    sys.stderr.write(f"\n{message}\n" if sys.stderr.isatty() else f"{message}\n")
    sys.stderr.flush()


@reported
def cmd_fetch(args: argparse.Namespace) -> int:
    """Update the issue cache from the configured Jira and optionally write the issues to a file.

    Without a Jira (no ``jira.url``) this is a usage error, never a silent fetch of the demo data: a cron job
    meant to fetch a team's Jira must not fill the cache with invented issues.
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


def _add_fetch(subparsers: Any) -> None:
    parser = one_line_errors(subparsers.add_parser(
        "fetch", help="update the issue cache from the configured Jira",
        description="Fetch issues (full the first time, then incremental) from the Jira in the settings "
                    "(jira.url, jira.jql) into the data directory's cache. Credentials come from JIRA_EMAIL + "
                    "JIRA_API_TOKEN (Cloud) or JIRA_PAT (Data Center). Without a Jira it exits with 2; "
                    "`cli.py demo` writes the demo data."))
    parser.add_argument("--settings", metavar="SETTINGS.json",
                        help="settings file (may be partial); default: the data directory's settings")
    parser.add_argument("--full", action="store_true",
                        help="also reconcile: drop cached issues deleted in Jira or no longer in the JQL")
    parser.add_argument("--output", metavar="ISSUES.json",
                        help='also write the issues as {"issues": [...]} (input of "metrics --issues")')
    parser.set_defaults(func=cmd_fetch)


# --- metrics, snapshot, export, import-snapshots, demo ----------------------------------------------------------

DEFAULT_EXPORT_DAYS = 30


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
    from data.metrics.exporters import export_metrics
    from data.services.command_service import compute_metrics
    from data.services.issues_file import load_issues_file

    now = time_arg(args.now)
    period = period_arg(date_arg(args.start, "--start"), date_arg(args.end, "--end"), now.date())
    settings = load_cli_settings(args.settings)
    loaded = load_issues_file(args.issues)
    metrics = compute_metrics(loaded.issues, settings, period, now, args.team)
    if loaded.truncated_changelogs:
        count = loaded.truncated_changelogs
        print(f"warning: {plural(count, 'issue')} {'has' if count == 1 else 'have'} a truncated changelog (fewer "
              "histories than changelog.total); their status times may be incomplete. `cli.py fetch --output` "
              "writes complete changelogs.", file=sys.stderr)
    sys.stdout.write(export_metrics(args.format, metrics, period_start=period.start, period_end=period.end,
                                    generated_at=now, team=args.team))
    return 0


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
    from data.services.issues_file import IssuesInputError, load_issues_file

    now = time_arg(args.now)
    items = None if args.items is None else int_arg(args.items, "--items", 0, 1)
    until = None if args.until is None else date_arg(args.until, "--until")
    history_days = int_arg(args.history_days, "--history-days", DEFAULT_HISTORY_DAYS, 1)
    trials = int_arg(args.trials, "--trials", DEFAULT_TRIALS, MIN_TRIALS, MAX_TRIALS)
    seed = int_arg(args.seed, "--seed", 0, 0)
    try:
        check_arguments(now.date(), items, until, history_days, trials)
        settings = load_cli_settings(args.settings)
        issues = load_issues_file(args.issues).issues
        result = compute_team_forecast(issues, settings, now, args.team, items=items, until=until,
                                       history_days=history_days, trials=trials, seed=seed)
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
    from data.services.issues_file import IssuesInputError, load_issues_file

    now = time_arg(args.now)
    period = period_arg(date_arg(args.start, "--start"), date_arg(args.end, "--end"), now.date())
    try:
        settings = load_cli_settings(args.settings)
        loaded = load_issues_file(args.issues)
    except (SettingsError, IssuesInputError) as exc:
        raise UsageError(str(exc)) from None
    sys.stdout.write(analytics_json(compute_team_analytics(loaded.issues, settings, period, now, args.team)))
    return 0


@reported
def cmd_teams(args: argparse.Namespace) -> int:
    """Print the nine MetricValues of every team for a period, each as ``metrics --team`` gives it; every input
    problem (an unreadable file, no team field set) is one line with exit code 2."""
    from data.metrics.teams import teams_csv, teams_json
    from data.services.command_service import compute_team_metrics
    from data.services.issues_file import IssuesInputError, load_issues_file

    now = time_arg(args.now)
    period = period_arg(date_arg(args.start, "--start"), date_arg(args.end, "--end"), now.date())
    try:
        settings = load_cli_settings(args.settings)
        rows = compute_team_metrics(load_issues_file(args.issues).issues, settings, period, now)
    except (SettingsError, IssuesInputError) as exc:
        raise UsageError(str(exc)) from None
    sys.stdout.write(teams_csv(rows) if args.format == "csv" else
                     teams_json(rows, period_start=period.start, period_end=period.end, generated_at=now))
    return 0


_SETTINGS_HELP = "settings file (may be partial: missing keys take the defaults); default: the data directory's"
_NOW_HELP = "the moment to compute at, ISO-8601 (naive means UTC); default: now"
_TEAM_HELP = "only this team's issues (dora_flow_config.team_field; case-insensitive; `cli.py teams` lists them)"


def _add_metrics(subparsers: Any) -> None:
    parser = one_line_errors(subparsers.add_parser(
        "metrics", help="print the nine metrics for a period, computed from an issues file",
        description="Compute the nine DORA & Flow metrics for a period from ISSUES.json (a JSON array of Jira "
                    'issues in REST shape, or a search response {"issues": [...]}) and print them. The '
                    "settings are used as given: without --settings, the data directory's app_settings.json "
                    "as saved (in demo mode the demo's mappings are not applied; `cli.py demo "
                    "--settings-output` writes them). Nothing is cached or saved."))
    parser.add_argument("--issues", required=True, metavar="ISSUES.json", help="the issues to compute from")
    parser.add_argument("--settings", metavar="SETTINGS.json", help=f"{_SETTINGS_HELP} app_settings.json")
    parser.add_argument("--start", required=True, metavar="YYYY-MM-DD", help="first day of the period (UTC)")
    parser.add_argument("--end", required=True, metavar="YYYY-MM-DD",
                        help="last day of the period (UTC); a period is at most 365 days long")
    parser.add_argument("--now", metavar="ISO-8601", help=_NOW_HELP)
    parser.add_argument("--format", choices=("json", "csv", "prometheus"), default="json",
                        help="output format (default: json)")
    parser.add_argument("--team", metavar="NAME", help=_TEAM_HELP)
    parser.set_defaults(func=cmd_metrics)


def _add_analytics(subparsers: Any) -> None:
    parser = one_line_errors(subparsers.add_parser(
        "analytics", help="print the flow analytics of a period (cycle time, ageing WIP, CFD...) as JSON",
        description="Compute the cycle-time scatter, ageing work in progress, time in status, cumulative flow "
                    "and throughput of a period from ISSUES.json and print them as one JSON object "
                    "(docs/analytics.md). The settings are used as given, as for `cli.py metrics`. Nothing is "
                    "cached or saved."))
    parser.add_argument("--issues", required=True, metavar="ISSUES.json", help="the issues to compute from")
    parser.add_argument("--settings", metavar="SETTINGS.json", help=f"{_SETTINGS_HELP} app_settings.json")
    parser.add_argument("--start", required=True, metavar="YYYY-MM-DD", help="first day of the period (UTC)")
    parser.add_argument("--end", required=True, metavar="YYYY-MM-DD",
                        help="last day of the period (UTC), not after today; at most 365 days long")
    parser.add_argument("--now", metavar="ISO-8601", help=_NOW_HELP)
    parser.add_argument("--format", choices=("json",), default="json", help="output format (default: json)")
    parser.add_argument("--team", metavar="NAME", help=_TEAM_HELP)
    parser.set_defaults(func=cmd_analytics)


def _add_teams(subparsers: Any) -> None:
    parser = one_line_errors(subparsers.add_parser(
        "teams", help="print the nine metrics of every team for a period, computed from an issues file",
        description="For each team named by dora_flow_config.team_field (sorted by name, (none) last), the nine "
                    "metrics of the period exactly as `cli.py metrics --team NAME` gives them."))
    parser.add_argument("--issues", required=True, metavar="ISSUES.json", help="the issues to compute from")
    parser.add_argument("--settings", metavar="SETTINGS.json", help=f"{_SETTINGS_HELP} app_settings.json")
    parser.add_argument("--start", required=True, metavar="YYYY-MM-DD", help="first day of the period (UTC)")
    parser.add_argument("--end", required=True, metavar="YYYY-MM-DD", help="last day of the period (UTC)")
    parser.add_argument("--now", metavar="ISO-8601", help=_NOW_HELP)
    parser.add_argument("--format", choices=("json", "csv"), default="json", help="output format (default: json)")
    parser.set_defaults(func=cmd_teams)


def _add_snapshot(subparsers: Any) -> None:
    parser = one_line_errors(subparsers.add_parser(
        "snapshot", help="record this week's Flow Load snapshot from the issue cache (for cron)",
        description="Save this ISO week's Flow Load (work in progress now) from the cached issues to "
                    "metrics_snapshots.json, then drop weeks older than snapshots.weeks_to_keep."))
    parser.add_argument("--settings", metavar="SETTINGS.json", help=f"{_SETTINGS_HELP} app_settings.json")
    parser.add_argument("--now", metavar="ISO-8601", help=_NOW_HELP + " (its ISO week is the one recorded)")
    parser.set_defaults(func=cmd_snapshot)


def _add_export(subparsers: Any) -> None:
    parser = one_line_errors(subparsers.add_parser(
        "export", help="write the metrics of a period (from the issue cache) or the snapshot history to a file",
        description="Write the nine metrics for a period, computed from the cached issues, to FILE; or, with "
                    "--snapshots, the weekly snapshot history (input of `cli.py import-snapshots`)."))
    parser.add_argument("--output", required=True, metavar="FILE", help="the file to write")
    parser.add_argument("--format", choices=("json", "csv", "prometheus"), help="metrics format (default: json)")
    parser.add_argument("--start", metavar="YYYY-MM-DD", help="first day of the period (with --end)")
    parser.add_argument("--end", metavar="YYYY-MM-DD", help="last day of the period (with --start)")
    parser.add_argument("--days", metavar="N",
                        help=f"the N days ending today (UTC) instead of --start/--end (default: {DEFAULT_EXPORT_DAYS})")
    parser.add_argument("--snapshots", action="store_true", help="export the snapshot history instead of metrics")
    parser.add_argument("--team", metavar="NAME", help=_TEAM_HELP)
    parser.add_argument("--settings", metavar="SETTINGS.json", help=f"{_SETTINGS_HELP} app_settings.json")
    parser.add_argument("--now", metavar="ISO-8601", help=_NOW_HELP)
    parser.set_defaults(func=cmd_export)


def _add_import_snapshots(subparsers: Any) -> None:
    parser = one_line_errors(subparsers.add_parser(
        "import-snapshots", help="merge a snapshot export into the snapshot history",
        description="Merge FILE (written by `cli.py export --snapshots`) into metrics_snapshots.json: new weeks "
                    "are added, an entry replaces a stored one only when its timestamp is later. A file with "
                    "any problem changes nothing."))
    parser.add_argument("file", metavar="FILE", help="the snapshot export to import")
    parser.add_argument("--replace", action="store_true",
                        help="make the history exactly FILE's weeks (the previous history is kept in a copy)")
    parser.set_defaults(func=cmd_import_snapshots)


def _add_demo(subparsers: Any) -> None:
    parser = one_line_errors(subparsers.add_parser(
        "demo", help="write the demo dataset as an issues file (to try `metrics`)",
        description='Write the deterministic demo team\'s issues as {"issues": [...]}, the input of '
                    "`cli.py metrics --issues`; the same arguments always give the same issues."))
    parser.add_argument("--output", required=True, metavar="ISSUES.json", help="the issues file to write")
    parser.add_argument("--issues", metavar="N", help="how many issues (default: 2000)")
    parser.add_argument("--anchor", metavar="ISO-8601",
                        help="the dataset's 'now' (default: today 00:00 UTC, as the dashboard's demo)")
    parser.add_argument("--seed", metavar="S", help="random seed (default: 42)")
    parser.add_argument("--settings-output", metavar="SETTINGS.json",
                        help="also write the partial settings (field mappings, statuses) the demo needs")
    parser.set_defaults(func=cmd_demo)


def _add_forecast(subparsers: Any) -> None:
    parser = one_line_errors(subparsers.add_parser(
        "forecast", help="Monte Carlo forecast from an issues file: how many items by a date, or when N are done",
        description="Simulate the coming days by drawing, with replacement, from the daily counts of completed "
                    "flow items over the --history-days whole UTC days before today, and print the answers at "
                    "50/70/85/95%% confidence as JSON. Give exactly one of --items or --until. The same inputs "
                    "and --seed give the same output."))
    parser.add_argument("--issues", required=True, metavar="ISSUES.json", help="the issues to compute from")
    parser.add_argument("--settings", metavar="SETTINGS.json", help=f"{_SETTINGS_HELP} app_settings.json")
    parser.add_argument("--now", metavar="ISO-8601", help=_NOW_HELP + " (its UTC day is today)")
    parser.add_argument("--items", metavar="N", help="when will N items be done (N >= 1)")
    parser.add_argument("--until", metavar="YYYY-MM-DD",
                        help="how many items will be done by this day (after today, at most 3,650 days ahead)")
    parser.add_argument("--history-days", metavar="H", help="days of throughput history (>= 1; default: 90)")
    parser.add_argument("--trials", metavar="T", help="simulated trials, 100 to 1,000,000 (default: 10000)")
    parser.add_argument("--seed", metavar="S", help="random seed (>= 0; default: 0)")
    parser.add_argument("--team", metavar="NAME", help=_TEAM_HELP)
    parser.add_argument("--format", choices=("json",), default="json", help="output format (default: json)")
    parser.set_defaults(func=cmd_forecast)


def build_parser() -> argparse.ArgumentParser:
    parser = one_line_errors(argparse.ArgumentParser(prog="cli.py",
                                                     description="DORA & Flow metrics dashboard: command line"))
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_fetch(subparsers)
    _add_metrics(subparsers)
    _add_analytics(subparsers)
    _add_snapshot(subparsers)
    _add_export(subparsers)
    _add_import_snapshots(subparsers)
    _add_demo(subparsers)
    _add_forecast(subparsers)
    _add_teams(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
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
