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


# --- a saved token is only sent to the site it was saved for ---------------------------------------------------

REENTER = "Enter the API token again: a saved token is only sent to the site it was saved for"


@pytest.fixture
def attacker(jira_server_factory: ServerFactory) -> JiraTestServer:  # noqa: F811
    """Another site (another port on loopback is another origin) accepting the same credentials, so any request
    carrying the stored token would be answered 200 and show up in ``requests``."""
    return jira_server_factory(make_issues(1))


def _secrets_bytes(folder: Path) -> bytes:
    return (folder / ".jira_secrets.json").read_bytes()


def test_test_connection_never_sends_the_saved_token_to_a_new_site(server: JiraTestServer,
                                                                   attacker: JiraTestServer) -> None:
    assert save_connection(_form(server)).ok
    server.clear_requests()
    result = check_connection(_form(attacker, api_token=""), load_app_settings())
    assert (result.ok, result.message) == (False, REENTER)
    assert attacker.requests == []  # nothing at all reached the other site, so no Authorization header either
    assert server.requests == []  # and nothing was sent anywhere else instead


def test_save_with_a_new_site_and_no_token_writes_nothing_and_sends_nothing(
        isolated_data_dir: Path, server: JiraTestServer, attacker: JiraTestServer) -> None:
    assert save_connection(_form(server)).ok
    settings_before = (isolated_data_dir / "app_settings.json").read_bytes()
    secrets_before = _secrets_bytes(isolated_data_dir)
    result = save_connection(_form(attacker, api_token=""))
    assert (result.ok, result.message) == (False, REENTER)
    assert (isolated_data_dir / "app_settings.json").read_bytes() == settings_before
    assert _secrets_bytes(isolated_data_dir) == secrets_before
    assert load_app_settings()["jira"]["url"] == server.url
    assert attacker.requests == []


def test_the_token_typed_for_a_new_site_is_bound_to_that_site(server: JiraTestServer,
                                                              attacker: JiraTestServer) -> None:
    assert save_connection(_form(server)).ok
    moved = save_connection(_form(attacker))  # the user types the token again: now it belongs to the new site
    assert moved.ok, moved.message
    assert check_connection(_form(attacker, api_token=""), load_app_settings()).ok
    server.clear_requests()
    back = check_connection(_form(server, api_token=""), load_app_settings())
    assert (back.ok, back.message) == (False, REENTER)
    assert server.requests == []


def test_the_same_site_with_another_path_keeps_the_saved_token(server: JiraTestServer) -> None:
    assert save_connection(_form(server)).ok
    result = save_connection(_form(server, url=server.url + "/jira/", api_token=""))
    assert result.ok, result.message
    assert check_connection(_form(server, api_token=""), load_app_settings()).ok


def test_a_saved_pat_is_not_sent_to_a_new_data_center(jira_server_factory: ServerFactory) -> None:  # noqa: F811
    pat = "pat-0123456789abc"
    home = jira_server_factory(make_issues(1), mode="datacenter", pat=pat)
    other = jira_server_factory(make_issues(1), mode="datacenter", pat=pat)
    assert save_connection(_form(home, deployment="datacenter", api_token="", pat=pat)).ok
    for result in (check_connection(_form(other, deployment="datacenter", api_token="", pat=""),
                                    load_app_settings()),
                   save_connection(_form(other, deployment="datacenter", api_token="", pat=""))):
        assert (result.ok, result.message) == (False, "Enter the personal access token again: a saved token is "
                                                      "only sent to the site it was saved for")
    assert other.requests == []
    assert load_app_settings()["jira"]["url"] == home.url


def test_an_environment_token_applies_to_whatever_url_is_entered(monkeypatch: pytest.MonkeyPatch,
                                                                 server: JiraTestServer,
                                                                 attacker: JiraTestServer) -> None:
    assert save_connection(_form(server)).ok
    monkeypatch.setenv("JIRA_API_TOKEN", GOOD_TOKEN)  # the user's explicit choice for this process
    assert check_connection(_form(attacker, api_token=""), load_app_settings()).ok
    assert save_connection(_form(attacker, api_token="")).ok


def test_an_old_secrets_file_without_a_site_is_not_used(isolated_data_dir: Path, server: JiraTestServer) -> None:
    assert save_connection(_form(server, api_token="")).ok  # the URL only
    (isolated_data_dir / ".jira_secrets.json").write_text(json.dumps({"api_token": GOOD_TOKEN}))
    server.clear_requests()
    result = check_connection(_form(server, api_token=""), load_app_settings())
    assert (result.ok, result.message) == (False, REENTER)
    assert server.requests == []
    form = load_connection_form(load_app_settings())
    assert form.api_token_status.startswith("An API token was saved without the site it belongs to")
    assert save_connection(_form(server)).ok  # entering it again binds it
    assert check_connection(_form(server, api_token=""), load_app_settings()).ok


def test_the_form_says_which_site_a_withheld_token_belongs_to(server: JiraTestServer) -> None:
    assert save_connection(_form(server)).ok
    assert use_demo_data().ok
    status = load_connection_form(load_app_settings()).api_token_status
    assert status.startswith(f"An API token is saved for {server.url} only")
    assert GOOD_TOKEN not in status


def test_a_token_without_a_url_is_not_saved(isolated_data_dir: Path) -> None:
    result = save_connection(ConnectionInput("", "cloud", EMAIL, GOOD_TOKEN, "", ""))
    assert (result.ok, set(result.errors)) == (False, {"url"})
    assert not (isolated_data_dir / ".jira_secrets.json").exists()
    assert not (isolated_data_dir / "app_settings.json").exists()


@pytest.mark.parametrize("userinfo", ["user:pw-hunter2@", "pw-hunter2@", "@"])
def test_a_url_with_user_information_is_refused_unechoed_and_unsent(isolated_data_dir: Path, server: JiraTestServer,
                                                                    userinfo: str) -> None:
    url = server.url.replace("http://", "http://" + userinfo)
    tested = check_connection(_form(server, url=url), load_app_settings())
    saved = save_connection(_form(server, url=url))
    for result in (tested, saved):
        assert not result.ok and set(result.errors) == {"url"}
        assert "hunter2" not in repr(result)
    assert server.requests == []
    assert not (isolated_data_dir / "app_settings.json").exists()
