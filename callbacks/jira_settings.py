"""The Data source dialog's Jira side and shared parts: open (filled from the settings, tokens never sent), test,
save, use the demo data (``callbacks.azure_devops_settings`` has the source choice and the Azure DevOps side).

A successful save closes the modal, shows a toast (with "Click Update Data: a full fetch is next" when the
source changed) and bumps the settings version so the cards and the data-source label refresh. Errors stay
in the modal, next to the input they concern. The functions are plain Python over the callback values.
"""

from __future__ import annotations

import time
from typing import Any

import dash
from dash import Input, Output, Patch, State

from configuration.settings import load_app_settings_or_defaults
from data.services.connection_service import (
    ConnectionInput,
    ConnectionResult,
    check_connection,
    load_connection_form,
    save_connection,
    use_demo_data,
)
from ui import ids
from ui.jira_settings_modal import connection_test_result, credential_area_styles
from ui.page import toast

JS = ids.JiraSettings
_FEEDBACK_KEYS = ("url", "email", "jql")
_TOGGLE_ACTIONS = {ids.Navbar.OPEN_JIRA_SETTINGS: "open", JS.CANCEL_BUTTON: "cancel"}
_SAVE_ACTIONS = {JS.SAVE_BUTTON: "save", JS.USE_DEMO_BUTTON: "demo"}


def toggle_jira_settings(action: str | None) -> tuple:
    """(is_open, url, deployment, email, jql, api token "", pat "", token status, pat status, test result,
    message open, *invalid flags and feedback of url/email/jql). Tokens are always sent back empty."""
    if action == "cancel":
        return (False, *([dash.no_update] * 9), False, *_feedback({}))
    if action != "open":
        raise dash.exceptions.PreventUpdate
    settings, _ = load_app_settings_or_defaults()
    form = load_connection_form(settings)
    return (True, form.url, form.deployment, form.email, form.jql, "", "", form.api_token_status,
            form.pat_status, None, False, *_feedback({}))


def _feedback(errors: dict[str, str]) -> list[Any]:
    return [value for key in _FEEDBACK_KEYS for value in (key in errors, errors.get(key, ""))]


def show_credentials_for(deployment: str | None) -> tuple[dict[str, str], dict[str, str]]:
    return credential_area_styles(deployment)


def run_connection_test(url: str | None, deployment: str | None, email: str | None, api_token: str | None,
                         pat: str | None, jql: str | None) -> Any:
    """The result line under "Test connection"; saves nothing."""
    settings, _ = load_app_settings_or_defaults()
    result = check_connection(ConnectionInput(url, deployment, email, api_token, pat, jql), settings)
    return connection_test_result(result.ok, result.message)


def save_jira_settings(action: str | None, url: str | None, deployment: str | None, email: str | None,
                       api_token: str | None, pat: str | None, jql: str | None) -> tuple:
    """(message, message open, modal open, toasts, settings version, api token "", pat "", *feedback)."""
    if action == "demo":
        result = use_demo_data()
    elif action == "save":
        result = save_connection(ConnectionInput(url, deployment, email, api_token, pat, jql))
    else:
        raise dash.exceptions.PreventUpdate
    if not result.ok:
        return (result.message, True, dash.no_update, dash.no_update, dash.no_update, dash.no_update,
                dash.no_update, *_feedback(result.errors))
    toasts = Patch()
    toasts.append(toast(result.message, header="Data source", icon=_toast_icon(result)))
    return ("", False, False, toasts, time.time_ns(), "", "", *_feedback({}))


def _toast_icon(result: ConnectionResult) -> str:
    return "info" if result.full_fetch_next else "success"


def _clicked(mapping: dict[str, str]) -> str | None:
    if not any(item.get("value") for item in dash.ctx.triggered):
        return None
    return mapping.get(str(dash.ctx.triggered_id))


def _feedback_outputs(allow_duplicate: bool = False) -> list[Output]:
    pairs = ((JS.URL, JS.URL_FEEDBACK), (JS.EMAIL, JS.EMAIL_FEEDBACK), (JS.JQL, JS.JQL_FEEDBACK))
    return [output for field_id, feedback_id in pairs
            for output in (Output(field_id, "invalid", allow_duplicate=allow_duplicate),
                           Output(feedback_id, "children", allow_duplicate=allow_duplicate))]


def register(app: dash.Dash) -> None:
    app.callback(
        Output(JS.MODAL, "is_open"),
        Output(JS.URL, "value"),
        Output(JS.DEPLOYMENT, "value"),
        Output(JS.EMAIL, "value"),
        Output(JS.JQL, "value"),
        Output(JS.API_TOKEN, "value"),
        Output(JS.PAT, "value"),
        Output(JS.API_TOKEN_STATUS, "children"),
        Output(JS.PAT_STATUS, "children"),
        Output(JS.TEST_RESULT, "children"),
        Output(JS.MESSAGE, "is_open"),
        *_feedback_outputs(),
        Input(ids.Navbar.OPEN_JIRA_SETTINGS, "n_clicks"),
        Input(JS.CANCEL_BUTTON, "n_clicks"),
        prevent_initial_call=True,
    )(lambda *_: toggle_jira_settings(_clicked(_TOGGLE_ACTIONS)))
    app.callback(
        Output(JS.CLOUD_CREDENTIALS, "style"),
        Output(JS.DATACENTER_CREDENTIALS, "style"),
        Input(JS.DEPLOYMENT, "value"),
    )(show_credentials_for)
    form_states = (State(JS.URL, "value"), State(JS.DEPLOYMENT, "value"), State(JS.EMAIL, "value"),
                   State(JS.API_TOKEN, "value"), State(JS.PAT, "value"), State(JS.JQL, "value"))
    app.callback(
        Output(JS.TEST_RESULT, "children", allow_duplicate=True),
        Input(JS.TEST_BUTTON, "n_clicks"),
        *form_states,
        running=[(Output(JS.TEST_BUTTON, "disabled"), True, False)],
        prevent_initial_call=True,
    )(lambda _clicks, *values: run_connection_test(*values))
    app.callback(
        Output(JS.MESSAGE, "children"),
        Output(JS.MESSAGE, "is_open", allow_duplicate=True),
        Output(JS.MODAL, "is_open", allow_duplicate=True),
        Output(ids.Toasts.CONTAINER, "children", allow_duplicate=True),
        Output(ids.Stores.SETTINGS_VERSION, "data", allow_duplicate=True),
        Output(JS.API_TOKEN, "value", allow_duplicate=True),
        Output(JS.PAT, "value", allow_duplicate=True),
        *_feedback_outputs(allow_duplicate=True),
        Input(JS.SAVE_BUTTON, "n_clicks"),
        Input(JS.USE_DEMO_BUTTON, "n_clicks"),
        *form_states,
        running=[(Output(JS.SAVE_BUTTON, "disabled"), True, False)],
        prevent_initial_call=True,
    )(lambda _save, _demo, *values: save_jira_settings(_clicked(_SAVE_ACTIONS), *values))
