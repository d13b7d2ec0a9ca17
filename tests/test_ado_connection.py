"""The Data source dialog's Azure DevOps side, the mapping dialog's Azure DevOps fields and ``cli.py fetch``,
against the test Azure DevOps server over HTTP with real files in the per-test data directory."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import dash
import pytest
from plotly.utils import PlotlyJSONEncoder

import cli
from callbacks.azure_devops_settings import (
    fill_azure_devops_side,
    run_azure_devops_test,
    save_azure_devops_settings,
    show_source,
)
from configuration.secrets import ENV_AZURE_DEVOPS_PAT
from configuration.settings import load_app_settings, replace_field_mappings
from data.services.azure_devops_connection import (
    FIX_FIELDS,
    AzureDevOpsInput,
    check_azure_devops_connection,
    reenter_pat_message,
    save_azure_devops_connection,
)
from data.services.connection_service import FULL_FETCH_NOTE, ConnectionInput, save_connection, use_demo_data
from data.services.mapping_service import (
    clear_fields_cache,
    describe_source,
    load_mapping_form,
    save_mapping_form,
    team_field_options,
)
from data.store.issue_cache import load_fetch_meta, save_cached_issues
from tests.ado_server import AdoTestServer
from tests.ado_server.builders import make_work_items
from tests.ado_server.fixtures import AdoServerFactory, ado_server_factory  # noqa: F401  (fixture, by name)
from tests.conftest import PROJECT_ROOT
from tests.jira_server.app import JiraTestServer
from tests.jira_server.builders import make_issues
from tests.jira_server.fixtures import ServerFactory, jira_server_factory  # noqa: F401  (fixture, by name)
from ui.page import HIDDEN, SHOWN

PAYMENTS = "[System.AreaPath] UNDER 'Fabrikam\\Payments'"
WRONG_PAT = "not-the-pat-0123456789"

pytestmark = pytest.mark.usefixtures("restore_root_logging")


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_AZURE_DEVOPS_PAT, raising=False)
    clear_fields_cache()


@pytest.fixture
def server(ado_server_factory: AdoServerFactory) -> AdoTestServer:  # noqa: F811
    """Eight work items, ids 1–8; the builders put item n in area AREAS[n % 4] (Payments, Mobile, Fabrikam,
    Payments\\Cards), so UNDER 'Fabrikam\\Payments' matches ids 3, 4, 7 and 8: four items."""
    return ado_server_factory(make_work_items(8, revisions=5))


def _form(server: AdoTestServer, **changes: str) -> AzureDevOpsInput:
    values = {"organization_url": server.organization_url, "project": server.project, "wiql_filter": PAYMENTS,
              "pat": server.pat, **changes}
    return AzureDevOpsInput(**values)


def _text(value: Any) -> str:
    return json.dumps(value, cls=PlotlyJSONEncoder, ensure_ascii=False)


def _seed_issue_cache() -> None:
    issue = {"id": "1", "key": "DEMO-1", "fields": {"summary": "x", "status": {"name": "Done"}}}
    save_cached_issues([issue], {"source": "demo", "url": "", "deployment": "", "jql": "project = DEMO",
                                 "fields": ["summary", "status"]})
    assert load_fetch_meta() is not None


# --- Test connection ---------------------------------------------------------------------------------------------

def test_test_connection_names_the_project_and_counts_the_filtered_items(server: AdoTestServer) -> None:
    result = check_azure_devops_connection(_form(server), load_app_settings())
    assert result.ok, result.message
    assert result.message == "Connected to the Azure DevOps project Fabrikam. The filter matches 4 work items."
    whole = check_azure_devops_connection(_form(server, wiql_filter=""), load_app_settings())
    assert whole.message.endswith("Without a filter, the whole project: 8 work items.")
    assert not (Path(os.environ["DASHBOARD_DATA_DIR"]) / "app_settings.json").exists()  # a test saves nothing


@pytest.mark.parametrize("bad_auth", ["401", "203"])
def test_a_wrong_pat_is_said_plainly_and_never_echoed(ado_server_factory: AdoServerFactory,  # noqa: F811
                                                      bad_auth: str) -> None:
    server = ado_server_factory(make_work_items(2), bad_auth=bad_auth)
    result = check_azure_devops_connection(_form(server, pat=WRONG_PAT), load_app_settings())
    assert not result.ok and "personal access token" in result.message and "AZURE_DEVOPS_PAT" in result.message
    assert WRONG_PAT not in repr(result)


def test_a_filter_azure_devops_refuses_marks_the_filter(server: AdoTestServer) -> None:
    result = check_azure_devops_connection(_form(server, wiql_filter="[System.State] ~~ 'x'"), load_app_settings())
    assert not result.ok and "WIQL filter failed" in result.message
    assert result.message.startswith("Connected to the Azure DevOps project Fabrikam.")
    assert set(result.errors) == {"wiql_filter"}


def test_missing_values_are_marked_before_any_request(server: AdoTestServer) -> None:
    result = check_azure_devops_connection(_form(server, organization_url="dev.azure.com/contoso", project=" "),
                                           load_app_settings())
    assert set(result.errors) == {"organization_url", "project"} and "https://" in result.errors["organization_url"]
    no_pat = check_azure_devops_connection(_form(server, pat=""), load_app_settings())
    assert no_pat.message == "Enter a personal access token (or set AZURE_DEVOPS_PAT in the environment)"
    assert server.requests == []


# --- Save ---------------------------------------------------------------------------------------------------------

def test_save_chooses_azure_devops_stores_the_pat_apart_and_clears_the_cache(isolated_data_dir: Path,
                                                                             server: AdoTestServer) -> None:
    _seed_issue_cache()
    result = save_azure_devops_connection(_form(server))
    assert result.ok and result.full_fetch_next
    assert result.message.startswith(f"Azure DevOps settings saved. {FULL_FETCH_NOTE} Lists still holding the Jira "
                                     "defaults")
    settings = load_app_settings()
    assert settings["source"] == "azure_devops"
    assert settings["azure_devops"] == {"organization_url": server.organization_url, "project": "Fabrikam",
                                        "wiql_filter": PAYMENTS}
    assert load_fetch_meta() is None
    secrets = isolated_data_dir / ".jira_secrets.json"
    assert json.loads(secrets.read_text())["azure_devops_pat"] == server.pat
    assert stat.S_IMODE(os.stat(secrets).st_mode) == 0o600
    assert server.pat not in (isolated_data_dir / "app_settings.json").read_text()


@pytest.mark.parametrize(("change", "clears"), [
    ({}, False),
    ({"wiql_filter": "[System.WorkItemType] = 'Bug'"}, True),
    ({"project": "Other"}, True),
], ids=["same values", "new filter", "new project"])
def test_only_a_change_of_what_is_fetched_clears_the_cache(server: AdoTestServer, change: dict, clears: bool) -> None:
    assert save_azure_devops_connection(_form(server)).ok
    _seed_issue_cache()
    result = save_azure_devops_connection(_form(server, pat="", **change))
    assert result.ok and result.full_fetch_next is clears
    assert (load_fetch_meta() is None) is clears
    assert (FULL_FETCH_NOTE in result.message) is clears


def test_switching_between_jira_and_azure_devops_clears_the_cache_each_time(
        server: AdoTestServer, jira_server_factory: ServerFactory) -> None:  # noqa: F811
    jira: JiraTestServer = jira_server_factory(make_issues(2))
    assert save_connection(ConnectionInput(jira.url, "cloud", "user@example.com", "secret-token-123", "",
                                           "project = PROJ")).ok
    _seed_issue_cache()
    assert save_azure_devops_connection(_form(server, pat="")).full_fetch_next  # the PAT may come later
    assert load_app_settings()["jira"]["url"] == jira.url  # the Jira settings stay for switching back
    _seed_issue_cache()
    back = save_connection(ConnectionInput(jira.url, "cloud", "user@example.com", "", "", "project = PROJ"))
    assert back.ok and back.full_fetch_next and load_app_settings()["source"] == "jira"
    assert load_fetch_meta() is None


def test_a_saved_pat_is_only_sent_to_its_site(ado_server_factory: AdoServerFactory,  # noqa: F811
                                              server: AdoTestServer, isolated_data_dir: Path) -> None:
    attacker = ado_server_factory(make_work_items(1), pat=server.pat)  # would accept it: requests answer 200
    assert save_azure_devops_connection(_form(server)).ok
    before = {name: (isolated_data_dir / name).read_bytes() for name in ("app_settings.json", ".jira_secrets.json")}
    moved = _form(server, organization_url=attacker.organization_url, pat="")
    assert check_azure_devops_connection(moved, load_app_settings()).message == reenter_pat_message()
    saved = save_azure_devops_connection(moved)
    assert (saved.ok, saved.message) == (False, reenter_pat_message())
    assert {name: (isolated_data_dir / name).read_bytes() for name in before} == before
    assert attacker.requests == []
    assert reenter_pat_message() == ("Enter the personal access token again: a saved token is only sent to the "
                                     "site it was saved for")


def test_an_invalid_save_writes_nothing(isolated_data_dir: Path, server: AdoTestServer) -> None:
    result = save_azure_devops_connection(_form(server, organization_url="", project=""))
    assert (result.ok, result.message, set(result.errors)) == (False, FIX_FIELDS, {"organization_url", "project"})
    assert not (isolated_data_dir / "app_settings.json").exists()
    assert not (isolated_data_dir / ".jira_secrets.json").exists()


def test_use_demo_data_after_azure_devops_keeps_its_settings(server: AdoTestServer) -> None:
    assert save_azure_devops_connection(_form(server)).ok
    assert use_demo_data().ok
    settings = load_app_settings()
    assert settings["source"] == "jira" and settings["azure_devops"]["project"] == "Fabrikam"


# --- the callbacks --------------------------------------------------------------------------------------------------

def test_the_dialog_opens_on_the_chosen_source_without_the_pat(server: AdoTestServer) -> None:
    save_azure_devops_settings(True, server.organization_url, "Fabrikam", PAYMENTS, server.pat)
    opened = fill_azure_devops_side(True)
    assert {key: opened[key] for key in ("source", "organization_url", "project", "wiql_filter", "pat")} == {
        "source": "azure_devops", "organization_url": server.organization_url, "project": "Fabrikam",
        "wiql_filter": PAYMENTS, "pat": ""}
    assert opened["pat_status"] == "A personal access token is set (from the secrets file): ••••••••89"
    assert server.pat not in _text(opened)
    assert show_source("azure_devops") == {"jira_area": HIDDEN, "jira_save": HIDDEN, "azure_devops_area": SHOWN,
                                           "azure_devops_save": SHOWN}
    assert show_source("jira")["jira_area"] == SHOWN and show_source(None)["azure_devops_save"] == HIDDEN
    with pytest.raises(dash.exceptions.PreventUpdate):
        fill_azure_devops_side(False)


def test_the_save_callback_closes_or_marks_the_inputs(server: AdoTestServer) -> None:
    bad = save_azure_devops_settings(True, "contoso", "", "", WRONG_PAT)
    assert (bad["message"], bad["message_open"], bad["modal_open"]) == (FIX_FIELDS, True, dash.no_update)
    assert bad["organization_url_invalid"] and bad["project_invalid"] and not bad["wiql_filter_invalid"]
    good = save_azure_devops_settings(True, server.organization_url, "Fabrikam", PAYMENTS, server.pat)
    assert (good["modal_open"], good["pat"], good["message_open"]) == (False, "", False)
    assert "Azure DevOps settings saved." in _text(good["toasts"]) and server.pat not in _text(good)
    result = _text(run_azure_devops_test(server.organization_url, "Fabrikam", PAYMENTS, WRONG_PAT))
    assert "alert-danger" not in result and "danger" in result and WRONG_PAT not in result


# --- the mapping dialog ---------------------------------------------------------------------------------------------

def test_the_mapping_dialog_lists_azure_devops_fields_and_checks_their_types(server: AdoTestServer) -> None:
    assert save_azure_devops_connection(_form(server)).ok
    settings = load_app_settings()
    assert describe_source(settings) == f"Fields of the Azure DevOps project Fabrikam at {server.organization_url}"
    form = load_mapping_form(settings)
    assert form.error is None and form.save_refused is None
    dates = {option["value"]: option["label"] for option in form.options["dora.deployment_date"]}
    assert "Custom.DeploymentDate" in dates and "Deployment Date" in dates["Custom.DeploymentDate"]
    assert "System.Title" not in dates  # a text field is no date
    teams = [option["value"] for option in form.options["team_field"]]
    assert teams[:2] == ["area_path", "project"] and "components" not in teams
    assert {"Custom.Environment", "Custom.Severity"} <= set(teams)
    values = {**form.values, "dora.deployment_date": "System.Title"}
    refused = save_mapping_form(values, settings)
    assert not refused.saved and "Deployment Date needs a date or date-time field" in refused.errors[
        "dora.deployment_date"]
    values.update({"dora.deployment_date": "Custom.DeploymentDate", "team_field": "area_path"})
    assert save_mapping_form(values, settings).saved
    saved = load_app_settings()["dora_flow_config"]
    assert saved["field_mappings"]["dora"]["deployment_date"] == "Custom.DeploymentDate"
    assert saved["team_field"] == "area_path"


def test_the_team_field_choices_of_each_source() -> None:
    fields = [{"field_id": "area_path", "field_name": "Area Path", "field_type": "string"},
              {"field_id": "Custom.Squad", "field_name": "Squad", "field_type": "option"},
              {"field_id": "customfield_1", "field_name": "Team", "field_type": "option"}]
    assert [o["value"] for o in team_field_options(fields, "azure_devops")] == ["area_path", "project", "Custom.Squad"]
    assert [o["value"] for o in team_field_options(fields)] == ["project", "components", "labels", "customfield_1"]


def test_saved_jira_mappings_are_kept_and_the_message_says_to_check_them(server: AdoTestServer) -> None:
    replace_field_mappings({"field_mappings": {"dora": {"deployment_date": "customfield_10100"}, "flow": {}}})
    result = save_azure_devops_connection(_form(server))
    assert result.message.endswith("Your saved field mappings were kept: check them against the Azure DevOps "
                                   "fields in Configure Field Mappings.")


# --- cli.py fetch ---------------------------------------------------------------------------------------------------

def run_cli(*args: str, pat: str | None) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("JIRA_", "AZURE_DEVOPS_"))}
    if pat is not None:
        env[ENV_AZURE_DEVOPS_PAT] = pat
    return subprocess.run([sys.executable, str(PROJECT_ROOT / "cli.py"), *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def _settings_file(folder: Path, server: AdoTestServer | None, **block: str) -> Path:
    path = folder / "settings.json"
    values = {"organization_url": server.organization_url if server else "", "project": "Fabrikam", **block}
    path.write_text(json.dumps({"source": "azure_devops", "azure_devops": values}))
    return path


def test_cli_fetch_reads_azure_devops_with_the_environment_pat(tmp_path: Path, server: AdoTestServer) -> None:
    output = tmp_path / "issues.json"
    result = run_cli("fetch", "--settings", str(_settings_file(tmp_path, server, wiql_filter=PAYMENTS)),
                     "--output", str(output), pat=server.pat)
    assert result.returncode == 0, result.stderr
    keys = sorted(issue["key"] for issue in json.loads(output.read_text())["issues"])
    assert keys == ["3", "4", "7", "8"]  # the four Payments items (see the server fixture)
    assert load_fetch_meta()["source"] == "azure_devops"
    assert server.pat not in result.stdout + result.stderr


def test_cli_fetch_without_a_pat_says_where_to_put_one_and_sends_nothing(tmp_path: Path,
                                                                          server: AdoTestServer) -> None:
    result = run_cli("fetch", "--settings", str(_settings_file(tmp_path, server)), pat=None)
    assert result.returncode == 1
    # whole and readable: the log redaction, which filters this line too, leaves it alone
    assert result.stderr.strip() == ("error: Azure DevOps needs a personal access token; set AZURE_DEVOPS_PAT in "
                                     "the environment or save it in the Data source dialog")
    assert server.requests == []


def test_cli_fetch_with_no_source_configured_says_how_to_configure_either(tmp_path: Path) -> None:
    result = run_cli("fetch", "--settings", str(_settings_file(tmp_path, None)), pat=None)
    assert result.returncode == 2 and result.stderr.strip() == f"error: {cli.NO_SOURCE}"
    for needed in ("Data source dialog", "jira.url", "JIRA_API_TOKEN", '"azure_devops"',
                   "azure_devops.organization_url", "azure_devops.project", "AZURE_DEVOPS_PAT", "`cli.py demo"):
        assert needed in cli.NO_SOURCE


def test_cli_fetch_without_a_jira_pat_keeps_its_line_readable(tmp_path: Path) -> None:
    """The redaction of "token: value" filters the CLI's error line too; the missing-token line must survive it."""
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"jira": {"url": "https://jira.example.com", "deployment": "datacenter",
                                             "jql": "project = A"}}))
    result = run_cli("fetch", "--settings", str(settings), pat=None)
    assert result.returncode == 1
    assert result.stderr.strip() == ("error: Jira Data Center needs a personal access token; set JIRA_PAT in the "
                                     "environment or save it in the Data source dialog")
