"""The tidy tables every calculator reads (``IssueFrames``) and the settings that shape them (``FrameConfig``).

Built by ``data.metrics.issue_frame.build_issue_frames``; see that module for how."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from configuration.defaults import DEFAULT_SETTINGS, DORA_MAPPING_KEYS, FLOW_MAPPING_KEYS, FLOW_TYPES
from data.metrics.field_values import fold
from data.metrics.periods import series_us

DATE_KEYS: tuple[str, ...] = (
    "deployment_date", "code_commit_date", "deployed_to_production_date", "incident_detected_at",
    "incident_resolved_at", "work_started_date", "work_completed_date",
)
TEXT_KEYS: tuple[str, ...] = ("target_environment", "flow_item_type")
BOOLEAN_KEYS: tuple[str, ...] = ("deployment_successful", "production_impact")
NUMBER_KEYS: tuple[str, ...] = ("active_work_hours",)
MAPPING_KEYS: tuple[str, ...] = DORA_MAPPING_KEYS + FLOW_MAPPING_KEYS
TEAM_KEY = "team_field"
"""The field id naming the team (``dora_flow_config.team_field``): parsed with the mappings, so changing it
re-parses the issues (see ``data.metrics.teams``)."""



class FramesMismatchError(ValueError):
    """The tables were parsed with other field mappings than the settings now name."""


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
    team = get(TEAM_KEY)
    field_ids.append((TEAM_KEY, team.strip() if isinstance(team, str) and team.strip() else None))
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


def column_us(frames: IssueFrames, name: str) -> np.ndarray:
    """A datetime column of the issue table as float epoch microseconds (NaN = missing), computed once."""
    key = ("us", name)
    if key not in frames.memo:
        frames.memo[key] = series_us(frames.issues[name])
    return frames.memo[key]
