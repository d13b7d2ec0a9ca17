"""Navbar: the data-source and last-updated texts carry their full text as a tooltip (``title``).

From 1200 px up the navbar keeps one row and these texts end in an ellipsis when the room runs out (a long
Jira URL); the tooltip keeps the whole text readable. Applied in the browser whenever a callback changes
the texts.
"""

from __future__ import annotations

import dash
from dash import Input, Output

from ui import ids

COPY_TEXT = "function(text) { return Array.isArray(text) ? text.join('') : (text || ''); }"


def register(app: dash.Dash) -> None:
    for text_id in (ids.Navbar.DATA_SOURCE, ids.Navbar.LAST_UPDATED):
        app.clientside_callback(COPY_TEXT, Output(text_id, "title"), Input(text_id, "children"),
                                prevent_initial_call=True)
