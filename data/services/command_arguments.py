"""The command line's argument rules, shared by every command of ``cli.py``: settings files, dates, times,
whole numbers, periods and output paths, each refused with one plain line (``UsageError``, exit code 2), and the
wrapper that turns a command's expected failures into that one line."""

from __future__ import annotations

import argparse
import functools
import logging
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NoReturn

import orjson

from configuration.logging_config import redact_text
from configuration.settings import SettingsError, load_app_settings, merge_with_defaults, validate_settings
from data.metrics.periods import Period, PeriodError, period_until
from data.metrics.teams import TeamError
from data.services.command_service import CommandFailure
from data.services.issues_file import IssuesInputError

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


class UsageError(ValueError):
    """An argument the user can correct (a date, a number, a combination of options): exit code 2."""


def reported(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """``command`` with its own expected failures turned into one ``error:`` line: 2 for usage, 1 otherwise."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except (UsageError, TeamError) as exc:  # an unknown team, or no team field set: a usage error
            return report_failure(args, exc, 2)
        except (CommandFailure, IssuesInputError) as exc:
            return report_failure(args, exc, 1)

    return run


def report_failure(args: argparse.Namespace, exc: Exception, code: int) -> int:
    message = redact_text(" ".join(str(exc).split()))
    logger.error("cli %s failed: %s", args.command, message)
    print(f"error: {message}", file=sys.stderr)
    return code


def one_line_errors(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Make argparse's own complaints (a missing option, a bad choice) one ``error:`` line with exit code 2."""

    command = parser.prog.split()[-1]
    see = "python cli.py --help" if command == "cli.py" else f"python cli.py {command} --help"

    def error(message: str) -> NoReturn:
        parser.exit(2, f"error: {message} (see: {see})\n")

    parser.error = error
    return parser


def output_path(value: str | None, flag: str) -> Path | None:
    """The file ``flag`` names, checked before any work: its folder must exist (a typo is not a new folder),
    and an existing entry there must be a regular file. A symbolic link, a device (``/dev/null``), a pipe or a
    folder is refused: the file is written by replacing it atomically, which would put a plain file in the
    place of a link or a device."""
    if value is None:
        return None
    path = Path(value)
    folder = path.parent
    if not folder.exists():
        raise UsageError(f"folder {folder} does not exist: create it first or choose another {flag} path")
    if path.is_symlink() or (path.exists() and not path.is_file()):
        kind = "a symbolic link" if path.is_symlink() else "a folder" if path.is_dir() else "not a regular file"
        raise UsageError(f"{path} is {kind}: {flag} must name a regular file (it is replaced as a whole)")
    return path


def date_arg(value: str, flag: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise UsageError(f"{flag} '{value}' is not a date (expected YYYY-MM-DD)") from None


def time_arg(value: str | None, flag: str = "--now") -> datetime:
    """An ISO-8601 time (naive means UTC) as an aware UTC datetime; the current time when ``value`` is None."""
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise UsageError(f"{flag} '{value}' is not an ISO-8601 time such as 2025-06-30T12:00:00Z") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def int_arg(value: str | None, flag: str, default: int, minimum: int, maximum: int | None = None) -> int:
    """A whole number in ``[minimum, maximum]`` (no upper bound when ``maximum`` is None)."""
    if value is None:
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise UsageError(f"{flag} '{value}' is not a whole number") from None
    if number < minimum:
        raise UsageError(f"{flag} must be at least {minimum} (got {number})")
    if maximum is not None and number > maximum:
        raise UsageError(f"{flag} must be at most {maximum:,} (got {number:,})")
    return number


def period_arg(start: date, end: date, today: date) -> Period:
    """The period, refused (usage error) when too long, reversed or ending after ``today`` (UTC)."""
    try:
        return period_until(start, end, today)
    except PeriodError as exc:
        raise UsageError(str(exc)) from None
