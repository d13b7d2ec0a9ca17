"""The field-mapping modal: one tab per section, a searchable dropdown per mapping, errors under each input.

Pure layout. Every input stays mounted (Bootstrap tab panes are hidden, not removed), so unsaved edits
survive switching tabs. Inputs carry pattern-matching ids (``ids.FieldMapping.field(key)`` for a Jira
field, ``ids.FieldMapping.name_list(key)`` for a list of names) with the error text below each in
``field_error(key)`` / ``name_list_error(key)``; callbacks fill options and values after the modal opens.
The spinner (``LOADING``), the load error with its Retry button and the form are toggled with ``HIDDEN`` /
``SHOWN`` and ``is_open``. Unsaved edits are never dropped silently: Cancel, the header's X and Escape ask
"Discard changes?" first (``DISCARD_CONFIRM``) while the values differ from those loaded, and a disabled
Save says why next to it (``SAVE_HINT``).

The texts that name the source (the spinner, the section intros, the help under each input) carry a
``wording_id(slot)``: the layout words them for Jira and ``dialog_wording`` gives their Azure DevOps words.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from ui import ids
from ui.page import HIDDEN

if TYPE_CHECKING:
    from data.services.mapping_service import FormItem, FormSection

INVALID_CLASS = "border border-danger rounded"
LOADING_SLOT = "loading"
LOADING_TEXT = "Loading the Jira fields…"
# Azure DevOps' words for the slots whose Jira text names Jira or Jira-only fields.
_AZURE_DEVOPS_WORDING: dict[str, str] = {
    LOADING_SLOT: "Loading the Azure DevOps fields…",
    "intro.dora": "The Azure DevOps fields that describe deployments and incidents.",
    "help.team_field": "Area Path (each area is a team), the project or a custom field. Not mapped: no team "
                       "selector.",
}


def wording_id(slot: Any) -> dict[str, Any]:
    """A text that names the source (``slot`` like ``intro.dora``; ``dash.ALL`` for all of them)."""
    return ids.FieldMapping.wording(slot)


def _intro_slot(section: FormSection) -> str:
    return f"intro.{section.section_id}"


def _help_slot(item: FormItem) -> str:
    return f"help.{item.key}"


def dialog_wording(sections: Sequence[FormSection], source: str) -> dict[str, str]:
    """Every slot's text for ``source`` (``azure_devops``; anything else gets the layout's Jira words)."""
    wording = {LOADING_SLOT: LOADING_TEXT}
    for section in sections:
        wording[_intro_slot(section)] = section.intro
        wording.update({_help_slot(item): item.help for item in section.items})
    if source == "azure_devops":
        wording.update({slot: text for slot, text in _AZURE_DEVOPS_WORDING.items() if slot in wording})
    return wording


def _input(item: FormItem) -> dcc.Dropdown:
    if item.multi:
        return dcc.Dropdown(id=ids.FieldMapping.name_list(item.key), options=[], value=[], multi=True,
                            searchable=True, clearable=True, placeholder="Pick or type names")
    return dcc.Dropdown(id=ids.FieldMapping.field(item.key), options=[], value=None, searchable=True,
                        clearable=True, placeholder="Not mapped: search by name, id or type")


def _error_id(item: FormItem) -> dict:
    make = ids.FieldMapping.name_list_error if item.multi else ids.FieldMapping.field_error
    return make(item.key)


def _form_item(item: FormItem) -> dbc.Col:
    return dbc.Col(
        html.Div(
            [
                dbc.Label(item.label, class_name="fw-semibold mb-1"),
                _input(item),
                html.Div(id=_error_id(item), className="small text-danger mt-1", role="alert"),
                dbc.FormText(item.help, id=wording_id(_help_slot(item))),
            ],
            className=f"mapping-item mapping-item-{item.key.replace('.', '-')}",
        ),
        md=6,
        class_name="mb-3",
    )


def _section_tab(section: FormSection) -> dbc.Tab:
    return dbc.Tab(
        html.Div(
            [
                html.P(section.intro, id=wording_id(_intro_slot(section)), className="text-body-secondary small mt-3"),
                dbc.Row([_form_item(item) for item in section.items]),
            ]
        ),
        label=section.title,
        tab_id=section.section_id,
    )


def field_mapping_modal(sections: Sequence[FormSection]) -> dbc.Modal:
    """The closed modal with empty inputs for ``sections`` (``data.services.mapping_service.FORM_SECTIONS``)."""
    body = dbc.ModalBody(
        [
            dcc.Store(id=ids.FieldMapping.LOAD_REQUEST),
            html.P(id=ids.FieldMapping.SOURCE, className="small text-body-secondary mb-2"),
            html.Div(
                html.Div([dbc.Spinner(size="sm", spinner_class_name="me-2"),
                          html.Span(LOADING_TEXT, id=wording_id(LOADING_SLOT))],
                         className="d-flex align-items-center my-3"),
                id=ids.FieldMapping.LOADING,
                style=HIDDEN,
                role="status",
            ),
            dbc.Alert(
                [
                    html.Div(id=ids.FieldMapping.LOAD_ERROR_TEXT, className="mb-2"),
                    dbc.Button(
                        [html.I(className="bi bi-arrow-repeat me-1"), "Retry"],
                        id=ids.FieldMapping.RETRY_BUTTON,
                        color="danger",
                        outline=True,
                        size="sm",
                    ),
                ],
                id=ids.FieldMapping.LOAD_ERROR,
                color="danger",
                is_open=False,
            ),
            dbc.Alert(id=ids.FieldMapping.SUMMARY, color="danger", is_open=False),
            html.Div(
                dbc.Tabs([_section_tab(section) for section in sections], id=ids.FieldMapping.TABS,
                         active_tab=sections[0].section_id if sections else None),
                id=ids.FieldMapping.FORM,
                style=HIDDEN,
            ),
        ]
    )
    footer = dbc.ModalFooter(
        [
            _discard_confirm(),
            html.Div(id=ids.FieldMapping.SAVE_HINT, className="save-hint small text-body-secondary me-auto",
                     role="status"),
            dbc.Button("Cancel", id=ids.FieldMapping.CLOSE_BUTTON, color="secondary", outline=True),
            # A disabled button gets no pointer events: the wrapper carries the reason as a tooltip.
            html.Span(
                dbc.Button(
                    [html.I(className="bi bi-check2 me-1"), "Save mappings"],
                    id=ids.FieldMapping.SAVE_BUTTON,
                    color="primary",
                    disabled=True,
                ),
                id=ids.FieldMapping.SAVE_WRAPPER,
                className="d-inline-block",
            ),
        ]
    )
    header = dbc.ModalHeader(
        [
            dbc.ModalTitle("Configure Field Mappings"),
            html.Button(id=ids.FieldMapping.DISMISS_BUTTON, type="button", className="btn-close",
                        **{"aria-label": "Close"}),
        ],
        close_button=False,
    )
    # Escape closes the modal only while nothing is edited: callbacks.field_mapping_discard sets
    # ``keyboard`` False while there are edits (assets/field_mapping_keys.js then asks instead).
    return dbc.Modal(
        [dcc.Store(id=ids.FieldMapping.BASELINE), dcc.Store(id=ids.FieldMapping.DIRTY, data=False),
         header, body, footer],
        id=ids.FieldMapping.MODAL,
        is_open=False,
        size="xl",
        scrollable=True,
        backdrop="static",
        keyboard=True,
    )


def _discard_confirm() -> html.Div:
    """"Discard changes?" with its two answers, shown when Cancel, X or Escape is used with unsaved edits.

    "Discard changes" is ``CANCEL_BUTTON``: the button that closes the modal without saving."""
    return html.Div(
        html.Div(
            [
                html.Span(
                    [html.I(className="bi bi-exclamation-triangle-fill text-warning me-2",
                            **{"aria-hidden": "true"}),
                     html.Strong("Discard changes?"), " Your edits are not saved."],
                    className="me-auto",
                ),
                dbc.Button("Keep editing", id=ids.FieldMapping.KEEP_EDITING_BUTTON, color="secondary",
                           outline=True, size="sm"),
                dbc.Button("Discard changes", id=ids.FieldMapping.CANCEL_BUTTON, color="danger", size="sm"),
            ],
            className="d-flex flex-wrap align-items-center gap-2",
        ),
        id=ids.FieldMapping.DISCARD_CONFIRM,
        style=HIDDEN,
        className="discard-confirm alert alert-warning w-100 py-2 mb-2",
        role="alertdialog",
        **{"aria-label": "Discard changes?"},
    )


def summary_content(summary: str, problems: Sequence[tuple[str, str]]) -> list:
    """The alert above the tabs: the summary line and one "Section · Input: message" line per problem."""
    return [
        html.Strong(summary),
        html.Ul([html.Li(f"{where}: {message}") for where, message in problems], className="mb-0 mt-1"),
    ]
