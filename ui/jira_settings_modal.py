"""The Jira side of the Data source dialog: URL, Cloud or Data Center, credentials, JQL, Test connection.

Pure layout (``ui.data_source_modal`` assembles the dialog). Token inputs are password fields that are never
filled by the server: the status line under each (``API_TOKEN_STATUS`` / ``PAT_STATUS``) says whether a token
is set and where it comes from, or which site a saved one belongs to (a saved token is only sent there, so
another URL needs it typed again). The Cloud credentials (email + API token) and the Data Center one
(personal access token) live in two areas toggled with ``HIDDEN`` / ``SHOWN`` by the chosen deployment.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from ui import ids
from ui.page import HIDDEN, SHOWN

KEEP_TOKEN_PLACEHOLDER = "Leave empty to keep the token saved for this site"
DEPLOYMENT_OPTIONS: tuple[tuple[str, str], ...] = (
    ("cloud", "Jira Cloud"),
    ("datacenter", "Data Center / Server"),
)


def credential_area_styles(deployment: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """Styles of (Cloud credentials, Data Center credentials) for the chosen deployment."""
    return (HIDDEN, SHOWN) if deployment == "datacenter" else (SHOWN, HIDDEN)


def form_field(label: str, control: Any, *extra: Any) -> html.Div:
    """A labelled input with whatever goes under it (feedback, help text)."""
    return html.Div([dbc.Label(label, class_name="fw-semibold mb-1"), control, *extra], className="mb-3")


def _cloud_credentials() -> html.Div:
    return html.Div(
        [
            form_field(
                "Email",
                dbc.Input(id=ids.JiraSettings.EMAIL, type="email", placeholder="you@example.com",
                          autocomplete="username"),
                dbc.FormFeedback(id=ids.JiraSettings.EMAIL_FEEDBACK, type="invalid"),
            ),
            form_field(
                "API token",
                dbc.Input(id=ids.JiraSettings.API_TOKEN, type="password", value="",
                          autocomplete="new-password", placeholder=KEEP_TOKEN_PLACEHOLDER),
                dbc.FormText(id=ids.JiraSettings.API_TOKEN_STATUS),
            ),
        ],
        id=ids.JiraSettings.CLOUD_CREDENTIALS,
    )


def _datacenter_credentials() -> html.Div:
    return html.Div(
        form_field(
            "Personal access token (PAT)",
            dbc.Input(id=ids.JiraSettings.PAT, type="password", value="", autocomplete="new-password",
                      placeholder=KEEP_TOKEN_PLACEHOLDER),
            dbc.FormText(id=ids.JiraSettings.PAT_STATUS),
        ),
        id=ids.JiraSettings.DATACENTER_CREDENTIALS,
        style=HIDDEN,
    )


def jira_connection_area() -> html.Div:
    """The Jira side of the Data source dialog: URL, type, credentials, JQL and its own Test connection."""
    return html.Div(
        [
            form_field(
                "Jira URL",
                dbc.Input(id=ids.JiraSettings.URL, type="url", placeholder="https://your-site.atlassian.net"),
                dbc.FormFeedback(id=ids.JiraSettings.URL_FEEDBACK, type="invalid"),
            ),
            form_field(
                "Jira type",
                dbc.RadioItems(
                    id=ids.JiraSettings.DEPLOYMENT,
                    options=[{"label": label, "value": value} for value, label in DEPLOYMENT_OPTIONS],
                    value="cloud",
                    inline=True,
                ),
            ),
            _cloud_credentials(),
            _datacenter_credentials(),
            form_field(
                "JQL",
                dbc.Textarea(id=ids.JiraSettings.JQL, rows=3, placeholder="project = ABC ORDER BY created DESC"),
                dbc.FormFeedback(id=ids.JiraSettings.JQL_FEEDBACK, type="invalid"),
                dbc.FormText("The issues the metrics are computed from."),
            ),
            connection_test_row(ids.JiraSettings.TEST_BUTTON, ids.JiraSettings.TEST_RESULT),
        ],
        id=ids.JiraSettings.JIRA_AREA,
    )


def connection_test_row(button_id: str, result_id: str) -> html.Div:
    """A "Test connection" button with the line its result goes to."""
    return html.Div(
        [
            dbc.Button(
                [html.I(className="bi bi-plug me-1"), "Test connection"],
                id=button_id,
                type="button",
                color="secondary",
                outline=True,
                size="sm",
            ),
            html.Div(id=result_id, className="flex-grow-1", role="status"),
        ],
        className="d-flex align-items-start gap-2 mb-2",
    )


def connection_test_result(ok: bool, message: str) -> dbc.Alert:
    """The line under Test connection: green when connected, red with Jira's words when not."""
    icon = "bi-check-circle-fill" if ok else "bi-x-octagon-fill"
    return dbc.Alert([html.I(className=f"bi {icon} me-2"), message], color="success" if ok else "danger",
                     class_name="py-1 px-2 mb-0 small")
