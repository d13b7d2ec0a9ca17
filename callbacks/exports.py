"""Export menu: metrics downloads (JSON, CSV, Prometheus), snapshot history download and snapshot import.

``download_metrics``, ``download_snapshots`` and ``import_snapshots_file`` take plain values and return
the outputs, so tests call them directly; ``register`` maps the clicked menu item to a format. Results and
failures are toasts appended to ``ids.Toasts.CONTAINER``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import dash
from dash import Input, Output, Patch, State, dcc

from callbacks.team_selection import team_kwargs
from data.metrics.period_selection import resolve_period
from data.metrics.periods import PeriodError
from data.services.dashboard_service import dashboard_settings
from data.services.export_service import (
    ExportFile,
    ExportUnavailable,
    current_metrics_export,
    import_uploaded_snapshots,
    snapshots_export,
)
from data.services.page_state_service import current_data_version
from ui import ids
from ui.page import toast

logger = logging.getLogger(__name__)

FORMAT_BY_ITEM: dict[str, str] = {
    ids.Exports.METRICS_JSON: "json",
    ids.Exports.METRICS_CSV: "csv",
    ids.Exports.METRICS_PROMETHEUS: "prometheus",
}


def _toast(message: str, header: str, icon: str) -> Patch:
    toasts = Patch()
    toasts.append(toast(message, header=header, icon=icon))
    return toasts


def _send(export: ExportFile) -> dict[str, Any]:
    return dcc.send_string(export.content, export.filename, type=export.media_type)


def download_metrics(fmt: str, period: dict[str, Any] | None, now: datetime | None = None, *,
                     team: str | None = None) -> tuple[Any, Any]:
    """(download or no_update, toast Patch or no_update): the selected period's metrics in ``fmt``, for the
    selected ``team`` (empty or None = all teams), so the file matches the cards on screen."""
    now = now or datetime.now(UTC)
    try:
        selected = resolve_period(period, now.date())
        settings = dashboard_settings().settings
        return _send(current_metrics_export(fmt, settings, selected, now, **team_kwargs(team))), dash.no_update
    except (ExportUnavailable, PeriodError) as error:
        return dash.no_update, _toast(str(error), "Export", "warning")
    except Exception as error:  # a failed export is a message, never a traceback
        logger.exception("Metrics export failed", extra={"format": fmt})
        return dash.no_update, _toast(f"The metrics could not be exported: {error}", "Export failed", "danger")


def download_snapshots(now: datetime | None = None) -> tuple[Any, Any]:
    """(download or no_update, toast Patch or no_update): the whole weekly snapshot history as JSON."""
    now = now or datetime.now(UTC)
    try:
        return _send(snapshots_export(now.date())), dash.no_update
    except Exception as error:  # e.g. an unreadable snapshot file: say so, change nothing
        logger.exception("Snapshot export failed")
        return dash.no_update, _toast(f"The snapshot history could not be exported: {error}", "Export failed",
                                      "danger")


def import_snapshots_file(contents: str | None, filename: str | None) -> tuple[Any, Any, Any]:
    """(toast Patch, import dialog open?, data version to refresh the cards or no_update) after an upload."""
    if not contents:
        return dash.no_update, dash.no_update, dash.no_update
    outcome = import_uploaded_snapshots(contents, filename)
    if not outcome.ok:
        return _toast(outcome.message, "Import failed", "danger"), False, dash.no_update
    version = current_data_version()
    refresh = version if outcome.changed and version else dash.no_update
    return _toast(outcome.message, "Snapshots imported", "success"), False, refresh


def _toggle_import(_open_clicks: Any, _close_clicks: Any) -> bool:
    return dash.ctx.triggered_id == ids.Exports.OPEN_IMPORT


def register(app: dash.Dash) -> None:
    app.callback(
        Output(ids.Exports.METRICS_DOWNLOAD, "data"),
        Output(ids.Toasts.CONTAINER, "children", allow_duplicate=True),
        *(Input(item, "n_clicks") for item in FORMAT_BY_ITEM),
        State(ids.Stores.PERIOD, "data"),
        State(ids.Teams.SELECTOR, "value"),
        prevent_initial_call=True,
    )(lambda *args: download_metrics(FORMAT_BY_ITEM[dash.ctx.triggered_id], args[-2], team=args[-1]))
    app.callback(
        Output(ids.Exports.SNAPSHOTS_DOWNLOAD, "data"),
        Output(ids.Toasts.CONTAINER, "children", allow_duplicate=True),
        Input(ids.Exports.SNAPSHOTS, "n_clicks"),
        prevent_initial_call=True,
    )(lambda _clicks: download_snapshots())
    app.callback(
        Output(ids.Exports.IMPORT_MODAL, "is_open"),
        Input(ids.Exports.OPEN_IMPORT, "n_clicks"),
        Input(ids.Exports.IMPORT_CLOSE, "n_clicks"),
        prevent_initial_call=True,
    )(_toggle_import)
    app.callback(
        Output(ids.Toasts.CONTAINER, "children", allow_duplicate=True),
        Output(ids.Exports.IMPORT_MODAL, "is_open", allow_duplicate=True),
        Output(ids.Stores.DATA_VERSION, "data", allow_duplicate=True),
        Input(ids.Exports.IMPORT_UPLOAD, "contents"),
        State(ids.Exports.IMPORT_UPLOAD, "filename"),
        prevent_initial_call=True,
    )(import_snapshots_file)
