"""Update Data: a background callback with progress and Cancel; the page stays usable meanwhile.

Success bumps the data-version store (the cards refresh) and shows a toast with the counts; a failure shows
Jira's message and leaves the previous data and cards untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dash
from dash import Input, Output, Patch

from configuration.settings import SettingsError, load_app_settings
from data.services.dashboard_service import UpdateAlreadyRunning, effective_settings, run_update
from data.services.update_messages import describe_failure, describe_result
from ui import ids
from ui.formatting import format_progress
from ui.page import HIDDEN, SHOWN, toast


def update_data(set_progress: Callable[[tuple], None], _clicks: int | None) -> tuple[Any, Patch]:
    """Run one update; returns (new data version or no_update, a toast appended to the container)."""
    toasts = Patch()

    def report(done: int, total: int | None) -> None:
        percent = round(100 * done / total) if total else 0
        set_progress((percent, format_progress(done, total)))

    try:
        settings = effective_settings(load_app_settings())
        result = run_update(settings, progress=report)
    except (UpdateAlreadyRunning, SettingsError) as error:
        toasts.append(toast(str(error), header="Update Data", icon="warning"))
        return dash.no_update, toasts
    except Exception as error:  # every failure becomes a message; the previous data stays
        toasts.append(toast(describe_failure(error), header="Update failed", icon="danger"))
        return dash.no_update, toasts
    toasts.append(toast(describe_result(result), header="Data updated", icon="success"))
    return result.data_version, toasts


def register(app: dash.Dash) -> None:
    app.callback(
        Output(ids.Stores.DATA_VERSION, "data"),
        Output(ids.Toasts.CONTAINER, "children"),
        Input(ids.Navbar.UPDATE_BUTTON, "n_clicks"),
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
