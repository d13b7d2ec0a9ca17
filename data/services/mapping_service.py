"""What the field-mapping modal does, without Dash: load the form, build and validate a candidate, save it.

The modal edits ``dora_flow_config`` as one flat form keyed by *form key*: ``dora.<key>`` / ``flow.<key>`` for
the Jira-field dropdowns (a field id or None), and ``wip_statuses``, ``deployment_issue_types``, ...,
``flow_type_mappings.<Feature|Defect|Risk|Technical_Debt>`` for the lists of names. Validation results of
``data.metrics.field_mapper`` use the same keys, so each message lands next to its input.

Why these rules:

- The field list (Jira's ``/field``, Azure DevOps' work item fields in the same records and type words) is
  fetched once per process and source (URL + deployment, organization URL + project, or the demo) and reused
  for the session; a failed fetch is not remembered, so Retry asks again.
- The form shows the *effective* settings: in demo mode the demo's own mappings
  (``dashboard_service.effective_settings``). The demo's mappings are fixed: in demo mode the form can be
  viewed but Save is refused (``DEMO_SAVE_REFUSED``), because a save would write the demo's field ids and
  status names into ``app_settings.json`` as the user's mappings, and they would stay in force (and be wrong)
  after connecting Jira.
- Azure DevOps fields are offered and checked as Azure DevOps has them (``data.metrics.field_mapper`` learns
  the source from here, ``source_of``); a saved field the project lacks is "not in this Azure DevOps project".
- Saving validates first and writes nothing when anything is invalid. A valid save stores the config with
  ``field_metadata`` and ``last_updated`` (``replace_field_mappings``), then drops the metrics cache and the
  in-process memo: every calculated metric depends on the mappings. The issue cache stays (the next Update
  Data fetches any newly mapped field) and the snapshot history is never touched.
"""

from __future__ import annotations

import copy
import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from configuration.defaults import FLOW_TYPES
from configuration.secrets import load_credentials
from configuration.settings import SettingsError, chosen_source, is_demo_mode, replace_field_mappings
from data.metrics.field_mapper import (
    build_field_metadata,
    field_options,
    validate_field_mappings,
    validate_status_config,
)
from data.metrics.mapping_targets import TARGET_FIELD_SPECS, mapped_field_id, source_place
from data.services.dashboard_service import effective_settings, load_dataset
from data.services.mapping_team_field import team_field_error, team_field_options
from data.services.metrics_service import clear_memo
from data.sources.ado_errors import AzureDevOpsError
from data.sources.base import UpdateError
from data.sources.jira_errors import JiraError
from data.sources.selection import make_source
from data.store.issue_cache import load_fetch_meta, required_fields
from data.store.json_store import PersistenceError
from data.store.metrics_cache import invalidate_cache

logger = logging.getLogger(__name__)

STATUS_LISTS: tuple[str, ...] = ("wip_statuses", "active_statuses", "completed_statuses")
ENVIRONMENT_LISTS: tuple[str, ...] = ("production_environment_values",)
TYPE_LISTS: tuple[str, ...] = ("deployment_issue_types", "incident_issue_types", "flow_issue_types")
FLOW_TYPE_PREFIX = "flow_type_mappings."
FLOW_TYPE_LISTS: tuple[str, ...] = tuple(FLOW_TYPE_PREFIX + flow_type for flow_type in FLOW_TYPES)
TEAM_KEY = "team_field"
# The single-field inputs: the mapped Jira fields, then the field naming the team.
FIELD_KEYS: tuple[str, ...] = (*(spec.path for spec in TARGET_FIELD_SPECS.values()), TEAM_KEY)
LIST_KEYS: tuple[str, ...] = STATUS_LISTS + ENVIRONMENT_LISTS + TYPE_LISTS + FLOW_TYPE_LISTS
TYPED_NAME_TITLE = "A name typed here, not seen in the cached issues"
DEMO_SAVE_REFUSED = ("The demo data's field mappings are fixed and cannot be saved. Connect your Jira or Azure "
                     "DevOps (Data source) to map your own fields; they are then kept in app_settings.json.")


@dataclass(frozen=True)
class FormItem:
    """One input of the modal: ``multi`` inputs hold a list of names, the others one Jira field id."""

    key: str
    label: str
    help: str
    multi: bool = False


@dataclass(frozen=True)
class FormSection:
    section_id: str
    title: str
    intro: str
    items: tuple[FormItem, ...]


def _field_items(group: str) -> tuple[FormItem, ...]:
    return tuple(FormItem(spec.path, spec.label, spec.description)
                 for spec in TARGET_FIELD_SPECS.values() if spec.group == group)


_LIST_LABELS: dict[str, tuple[str, str]] = {
    "wip_statuses": ("WIP statuses", "Work in progress, active or waiting: Flow Load counts issues in these, "
                                     "and the first move into one starts the work."),
    "active_statuses": ("Active statuses", "The WIP statuses where work is actively done (each must also "
                                           "be a WIP status); Flow Efficiency is the time spent in them."),
    "completed_statuses": ("Completed statuses", "The last move into one of these completes an item."),
    "production_environment_values": ("Production environment values",
                                      "Target Environment values that mean production (case-insensitive); "
                                      "empty counts every deployment."),
    "deployment_issue_types": ("Deployment issue types",
                               "Only these issue types count as deployments; empty: any issue with a "
                               "Deployment Date."),
    "incident_issue_types": ("Incident issue types",
                             "Only these issue types count as incidents; empty: any issue with an Incident "
                             "Detected At date."),
    "flow_issue_types": ("Flow issue types",
                         "Only these issue types are flow items; empty: every issue except deployments."),
}
_FLOW_TYPE_LABELS: dict[str, str] = {"Technical_Debt": "Technical Debt"}


def _list_items(keys: Iterable[str]) -> tuple[FormItem, ...]:
    return tuple(FormItem(key, *_LIST_LABELS[key], multi=True) for key in keys)


def _flow_type_items() -> tuple[FormItem, ...]:
    labels = {flow_type: _FLOW_TYPE_LABELS.get(flow_type, flow_type) for flow_type in FLOW_TYPES}
    return tuple(FormItem(FLOW_TYPE_PREFIX + flow_type, label, f"Values counted as {label}.", multi=True)
                 for flow_type, label in labels.items())


FORM_SECTIONS: tuple[FormSection, ...] = (
    FormSection("dora", "DORA fields", "The Jira fields that describe deployments and incidents.",
                _field_items("dora")),
    FormSection("flow", "Flow fields", "Optional fields that override what the status history says.",
                _field_items("flow")),
    FormSection("statuses", "Statuses", "Pick statuses seen in your data, or type a name to add it.",
                _list_items(STATUS_LISTS)),
    FormSection("types", "Environments & types",
                "Which values and issue types the DORA and Flow populations are made of.",
                _list_items(ENVIRONMENT_LISTS + TYPE_LISTS)),
    FormSection("teams", "Teams",
                "The field whose value names an issue's team: the dashboard's team selector and the Teams view "
                "compare the teams it names.",
                (FormItem(TEAM_KEY, "Team field", "Project, components, labels or a custom field such as "
                          "Atlassian's Team; an issue with several values belongs to each team. Not mapped: "
                          "no team selector."),)),
    FormSection("flow-types", "Flow-type mapping",
                "Flow Item Type values (or issue types, when Flow Item Type is mapped to the issue type) "
                "that mean each flow type.",
                _flow_type_items()),
)

SECTION_OF: dict[str, FormSection] = {
    item.key: section for section in FORM_SECTIONS for item in section.items
}
LABEL_OF: dict[str, str] = {item.key: item.label for section in FORM_SECTIONS for item in section.items}


class FieldsUnavailable(Exception):
    """The Jira field list could not be loaded; ``str(error)`` says why in the user's terms."""


@dataclass(frozen=True)
class MappingForm:
    """The modal's content: ``values`` and ``options`` by form key, or ``error`` when Jira was not read."""

    values: dict[str, Any]
    options: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    error: str | None = None
    source: str = ""
    save_refused: str | None = None  # why Save is off (demo mode); None when the form can be saved


@dataclass(frozen=True)
class SaveResult:
    """``saved`` or not; ``errors`` by form key (shown next to the inputs), ``summary`` for the alert."""

    saved: bool
    errors: dict[str, str] = field(default_factory=dict)
    summary: str = ""
    message: str = ""
    last_updated: str | None = None


@dataclass(frozen=True)
class SeenValues:
    """Names found in the cached issues, offered in the multi-selects."""

    statuses: tuple[str, ...] = ()
    issue_types: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    flow_item_values: tuple[str, ...] = ()


_fields_cache: dict[str, list[dict[str, Any]]] = {}
_fields_lock = threading.Lock()


def _fresh_locks_after_fork() -> None:
    """A forked child (Dash runs Update Data in one) starts with new locks: one held by another thread at the
    moment of the fork would stay held forever in the child."""
    global _fields_lock
    _fields_lock = threading.Lock()


os.register_at_fork(after_in_child=_fresh_locks_after_fork)


def source_key(settings: Mapping[str, Any]) -> str:
    """What the session's field list is cached under: ``demo``, ``<deployment> <url>`` or
    ``azure_devops <organization url> <project>``."""
    if is_demo_mode(settings):
        return "demo"
    if chosen_source(settings) == "azure_devops":
        block = settings.get("azure_devops") or {}
        return (f"azure_devops {str(block.get('organization_url') or '').strip().rstrip('/')} "
                f"{str(block.get('project') or '').strip()}")
    jira = settings.get("jira") or {}
    return f"{jira.get('deployment') or 'cloud'} {str(jira.get('url') or '').strip().rstrip('/')}"


def jira_fields(settings: Mapping[str, Any], *, refresh: bool = False) -> list[dict[str, Any]]:
    """The normalised ``/field`` list of the configured source; ``FieldsUnavailable`` if Jira cannot say."""
    key = source_key(settings)
    with _fields_lock:
        if not refresh and key in _fields_cache:
            return copy.deepcopy(_fields_cache[key])
    try:
        fields = make_source(settings, load_credentials(settings)).get_fields()
    except (JiraError, AzureDevOpsError, UpdateError, ValueError) as error:
        raise FieldsUnavailable(str(error)) from None
    with _fields_lock:
        _fields_cache[key] = copy.deepcopy(fields)
    return fields


def clear_fields_cache() -> None:
    """Forget every cached field list (tests; a new connection is a new key anyway)."""
    with _fields_lock:
        _fields_cache.clear()


def form_values(dora_flow_config: Mapping[str, Any]) -> dict[str, Any]:
    """The form's values for a stored ``dora_flow_config``."""
    mappings = dora_flow_config.get("field_mappings") or {}
    values: dict[str, Any] = {
        spec.path: mapped_field_id(mappings, key) for key, spec in TARGET_FIELD_SPECS.items()
    }
    for key in STATUS_LISTS + ENVIRONMENT_LISTS + TYPE_LISTS:
        values[key] = list(dora_flow_config.get(key) or [])
    type_map = dora_flow_config.get("flow_type_mappings") or {}
    for flow_type in FLOW_TYPES:
        values[FLOW_TYPE_PREFIX + flow_type] = list(type_map.get(flow_type) or [])
    values[TEAM_KEY] = dora_flow_config.get(TEAM_KEY)
    return values


def _field_value(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip() or None
    return value


def _names(value: Any) -> Any:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        return value
    seen: dict[str, str] = {}
    for item in value:
        if not isinstance(item, str):
            return list(value)
        text = item.strip()
        if text and text.casefold() not in seen:
            seen[text.casefold()] = text
    return list(seen.values())


def build_candidate_config(values: Mapping[str, Any]) -> dict[str, Any]:
    """The ``dora_flow_config`` the form describes (without ``field_metadata`` / ``last_updated``).

    Field ids are trimmed (empty means unmapped); names are trimmed, de-duplicated case-insensitively and
    kept in the user's order. Values of the wrong type are passed through for the validators to report.
    """
    mappings: dict[str, dict[str, Any]] = {"dora": {}, "flow": {}}
    for spec in TARGET_FIELD_SPECS.values():
        mappings[spec.group][spec.key] = _field_value(values.get(spec.path))
    config: dict[str, Any] = {"field_mappings": mappings}
    for key in STATUS_LISTS + ENVIRONMENT_LISTS + TYPE_LISTS:
        config[key] = _names(values.get(key))
    config["flow_type_mappings"] = {flow_type: _names(values.get(FLOW_TYPE_PREFIX + flow_type))
                                    for flow_type in FLOW_TYPES}
    config[TEAM_KEY] = _field_value(values.get(TEAM_KEY))
    return config


def validate_form(values: Mapping[str, Any], jira_fields_list: Iterable[Any], source: str = "jira") -> dict[str, str]:
    """Every problem of the form by form key (a key outside the form stays as the validator named it)."""
    candidate, fields = build_candidate_config(values), list(jira_fields_list)
    errors = validate_field_mappings(candidate["field_mappings"], fields, source)
    errors.update(validate_status_config(candidate))
    errors.update(team_field_error(candidate.get(TEAM_KEY), fields, source))
    return {key: _in_form_words(key, message) for key, message in errors.items()}


_SETTING_NAME = re.compile(r"\b(" + "|".join(STATUS_LISTS + ENVIRONMENT_LISTS + TYPE_LISTS) + r")\b")


def _in_form_words(key: str, message: str) -> str:
    """The validator's message as the form shows it: without the leading key, lists named by their labels."""
    message = message.removeprefix(f"{key}: ")
    return _SETTING_NAME.sub(lambda match: LABEL_OF[match.group(1)], message)


def _distinct(values: Iterable[Any]) -> list[str]:
    found: dict[str, str] = {}
    for value in values:
        if isinstance(value, str) and value.strip():
            found.setdefault(value.strip().casefold(), value.strip())
    return list(found.values())


def _column(frame: pd.DataFrame, name: str) -> list[Any]:
    return list(frame[name].dropna().unique()) if name in frame.columns else []


def values_seen_in_data(settings: Mapping[str, Any]) -> SeenValues:
    """Statuses (current and every changelog status), issue types, environments and flow item values of the
    cached issues, each sorted case-insensitively; empty when nothing is cached or the cache is unreadable."""
    try:
        dataset = load_dataset(effective_settings(settings))
    except Exception as error:  # a damaged cache must not stop the modal; the lists are only suggestions
        logger.warning("Could not read the cached issues for the mapping form", extra={"error": str(error)})
        return SeenValues()
    if dataset is None:
        return SeenValues()
    frames = dataset.frames

    def ordered(values: Iterable[Any]) -> tuple[str, ...]:
        return tuple(sorted(_distinct(values), key=str.casefold))

    statuses = (_column(frames.issues, "status") + _column(frames.intervals, "status")
                + _column(frames.transitions, "from_status") + _column(frames.transitions, "to_status"))
    return SeenValues(
        statuses=ordered(statuses),
        issue_types=ordered(_column(frames.issues, "issue_type")),
        environments=ordered(_column(frames.issues, "target_environment")),
        flow_item_values=ordered(_column(frames.issues, "flow_item_type")),
    )


def _name_options(*groups: Iterable[Any]) -> list[dict[str, str]]:
    names = sorted(_distinct(value for group in groups for value in group), key=str.casefold)
    return [{"label": name, "value": name} for name in names]


def form_options(jira_fields_list: list[dict[str, Any]], seen: SeenValues,
                 values: Mapping[str, Any], source: str = "jira") -> dict[str, list[dict[str, Any]]]:
    """Dropdown options by form key. Every current value is among its options (a dropdown drops a value it
    has no option for): a mapped field the source lacks shows as ``<id> · not in this Jira`` (``not in this
    Azure DevOps project``)."""
    options: dict[str, list[dict[str, Any]]] = {}
    missing = f"not in {source_place(source)}"
    for key, spec in TARGET_FIELD_SPECS.items():
        choices = field_options(jira_fields_list, key, source=source)
        current = values.get(spec.path)
        if current and all(option["value"] != current for option in choices):
            choices = [{"label": f"{current} · {missing}", "value": current}, *choices]
        options[spec.path] = choices
    statuses = _name_options(seen.statuses, *(values.get(key) or [] for key in STATUS_LISTS))
    for key in STATUS_LISTS:
        options[key] = statuses
    environments = values.get("production_environment_values") or []
    options["production_environment_values"] = _name_options(seen.environments, environments)
    types = _name_options(seen.issue_types, *(values.get(key) or [] for key in TYPE_LISTS))
    for key in TYPE_LISTS:
        options[key] = types
    flow_values = _name_options(seen.flow_item_values, seen.issue_types,
                                *(values.get(key) or [] for key in FLOW_TYPE_LISTS))
    for key in FLOW_TYPE_LISTS:
        options[key] = flow_values
    team_choices = team_field_options(jira_fields_list, source)
    current_team = values.get(TEAM_KEY)
    if current_team and all(option["value"] != current_team for option in team_choices):
        team_choices = [{"label": f"{current_team} · {missing}", "value": current_team}, *team_choices]
    options[TEAM_KEY] = team_choices
    return options


def options_with_typed_name(options: list[dict[str, Any]] | None, selected: list[Any] | None,
                            typed: str | None) -> list[dict[str, Any]]:
    """A list input's options plus the name being typed (marked ``TYPED_NAME_TITLE``), so a status or type not
    seen in the data can be chosen. A typed name that was not chosen goes away when the typing changes."""
    chosen = set(selected or [])
    kept = [option for option in options or []
            if option.get("title") != TYPED_NAME_TITLE or option.get("value") in chosen]
    text = (typed or "").strip()
    if text and all(str(option.get("value", "")).casefold() != text.casefold() for option in kept):
        kept.append({"label": f"{text} (new)", "value": text, "title": TYPED_NAME_TITLE})
    return kept


def describe_source(settings: Mapping[str, Any]) -> str:
    if is_demo_mode(settings):
        return "Fields of the demo data"
    if chosen_source(settings) == "azure_devops":
        block = settings.get("azure_devops") or {}
        return (f"Fields of the Azure DevOps project {str(block.get('project') or '').strip()} at "
                f"{str(block.get('organization_url') or '').strip()}")
    jira = settings.get("jira") or {}
    kind = "Jira Cloud" if jira.get("deployment") == "cloud" else "Jira Data Center"
    return f"Fields of {kind} at {str(jira.get('url') or '').strip()}"


def source_of(settings: Mapping[str, Any]) -> str:
    """Whose field conventions the form follows: ``azure_devops``, else ``jira`` (the demo speaks Jira)."""
    return "jira" if is_demo_mode(settings) else chosen_source(settings)


def load_mapping_form(settings: Mapping[str, Any], *, refresh: bool = False) -> MappingForm:
    """The form for the stored settings: values always; options, or the reason the fields could not load."""
    config = effective_settings(settings)["dora_flow_config"]
    values = form_values(config)
    refused = DEMO_SAVE_REFUSED if is_demo_mode(settings) else None
    try:
        fields = jira_fields(settings, refresh=refresh)
    except FieldsUnavailable as error:
        return MappingForm(values, error=str(error), source=describe_source(settings), save_refused=refused)
    return MappingForm(values, form_options(fields, values_seen_in_data(settings), values, source_of(settings)),
                       source=describe_source(settings), save_refused=refused)


def _error_summary(errors: Mapping[str, str]) -> str:
    count = len(errors)
    return f"{count} problem{'s' if count != 1 else ''} to fix; nothing was saved."


def _fetch_note(saved: Mapping[str, Any]) -> str:
    meta = load_fetch_meta()
    if not meta:
        return ""
    missing = sorted(set(required_fields(effective_settings(saved))) - set(meta.get("fields") or ()))
    if not missing:
        return ""
    return f" The cached issues lack {', '.join(missing)}: click Update Data to fetch them."


def save_mapping_form(values: Mapping[str, Any], settings: Mapping[str, Any]) -> SaveResult:
    """Validate the form against the source's fields; only when valid, save it and drop the metrics caches.

    ``settings`` are the stored settings (they name the source to validate against). Nothing is written when
    the fields cannot be loaded, a value is invalid, the settings file refuses the change, or the demo is in
    use (``DEMO_SAVE_REFUSED``).
    """
    if is_demo_mode(settings):
        return SaveResult(False, summary=DEMO_SAVE_REFUSED)
    try:
        fields = jira_fields(settings)
    except FieldsUnavailable as error:
        return SaveResult(False, summary=f"The mappings could not be checked against the source's fields: "
                                         f"{error} Nothing was saved.")
    errors = validate_form(values, fields, source_of(settings))
    if errors:
        return SaveResult(False, errors=errors, summary=_error_summary(errors))
    candidate = build_candidate_config(values)
    candidate["field_metadata"] = build_field_metadata(candidate["field_mappings"], fields, source_of(settings))
    try:
        saved = replace_field_mappings(candidate)
    except (SettingsError, PersistenceError) as error:
        return SaveResult(False, summary=f"The mappings could not be saved: {error}")
    forget_calculated_metrics()
    logger.info("Field mappings saved", extra={"mapped": sum(1 for key in FIELD_KEYS if values.get(key))})
    message = "Field mappings saved: the metrics are being recalculated." + _fetch_note(saved)
    return SaveResult(True, message=message, last_updated=saved["dora_flow_config"].get("last_updated"))


def forget_calculated_metrics() -> None:
    """Drop every calculated metric (file cache and in-process memo); snapshots are history and stay."""
    try:
        invalidate_cache()
    except PersistenceError as error:  # stale entries carry the old mapping hash, so they miss anyway
        logger.warning("Could not clear the metrics cache", extra={"error": str(error)})
    clear_memo()
