"""The cached Jira issues and their fetch metadata, in the data directory's ``cache/`` folder.

Why two files: ``cache/issues.json`` is large (every issue, trimmed) and is rewritten only when the issue set
changes; ``cache/fetch_meta.json`` is small and is rewritten after every successful update (the time of the
last fetch moves on even when nothing changed in Jira). It also holds what the app knows about the cache
(its identity key, the config hash, the time of the last fetch): runtime facts live with the cache, never
in the user's ``app_settings.json``.

How a crash between the two writes cannot lose the cache: both files carry the same ``data_version`` and the
metadata is the one that decides which issue set is current. Saving a new issue set, under one lock,
(1) renames the current ``issues.json`` to ``issues-<its data version>.json``, (2) writes the new
``issues.json``, (3) writes the new metadata, (4) removes the previous ``issues-*.json``. A reader takes the
file of the metadata's ``data_version`` (``issues-<v>.json`` when it exists, else ``issues.json``), so a crash
after (1), (2) or (3) still loads a complete cache: the previous one until the new metadata is in place,
the new one after. A file whose ``data_version`` disagrees with the metadata is never used. Stray
temporaries and previous issue sets left by a crash are removed by the next load once they are more than a
minute old (a minute leaves room for a writer of an older release that does not take the lock).

What is kept of an issue (the REST shape, so normalisation reads cached and fresh issues alike): ``id``,
``key``, the requested ``fields`` (without ``self``/icon/avatar noise), and ``changelog.histories`` holding
only status changes, oldest first, with ``total`` equal to the number kept.

On disk the issues are stored compactly: every object-valued field (status, issue type, project, options)
and every list of changelog items is written once in a table and referenced by index, because they repeat
across thousands of issues. Loading rebuilds the REST shape with those repeated values *shared* between
issues, which makes a cache of 50,000 issues load about twice as fast and take less than half the memory of
plain REST JSON; consumers must therefore treat loaded issues as read-only.

When the cache no longer fits the settings: a change of JQL, Jira URL, deployment or data source means a full
fetch; a mapping change only when it needs a field the cache lacks (``cache_invalid_reason``).
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from configuration.defaults import DEMO_JQL
from configuration.paths import data_file
from configuration.settings import is_demo_mode
from data.metrics.field_values import parse_jira_time
from data.store.json_store import PersistenceError, file_lock, read_json, write_json_atomic

logger = logging.getLogger(__name__)

CACHE_VERSION = 1
ISSUES_FILE = "cache/issues.json"
META_FILE = "cache/fetch_meta.json"
BASE_FIELDS: tuple[str, ...] = (
    "summary", "status", "issuetype", "project", "created", "updated", "resolutiondate", "resolution",
)
_NOISE_KEYS = frozenset({"self", "iconUrl", "avatarUrls"})
_IDENTITY_KEYS = ("source", "url", "deployment", "jql")
_IDENTITY_NAMES = {
    "jira": {"source": "data source", "url": "Jira URL", "deployment": "Jira deployment", "jql": "JQL"},
    "azure_devops": {"source": "data source", "url": "Azure DevOps organization URL",
                     "deployment": "Azure DevOps project", "jql": "WIQL filter"},
}
_PREVIOUS_ISSUES = re.compile(r"^issues-([0-9A-Za-z_-]+)\.json$")
_OUR_TEMPORARIES = re.compile(r"^\.(issues(-[0-9A-Za-z_-]+)?\.json|fetch_meta\.json)\..+\.tmp$")
STRAY_AGE_SECONDS = 60.0


@dataclass(frozen=True)
class CachedIssues:
    """Cached issues (trimmed REST shape, complete status changelogs oldest first, read-only) and metadata."""

    issues: list[dict[str, Any]]
    meta: dict[str, Any]


def issues_path() -> Path:
    """``cache/issues.json``: the current issue set in normal operation, and the anchor of the cache lock."""
    return data_file(ISSUES_FILE)


def _previous_issues_path(data_version: str) -> Path:
    return issues_path().with_name(f"issues-{data_version}.json")


def _current_issues_path(meta: Mapping[str, Any] | None) -> Path:
    """Where the issues of ``meta``'s data version are: the kept previous file after an interrupted save."""
    version = str((meta or {}).get("data_version") or "")
    if version and _PREVIOUS_ISSUES.match(f"issues-{version}.json"):
        kept = _previous_issues_path(version)
        if kept.exists():
            return kept
    return issues_path()


def meta_path() -> Path:
    return data_file(META_FILE)


def new_data_version() -> str:
    return uuid.uuid4().hex[:12]


def required_fields(settings: Mapping[str, Any]) -> list[str]:
    """Jira field ids an update must ask for: the standard ones every metric reads plus every mapped field."""
    mappings = (settings.get("dora_flow_config") or {}).get("field_mappings") or {}
    mapped = {
        str(value).strip()
        for group in mappings.values() if isinstance(group, Mapping)
        for value in group.values() if isinstance(value, str) and value.strip()
    }
    team = (settings.get("dora_flow_config") or {}).get("team_field")  # the field naming the team(s)
    if isinstance(team, str) and team.strip():
        mapped.add(team.strip())
    return [*BASE_FIELDS, *sorted(mapped - set(BASE_FIELDS))]


def cache_identity(settings: Mapping[str, Any], *, demo: bool | None = None) -> dict[str, str]:
    """What the cached issue set is *of*: source, URL, deployment (the project for Azure DevOps) and scope
    (the JQL, or the WIQL filter; the demo has a fixed JQL)."""
    if demo if demo is not None else is_demo_mode(settings):
        return {"source": "demo", "url": "", "deployment": "", "jql": DEMO_JQL}
    if settings.get("source") == "azure_devops":
        board = settings.get("azure_devops") or {}
        return {
            "source": "azure_devops",
            "url": str(board.get("organization_url") or "").strip().rstrip("/"),
            "deployment": str(board.get("project") or "").strip(),
            "jql": str(board.get("wiql_filter") or "").strip(),
        }
    jira = settings.get("jira") or {}
    return {
        "source": "jira",
        "url": str(jira.get("url") or "").strip().rstrip("/"),
        "deployment": str(jira.get("deployment") or ""),
        "jql": str(jira.get("jql") or "").strip(),
    }


def cache_config_hash(settings: Mapping[str, Any], fields: Iterable[str], *, demo: bool | None = None) -> str:
    """MD5 of the cache identity and the field list (kept in ``cache/fetch_meta.json`` as ``config_hash``)."""
    payload = {**cache_identity(settings, demo=demo), "fields": sorted(set(fields))}
    return _md5(payload)


def cache_invalid_reason(
    meta: Mapping[str, Any] | None, settings: Mapping[str, Any], *, demo: bool | None = None
) -> str | None:
    """Why the cache cannot serve ``settings`` (so the next update must be a full fetch), or ``None``."""
    if not meta or not meta.get("data_version"):
        return "no cached issues"
    if meta.get("version") != CACHE_VERSION:
        return "the cache was written in another format"
    if not _current_issues_path(meta).exists():
        return "the cached issues file is missing"
    identity = cache_identity(settings, demo=demo)
    for key in _IDENTITY_KEYS:
        if meta.get(key) != identity[key]:
            names = _IDENTITY_NAMES.get(identity["source"], _IDENTITY_NAMES["jira"])
            return f"the {names[key]} changed"
    missing = sorted(set(required_fields(settings)) - set(meta.get("fields") or ()))
    if missing:
        return f"the field mappings need fields the cache lacks ({', '.join(missing)})"
    return None


def _strip_noise(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _strip_noise(item) for key, item in value.items() if key not in _NOISE_KEYS}
    if isinstance(value, list):
        return [_strip_noise(item) for item in value]
    return value


def _is_status_item(item: Mapping[str, Any]) -> bool:
    if "fieldId" in item:
        return item.get("fieldId") == "status"
    return item.get("field") == "status" and item.get("fieldtype", "jira") == "jira"


def _status_item(item: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("field", "fieldtype", "fieldId", "from", "fromString", "to", "toString")
    return {key: item[key] for key in keys if key in item}


def _oldest_first(rows: list[list[Any]]) -> list[list[Any]]:
    if len(rows) > 1:
        first, last = parse_jira_time(rows[0][1]), parse_jira_time(rows[-1][1])
        if first is not None and last is not None and first > last:
            rows.reverse()
    return rows


def load_fetch_meta() -> dict[str, Any] | None:
    """The metadata of the last successful fetch, or ``None`` when there is none (or it is unreadable)."""
    meta = read_json(meta_path(), dict, expect=dict, max_version=CACHE_VERSION)
    return meta or None


def load_cached_issues() -> CachedIssues | None:
    """The cached issues (read-only: repeated values are shared) with their metadata, or ``None`` when absent,
    damaged or inconsistent.

    Both files are read under the cache lock, so a concurrent update is seen either wholly or not at all.
    """
    with file_lock(issues_path()), _gc_paused():
        meta = load_fetch_meta()
        _remove_strays(meta)
        if meta is None or not meta.get("data_version"):
            return None
        payload = read_json(_current_issues_path(meta), dict, expect=dict, max_version=CACHE_VERSION)
    if payload.get("data_version") != meta["data_version"]:
        if payload:
            logger.warning("Cached issues (data version %s) do not match the fetch metadata (%s); "
                           "ignoring them", payload.get("data_version"), meta["data_version"])
        return None
    try:
        with _gc_paused():
            issues = _decode(payload)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        logger.warning("Cached issues are not in the expected format (%s); ignoring them", exc)
        return None
    return CachedIssues(issues, meta)


def save_cached_issues(issues: Iterable[Mapping[str, Any]], meta: Mapping[str, Any]) -> dict[str, Any]:
    """Trim and store ``issues`` and then ``meta`` (atomic, one lock); returns the metadata written.

    ``meta`` carries the fetch facts (source, url, deployment, jql, timestamps) and ``fields``, the field ids
    kept of each issue (required); the cache adds ``version``, a ``data_version`` (new unless given),
    ``issue_count`` and ``cache_key`` (the MD5 of the cache identity). Raises ``PersistenceError`` (the previous
    cache stays readable) or ``ValueError`` without ``fields``.
    """
    if not isinstance(meta.get("fields"), list | tuple):
        raise ValueError("save_cached_issues needs meta['fields']: the field ids to keep of each issue")
    issues = list(issues)  # the encoder keys shared values by identity: every issue must stay alive meanwhile
    encoder = _Encoder(list(meta.get("fields") or ()))
    with _gc_paused():
        rows = [encoder.row(issue) for issue in issues]
    payload = {"values": encoder.values, "item_lists": encoder.item_lists, "issues": rows}
    written = {**meta, "version": CACHE_VERSION, "issue_count": len(payload["issues"])}
    written["data_version"] = written.get("data_version") or new_data_version()
    payload.update(version=CACHE_VERSION, data_version=written["data_version"])
    written["cache_key"] = _md5({key: written.get(key) for key in _IDENTITY_KEYS})
    with file_lock(issues_path()):
        _keep_current_issues_aside()
        write_json_atomic(issues_path(), payload, indent=None)
        write_json_atomic(meta_path(), written, indent=2)
        _remove_previous_issues(keep=None)
    return written


def _keep_current_issues_aside() -> None:
    """Step (1) of a save: the issue set the metadata points to stays readable until the new metadata is in
    place (``issues.json`` is renamed, so this costs no copy). Call under the cache lock."""
    meta = load_fetch_meta()
    version = str((meta or {}).get("data_version") or "")
    if not version or not _PREVIOUS_ISSUES.match(f"issues-{version}.json"):
        return
    kept = _previous_issues_path(version)
    if kept.exists() or not issues_path().exists():
        return
    try:
        os.replace(issues_path(), kept)
    except OSError as exc:
        raise PersistenceError(f"Could not keep the previous cached issues: {exc.strerror or exc}") from exc


def _remove_previous_issues(*, keep: str | None, older_than: float | None = None) -> None:
    """Remove ``issues-<v>.json`` files other than ``keep`` (only those older than ``older_than`` seconds)."""
    folder = issues_path().parent
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        match = _PREVIOUS_ISSUES.match(name)
        if match and match.group(1) != keep:
            _remove_if_old(folder / name, older_than)


def _remove_strays(meta: Mapping[str, Any] | None) -> None:
    """Remove what an interrupted write of this cache left behind: our temporaries and previous issue sets
    the metadata no longer points to, once they are over ``STRAY_AGE_SECONDS`` old. Call under the lock."""
    folder = issues_path().parent
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if _OUR_TEMPORARIES.match(name):
            _remove_if_old(folder / name, STRAY_AGE_SECONDS)
    _remove_previous_issues(keep=str((meta or {}).get("data_version") or "") or None, older_than=STRAY_AGE_SECONDS)


def _remove_if_old(path: Path, older_than: float | None) -> None:
    try:
        if older_than is not None and time.time() - path.stat().st_mtime < older_than:
            return
        path.unlink()
        logger.info("Removed %s, left by an interrupted cache write", path.name)
    except FileNotFoundError:
        pass
    except OSError as exc:
        logger.warning("Could not remove %s: %s", path.name, exc.strerror or exc)


class _Encoder:
    """Trims issues into compact rows ``[id, key, {field: scalar}, {field: value index}, histories]`` where a
    history is ``[id, created, item-list index]``.

    Values already seen as the same object (issues loaded from this cache share them) are looked up by
    identity, so re-saving the cache after a small update does not trim and serialise every repeated value.
    """

    def __init__(self, fields: list[str]) -> None:
        self.fields = fields
        self.values: list[Any] = []
        self.item_lists: list[Any] = []
        self._by_json: dict[bytes, int] = {}
        self._items_by_json: dict[bytes, int] = {}
        self._by_identity: dict[int, int] = {}
        self._items_by_identity: dict[int, int | None] = {}

    def row(self, issue: Mapping[str, Any]) -> list[Any]:
        source = issue.get("fields") or {}
        scalars, refs = {}, {}
        for name in self.fields:
            if name in source:
                value = source[name]
                if isinstance(value, dict | list):
                    refs[name] = self._value(value)
                else:
                    scalars[name] = value
        histories = []
        for history in (issue.get("changelog") or {}).get("histories") or ():
            index = self._items(history.get("items") or [])
            if index is not None:
                histories.append([history.get("id"), history.get("created"), index])
        return [str(issue.get("id")), issue.get("key"), scalars, refs, _oldest_first(histories)]

    def _value(self, value: Any) -> int:
        index = self._by_identity.get(id(value))
        if index is None:
            index = self._by_identity[id(value)] = _intern(_strip_noise(value), self.values, self._by_json)
        return index

    def _items(self, items: list[Any]) -> int | None:
        if id(items) in self._items_by_identity:
            return self._items_by_identity[id(items)]
        kept = [_status_item(item) for item in items if _is_status_item(item)]
        index = _intern(kept, self.item_lists, self._items_by_json) if kept else None
        self._items_by_identity[id(items)] = index
        return index


def _intern(value: Any, table: list[Any], index: dict[bytes, int]) -> int:
    key = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    position = index.get(key)
    if position is None:
        position = index[key] = len(table)
        table.append(value)
    return position


def _decode(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    values, item_lists = payload["values"], payload["item_lists"]
    issues = []
    for issue_id, key, fields, refs, rows in payload["issues"]:
        for name, position in refs.items():
            fields[name] = values[position]
        histories = [{"id": row[0], "created": row[1], "items": item_lists[row[2]]} for row in rows]
        issues.append({"id": issue_id, "key": key, "fields": fields, "changelog": {
            "startAt": 0, "maxResults": len(histories), "total": len(histories), "histories": histories}})
    return issues


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Building millions of small containers triggers the cyclic GC again and again; none form cycles."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def save_fetch_meta(meta: Mapping[str, Any]) -> dict[str, Any]:
    """Rewrite only the metadata (e.g. the time of a fetch that found nothing new); issues stay untouched.

    Raises ``PersistenceError`` when the stored issues are not the ones ``meta`` describes.
    """
    with file_lock(issues_path()):
        current = load_fetch_meta()
        if current is None or current.get("data_version") != meta.get("data_version"):
            raise PersistenceError("The issue cache changed during the update; please update again.")
        written = {**meta, "version": CACHE_VERSION}
        write_json_atomic(meta_path(), written, indent=2)
    return written


def clear_issue_cache() -> None:
    """Forget the cached issues (the next update is full); metadata goes first so no reader sees half."""
    with file_lock(issues_path()):
        folder = issues_path().parent
        previous = [folder / name for name in (os.listdir(folder) if folder.is_dir() else ())
                    if _PREVIOUS_ISSUES.match(name)]
        for path in (meta_path(), issues_path(), *previous):
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise PersistenceError(f"Could not remove {path.name}: {exc.strerror or exc}") from exc


def _md5(payload: Any) -> str:
    text = json.dumps(payload, sort_keys=True, ensure_ascii=True, default=str)
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()
