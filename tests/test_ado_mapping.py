"""The field-mapping dialog with Azure DevOps as the source: the project's own fields offered and checked (never
Jira's standard ones), texts that name Azure DevOps, and the Teams tab's choices used by a real update — against
the test Azure DevOps server over HTTP with real files in the per-test data directory. The Jira behaviour is
covered by test_field_mapper, test_mapping_service and test_field_mapping_callbacks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from callbacks.field_mapping import load_field_mapping, toggle_field_mapping, word_field_mapping
from configuration.secrets import ENV_AZURE_DEVOPS_PAT
from configuration.settings import load_app_settings, replace_field_mappings
from data.metrics.field_mapper import field_options, validate_field_mappings
from data.metrics.teams import team_names
from data.services.azure_devops_connection import AzureDevOpsInput, save_azure_devops_connection
from data.services.dashboard_service import load_dataset, run_update
from data.services.mapping_service import (
    FIELD_KEYS,
    FORM_SECTIONS,
    LIST_KEYS,
    clear_fields_cache,
    load_mapping_form,
    save_mapping_form,
)
from data.sources.ado_normalise import field_records
from data.store.issue_cache import load_cached_issues
from tests.ado_server import AdoTestServer
from tests.ado_server.builders import DEFAULT_FIELDS, make_work_items
from tests.ado_server.fixtures import AdoServerFactory, ado_server_factory  # noqa: F401  (fixture, by name)
from tests.conftest import start_app, stop_app, watched_page
from ui import ids
from ui.field_mapping_modal import field_mapping_modal, wording_id

pytestmark = pytest.mark.usefixtures("restore_root_logging")

JIRA_STANDARD = {"created", "updated", "resolutiondate", "issuetype", "status", "priority"}
# By hand from tests/ado_server/builders.DEFAULT_FIELDS: its four dateTime fields.
ADO_DATES = {"System.CreatedDate", "System.ChangedDate", "Microsoft.VSTS.Common.ClosedDate", "Custom.DeploymentDate"}
# Its integer / double / picklistInteger fields (System.Id and System.Rev are integers too).
ADO_NUMBERS = {"System.Id", "System.Rev", "Microsoft.VSTS.Common.Priority", "Microsoft.VSTS.Scheduling.StoryPoints",
               "Custom.Severity"}
TIMEOUT_MS = 60_000


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_AZURE_DEVOPS_PAT, raising=False)
    clear_fields_cache()


@pytest.fixture
def server(ado_server_factory: AdoServerFactory) -> AdoTestServer:  # noqa: F811
    """Eight work items whose areas cycle Fabrikam\\Payments, Fabrikam\\Mobile, Fabrikam, Fabrikam\\Payments\\Cards;
    the field list is DEFAULT_FIELDS plus a custom field of an older process (its own prefix)."""
    fields = [*DEFAULT_FIELDS, {"referenceName": "Fabrikam.Squad", "name": "Squad", "type": "string"}]
    return ado_server_factory(make_work_items(8, revisions=5), fields=fields)


@pytest.fixture
def connected(server: AdoTestServer) -> dict[str, Any]:
    """Azure DevOps chosen and saved (no filter: every item of Fabrikam); the stored settings."""
    result = save_azure_devops_connection(AzureDevOpsInput(organization_url=server.organization_url,
                                                           project=server.project, wiql_filter="", pat=server.pat))
    assert result.ok, result.message
    return load_app_settings()


def _values(options: list[dict[str, Any]], *, enabled: bool = True) -> set[str]:
    return {option["value"] for option in options if bool(option.get("disabled")) != enabled}


# --- what the dialog offers ------------------------------------------------------------------------------------------

def test_the_dialog_offers_the_projects_own_fields_and_no_jira_standard_field(connected: dict[str, Any]) -> None:
    form = load_mapping_form(connected)
    assert form.error is None
    dates = form.options["dora.deployment_date"]
    assert _values(dates) == ADO_DATES
    labels = {option["value"]: option["label"] for option in dates}
    assert labels["Microsoft.VSTS.Common.ClosedDate"] == "Closed Date · Microsoft.VSTS.Common.ClosedDate · datetime"
    assert labels["System.CreatedDate"] == "Created Date · System.CreatedDate · datetime"
    assert _values(form.options["flow.active_work_hours"]) == ADO_NUMBERS
    texts = _values(form.options["flow.flow_item_type"])
    assert {"System.WorkItemType", "System.State", "Custom.Environment", "area_path"} <= texts
    every_offer = {option["value"] for key in FIELD_KEYS if key != "team_field" for option in form.options[key]}
    assert not every_offer & JIRA_STANDARD
    # An incompatible custom field is listed disabled (as with Jira); an incompatible System field is left out.
    assert "Custom.Environment" in _values(dates, enabled=False) and "System.Title" not in labels


def test_the_mapper_keeps_jiras_standard_fields_for_jira_only() -> None:
    records = field_records(DEFAULT_FIELDS)
    jira = _values(field_options(records, "deployment_date"))
    assert {"created", "updated", "resolutiondate"} <= jira and "System.CreatedDate" not in jira
    assert _values(field_options(records, "deployment_date", source="azure_devops")) == ADO_DATES
    assert validate_field_mappings({"dora": {"deployment_date": "created"}}, records) == {}
    assert validate_field_mappings({"dora": {"deployment_date": "created"}}, records, "azure_devops") == {
        "dora.deployment_date": "Field created does not exist in this Azure DevOps project"}


# --- saving -----------------------------------------------------------------------------------------------------------

def test_a_jira_standard_field_is_refused_and_a_system_field_is_saved(connected: dict[str, Any]) -> None:
    values = {**load_mapping_form(connected).values, "dora.target_environment": "priority"}
    refused = save_mapping_form(values, connected)
    assert not refused.saved
    assert refused.errors == {"dora.target_environment": "Field priority does not exist in this Azure DevOps project"}
    values.update({"dora.target_environment": "Custom.Environment",
                   "flow.work_completed_date": "Microsoft.VSTS.Common.ClosedDate",
                   "flow.active_work_hours": "Microsoft.VSTS.Scheduling.StoryPoints"})
    assert save_mapping_form(values, connected).saved
    config = load_app_settings()["dora_flow_config"]
    assert config["field_mappings"]["flow"]["work_completed_date"] == "Microsoft.VSTS.Common.ClosedDate"
    closed = config["field_metadata"]["Microsoft.VSTS.Common.ClosedDate"]
    assert (closed["name"], closed["type"], closed["mapped_as"]) == ("Closed Date", "datetime",
                                                                     ["flow.work_completed_date"])
    assert config["field_metadata"]["Microsoft.VSTS.Scheduling.StoryPoints"]["type"] == "number"


def test_a_saved_system_field_shows_by_name_and_a_missing_one_names_azure_devops(connected: dict[str, Any]) -> None:
    replace_field_mappings({"field_mappings": {"dora": {"deployment_date": "System.CreatedDate",
                                                        "code_commit_date": "customfield_10100"}, "flow": {}},
                            "team_field": "components"})
    form = load_mapping_form(load_app_settings())
    assert form.values["dora.deployment_date"] == "System.CreatedDate"
    assert form.options["dora.deployment_date"][0]["label"] != "System.CreatedDate · not in this Jira"
    assert "Created Date · System.CreatedDate · datetime" in {o["label"] for o in form.options["dora.deployment_date"]}
    assert form.options["dora.code_commit_date"][0] == {
        "label": "customfield_10100 · not in this Azure DevOps project", "value": "customfield_10100"}
    assert form.options["team_field"][0] == {"label": "components · not in this Azure DevOps project",
                                             "value": "components"}


# --- the texts that name the source -----------------------------------------------------------------------------------

def _layout_texts() -> dict[str, str]:
    """The wording slots of the layout with the text they show before any callback ran."""
    found: dict[str, str] = {}

    def walk(component: Any) -> None:
        component_id = getattr(component, "id", None)
        if isinstance(component_id, dict) and component_id.get("type") == ids.FieldMapping.WORDING:
            found[component_id["key"]] = component.children
        children = getattr(component, "children", None)
        for child in children if isinstance(children, list | tuple) else [children]:
            if child is not None and hasattr(child, "to_plotly_json"):
                walk(child)

    walk(field_mapping_modal(FORM_SECTIONS))
    return found


def _worded() -> dict[str, str]:
    _, request, *_ = toggle_field_mapping("open")
    slots = list(_layout_texts())
    return dict(zip(slots, word_field_mapping(request, [wording_id(slot) for slot in slots]), strict=True))


def test_the_dialog_names_azure_devops_where_it_named_jira(connected: dict[str, Any]) -> None:
    layout = _layout_texts()
    assert layout["intro.dora"] == "The Jira fields that describe deployments and incidents."
    assert layout["loading"] == "Loading the Jira fields…"
    worded = _worded()
    assert worded["intro.dora"] == "The Azure DevOps fields that describe deployments and incidents."
    assert worded["loading"] == "Loading the Azure DevOps fields…"
    assert worded["help.team_field"].startswith("Area Path")
    assert not [slot for slot, text in worded.items() if "Jira" in text or "Atlassian" in text]
    unchanged = {slot for slot in layout if slot not in ("intro.dora", "loading", "help.team_field")}
    assert {slot: worded[slot] for slot in unchanged} == {slot: layout[slot] for slot in unchanged}


def test_with_jira_or_the_demo_the_texts_stay_as_laid_out() -> None:
    layout = _layout_texts()
    assert {"loading", "intro.dora", "help.team_field"} <= set(layout)
    assert _worded() == layout


def test_the_loaded_form_never_says_jira(connected: dict[str, Any]) -> None:
    replace_field_mappings({"field_mappings": {"dora": {"deployment_date": "customfield_10100"}, "flow": {}}})
    _, request, *_ = toggle_field_mapping("open")
    field_ids = [ids.FieldMapping.field(key) for key in FIELD_KEYS]
    list_ids = [ids.FieldMapping.name_list(key) for key in LIST_KEYS]
    loaded = load_field_mapping(request, field_ids, list_ids)
    shown = repr(loaded[0]) + repr(loaded[8])
    assert "Jira" not in shown and "Azure DevOps project Fabrikam" in loaded[8]
    assert "customfield_10100 · not in this Azure DevOps project" in shown


# --- the Teams tab ----------------------------------------------------------------------------------------------------

def test_the_team_choices_are_area_path_project_and_the_custom_fields(connected: dict[str, Any]) -> None:
    options = load_mapping_form(connected).options["team_field"]
    # Custom fields by name: Deployment Date, Environment, Is Incident, Severity Level, Squad (Fabrikam.Squad).
    assert [option["value"] for option in options] == [
        "area_path", "project", "Custom.DeploymentDate", "Custom.Environment", "Custom.IsIncident", "Custom.Severity",
        "Fabrikam.Squad"]
    assert options[0]["label"] == "Area Path · area_path"


@pytest.mark.parametrize(("team_field", "teams"), [
    # make_work_items gives item n the area AREAS[n % 4]: all four areas appear among ids 1-8.
    ("area_path", ["Fabrikam", "Fabrikam\\Mobile", "Fabrikam\\Payments", "Fabrikam\\Payments\\Cards"]),
    ("project", ["Fabrikam"]),
])
def test_a_saved_team_field_names_the_teams_after_an_update(connected: dict[str, Any], team_field: str,
                                                            teams: list[str]) -> None:
    values = {**load_mapping_form(connected).values, "team_field": team_field}
    assert save_mapping_form(values, connected).saved
    run_update(full=True)
    dataset = load_dataset(load_app_settings())
    assert dataset is not None and team_names(dataset.frames) == teams



def test_system_and_older_custom_fields_mapped_in_the_dialog_are_fetched(ado_server_factory: AdoServerFactory,  # noqa: F811
                                                                         ) -> None:
    """Closed Date (a Microsoft field) as Work Completed Date and Squad (a custom field of an older process,
    prefix Fabrikam.) as the team field: Update Data asks Azure DevOps for both by reference name and the
    cached work items carry them."""
    items = make_work_items(6, revisions=5, extra_fields={"Fabrikam.Squad": "Falcons"})
    fields = [*DEFAULT_FIELDS, {"referenceName": "Fabrikam.Squad", "name": "Squad", "type": "string"}]
    server = ado_server_factory(items, fields=fields)
    assert save_azure_devops_connection(AzureDevOpsInput(organization_url=server.organization_url,
                                                         project=server.project, pat=server.pat)).ok
    settings = load_app_settings()
    values = {**load_mapping_form(settings).values, "flow.work_completed_date": "Microsoft.VSTS.Common.ClosedDate",
              "team_field": "Fabrikam.Squad"}
    assert save_mapping_form(values, settings).saved
    run_update(full=True)
    asked = {name for request in server.requests if request["endpoint"] == "workitemsbatch"
             for name in request["json"]["fields"]}
    assert {"Microsoft.VSTS.Common.ClosedDate", "Fabrikam.Squad"} <= asked
    cached = load_cached_issues()
    assert cached is not None and len(cached.issues) == 6
    # Expected by folding each item's revisions (later values win) as the server's history does.
    closed = {str(item["id"]): None for item in items}
    for item in items:
        for revision in item["revisions"]:
            closed[str(item["id"])] = revision.get("Microsoft.VSTS.Common.ClosedDate", closed[str(item["id"])])
    assert sum(1 for value in closed.values() if value) >= 2  # some items are closed, some are not
    assert {issue["key"]: issue["fields"]["Microsoft.VSTS.Common.ClosedDate"] for issue in cached.issues} == closed
    dataset = load_dataset(load_app_settings())
    assert dataset is not None and team_names(dataset.frames) == ["Falcons"]

# --- in a real browser ------------------------------------------------------------------------------------------------

@pytest.mark.browser
def test_the_dialog_in_a_browser_speaks_azure_devops(tmp_path: Path, server: AdoTestServer, browser: Any) -> None:
    """The app started with Azure DevOps chosen (PAT in its environment): the open dialog says Azure DevOps,
    offers Closed Date for a date target and not Jira's Resolved, and its Teams tab describes Area Path."""
    data_dir = tmp_path / "browser-data"
    data_dir.mkdir()
    (data_dir / "app_settings.json").write_text(json.dumps({"version": 1, "source": "azure_devops", "azure_devops": {
        "organization_url": server.organization_url, "project": server.project}}))
    app = start_app(data_dir, env={"AZURE_DEVOPS_PAT": server.pat, "JIRA_API_TOKEN": "", "JIRA_PAT": ""})
    try:
        with watched_page(browser, app) as page:
            page.locator("#open-field-mapping-button").click()
            expect(page.locator("#field-mapping-form")).to_be_visible(timeout=TIMEOUT_MS)
            modal = page.locator("#field-mapping-modal")
            expect(modal).to_contain_text("The Azure DevOps fields that describe deployments and incidents.")
            expect(modal).to_contain_text("Fields of the Azure DevOps project Fabrikam")
            page.locator(".mapping-item-dora-deployment_date button.dash-dropdown").click()
            search = page.locator(".dash-dropdown-search")
            search.fill("Closed")
            expect(page.get_by_role("option")).to_have_count(1)
            expect(page.get_by_role("option")).to_contain_text("Closed Date · Microsoft.VSTS.Common.ClosedDate")
            search.fill("Resolved")
            expect(page.get_by_role("option")).to_have_count(0)
            search.press("Escape")
            page.get_by_role("tab", name="Teams").click()
            expect(modal).to_contain_text("Area Path (each area is a team), the project or a custom field.")
            expect(modal).not_to_contain_text("Jira")
    finally:
        stop_app(app)
