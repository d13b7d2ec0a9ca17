"""The Jira settings logic against the project's test Jira server and real files in the per-test data dir."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from configuration.settings import load_app_settings, replace_field_mappings
from data.services.connection_service import (
    FULL_FETCH_NOTE,
    ConnectionInput,
    check_connection,
    load_connection_form,
    save_connection,
    use_demo_data,
)
from data.sources.demo_fields import DEMO_FIELD_MAPPINGS
from data.store.issue_cache import load_fetch_meta, save_cached_issues
from tests.conftest import free_port
from tests.jira_server.app import JiraTestServer
from tests.jira_server.builders import make_issues
from tests.jira_server.fixtures import ServerFactory, jira_server_factory  # noqa: F401  (fixture, by name)

GOOD_TOKEN = "secret-token-123"  # the test server's default API token
WRONG_TOKEN = "wrong-token-0123456789"
EMAIL = "user@example.com"


@pytest.fixture
def server(jira_server_factory: ServerFactory) -> JiraTestServer:  # noqa: F811
    """A Jira Cloud test server with five PROJ issues; its API token is ``GOOD_TOKEN``."""
    return jira_server_factory(make_issues(5))


def _form(server: JiraTestServer, **changes: str) -> ConnectionInput:
    values = {"url": server.url, "deployment": "cloud", "email": EMAIL, "api_token": GOOD_TOKEN, "pat": "",
              "jql": "project = PROJ", **changes}
    return ConnectionInput(**values)


def _seed_issue_cache() -> None:
    issue = {"id": "1", "key": "DEMO-1", "fields": {"summary": "x", "status": {"name": "Done"}}}
    save_cached_issues([issue], {"source": "demo", "url": "", "deployment": "", "jql": "project = DEMO",
                                 "fields": ["summary", "status"]})
    assert load_fetch_meta() is not None


def test_wrong_token_gives_jiras_401_message_without_the_token(server: JiraTestServer) -> None:
    result = check_connection(_form(server, api_token=WRONG_TOKEN), load_app_settings())
    assert not result.ok
    assert "HTTP 401" in result.message and "Client must be authenticated" in result.message
    assert WRONG_TOKEN not in repr(result)


def test_good_credentials_say_who_and_how_many_issues(server: JiraTestServer) -> None:
    result = check_connection(_form(server), load_app_settings())
    # The server's /myself is "Test User" in UTC; it holds five PROJ issues (make_issues(5)).
    assert result.ok, result.message
    assert result.message == "Connected as Test User (time zone UTC). The JQL matches about 5 issues."
    assert GOOD_TOKEN not in repr(result)


def test_a_bad_jql_is_reported_after_a_good_connection(server: JiraTestServer) -> None:
    result = check_connection(_form(server, jql="project = = PROJ"), load_app_settings())
    assert not result.ok
    assert result.message.startswith("Connected as Test User") and "JQL failed" in result.message
    assert "HTTP 400" in result.message
    assert set(result.errors) == {"jql"}


def test_empty_token_field_uses_the_saved_token(server: JiraTestServer) -> None:
    assert not check_connection(_form(server, api_token=""), load_app_settings()).ok
    save_connection(_form(server))
    result = check_connection(_form(server, api_token=""), load_app_settings())
    assert result.ok, result.message


def test_data_center_uses_the_personal_access_token(jira_server_factory: ServerFactory) -> None:  # noqa: F811
    server = jira_server_factory(make_issues(2), mode="datacenter", pat="pat-0123456789abc")
    result = check_connection(_form(server, deployment="datacenter", api_token="", pat="pat-0123456789abc"),
                              load_app_settings())
    assert result.ok, result.message
    assert result.message.startswith("Connected as Test User (time zone UTC).")


def test_unreachable_and_malformed_urls_are_explained() -> None:
    unreachable = check_connection(ConnectionInput(f"http://127.0.0.1:{free_port()}", "cloud", EMAIL,
                                                   WRONG_TOKEN, "", ""), load_app_settings())
    assert not unreachable.ok and "unreachable" in unreachable.message
    assert WRONG_TOKEN not in unreachable.message
    malformed = check_connection(ConnectionInput("jira.example.com", "cloud", EMAIL, WRONG_TOKEN, "", ""),
                                 load_app_settings())
    assert not malformed.ok and set(malformed.errors) == {"url"}


def test_missing_credentials_are_named_before_calling_jira(server: JiraTestServer) -> None:
    result = check_connection(_form(server, email="", api_token=""), load_app_settings())
    assert not result.ok and "JIRA_API_TOKEN" in result.message
    assert server.requests == []


def test_save_puts_the_token_in_the_owner_only_secrets_file(isolated_data_dir: Path,
                                                            server: JiraTestServer) -> None:
    _seed_issue_cache()
    result = save_connection(_form(server))
    assert result.ok, result.message
    assert result.full_fetch_next and FULL_FETCH_NOTE in result.message
    secrets = isolated_data_dir / ".jira_secrets.json"
    assert json.loads(secrets.read_text())["api_token"] == GOOD_TOKEN
    assert stat.S_IMODE(os.stat(secrets).st_mode) == 0o600
    settings_text = (isolated_data_dir / "app_settings.json").read_text()
    assert GOOD_TOKEN not in settings_text
    jira = json.loads(settings_text)["jira"]
    assert (jira["url"], jira["deployment"], jira["email"], jira["jql"]) == (server.url, "cloud", EMAIL,
                                                                             "project = PROJ")
    assert load_fetch_meta() is None  # demo issues dropped: the next update is a full fetch of this Jira
    assert GOOD_TOKEN not in repr(result)


def test_saving_without_a_source_change_keeps_the_issue_cache(server: JiraTestServer) -> None:
    save_connection(_form(server))
    save_cached_issues([], {"source": "jira", "url": server.url, "deployment": "cloud",
                            "jql": "project = PROJ", "fields": ["summary"]})
    result = save_connection(_form(server, email="other@example.com", api_token=""))
    assert result.ok and not result.full_fetch_next
    assert FULL_FETCH_NOTE not in result.message
    assert load_fetch_meta() is not None
    changed = save_connection(_form(server, jql="project = PROJ AND type = Bug", api_token=""))
    assert changed.full_fetch_next and load_fetch_meta() is None


def test_invalid_values_write_nothing(isolated_data_dir: Path, server: JiraTestServer) -> None:
    settings_path = isolated_data_dir / "app_settings.json"
    settings_path.write_text('{"jira": {"jql": "project = OLD"}}', encoding="utf-8")
    before = settings_path.read_bytes()
    bad_url = save_connection(_form(server, url="ftp://jira.example.com"))
    no_jql = save_connection(_form(server, jql="  "))
    assert (bad_url.ok, set(bad_url.errors)) == (False, {"url"})
    assert (no_jql.ok, set(no_jql.errors)) == (False, {"jql"})
    assert settings_path.read_bytes() == before
    assert not (isolated_data_dir / ".jira_secrets.json").exists()


def test_form_shows_where_the_token_comes_from_never_the_token(monkeypatch: pytest.MonkeyPatch,
                                                               server: JiraTestServer) -> None:
    empty = load_connection_form(load_app_settings())
    assert (empty.url, empty.deployment, empty.jql) == ("", "cloud", "")
    assert empty.api_token_status.startswith("No API token is set")
    save_connection(_form(server))
    saved = load_connection_form(load_app_settings())
    assert saved.api_token_status == "An API token is set (from the secrets file): ••••••••23"
    monkeypatch.setenv("JIRA_API_TOKEN", "environment-token-987")
    from_env = load_connection_form(load_app_settings())
    assert from_env.api_token_status == "An API token is set (from the environment): ••••••••87"
    assert "environment-token-987" not in repr(from_env) and GOOD_TOKEN not in repr(saved)


def test_environment_token_takes_precedence_and_the_message_says_so(monkeypatch: pytest.MonkeyPatch,
                                                                    server: JiraTestServer) -> None:
    monkeypatch.setenv("JIRA_API_TOKEN", GOOD_TOKEN)
    result = save_connection(_form(server, api_token=""))
    assert result.ok and "JIRA_API_TOKEN" in result.message and "precedence" in result.message


def test_use_demo_data_clears_only_the_url(server: JiraTestServer) -> None:
    save_connection(_form(server))
    save_cached_issues([], {"source": "jira", "url": server.url, "deployment": "cloud",
                            "jql": "project = PROJ", "fields": ["summary"]})
    result = use_demo_data()
    assert result.ok and result.full_fetch_next
    jira = load_app_settings()["jira"]
    assert jira["url"] == "" and jira["jql"] == "project = PROJ" and jira["email"] == EMAIL
    assert load_fetch_meta() is None


def test_switching_from_demo_keeps_saved_mappings_and_says_so(server: JiraTestServer) -> None:
    replace_field_mappings({"field_mappings": DEMO_FIELD_MAPPINGS})  # saved while in demo mode
    result = save_connection(_form(server))
    assert result.ok and "saved field mappings were kept" in result.message
    assert load_app_settings()["dora_flow_config"]["field_mappings"] == DEMO_FIELD_MAPPINGS


def test_switching_from_demo_without_saved_mappings_has_nothing_to_keep(server: JiraTestServer) -> None:
    result = save_connection(_form(server))
    assert "field mappings" not in result.message
    mappings = load_app_settings()["dora_flow_config"]["field_mappings"]
    assert all(value is None for group in mappings.values() for value in group.values())


def test_saving_an_empty_url_means_the_demo_data(server: JiraTestServer) -> None:
    save_connection(_form(server))
    result = save_connection(_form(server, url=" ", jql="", api_token=""))
    assert result.ok and result.full_fetch_next
    assert result.message == f"Jira settings saved. {FULL_FETCH_NOTE} No Jira URL is set, so the dashboard " \
                             "shows the demo data."
    assert load_app_settings()["jira"]["url"] == ""
