"""Parse raw issues into the issue, interval and transition tables (depends only on the field ids).

One flat Python pass collects the issues' fields and the status changes; everything else (timestamps,
sorting, the interval table) is done by pandas/numpy."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
from data.metrics.teams import TEAM_COLUMN, team_column


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


def parse_issue_frames(raw_issues: Iterable[Any], field_ids: Mapping[str, str | None]) -> IssueFrames:
    """Parse raw issues into the issue and interval tables (no settings beyond the field ids).

    Anything that is not an issue object is skipped and counted in ``skipped_issue_count``."""
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

    issues = _issue_columns(ids, keys, fields_list, field_ids)
    transitions, intervals = _timeline(issues, changes)
    missing_status = issues["status"].isna().to_numpy()
    if missing_status.any():
        last = _last_status(len(issues), intervals["issue_idx"].to_numpy(), intervals["status"])
        issues.loc[missing_status, "status"] = last[missing_status]
    ids_tuple = tuple((key, field_ids.get(key)) for key in (*MAPPING_KEYS, TEAM_KEY))
    return IssueFrames(issues, intervals, transitions, ids_tuple, skipped_issue_count=skipped)


def _issue_columns(ids: list, keys: list, fields_list: list[dict],
                   field_ids: Mapping[str, str | None]) -> pd.DataFrame:
    n = len(keys)

    def texts(values: Iterable[Any]) -> pd.Series:
        cleaned = [(v.strip() or None) if type(v) is str else None if v is None else option_text(v)
                   for v in values]
        return pd.Series(cleaned, dtype=object)

    columns: dict[str, Any] = {
        "id": texts(ids),
        "key": texts(keys),
        "summary": texts([f.get("summary") for f in fields_list]),
        "issue_type": texts([f.get("issuetype") for f in fields_list]),
        "project": texts([_project_text(f.get("project")) for f in fields_list]),
        "status": texts([f.get("status") for f in fields_list]),
        "created": parse_timestamps([timestamp_raw(f.get("created")) for f in fields_list]),
        "updated": parse_timestamps([timestamp_raw(f.get("updated")) for f in fields_list]),
        "resolved": parse_timestamps([timestamp_raw(f.get("resolutiondate")) for f in fields_list]),
    }
    for key in MAPPING_KEYS:
        field_id = field_ids.get(key)
        raw = [f.get(field_id) for f in fields_list] if field_id else [None] * n
        if key in DATE_KEYS:
            stamps = [v if v is None or type(v) is str else timestamp_raw(v) for v in raw]
            columns[key] = parse_timestamps(stamps)
            columns[f"{key}_set"] = pd.Series(
                [v is not None and (type(v) is not str or bool(v.strip())) for v in stamps], dtype=bool)
        elif key in TEXT_KEYS:
            columns[key] = texts(raw)
        elif key in BOOLEAN_KEYS:
            columns[key] = pd.Series([boolean_value(v) for v in raw], dtype="boolean")
        else:
            columns[key] = pd.Series([number_value(v) for v in raw], dtype=np.float64)
    team_id = field_ids.get(TEAM_KEY)
    columns[TEAM_COLUMN] = team_column([f.get(team_id) for f in fields_list] if team_id else [None] * n, team_id)
    type_keys = [fold(t) if t else None for t in columns["issue_type"]]
    columns["issue_type_key"] = pd.Series(type_keys, dtype=object)
    return pd.DataFrame(columns, index=pd.RangeIndex(n))


def _status_codes(values: list[Any]) -> tuple[np.ndarray, pd.Index]:
    """Category codes of status texts (trimmed; -1 for none), factorising raw values before cleaning them."""
    try:
        raw_codes, raw_uniques = pd.factorize(np.array(values, dtype=object), use_na_sentinel=True)
    except TypeError:
        raw_codes, raw_uniques = pd.factorize(np.array([option_text(v) for v in values], dtype=object))
    cleaned = np.array([option_text(v) for v in raw_uniques] + [None], dtype=object)
    codes, uniques = pd.factorize(cleaned, use_na_sentinel=True)
    return codes[raw_codes], pd.Index(uniques, dtype=object)


def _timeline(issues: pd.DataFrame, changes: _StatusChanges) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = len(issues)
    m = len(changes.issue)
    codes, categories = _status_codes(list(issues["status"]) + changes.from_ + changes.to)
    current_code, from_code, to_code = codes[:n], codes[n:n + m], codes[n + m:]
    issue_idx = np.asarray(changes.issue, dtype=np.int64)
    at = series_us(parse_timestamps(changes.time)) if m else np.empty(0)
    hist = np.asarray(changes.hist, dtype=np.int64)
    keep = ~np.isnan(at)
    issue_idx, at, hist, from_code, to_code = (a[keep] for a in (issue_idx, at, hist, from_code, to_code))

    newest_first = _newest_first(n, issue_idx, at, to_code, current_code)
    oriented = np.where(newest_first[issue_idx], -hist, hist)
    order = np.lexsort((np.arange(issue_idx.size), oriented, at, issue_idx))
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
