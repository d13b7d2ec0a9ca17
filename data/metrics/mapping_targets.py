"""The internal mapping keys (``TARGET_FIELD_SPECS``): label, kind of Jira field, which metrics need them,
and the missing-mapping messages ("Map the Deployment Date field") a metric reports when one is absent.

Missing mappings are not save-time errors (a team may map DORA only); they make the affected metrics
report ``missing_mapping``, which ``missing_mappings_for`` and ``mapping_warnings`` describe.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from configuration.defaults import DORA_MAPPING_KEYS, FLOW_MAPPING_KEYS

DATETIME = "datetime"
TEXT_LIKE = "text-like"
BOOLEAN_LIKE = "boolean-like"
NUMBER = "number"

MAPPING_GROUPS: dict[str, tuple[str, ...]] = {"dora": DORA_MAPPING_KEYS, "flow": FLOW_MAPPING_KEYS}

JIRA = "jira"
AZURE_DEVOPS = "azure_devops"
_SOURCE_NAMES: dict[str, str] = {JIRA: "Jira", AZURE_DEVOPS: "Azure DevOps"}
_SOURCE_PLACES: dict[str, str] = {JIRA: "this Jira", AZURE_DEVOPS: "this Azure DevOps project"}


def source_name(source: str) -> str:
    """The source as the mapping dialog names it: ``Azure DevOps`` for ``azure_devops``, else ``Jira``."""
    return _SOURCE_NAMES.get(source, _SOURCE_NAMES[JIRA])


def source_place(source: str) -> str:
    """Where the fields live, for "not in ..." messages: ``this Azure DevOps project`` or ``this Jira``."""
    return _SOURCE_PLACES.get(source, _SOURCE_PLACES[JIRA])


@dataclass(frozen=True)
class TargetFieldSpec:
    """One internal mapping key: its label in the UI, the kind of Jira field it needs, who uses it."""

    key: str
    group: str
    label: str
    kind: str
    description: str
    metrics: tuple[str, ...]

    @property
    def path(self) -> str:
        """``<group>.<key>``: the key used in validation results and in settings messages."""
        return f"{self.group}.{self.key}"


def _spec(group: str, key: str, label: str, kind: str, description: str, *metrics: str) -> TargetFieldSpec:
    return TargetFieldSpec(key, group, label, kind, description, metrics)


_DEPLOYMENT_METRICS = ("deployment_frequency", "lead_time_for_changes", "change_failure_rate")
_COMPLETION_METRICS = ("flow_velocity", "flow_time", "flow_efficiency", "flow_distribution")

TARGET_FIELD_SPECS: dict[str, TargetFieldSpec] = {
    spec.key: spec
    for spec in (
        _spec("dora", "deployment_date", "Deployment Date", DATETIME,
              "When the change was deployed; an issue with this date is a deployment.", *_DEPLOYMENT_METRICS),
        _spec("dora", "target_environment", "Target Environment", TEXT_LIKE,
              "Where it was deployed; only production values count when configured.", *_DEPLOYMENT_METRICS),
        _spec("dora", "code_commit_date", "Code Commit Date", DATETIME,
              "When the code was committed: the start of the lead time.", "lead_time_for_changes"),
        _spec("dora", "deployed_to_production_date", "Deployed to Production Date", DATETIME,
              "When the change reached production: the end of the lead time.", "lead_time_for_changes"),
        _spec("dora", "incident_detected_at", "Incident Detected At", DATETIME,
              "When the incident was detected; an issue with this date is an incident.",
              "mean_time_to_recovery"),
        _spec("dora", "incident_resolved_at", "Incident Resolved At", DATETIME,
              "When service was restored: the end of the recovery time.", "mean_time_to_recovery"),
        _spec("dora", "deployment_successful", "Deployment Successful", BOOLEAN_LIKE,
              "Yes/no: a 'no' counts the deployment as failed.", "change_failure_rate"),
        _spec("dora", "production_impact", "Production Impact", BOOLEAN_LIKE,
              "Yes/no: a 'yes' counts the deployment as failed.", "change_failure_rate"),
        _spec("flow", "flow_item_type", "Flow Item Type", TEXT_LIKE,
              "Feature, Defect, Risk or Technical_Debt (other values via the flow-type mapping).",
              "flow_distribution"),
        _spec("flow", "work_started_date", "Work Started Date", DATETIME,
              "Overrides the first move into a WIP status as the start of work.",
              "flow_time", "flow_efficiency"),
        _spec("flow", "work_completed_date", "Work Completed Date", DATETIME,
              "Overrides the last move into a completed status as the completion.", *_COMPLETION_METRICS),
        _spec("flow", "active_work_hours", "Active Work Hours", NUMBER,
              "Hours of active work; replaces the time in active statuses, capped at the flow time.",
              "flow_efficiency"),
    )
}

# Per metric, the groups of mapping keys it needs: every group must have at least one key mapped.
REQUIRED_MAPPINGS: dict[str, tuple[tuple[str, ...], ...]] = {
    "deployment_frequency": (("deployment_date",),),
    "lead_time_for_changes": (("deployment_date",), ("code_commit_date",), ("deployed_to_production_date",)),
    "change_failure_rate": (("deployment_date",), ("deployment_successful", "production_impact")),
    "mean_time_to_recovery": (("incident_detected_at",), ("incident_resolved_at",)),
    "flow_velocity": (),
    "flow_time": (),
    "flow_efficiency": (),
    "flow_load": (),
    "flow_distribution": (("flow_item_type",),),
}


def _group_of(field_mappings: Any, group: str) -> Mapping[str, Any]:
    if not isinstance(field_mappings, Mapping):
        return {}
    section = field_mappings.get(group)
    return section if isinstance(section, Mapping) else {}


def _is_mapped(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def mapped_field_id(field_mappings: Any, key: str) -> str | None:
    """The field id mapped to ``key`` (a ``TARGET_FIELD_SPECS`` key); None when unmapped or not a string."""
    spec = TARGET_FIELD_SPECS[key]
    value = _group_of(field_mappings, spec.group).get(key)
    return value.strip() if _is_mapped(value) else None


def _required_groups(metric_name: str) -> tuple[tuple[str, ...], ...]:
    try:
        return REQUIRED_MAPPINGS[metric_name]
    except KeyError:
        known = ", ".join(REQUIRED_MAPPINGS)
        raise ValueError(f"Unknown metric '{metric_name}'; known metrics: {known}") from None


def missing_mapping_groups(metric_name: str, field_mappings: Any) -> list[tuple[str, ...]]:
    """The requirement groups of ``metric_name`` with nothing mapped; a group of two is an either-or."""
    return [
        group for group in _required_groups(metric_name)
        if not any(mapped_field_id(field_mappings, key) for key in group)
    ]


def missing_mappings_for(metric_name: str, field_mappings: Any) -> list[str]:
    """Mapping keys to map before ``metric_name`` can be computed (empty when it can be).

    For an either-or requirement (change failure rate: Deployment Successful or Production Impact) both
    alternatives are listed; ``missing_mapping_groups`` keeps the grouping and ``missing_mapping_message``
    phrases it. Raises ValueError for an unknown metric name.
    """
    return [key for group in missing_mapping_groups(metric_name, field_mappings) for key in group]


def _labels(keys: Iterable[str]) -> list[str]:
    return [TARGET_FIELD_SPECS[key].label for key in keys]


def join_words(words: list[str], conjunction: str) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


def missing_mapping_message(metric_name: str, field_mappings: Any) -> str | None:
    """The "Map the Deployment Date field" message for ``metric_name``; None when nothing is missing."""
    groups = missing_mapping_groups(metric_name, field_mappings)
    if not groups:
        return None
    if all(len(group) == 1 for group in groups):
        labels = _labels(group[0] for group in groups)
        return f"Map the {join_words(labels, 'and')} field{'s' if len(labels) > 1 else ''}"
    phrases = [f"the {join_words(_labels(group), 'or')} field" for group in groups]
    return f"Map {join_words(phrases, 'and')}"


def mapping_warnings(field_mappings: Any) -> dict[str, str]:
    """Metric name → missing-mapping message for every metric that would report ``missing_mapping``."""
    warnings = {}
    for metric_name in REQUIRED_MAPPINGS:
        message = missing_mapping_message(metric_name, field_mappings)
        if message:
            warnings[metric_name] = message
    return warnings
