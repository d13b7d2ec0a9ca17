"""The Data source dialog: Jira or Azure DevOps, each with its own fields, Test connection and Save.

Pure layout. The source choice (``AzureDevOpsSettings.SOURCE``) shows one side and hides the other
(``source_area_styles``), its Save button included, so Save always stores the side the user sees. Token
inputs are password fields the server never fills: a status line under each says whether a token is set and
where it comes from. The message area, Cancel and "Use demo data" are shared.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from ui import ids
from ui.jira_settings_modal import KEEP_TOKEN_PLACEHOLDER, connection_test_row, form_field, jira_connection_area
from ui.page import HIDDEN, SHOWN

ADO = ids.AzureDevOpsSettings
SOURCE_OPTIONS: tuple[tuple[str, str], ...] = (("jira", "Jira"), ("azure_devops", "Azure DevOps"))
WIQL_EXAMPLE = "[System.AreaPath] UNDER 'Fabrikam\\Payments'"


def source_area_styles(source: str | None) -> dict[str, dict[str, str]]:
    """Styles of each side's fields and Save button for the chosen source (Jira unless Azure DevOps)."""
    ado = source == "azure_devops"
    return {"jira": HIDDEN if ado else SHOWN, "azure_devops": SHOWN if ado else HIDDEN}


def azure_devops_area() -> html.Div:
    """The Azure DevOps side: organization URL, project, WIQL filter, personal access token, Test connection."""
    return html.Div(
        [
            form_field(
                "Organization URL",
                dbc.Input(id=ADO.ORGANIZATION_URL, type="url", placeholder="https://dev.azure.com/your-organization"),
                dbc.FormFeedback(id=ADO.ORGANIZATION_URL_FEEDBACK, type="invalid"),
                dbc.FormText("Azure DevOps Server: the collection URL, e.g. https://tfs.example.com/tfs/Default."),
            ),
            form_field(
                "Project",
                dbc.Input(id=ADO.PROJECT, type="text", placeholder="Fabrikam"),
                dbc.FormFeedback(id=ADO.PROJECT_FEEDBACK, type="invalid"),
            ),
            form_field(
                "Personal access token (PAT)",
                dbc.Input(id=ADO.PAT, type="password", value="", autocomplete="new-password",
                          placeholder=KEEP_TOKEN_PLACEHOLDER),
                dbc.FormText(id=ADO.PAT_STATUS),
                dbc.FormText("It needs the scopes Work Items (Read) and Project and Team (Read).",
                             class_name="d-block"),
            ),
            form_field(
                "WIQL filter",
                dbc.Textarea(id=ADO.WIQL_FILTER, rows=3, placeholder=WIQL_EXAMPLE),
                dbc.FormFeedback(id=ADO.WIQL_FILTER_FEEDBACK, type="invalid"),
                dbc.FormText("A WIQL WHERE condition bounding the work items; empty: the whole project."),
            ),
            connection_test_row(ADO.TEST_BUTTON, ADO.TEST_RESULT),
        ],
        id=ADO.AREA,
        style=HIDDEN,
    )


def data_source_modal() -> dbc.Modal:
    """The closed dialog; the open callbacks fill it from the stored settings."""
    fields = [
        html.P(
            "Tokens are saved in a separate file readable only by you (or read from JIRA_API_TOKEN / JIRA_PAT / "
            "AZURE_DEVOPS_PAT in the environment), never in app_settings.json and never sent back to the "
            "browser. A saved token is only sent to the site it was saved for: after changing the URL to "
            "another site, enter the token again.",
            className="small text-body-secondary",
        ),
        form_field(
            "Source",
            dbc.RadioItems(
                id=ADO.SOURCE,
                options=[{"label": label, "value": value} for value, label in SOURCE_OPTIONS],
                value="jira",
                inline=True,
            ),
        ),
        jira_connection_area(),
        azure_devops_area(),
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
            dbc.Button([html.I(className="bi bi-check2 me-1"), "Save"], id=ADO.SAVE_BUTTON, color="primary",
                       style=HIDDEN),
        ]
    )
    return dbc.Modal(
        [dbc.ModalHeader(dbc.ModalTitle("Data source")), body, footer],
        id=ids.JiraSettings.MODAL,
        is_open=False,
        size="lg",
        scrollable=True,
    )
