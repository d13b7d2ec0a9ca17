"""The Export menu of the navbar, its downloads, and the snapshot import dialog.

Pure layout. ``export_menu()`` goes in the navbar; ``export_components()`` once in the page (the
``dcc.Download`` targets and the import dialog live outside the menu). "Import snapshots…" opens a small
dialog with a drop zone, which has room to say how the file is merged before the user picks it.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from data.services.export_service import MAX_IMPORT_BYTES
from ui import ids

METRIC_EXPORT_ITEMS: tuple[tuple[str, str, str], ...] = (
    (ids.Exports.METRICS_JSON, "Metrics as JSON", "bi-filetype-json"),
    (ids.Exports.METRICS_CSV, "Metrics as CSV", "bi-filetype-csv"),
    (ids.Exports.METRICS_PROMETHEUS, "Metrics as Prometheus text", "bi-file-earmark-text"),
)
"""(id, label, icon) of the metric downloads; the callbacks map the ids to export formats."""


def _item(label: str, icon: str, item_id: str) -> dbc.DropdownMenuItem:
    return dbc.DropdownMenuItem(
        [html.I(className=f"bi {icon} me-2", **{"aria-hidden": "true"}), label], id=item_id
    )


def export_menu() -> dbc.DropdownMenu:
    """"Export" drop-down: the selected period's metrics in three formats, snapshot history, import."""
    return dbc.DropdownMenu(
        [
            dbc.DropdownMenuItem("Metrics for the selected period", header=True),
            *(_item(label, icon, item_id) for item_id, label, icon in METRIC_EXPORT_ITEMS),
            dbc.DropdownMenuItem(divider=True),
            dbc.DropdownMenuItem("Weekly snapshots", header=True),
            _item("Snapshot history (JSON)", "bi-clock-history", ids.Exports.SNAPSHOTS),
            _item("Import snapshots…", "bi-upload", ids.Exports.OPEN_IMPORT),
        ],
        label=html.Span([html.I(className="bi bi-box-arrow-up me-1", **{"aria-hidden": "true"}), "Export"]),
        id=ids.Exports.MENU,
        color="transparent",
        size="sm",
        align_end=True,
        toggle_class_name="btn-outline-secondary",
    )


def import_modal() -> dbc.Modal:
    """The snapshot import dialog: a drop zone for a snapshot history file (as "Snapshot history" writes)."""
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("Import snapshots")),
            dbc.ModalBody(
                [
                    html.P(
                        "Choose a snapshot history file (JSON, as exported from this dashboard). It is merged "
                        "into the stored history: new weeks are added, and a week's entry is replaced only by "
                        "a newer one. Nothing is deleted, and an invalid file changes nothing. Files up to "
                        f"{MAX_IMPORT_BYTES // (1024 * 1024)} MB (a year of weekly snapshots is a few kB).",
                        className="small text-body-secondary",
                    ),
                    dcc.Upload(
                        html.Div(
                            [
                                html.I(className="bi bi-cloud-arrow-up fs-3 d-block mb-1", **{"aria-hidden": "true"}),
                                "Drop a snapshot file here, or ",
                                html.Span("choose a file", className="link-primary text-decoration-underline"),
                            ]
                        ),
                        id=ids.Exports.IMPORT_UPLOAD,
                        accept=".json,application/json",
                        multiple=False,
                        className="import-drop-zone rounded-3 p-4 text-center",
                        style={"border": "2px dashed var(--bs-border-color)", "cursor": "pointer"},
                    ),
                ]
            ),
            dbc.ModalFooter(
                dbc.Button("Close", id=ids.Exports.IMPORT_CLOSE, color="secondary", outline=True, size="sm")
            ),
        ],
        id=ids.Exports.IMPORT_MODAL,
        is_open=False,
    )


def export_components() -> list[Any]:
    """The downloads and the import dialog: place once in the page."""
    return [
        dcc.Download(id=ids.Exports.METRICS_DOWNLOAD),
        dcc.Download(id=ids.Exports.SNAPSHOTS_DOWNLOAD),
        import_modal(),
    ]
