"""Checks of a snapshot history before it is imported: every week label and every field of every entry.

Why: an import is the one way outside data enters ``metrics_snapshots.json``, and a wrong entry there is not
harmless: a negative or fractional WIP count is drawn on the Flow Load sparkline as if it had been measured,
a week in the future would be shown as history once that week comes, and an entry stamped in the future wins
every later merge. So a file is accepted only when all of it is possible; each problem is a sentence naming
the week and the field (``week 2026-03: wip_count must be a whole number ≥ 0 (got -4)``), never the parser's
internals.

What is checked (the seed 000 format):
- week labels are real ISO weeks ``YYYY-WW`` and not after the current ISO week (``now`` is passed in);
- every entry is an object under a non-empty metric name;
- ``flow_load`` has ``wip_count`` (a whole number ≥ 0) and ``by_status`` (status → whole number ≥ 0, adding up
  to ``wip_count``); ``by_issue_type``, when present, follows the ``by_status`` rules;
- in any metric, a field named ``*_count`` is a whole number ≥ 0 and a field named ``by_*`` maps names to whole
  numbers ≥ 0 (the seed's extension example ``deployments`` / ``by_environment`` passes);
- ``timestamp``, when present, is an ISO-8601 time no later than the current UTC day;
- ``_meta``, when present, is an object whose ``version`` is a whole number ≥ 1.
Other fields are kept as they are. Field names are given as they appear in ``flow_load``; for another metric
they are prefixed with its name (``deployment_frequency.by_environment``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson

META_KEY = "_meta"
REQUIRED_FIELDS = {"flow_load": ("wip_count", "by_status")}
TOTALLED_FIELDS = {"flow_load": ("wip_count", ("by_status", "by_issue_type"))}
_WEEK_RE = re.compile(r"^(\d{4})-(\d{2})$")
_BOM = b"\xef\xbb\xbf"


def parse_json_document(raw: bytes) -> Any:
    """The JSON value in ``raw``; ``ValueError`` with a plain reason (``the file is not JSON: it is empty``).

    A leading UTF-8 byte-order mark (as some Windows editors write) is accepted.
    """
    text = raw[len(_BOM):] if raw.startswith(_BOM) else raw
    if not text.strip():
        raise ValueError("the file is not JSON: it is empty")
    try:
        text.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("the file is not JSON: it is not UTF-8 text") from None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as error:
        if error.pos >= len(text.rstrip()):
            raise ValueError("the file is not JSON: it ends before the JSON is complete (is it cut short?)") from None
        raise ValueError(f"the file is not JSON: the text at line {error.lineno}, column {error.colno} "
                         "is not valid JSON") from None


def week_monday(label: str) -> date | None:
    """The Monday of ISO week ``label`` (``"2025-44"``), or ``None`` when it is not a real ISO week."""
    match = _WEEK_RE.match(label)
    if not match:
        return None
    try:
        return date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        return None


def snapshot_document_problems(document: Mapping[str, Any], now: datetime, newest_version: int) -> list[str]:
    """Every problem of an imported ``{week: {metric: entry}}`` document, in file order; empty when valid."""
    today = _utc_day(now)
    current_monday = today - timedelta(days=today.weekday())
    problems: list[str] = _meta_problems(document.get(META_KEY, {}), newest_version)
    for label, week in document.items():
        if label == META_KEY:
            continue
        monday = week_monday(label) if isinstance(label, str) else None
        if monday is None:
            problems.append(_label_problem(label))
        elif monday > current_monday:
            iso = today.isocalendar()
            problems.append(f"week {label} is in the future (this is week {iso.year:04d}-{iso.week:02d})")
        elif not isinstance(week, Mapping):
            problems.append(f"week {label} must be an object of metrics such as "
                            f'{{"flow_load": {{...}}}} (got {_kind(week)})')
        else:
            for metric, entry in week.items():
                problems.extend(f"week {label}: {problem}" for problem in _entry_problems(metric, entry, today))
    return problems


def _meta_problems(meta: Any, newest_version: int) -> list[str]:
    if not isinstance(meta, Mapping):
        return [f"{META_KEY} must be an object such as {{\"version\": 1}} (got {_kind(meta)})"]
    version = meta.get("version", 1)
    if not _is_whole(version) or version < 1:
        return [f"{META_KEY}.version must be a whole number ≥ 1 (got {_shown(version)})"]
    if version > newest_version:
        return [f"written by a newer release (schema version {version}); update the dashboard to import it"]
    return []


def _label_problem(label: Any) -> str:
    match = _WEEK_RE.match(label) if isinstance(label, str) else None
    if match and 1 <= int(match[2]) <= 53:
        return f"{label!r} is not an ISO week label like 2025-44: {match[1]} has no week {match[2]}"
    return f"{label!r} is not an ISO week label like 2025-44 (year-week, week 01-53)"


def _entry_problems(metric: Any, entry: Any, today: date) -> list[str]:
    if not isinstance(metric, str) or not metric.strip():
        return [f"a metric has no name ({metric!r})"]
    if not isinstance(entry, Mapping):
        return [f"{metric} must be an object of fields such as {{\"wip_count\": 12}} (got {_kind(entry)})"]
    prefix = "" if metric == "flow_load" else f"{metric}."
    metric = metric.split("@team:", 1)[0]  # a team's series ("flow_load@team:Platform") follows its metric's rules
    problems = [f"{prefix}{name} is missing" for name in REQUIRED_FIELDS.get(metric, ()) if name not in entry]
    for name, value in entry.items():
        problem = _field_problem(str(name), value, today)
        if problem:
            problems.append(f"{prefix}{name} {problem}")
    if not problems and metric in TOTALLED_FIELDS:
        total_name, part_names = TOTALLED_FIELDS[metric]
        for part in part_names:
            if part in entry and sum(entry[part].values()) != entry[total_name]:
                problems.append(f"{prefix}{part} adds up to {sum(entry[part].values())}, "
                                f"but {total_name} is {entry[total_name]}")
    return problems


def _field_problem(name: str, value: Any, today: date) -> str | None:
    if name == "timestamp":
        moment = parse_timestamp(value)
        if moment is None:
            return f"must be a time such as 2025-10-31T17:00:00Z (got {_shown(value)})"
        if moment.astimezone(UTC).date() > today:
            return f"is in the future ({value})"
        return None
    if name.endswith("_count"):
        return None if _is_count(value) else f"must be a whole number ≥ 0 (got {_shown(value)})"
    if name.startswith("by_"):
        if not isinstance(value, Mapping):
            return f'must be an object of counts such as {{"In Progress": 3}} (got {_kind(value)})'
        for key, count in value.items():
            if not isinstance(key, str) or not key.strip():
                return f"has an entry without a name ({key!r})"
            if not _is_count(count):
                return f"{key!r} must be a whole number ≥ 0 (got {_shown(count)})"
    return None


def parse_timestamp(value: Any) -> datetime | None:
    """An ISO-8601 time as an aware datetime (naive means UTC), or ``None`` when ``value`` is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _utc_day(now: datetime) -> date:
    return (now.astimezone(UTC) if now.tzinfo else now).date()


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_count(value: Any) -> bool:
    return _is_whole(value) and value >= 0


def _shown(value: Any) -> str:
    text = orjson.dumps(value).decode() if _jsonable(value) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _jsonable(value: Any) -> bool:
    try:
        orjson.dumps(value)
    except TypeError:
        return False
    return True


def _kind(value: Any) -> str:
    """What a JSON value is, in words: ``a list``, ``an object``, ``the number 5``, ``the text "x"``."""
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    if value is None or isinstance(value, bool):
        return _shown(value)
    if isinstance(value, int | float):
        return f"the number {_shown(value)}"
    if isinstance(value, str):
        return f"the text {_shown(value)}"
    return type(value).__name__
