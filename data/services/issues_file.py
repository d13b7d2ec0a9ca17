"""Read an issues file for ``cli.py metrics``: Jira issues in REST shape, as a bare array or a search response.

Accepted: a JSON array of issues, or an object with an ``"issues"`` array (a Jira search response, or what
``cli.py fetch --output`` and ``cli.py demo`` write). An issue is an object with a ``"fields"`` object; its
``changelog.histories`` may come newest or oldest first. Anything else is refused as a whole with an
``IssuesInputError`` naming the file and what is wrong, rather than computing metrics from part of the data.

A search response may carry a truncated changelog (``changelog.total`` larger than the histories returned);
such issues are counted so the caller can say that their status times may be incomplete.

Given the settings, the file is decoded straight into records holding only what the tables read (the issue's
id and key, the fields the settings map, the status changes): a typed decode that skips everything else.
A file of any other shape (a field value nested deeper than a list of options, a history that is not an
object, an integer beyond 64 bits which the general reader turns into a float, ...) is read by the general
reader instead, so the outcome, errors included, is the same either way. Both refuse a file that is not
UTF-8 (checked before either decode; a leading byte-order mark is dropped first) or not a regular file. One
difference remains: a number too large for a float (``1e400``) where the tables read nothing is skipped by the
typed decode, while the general reader refuses the whole file.
The cyclic garbage collector is paused while the millions of small objects are built (none form cycles).
"""

from __future__ import annotations

import gc
import stat
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypedDict

import msgspec
import orjson

from data.metrics.issue_parsing import BASE_FIELDS, DecodedIssues
from data.metrics.issue_tables import frame_config

UTF8_BOM = b"\xef\xbb\xbf"

_SHOWN_PROBLEMS = 3
_INT_MAX = 2**64 - 1  # the largest integer the general reader keeps as one (beyond: a float)


class IssuesInputError(ValueError):
    """The issues file cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class IssuesInput:
    """The issues of a file, and how many of them have a changelog shorter than Jira's ``total``.

    ``issues`` is a list of issue objects, or (when read for given settings) the decoded records."""

    issues: list[dict[str, Any]] | DecodedIssues
    truncated_changelogs: int = 0


@contextmanager
def gc_paused() -> Iterator[None]:
    """Building millions of small containers triggers the cyclic GC again and again; none form cycles."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_issues_file(path: str | Path, settings: Mapping[str, Any] | None = None) -> IssuesInput:
    """The issues in ``path``; ``IssuesInputError`` for a missing, unreadable, non-JSON or non-issue file.

    With ``settings``, the issues come as ``DecodedIssues`` for those settings' field mappings."""
    target = Path(path)
    try:
        mode = target.stat().st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):  # a FIFO or a device would block or never end
            raise IssuesInputError(f"issues file {target} is not a regular file")
        raw = target.read_bytes()
    except FileNotFoundError:
        raise IssuesInputError(f"issues file not found: {target}") from None
    except OSError as exc:
        raise IssuesInputError(f"cannot read issues file {target}: {exc.strerror or exc}") from None
    raw = raw.removeprefix(UTF8_BOM)  # editors and exports on Windows start UTF-8 files with one
    if not raw.isascii():
        try:  # the typed decode skips fields it does not need, unchecked: both readers refuse bad UTF-8 alike
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise IssuesInputError(f"issues file {target} is not valid JSON: not UTF-8 at byte {exc.start}") from None
    with gc_paused():
        if settings is not None:
            decoded = _typed_decode(raw, [field_id for _, field_id in frame_config(settings).field_ids if field_id])
            if decoded is not None:
                return decoded
        try:
            document = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise IssuesInputError(f"issues file {target} is not valid JSON: {exc}") from None
        return IssuesInput(*_checked_issues(document, target.name))


# --- the typed decode: only what the tables read -----------------------------------------------------------

_Int = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
"""An integer the general reader keeps as one (beyond 64 bits it reads a float): others fail the typed decode."""
_Scalar = str | bool | _Int | float | None


class _Named(TypedDict, total=False):
    """An option, object or project as a field value: the keys the tables read (any other key is skipped)."""

    value: _Scalar
    name: _Scalar
    key: _Scalar


_Value = _Scalar | _Named | list[_Scalar | _Named]
"""A field value of the usual shapes; deeper nesting fails the typed decode (the general reader takes it)."""


class _Item(msgspec.Struct, gc=False):
    field: str | None = None
    fieldId: str | None = None  # Jira's names, as they come
    fromString: str | None = None
    toString: str | None = None


class _History(msgspec.Struct, gc=False):
    created: str | None = None
    items: list[_Item] | None = None


class _Changelog(msgspec.Struct, gc=False):
    histories: list[_History] | None = None
    total: Any = None


def _decoder(field_ids: Sequence[str]) -> tuple[msgspec.json.Decoder, dict[str, str]]:
    names = list(dict.fromkeys((*BASE_FIELDS, *field_ids)))
    attributes = {field_id: f"f{position}" for position, field_id in enumerate(names)}
    fields = msgspec.defstruct("Fields", [(name, _Value, None) for name in attributes.values()],
                               rename={name: field_id for field_id, name in attributes.items()}, gc=False)
    issue = msgspec.defstruct("Issue", [("fields", fields), ("id", _Value, None), ("key", _Value, None),
                                        ("changelog", _Changelog | None, None)], gc=False)
    response = msgspec.defstruct("SearchResponse", [("issues", list[issue])], gc=False)
    return msgspec.json.Decoder(list[issue] | response), attributes


def _typed_decode(raw: bytes, field_ids: Sequence[str]) -> IssuesInput | None:
    """The records of a file of the usual shape; ``None`` when it needs the general reader."""
    decoder, attributes = _decoder(field_ids)
    try:
        document = decoder.decode(raw)
    except (msgspec.MsgspecError, ValueError, RecursionError):  # not JSON, or not of the usual shape
        return None
    records = document if isinstance(document, list) else document.issues
    truncated = 0
    for record in records:
        changelog = record.changelog
        if changelog is not None and changelog.histories is not None:
            total = changelog.total
            if isinstance(total, int) and total > len(changelog.histories):
                if total > _INT_MAX:  # the general reader reads a float: not a count
                    return None
                truncated += 1
    return IssuesInput(DecodedIssues(records, attributes), truncated)


# --- the general reader ----------------------------------------------------------------------------------------

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
