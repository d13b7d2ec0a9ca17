"""Structured logging: JSON lines in rotating files, plain text on the console, secrets redacted.

Why: logs are read by people and by scripts after something went wrong, often shared in an issue; they must
be machine-readable and must never contain a Jira token or password.

``setup_logging`` installs on the root logger (idempotently: a second call replaces, never duplicates, the
handlers it installed):
- ``<log_dir>/app.log``: ``level`` and above; ``<log_dir>/errors.log``: ERROR and above; both JSON lines,
  rotated at ``max_bytes`` keeping ``backup_count`` old files;
- a console handler (plain text) when ``console`` is true.
Each JSON line has ``timestamp`` (UTC, ``2025-11-09T14:30:45.123Z``), ``level``, ``module`` (logger name),
``message``, ``context`` (the ``extra=`` fields, when any) and ``exception`` (traceback text, when any).

``SensitiveDataFilter`` sits on every handler. It formats the message with its args first, then redacts;
it redacts ``extra`` values recursively (values under keys named like token/password/secret/authorization/
api_key/pat entirely) and exception text. Forms recognised: Atlassian API tokens (``ATATT...``),
``Authorization: Basic|Bearer ...`` headers, ``Bearer ...``, ``key=value`` / ``key: value`` and JSON or
Python-dict pairs for token-like keys (``token``, ``api_token``, ``apitoken``, ``access_token``, ``api_key``,
``pat``, ``password``, ``secret``, ...), the same keys as URL query parameters, passwords in URLs
(``https://user:secret@host``), and every exact value given to ``register_secret`` (the app registers the
configured token at start-up). Redacted text reads ``[REDACTED]``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
import time
import urllib.parse
from collections.abc import Mapping
from datetime import UTC, datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

import orjson

from configuration.paths import data_dir

REDACTED = "[REDACTED]"
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_BACKUP_COUNT = 5
DEFAULT_MAX_AGE_DAYS = 30
MIN_SECRET_LENGTH = 4
CONSOLE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_OWNED_MARK = "_dashboard_logging"
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
}
_LOG_NAME_RE = re.compile(r".+\.log(\.\d+)?$")

_SECRET_NAMES = (
    r"api[_-]?token|apitoken|access[_-]?token|refresh[_-]?token|auth[_-]?token|id[_-]?token|token"
    r"|api[_-]?key|apikey|client[_-]?secret|secret|password|passwd|pwd|pat"
)
_SENSITIVE_KEY_RE = re.compile(
    r"token|password|passwd|secret|authorization|api[_-]?key|apikey|credential|cookie|(^|[_-])pat($|[_-])",
    re.IGNORECASE,
)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bAT(?:ATT|CTT|BB)[A-Za-z0-9_\-+/=]{10,}"), REDACTED),
    (
        re.compile(
            r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?(?:(?:basic|bearer|token|digest|negotiate)\s+)?+)"
            r"(?!\[REDACTED\])[^\s\"',;]+"
        ),
        r"\1" + REDACTED,
    ),
    (re.compile(r"(?i)\b(bearer)\s+(?!\[REDACTED\])[A-Za-z0-9\-._~+/]+=*"), r"\1 " + REDACTED),
    (re.compile(r"\b(Basic)\s+(?=[A-Za-z0-9+/]*[0-9+/=])[A-Za-z0-9+/]{8,}={0,2}"), r"\1 " + REDACTED),
    (
        re.compile(
            rf"(?i)((?:[\"'][A-Za-z0-9_\-]*?|(?<![A-Za-z0-9]))(?:{_SECRET_NAMES})[\"']?\s*[:=]\s*)"
            r"([\"'])(?!\[REDACTED\])[^\"']*\2"
        ),
        r"\1\2" + REDACTED + r"\2",
    ),
    (
        re.compile(
            rf"(?i)((?<![A-Za-z0-9])(?:{_SECRET_NAMES})(?![A-Za-z0-9])[\"']?\s*[=:]\s*)"
            r"(?!\[REDACTED\]|(?:bearer|basic)\s)[^\s&,;\"'}\])]+"
        ),
        r"\1" + REDACTED,
    ),
    (
        re.compile(r"(?i)(\b[a-z][a-z0-9+.\-]*://[^/\s:@]+:)(?!\[REDACTED\])[^@\s/]+(@)"),
        r"\1" + REDACTED + r"\2",
    ),
)

_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def _fresh_locks_after_fork() -> None:
    """A forked child (Dash runs Update Data in one) starts with new locks: one held by another thread at the
    moment of the fork would stay held forever in the child."""
    global _secrets_lock
    _secrets_lock = threading.Lock()


os.register_at_fork(after_in_child=_fresh_locks_after_fork)


def register_secret(value: str | None) -> None:
    """Redact this exact string (and its URL-encoded form) everywhere in logs from now on.

    Empty values and values shorter than ``MIN_SECRET_LENGTH`` are ignored so a typo cannot blank out
    ordinary words.
    """
    if not value or len(value.strip()) < MIN_SECRET_LENGTH:
        return
    with _secrets_lock:
        _secrets.add(value)
        encoded = urllib.parse.quote(value, safe="")
        if encoded != value:
            _secrets.add(encoded)


def clear_registered_secrets() -> None:
    """Forget every registered secret (credentials were removed, or a test needs a clean state)."""
    with _secrets_lock:
        _secrets.clear()


def redact_text(text: str) -> str:
    """``text`` with every recognised secret replaced by ``[REDACTED]``."""
    with _secrets_lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_value(value: Any) -> Any:
    """Redact strings inside ``value`` recursively; values under sensitive-looking keys are replaced whole."""
    if isinstance(value, str):
        return redact_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {
            key: REDACTED if _is_sensitive_key(key) else redact_value(item) for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(item) for item in value]
    return redact_text(str(value))


class SensitiveDataFilter(logging.Filter):
    """Redacts secrets from a record's message, args, ``extra`` fields and exception text; never drops it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            message = f"{record.msg} {record.args!r}"
        record.msg = redact_text(str(message))
        record.args = None
        for key, value in list(vars(record).items()):
            if key in _STANDARD_ATTRS or key.startswith("_"):
                continue
            setattr(record, key, REDACTED if _is_sensitive_key(key) else redact_value(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, module, message, context, exception."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "timestamp": _utc_timestamp(record),
            "level": record.levelname,
            "module": record.name,
            "message": record.getMessage(),
        }
        context = {
            key: value
            for key, value in vars(record).items()
            if key not in _STANDARD_ATTRS and not key.startswith("_")
        }
        if context:
            payload["context"] = context
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            payload["exception"] = record.exc_text
        if record.stack_info:
            payload["stack"] = record.stack_info
        try:
            return orjson.dumps(payload, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
        except TypeError:
            return json.dumps(payload, default=str, ensure_ascii=False)


def setup_logging(
    log_dir: str | os.PathLike[str] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    backup_count: int = DEFAULT_BACKUP_COUNT,
    level: int = logging.INFO,
    console: bool = True,
) -> Path | None:
    """Configure the root logger (see module docstring); returns the log folder.

    Old log files are cleaned up first (``cleanup_old_logs``). When the folder cannot be created the app
    still runs with console logging only, a warning says why, and ``None`` is returned.
    """
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _OWNED_MARK, False)]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)
    redactor = SensitiveDataFilter()
    folder: Path | None = Path(log_dir) if log_dir is not None else None
    problem = None
    try:
        folder = folder or data_dir() / "logs"
        folder.mkdir(parents=True, exist_ok=True)
        cleanup_old_logs(folder)
        handlers: list[logging.Handler] = [
            _file_handler(folder / "app.log", max_bytes, backup_count, level),
            _file_handler(folder / "errors.log", max_bytes, backup_count, logging.ERROR),
        ]
    except OSError as exc:
        problem = f"File logging disabled, cannot use log folder {folder}: {exc.strerror or exc}"
        folder, handlers = None, []
    if console or problem:
        stream = logging.StreamHandler(sys.stderr)
        stream.setLevel(level)
        stream.setFormatter(logging.Formatter(CONSOLE_FORMAT))
        handlers.append(stream)
    for handler in handlers:
        handler.addFilter(redactor)
        setattr(handler, _OWNED_MARK, True)
        root.addHandler(handler)
    if problem:
        logging.getLogger(__name__).warning(problem)
    return folder


def cleanup_old_logs(
    log_dir: str | os.PathLike[str] | None = None,
    max_age_days: float = DEFAULT_MAX_AGE_DAYS,
    *,
    now: float | None = None,
) -> int:
    """Delete ``*.log`` and ``*.log.N`` files in ``log_dir`` last modified more than ``max_age_days`` ago.

    Files currently open by the handlers ``setup_logging`` installed are kept. Returns the number deleted;
    a file that cannot be deleted is skipped (logged at DEBUG).
    """
    folder = Path(log_dir) if log_dir is not None else data_dir() / "logs"
    if not folder.is_dir():
        return 0
    cutoff = (time.time() if now is None else now) - max_age_days * 86400
    in_use = {
        os.path.abspath(handler.baseFilename)
        for handler in logging.getLogger().handlers
        if isinstance(handler, logging.FileHandler) and getattr(handler, _OWNED_MARK, False)
    }
    deleted = 0
    for candidate in folder.iterdir():
        if not _LOG_NAME_RE.fullmatch(candidate.name) or os.path.abspath(candidate) in in_use:
            continue
        try:
            if candidate.is_file() and candidate.stat().st_mtime < cutoff:
                candidate.unlink()
                deleted += 1
        except OSError as exc:
            logging.getLogger(__name__).debug("Could not delete old log %s: %s", candidate.name, exc)
    return deleted


def _file_handler(path: Path, max_bytes: int, backup_count: int, level: int) -> RotatingFileHandler:
    handler = RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8")
    handler.setLevel(level)
    handler.setFormatter(JsonFormatter())
    return handler


def _is_sensitive_key(key: Any) -> bool:
    return isinstance(key, str) and _SENSITIVE_KEY_RE.search(key) is not None


def _utc_timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(record.msecs):03d}Z"
