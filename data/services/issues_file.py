"""Read an issues file for ``cli.py metrics``: Jira issues in REST shape, as a bare array or a search response.

Accepted: a JSON array of issues, or an object with an ``"issues"`` array (a Jira search response, or what
``cli.py fetch --output`` and ``cli.py demo`` write). An issue is an object with a ``"fields"`` object; its
``changelog.histories`` may come newest or oldest first. Anything else is refused as a whole with an
``IssuesInputError`` naming the file and what is wrong, rather than computing metrics from part of the data.

A search response may carry a truncated changelog (``changelog.total`` larger than the histories returned);
such issues are counted so the caller can say that their status times may be incomplete.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

_SHOWN_PROBLEMS = 3


class IssuesInputError(ValueError):
    """The issues file cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class IssuesInput:
    """The issues of a file, and how many of them have a changelog shorter than Jira's ``total``."""

    issues: list[dict[str, Any]]
    truncated_changelogs: int = 0


def load_issues_file(path: str | Path) -> IssuesInput:
    """The issues in ``path``; ``IssuesInputError`` for a missing, unreadable, non-JSON or non-issue file."""
    target = Path(path)
    try:
        raw = target.read_bytes()
    except FileNotFoundError:
        raise IssuesInputError(f"issues file not found: {target}") from None
    except OSError as exc:
        raise IssuesInputError(f"cannot read issues file {target}: {exc.strerror or exc}") from None
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise IssuesInputError(f"issues file {target} is not valid JSON: {exc}") from None
    return IssuesInput(*_checked_issues(document, target.name))


def _checked_issues(document: Any, name: str) -> tuple[list[dict[str, Any]], int]:
    if isinstance(document, dict):
        if "issues" not in document:
            raise IssuesInputError(f'{name}: expected a JSON array of Jira issues or an object with an "issues" '
                                   f"array, found an object with keys {_key_list(document)}")
        issues = document["issues"]
        if not isinstance(issues, list):
            raise IssuesInputError(f'{name}: "issues" must be an array of Jira issues, found {_kind(issues)}')
    elif isinstance(document, list):
        issues = document
    else:
        raise IssuesInputError(f"{name}: expected a JSON array of Jira issues, found {_kind(document)}")
    problems = _problems(issues)
    if problems:
        shown = "; ".join(problems[:_SHOWN_PROBLEMS])
        more = f" (and {len(problems) - _SHOWN_PROBLEMS} more)" if len(problems) > _SHOWN_PROBLEMS else ""
        raise IssuesInputError(f"{name}: not Jira issues: {shown}{more}")
    return issues, _truncated_count(issues)


def _problems(issues: Sequence[Any]) -> list[str]:
    problems = []
    for position, issue in enumerate(issues):
        if not isinstance(issue, dict):
            problems.append(f"item {position} is {_kind(issue)}, not an issue object")
        elif not isinstance(issue.get("fields"), dict):
            label = issue.get("key") if isinstance(issue.get("key"), str) else f"item {position}"
            problems.append(f'{label} has no "fields" object')
        elif "changelog" in issue and issue["changelog"] is not None and not isinstance(issue["changelog"], dict):
            problems.append(f'{issue.get("key") or f"item {position}"} has a "changelog" that is not an object')
    return problems


def _truncated_count(issues: Sequence[dict[str, Any]]) -> int:
    count = 0
    for issue in issues:
        changelog = issue.get("changelog")
        if not changelog:
            continue
        histories, total = changelog.get("histories"), changelog.get("total")
        if isinstance(total, int) and isinstance(histories, list) and total > len(histories):
            count += 1
    return count


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "a number",
             float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _key_list(document: dict[str, Any]) -> str:
    keys = list(document)[:5]
    return ", ".join(repr(key) for key in keys) if keys else "(none)"
