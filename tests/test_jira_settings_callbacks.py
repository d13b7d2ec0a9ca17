"""The Jira settings modal's callbacks, called as plain functions against the project's test Jira server."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import dash
import pytest
from plotly.utils import PlotlyJSONEncoder

from callbacks import jira_settings
from callbacks.jira_settings import (
    run_connection_test,
    save_jira_settings,
    show_credentials_for,
    toggle_jira_settings,
)
from configuration.settings import load_app_settings
from data.services.connection_service import FULL_FETCH_NOTE
from data.store.issue_cache import load_fetch_meta, save_cached_issues
from tests.jira_server.app import JiraTestServer
from tests.jira_server.builders import make_issues
from tests.jira_server.fixtures import ServerFactory, jira_server_factory  # noqa: F401  (fixture, by name)
from ui import ids
from ui.data_source_modal import data_source_modal
from ui.page import HIDDEN, SHOWN

GOOD_TOKEN = "secret-token-123"  # the test server's default API token
WRONG_TOKEN = "not-the-right-token-42"
EMAIL = "user@example.com"


@pytest.fixture
def server(jira_server_factory: ServerFactory) -> JiraTestServer:  # noqa: F811
    return jira_server_factory(make_issues(3))


def _text(value: Any) -> str:
    """Everything a callback would send to the browser, as JSON text."""
    return json.dumps(value, cls=PlotlyJSONEncoder, ensure_ascii=False)


def test_open_fills_the_form_without_any_token(server: JiraTestServer) -> None:
    save_jira_settings("save", server.url, "cloud", EMAIL, GOOD_TOKEN, "", "project = PROJ")
    opened = toggle_jira_settings("open")
    assert opened[:5] == (True, server.url, "cloud", EMAIL, "project = PROJ")  # open, url, type, email, jql
    assert opened[5:7] == ("", "")  # token inputs always empty
    assert opened[7] == "An API token is set (from the secrets file): ••••••••23"
    assert opened[8].startswith("No personal access token is set")
    assert opened[9:11] == (None, False)  # no test result, no message
    assert list(opened[11:]) == [False, "", False, "", False, ""]  # url, email, jql: valid, no feedback
    assert GOOD_TOKEN not in _text(opened)


def test_cancel_closes_and_nothing_else_happens_without_a_click() -> None:
    assert toggle_jira_settings("cancel")[0] is False
    with pytest.raises(dash.exceptions.PreventUpdate):
        toggle_jira_settings(None)
    with pytest.raises(dash.exceptions.PreventUpdate):
        save_jira_settings(None, "", "cloud", "", "", "", "")


def test_credential_areas_follow_the_deployment() -> None:
    assert show_credentials_for("cloud") == (SHOWN, HIDDEN)
    assert show_credentials_for("datacenter") == (HIDDEN, SHOWN)


def test_wrong_token_shows_401_and_never_echoes_the_token(server: JiraTestServer) -> None:
    result = _text(run_connection_test(server.url, "cloud", EMAIL, WRONG_TOKEN, "", "project = PROJ"))
    assert "HTTP 401" in result and "Client must be authenticated" in result
    assert WRONG_TOKEN not in result
    assert not (Path(os.environ["DASHBOARD_DATA_DIR"]) / "app_settings.json").exists()  # a test saves nothing


def test_good_token_says_who_is_connected(server: JiraTestServer) -> None:
    result = _text(run_connection_test(server.url, "cloud", EMAIL, GOOD_TOKEN, "", "project = PROJ"))
    # Test User in UTC; three PROJ issues (make_issues(3)).
    assert "Connected as Test User (time zone UTC). The JQL matches about 3 issues." in result
    assert GOOD_TOKEN not in result


def test_save_stores_the_token_apart_closes_and_announces_a_full_fetch(isolated_data_dir: Path,
                                                                       server: JiraTestServer) -> None:
    save_cached_issues([], {"source": "demo", "url": "", "deployment": "", "jql": "project = DEMO",
                            "fields": ["summary"]})
    out = save_jira_settings("save", server.url, "cloud", EMAIL, GOOD_TOKEN, "", "project = PROJ")
    message, message_open, modal_open, toasts, version, api_token, pat = out[:7]
    assert (message, message_open, modal_open, api_token, pat) == ("", False, False, "", "")
    assert isinstance(version, int)
    assert FULL_FETCH_NOTE in _text(toasts)
    assert GOOD_TOKEN not in _text(out)
    secrets = isolated_data_dir / ".jira_secrets.json"
    assert json.loads(secrets.read_text())["api_token"] == GOOD_TOKEN
    assert stat.S_IMODE(os.stat(secrets).st_mode) == 0o600
    assert GOOD_TOKEN not in (isolated_data_dir / "app_settings.json").read_text()
    assert load_app_settings()["jira"]["url"] == server.url
    assert load_fetch_meta() is None


def test_invalid_save_marks_the_inputs_and_keeps_the_modal_open(isolated_data_dir: Path) -> None:
    out = save_jira_settings("save", "jira.example.com", "cloud", EMAIL, GOOD_TOKEN, "", "")
    assert out[0] == "Fix the marked fields; nothing was saved." and out[1] is True
    assert out[2:7] == (dash.no_update,) * 5
    url_invalid, url_feedback, email_invalid, _, jql_invalid, jql_feedback = out[7:]
    assert url_invalid is True and "https://" in url_feedback
    assert email_invalid is False
    assert jql_invalid is True and "JQL" in jql_feedback
    assert not (isolated_data_dir / "app_settings.json").exists()
    assert not (isolated_data_dir / ".jira_secrets.json").exists()


def test_use_demo_data_clears_the_url(server: JiraTestServer) -> None:
    save_jira_settings("save", server.url, "cloud", EMAIL, GOOD_TOKEN, "", "project = PROJ")
    out = save_jira_settings("demo", server.url, "cloud", EMAIL, "", "", "project = PROJ")
    assert out[2] is False
    assert "Switched to the demo data" in _text(out[3])
    assert load_app_settings()["jira"]["url"] == ""


def test_callbacks_register_on_a_fresh_app() -> None:
    app = dash.Dash(__name__, suppress_callback_exceptions=True)
    jira_settings.register(app)
    outputs = " ".join(app.callback_map)
    assert ids.JiraSettings.MODAL in outputs and ids.Stores.SETTINGS_VERSION in outputs


# --- a saved token is only sent to the site it was saved for: the callbacks over real POSTs ---------------------

REENTER = "Enter the API token again: a saved token is only sent to the site it was saved for"
_FORM_IDS = (ids.JiraSettings.URL, ids.JiraSettings.DEPLOYMENT, ids.JiraSettings.EMAIL, ids.JiraSettings.API_TOKEN,
             ids.JiraSettings.PAT, ids.JiraSettings.JQL)


def _post_callback(trigger: str, url: str, token: str) -> dict:
    """POST to ``/_dash-update-component`` of an app holding this module's callbacks, as a page (or anyone who can
    reach the port) would: the button ``trigger`` clicked with the form values; the decoded answer."""
    app = dash.Dash(__name__, suppress_callback_exceptions=True)
    app.layout = data_source_modal()
    jira_settings.register(app)
    key, spec = next((key, spec) for key, spec in app.callback_map.items()
                     if any(item["id"] == trigger for item in spec["inputs"]))
    outputs = [{"id": part.split(".")[0], "property": part.split(".", 1)[1]}
               for part in key.strip(".").split("...")]
    values = dict(zip(_FORM_IDS, (url, "cloud", EMAIL, token, "", "project = PROJ"), strict=True))
    body = {
        "output": key,
        "outputs": outputs if key.startswith("..") else outputs[0],
        "inputs": [{**item, "value": 1 if item["id"] == trigger else None} for item in spec["inputs"]],
        "state": [{**item, "value": values[item["id"]]} for item in spec["state"]],
        "changedPropIds": [f"{trigger}.n_clicks"],
    }
    answer = app.server.test_client().post("/_dash-update-component", json=body)
    assert answer.status_code in (200, 204), answer.text
    return answer.get_json() if answer.status_code == 200 else {}


def test_a_posted_test_with_a_new_url_and_no_token_sends_the_saved_token_nowhere(
        server: JiraTestServer, jira_server_factory: ServerFactory) -> None:  # noqa: F811
    attacker = jira_server_factory(make_issues(1))  # accepts the same token: a request would be answered 200
    save_jira_settings("save", server.url, "cloud", EMAIL, GOOD_TOKEN, "", "project = PROJ")
    server.clear_requests()
    answer = _post_callback(ids.JiraSettings.TEST_BUTTON, attacker.url, "")
    assert REENTER in _text(answer)
    assert attacker.requests == [] and server.requests == []
    assert GOOD_TOKEN not in _text(answer)


def test_a_posted_save_with_a_new_url_and_no_token_changes_nothing(
        isolated_data_dir: Path, server: JiraTestServer, jira_server_factory: ServerFactory) -> None:  # noqa: F811
    attacker = jira_server_factory(make_issues(1))
    save_jira_settings("save", server.url, "cloud", EMAIL, GOOD_TOKEN, "", "project = PROJ")
    before = {name: (isolated_data_dir / name).read_bytes() for name in ("app_settings.json", ".jira_secrets.json")}
    answer = _post_callback(ids.JiraSettings.SAVE_BUTTON, attacker.url, "")
    assert REENTER in _text(answer) and GOOD_TOKEN not in _text(answer)
    assert {name: (isolated_data_dir / name).read_bytes() for name in before} == before
    assert load_app_settings()["jira"]["url"] == server.url
    assert attacker.requests == []


def test_the_plain_callbacks_ask_for_the_token_again_too(server: JiraTestServer,
                                                         jira_server_factory: ServerFactory) -> None:  # noqa: F811
    attacker = jira_server_factory(make_issues(1))
    save_jira_settings("save", server.url, "cloud", EMAIL, GOOD_TOKEN, "", "project = PROJ")
    assert REENTER in _text(run_connection_test(attacker.url, "cloud", EMAIL, "", "", "project = PROJ"))
    out = save_jira_settings("save", attacker.url, "cloud", EMAIL, "", "", "project = PROJ")
    assert (out[0], out[1], out[2]) == (REENTER, True, dash.no_update)  # the message, in the still open modal
    assert attacker.requests == []
