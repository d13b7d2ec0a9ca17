"""What the dashboard's Export menu downloads and imports: metrics files and the snapshot history.

Metrics exports are rendered by ``data.metrics.exporters.export_metrics``, the code path of ``cli.py metrics
--format``, from the MetricValues the cards show. ``generated_at`` is those values' ``calculation_timestamp``
(not the moment of the click), so a download equals ``cli.py metrics ... --now <calculation_timestamp>`` for
the same issues, settings, snapshots and period, byte for byte, and two clicks give the same file.

The snapshot history is written by ``metrics_snapshots.export_snapshots`` (the same bytes a CLI export
writes). An imported file is decoded and validated, then merged by ``metrics_snapshots.import_snapshots``:
an invalid file changes nothing and says why; a valid one never deletes anything.
"""

from __future__ import annotations

import base64
import binascii
import logging
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from data.metrics.exporters import EXPORT_FORMATS, export_filename, export_metrics
from data.metrics.periods import Period
from data.services.dashboard_service import dashboard_settings, metrics_for_period, team_tables
from data.services.metrics_service import ALL_METRICS, clear_memo
from data.services.update_messages import plural
from data.store.json_store import PersistenceError
from data.store.metrics_cache import invalidate_cache
from data.store.metrics_snapshots import export_snapshots, import_snapshots
from data.store.snapshot_validation import parse_json_document

logger = logging.getLogger(__name__)

METRICS_EXPORT_KIND = "dora_flow_metrics"
SNAPSHOTS_EXPORT_KIND = "metrics_snapshots"
MAX_IMPORT_BYTES = 10 * 1024 * 1024
_MAX_LISTED_ERRORS = 3


class ExportUnavailable(Exception):
    """Nothing to export yet (no data loaded, no metrics); the message is for the user."""


@dataclass(frozen=True)
class ExportFile:
    """A download: its file name, its complete text (UTF-8 on disk) and its media type."""

    filename: str
    content: str
    media_type: str


@dataclass(frozen=True)
class ImportOutcome:
    """What an import did: ``ok`` False means nothing changed; ``changed`` when any week was added or updated."""

    ok: bool
    message: str
    changed: bool = False


def generated_at(metrics: Mapping[str, Mapping[str, Any]], fallback: datetime) -> str | datetime:
    """The metrics' shared ``calculation_timestamp`` (first in display order), else ``fallback``."""
    for name in (*ALL_METRICS, *metrics):
        stamp = (metrics.get(name) or {}).get("calculation_timestamp")
        if stamp:
            return str(stamp)
    return fallback


def metrics_export(fmt: str, metrics: Mapping[str, Mapping[str, Any]], period: Period,
                   fallback_time: datetime, *, team: str | None = None) -> ExportFile:
    """Render ``metrics`` in ``fmt`` (``json``, ``csv``, ``prometheus``); raises ValueError for another format.
    ``team`` (None: all teams) is the Prometheus ``team`` label."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"Unknown export format '{fmt}'; use {', '.join(EXPORT_FORMATS)}")
    extension, media_type = EXPORT_FORMATS[fmt]
    text = export_metrics(fmt, metrics, period_start=period.start, period_end=period.end,
                          generated_at=generated_at(metrics, fallback_time), team=team)
    return ExportFile(export_filename(METRICS_EXPORT_KIND, period.start, period.end, extension), text, media_type)


def current_metrics_export(fmt: str, settings: Mapping[str, Any], period: Period, now: datetime, *,
                           team: str | None = None) -> ExportFile:
    """The export of the metrics the dashboard shows for ``period`` and ``team`` (None: all teams; the same
    cache the cards read). The Prometheus text labels every line with the team (``team="all"`` for all)."""
    metrics, dataset = metrics_for_period(settings, period.start, period.end, now, team=team)
    if dataset is None or not metrics:
        raise ExportUnavailable("There are no metrics to export yet: click Update Data first.")
    name = None if team is None else team_tables(dataset, team)[1]
    return metrics_export(fmt, metrics, period, now, team=name)


def snapshots_export(today: date, path: str | Path | None = None) -> ExportFile:
    """The whole snapshot history as ``metrics_snapshots.export_snapshots`` writes it."""
    with tempfile.TemporaryDirectory(prefix="snapshot-export-") as folder:
        target = Path(folder) / "metrics_snapshots.json"
        export_snapshots(target, path)
        text = target.read_text(encoding="utf-8")
    return ExportFile(f"{SNAPSHOTS_EXPORT_KIND}_{today.isoformat()}.json", text, "application/json")


def decode_upload(contents: str | None) -> bytes:
    """The bytes of a ``dcc.Upload`` data URL (``data:<type>;base64,<data>``); ValueError with a message."""
    if not contents or not isinstance(contents, str):
        raise ValueError("no file was received")
    header, separator, payload = contents.partition(",")
    if not separator or not header.startswith("data:") or not header.endswith(";base64"):
        raise ValueError("the upload is not a file")
    if len(payload) > MAX_IMPORT_BYTES * 4 // 3 + 4:
        raise ValueError(f"the file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the upload could not be decoded") from None


def import_uploaded_snapshots(contents: str | None, filename: str | None, path: str | Path | None = None,
                              now: datetime | None = None) -> ImportOutcome:
    """Validate and merge an uploaded snapshot file; on any problem nothing changes and the message says why.

    ``now`` (default: the current time) decides which weeks and timestamps would be in the future.
    """
    name = Path(filename).name if filename else "The file"
    weeks_to_keep = None
    if path is None:  # the dashboard's own history: never written while the settings file is broken
        current = dashboard_settings()
        if current.read_only:
            return ImportOutcome(False, f"{name} was not imported: {current.error}. Fix the settings file "
                                        "first. Nothing was changed.")
        weeks_to_keep = int(current.settings["snapshots"]["weeks_to_keep"])
    try:
        document = parse_json_document(decode_upload(contents))
    except ValueError as error:
        return ImportOutcome(False, f"{name} was not imported: {error}. Nothing was changed.")
    if not isinstance(document, dict):
        return ImportOutcome(False, f"{name} was not imported: expected a JSON object of weeks such as "
                                    f'{{"2025-44": {{"flow_load": {{...}}}}}}. Nothing was changed.')
    try:
        result = import_snapshots(document, now=now or datetime.now(UTC), path=path, weeks_to_keep=weeks_to_keep)
    except PersistenceError as error:
        logger.warning("Snapshot import could not be saved", extra={"error": str(error)})
        return ImportOutcome(False, f"{name} was not imported: {error}. Nothing was changed.")
    if result.errors:
        listed = "; ".join(error.replace("the imported data: ", "") for error in result.errors[:_MAX_LISTED_ERRORS])
        more = len(result.errors) - _MAX_LISTED_ERRORS
        if more > 0:
            listed += f"; and {plural(more, 'more problem')}"
        return ImportOutcome(False, f"{name} was not imported: {listed}. Nothing was changed.")
    changed = bool(result.added_weeks or result.updated)
    if changed:
        _forget_cached_metrics()
    return ImportOutcome(True, f"{name} imported: {plural(result.added_weeks, 'new week')}, "
                               f"{plural(result.updated, 'entry', 'entries')} updated, "
                               f"{plural(result.skipped, 'entry', 'entries')} kept (already as new or newer)"
                               f"{_too_old_note(result.too_old, weeks_to_keep)}.",
                         changed)


def _too_old_note(too_old: int, weeks_to_keep: int | None) -> str:
    if not too_old:
        return ""
    return f"; {plural(too_old, 'week')} older than the last {weeks_to_keep} weeks left out (the retention)"


def _forget_cached_metrics() -> None:
    """Imported weeks change Flow Load's sparkline: cached metrics must be recalculated."""
    clear_memo()
    try:
        invalidate_cache()
    except PersistenceError as error:
        logger.warning("Could not clear the metrics cache after an import", extra={"error": str(error)})
