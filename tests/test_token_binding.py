"""A saved token is only sent to the site it was saved for: ``cli.py fetch`` and ``make_source`` against two
test Jira servers on loopback (another port is another origin), the second one standing for an attacker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from configuration.secrets import JiraCredentials, load_credentials
from configuration.settings import merge_with_defaults
from data.services.connection_service import ConnectionInput, save_connection
from data.sources.base import UpdateError
from data.sources.selection import make_source
from tests.jira_server import JiraTestServer
from tests.jira_server.builders import make_issues
from tests.jira_server.fixtures import ServerFactory, jira_server_factory  # noqa: F401  (fixture, by name)
from tests.test_cli_fetch import one_error_line, run_cli

EMAIL, TOKEN = "user@example.com", "secret-token-123"  # the test server's default credentials

pytestmark = pytest.mark.usefixtures("restore_root_logging")


@pytest.fixture
def home(jira_server_factory: ServerFactory) -> JiraTestServer:  # noqa: F811
    """The site the token is saved for (saved through the settings dialog's service)."""
    server = jira_server_factory(make_issues(2))
    assert save_connection(ConnectionInput(server.url, "cloud", EMAIL, TOKEN, "", "project = PROJ")).ok
    server.clear_requests()
    return server


@pytest.fixture
def attacker(jira_server_factory: ServerFactory) -> JiraTestServer:  # noqa: F811
    """Accepts the same credentials: had the token been sent, its requests would be answered 200."""
    return jira_server_factory(make_issues(1))


def _point_settings_at(folder: Path, server: JiraTestServer) -> None:
    path = folder / "app_settings.json"
    settings = json.loads(path.read_text())
    settings["jira"]["url"] = server.url
    path.write_text(json.dumps(settings))


def test_fetch_after_the_url_changed_sends_the_token_nowhere(isolated_data_dir: Path, home: JiraTestServer,
                                                             attacker: JiraTestServer) -> None:
    _point_settings_at(isolated_data_dir, attacker)  # edited by hand, or saved by an older version
    result = run_cli("fetch", token=None)
    assert result.returncode == 1
    line = one_error_line(result)
    assert f"only sent to the site it was saved for ({home.url})" in line and "enter the API token again" in line
    assert attacker.requests == [] and home.requests == []
    assert TOKEN not in result.stderr + result.stdout


def test_fetch_with_a_settings_file_naming_another_site_sends_the_token_nowhere(
        tmp_path: Path, home: JiraTestServer, attacker: JiraTestServer) -> None:
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"jira": {"url": attacker.url, "jql": "project = PROJ", "email": EMAIL}}))
    result = run_cli("fetch", "--settings", str(settings), token=None)
    assert result.returncode == 1 and "enter the API token again" in one_error_line(result)
    assert attacker.requests == []


def test_fetch_of_the_saved_site_uses_the_saved_token(home: JiraTestServer) -> None:
    result = run_cli("fetch", token=None)
    assert result.returncode == 0, result.stderr
    assert home.requests and all(request["status"] == 200 for request in home.requests)


def test_make_source_refuses_a_file_token_for_another_origin(home: JiraTestServer,
                                                             attacker: JiraTestServer) -> None:
    """Whatever built the credentials, a secrets-file token never reaches a client for another origin."""
    credentials = load_credentials(merge_with_defaults({"jira": {"url": home.url}}))
    assert credentials.source == "secrets file" and credentials.api_token == TOKEN
    settings = merge_with_defaults({"jira": {"url": attacker.url, "email": EMAIL, "jql": "project = PROJ"}})
    with pytest.raises(UpdateError, match="only sent to the site it was saved for"):
        make_source(settings, credentials)
    forged = JiraCredentials(EMAIL, TOKEN, "", "secrets file", origin="")
    with pytest.raises(UpdateError, match="enter the API token again"):
        make_source(settings, forged)
    assert attacker.requests == []
