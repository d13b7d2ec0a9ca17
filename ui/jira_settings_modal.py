"""The Jira connection modal: URL, Cloud or Data Center, credentials, JQL, Test connection, Save.

Pure layout. Token inputs are password fields that are never filled by the server: the status line under
each (``API_TOKEN_STATUS`` / ``PAT_STATUS``) says whether a token is set and where it comes from, or which
site a saved one belongs to (a saved token is only sent there, so another URL needs it typed again). The
Cloud credentials (email + API token) and the Data Center one (personal access token) live in two areas
toggled with ``HIDDEN`` / ``SHOWN`` by the chosen deployment.
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


def _field(label: str, control: Any, *extra: Any) -> html.Div:
    return html.Div([dbc.Label(label, class_name="fw-semibold mb-1"), control, *extra], className="mb-3")


def _cloud_credentials() -> html.Div:
    return html.Div(
        [
            _field(
                "Email",
                dbc.Input(id=ids.JiraSettings.EMAIL, type="email", placeholder="you@example.com",
                          autocomplete="username"),
                dbc.FormFeedback(id=ids.JiraSettings.EMAIL_FEEDBACK, type="invalid"),
            ),
            _field(
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
        _field(
            "Personal access token (PAT)",
            dbc.Input(id=ids.JiraSettings.PAT, type="password", value="", autocomplete="new-password",
                      placeholder=KEEP_TOKEN_PLACEHOLDER),
            dbc.FormText(id=ids.JiraSettings.PAT_STATUS),
        ),
        id=ids.JiraSettings.DATACENTER_CREDENTIALS,
        style=HIDDEN,
    )


def jira_settings_modal() -> dbc.Modal:
    """The closed modal; the open callback fills it from the stored settings."""
    fields = [
        html.P(
            "Tokens are saved in a separate file readable only by you (or read from JIRA_API_TOKEN / "
            "JIRA_PAT in the environment), never in app_settings.json and never sent back to the browser. "
            "A saved token is only sent to the site it was saved for: after changing the URL to another "
            "site, enter the token again.",
            className="small text-body-secondary",
        ),
        _field(
            "Jira URL",
            dbc.Input(id=ids.JiraSettings.URL, type="url", placeholder="https://your-site.atlassian.net"),
            dbc.FormFeedback(id=ids.JiraSettings.URL_FEEDBACK, type="invalid"),
        ),
        _field(
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
        _field(
            "JQL",
            dbc.Textarea(id=ids.JiraSettings.JQL, rows=3, placeholder="project = ABC ORDER BY created DESC"),
            dbc.FormFeedback(id=ids.JiraSettings.JQL_FEEDBACK, type="invalid"),
            dbc.FormText("The issues the metrics are computed from."),
        ),
        html.Div(
            [
                dbc.Button(
                    [html.I(className="bi bi-plug me-1"), "Test connection"],
                    id=ids.JiraSettings.TEST_BUTTON,
                    type="button",
                    color="secondary",
                    outline=True,
                    size="sm",
                ),
                html.Div(id=ids.JiraSettings.TEST_RESULT, className="flex-grow-1", role="status"),
            ],
            className="d-flex align-items-start gap-2 mb-2",
        ),
        dbc.Alert(id=ids.JiraSettings.MESSAGE, is_open=False, color="danger", class_name="mb-0"),
    ]
    body = dbc.ModalBody(dbc.Form(fields))  # a form, so browsers treat the password inputs as credentials
    footer = dbc.ModalFooter(
        [
            dbc.Button(
                [html.I(className="bi bi-database me-1"), "Use demo data"],
                id=ids.JiraSettings.USE_DEMO_BUTTON,
                color="secondary",
                outline=True,
                class_name="me-auto",
            ),
            dbc.Button("Cancel", id=ids.JiraSettings.CANCEL_BUTTON, color="secondary", outline=True),
            dbc.Button([html.I(className="bi bi-check2 me-1"), "Save"], id=ids.JiraSettings.SAVE_BUTTON,
                       color="primary"),
        ]
    )
    return dbc.Modal(
        [dbc.ModalHeader(dbc.ModalTitle("Jira settings")), body, footer],
        id=ids.JiraSettings.MODAL,
        is_open=False,
        size="lg",
        scrollable=True,
    )


def connection_test_result(ok: bool, message: str) -> dbc.Alert:
    """The line under Test connection: green when connected, red with Jira's words when not."""
    icon = "bi-check-circle-fill" if ok else "bi-x-octagon-fill"
    return dbc.Alert([html.I(className=f"bi {icon} me-2"), message], color="success" if ok else "danger",
                     class_name="py-1 px-2 mb-0 small")
