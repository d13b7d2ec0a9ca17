"""The Data source dialog's source choice and Azure DevOps side: fill on open, show the chosen side, test, save.

The Jira side and the shared parts (open/close, Use demo data) are ``callbacks.jira_settings``. A successful
save closes the dialog, shows a toast (saying a full fetch is next when the source changed) and bumps the
settings version so the cards and the data-source label refresh; errors stay next to their inputs. The PAT
input is always sent back empty. The functions are plain Python over the callback values.
"""

from __future__ import annotations

import time
from typing import Any

import dash
from dash import Input, Output, Patch, State

from configuration.settings import chosen_source, load_app_settings_or_defaults
from data.services.azure_devops_connection import (
    AzureDevOpsInput,
    check_azure_devops_connection,
    load_azure_devops_form,
    save_azure_devops_connection,
)
from ui import ids
from ui.data_source_modal import source_area_styles
from ui.jira_settings_modal import connection_test_result
from ui.page import toast

ADO, JS = ids.AzureDevOpsSettings, ids.JiraSettings
FEEDBACK_INPUTS = {"organization_url": (ADO.ORGANIZATION_URL, ADO.ORGANIZATION_URL_FEEDBACK),
                   "project": (ADO.PROJECT, ADO.PROJECT_FEEDBACK),
                   "wiql_filter": (ADO.WIQL_FILTER, ADO.WIQL_FILTER_FEEDBACK)}


def _feedback(errors: dict[str, str]) -> dict[str, Any]:
    """``<key>_invalid`` and ``<key>_feedback`` for each input that can be marked."""
    return {name: value for key in FEEDBACK_INPUTS
            for name, value in ((f"{key}_invalid", key in errors), (f"{key}_feedback", errors.get(key, "")))}


def fill_azure_devops_side(opened: bool) -> dict[str, Any]:
    """On open: the chosen source and the stored Azure DevOps values; the PAT input empty, only its status."""
    if not opened:
        raise dash.exceptions.PreventUpdate
    settings, _ = load_app_settings_or_defaults()
    form = load_azure_devops_form(settings)
    return {"source": chosen_source(settings), "organization_url": form.organization_url, "project": form.project,
            "wiql_filter": form.wiql_filter, "pat": "", "pat_status": form.pat_status, "test_result": None,
            **_feedback({})}


def show_source(source: str | None) -> dict[str, dict[str, str]]:
    """The chosen side's fields and Save button shown, the other side's hidden."""
    styles = source_area_styles(source)
    return {"jira_area": styles["jira"], "jira_save": styles["jira"],
            "azure_devops_area": styles["azure_devops"], "azure_devops_save": styles["azure_devops"]}


def run_azure_devops_test(organization_url: str | None, project: str | None, wiql_filter: str | None,
                          pat: str | None) -> Any:
    """The result line under the Azure DevOps "Test connection"; saves nothing."""
    settings, _ = load_app_settings_or_defaults()
    result = check_azure_devops_connection(AzureDevOpsInput(organization_url, project, wiql_filter, pat), settings)
    return connection_test_result(result.ok, result.message)


def save_azure_devops_settings(clicked: bool, organization_url: str | None, project: str | None,
                               wiql_filter: str | None, pat: str | None) -> dict[str, Any]:
    """Save the Azure DevOps side: close with a toast, or keep the dialog open with the message and marks."""
    if not clicked:
        raise dash.exceptions.PreventUpdate
    result = save_azure_devops_connection(AzureDevOpsInput(organization_url, project, wiql_filter, pat))
    if not result.ok:
        return {"message": result.message, "message_open": True, "modal_open": dash.no_update,
                "toasts": dash.no_update, "version": dash.no_update, "pat": dash.no_update,
                **_feedback(result.errors)}
    toasts = Patch()
    toasts.append(toast(result.message, header="Data source", icon="info" if result.full_fetch_next else "success"))
    return {"message": "", "message_open": False, "modal_open": False, "toasts": toasts, "version": time.time_ns(),
            "pat": "", **_feedback({})}


def _feedback_outputs() -> dict[str, Output]:
    return {name: Output(component, prop, allow_duplicate=True)
            for key, (field_id, feedback_id) in FEEDBACK_INPUTS.items()
            for name, component, prop in ((f"{key}_invalid", field_id, "invalid"),
                                          (f"{key}_feedback", feedback_id, "children"))}


def _form_states() -> dict[str, State]:
    return {"organization_url": State(ADO.ORGANIZATION_URL, "value"), "project": State(ADO.PROJECT, "value"),
            "wiql_filter": State(ADO.WIQL_FILTER, "value"), "pat": State(ADO.PAT, "value")}


def register(app: dash.Dash) -> None:
    app.callback(
        output={"source": Output(ADO.SOURCE, "value"), "organization_url": Output(ADO.ORGANIZATION_URL, "value"),
                "project": Output(ADO.PROJECT, "value"), "wiql_filter": Output(ADO.WIQL_FILTER, "value"),
                "pat": Output(ADO.PAT, "value"), "pat_status": Output(ADO.PAT_STATUS, "children"),
                "test_result": Output(ADO.TEST_RESULT, "children"), **_feedback_outputs()},
        inputs={"opened": Input(JS.MODAL, "is_open")},
        prevent_initial_call=True,
    )(fill_azure_devops_side)
    app.callback(
        output={"jira_area": Output(JS.JIRA_AREA, "style"), "jira_save": Output(JS.SAVE_BUTTON, "style"),
                "azure_devops_area": Output(ADO.AREA, "style"), "azure_devops_save": Output(ADO.SAVE_BUTTON, "style")},
        inputs={"source": Input(ADO.SOURCE, "value")},
    )(show_source)
    app.callback(
        Output(ADO.TEST_RESULT, "children", allow_duplicate=True),
        Input(ADO.TEST_BUTTON, "n_clicks"),
        *_form_states().values(),
        running=[(Output(ADO.TEST_BUTTON, "disabled"), True, False)],
        prevent_initial_call=True,
    )(lambda _clicks, *values: run_azure_devops_test(*values))
    app.callback(
        output={"message": Output(JS.MESSAGE, "children", allow_duplicate=True),
                "message_open": Output(JS.MESSAGE, "is_open", allow_duplicate=True),
                "modal_open": Output(JS.MODAL, "is_open", allow_duplicate=True),
                "toasts": Output(ids.Toasts.CONTAINER, "children", allow_duplicate=True),
                "version": Output(ids.Stores.SETTINGS_VERSION, "data", allow_duplicate=True),
                "pat": Output(ADO.PAT, "value", allow_duplicate=True), **_feedback_outputs()},
        inputs={"clicks": Input(ADO.SAVE_BUTTON, "n_clicks")},
        state=_form_states(),
        running=[(Output(ADO.SAVE_BUTTON, "disabled"), True, False)],
        prevent_initial_call=True,
    )(lambda clicks, **values: save_azure_devops_settings(bool(clicks), **values))
