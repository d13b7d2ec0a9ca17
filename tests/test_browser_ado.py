"""Azure DevOps in a real Chromium: configure it in the Data source dialog against the test Azure DevOps server,
Test connection, Save, Update Data, and read the nine cards and a drill-down linking to the work items.

The server holds the demo organisation's issues rewritten as Azure DevOps work items (fields by reference
name, the status history as revisions); the app starts with only the field mappings saved (reference names)
and no credentials in its environment: the PAT is typed into the dialog. Any console or page error fails.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from data.sources import demo_fields as demo
from data.sources.demo_data import generate_demo_issues
from tests.ado_server import AdoTestServer
from tests.ado_server.builders import DEFAULT_FIELDS, PROJECT
from tests.ado_server.store import ado_time
from tests.conftest import RunningApp, expect_nine_values, start_app, stop_app, watched_page
from ui import ids

pytestmark = pytest.mark.browser

PAT = "browser-ado-pat-0451"
TIMEOUT_MS = 60_000
# The demo's custom fields as Azure DevOps fields: (Jira id, reference name, display name, Azure DevOps type).
CUSTOM_FIELDS = (
    (demo.DEPLOYMENT_DATE, "Custom.DeployDate", "Deploy Date", "dateTime"),
    (demo.TARGET_ENVIRONMENT, "Custom.TargetEnvironment", "Target Environment", "picklistString"),
    (demo.CODE_COMMIT_DATE, "Custom.CodeCommitDate", "Code Commit Date", "dateTime"),
    (demo.DEPLOYED_TO_PRODUCTION_DATE, "Custom.DeployedToProductionDate", "Deployed to Production", "dateTime"),
    (demo.INCIDENT_DETECTED_AT, "Custom.IncidentDetectedAt", "Incident Detected At", "dateTime"),
    (demo.INCIDENT_RESOLVED_AT, "Custom.IncidentResolvedAt", "Incident Resolved At", "dateTime"),
    (demo.DEPLOYMENT_SUCCESSFUL, "Custom.DeploymentSuccessful", "Deployment Successful", "picklistString"),
    (demo.PRODUCTION_IMPACT, "Custom.ProductionImpact", "Production Impact", "picklistString"),
    (demo.WORK_TYPE, "Custom.WorkType", "Work Type", "picklistString"),
)
REFERENCE = {jira_id: reference for jira_id, reference, _, _ in CUSTOM_FIELDS}
DATE_FIELDS = {jira_id for jira_id, _, _, kind in CUSTOM_FIELDS if kind == "dateTime"}


def _moment(jira_time: Any) -> datetime | None:
    """A demo timestamp; None for the few dates the demo makes unreadable on purpose (Azure DevOps has none)."""
    try:
        return datetime.strptime(jira_time, "%Y-%m-%dT%H:%M:%S.%f%z")
    except (TypeError, ValueError):
        return None


def _ado_time(jira_time: Any) -> str | None:
    moment = _moment(jira_time)
    return ado_time(moment) if moment is not None else None


def _field_definition(reference: str, name: str, field_type: str) -> dict[str, Any]:
    return {"name": name, "referenceName": reference, "type": field_type, "usage": "workItem", "readOnly": False,
            "isIdentity": False, "isPicklist": field_type.startswith("picklist")}


def as_work_item(issue: dict[str, Any]) -> dict[str, Any]:
    """A demo issue as an Azure DevOps work item: revision 1 holds the fields (options as their text, dates
    as Azure DevOps writes them, the team as an area under the project) and the first status; each later
    status change of the changelog is one revision at its time."""
    fields = issue["fields"]
    changes = sorted(((_moment(history["created"]), item["fromString"], item["toString"])
                      for history in issue["changelog"]["histories"] for item in history["items"]
                      if item["field"] == "status" and _moment(history["created"]) is not None),
                     key=lambda change: change[0])
    team = (fields.get(demo.TEAM) or {}).get("value")
    first: dict[str, Any] = {
        "System.Title": fields["summary"], "System.WorkItemType": fields["issuetype"]["name"],
        "System.State": changes[0][1] if changes else fields["status"]["name"], "System.TeamProject": PROJECT,
        "System.AreaPath": f"{PROJECT}\\{team}" if team else PROJECT,
        "System.CreatedDate": _ado_time(fields["created"]), "System.ChangedDate": _ado_time(fields["created"]),
    }
    if _ado_time(fields.get("resolutiondate")):
        first["Microsoft.VSTS.Common.ClosedDate"] = _ado_time(fields["resolutiondate"])
    for jira_id, reference in REFERENCE.items():
        value = fields.get(jira_id)
        value = value.get("value") if isinstance(value, dict) else value
        if value is not None:
            value = _ado_time(value) if jira_id in DATE_FIELDS else value
        if value is not None:
            first[reference] = value
    later = [{"System.ChangedDate": ado_time(moment), "System.State": to} for moment, _, to in changes]
    return {"id": int(issue["id"]), "revisions": [first, *later]}


@pytest.fixture(scope="module")
def ado() -> Iterator[AdoTestServer]:
    anchor = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    items = [as_work_item(issue) for issue in generate_demo_issues(300, anchor=anchor, seed=7)]
    fields = [*DEFAULT_FIELDS, *(_field_definition(ref, name, kind) for _, ref, name, kind in CUSTOM_FIELDS)]
    server = AdoTestServer(items, pat=PAT, fields=fields)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def ado_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """The app with the demo's mappings saved in reference names, no data source and no token."""
    data_dir = tmp_path_factory.mktemp("browser-ado-data")
    config = copy.deepcopy(demo.DEMO_SETTINGS_OVERLAY)
    for group in config["field_mappings"].values():
        for key, field_id in group.items():
            group[key] = REFERENCE.get(field_id, field_id)
    config.update(team_field="area_path", last_updated=datetime.now(UTC).isoformat())
    (data_dir / "app_settings.json").write_text(json.dumps({"version": 1, "dora_flow_config": config}))
    app = start_app(data_dir, env={"AZURE_DEVOPS_PAT": "", "JIRA_API_TOKEN": "", "JIRA_PAT": ""})
    yield app
    stop_app(app)


def test_azure_devops_configured_in_the_dialog_fills_the_cards_and_links_the_work_items(
        browser: Any, ado_app: RunningApp, ado: AdoTestServer) -> None:
    with watched_page(browser, ado_app) as page:
        _configure_in_the_dialog(page, ado)
        expect(page.locator(f"#{ids.Navbar.DATA_SOURCE}")).to_contain_text(
            f"Azure DevOps · {ado.organization_url}/Fabrikam", timeout=TIMEOUT_MS)
        page.locator(f"#{ids.Navbar.UPDATE_BUTTON}").click()
        toast = page.locator("#toast-container .toast", has_text="Data updated")
        expect(toast).to_be_visible(timeout=TIMEOUT_MS)
        values = expect_nine_values(page, TIMEOUT_MS)
        assert len(values) == 9
        assert ado.count("wiql") >= 1 and ado.count("workitemsbatch") >= 1
        # at 1440 px, with the team selector and "Last updated" beside it, the source still shows some words
        # (it once shrank to nothing); the whole text is in its title
        shown = page.locator(f"#{ids.Navbar.DATA_SOURCE}").bounding_box()
        assert shown is not None and shown["width"] >= 80, shown

        button = json.dumps(ids.drilldown_button("deployment_frequency"), sort_keys=True, separators=(",", ":"))
        page.locator(f"[id='{button}']").click()
        link = page.locator(f"#{ids.Drilldown.TABLE} td[data-dash-column='key'] a").first
        expect(link).to_be_visible(timeout=TIMEOUT_MS)
        item_id = re.fullmatch(r"#(\d+)", link.inner_text().strip())
        assert item_id, link.inner_text()  # shown as #1234
        assert link.get_attribute("href") == f"{ado.organization_url}/Fabrikam/_workitems/edit/{item_id[1]}"
        assert PAT not in page.content()
    settings = json.loads((ado_app.data_dir / "app_settings.json").read_text())
    assert settings["source"] == "azure_devops" and PAT not in json.dumps(settings)


def _configure_in_the_dialog(page: Page, ado: AdoTestServer) -> None:
    """Open Data source, choose Azure DevOps, type its values and the PAT, Test connection, then Save."""
    expect(page.locator(".metric-card-loading")).to_have_count(0, timeout=TIMEOUT_MS)
    page.locator(f"#{ids.Navbar.OPEN_JIRA_SETTINGS}").click()
    expect(page.locator(f"#{ids.JiraSettings.MODAL}")).to_be_visible()
    expect(page.locator(f"#{ids.JiraSettings.MODAL} .modal-title")).to_have_text("Data source")
    page.locator(f"#{ids.AzureDevOpsSettings.SOURCE}").get_by_text("Azure DevOps").click()
    expect(page.locator(f"#{ids.JiraSettings.URL}")).to_be_hidden()
    page.locator(f"#{ids.AzureDevOpsSettings.ORGANIZATION_URL}").fill(ado.organization_url)
    page.locator(f"#{ids.AzureDevOpsSettings.PROJECT}").fill(ado.project)
    page.locator(f"#{ids.AzureDevOpsSettings.PAT}").fill(PAT)
    page.locator(f"#{ids.AzureDevOpsSettings.TEST_BUTTON}").click()
    expect(page.locator(f"#{ids.AzureDevOpsSettings.TEST_RESULT}")).to_contain_text(
        "Connected to the Azure DevOps project Fabrikam. Without a filter, the whole project: 300 work items.",
        timeout=TIMEOUT_MS)
    page.locator(f"#{ids.AzureDevOpsSettings.SAVE_BUTTON}").click()
    expect(page.locator(f"#{ids.JiraSettings.MODAL}")).to_be_hidden(timeout=TIMEOUT_MS)
    expect(page.locator("#toast-container .toast", has_text="Azure DevOps settings saved")).to_be_visible()
