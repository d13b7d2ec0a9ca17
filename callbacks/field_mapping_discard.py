"""Field-mapping modal: unsaved edits are never dropped without asking, and a disabled Save says why.

Edits: the values as loaded are the baseline (kept in ``FM.BASELINE`` each time the form is shown or hidden);
while the values differ from it the form is dirty (``FM.DIRTY``) and the modal's ``keyboard`` is off, so
Escape no longer closes it (``backdrop`` is already "static"). Cancel, the header's X and Escape (through
``assets/field_mapping_keys.js``) then show "Discard changes?": "Keep editing" hides the question, "Discard
changes" is ``FM.CANCEL_BUTTON``, the close-without-saving that ``callbacks.field_mapping`` handles. Without
edits they close the modal at once, as before.

Save: disabled while the fields load, after a load error, and whenever ``callbacks.field_mapping`` turns
it off for another reason (told in the source line); ``save_hint`` puts that reason next to the button.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, Input, Output, State

from ui import ids
from ui.page import HIDDEN, SHOWN

FM = ids.FieldMapping
CLOSE_REQUESTS = (FM.CLOSE_BUTTON, FM.DISMISS_BUTTON)
LOADING_HINT = "Save turns on when the Jira fields have loaded."
LOAD_ERROR_HINT = "Save needs the Jira fields: fix the problem shown above, then click Retry."
OTHER_HINT = "Save is off: the note at the top of this dialog says why."
DIRTY_CLASS = "field-mapping-dirty"  # on the modal content while there are edits (read by the Escape handler)

TRACK_EDITS = f"""
function(formStyle, fieldValues, listValues, baseline) {{
    const current = JSON.stringify([fieldValues || [], listValues || []]);
    const triggered = (dash_clientside.callback_context.triggered || []).map(item => item.prop_id);
    if (triggered.includes('{FM.FORM}.style') || baseline === null || baseline === undefined) {{
        return [current, false, true, ''];
    }}
    const dirty = current !== baseline;
    return [dash_clientside.no_update, dirty, !dirty, dirty ? '{DIRTY_CLASS}' : ''];
}}
"""


def answer_close_request(trigger: Any, dirty: bool | None) -> tuple[Any, dict[str, str]]:
    """(modal is_open, discard-question style) after ``trigger`` was clicked.

    Cancel or X: close at once without edits, else ask. Any other trigger (Keep editing, Discard changes,
    Save, a new load) hides the question and leaves the modal to its own callbacks."""
    if trigger in CLOSE_REQUESTS:
        return (dash.no_update, SHOWN) if dirty else (False, HIDDEN)
    return dash.no_update, HIDDEN


def save_hint(loading_style: dict[str, Any] | None, load_error_open: bool | None,
              save_disabled: bool | None) -> str:
    """Why Save is disabled, in one sentence; empty when it is enabled."""
    if not save_disabled:
        return ""
    if loading_style != HIDDEN:
        return LOADING_HINT
    if load_error_open:
        return LOAD_ERROR_HINT
    return OTHER_HINT


def _clicked() -> Any:
    """The id of the button really clicked (a re-rendered button fires with n_clicks None)."""
    if not any(item.get("value") for item in dash.ctx.triggered):
        raise dash.exceptions.PreventUpdate
    return dash.ctx.triggered_id


def register(app: dash.Dash) -> None:
    app.clientside_callback(
        TRACK_EDITS,
        Output(FM.BASELINE, "data"),
        Output(FM.DIRTY, "data"),
        Output(FM.MODAL, "keyboard"),
        Output(FM.MODAL, "content_class_name"),
        Input(FM.FORM, "style"),
        Input(FM.field(ALL), "value"),
        Input(FM.name_list(ALL), "value"),
        State(FM.BASELINE, "data"),
        prevent_initial_call=True,
    )
    app.callback(
        Output(FM.MODAL, "is_open", allow_duplicate=True),
        Output(FM.DISCARD_CONFIRM, "style"),
        Input(FM.CLOSE_BUTTON, "n_clicks"),
        Input(FM.DISMISS_BUTTON, "n_clicks"),
        Input(FM.KEEP_EDITING_BUTTON, "n_clicks"),
        Input(FM.CANCEL_BUTTON, "n_clicks"),
        Input(FM.SAVE_BUTTON, "n_clicks"),
        State(FM.DIRTY, "data"),
        prevent_initial_call=True,
    )(lambda *args: answer_close_request(_clicked(), args[-1]))
    app.callback(
        Output(FM.DISCARD_CONFIRM, "style", allow_duplicate=True),
        Input(FM.LOAD_REQUEST, "data"),
        prevent_initial_call=True,
    )(lambda _request: HIDDEN)
    app.callback(
        Output(FM.SAVE_HINT, "children"),
        Output(FM.SAVE_WRAPPER, "title"),
        Input(FM.LOADING, "style"),
        Input(FM.LOAD_ERROR, "is_open"),
        Input(FM.SOURCE, "children"),
        State(FM.SAVE_BUTTON, "disabled"),
        prevent_initial_call=True,
    )(lambda loading, error_open, _source, disabled: (save_hint(loading, error_open, disabled),) * 2)
