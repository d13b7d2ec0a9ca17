"""The notices area: refreshed after every callback that may have found damage, and its Dismiss buttons.

``refresh_notices`` and ``dismiss_and_refresh`` take plain values so tests call them directly; ``register``
only works out which Dismiss button was clicked.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, Input, Output

from data.services.notice_service import dismiss_notice, list_notices
from ui import ids
from ui.notices import notice_children


def refresh_notices() -> list[Any]:
    """The notices area's children now."""
    return notice_children(list_notices())


def dismiss_and_refresh(notice_id: str | None) -> list[Any]:
    """Forget ``notice_id`` (when it is one) in every tab, then the area's children."""
    if notice_id:
        dismiss_notice(notice_id)
    return refresh_notices()


def _clicked_notice() -> str | None:
    trigger = dash.ctx.triggered_id
    clicked = any(item.get("value") for item in dash.ctx.triggered)
    if isinstance(trigger, dict) and trigger.get("type") == ids.Notices.DISMISS and clicked:
        return str(trigger.get("notice"))
    return None


def register(app: dash.Dash) -> None:
    app.callback(
        Output(ids.Notices.AREA, "children"),
        Input(ids.Notices.dismiss(ALL), "n_clicks"),
        # Outputs of the callbacks that read state files, so the refresh runs after them, not beside them:
        # the cards (period, data or settings changed), the drill-down, and every toast (updates, saves, exports).
        Input(ids.Navbar.LAST_UPDATED, "children"),
        Input(ids.Drilldown.TITLE, "children"),
        Input(ids.Toasts.CONTAINER, "children"),
        prevent_initial_call=True,
    )(lambda *_: dismiss_and_refresh(_clicked_notice()))
