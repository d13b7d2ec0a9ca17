"""Parse raw issues into the issue, interval and transition tables (depends only on the field ids).

One flat Python pass collects the issues' fields and the status changes; everything else (timestamps,
sorting, the interval table) is done by pandas/numpy."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import numpy as np
import pandas as pd

from data.metrics.field_values import (
    boolean_value,
    fold,
    from_us,
    number_value,
    option_text,
    parse_timestamps,
    timestamp_raw,
)
from data.metrics.issue_tables import BOOLEAN_KEYS, DATE_KEYS, MAPPING_KEYS, TEAM_KEY, TEXT_KEYS, IssueFrames
from data.metrics.periods import series_us
from data.metrics.teams import TEAM_COLUMN, team_column, team_values

BASE_FIELDS: tuple[str, ...] = ("summary", "issuetype", "project", "status", "created", "updated", "resolutiondate")
"""The Jira fields every issue row reads, whatever the mappings."""


@dataclass(frozen=True)
class DecodedIssues:
    """Issues decoded straight into records holding only what parsing reads (see
    ``data.services.issues_file``): each record has ``id``, ``key``, ``fields`` (one attribute per field id,
    named by ``field_attributes``) and ``changelog`` (``None`` or ``histories``: ``None`` or a list of
    ``created`` + ``items``, each item with ``field``, ``fieldId``, ``fromString``, ``toString``). Every value
    is what the JSON reader gives for the issue object; parsing them gives exactly the tables of the objects."""

    records: Sequence[Any]
    field_attributes: Mapping[str, str]


def _project_text(value: Any) -> str | None:
    if isinstance(value, dict):
        return option_text(value.get("key")) or option_text(value.get("name"))
    return option_text(value)


class _StatusChanges:
    """Flat columns of every status change: (issue position, history time, from, to, history position)."""

    def __init__(self) -> None:
        self.issue: list[int] = []
        self.time: list[Any] = []
        self.from_: list[Any] = []
        self.to: list[Any] = []
        self.hist: list[int] = []

    def collect(self, n: int, histories: Any) -> None:
        mark = len(self.issue)
        try:
            self._collect_fast(n, histories)
        except (AttributeError, TypeError, KeyError):
            for column in (self.issue, self.time, self.from_, self.to, self.hist):
                del column[mark:]
            self._collect_careful(n, histories)

    def _collect_fast(self, n: int, histories: Any) -> None:
        add_issue, add_time, add_from = self.issue.append, self.time.append, self.from_.append
        add_to, add_hist = self.to.append, self.hist.append
        for h_pos, history in enumerate(histories):
            items = history.get("items")
            if items:
                for item in items:
                    if item.get("field") == "status" or item.get("fieldId") == "status":
                        add_issue(n)
                        add_time(history.get("created"))
                        add_from(item.get("fromString"))
                        add_to(item.get("toString"))
                        add_hist(h_pos)

    def _collect_careful(self, n: int, histories: Any) -> None:
        """Malformed histories or items are skipped; positions of the others are kept."""
        if isinstance(histories, list | tuple):
            self._collect_fast(n, [_clean_history(history) for history in histories])


def _clean_history(history: Any) -> dict:
    items = history.get("items") if isinstance(history, dict) else None
    if not isinstance(items, list | tuple):
        return {}
    return {"created": history.get("created"), "items": [item for item in items if isinstance(item, dict)]}


def parse_issue_frames(raw_issues: Iterable[Any] | DecodedIssues,
                       field_ids: Mapping[str, str | None]) -> IssueFrames:
    """Parse raw issues into the issue and interval tables (no settings beyond the field ids).

    Anything that is not an issue object is skipped and counted in ``skipped_issue_count``."""
    if isinstance(raw_issues, DecodedIssues):
        ids, keys, column, changes = _collect_decoded(raw_issues, field_ids)
        skipped = 0
    else:
        ids, keys, column, changes, skipped = _collect_objects(raw_issues)
    issues = _issue_columns(ids, keys, column, field_ids)
    transitions, intervals = _timeline(issues, changes)
    missing_status = issues["status"].isna().to_numpy()
    if missing_status.any():
        last = _last_status(len(issues), intervals["issue_idx"].to_numpy(), intervals["status"])
        issues.loc[missing_status, "status"] = last[missing_status]
    ids_tuple = tuple((key, field_ids.get(key)) for key in (*MAPPING_KEYS, TEAM_KEY))
    return IssueFrames(issues, intervals, transitions, ids_tuple, skipped_issue_count=skipped)


_FieldColumn = Callable[[str], list[Any]]
"""A field id → that field's raw value of every issue, in order."""


def _collect_objects(raw_issues: Iterable[Any]) -> tuple[list, list, _FieldColumn, _StatusChanges, int]:
    ids: list[Any] = []
    keys: list[Any] = []
    fields_list: list[dict] = []
    changes = _StatusChanges()
    skipped = 0
    for issue in raw_issues:
        if not isinstance(issue, dict):
            skipped += 1
            continue
        fields = issue.get("fields")
        fields_list.append(fields if isinstance(fields, dict) else {})
        ids.append(issue.get("id"))
        changelog = issue.get("changelog")
        if changelog:
            histories = changelog.get("histories") if isinstance(changelog, dict) else None
            if histories:
                changes.collect(len(keys), histories)
        keys.append(issue.get("key"))

    def column(field_id: str) -> list[Any]:
        return [f.get(field_id) for f in fields_list]

    return ids, keys, column, changes, skipped


def _collect_decoded(decoded: DecodedIssues,
                     field_ids: Mapping[str, str | None]) -> tuple[list, list, _FieldColumn, _StatusChanges]:
    records = decoded.records
    attributes = decoded.field_attributes
    unknown = {*BASE_FIELDS, *(f for f in field_ids.values() if f)} - set(attributes)
    if unknown:
        raise ValueError(f"the issues were decoded without the fields {sorted(unknown)}")
    fields_list = [record.fields for record in records]
    changes = _StatusChanges()
    add_issue, add_time, add_from = changes.issue.append, changes.time.append, changes.from_.append
    add_to, add_hist = changes.to.append, changes.hist.append
    for n, changelog in enumerate(map(attrgetter("changelog"), records)):
        if changelog is not None and changelog.histories:
            for h_pos, history in enumerate(changelog.histories):
                items = history.items
                if items:
                    for item in items:
                        if item.field == "status" or item.fieldId == "status":
                            add_issue(n)
                            add_time(history.created)
                            add_from(item.fromString)
                            add_to(item.toString)
                            add_hist(h_pos)

    def column(field_id: str) -> list[Any]:
        return list(map(attrgetter(attributes[field_id]), fields_list))

    return [record.id for record in records], [record.key for record in records], column, changes


def _issue_columns(ids: list, keys: list, column: _FieldColumn,
                   field_ids: Mapping[str, str | None]) -> pd.DataFrame:
    n = len(keys)

    def texts(values: Iterable[Any]) -> pd.Series:
        cleaned = [(v.strip() or None) if type(v) is str else None if v is None else option_text(v)
                   for v in values]
        return pd.Series(cleaned, dtype=object)

    def stamp_values(values: list[Any]) -> list[Any]:
        return [v if v is None or type(v) is str else timestamp_raw(v) for v in values]

    columns: dict[str, Any] = {
        "id": texts(ids),
        "key": texts(keys),
        "summary": texts(column("summary")),
        "issue_type": texts(column("issuetype")),
        "project": texts([_project_text(value) for value in column("project")]),
        "status": texts(column("status")),
        "created": parse_timestamps(stamp_values(column("created"))),
        "updated": parse_timestamps(stamp_values(column("updated"))),
        "resolved": parse_timestamps(stamp_values(column("resolutiondate"))),
    }
    for key in MAPPING_KEYS:
        field_id = field_ids.get(key)
        raw = column(field_id) if field_id else [None] * n
        if key in DATE_KEYS:
            stamps = stamp_values(raw)
            columns[key] = parse_timestamps(stamps)
            columns[f"{key}_set"] = pd.Series(
                [v is not None and (type(v) is not str or bool(v.strip())) for v in stamps], dtype=bool)
        elif key in TEXT_KEYS:
            columns[key] = texts(raw)
        elif key in BOOLEAN_KEYS:
            columns[key] = pd.Series([None if v is None else boolean_value(v) for v in raw], dtype="boolean")
        else:
            columns[key] = pd.Series([None if v is None else number_value(v) for v in raw], dtype=np.float64)
    team_id = field_ids.get(TEAM_KEY)
    columns[TEAM_COLUMN] = _team_column(column(team_id), team_id) if team_id else team_column([None] * n, None)
    issue_types = columns["issue_type"].tolist()
    folded = {t: fold(t) for t in set(issue_types) if t}  # each distinct type folded once
    type_keys = [folded[t] if t else None for t in issue_types]
    columns["issue_type_key"] = pd.Series(type_keys, dtype=object)
    return pd.DataFrame(columns, index=pd.RangeIndex(n))


def _team_column(raw: list[Any], team_id: str) -> pd.Series:
    """``team_column`` of the raw values, each distinct value worked out once: a text by itself, an object by
    its ``value``, ``name`` and ``key`` texts (``team_values`` reads nothing else of it)."""
    memo: dict[Any, tuple[str, ...]] = {}
    values: list[tuple[str, ...]] = []
    for value in raw:
        kind = type(value)
        if kind is dict:
            option, name, key_text = value.get("value"), value.get("name"), value.get("key")
            key: Any = (option if type(option) is str else None, name if type(name) is str else None,
                        key_text if type(key_text) is str else None)
        elif kind is str or value is None:
            key = value
        else:
            values.append(team_values(value, team_id))
            continue
        names = memo.get(key)
        if names is None:
            names = memo[key] = team_values(value, team_id)
        values.append(names)
    return pd.Series(values, dtype=object)


def _status_codes(values: list[Any]) -> tuple[np.ndarray, pd.Index]:
    """Category codes of status texts (trimmed; -1 for none), factorising raw values before cleaning them."""
    if set(map(type, values)) <= {str, type(None)}:  # the usual case: a dict factorises them faster than pandas
        position = {value: code for code, value in enumerate(dict.fromkeys(values))}
        raw_uniques: Any = list(position)
        raw_codes = np.fromiter(map(position.__getitem__, values), dtype=np.int64, count=len(values))
    else:
        raw_codes, raw_uniques = _factorized_values(values)
    cleaned = np.array([option_text(v) for v in raw_uniques] + [None], dtype=object)
    codes, uniques = pd.factorize(cleaned, use_na_sentinel=True)
    return codes[raw_codes], pd.Index(uniques, dtype=object)


def _factorized_values(values: list[Any]) -> tuple[np.ndarray, Any]:
    try:
        return pd.factorize(np.array(values, dtype=object), use_na_sentinel=True)
    except TypeError:
        return pd.factorize(np.array([option_text(v) for v in values], dtype=object))


def _timeline(issues: pd.DataFrame, changes: _StatusChanges) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = len(issues)
    m = len(changes.issue)
    codes, categories = _status_codes([*issues["status"], *changes.from_, *changes.to])
    current_code, from_code, to_code = codes[:n], codes[n:n + m], codes[n + m:]
    issue_idx = np.asarray(changes.issue, dtype=np.int64)
    at = series_us(parse_timestamps(changes.time)) if m else np.empty(0)
    hist = np.asarray(changes.hist, dtype=np.int64)
    keep = ~np.isnan(at)
    issue_idx, at, hist, from_code, to_code = (a[keep] for a in (issue_idx, at, hist, from_code, to_code))

    order = _monotonic_order(issue_idx, at)
    if order is None:
        newest_first = _newest_first(n, issue_idx, at, to_code, current_code)
        oriented = np.where(newest_first[issue_idx], -hist, hist)
        order = np.lexsort((oriented, at, issue_idx))  # a stable sort: full ties keep the collected order
    issue_idx, at, from_code, to_code = issue_idx[order], at[order], from_code[order], to_code[order]

    def categorical(code: np.ndarray) -> pd.Categorical:
        return pd.Categorical.from_codes(code, categories=categories)

    transitions = pd.DataFrame({
        "issue_idx": issue_idx,
        "at": from_us(at),
        "from_status": categorical(from_code),
        "to_status": categorical(to_code),
    })
    interval_issue, seq, status_code, entered, left = _interval_arrays(
        series_us(issues["created"]), current_code, issue_idx, at, from_code, to_code)
    status = categorical(status_code)
    intervals = pd.DataFrame({
        "issue_idx": interval_issue,
        "seq": seq,
        "status": status,
        "status_key": _folded_categorical(status),
        "entered": from_us(entered),
        "left": from_us(left),
    })
    return transitions, intervals


def _monotonic_order(issue_idx: np.ndarray, at: np.ndarray) -> np.ndarray | None:
    """The order by (issue, time) without sorting, when the changes come grouped by issue and each issue's
    times strictly rise or strictly fall (the usual histories: no two changes at the same time); else ``None``.

    Without equal times the sorted order of an issue is its changes as given, or reversed."""
    if issue_idx.size < 2:
        return np.arange(issue_idx.size)
    same_issue = issue_idx[1:] == issue_idx[:-1]
    if (issue_idx[1:] < issue_idx[:-1]).any():
        return None
    step = np.diff(at)
    falls, rises = step < 0, step > 0
    if (same_issue & ~(falls | rises)).any():  # equal times: the tie rules need the full sort
        return None
    both_in_issue = same_issue[1:] & same_issue[:-1]
    if (both_in_issue & (falls[1:] != falls[:-1])).any():  # an issue whose times go up and down
        return None
    reversed_issue = np.zeros(int(issue_idx[-1]) + 1, dtype=bool)
    reversed_issue[issue_idx[1:][same_issue & falls]] = True
    position = np.arange(issue_idx.size)
    first = np.searchsorted(issue_idx, issue_idx, side="left")
    last = np.searchsorted(issue_idx, issue_idx, side="right") - 1
    return np.where(reversed_issue[issue_idx], first + last - position, position)


def _interval_arrays(created: np.ndarray, current_code: np.ndarray, issue_idx: np.ndarray, at: np.ndarray,
                     from_code: np.ndarray, to_code: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per issue one initial interval (first status, from ``created``) and one per sorted change."""
    n = created.size
    counts = np.bincount(issue_idx, minlength=n) if n else np.zeros(0, dtype=np.int64)
    first_change = np.cumsum(counts) - counts
    initial_code = current_code.copy()
    has_changes = counts > 0
    initial_code[has_changes] = from_code[first_change[has_changes]]
    sizes = counts + 1
    starts = np.cumsum(sizes) - sizes
    total = int(sizes.sum())
    status_code = np.empty(total, dtype=np.int64)
    entered = np.empty(total, dtype=np.float64)
    status_code[starts] = initial_code
    entered[starts] = created
    change_pos = starts[issue_idx] + 1 + (np.arange(issue_idx.size) - first_change[issue_idx])
    status_code[change_pos] = to_code
    entered[change_pos] = at
    left = np.full(total, np.nan)
    left[:-1] = entered[1:]
    left[starts + counts] = np.nan
    interval_issue = np.repeat(np.arange(n), sizes)
    return interval_issue, np.arange(total) - starts[interval_issue], status_code, entered, left


def _folded_categorical(status: pd.Categorical) -> pd.Categorical:
    folded = [fold(text) for text in status.categories]
    key_codes, key_uniques = pd.factorize(np.array(folded, dtype=object))
    codes = np.where(status.codes >= 0, key_codes[np.maximum(status.codes, 0)], -1) if len(folded) else (
        status.codes)
    return pd.Categorical.from_codes(codes, categories=pd.Index(key_uniques, dtype=object))


def _newest_first(n: int, issue_idx: np.ndarray, at: np.ndarray, to_code: np.ndarray,
                  current_code: np.ndarray) -> np.ndarray:
    """Per issue, whether its histories were given newest first (see the module docstring)."""
    result = np.zeros(n, dtype=bool)
    if issue_idx.size == 0:
        return result
    uniq, first = np.unique(issue_idx, return_index=True)
    last = np.append(first[1:], issue_idx.size) - 1
    t_first, t_last = at[first], at[last]
    tie = t_first == t_last
    current = current_code[uniq]
    by_status = (to_code[first] == current) & (to_code[last] != current)
    result[uniq] = np.where(tie, by_status, t_first > t_last)
    return result


def _last_status(n: int, iv_issue: np.ndarray, status: pd.Series) -> np.ndarray:
    """The timeline's last status per issue (used when ``fields.status`` is missing)."""
    last_rows = np.append(np.flatnonzero(np.diff(iv_issue)), iv_issue.size - 1) if iv_issue.size else []
    out = np.full(n, None, dtype=object)
    if len(last_rows):
        out[iv_issue[last_rows]] = status.to_numpy(dtype=object)[last_rows]
    return out
