"""Light/dark switch: Bootstrap 5.3 colour modes, applied in the browser (no server round trip).

The switch uses Dash persistence (local storage), so a reload restores it and this callback re-applies it.
"""

from __future__ import annotations

import dash
from dash import Input, Output

from ui import ids

APPLY_THEME = """
function(dark) {
    const theme = dark ? 'dark' : 'light';
    document.documentElement.setAttribute('data-bs-theme', theme);
    return theme;
}
"""


def register(app: dash.Dash) -> None:
    app.clientside_callback(APPLY_THEME, Output(ids.Stores.THEME, "data"), Input(ids.Navbar.THEME_SWITCH, "value"))
