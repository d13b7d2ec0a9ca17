"""The demo Jira instance's fixed parts: its ``/field`` answer, custom field ids, option values, status
names, the field mappings and status lists the demo needs, and its ``/myself`` user."""

from __future__ import annotations

from typing import Any

from configuration.defaults import DORA_MAPPING_KEYS

BASE_URL = "https://demo.atlassian.net"

TO_DO, IN_PROGRESS, IN_REVIEW, DONE, CLOSED = "To Do", "In Progress", "In Review", "Done", "Closed"

DEPLOYMENT_DATE, TARGET_ENVIRONMENT, CODE_COMMIT_DATE, DEPLOYED_TO_PRODUCTION_DATE = (
    "customfield_10100", "customfield_10101", "customfield_10102", "customfield_10103")
INCIDENT_DETECTED_AT, INCIDENT_RESOLVED_AT, DEPLOYMENT_SUCCESSFUL, PRODUCTION_IMPACT = (
    "customfield_10104", "customfield_10105", "customfield_10106", "customfield_10107")
WORK_TYPE, TEAM_NOTES, STORY_POINTS = "customfield_10200", "customfield_10300", "customfield_10301"
TEAM = "customfield_10400"
"""The demo organisation's "Team" select field (``dora_flow_config.team_field`` of the demo)."""



def option(option_id: str, value: str) -> dict[str, str]:
    return {"self": f"{BASE_URL}/rest/api/3/customFieldOption/{option_id}", "value": value, "id": option_id}


ENVIRONMENT_OPTIONS = (None, option("10400", "Production"), option("10401", "Staging"))  # by environment code
YES_NO_OPTIONS = {"Yes": option("10410", "Yes"), "No": option("10411", "No")}
IMPACT_OPTIONS = {"Yes": option("10420", "Yes"), "No": option("10421", "No")}
FLOW_OPTIONS = {name: option(str(10430 + i), name)
                 for i, name in enumerate(("Feature", "Defect", "Risk", "Technical_Debt"))}
TEAM_NAMES = ("Platform", "Payments", "Mobile", "Growth")
"""The demo organisation's teams: Platform deploys often and safely, Payments struggles with change failures."""
TEAM_OPTIONS = tuple(option(str(10450 + i), name) for i, name in enumerate(TEAM_NAMES))


def _custom_field(number: int, name: str, kind: str) -> dict[str, Any]:
    schema_type = {"datetime": "datetime", "select": "option", "textfield": "string", "float": "number"}[kind]
    field_id = f"customfield_{number}"
    return {"id": field_id, "key": field_id, "name": name, "untranslatedName": name, "custom": True,
            "orderable": True, "navigable": True, "searchable": True, "clauseNames": [f"cf[{number}]", name],
            "schema": {"type": schema_type, "customId": number,
                       "custom": f"com.atlassian.jira.plugin.system.customfieldtypes:{kind}"}}


def _system_field(field_id: str, name: str, schema_type: str, clauses: list[str], *, orderable: bool = True,
                  items: str | None = None) -> dict[str, Any]:
    schema = {"type": schema_type, **({"items": items} if items else {}), "system": field_id}
    return {"id": field_id, "key": field_id, "name": name, "custom": False, "orderable": orderable,
            "navigable": True, "searchable": True, "clauseNames": clauses, "schema": schema}


DEMO_FIELDS: list[dict[str, Any]] = [
    _system_field("summary", "Summary", "string", ["summary"]),
    _system_field("status", "Status", "status", ["status"], orderable=False),
    _system_field("issuetype", "Issue Type", "issuetype", ["issuetype", "type"]),
    _system_field("created", "Created", "datetime", ["created", "createdDate"], orderable=False),
    _system_field("updated", "Updated", "datetime", ["updated", "updatedDate"], orderable=False),
    _system_field("resolutiondate", "Resolved", "datetime", ["resolutiondate", "resolved"], orderable=False),
    _system_field("project", "Project", "project", ["project"], orderable=False),
    _system_field("priority", "Priority", "priority", ["priority"]),
    _system_field("assignee", "Assignee", "user", ["assignee"]),
    _system_field("labels", "Labels", "array", ["labels"], items="string"),
    _custom_field(10100, "Deployment Date", "datetime"),
    _custom_field(10101, "Target Environment", "select"),
    _custom_field(10102, "Code Commit Date", "datetime"),
    _custom_field(10103, "Deployed to Production Date", "datetime"),
    _custom_field(10104, "Incident Detected At", "datetime"),
    _custom_field(10105, "Incident Resolved At", "datetime"),
    _custom_field(10106, "Deployment Successful", "select"),
    _custom_field(10107, "Production Impact", "select"),
    _custom_field(10200, "Work Type", "select"),
    _custom_field(10300, "Team Notes", "textfield"),
    _custom_field(10301, "Story Points", "float"),
    _custom_field(10400, "Team", "select"),
]
"""The ``GET /rest/api/3/field`` response of the demo instance (standard fields and the custom ones)."""

_DORA_FIELD_IDS = (DEPLOYMENT_DATE, TARGET_ENVIRONMENT, CODE_COMMIT_DATE, DEPLOYED_TO_PRODUCTION_DATE,
                   INCIDENT_DETECTED_AT, INCIDENT_RESOLVED_AT, DEPLOYMENT_SUCCESSFUL, PRODUCTION_IMPACT)
DEMO_FIELD_MAPPINGS: dict[str, dict[str, str | None]] = {
    "dora": dict(zip(DORA_MAPPING_KEYS, _DORA_FIELD_IDS, strict=True)),
    "flow": {"flow_item_type": WORK_TYPE, "work_started_date": None, "work_completed_date": None,
             "active_work_hours": None},
}

DEMO_SETTINGS_OVERLAY: dict[str, Any] = {
    "field_mappings": DEMO_FIELD_MAPPINGS,
    "team_field": TEAM,
    "wip_statuses": [IN_PROGRESS, IN_REVIEW],
    "active_statuses": [IN_PROGRESS],
    "completed_statuses": [DONE, CLOSED],
    "production_environment_values": ["Production"],
    "deployment_issue_types": ["Deployment"],
    "incident_issue_types": ["Incident"],
    "flow_issue_types": [],
    "flow_type_mappings": {"Feature": ["Story"], "Defect": ["Bug", "Incident"], "Risk": ["Risk"],
                           "Technical_Debt": ["Technical Debt", "Task"]},
}
"""The ``dora_flow_config`` values the demo needs (shared: deep-copy before merging or changing)."""

DEMO_USER: dict[str, str] = {"displayName": "Demo User", "timeZone": "UTC",
                             "accountId": "5f1a2b3c4d5e6f7a8b9c0d00"}
"""What ``GET /rest/api/3/myself`` answers in demo mode."""
