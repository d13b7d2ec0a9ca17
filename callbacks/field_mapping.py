"""Field-mapping modal: open → load the source's fields (spinner; error with Retry) → edit → save or cancel.

State machine (seed 001): CLOSED -open-> LOADING -fields-> EDITING -save-> VALIDATING -> SAVING -> SAVED
(modal closes, toast, settings version bumped so the cards recompute) or ERROR (messages next to the
inputs, nothing written) -> EDITING. With the demo data the form is view-only: Save is disabled and the
source line says why (the service refuses a save too). Cancel closes without saving; every open reloads the
saved values, so unsaved edits are discarded. Each open also words the texts that name the source for
the chosen one (Jira or Azure DevOps). Each function here is plain Python over the callback's values (inputs of
pattern-matching ids arrive as parallel lists of values and ids), so tests call them directly.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import dash
from dash import ALL, MATCH, Input, Output, Patch, State

from configuration.settings import SettingsError, load_app_settings
from data.services.mapping_service import (
    FORM_SECTIONS,
    LABEL_OF,
    SECTION_OF,
    MappingForm,
    load_mapping_form,
    options_with_typed_name,
    save_mapping_form,
    source_of,
)
from ui import ids
from ui.field_mapping_modal import INVALID_CLASS, dialog_wording, summary_content, wording_id
from ui.page import HIDDEN, SHOWN, toast

FM = ids.FieldMapping
KeyedIds = Sequence[dict[str, Any]]


def toggle_field_mapping(action: str | None) -> tuple:
    """(is_open, load request, spinner style, form style, load-error open, summary open, save disabled).

    ``action`` is "open", "retry" or "cancel"; None (a card re-rendered its button) changes nothing.
    """
    if action == "cancel":
        return False, dash.no_update, HIDDEN, HIDDEN, False, False, True
    if action in ("open", "retry"):
        request = {"refresh": action == "retry", "at": time.time_ns()}
        return True, request, SHOWN, HIDDEN, False, False, True
    raise dash.exceptions.PreventUpdate


def _keys(id_list: KeyedIds) -> list[str]:
    return [item["key"] for item in id_list]


def load_field_mapping(request: dict[str, Any] | None, field_ids: KeyedIds, list_ids: KeyedIds) -> tuple:
    """Fill the form from the saved settings: (field options, field values, list options, list values,
    field errors, field classes, list errors, list classes, source text, load-error text, load-error open,
    spinner style, form style, save disabled)."""
    try:
        form = load_mapping_form(load_app_settings(), refresh=bool((request or {}).get("refresh")))
    except SettingsError as error:
        form = MappingForm(values={}, error=f"{error}. Fix the settings file, then retry.")
    field_keys, list_keys = _keys(field_ids), _keys(list_ids)
    cleared = ([""] * len(field_keys), [""] * len(field_keys), [""] * len(list_keys), [""] * len(list_keys))
    if form.error:  # keep the inputs as they are (a wildcard output takes one no_update per input)
        kept = tuple([dash.no_update] * len(keys) for keys in (field_keys, field_keys, list_keys, list_keys))
        return (*kept, *cleared, form.source, form.error, True, HIDDEN, HIDDEN, True)
    source = f"{form.source}. {form.save_refused}" if form.save_refused else form.source
    return (
        [form.options.get(key, []) for key in field_keys],
        [form.values.get(key) for key in field_keys],
        [form.options.get(key, []) for key in list_keys],
        [form.values.get(key) or [] for key in list_keys],
        *cleared,
        source,
        "",
        False,
        HIDDEN,
        SHOWN,
        form.save_refused is not None,
    )


def word_field_mapping(_request: dict[str, Any] | None, wording_ids: KeyedIds) -> list[str]:
    """The texts that name the source, worded for the chosen source (Jira's words if the settings are
    unreadable: the load then says what is wrong with them)."""
    try:
        source = source_of(load_app_settings())
    except SettingsError:
        source = "jira"
    wording = dialog_wording(FORM_SECTIONS, source)
    return [wording.get(key, dash.no_update) for key in _keys(wording_ids)]


def save_field_mapping(field_values: list[Any], field_ids: KeyedIds, list_values: list[Any],
                       list_ids: KeyedIds) -> tuple:
    """Validate and save: (field errors, field classes, list errors, list classes, summary, summary open,
    modal open, toasts, settings version)."""
    values = dict(zip(_keys(field_ids), field_values, strict=True))
    values.update(zip(_keys(list_ids), list_values, strict=True))
    try:
        result = save_mapping_form(values, load_app_settings())
    except SettingsError as error:
        return _errors_out({}, field_ids, list_ids, f"The settings file cannot be used: {error}")
    if not result.saved:
        return _errors_out(result.errors, field_ids, list_ids, result.summary)
    toasts = Patch()
    toasts.append(toast(result.message, header="Field mappings", icon="success"))
    field_blank, list_blank = [""] * len(field_ids), [""] * len(list_ids)
    return field_blank, field_blank, list_blank, list_blank, "", False, False, toasts, result.last_updated


def _errors_out(errors: dict[str, str], field_ids: KeyedIds, list_ids: KeyedIds, summary: str) -> tuple:
    def messages(id_list: KeyedIds) -> list[str]:
        return [errors.get(key, "") for key in _keys(id_list)]

    def classes(id_list: KeyedIds) -> list[str]:
        return [INVALID_CLASS if key in errors else "" for key in _keys(id_list)]

    problems = [(_where(key), message) for key, message in errors.items()]
    content = summary_content(summary, problems) if problems else summary
    return (messages(field_ids), classes(field_ids), messages(list_ids), classes(list_ids), content, True,
            dash.no_update, dash.no_update, dash.no_update)


def _where(key: str) -> str:
    section = SECTION_OF.get(key)
    return f"{section.title} · {LABEL_OF[key]}" if section else key


def offer_typed_name(search: str | None, selected: list[str] | None,
                     options: list[dict] | None) -> list[dict]:
    """Options of a list input plus what the user is typing, so a name not seen in the data can be added."""
    return options_with_typed_name(options, selected, search)


def _action() -> str | None:
    """Which button was really clicked (a re-rendered card button fires with n_clicks None)."""
    clicked = [item for item in dash.ctx.triggered if item.get("value")]
    if not clicked:
        return None
    trigger = dash.ctx.triggered_id
    if trigger == FM.CANCEL_BUTTON:
        return "cancel"
    return "retry" if trigger == FM.RETRY_BUTTON else "open"


def register(app: dash.Dash) -> None:
    field_all, list_all = FM.field(ALL), FM.name_list(ALL)
    app.callback(
        Output(FM.MODAL, "is_open"),
        Output(FM.LOAD_REQUEST, "data"),
        Output(FM.LOADING, "style"),
        Output(FM.FORM, "style"),
        Output(FM.LOAD_ERROR, "is_open"),
        Output(FM.SUMMARY, "is_open"),
        Output(FM.SAVE_BUTTON, "disabled"),
        Input(ids.Navbar.OPEN_FIELD_MAPPING, "n_clicks"),
        Input(ids.map_fields_button(ALL), "n_clicks"),
        Input(FM.RETRY_BUTTON, "n_clicks"),
        Input(FM.CANCEL_BUTTON, "n_clicks"),
        prevent_initial_call=True,
    )(lambda *_: toggle_field_mapping(_action()))
    app.callback(
        Output(field_all, "options"),
        Output(field_all, "value"),
        Output(list_all, "options"),
        Output(list_all, "value"),
        Output(FM.field_error(ALL), "children"),
        Output(field_all, "className"),
        Output(FM.name_list_error(ALL), "children"),
        Output(list_all, "className"),
        Output(FM.SOURCE, "children"),
        Output(FM.LOAD_ERROR_TEXT, "children"),
        Output(FM.LOAD_ERROR, "is_open", allow_duplicate=True),
        Output(FM.LOADING, "style", allow_duplicate=True),
        Output(FM.FORM, "style", allow_duplicate=True),
        Output(FM.SAVE_BUTTON, "disabled", allow_duplicate=True),
        Input(FM.LOAD_REQUEST, "data"),
        State(field_all, "id"),
        State(list_all, "id"),
        prevent_initial_call=True,
    )(load_field_mapping)
    app.callback(
        Output(wording_id(ALL), "children"),
        Input(FM.LOAD_REQUEST, "data"),
        State(wording_id(ALL), "id"),
        prevent_initial_call=True,
    )(word_field_mapping)
    app.callback(
        Output(FM.field_error(ALL), "children", allow_duplicate=True),
        Output(field_all, "className", allow_duplicate=True),
        Output(FM.name_list_error(ALL), "children", allow_duplicate=True),
        Output(list_all, "className", allow_duplicate=True),
        Output(FM.SUMMARY, "children"),
        Output(FM.SUMMARY, "is_open", allow_duplicate=True),
        Output(FM.MODAL, "is_open", allow_duplicate=True),
        Output(ids.Toasts.CONTAINER, "children", allow_duplicate=True),
        Output(ids.Stores.SETTINGS_VERSION, "data", allow_duplicate=True),
        Input(FM.SAVE_BUTTON, "n_clicks"),
        State(field_all, "value"),
        State(field_all, "id"),
        State(list_all, "value"),
        State(list_all, "id"),
        running=[(Output(FM.SAVE_BUTTON, "disabled"), True, False)],
        prevent_initial_call=True,
    )(lambda _clicks, *states: save_field_mapping(*states))
    app.callback(
        Output(FM.name_list(MATCH), "options"),
        Input(FM.name_list(MATCH), "search_value"),
        State(FM.name_list(MATCH), "value"),
        State(FM.name_list(MATCH), "options"),
        prevent_initial_call=True,
    )(offer_typed_name)
