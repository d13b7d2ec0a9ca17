"""Field-mapping rules: type compatibility, required mappings, status configuration, dropdown options."""

from __future__ import annotations

import copy

import pytest

from configuration.defaults import DEFAULT_SETTINGS, DORA_MAPPING_KEYS, FLOW_MAPPING_KEYS
from data.metrics.field_mapper import (
    build_field_metadata,
    field_options,
    is_compatible,
    validate_field_mappings,
    validate_status_config,
)
from data.metrics.mapping_targets import (
    BOOLEAN_LIKE,
    DATETIME,
    NUMBER,
    REQUIRED_MAPPINGS,
    TARGET_FIELD_SPECS,
    TEXT_LIKE,
    mapping_warnings,
    missing_mapping_message,
    missing_mappings_for,
)

CUSTOM = "com.atlassian.jira.plugin.system.customfieldtypes:"


def custom_field(number: int, name: str, field_type: str, items: str | None = None, custom: str = "") -> dict:
    """A field as the Jira client's get_fields() normalises it (JIRA_API.md "Fields")."""
    schema = {"type": field_type, "custom": CUSTOM + custom, "customId": number}
    if items:
        schema["items"] = items
    return {"field_id": f"customfield_{number}", "field_name": name, "field_type": field_type,
            "items_type": items, "is_custom": True, "schema": schema}


def standard_field(field_id: str, name: str, field_type: str, items: str | None = None) -> dict:
    schema = {"type": field_type, "system": field_id}
    if items:
        schema["items"] = items
    return {"field_id": field_id, "field_name": name, "field_type": field_type, "items_type": items,
            "is_custom": False, "schema": schema}


# One representative field per Jira schema type, keyed by a short name used in the matrix below.
FIELDS_BY_TYPE = {
    "datetime": custom_field(10101, "Go live", "datetime", custom="datetime"),
    "date": custom_field(10102, "Release day", "date", custom="datepicker"),
    "number": custom_field(10103, "Hours worked", "number", custom="float"),
    "string": custom_field(10300, "Team Notes", "string", custom="textarea"),
    "option": custom_field(10104, "Environment", "option", custom="select"),
    "multiselect": custom_field(10105, "Regions", "array", "option", custom="multiselect"),
    "checkboxes": custom_field(10106, "Flags", "array", "option", custom="multicheckboxes"),
    "labels": custom_field(10107, "Tags", "array", "string", custom="labels"),
    "multiuser": custom_field(10108, "Reviewers", "array", "user", custom="multiuserpicker"),
    "user": custom_field(10109, "Approver", "user", custom="userpicker"),
    "cascading": custom_field(10110, "Area", "option-with-child", custom="cascadingselect"),
    "any": custom_field(10111, "App flag", "any", custom="appflag"),
    "unknown": custom_field(10112, "Mystery", "unknown"),
    "issuetype": standard_field("issuetype", "Issue Type", "issuetype"),
    "status": standard_field("status", "Status", "status"),
    "priority": standard_field("priority", "Priority", "priority"),
    "project": standard_field("project", "Project", "project"),
}
JIRA_FIELDS = [*FIELDS_BY_TYPE.values(),
               standard_field("created", "Created", "datetime"),
               standard_field("summary", "Summary", "string"),
               standard_field("duedate", "Due date", "date"),
               standard_field("labels", "Labels", "array", "string")]

# The compatibility decisions written out by hand from the brief and the module docstring
# (columns: datetime, text-like, boolean-like, number target).
MATRIX = {
    "datetime": (True, False, False, False),
    "date": (True, False, False, False),
    "number": (False, False, True, True),
    "string": (False, True, True, False),
    "option": (False, True, True, False),
    "multiselect": (False, True, True, False),
    "checkboxes": (False, True, True, False),
    "labels": (False, True, False, False),
    "multiuser": (False, False, False, False),
    "user": (False, False, False, False),
    "cascading": (False, True, False, False),
    "any": (False, False, True, False),
    "unknown": (False, False, False, False),
    "issuetype": (False, True, False, False),
    "status": (False, True, False, False),
    "priority": (False, True, False, False),
    "project": (False, False, False, False),
}
TARGET_PER_KIND = {
    DATETIME: ("dora", "deployment_date"),
    TEXT_LIKE: ("dora", "target_environment"),
    BOOLEAN_LIKE: ("dora", "deployment_successful"),
    NUMBER: ("flow", "active_work_hours"),
}
KINDS = (DATETIME, TEXT_LIKE, BOOLEAN_LIKE, NUMBER)
MATRIX_CASES = [(name, kind, row[i]) for name, row in MATRIX.items() for i, kind in enumerate(KINDS)]


def mappings(**keys: object) -> dict:
    """field_mappings with the given keys set, each placed in its own group."""
    result: dict = {"dora": {}, "flow": {}}
    for key, value in keys.items():
        result[TARGET_FIELD_SPECS[key].group][key] = value
    return result


def test_specs_cover_every_settings_key_with_the_documented_kind() -> None:
    assert set(TARGET_FIELD_SPECS) == set(DORA_MAPPING_KEYS) | set(FLOW_MAPPING_KEYS)
    kinds = {key: spec.kind for key, spec in TARGET_FIELD_SPECS.items()}
    assert kinds == {
        "deployment_date": DATETIME, "target_environment": TEXT_LIKE, "code_commit_date": DATETIME,
        "deployed_to_production_date": DATETIME, "incident_detected_at": DATETIME,
        "incident_resolved_at": DATETIME, "deployment_successful": BOOLEAN_LIKE,
        "production_impact": BOOLEAN_LIKE, "flow_item_type": TEXT_LIKE, "work_started_date": DATETIME,
        "work_completed_date": DATETIME, "active_work_hours": NUMBER,
    }
    assert TARGET_FIELD_SPECS["deployment_date"].label == "Deployment Date"
    assert TARGET_FIELD_SPECS["deployment_date"].path == "dora.deployment_date"
    assert all(spec.description and spec.metrics for spec in TARGET_FIELD_SPECS.values())


@pytest.mark.parametrize(("type_name", "kind", "expected"), MATRIX_CASES)
def test_compatibility_matrix(type_name: str, kind: str, expected: bool) -> None:
    field = FIELDS_BY_TYPE[type_name]
    assert is_compatible(kind, field["field_type"], field["items_type"]) is expected
    group, key = TARGET_PER_KIND[kind]
    errors = validate_field_mappings({group: {key: field["field_id"]}}, JIRA_FIELDS)
    if expected:
        assert errors == {}
    else:
        assert list(errors) == [f"{group}.{key}"]
        assert f"{field['field_name']} ({field['field_id']}) is " in errors[f"{group}.{key}"]


def test_incompatible_message_names_target_field_and_type() -> None:
    errors = validate_field_mappings(mappings(deployment_date="customfield_10300"), JIRA_FIELDS)
    assert errors == {"dora.deployment_date": "Deployment Date needs a date or date-time field; "
                                              "Team Notes (customfield_10300) is a text field"}
    errors = validate_field_mappings(mappings(active_work_hours="customfield_10105"), JIRA_FIELDS)
    assert errors["flow.active_work_hours"] == (
        "Active Work Hours needs a number field; "
        "Regions (customfield_10105) is a multi-select or checkbox field")


def test_unknown_field_id_is_an_error() -> None:
    errors = validate_field_mappings(mappings(deployment_date="customfield_123"), JIRA_FIELDS)
    assert errors == {"dora.deployment_date": "Field customfield_123 does not exist in this Jira"}


@pytest.mark.parametrize("value", [10100, 101.5, True, ["customfield_10101"], {"id": "customfield_10101"}])
def test_wrong_python_type_in_mapping_is_an_error(value: object) -> None:
    errors = validate_field_mappings(mappings(code_commit_date=value), JIRA_FIELDS)
    assert list(errors) == ["dora.code_commit_date"]
    assert "must be a field id such as customfield_10100" in errors["dora.code_commit_date"]


def test_unmapped_keys_are_not_errors_and_spaces_are() -> None:
    assert validate_field_mappings(copy.deepcopy(DEFAULT_SETTINGS["dora_flow_config"]["field_mappings"]),
                                   JIRA_FIELDS) == {}
    assert validate_field_mappings(mappings(deployment_date="", flow_item_type="   "), JIRA_FIELDS) == {}
    assert validate_field_mappings(None, JIRA_FIELDS) == {}
    errors = validate_field_mappings(mappings(deployment_date=" customfield_10101"), JIRA_FIELDS)
    assert "surrounding spaces" in errors["dora.deployment_date"]


def test_unknown_keys_groups_and_shapes_are_reported() -> None:
    errors = validate_field_mappings(
        {"dora": {"deploy_date": "customfield_10101", "flow_item_type": "issuetype"},
         "flow": ["customfield_10101"], "kanban": {}},
        JIRA_FIELDS,
    )
    assert set(errors) == {"dora.deploy_date", "dora.flow_item_type", "flow", "kanban"}
    assert "Unknown mapping key 'deploy_date'" in errors["dora.deploy_date"]
    assert "belongs in the 'flow' mappings" in errors["dora.flow_item_type"]
    assert "Unknown mapping group 'kanban'" in errors["kanban"]
    assert set(validate_field_mappings(["customfield_10101"], JIRA_FIELDS)) == {"field_mappings"}


def test_standard_fields_are_known_without_a_field_list_and_raw_schema_is_read() -> None:
    valid = mappings(deployment_date="created", deployed_to_production_date="resolutiondate",
                     flow_item_type="issuetype", target_environment="priority")
    assert validate_field_mappings(valid, []) == {}
    errors = validate_field_mappings(mappings(deployment_date="status"), [])
    assert errors == {"dora.deployment_date":
                      "Deployment Date needs a date or date-time field; Status (status) is the status field"}
    raw_shape = [{"id": "customfield_9", "name": "Shipped", "custom": True, "schema": {"type": "date"}}]
    assert validate_field_mappings(mappings(deployment_date="customfield_9"), raw_shape) == {}


def test_required_mappings_follow_metrics_md() -> None:
    assert REQUIRED_MAPPINGS["lead_time_for_changes"] == (
        ("deployment_date",), ("code_commit_date",), ("deployed_to_production_date",))
    assert missing_mappings_for("deployment_frequency", {}) == ["deployment_date"]
    assert missing_mappings_for("lead_time_for_changes", mappings(deployment_date="created")) == [
        "code_commit_date", "deployed_to_production_date"]
    assert missing_mappings_for("mean_time_to_recovery", mappings(incident_detected_at="created")) == [
        "incident_resolved_at"]
    assert missing_mappings_for("flow_distribution", {}) == ["flow_item_type"]
    assert missing_mappings_for("flow_distribution", mappings(flow_item_type="issuetype")) == []
    for metric in ("flow_velocity", "flow_time", "flow_efficiency", "flow_load"):
        assert missing_mappings_for(metric, None) == []
        assert missing_mapping_message(metric, None) is None
    with pytest.raises(ValueError, match="Unknown metric 'lead_time'"):
        missing_mappings_for("lead_time", {})


def test_change_failure_rate_needs_either_outcome_field() -> None:
    only_date = mappings(deployment_date="customfield_10101")
    assert missing_mappings_for("change_failure_rate", only_date) == [
        "deployment_successful", "production_impact"]
    assert missing_mapping_message("change_failure_rate", only_date) == (
        "Map the Deployment Successful or Production Impact field")
    assert missing_mappings_for("change_failure_rate", {**only_date, "dora": {
        **only_date["dora"], "deployment_successful": "customfield_10104"}}) == []
    assert missing_mappings_for("change_failure_rate", {**only_date, "dora": {
        **only_date["dora"], "production_impact": "customfield_10106"}}) == []
    assert missing_mappings_for("change_failure_rate", {}) == [
        "deployment_date", "deployment_successful", "production_impact"]
    assert missing_mapping_message("change_failure_rate", {}) == (
        "Map the Deployment Date field and the Deployment Successful or Production Impact field")


def test_missing_mapping_messages_and_unusable_values() -> None:
    assert missing_mapping_message("deployment_frequency", {}) == "Map the Deployment Date field"
    assert missing_mapping_message("lead_time_for_changes", {}) == (
        "Map the Deployment Date, Code Commit Date and Deployed to Production Date fields")
    for unusable in (10100, " ", None):
        assert missing_mappings_for("deployment_frequency", mappings(deployment_date=unusable)) == [
            "deployment_date"]
    assert missing_mapping_message("deployment_frequency", mappings(deployment_date="created")) is None


def test_mapping_warnings_list_only_metrics_that_would_miss() -> None:
    dora_only = mappings(deployment_date="customfield_10101", code_commit_date="customfield_10102",
                         deployed_to_production_date="created", production_impact="customfield_10106",
                         incident_detected_at="created", incident_resolved_at="resolutiondate")
    assert mapping_warnings(dora_only) == {"flow_distribution": "Map the Flow Item Type field"}
    assert set(mapping_warnings({})) == {"deployment_frequency", "lead_time_for_changes",
                                         "change_failure_rate", "mean_time_to_recovery", "flow_distribution"}


def default_config() -> dict:
    return copy.deepcopy(DEFAULT_SETTINGS["dora_flow_config"])


def test_default_status_config_is_valid() -> None:
    assert validate_status_config(default_config()) == {}
    assert validate_status_config({}) == {}


def test_active_statuses_must_be_wip_statuses_case_insensitively() -> None:
    config = default_config() | {"wip_statuses": ["In Progress", "Blocked"],
                                 "active_statuses": ["in progress "]}
    assert validate_status_config(config) == {}
    config["active_statuses"] = ["In Progress", "Testing"]
    errors = validate_status_config(config)
    assert list(errors) == ["active_statuses"]
    assert "'Testing'" in errors["active_statuses"] and "wip_statuses" in errors["active_statuses"]


def test_completed_statuses_must_not_be_wip() -> None:
    config = default_config() | {"completed_statuses": ["Done", "in review"]}
    errors = validate_status_config(config)
    assert list(errors) == ["completed_statuses"]
    assert "'in review'" in errors["completed_statuses"]


@pytest.mark.parametrize(("key", "value"), [
    ("wip_statuses", "In Progress"),
    ("wip_statuses", []),
    ("active_statuses", ["In Progress", ""]),
    ("completed_statuses", ["Done", 3]),
    ("production_environment_values", "Production"),
    ("deployment_issue_types", [None]),
    ("flow_issue_types", ["Story", "  "]),
])
def test_lists_must_hold_non_empty_names(key: str, value: object) -> None:
    errors = validate_status_config(default_config() | {key: value})
    assert list(errors) == [key]
    assert errors[key].startswith(key)


def test_flow_type_mapping_rules() -> None:
    config = default_config()
    config["flow_type_mappings"] = {"Feature": ["Story"], "Bug": ["Bug"], "Risk": "Risk",
                                    "Technical_Debt": ["story"]}
    errors = validate_status_config(config)
    assert set(errors) == {"flow_type_mappings.Bug", "flow_type_mappings.Risk",
                           "flow_type_mappings.Technical_Debt"}
    assert "unknown flow type" in errors["flow_type_mappings.Bug"]
    assert "also mapped to Feature" in errors["flow_type_mappings.Technical_Debt"]
    assert set(validate_status_config(config | {"flow_type_mappings": []})) == {"flow_type_mappings"}
    assert validate_status_config("wip") == {"dora_flow_config": "dora_flow_config must be an object"}


def test_build_field_metadata_merges_uses_and_flags_required() -> None:
    field_mappings = mappings(deployment_date="customfield_10101",
                              deployed_to_production_date="customfield_10101",
                              production_impact="customfield_10106", work_started_date="customfield_10102",
                              flow_item_type="issuetype", active_work_hours=None)
    metadata = build_field_metadata(field_mappings, JIRA_FIELDS)
    assert list(metadata) == ["customfield_10101", "customfield_10102", "customfield_10106", "issuetype"]
    go_live = metadata["customfield_10101"]
    assert (go_live["name"], go_live["type"], go_live["required"]) == ("Go live", "datetime", True)
    assert go_live["mapped_as"] == ["dora.deployment_date", "dora.deployed_to_production_date"]
    assert "Deployment Date" in go_live["description"]
    assert "Deployed to Production Date" in go_live["description"]
    flags, release_day = metadata["customfield_10106"], metadata["customfield_10102"]
    assert (flags["type"], flags["required"]) == ("checkbox", True)
    assert (release_day["type"], release_day["required"]) == ("date", False)
    assert metadata["issuetype"]["name"] == "Issue Type"


def test_field_options_for_datetime_target() -> None:
    fields = [custom_field(2, "beta deploy", "datetime"), custom_field(3, "Alpha deploy", "date"),
              custom_field(4, "Beta notes", "string"), *JIRA_FIELDS]
    options = field_options(fields, "deployment_date")
    enabled = [o["value"] for o in options if not o.get("disabled")]
    disabled = [o["value"] for o in options if o.get("disabled")]
    # Compatible by hand: custom datetime/date fields, created, updated, resolutiondate; by name, any case.
    assert enabled == ["customfield_3", "customfield_2", "created", "customfield_10101", "customfield_10102",
                       "resolutiondate", "updated"]
    assert all(set(o) == {"label", "value"} for o in options[:len(enabled)])
    assert options[0]["label"] == "Alpha deploy · customfield_3 · date"
    assert "duedate" not in disabled + enabled and "summary" not in disabled + enabled
    # Incompatible custom fields, disabled, by name: App flag, Approver, Area, Beta notes, Environment, ...
    assert disabled == ["customfield_10111", "customfield_10109", "customfield_10110", "customfield_4",
                        "customfield_10104", "customfield_10106", "customfield_10103", "customfield_10112",
                        "customfield_10105", "customfield_10108", "customfield_10107", "customfield_10300"]
    assert options[len(enabled)] == {"label": "App flag · customfield_10111 · any",
                                     "value": "customfield_10111", "disabled": True}
    compatible_only = field_options(fields, "deployment_date", include_incompatible=False)
    assert [o["value"] for o in compatible_only] == enabled


def test_field_options_for_text_like_target_offer_standard_type_fields() -> None:
    options = field_options(JIRA_FIELDS, "flow_item_type", include_incompatible=False)
    labels = [o["label"] for o in options]
    # Compatible by hand from MATRIX: string, option, multiselect, checkboxes, labels, cascading, 3 standard.
    assert [o["value"] for o in options] == [
        "customfield_10110", "customfield_10104", "customfield_10106", "issuetype", "priority",
        "customfield_10105", "status", "customfield_10107", "customfield_10300"]
    assert "Regions · customfield_10105 · array of option" in labels
    with pytest.raises(KeyError):
        field_options(JIRA_FIELDS, "no_such_target")
