"""Update Data: a background callback with progress and Cancel; the page stays usable meanwhile.

Success bumps the data-version store (the cards refresh) and shows a toast with the counts; a failure shows
Jira's message and leaves the previous data and cards untouched.

Dash keys a background job by the callback's source and its arguments, and a poll that finds a result under
that key ends the job it belongs to. Two tabs clicking once each would send identical arguments (``n_clicks``
1) and share one key, so the second tab's quick "already running" answer ended the first tab's update. The
page's tab id (a fresh value per page load, ``ids.Stores.TAB_ID``) is therefore an argument: each tab's job
has its own key, and the second tab is told that an update is running while the first one carries on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dash
from dash import Input, Output, Patch, State

from configuration.settings import SettingsError
from data.services.dashboard_service import UpdateAlreadyRunning, run_update
from data.services.update_messages import describe_failure, describe_result
from ui import ids
from ui.formatting import format_progress
from ui.page import HIDDEN, SHOWN, toast


def update_data(set_progress: Callable[[tuple], None], _clicks: int | None,
                _tab_id: str | None = None) -> tuple[Any, Patch]:
    """Run one update; returns (new data version or no_update, a toast appended to the container).

    ``_tab_id`` is unused here: it only makes each tab's background job key differ (see the module docstring).
    """
    toasts = Patch()
    percent = [0]

    def report(done: int, total: int | None) -> None:
        percent[0] = round(100 * done / total) if total else 0
        set_progress((percent[0], format_progress(done, total)))

    def report_retry(message: str) -> None:  # "Jira busy (HTTP 429), retry 2 of 4 in 5 s" in the progress line
        set_progress((percent[0], message))

    try:  # the service reads app_settings.json and refuses a broken one
        result = run_update(progress=report, on_retry=report_retry)
    except (UpdateAlreadyRunning, SettingsError) as error:
        toasts.append(toast(str(error), header="Update Data", icon="warning"))
        return dash.no_update, toasts
    except Exception as error:  # every failure becomes a message; the previous data stays
        toasts.append(toast(describe_failure(error), header="Update failed", icon="danger"))
        return dash.no_update, toasts
    toasts.append(toast(describe_result(result), header="Data updated", icon="success"))
    return result.data_version, toasts


CANCELLED = "Update cancelled: nothing was changed, the previous data is kept."


def announce_cancel(_clicks: int | None) -> Patch:
    """Cancel ends the background job without a result of its own, so this callback says what happened."""
    toasts = Patch()
    toasts.append(toast(CANCELLED, header="Update Data", icon="info"))
    return toasts


def register(app: dash.Dash) -> None:
    app.callback(
        Output(ids.Toasts.CONTAINER, "children", allow_duplicate=True),
        Input(ids.Navbar.CANCEL_BUTTON, "n_clicks"),
        prevent_initial_call=True,
    )(announce_cancel)
    app.callback(
        Output(ids.Stores.DATA_VERSION, "data"),
        Output(ids.Toasts.CONTAINER, "children"),
        Input(ids.Navbar.UPDATE_BUTTON, "n_clicks"),
        State(ids.Stores.TAB_ID, "data"),
        background=True,
        running=[
            (Output(ids.Navbar.UPDATE_BUTTON, "disabled"), True, False),
            (Output(ids.Navbar.CANCEL_BUTTON, "style"), SHOWN, HIDDEN),
            (Output(ids.UpdateProgress.AREA, "style"), SHOWN, HIDDEN),
        ],
        progress=[Output(ids.UpdateProgress.BAR, "value"), Output(ids.UpdateProgress.TEXT, "children")],
        cancel=[Input(ids.Navbar.CANCEL_BUTTON, "n_clicks")],
        prevent_initial_call=True,
    )(update_data)
