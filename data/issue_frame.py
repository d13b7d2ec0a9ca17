"""Raw Jira issues → two tidy tables: one row per issue, one row per status interval.

Built once per data update; every metric is a vectorised query over these tables.

Two steps, so a change of status lists does not re-read the raw issues:

- **parse** (``parse_issue_frames``) depends only on which Jira field each mapping key points to. One flat
  Python pass collects the issues' fields and the status changes; everything else (timestamps, sorting,
  the interval table) is done by pandas/numpy.
- **derive** (``derive_issue_frames``) depends on the status lists, type lists, environment values and flow
  type mappings, and adds ``started_at``, ``completed_at``, ``flow_type``, ``is_deployment``,
  ``is_production``, ``env_empty``, ``is_incident``, ``is_flow_item`` and ``active_days``.

``build_issue_frames`` does both; ``ensure_derived`` re-derives only when those settings changed and raises
``FramesMismatchError`` when the field mappings changed (the raw values are not kept: rebuild).

Status changes are the changelog items with ``field`` or ``fieldId`` equal to ``status``. Histories may come
newest first (search) or oldest first (changelog endpoints): changes are sorted by their time; changes with
the same time keep the issue's history order read oldest first (the order is taken as newest first when the
first history is later than the last, or, when all times are equal, when only the first change leads to the
current status). A change whose time does not parse is ignored.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from configuration.defaults import DEFAULT_SETTINGS, DORA_MAPPING_KEYS, FLOW_MAPPING_KEYS, FLOW_TYPES
from data.periods import US_PER_DAY, US_PER_HOUR, series_us

DATE_KEYS: tuple[str, ...] = (
    "deployment_date", "code_commit_date", "deployed_to_production_date", "incident_detected_at",
    "incident_resolved_at", "work_started_date", "work_completed_date",
)
TEXT_KEYS: tuple[str, ...] = ("target_environment", "flow_item_type")
BOOLEAN_KEYS: tuple[str, ...] = ("deployment_successful", "production_impact")
NUMBER_KEYS: tuple[str, ...] = ("active_work_hours",)
MAPPING_KEYS: tuple[str, ...] = DORA_MAPPING_KEYS + FLOW_MAPPING_KEYS


TRUE_WORDS = frozenset({"true", "yes", "y", "1", "success", "successful", "passed"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "failed", "failure"})
TIMESTAMP_DTYPE = "datetime64[us, UTC]"
_EPOCH_MS_THRESHOLD = 1e11


class FramesMismatchError(ValueError):
    """The tables were parsed with other field mappings than the settings now name."""


def fold(text: str) -> str:
    """The comparison form of a status, type or option text: trimmed and case-folded."""
    return text.strip().casefold()


@dataclass(frozen=True)
class FrameConfig:
    """Everything in the settings that shapes the tables, in comparison form (hashable, comparable)."""

    field_ids: tuple[tuple[str, str | None], ...]
    wip: frozenset[str]
    active: frozenset[str]
    completed: frozenset[str]
    production_values: frozenset[str]
    deployment_types: frozenset[str]
    incident_types: frozenset[str]
    flow_issue_types: frozenset[str]
    flow_type_lookup: tuple[tuple[str, str], ...]

    def field_id(self, key: str) -> str | None:
        return dict(self.field_ids).get(key)

    def mapped(self, key: str) -> bool:
        return self.field_id(key) is not None

    @property
    def environment_filter(self) -> bool:
        return self.mapped("target_environment") and bool(self.production_values)


def _folded_set(values: Any) -> frozenset[str]:
    if isinstance(values, str):
        values = [values]
    return frozenset(fold(v) for v in values or () if isinstance(v, str) and v.strip())


def frame_config(settings: Mapping[str, Any]) -> FrameConfig:
    """Read ``dora_flow_config``; keys it lacks take the defaults of ``configuration.defaults``."""
    defaults = DEFAULT_SETTINGS["dora_flow_config"]
    config = settings.get("dora_flow_config") or {}

    def get(key: str) -> Any:
        return config.get(key, defaults[key])

    mappings = get("field_mappings") or {}
    field_ids: list[tuple[str, str | None]] = []
    for group, keys in (("dora", DORA_MAPPING_KEYS), ("flow", FLOW_MAPPING_KEYS)):
        group_map = mappings.get(group) or {}
        for key in keys:
            value = group_map.get(key)
            field_ids.append((key, value.strip() if isinstance(value, str) and value.strip() else None))
    lookup: dict[str, str] = {fold(name): name for name in FLOW_TYPES}
    type_mappings = get("flow_type_mappings") or {}
    for canonical in FLOW_TYPES:
        for alias in _folded_set(type_mappings.get(canonical)):
            lookup.setdefault(alias, canonical)
    return FrameConfig(
        field_ids=tuple(field_ids),
        wip=_folded_set(get("wip_statuses")),
        active=_folded_set(get("active_statuses")),
        completed=_folded_set(get("completed_statuses")),
        production_values=_folded_set(get("production_environment_values")),
        deployment_types=_folded_set(get("deployment_issue_types")),
        incident_types=_folded_set(get("incident_issue_types")),
        flow_issue_types=_folded_set(get("flow_issue_types")),
        flow_type_lookup=tuple(sorted(lookup.items())),
    )


@dataclass(eq=False)
class IssueFrames:
    """The tidy tables. ``issues`` is indexed by issue position (0..n-1); the other tables refer to it
    by ``issue_idx``. ``intervals``: issue_idx, seq (0 = initial status), status, status_key, entered,
    left (NaT for the open interval). ``transitions``: issue_idx, at, from_status, to_status, oldest first.
    """

    issues: pd.DataFrame
    intervals: pd.DataFrame
    transitions: pd.DataFrame
    field_ids: tuple[tuple[str, str | None], ...]
    config: FrameConfig | None = None
    skipped_issue_count: int = 0
    memo: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)


# ---------------------------------------------------------------- field values


def option_text(value: Any) -> str | None:
    """Text of a field value: a string, an option ``{"value"}``/``{"name"}``, the first non-empty option of
    a list, or a number/boolean written out; trimmed; ``None`` when empty or unusable."""
    if isinstance(value, str):
        return value.strip() or None
    if value is None:
        return None
    if isinstance(value, dict):
        for key in ("value", "name"):
            inner = value.get(key)
            text = (inner.strip() or None) if type(inner) is str else option_text(inner)
            if text is not None:
                return text
        return None
    if isinstance(value, list | tuple):
        for item in value:
            text = option_text(item)
            if text is not None:
                return text
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() else repr(value)
    return None


def boolean_value(value: Any) -> bool | None:
    """A boolean-like value (METRICS.md): ``True``/``False``, or ``None`` when empty or not boolean-like."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return True if value == 1 else False if value == 0 else None
    text = option_text(value)
    if text is None:
        return None
    word = text.casefold()
    return True if word in TRUE_WORDS else False if word in FALSE_WORDS else None


def number_value(value: Any) -> float | None:
    """A finite number from a number or numeric text; ``None`` otherwise (booleans are not numbers)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = option_text(value)
        if text is None:
            return None
        try:
            number = float(text)
        except ValueError:
            return None
    return number if math.isfinite(number) else None


def _timestamp_raw(value: Any) -> Any:
    if isinstance(value, str) or value is None:
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    return option_text(value)


def parse_timestamps(values: Sequence[Any]) -> pd.Series:
    """Parse timestamps to UTC, vectorised: ISO 8601 with ``Z``, ``±HH:MM``, ``±HHMM`` or no offset (UTC),
    date-only (00:00 UTC), or epoch numbers (milliseconds when ≥ 1e11 in magnitude, else seconds).
    Anything else becomes NaT."""
    n = len(values)
    if set(map(type, values)) <= {str, type(None)}:
        parsed = pd.to_datetime(pd.Series(values, dtype=object), utc=True, format="ISO8601", errors="coerce")
        return parsed.astype(TIMESTAMP_DTYPE)
    strings: list[Any] = [None] * n
    numbers = np.full(n, np.nan)
    for i, v in enumerate(values):
        if isinstance(v, str):
            strings[i] = v
        elif isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
            numbers[i] = v * (1_000.0 if abs(v) >= _EPOCH_MS_THRESHOLD else 1_000_000.0)
    parsed = pd.to_datetime(pd.Series(strings, dtype=object), utc=True, format="ISO8601", errors="coerce")
    parsed = parsed.astype(TIMESTAMP_DTYPE)
    usable = ~np.isnan(numbers) & (np.abs(numbers) < 2.0**62)
    if usable.any():
        epoch = pd.Series(pd.to_datetime(numbers[usable].round().astype(np.int64), unit="us", utc=True))
        parsed.iloc[np.flatnonzero(usable)] = epoch.astype(TIMESTAMP_DTYPE).to_numpy()
    return parsed


def _from_us(values: np.ndarray, index: pd.Index | None = None) -> pd.Series:
    ints = np.where(np.isnan(values), np.iinfo(np.int64).min, np.nan_to_num(values)).astype(np.int64)
    return pd.Series(ints.view("datetime64[us]"), index=index).dt.tz_localize("UTC")


# ---------------------------------------------------------------- parse


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
    ids_tuple = tuple((key, field_ids.get(key)) for key in MAPPING_KEYS)
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
        "created": parse_timestamps([_timestamp_raw(f.get("created")) for f in fields_list]),
        "updated": parse_timestamps([_timestamp_raw(f.get("updated")) for f in fields_list]),
        "resolved": parse_timestamps([_timestamp_raw(f.get("resolutiondate")) for f in fields_list]),
    }
    for key in MAPPING_KEYS:
        field_id = field_ids.get(key)
        raw = [f.get(field_id) for f in fields_list] if field_id else [None] * n
        if key in DATE_KEYS:
            stamps = [v if v is None or type(v) is str else _timestamp_raw(v) for v in raw]
            columns[key] = parse_timestamps(stamps)
            columns[f"{key}_set"] = pd.Series(
                [v is not None and (type(v) is not str or bool(v.strip())) for v in stamps], dtype=bool)
        elif key in TEXT_KEYS:
            columns[key] = texts(raw)
        elif key in BOOLEAN_KEYS:
            columns[key] = pd.Series([boolean_value(v) for v in raw], dtype="boolean")
        else:
            columns[key] = pd.Series([number_value(v) for v in raw], dtype=np.float64)
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
        "at": _from_us(at),
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
        "entered": _from_us(entered),
        "left": _from_us(left),
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


# ---------------------------------------------------------------- derive


def status_lookup(categories: pd.Index, wanted: frozenset[str]) -> np.ndarray:
    """Membership per category code, with a trailing False so code -1 (no status) looks up False."""
    return np.append(np.array([fold(str(c)) in wanted for c in categories], dtype=bool), False)


def derive_issue_frames(frames: IssueFrames, settings: Mapping[str, Any]) -> IssueFrames:
    """Add the settings-dependent per-issue columns (METRICS.md populations and status rules)."""
    config = frame_config(settings)
    if config.field_ids != frames.field_ids:
        raise FramesMismatchError("The field mappings changed since the issues were loaded; "
                                  "reload the issues.")
    issues, intervals = frames.issues, frames.intervals
    n = len(issues)
    iv_issue = intervals["issue_idx"].to_numpy()
    iv_codes = intervals["status"].cat.codes.to_numpy()
    categories = intervals["status"].cat.categories
    entered = series_us(intervals["entered"])
    left = series_us(intervals["left"])
    is_initial = intervals["seq"].to_numpy() == 0

    wip = status_lookup(categories, config.wip)[iv_codes]
    status_started = _first_per_issue(n, iv_issue, wip, entered)
    started = _with_mapped(issues, config, "work_started_date", status_started)

    completed_iv = status_lookup(categories, config.completed)[iv_codes]
    previous_completed = np.append(False, completed_iv[:-1]) & ~is_initial
    entry = completed_iv & ~previous_completed
    done_now = _in_set(issues["status"], config.completed)
    status_completed = np.where(done_now, _last_per_issue(n, iv_issue, entry, entered), np.nan)
    completed = _with_mapped(issues, config, "work_completed_date", status_completed)

    active_iv = status_lookup(categories, config.active)[iv_codes]
    active_days = _active_days(issues, config, iv_issue, active_iv, entered, left, started, completed)

    type_key = issues["issue_type_key"].to_numpy(dtype=object)

    def type_ok(types: frozenset[str]) -> np.ndarray:
        if not types:
            return np.ones(n, dtype=bool)
        return np.array([t in types for t in type_key], dtype=bool)

    is_deployment = issues["deployment_date"].notna().to_numpy() & type_ok(config.deployment_types)
    environment = issues["target_environment"].to_numpy(dtype=object)
    if config.environment_filter:
        env_empty = pd.isna(environment).astype(bool) & is_deployment
        env_match = _in_set(environment, config.production_values)
        is_production = is_deployment & env_match
    else:
        env_empty = np.zeros(n, dtype=bool)
        is_production = is_deployment.copy()
    lookup = dict(config.flow_type_lookup)
    flow_texts = issues["flow_item_type"].to_numpy(dtype=object)
    if config.mapped("flow_item_type"):
        flow_type = [lookup.get(fold(t), "Other") if isinstance(t, str) else "Other" for t in flow_texts]
    else:
        flow_type = [None] * n
    derived = issues.assign(
        started_at=_from_us(started, issues.index),
        completed_at=_from_us(completed, issues.index),
        active_days=active_days,
        flow_type=pd.Series(flow_type, dtype=object),
        is_deployment=is_deployment,
        is_production=is_production,
        env_empty=env_empty,
        is_incident=issues["incident_detected_at"].notna().to_numpy() & type_ok(config.incident_types),
        is_flow_item=~is_deployment & type_ok(config.flow_issue_types),
    )
    return replace(frames, issues=derived, config=config, memo={})


def _in_set(texts: Iterable[Any], wanted: frozenset[str]) -> np.ndarray:
    return np.array([isinstance(t, str) and fold(t) in wanted for t in texts], dtype=bool)


def _mapped_set(issues: pd.DataFrame, config: FrameConfig, key: str) -> np.ndarray:
    if not config.mapped(key):
        return np.zeros(len(issues), dtype=bool)
    return issues[f"{key}_set"].to_numpy()


def _mapped_us(issues: pd.DataFrame, config: FrameConfig, key: str) -> np.ndarray:
    if not config.mapped(key):
        return np.full(len(issues), np.nan)
    return series_us(issues[key])


def _with_mapped(issues: pd.DataFrame, config: FrameConfig, key: str, fallback: np.ndarray) -> np.ndarray:
    """The mapped date when the field is mapped and set (NaN when set but unparseable), else ``fallback``."""
    is_set = _mapped_set(issues, config, key)
    return np.where(is_set, _mapped_us(issues, config, key), fallback)


def _first_per_issue(n: int, iv_issue: np.ndarray, mask: np.ndarray, values: np.ndarray) -> np.ndarray:
    out = np.full(n, np.nan)
    positions = np.flatnonzero(mask)
    if positions.size:
        uniq, first = np.unique(iv_issue[positions], return_index=True)
        out[uniq] = values[positions[first]]
    return out


def _last_per_issue(n: int, iv_issue: np.ndarray, mask: np.ndarray, values: np.ndarray) -> np.ndarray:
    out = np.full(n, np.nan)
    positions = np.flatnonzero(mask)[::-1]
    if positions.size:
        uniq, first = np.unique(iv_issue[positions], return_index=True)
        out[uniq] = values[positions[first]]
    return out


def _last_status(n: int, iv_issue: np.ndarray, status: pd.Series) -> np.ndarray:
    """The timeline's last status per issue (used when ``fields.status`` is missing)."""
    last_rows = np.append(np.flatnonzero(np.diff(iv_issue)), iv_issue.size - 1) if iv_issue.size else []
    out = np.full(n, None, dtype=object)
    if len(last_rows):
        out[iv_issue[last_rows]] = status.to_numpy(dtype=object)[last_rows]
    return out


def _active_days(issues: pd.DataFrame, config: FrameConfig, iv_issue: np.ndarray, active_iv: np.ndarray,
                 entered: np.ndarray, left: np.ndarray, started: np.ndarray,
                 completed: np.ndarray) -> np.ndarray:
    """Days spent in active statuses within [started_at, completed_at]; the mapped ``active_work_hours``
    (negative read as 0) replaces it, capped at the flow time. NaN when either end is unknown."""
    n = len(issues)
    positions = np.flatnonzero(active_iv)
    owner = iv_issue[positions]
    lo = np.fmax(entered[positions], started[owner])
    hi = np.fmin(np.where(np.isnan(left[positions]), np.inf, left[positions]), completed[owner])
    overlap = np.nan_to_num(np.clip(hi - lo, 0.0, None), nan=0.0, posinf=0.0)
    active_us = np.bincount(owner, weights=overlap, minlength=n) if n else np.zeros(0)
    flow_us = completed - started
    if config.mapped("active_work_hours"):
        hours = issues["active_work_hours"].to_numpy()
        override = np.fmin(np.clip(hours, 0.0, None) * US_PER_HOUR, np.clip(flow_us, 0.0, None))
        active_us = np.where(np.isnan(hours), active_us, override)
    return np.where(np.isnan(flow_us), np.nan, active_us / US_PER_DAY)


def build_issue_frames(raw_issues: Iterable[Any], settings: Mapping[str, Any]) -> IssueFrames:
    """Parse and derive: the tables every calculator reads."""
    config = frame_config(settings)
    return derive_issue_frames(parse_issue_frames(raw_issues, dict(config.field_ids)), settings)


def ensure_derived(frames: IssueFrames, settings: Mapping[str, Any]) -> IssueFrames:
    """``frames`` derived for ``settings``: as given when already so, else re-derived (not re-parsed).

    The latest re-derivation is remembered on ``frames``, so repeated calls with the same other settings
    cost nothing."""
    config = frame_config(settings)
    if frames.config == config:
        return frames
    cached = frames.memo.get("derived")
    if cached is None or cached.config != config:
        cached = derive_issue_frames(frames, settings)
        frames.memo["derived"] = cached
    return cached


def column_us(frames: IssueFrames, name: str) -> np.ndarray:
    """A datetime column of the issue table as float epoch microseconds (NaN = missing), computed once."""
    key = ("us", name)
    if key not in frames.memo:
        frames.memo[key] = series_us(frames.issues[name])
    return frames.memo[key]
