"""Azure DevOps defaults: the status lists and flow type mappings a new Azure DevOps user gets, from a partial
settings file (``merge_with_defaults``) and from the Data source dialog's save over the Jira defaults.

Expected numbers come from the test server's own latest fields (an independent count of the items whose
current state is a WIP state), never from the calculators.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from configuration.defaults import AZURE_DEVOPS_FLOW_DEFAULTS, DEFAULT_SETTINGS
from configuration.secrets import ENV_AZURE_DEVOPS_PAT
from configuration.settings import load_app_settings, merge_with_defaults
from data.metrics.issue_frame import build_issue_frames
from data.metrics.periods import Period
from data.services.azure_devops_connection import AzureDevOpsInput, save_azure_devops_connection
from data.services.metrics_service import calculate_all_metrics
from data.sources.ado_client import AzureDevOpsClient
from data.store.issue_cache import BASE_FIELDS
from tests.ado_server import AdoTestServer
from tests.ado_server.builders import DEFAULT_START, make_work_items
from tests.ado_server.fixtures import AdoServerFactory, ado_server, ado_server_factory  # noqa: F401
from tests.ado_server.store import parse_ado_time

JIRA = DEFAULT_SETTINGS["dora_flow_config"]
ADO = AZURE_DEVOPS_FLOW_DEFAULTS

# The processes Azure DevOps ships, as (work item type, its states in workflow order): Agile's User Story,
# Scrum's Product Backlog Item and Task, Basic's Issue, CMMI's Requirement. The builders walk the states in
# order (then again from the second), so every item is, or has been, in the second state: the WIP one.
PROCESSES = {
    "agile": ("User Story", ("New", "Active", "Resolved", "Closed")),
    "scrum": ("Product Backlog Item", ("New", "Committed", "Done")),
    "scrum task": ("Task", ("To Do", "In Progress", "Done")),
    "basic": ("Issue", ("To Do", "Doing", "Done")),
    "cmmi": ("Requirement", ("Proposed", "Active", "Resolved", "Closed")),
}


@pytest.fixture(autouse=True)
def no_environment_pat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_AZURE_DEVOPS_PAT, raising=False)


# ---------------------------------------------------------------------- merge_with_defaults


def test_a_partial_azure_devops_file_gets_the_azure_devops_lists() -> None:
    config = merge_with_defaults({"source": "azure_devops"})["dora_flow_config"]
    assert config["wip_statuses"] == ["Active", "Committed", "In Progress", "Doing", "In Review"]
    assert config["active_statuses"] == ["Active", "Committed", "In Progress", "Doing"]
    assert config["completed_statuses"] == ["Done", "Closed", "Resolved"]
    assert {"User Story", "Product Backlog Item", "Requirement"} <= set(config["flow_type_mappings"]["Feature"])
    assert "Task" not in config["flow_type_mappings"]["Technical_Debt"]
    for partial in ({}, {"source": "jira"}):  # Jira (or a file from before there was a choice) keeps Jira's
        assert merge_with_defaults(partial)["dora_flow_config"]["wip_statuses"] == ["In Progress", "In Review"]


def test_lists_a_partial_file_sets_are_kept() -> None:
    config = merge_with_defaults({"source": "azure_devops", "dora_flow_config": {
        "wip_statuses": ["Doing", "Waiting"], "flow_type_mappings": {"Feature": ["Story"]}}})["dora_flow_config"]
    assert config["wip_statuses"] == ["Doing", "Waiting"]
    assert config["flow_type_mappings"]["Feature"] == ["Story"]
    assert config["flow_type_mappings"]["Technical_Debt"] == ADO["flow_type_mappings"]["Technical_Debt"]
    assert config["active_statuses"] == ADO["active_statuses"]


def test_a_cli_settings_file_choosing_azure_devops_loads_the_azure_devops_lists(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"source": "azure_devops", "azure_devops": {
        "organization_url": "https://dev.azure.com/contoso", "project": "Fabrikam"}}))
    config = load_app_settings(path)["dora_flow_config"]
    assert config["wip_statuses"] == ADO["wip_statuses"]
    assert config["flow_type_mappings"] == ADO["flow_type_mappings"]


@pytest.mark.parametrize("process", PROCESSES, ids=list(PROCESSES))
def test_default_flow_numbers_of_each_process(ado_server_factory: AdoServerFactory,  # noqa: F811
                                             process: str) -> None:
    work_item_type, states = PROCESSES[process]
    server = ado_server_factory(make_work_items(30, revisions=4, work_item_type=work_item_type, states=states,
                                                other_every=0))
    settings = merge_with_defaults({"source": "azure_devops"})
    client = AzureDevOpsClient(server.organization_url, server.project, pat=server.pat, requests_per_second=0)
    issues = client.search_issues("", list(BASE_FIELDS))
    # Every item is created and last changed within days of DEFAULT_START, so at `now` each is in its latest
    # state: Flow Load is the number of items whose latest state is a WIP state, counted on the server's data.
    period = Period(DEFAULT_START.date(), date(2025, 2, 28))
    now = datetime(2025, 3, 1, tzinfo=UTC)
    assert all(parse_ado_time(item.latest["System.ChangedDate"]) < now for item in server.store.items())
    wip = {name.casefold() for name in ADO["wip_statuses"]}
    expected_load = sum(1 for item in server.store.items() if item.latest["System.State"].casefold() in wip)
    assert expected_load > 0  # the builders' walk leaves some items in the second (WIP) state
    metrics = calculate_all_metrics(build_issue_frames(issues, settings), settings, period, now, snapshots={})
    assert metrics["flow_load"]["value"] == expected_load
    assert metrics["flow_time"]["value"] is not None  # items went through a WIP state into a completed one
    assert metrics["flow_efficiency"]["value"] is not None


# ---------------------------------------------------------------------- the Data source dialog's save


def _write_settings(data_dir: Path, config_changes: dict[str, Any] | None = None) -> None:
    """The tracked ``app_settings.json``'s shape: every key written out, with the Jira defaults."""
    settings = merge_with_defaults({"dora_flow_config": config_changes or {}})
    (data_dir / "app_settings.json").write_text(json.dumps(settings, indent=2))


def _form(server: AdoTestServer) -> AzureDevOpsInput:
    return AzureDevOpsInput(organization_url=server.organization_url, project=server.project, wiql_filter="",
                            pat=server.pat)


def test_saving_azure_devops_over_the_jira_defaults_gives_the_azure_devops_lists(
        isolated_data_dir: Path, ado_server: AdoTestServer) -> None:  # noqa: F811
    _write_settings(isolated_data_dir)
    result = save_azure_devops_connection(_form(ado_server))
    assert result.ok
    config = load_app_settings()["dora_flow_config"]
    assert config["wip_statuses"] == ADO["wip_statuses"]
    assert config["active_statuses"] == ADO["active_statuses"]
    assert config["completed_statuses"] == JIRA["completed_statuses"] == ADO["completed_statuses"]
    assert config["flow_type_mappings"] == ADO["flow_type_mappings"]
    assert "Lists still holding the Jira defaults now hold the Azure DevOps ones (" in result.message
    assert "WIP statuses: Active, Committed, In Progress, Doing, In Review" in result.message
    assert "Feature types: User Story, Product Backlog Item, Requirement" in result.message
    assert "Defect types" not in result.message  # the same in both: nothing replaced, nothing said
    again = save_azure_devops_connection(_form(ado_server))
    assert again.ok and "Jira defaults" not in again.message


def test_lists_the_user_changed_are_never_replaced(isolated_data_dir: Path, ado_server: AdoTestServer) -> None:  # noqa: F811
    _write_settings(isolated_data_dir, {"wip_statuses": ["In Progress", "Blocked"],
                                        "flow_type_mappings": {"Feature": ["Story"]}})
    result = save_azure_devops_connection(_form(ado_server))
    assert result.ok
    config = load_app_settings()["dora_flow_config"]
    assert config["wip_statuses"] == ["In Progress", "Blocked"]
    assert config["flow_type_mappings"]["Feature"] == ["Story"]
    assert config["active_statuses"] == ADO["active_statuses"]  # still the Jira default: replaced
    assert config["flow_type_mappings"]["Technical_Debt"] == ADO["flow_type_mappings"]["Technical_Debt"]
    assert "active statuses: Active" in result.message and "WIP statuses" not in result.message
    assert "Feature types" not in result.message
