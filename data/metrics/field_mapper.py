"""Field-mapping rules: which Jira field may feed which internal mapping key, and what each metric needs.

Used by the field-mapping modal (dropdown options, save-time validation, the saved ``field_metadata``) and
by the metrics service (which metrics lack a required mapping). Pure: no I/O. Jira fields arrive as the
Jira client's ``get_fields()`` normalises them: ``{"field_id", "field_name", "field_type" (= schema.type),
"items_type" (schema.items for arrays), "is_custom", "schema"}``.

Compatibility is decided by the Jira schema type, in one table (``is_compatible``):

- *datetime* targets take ``datetime`` and ``date`` fields (a date means 00:00 UTC that day);
- *text-like* targets take text, single and multi select, labels, cascading select and the standard
  issue type, status and priority fields;
- *boolean-like* targets take select, checkboxes (array of option), text, number, ``boolean`` and ``any``
  fields. Jira has no native yes/no custom field and app-provided ones often declare ``any``; a value that
  does not read as yes/no is excluded from the metric and counted, never guessed;
- *number* targets take ``number`` fields only.

The standard fields ``created``, ``updated``, ``resolutiondate``, ``issuetype``, ``status`` and
``priority`` exist in every Jira, so they are known even when a field list omits them.

Azure DevOps fields (``source="azure_devops"``, as its client's ``get_fields()`` lists them: the reference
name as ``field_id``, the type in the same Jira words) follow the same type rules, but Jira's standard
fields do not exist there (a mapped ``priority`` would make every update fail): only the listed fields are
known, and every compatible one is offered, System and Microsoft fields (``System.CreatedDate``,
``Microsoft.VSTS.Common.Priority``, ...) as well as custom ones (incompatible custom fields are listed
disabled, as for Jira). The caller says which source the list comes from; ``jira`` is the default.

Missing mappings are not save-time errors (a team may map DORA only); they make the affected metrics
report ``missing_mapping``, which ``missing_mappings_for`` and ``mapping_warnings`` describe.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from configuration.defaults import FLOW_TYPES
from data.metrics.mapping_targets import (
    AZURE_DEVOPS,
    BOOLEAN_LIKE,
    DATETIME,
    JIRA,
    MAPPING_GROUPS,
    NUMBER,
    REQUIRED_MAPPINGS,
    TARGET_FIELD_SPECS,
    TEXT_LIKE,
    TargetFieldSpec,
    join_words,
    mapped_field_id,
    source_place,
)

_STANDARD_FIELDS: dict[str, tuple[str, str]] = {
    "created": ("Created", "datetime"),
    "updated": ("Updated", "datetime"),
    "resolutiondate": ("Resolved", "datetime"),
    "issuetype": ("Issue Type", "issuetype"),
    "status": ("Status", "status"),
    "priority": ("Priority", "priority"),
}

# Standard fields worth offering in a dropdown; others (summary, assignee, ...) would only be noise.
_STANDARD_OFFERS: dict[str, tuple[str, ...]] = {
    DATETIME: ("created", "updated", "resolutiondate"),
    TEXT_LIKE: ("issuetype", "status", "priority"),
    BOOLEAN_LIKE: (),
    NUMBER: (),
}

_COMPATIBLE_TYPES: dict[str, frozenset[str]] = {
    DATETIME: frozenset({"datetime", "date"}),
    TEXT_LIKE: frozenset({"string", "option", "option-with-child", "issuetype", "status", "priority"}),
    BOOLEAN_LIKE: frozenset({"option", "string", "number", "boolean", "any"}),
    NUMBER: frozenset({"number"}),
}
_COMPATIBLE_ARRAY_ITEMS: dict[str, frozenset[str]] = {
    DATETIME: frozenset(),
    TEXT_LIKE: frozenset({"option", "string"}),
    BOOLEAN_LIKE: frozenset({"option"}),
    NUMBER: frozenset(),
}

_KIND_NEEDS: dict[str, str] = {
    DATETIME: "a date or date-time field",
    TEXT_LIKE: "a text, select, labels, issue type, status or priority field",
    BOOLEAN_LIKE: "a yes/no-like field (select, checkboxes, text or number)",
    NUMBER: "a number field",
}

_TYPE_DESCRIPTIONS: dict[str, str] = {
    "datetime": "a date-time field",
    "date": "a date field",
    "number": "a number field",
    "string": "a text field",
    "option": "a single-select field",
    "option-with-child": "a cascading-select field",
    "user": "a user field",
    "issuetype": "the issue type field",
    "status": "the status field",
    "priority": "the priority field",
    "project": "the project field",
    "boolean": "a yes/no field",
    "any": "a field of undeclared type (any)",
}
_ARRAY_DESCRIPTIONS: dict[str, str] = {
    "option": "a multi-select or checkbox field",
    "string": "a labels field",
    "user": "a multi-user field",
}

# Internal type names stored in field_metadata (seed 001: datetime, number, text, select, checkbox, ...).
_METADATA_TYPES: dict[str, str] = {
    "datetime": "datetime",
    "date": "date",
    "number": "number",
    "string": "text",
    "option": "select",
    "option-with-child": "cascading-select",
}

FIELD_ID_EXAMPLE = "customfield_10100"


@dataclass(frozen=True)
class _JiraField:
    field_id: str
    name: str
    field_type: str
    items_type: str | None
    is_custom: bool
    custom_type: str


def is_compatible(kind: str, field_type: str | None, items_type: str | None = None) -> bool:
    """Whether a Jira field of schema ``field_type`` (``items_type`` for arrays) suits a ``kind`` target."""
    if field_type == "array":
        return items_type in _COMPATIBLE_ARRAY_ITEMS.get(kind, frozenset())
    return field_type in _COMPATIBLE_TYPES.get(kind, frozenset())


def describe_field_type(field_type: str | None, items_type: str | None = None) -> str:
    """A Jira schema type in words, as used in validation messages ("a text field")."""
    if field_type == "array":
        if items_type in _ARRAY_DESCRIPTIONS:
            return _ARRAY_DESCRIPTIONS[items_type]
        return f"a list field (array of {items_type})" if items_type else "a list field"
    if field_type in _TYPE_DESCRIPTIONS:
        return _TYPE_DESCRIPTIONS[field_type]
    return f"a field of type {field_type}" if field_type else "a field of unknown type"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _normalise_field(raw: Any) -> _JiraField | None:
    if not isinstance(raw, Mapping):
        return None
    field_id = _text(raw.get("field_id")) or _text(raw.get("id"))
    if field_id is None:
        return None
    schema = raw.get("schema") if isinstance(raw.get("schema"), Mapping) else {}
    field_type = _text(raw.get("field_type")) or _text(schema.get("type")) or "unknown"
    items_type = _text(raw.get("items_type")) or _text(schema.get("items"))
    is_custom = raw.get("is_custom", raw.get("custom"))
    custom_type = _text(schema.get("custom")) or ""
    return _JiraField(
        field_id=field_id,
        name=_text(raw.get("field_name")) or _text(raw.get("name")) or field_id,
        field_type=field_type,
        items_type=items_type if field_type == "array" else None,
        is_custom=bool(is_custom) if isinstance(is_custom, bool) else field_id.startswith("customfield_"),
        custom_type=custom_type,
    )


def _index_fields(jira_fields: Iterable[Any] | None, source: str = JIRA) -> dict[str, _JiraField]:
    """The listed fields by id; for Jira also its standard fields (Azure DevOps has none of them)."""
    index: dict[str, _JiraField] = {}
    for raw in jira_fields or ():
        field = _normalise_field(raw)
        if field is not None and field.field_id not in index:
            index[field.field_id] = field
    if source != AZURE_DEVOPS:
        for field_id, (name, field_type) in _STANDARD_FIELDS.items():
            index.setdefault(field_id, _JiraField(field_id, name, field_type, None, False, ""))
    return index


def _value_error(spec: TargetFieldSpec, value: Any, fields: dict[str, _JiraField],
                 source: str = JIRA) -> str | None:
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    if not isinstance(value, str):
        return (f"{spec.label} must be a field id such as {FIELD_ID_EXAMPLE} "
                f"(got {type(value).__name__} {value!r})")
    if value != value.strip():
        return f"{spec.label} must be a field id without surrounding spaces (got {value!r})"
    field = fields.get(value)
    if field is None:
        return f"Field {value} does not exist in {source_place(source)}"
    if is_compatible(spec.kind, field.field_type, field.items_type):
        return None
    return (f"{spec.label} needs {_KIND_NEEDS[spec.kind]}; {field.name} ({field.field_id}) is "
            f"{describe_field_type(field.field_type, field.items_type)}")


def validate_field_mappings(field_mappings: Any, jira_fields: Iterable[Any] | None,
                            source: str = JIRA) -> dict[str, str]:
    """Save-time check of ``dora_flow_config.field_mappings`` against the field list of ``source``.

    Returns ``{"dora.deployment_date": "message", ...}``; empty means valid. Reports unknown groups and
    keys, values that are not field-id strings, field ids absent from ``jira_fields`` and type
    mismatches. Unmapped keys (None or empty) are not errors: see ``mapping_warnings``.
    """
    if field_mappings is None:
        return {}
    if not isinstance(field_mappings, Mapping):
        return {"field_mappings": "Field mappings must be an object with 'dora' and 'flow' sections"}
    fields = _index_fields(jira_fields, source)
    errors: dict[str, str] = {}
    for group, section in field_mappings.items():
        if group not in MAPPING_GROUPS:
            errors[str(group)] = f"Unknown mapping group '{group}'; expected 'dora' or 'flow'"
            continue
        if section is None:
            continue
        if not isinstance(section, Mapping):
            errors[group] = f"The '{group}' mappings must be an object of mapping key to field id"
            continue
        for key, value in section.items():
            path = f"{group}.{key}"
            spec = TARGET_FIELD_SPECS.get(key) if isinstance(key, str) else None
            if spec is None:
                expected = ", ".join(MAPPING_GROUPS[group])
                errors[path] = f"Unknown mapping key '{key}'; expected one of {expected}"
            elif spec.group != group:
                errors[path] = f"'{key}' belongs in the '{spec.group}' mappings, not '{group}'"
            else:
                message = _value_error(spec, value, fields, source)
                if message:
                    errors[path] = message
    return errors


def _string_list_error(name: str, value: Any, *, allow_empty: bool) -> str | None:
    if not isinstance(value, list):
        return f"{name} must be a list of names (got {type(value).__name__})"
    for item in value:
        if not isinstance(item, str) or not item.strip():
            return f"{name} must contain only non-empty names (got {item!r})"
    if not value and not allow_empty:
        return f"{name} must list at least one status"
    return None


def _folded(values: list[str]) -> dict[str, str]:
    return {value.strip().casefold(): value for value in values}


_STATUS_LISTS = ("wip_statuses", "active_statuses", "completed_statuses")
_NAME_LISTS = (
    "production_environment_values", "deployment_issue_types", "incident_issue_types", "flow_issue_types",
)


def _flow_type_mapping_errors(mappings: Any) -> dict[str, str]:
    if not isinstance(mappings, Mapping):
        return {"flow_type_mappings": "flow_type_mappings must be an object of flow type to a list of names"}
    errors: dict[str, str] = {}
    owner: dict[str, str] = {}
    for flow_type, names in mappings.items():
        path = f"flow_type_mappings.{flow_type}"
        if flow_type not in FLOW_TYPES:
            errors[path] = f"{path}: unknown flow type; use {join_words(list(FLOW_TYPES), 'or')}"
            continue
        message = _string_list_error(path, names, allow_empty=True)
        if message:
            errors[path] = message
            continue
        for name in names:
            folded = name.strip().casefold()
            if owner.get(folded, flow_type) != flow_type:
                errors[path] = f"{path}: '{name}' is also mapped to {owner[folded]}; a name maps to one type"
            owner.setdefault(folded, flow_type)
    return errors


def validate_status_config(dora_flow_config: Any) -> dict[str, str]:
    """Check the status lists, flow-type mapping and name lists of ``dora_flow_config``.

    Returns ``{key: message}`` (empty = valid). Keys absent from the config are not checked (the settings
    defaults supply them). Rules: the three status lists hold at least one non-empty name; every active
    status is a WIP status and no completed status is one (names compare case-insensitively); flow-type
    mapping keys are Feature, Defect, Risk or Technical_Debt with lists of names, one type per name; the
    environment and issue-type lists hold non-empty names.
    """
    if not isinstance(dora_flow_config, Mapping):
        return {"dora_flow_config": "dora_flow_config must be an object"}
    errors: dict[str, str] = {}
    valid: dict[str, dict[str, str]] = {}
    for name in _STATUS_LISTS:
        if name in dora_flow_config:
            message = _string_list_error(name, dora_flow_config[name], allow_empty=False)
            if message:
                errors[name] = message
            else:
                valid[name] = _folded(dora_flow_config[name])
    wip = valid.get("wip_statuses")
    if wip is not None and "active_statuses" in valid:
        outside = [original for folded, original in valid["active_statuses"].items() if folded not in wip]
        if outside:
            errors["active_statuses"] = (f"active_statuses: {join_words([repr(s) for s in outside], 'and')} "
                                         "must also be listed in wip_statuses")
    if wip is not None and "completed_statuses" in valid:
        both = [original for folded, original in valid["completed_statuses"].items() if folded in wip]
        if both:
            errors["completed_statuses"] = (f"completed_statuses: {join_words([repr(s) for s in both], 'and')} "
                                            "cannot also be a WIP status")
    if "flow_type_mappings" in dora_flow_config:
        errors.update(_flow_type_mapping_errors(dora_flow_config["flow_type_mappings"]))
    for name in _NAME_LISTS:
        if name in dora_flow_config:
            message = _string_list_error(name, dora_flow_config[name], allow_empty=True)
            if message:
                errors[name] = message
    return errors


def _metadata_type(field: _JiraField) -> str:
    if field.field_type == "array":
        if field.items_type == "option":
            return "checkbox" if field.custom_type.endswith(":multicheckboxes") else "multiselect"
        return "labels" if field.items_type == "string" else f"array of {field.items_type}"
    return _METADATA_TYPES.get(field.field_type, field.field_type)


def _required_keys() -> set[str]:
    return {key for groups in REQUIRED_MAPPINGS.values() for group in groups for key in group}


def build_field_metadata(field_mappings: Any, jira_fields: Iterable[Any] | None,
                         source: str = JIRA) -> dict[str, dict[str, Any]]:
    """``field_metadata`` for saving (seed 001): ``{field_id: {name, type, required, description, ...}}``.

    ``required`` is true when some metric needs the mapping key (an either-or alternative counts);
    a field mapped to several keys gets one entry with every use. Unmapped keys are skipped.
    """
    fields = _index_fields(jira_fields, source)
    required = _required_keys()
    metadata: dict[str, dict[str, Any]] = {}
    for key, spec in TARGET_FIELD_SPECS.items():
        field_id = mapped_field_id(field_mappings, key)
        if field_id is None:
            continue
        field = fields.get(field_id, _JiraField(field_id, field_id, "unknown", None, False, ""))
        entry = metadata.setdefault(field_id, {
            "name": field.name, "type": _metadata_type(field), "required": False, "description": "",
            "mapped_as": [],
        })
        entry["required"] = entry["required"] or key in required
        entry["description"] = f"{entry['description']} {spec.label}: {spec.description}".strip()
        entry["mapped_as"].append(spec.path)
    return dict(sorted(metadata.items()))


def _option_label(field: _JiraField) -> str:
    type_label = f"array of {field.items_type}" if field.field_type == "array" else field.field_type
    return f"{field.name} · {field.field_id} · {type_label}"


def field_options(jira_fields: Iterable[Any] | None, target_key: str, *, include_incompatible: bool = True,
                  source: str = JIRA) -> list[dict[str, Any]]:
    """Dropdown options for ``target_key``: ``[{"label": "Go live · customfield_10101 · datetime", ...}]``.

    Compatible fields come first, then (unless ``include_incompatible`` is false) the incompatible custom
    fields, disabled, so a user searching for a field sees why it cannot be chosen. Each block is sorted
    by name (case-insensitive), then id. Standard fields appear only where they make sense for the target
    (created/updated/resolutiondate for dates, issuetype/status/priority for text-like targets). With
    ``source="azure_devops"`` every compatible listed field is offered (System and Microsoft fields too) and
    no Jira field is added.
    Raises KeyError for an unknown target key.
    """
    kind = TARGET_FIELD_SPECS[target_key].kind
    offered = _STANDARD_OFFERS[kind]
    compatible: list[_JiraField] = []
    incompatible: list[_JiraField] = []
    for field in _index_fields(jira_fields, source).values():
        if not field.is_custom:
            if ((source == AZURE_DEVOPS or field.field_id in offered)
                    and is_compatible(kind, field.field_type, field.items_type)):
                compatible.append(field)
        elif is_compatible(kind, field.field_type, field.items_type):
            compatible.append(field)
        else:
            incompatible.append(field)

    def ordered(block: list[_JiraField]) -> list[_JiraField]:
        return sorted(block, key=lambda f: (f.name.casefold(), f.field_id))

    options = [{"label": _option_label(f), "value": f.field_id} for f in ordered(compatible)]
    if include_incompatible:
        options += [
            {"label": _option_label(f), "value": f.field_id, "disabled": True} for f in ordered(incompatible)
        ]
    return options
