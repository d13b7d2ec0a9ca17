"""Azure DevOps as a data source in the settings, the secrets, the source selection, issue links and labels.

No server here: ``test_ado_connection.py`` talks to the test Azure DevOps server over HTTP.
"""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from configuration import secrets as sc
from configuration.logging_config import redact_text
from configuration.settings import (
    chosen_source,
    is_demo_mode,
    load_app_settings,
    merge_with_defaults,
    validate_settings,
)
from data.services.dashboard_service import dashboard_settings, source_label
from data.services.drilldown_service import issue_url, jira_base_url, shown_key
from data.sources import ado_client
from data.sources.ado_client import AzureDevOpsClient
from data.sources.base import UpdateError
from data.sources.demo_source import DemoSource
from data.sources.jira_client import JiraClient
from data.sources.selection import AZURE_DEVOPS_PAT_MISSING, make_source
from data.store.issue_cache import save_cached_issues

ORG = "https://dev.azure.com/contoso"
ISSUE_BLOCK = {"source": "azure_devops",
               "azure_devops": {"organization_url": ORG, "project": "Fabrikam",
                                "wiql_filter": "[System.AreaPath] UNDER 'Fabrikam\\Payments'"}}
PAT = "ado-pat-secret-0123456789"
OTHER_PAT = "env-pat-secret-9876543210"


@pytest.fixture(autouse=True)
def no_environment_pat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(sc.ENV_AZURE_DEVOPS_PAT, raising=False)


def ado_settings(**block: Any) -> dict[str, Any]:
    return merge_with_defaults({"source": "azure_devops", "azure_devops": {**ISSUE_BLOCK["azure_devops"], **block}})


# --- settings -------------------------------------------------------------------------------------------------

def test_the_issues_settings_block_loads_and_chooses_azure_devops(isolated_data_dir: Path) -> None:
    (isolated_data_dir / "app_settings.json").write_text(json.dumps(ISSUE_BLOCK))
    settings = load_app_settings()
    assert chosen_source(settings) == "azure_devops" and not is_demo_mode(settings)
    assert settings["azure_devops"]["wiql_filter"] == "[System.AreaPath] UNDER 'Fabrikam\\Payments'"
    assert settings["jira"]["timeout_seconds"] == 30.0  # the shared limits keep their defaults


def test_an_existing_jira_file_without_source_keeps_working(isolated_data_dir: Path) -> None:
    (isolated_data_dir / "app_settings.json").write_text(json.dumps({"jira": {"url": "https://x.atlassian.net"}}))
    settings = load_app_settings()
    assert settings["source"] == "jira" and chosen_source(settings) == "jira" and not is_demo_mode(settings)
    assert settings["azure_devops"] == {"organization_url": "", "project": "", "wiql_filter": ""}


@pytest.mark.parametrize(("settings", "demo"), [
    ({}, True),                                                             # nothing configured
    ({"jira": {"url": "https://x.atlassian.net"}}, False),                  # Jira chosen by default
    ({"source": "azure_devops", "jira": {"url": "https://x.atlassian.net"}}, True),  # chosen source: nothing
    ({"source": "azure_devops", "azure_devops": {"organization_url": ORG}}, True),   # no project
    ({"source": "azure_devops", "azure_devops": {"project": "Fabrikam"}}, True),     # no organization URL
    ({"source": "azure_devops", "azure_devops": {"organization_url": ORG, "project": " "}}, True),
    (ISSUE_BLOCK, False),
    ({"azure_devops": ISSUE_BLOCK["azure_devops"]}, True),                  # configured but Jira (empty) chosen
], ids=["defaults", "jira", "ado chosen, only jira set", "no project", "no url", "blank project", "ado",
        "ado set, jira chosen"])
def test_demo_mode_means_the_chosen_source_is_not_configured(settings: dict, demo: bool) -> None:
    assert is_demo_mode(merge_with_defaults(settings)) is demo


@pytest.mark.parametrize(("change", "expected"), [
    ({"source": "gitlab"}, 'source must be "jira" or "azure_devops" (got \'gitlab\')'),
    ({"azure_devops": {"organization_url": "dev.azure.com/contoso"}},
     "azure_devops.organization_url must start with https:// or http:// (got 'dev.azure.com/contoso')"),
    ({"azure_devops": {"organization_url": 42}}, "azure_devops.organization_url must be text (got 42)"),
    ({"azure_devops": {"organization_url": "https://"}},
     "azure_devops.organization_url must name a server, such as https://dev.azure.com/your-organization "
     "(got 'https://')"),
    ({"azure_devops": {"project": ["Fabrikam"]}}, "azure_devops.project must be text (got ['Fabrikam'])"),
    ({"azure_devops": {"wiql_filter": None}}, "azure_devops.wiql_filter must be text (got None)"),
    ({"azure_devops": {"project": ""}}, "azure_devops.project must name the Azure DevOps project"),
    ({"azure_devops": {"pat": PAT}}, "azure_devops.pat must not be stored in app_settings.json: set "
                                     "AZURE_DEVOPS_PAT"),
    ({"azure_devops": "contoso"}, "azure_devops must be an object (got 'contoso')"),
])
def test_each_bad_value_is_named_in_plain_words(change: dict, expected: str) -> None:
    settings = merge_with_defaults(ISSUE_BLOCK)
    for key, value in change.items():
        settings[key] = {**settings[key], **value} if isinstance(value, dict) else value
    errors = validate_settings(settings)
    assert len(errors) == 1 and errors[0].startswith(expected), errors
    assert PAT not in errors[0]


def test_an_organization_url_with_a_password_is_refused_without_repeating_it() -> None:
    settings = ado_settings(organization_url="https://me:hunter2-password@dev.azure.com/contoso")
    (error,) = validate_settings(settings)
    assert error.startswith("azure_devops.organization_url must not contain a user name or password")
    assert "hunter2" not in error and "AZURE_DEVOPS_PAT" in error


def test_an_empty_project_is_fine_while_jira_is_chosen() -> None:
    assert validate_settings(merge_with_defaults({"azure_devops": {"organization_url": ORG}})) == []


# --- secrets ----------------------------------------------------------------------------------------------------

def test_a_saved_pat_is_bound_to_the_organization_urls_origin(isolated_data_dir: Path) -> None:
    path = sc.save_azure_devops_pat(organization_url=ORG + "/", pat=PAT)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    stored = json.loads(path.read_text())
    assert stored == {"azure_devops_pat": PAT, "azure_devops_pat_origin": "https://dev.azure.com"}
    same_site = sc.load_azure_devops_credentials(ado_settings(organization_url="https://DEV.azure.com:443/fabrikam"))
    assert (same_site.pat, same_site.source, same_site.origin) == (PAT, "secrets file", "https://dev.azure.com")
    other = sc.load_azure_devops_credentials(ado_settings(organization_url="https://ado.evil.example/contoso"))
    assert (other.pat, other.source, other.withheld) == ("", "none", "https://dev.azure.com")
    assert PAT not in repr(same_site)


def test_the_environment_pat_comes_first_and_applies_to_any_url(monkeypatch: pytest.MonkeyPatch) -> None:
    sc.save_azure_devops_pat(organization_url=ORG, pat=PAT)
    monkeypatch.setenv(sc.ENV_AZURE_DEVOPS_PAT, OTHER_PAT)
    for url in (ORG, "https://tfs.example.com/tfs/Default"):
        credentials = sc.load_azure_devops_credentials(ado_settings(organization_url=url))
        assert (credentials.pat, credentials.source) == (OTHER_PAT, "environment")


def test_a_pat_saved_without_its_site_is_withheld(isolated_data_dir: Path) -> None:
    (isolated_data_dir / ".jira_secrets.json").write_text(json.dumps({"azure_devops_pat": PAT}))
    credentials = sc.load_azure_devops_credentials(ado_settings())
    assert credentials.pat == "" and credentials.withheld == sc.UNKNOWN_ORIGIN


def test_jira_and_azure_devops_tokens_live_side_by_side() -> None:
    sc.save_credentials(url="https://x.atlassian.net", api_token="jira-token-0123456789", email="me@example.com")
    sc.save_azure_devops_pat(organization_url=ORG, pat=PAT)
    jira_settings = merge_with_defaults({"jira": {"url": "https://x.atlassian.net"}, **ISSUE_BLOCK, "source": "jira"})
    assert sc.load_credentials(jira_settings) == sc.load_jira_credentials(jira_settings)
    assert sc.load_jira_credentials(jira_settings).api_token == "jira-token-0123456789"
    assert sc.load_credentials(ado_settings()).pat == PAT  # the chosen source's credentials
    sc.save_azure_devops_pat(organization_url=ORG, pat="")  # clearing the PAT keeps the Jira token
    assert sc.load_jira_credentials(jira_settings).api_token == "jira-token-0123456789"
    assert sc.load_azure_devops_credentials(ado_settings()).withheld is None


def test_the_pat_and_its_basic_credentials_never_reach_a_log_line() -> None:
    sc.save_azure_devops_pat(organization_url=ORG, pat=PAT)
    basic = base64.b64encode(f":{PAT}".encode()).decode()
    line = redact_text(f"token {PAT} header {basic} raw")
    assert PAT not in line and basic not in line


# --- make_source ---------------------------------------------------------------------------------------------

def test_make_source_builds_the_azure_devops_client_with_the_shared_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[tuple[tuple, dict]] = []

    class Recorder:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            built.append((args, kwargs))

    settings = ado_settings(organization_url=ORG + "/")
    settings["jira"].update(timeout_seconds=12.5, max_retries=2, requests_per_second=3.0, fetch_budget_seconds=900)
    real = make_source(settings, sc.AzureDevOpsCredentials(PAT, "environment"))
    assert isinstance(real, AzureDevOpsClient) and PAT not in repr(real)
    monkeypatch.setattr("data.sources.selection.AzureDevOpsClient", Recorder)
    make_source(settings, sc.AzureDevOpsCredentials(PAT, "environment"))
    assert built == [((ORG, "Fabrikam"), {"pat": PAT, "timeout": 12.5, "max_retries": 2,
                                          "requests_per_second": 3.0, "fetch_budget": 900.0})]
    assert ado_client.AzureDevOpsClient is AzureDevOpsClient  # the client module itself is untouched


def test_make_source_without_a_pat_says_where_to_put_one() -> None:
    assert AZURE_DEVOPS_PAT_MISSING == ("Azure DevOps needs a personal access token; set AZURE_DEVOPS_PAT in the "
                                        "environment or save it in the Data source dialog")
    with pytest.raises(UpdateError) as raised:
        make_source(ado_settings(), sc.AzureDevOpsCredentials())
    assert str(raised.value) == AZURE_DEVOPS_PAT_MISSING
    with pytest.raises(UpdateError, match="personal access token"):  # Jira credentials are no PAT
        make_source(ado_settings(), sc.JiraCredentials("me@example.com", "jira-token-0123456789"))


def test_make_source_never_hands_a_saved_pat_to_another_site() -> None:
    sc.save_azure_devops_pat(organization_url=ORG, pat=PAT)
    elsewhere = ado_settings(organization_url="https://ado.evil.example/contoso")
    with pytest.raises(UpdateError, match=r"only sent to the site it was saved for \(https://dev.azure.com\)"):
        make_source(elsewhere, sc.load_credentials(elsewhere))
    forged = sc.AzureDevOpsCredentials(PAT, "secrets file", origin="https://dev.azure.com")
    with pytest.raises(UpdateError, match="enter the personal access token again"):
        make_source(elsewhere, forged)


def test_make_source_picks_by_the_chosen_source() -> None:
    jira = merge_with_defaults({"jira": {"url": "https://x.atlassian.net"},
                                "azure_devops": ISSUE_BLOCK["azure_devops"]})
    assert isinstance(make_source(jira, sc.JiraCredentials("me@example.com", "jira-token-0123456789")), JiraClient)
    assert isinstance(make_source(ado_settings(project=""), sc.AzureDevOpsCredentials(PAT, "form")), DemoSource)


# --- links and labels --------------------------------------------------------------------------------------------

def test_drilldown_links_open_the_work_item_and_keys_show_as_hash_ids() -> None:
    base = jira_base_url(ado_settings(project="Fabrikam Fiber"))
    assert base == "https://dev.azure.com/contoso/Fabrikam%20Fiber/_workitems/edit"
    assert issue_url(base, "1234") == "https://dev.azure.com/contoso/Fabrikam%20Fiber/_workitems/edit/1234"
    assert issue_url(base, "#1234") == issue_url(base, "1234")
    assert shown_key(base, "1234") == "#1234" and shown_key(base, "#7") == "#7"
    jira = "https://x.atlassian.net"
    assert shown_key(jira, "ABC-1") == "ABC-1" and issue_url(jira, "ABC-1") == jira + "/browse/ABC-1"
    assert jira_base_url(ado_settings(project="")) is None  # not configured: the demo, whose keys exist nowhere


def test_the_navbar_names_the_organization_and_project() -> None:
    assert source_label(ado_settings(organization_url=ORG + "/")) == \
        "Azure DevOps · https://dev.azure.com/contoso/Fabrikam"
    assert source_label(ado_settings(organization_url="")) == "Demo data"


def test_a_broken_settings_file_keeps_cached_work_items_azure_devops_data(isolated_data_dir: Path) -> None:
    """While app_settings.json is unusable (and no last good settings are known) the cache's own source stands
    in: cached work items stay Azure DevOps data, not the demo."""
    filter_text = ISSUE_BLOCK["azure_devops"]["wiql_filter"]
    save_cached_issues([{"id": "7", "key": "7", "fields": {"summary": "x", "status": {"name": "Active"}}}],
                       {"source": "azure_devops", "url": ORG, "deployment": "Fabrikam", "jql": filter_text,
                        "fields": ["summary", "status"]})
    (isolated_data_dir / "app_settings.json").write_text("{not json")
    stand_in = dashboard_settings()
    assert stand_in.read_only
    assert stand_in.settings["azure_devops"] == {"organization_url": ORG, "project": "Fabrikam",
                                                 "wiql_filter": filter_text}
    assert source_label(stand_in.settings) == "Azure DevOps · https://dev.azure.com/contoso/Fabrikam"
