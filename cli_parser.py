"""The ``cli.py`` argument parser: each subcommand's options and help, kept apart from what the commands do.

``build_parser(commands)`` takes the command functions by name (``cli.py`` defines them), so this module holds
no behaviour beyond argument parsing.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import Any

from data.services.command_arguments import one_line_errors

Commands = Mapping[str, Callable[[argparse.Namespace], int]]

DEFAULT_EXPORT_DAYS = 30


def _add_fetch(subparsers: Any, commands: Commands) -> None:
    parser = one_line_errors(subparsers.add_parser(
        "fetch", help="update the issue cache from the configured Jira or Azure DevOps",
        description="Fetch issues (full the first time, then incremental) from the source in the settings "
                    "into the data directory's cache: Jira (jira.url, jira.jql; credentials from JIRA_EMAIL + "
                    "JIRA_API_TOKEN for Cloud or JIRA_PAT for Data Center) or, with source \"azure_devops\", "
                    "Azure DevOps (azure_devops.organization_url, azure_devops.project, azure_devops.wiql_filter; "
                    "the personal access token from AZURE_DEVOPS_PAT). Tokens saved in the Data source dialog "
                    "are used too. Without a configured source it exits with 2; `cli.py demo` writes the demo "
                    "data."))
    parser.add_argument("--settings", metavar="SETTINGS.json",
                        help="settings file (may be partial); default: the data directory's settings")
    parser.add_argument("--full", action="store_true",
                        help="also reconcile: drop cached issues deleted at the source or no longer in the JQL "
                             "(or WIQL filter)")
    parser.add_argument("--output", metavar="ISSUES.json",
                        help='also write the issues as {"issues": [...]} (input of "metrics --issues")')
    parser.set_defaults(func=commands["fetch"])



_SETTINGS_HELP = "settings file (may be partial: missing keys take the defaults); default: the data directory's"
_NOW_HELP = "the moment to compute at, ISO-8601 (naive means UTC); default: now"
_TEAM_HELP = "only this team's issues (dora_flow_config.team_field; case-insensitive; `cli.py teams` lists them)"


def _add_metrics(subparsers: Any, commands: Commands) -> None:
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
    parser.set_defaults(func=commands["metrics"])


def _add_analytics(subparsers: Any, commands: Commands) -> None:
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
    parser.set_defaults(func=commands["analytics"])


def _add_teams(subparsers: Any, commands: Commands) -> None:
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
    parser.set_defaults(func=commands["teams"])


def _add_snapshot(subparsers: Any, commands: Commands) -> None:
    parser = one_line_errors(subparsers.add_parser(
        "snapshot", help="record this week's Flow Load snapshot from the issue cache (for cron)",
        description="Save this ISO week's Flow Load (work in progress now) from the cached issues to "
                    "metrics_snapshots.json, then drop weeks older than snapshots.weeks_to_keep."))
    parser.add_argument("--settings", metavar="SETTINGS.json", help=f"{_SETTINGS_HELP} app_settings.json")
    parser.add_argument("--now", metavar="ISO-8601", help=_NOW_HELP + " (its ISO week is the one recorded)")
    parser.set_defaults(func=commands["snapshot"])


def _add_export(subparsers: Any, commands: Commands) -> None:
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
    parser.set_defaults(func=commands["export"])


def _add_import_snapshots(subparsers: Any, commands: Commands) -> None:
    parser = one_line_errors(subparsers.add_parser(
        "import-snapshots", help="merge a snapshot export into the snapshot history",
        description="Merge FILE (written by `cli.py export --snapshots`) into metrics_snapshots.json: new weeks "
                    "are added, an entry replaces a stored one only when its timestamp is later. A file with "
                    "any problem changes nothing."))
    parser.add_argument("file", metavar="FILE", help="the snapshot export to import")
    parser.add_argument("--replace", action="store_true",
                        help="make the history exactly FILE's weeks (the previous history is kept in a copy)")
    parser.set_defaults(func=commands["import_snapshots"])


def _add_import_issues(subparsers: Any, commands: Commands) -> None:
    parser = one_line_errors(subparsers.add_parser(
        "import-issues", help="make an issues file the issue cache, as if fetched (the dashboard then serves it)",
        description="Store the issues of FILE (a JSON array of Jira issues, or {\"issues\": [...]} as written by "
                    "`cli.py fetch --output` or `cli.py demo`) as the data directory's issue cache, with a new "
                    "data version, and prepare its tables. A bad file, an unusable settings file or a running "
                    "update changes nothing. A later Update Data replaces the imported issues with a full fetch."))
    parser.add_argument("file", metavar="FILE", help="the issues file to import")
    parser.add_argument("--settings", metavar="SETTINGS.json",
                        help=f"{_SETTINGS_HELP} app_settings.json (the mappings the tables are built with)")
    parser.set_defaults(func=commands["import_issues"])


def _add_demo(subparsers: Any, commands: Commands) -> None:
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
    parser.set_defaults(func=commands["demo"])


def _add_forecast(subparsers: Any, commands: Commands) -> None:
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
    parser.set_defaults(func=commands["forecast"])


def build_parser(commands: Commands) -> argparse.ArgumentParser:
    """The ``cli.py`` parser; ``commands`` maps each subcommand's name to the function that runs it."""
    parser = one_line_errors(argparse.ArgumentParser(prog="cli.py",
                                                     description="DORA & Flow metrics dashboard: command line"))
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_fetch(subparsers, commands)
    _add_metrics(subparsers, commands)
    _add_analytics(subparsers, commands)
    _add_snapshot(subparsers, commands)
    _add_export(subparsers, commands)
    _add_import_snapshots(subparsers, commands)
    _add_import_issues(subparsers, commands)
    _add_demo(subparsers, commands)
    _add_forecast(subparsers, commands)
    _add_teams(subparsers, commands)
    return parser
