"""Derive the settings-dependent per-issue columns (METRICS.md populations and status rules): ``started_at``,
``completed_at``, ``flow_type``, ``is_deployment``, ``is_production``, ``env_empty``, ``is_incident``,
``is_flow_item`` and ``active_days``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from data.metrics.field_values import fold, from_us
from data.metrics.issue_tables import FrameConfig, FramesMismatchError, IssueFrames, frame_config
from data.metrics.periods import US_PER_DAY, US_PER_HOUR, series_us


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
        names = {t: lookup.get(fold(t), "Other") for t in _distinct_texts(flow_texts)}
        flow_type = [names.get(t, "Other") if isinstance(t, str) else "Other" for t in flow_texts]
    else:
        flow_type = [None] * n
    derived = issues.assign(
        started_at=from_us(started, issues.index),
        completed_at=from_us(completed, issues.index),
        active_days=active_days,
        flow_type=pd.Series(flow_type, dtype=object),
        is_deployment=is_deployment,
        is_production=is_production,
        env_empty=env_empty,
        is_incident=issues["incident_detected_at"].notna().to_numpy() & type_ok(config.incident_types),
        # An issue whose ``created`` is missing or does not parse has no timeline: not a flow item.
        is_flow_item=~is_deployment & issues["created"].notna().to_numpy() & type_ok(config.flow_issue_types),
    )
    return replace(frames, issues=derived, config=config, memo={})


def _in_set(texts: Iterable[Any], wanted: frozenset[str]) -> np.ndarray:
    values = list(texts)
    hits = {t for t in _distinct_texts(values) if fold(t) in wanted}  # each distinct text folded once
    return np.array([isinstance(t, str) and t in hits for t in values], dtype=bool)


def _distinct_texts(values: Iterable[Any]) -> set[str]:
    return {t for t in values if isinstance(t, str)}


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
        with np.errstate(over="ignore"):  # an absurd hour count becomes inf, then the flow time caps it
            override = np.fmin(np.clip(hours, 0.0, None) * US_PER_HOUR, np.clip(flow_us, 0.0, None))
        active_us = np.where(np.isnan(hours), active_us, override)
    return np.where(np.isnan(flow_us), np.nan, active_us / US_PER_DAY)
