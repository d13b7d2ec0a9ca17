"""Default application settings: the schema of ``app_settings.json`` with safe values.

Keys missing from a settings file take these values (see ``configuration.settings.merge_with_defaults``).
No secret ever lives here or in ``app_settings.json``: tokens come from the environment or the
git-ignored secrets file (``configuration.secrets``).
"""

from __future__ import annotations

from typing import Any

SETTINGS_VERSION = 1

DORA_MAPPING_KEYS: tuple[str, ...] = (
    "deployment_date",
    "target_environment",
    "code_commit_date",
    "deployed_to_production_date",
    "incident_detected_at",
    "incident_resolved_at",
    "deployment_successful",
    "production_impact",
)

FLOW_MAPPING_KEYS: tuple[str, ...] = (
    "flow_item_type",
    "work_started_date",
    "work_completed_date",
    "active_work_hours",
)

# What each mapping key is called in the UI, messages and docs (one source for every layer).
FIELD_LABELS: dict[str, str] = {
    "deployment_date": "Deployment Date",
    "target_environment": "Target Environment",
    "code_commit_date": "Code Commit Date",
    "deployed_to_production_date": "Deployed to Production Date",
    "incident_detected_at": "Incident Detected At",
    "incident_resolved_at": "Incident Resolved At",
    "deployment_successful": "Deployment Successful",
    "production_impact": "Production Impact",
    "flow_item_type": "Flow Item Type",
    "work_started_date": "Work Started Date",
    "work_completed_date": "Work Completed Date",
    "active_work_hours": "Active Work Hours",
}

FLOW_TYPES: tuple[str, ...] = ("Feature", "Defect", "Risk", "Technical_Debt")

SOURCES: tuple[str, ...] = ("jira", "azure_devops")
"""The values of ``source``: where the issues come from (``jira`` for files written before there was a choice)."""

DEFAULT_SETTINGS: dict[str, Any] = {
    "version": SETTINGS_VERSION,
    "source": "jira",  # "jira" | "azure_devops"; the chosen source not configured means the demo data
    "jira": {
        # Empty url means "no Jira configured": the app serves the built-in demo dataset.
        "url": "",
        "deployment": "cloud",  # "cloud" | "datacenter"
        "email": "",
        "jql": "",
        "page_size": 100,
        "max_concurrency": 4,
        "requests_per_second": 10.0,
        "timeout_seconds": 30.0,
        "max_retries": 4,
        "fetch_budget_seconds": 3600.0,  # a whole fetch stops with a clear message past this
        "incremental_overlap_minutes": 5,
        "full_refresh_hours": 24,
    },
    # Azure DevOps Boards (Services or Server). The numeric limits above (timeout, retries, requests per
    # second, fetch budget) apply to it too; its personal access token never lives here (AZURE_DEVOPS_PAT).
    "azure_devops": {
        "organization_url": "",  # e.g. https://dev.azure.com/contoso (Server: https://host/tfs/Collection)
        "project": "",
        "wiql_filter": "",  # a WIQL WHERE condition bounding the work items; empty: the whole project
    },
    "dora_flow_config": {
        "field_mappings": {
            "dora": {key: None for key in DORA_MAPPING_KEYS},
            "flow": {key: None for key in FLOW_MAPPING_KEYS},
        },
        "field_metadata": {},
        # The Jira field naming an issue's team(s): "project", "components", "labels" or a custom field id.
        "team_field": None,
        "wip_statuses": ["In Progress", "In Review"],
        "active_statuses": ["In Progress"],
        "completed_statuses": ["Done", "Closed", "Resolved"],
        "production_environment_values": ["Production"],
        "deployment_issue_types": [],
        "incident_issue_types": [],
        "flow_issue_types": [],
        "flow_type_mappings": {
            "Feature": ["Story", "Feature", "Epic"],
            "Defect": ["Bug", "Defect"],
            "Risk": ["Risk", "Incident"],
            "Technical_Debt": ["Technical Debt", "Tech Debt", "Task"],
        },
        "last_updated": None,
    },
    "metrics_cache": {"ttl_seconds": 3600, "max_entries": 100},
    "snapshots": {"weeks_to_keep": 52},
}

AZURE_DEVOPS_FLOW_DEFAULTS: dict[str, Any] = {
    # The states of the Agile (New, Active, Resolved, Closed), Scrum (New, Approved, Committed, Done; tasks
    # To Do, In Progress, Done), Basic (To Do, Doing, Done) and CMMI (Proposed, Active, Resolved, Closed)
    # processes. WIP and active are the states of Azure DevOps' "In Progress" category; "In Review" is no
    # standard state but a common addition (waiting, so WIP only, as for Jira). Resolved counts as completed,
    # as for Jira. docs/azure_devops.md explains each choice.
    "wip_statuses": ["Active", "Committed", "In Progress", "Doing", "In Review"],
    "active_statuses": ["Active", "Committed", "In Progress", "Doing"],
    "completed_statuses": ["Done", "Closed", "Resolved"],
    "flow_type_mappings": {
        "Feature": ["User Story", "Product Backlog Item", "Requirement", "Story", "Feature", "Epic"],
        "Defect": ["Bug", "Defect"],
        "Risk": ["Risk", "Incident"],
        # Not "Task": an Azure DevOps task is a part of a backlog item, not technical debt.
        "Technical_Debt": ["Technical Debt", "Tech Debt"],
    },
}
"""The ``dora_flow_config`` lists for Azure DevOps: they replace the Jira defaults above for a settings file
choosing ``azure_devops`` that leaves them out, and for one still holding the Jira defaults when the Data
source dialog switches to Azure DevOps."""

DEMO_JQL = "project = DEMO"
"""The JQL the demo source stands for (part of the cache identity in demo mode)."""
