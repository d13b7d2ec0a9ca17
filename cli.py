"""Command line for cron jobs, scripts and tests: ``python cli.py <command> --help``.

Each command is one small function calling ``data/``; ``build_parser`` registers them as subcommands. A
failure prints one line, ``error: <message>``, on stderr and exits with 1 (2 for usage errors); the
traceback, if any, goes to the log file only.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import orjson

from configuration.logging_config import redact_text, setup_logging
from configuration.settings import SettingsError, load_app_settings, merge_with_defaults, validate_settings
from data.metrics_input import IssuesInputError

if TYPE_CHECKING:
    from data.periods import Period

logger = logging.getLogger("cli")


def load_cli_settings(path: str | None) -> dict[str, Any]:
    """``--settings FILE`` (may be partial: missing keys take the defaults) or the data directory's settings.

    A named file is read strictly: missing, unreadable or invalid JSON is an error, never the defaults.
    """
    if path is None:
        return load_app_settings()
    try:
        raw = orjson.loads(Path(path).read_bytes())
    except FileNotFoundError:
        raise SettingsError(f"settings file not found: {path}") from None
    except OSError as exc:
        raise SettingsError(f"cannot read settings file {path}: {exc.strerror or exc}") from None
    except orjson.JSONDecodeError as exc:
        raise SettingsError(f"settings file {path} is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise SettingsError(f"settings file {path} must hold a JSON object")
    settings = merge_with_defaults(raw)
    errors = validate_settings(settings)
    if errors:
        raise SettingsError(f"{path}: " + "; ".join(errors))
    return settings


def _progress_printer() -> Callable[[int, int | None], None] | None:
    """A one-line ``\\r`` progress bar on stderr when it is a terminal."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int | None) -> None:
        text = f"{done}/{total} issues ({done * 100 // total}%)" if total else f"{done} issues"
        sys.stderr.write(f"\rFetching: {text}   ")
        sys.stderr.flush()

    return show


def cmd_fetch(args: argparse.Namespace) -> int:
    """Update the issue cache from Jira (or the demo) and optionally write the issues to a file."""
    settings = load_cli_settings(args.settings)
    from data.dashboard_service import effective_settings, run_update
    from data.issue_cache import load_cached_issues
    from data.persistence import PersistenceError, write_json_atomic

    settings = effective_settings(settings)
    progress = _progress_printer()
    try:
        result = run_update(settings, full=args.full, progress=progress)
    finally:
        if progress is not None:
            sys.stderr.write("\n")
    line = result.summary()
    if args.output:
        cached = load_cached_issues()
        if cached is None:
            raise PersistenceError("the issue cache could not be read back after the update")
        write_json_atomic(Path(args.output), {"issues": cached.issues}, indent=None)
        line += f"; wrote {len(cached.issues)} issues to {args.output}"
    print(line)
    return 0


def _add_fetch(subparsers: Any) -> None:
    parser = _one_line_errors(subparsers.add_parser(
        "fetch", help="update the issue cache from Jira (or the demo data)",
        description="Fetch issues (full the first time, then incremental) into the data directory's cache. "
                    "Credentials come from JIRA_EMAIL + JIRA_API_TOKEN (Cloud) or JIRA_PAT (Data Center)."))
    parser.add_argument("--settings", metavar="SETTINGS.json",
                        help="settings file (may be partial); default: the data directory's settings")
    parser.add_argument("--full", action="store_true",
                        help="also reconcile: drop cached issues deleted in Jira or no longer in the JQL")
    parser.add_argument("--output", metavar="ISSUES.json",
                        help='also write the issues as {"issues": [...]} (input of "metrics --issues")')
    parser.set_defaults(func=cmd_fetch)


# --- metrics, snapshot, export, import-snapshots, demo ----------------------------------------------------------

DEFAULT_EXPORT_DAYS = 30


class UsageError(ValueError):
    """An argument the user can correct (a date, a number, a combination of options): exit code 2."""


class CommandFailure(RuntimeError):
    """A command cannot do its work for a reason its message explains: exit code 1."""


def _reported(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """``command`` with its own expected failures turned into one ``error:`` line: 2 for usage, 1 otherwise."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except UsageError as exc:
            return _report_failure(args, exc, 2)
        except (CommandFailure, IssuesInputError) as exc:
            return _report_failure(args, exc, 1)

    return run


def _report_failure(args: argparse.Namespace, exc: Exception, code: int) -> int:
    message = redact_text(" ".join(str(exc).split()))
    logger.error("cli %s failed: %s", args.command, message)
    print(f"error: {message}", file=sys.stderr)
    return code


def _one_line_errors(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Make argparse's own complaints (a missing option, a bad choice) one ``error:`` line with exit code 2."""

    def error(message: str) -> NoReturn:
        parser.exit(2, f"error: {message} (see: python cli.py {parser.prog.split()[-1]} --help)\n")

    parser.error = error
    return parser


def _date_arg(value: str, flag: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise UsageError(f"{flag} '{value}' is not a date (expected YYYY-MM-DD)") from None


def _time_arg(value: str | None, flag: str = "--now") -> datetime:
    """An ISO-8601 time (naive means UTC) as an aware UTC datetime; the current time when ``value`` is None."""
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise UsageError(f"{flag} '{value}' is not an ISO-8601 time such as 2025-06-30T12:00:00Z") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _int_arg(value: str | None, flag: str, default: int, minimum: int) -> int:
    if value is None:
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise UsageError(f"{flag} '{value}' is not a whole number") from None
    if number < minimum:
        raise UsageError(f"{flag} must be at least {minimum} (got {number})")
    return number


def _period_arg(start: date, end: date) -> Period:
    from data.periods import Period, PeriodError

    try:
        return Period(start, end)
    except PeriodError as exc:
        raise UsageError(str(exc)) from None


def _export_period(args: argparse.Namespace, now: datetime) -> Period:
    """``--start``/``--end`` together, or the ``--days`` (default 30) days ending on ``now``'s UTC date."""
    if args.days is not None and (args.start or args.end):
        raise UsageError("use either --start/--end or --days, not both")
    if bool(args.start) != bool(args.end):
        raise UsageError("--start and --end must be given together")
    if args.start:
        return _period_arg(_date_arg(args.start, "--start"), _date_arg(args.end, "--end"))
    days = _int_arg(args.days, "--days", DEFAULT_EXPORT_DAYS, 1)
    return _period_arg(now.date() - timedelta(days=days - 1), now.date())


def _cached_issues() -> list[dict[str, Any]]:
    from data.issue_cache import load_cached_issues

    cached = load_cached_issues()
    if cached is None:
        raise CommandFailure("No cached issues: run `cli.py fetch` first")
    return cached.issues


def _cache_settings(path: str | None) -> dict[str, Any]:
    """Settings for commands that read the issue cache: those ``fetch`` and the dashboard use with it."""
    from data.dashboard_service import effective_settings

    return effective_settings(load_cli_settings(path))


def compute_metrics(issues: list[dict[str, Any]], settings: dict[str, Any], period: Period,
                    now: datetime) -> dict[str, dict]:
    """The nine MetricValues, exactly as ``calculate_all_metrics`` gives them (with the stored snapshots)."""
    from data.issue_frame import build_issue_frames
    from data.metrics_service import calculate_all_metrics
    from data.metrics_snapshots import load_snapshots

    frames = build_issue_frames(issues, settings)
    return calculate_all_metrics(frames, settings, period, now, snapshots=load_snapshots())


def _write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder, so a reader never sees half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            logger.warning("Could not remove the temporary file %s", tmp)
        raise CommandFailure(f"cannot write {path}: {exc.strerror or exc}") from None


@_reported
def cmd_metrics(args: argparse.Namespace) -> int:
    """Print the nine MetricValues for a period, computed from an issues file (nothing is cached or saved)."""
    from data.exporters import export_metrics
    from data.metrics_input import load_issues_file

    now = _time_arg(args.now)
    period = _period_arg(_date_arg(args.start, "--start"), _date_arg(args.end, "--end"))
    settings = load_cli_settings(args.settings)
    loaded = load_issues_file(args.issues)
    metrics = compute_metrics(loaded.issues, settings, period, now)
    if loaded.truncated_changelogs:
        print(f"warning: {loaded.truncated_changelogs} issues have a truncated changelog (fewer histories than "
              "changelog.total); their status times may be incomplete. `cli.py fetch --output` writes complete "
              "changelogs.", file=sys.stderr)
    sys.stdout.write(export_metrics(args.format, metrics, period_start=period.start, period_end=period.end,
                                    generated_at=now))
    return 0


@_reported
def cmd_snapshot(args: argparse.Namespace) -> int:
    """Record this ISO week's Flow Load from the cached issues and drop weeks older than the retention."""
    from data.issue_frame import build_issue_frames
    from data.metrics_service import record_flow_load_snapshot
    from data.metrics_snapshots import cleanup_old_snapshots, week_label

    now = _time_arg(args.now)
    settings = _cache_settings(args.settings)
    frames = build_issue_frames(_cached_issues(), settings)
    label = week_label(now)
    snapshot = record_flow_load_snapshot(frames, settings, now)
    if snapshot is None:
        raise CommandFailure(f"could not save the Flow Load snapshot of week {label} (the reason is in the log file)")
    weeks = settings["snapshots"]["weeks_to_keep"]
    removed = cleanup_old_snapshots(weeks, today=now.date())
    line = f"week {label}: Flow Load snapshot saved, {snapshot['wip_count']} items in progress"
    if removed:
        line += f"; removed {removed} week(s) older than the last {weeks}"
    print(line)
    return 0


@_reported
def cmd_export(args: argparse.Namespace) -> int:
    """Write the period's metrics (from the issue cache) or, with ``--snapshots``, the snapshot history."""
    from data.exporters import export_metrics
    from data.metrics_snapshots import export_snapshots

    output = Path(args.output)
    if args.snapshots:
        if args.start or args.end or args.days is not None or args.format not in (None, "json"):
            raise UsageError("--snapshots exports the whole snapshot history as JSON: "
                             "--start, --end, --days and --format do not apply")
        count = export_snapshots(output)
        print(f"wrote {count} week(s) of snapshots to {output}")
        return 0
    now = _time_arg(args.now)
    period = _export_period(args, now)
    fmt = args.format or "json"
    settings = _cache_settings(args.settings)
    metrics = compute_metrics(_cached_issues(), settings, period, now)
    text = export_metrics(fmt, metrics, period_start=period.start, period_end=period.end, generated_at=now)
    _write_text_atomic(output, text)
    print(f"wrote {len(metrics)} metrics for {period.start.isoformat()}..{period.end.isoformat()} as {fmt} "
          f"to {output}")
    return 0


@_reported
def cmd_import_snapshots(args: argparse.Namespace) -> int:
    """Merge a snapshot export into the store (or replace the store, keeping a copy of the old history)."""
    from configuration.paths import data_file
    from data.metrics_snapshots import SNAPSHOTS_FILE, export_snapshots, import_snapshots, load_snapshots

    backup = None
    if args.replace and load_snapshots():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        backup = data_file(f"{SNAPSHOTS_FILE}.before-import-{stamp}")
        export_snapshots(backup)
    result = import_snapshots(args.file, replace=args.replace)
    if not result.ok:
        if backup is not None:
            backup.unlink(missing_ok=True)
        more = f" (and {len(result.errors) - 1} more problems)" if len(result.errors) > 1 else ""
        raise CommandFailure(f"{result.errors[0]}{more}; nothing was imported")
    if args.replace:
        kept = f"; the previous history is in {backup}" if backup else ""
        print(f"replaced the snapshot history with {result.added_weeks} week(s) from {args.file}{kept}")
    else:
        print(f"imported {args.file}: {result.added_weeks} week(s) added, {result.updated} entries updated, "
              f"{result.skipped} kept (the stored entry was as new or newer)")
    return 0


@_reported
def cmd_demo(args: argparse.Namespace) -> int:
    """Write the deterministic demo dataset as ``{"issues": [...]}`` (input of ``metrics --issues``)."""
    from data.demo_data import DEMO_SETTINGS_OVERLAY, generate_demo_issues
    from data.persistence import write_json_atomic

    count = _int_arg(args.issues, "--issues", 2000, 1)
    seed = _int_arg(args.seed, "--seed", 42, 0)
    anchor = _time_arg(args.anchor, "--anchor")
    if args.anchor is None:
        anchor = anchor.replace(minute=0, second=0, microsecond=0)
    try:
        issues = generate_demo_issues(count, anchor=anchor, seed=seed)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    write_json_atomic(Path(args.output), {"issues": issues}, indent=None)
    line = f"wrote {len(issues)} demo issues (anchor {anchor.isoformat()}, seed {seed}) to {args.output}"
    if args.settings_output:
        write_json_atomic(Path(args.settings_output), {"dora_flow_config": DEMO_SETTINGS_OVERLAY}, indent=2)
        line += f"; their settings to {args.settings_output}"
    print(line)
    return 0


_SETTINGS_HELP = "settings file (may be partial: missing keys take the defaults); default: the data directory's"
_NOW_HELP = "the moment to compute at, ISO-8601 (naive means UTC); default: now"


def _add_metrics(subparsers: Any) -> None:
    parser = _one_line_errors(subparsers.add_parser(
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
    parser.set_defaults(func=cmd_metrics)


def _add_snapshot(subparsers: Any) -> None:
    parser = _one_line_errors(subparsers.add_parser(
        "snapshot", help="record this week's Flow Load snapshot from the issue cache (for cron)",
        description="Save this ISO week's Flow Load (work in progress now) from the cached issues to "
                    "metrics_snapshots.json, then drop weeks older than snapshots.weeks_to_keep."))
    parser.add_argument("--settings", metavar="SETTINGS.json", help=f"{_SETTINGS_HELP} app_settings.json")
    parser.add_argument("--now", metavar="ISO-8601", help=_NOW_HELP + " (its ISO week is the one recorded)")
    parser.set_defaults(func=cmd_snapshot)


def _add_export(subparsers: Any) -> None:
    parser = _one_line_errors(subparsers.add_parser(
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
    parser.add_argument("--settings", metavar="SETTINGS.json", help=f"{_SETTINGS_HELP} app_settings.json")
    parser.add_argument("--now", metavar="ISO-8601", help=_NOW_HELP)
    parser.set_defaults(func=cmd_export)


def _add_import_snapshots(subparsers: Any) -> None:
    parser = _one_line_errors(subparsers.add_parser(
        "import-snapshots", help="merge a snapshot export into the snapshot history",
        description="Merge FILE (written by `cli.py export --snapshots`) into metrics_snapshots.json: new weeks "
                    "are added, an entry replaces a stored one only when its timestamp is later. A file with "
                    "any problem changes nothing."))
    parser.add_argument("file", metavar="FILE", help="the snapshot export to import")
    parser.add_argument("--replace", action="store_true",
                        help="make the history exactly FILE's weeks (the previous history is kept in a copy)")
    parser.set_defaults(func=cmd_import_snapshots)


def _add_demo(subparsers: Any) -> None:
    parser = _one_line_errors(subparsers.add_parser(
        "demo", help="write the demo dataset as an issues file (to try `metrics`)",
        description='Write the deterministic demo team\'s issues as {"issues": [...]}, the input of '
                    "`cli.py metrics --issues`; the same arguments always give the same issues."))
    parser.add_argument("--output", required=True, metavar="ISSUES.json", help="the issues file to write")
    parser.add_argument("--issues", metavar="N", help="how many issues (default: 2000)")
    parser.add_argument("--anchor", metavar="ISO-8601", help="the dataset's 'now' (default: the current UTC hour)")
    parser.add_argument("--seed", metavar="S", help="random seed (default: 42)")
    parser.add_argument("--settings-output", metavar="SETTINGS.json",
                        help="also write the partial settings (field mappings, statuses) the demo needs")
    parser.set_defaults(func=cmd_demo)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cli.py", description="DORA & Flow metrics dashboard: command line")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_fetch(subparsers)
    _add_metrics(subparsers)
    _add_snapshot(subparsers)
    _add_export(subparsers)
    _add_import_snapshots(subparsers)
    _add_demo(subparsers)
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
        logger.error("cli %s failed: %s", args.command, exc, exc_info=True)
        message = " ".join(str(exc).split())
        if not _is_user_error(exc):
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
    from configuration.paths import DataDirError
    from data.dashboard_service import UpdateAlreadyRunning
    from data.data_update import UpdateError
    from data.jira_client import FetchCancelled, JiraError
    from data.persistence import PersistenceError

    return (SettingsError, DataDirError, UpdateError, UpdateAlreadyRunning, JiraError, FetchCancelled,
            PersistenceError)


if __name__ == "__main__":
    sys.exit(main())
