"""Export menu: metrics downloads are the exporters' bytes, the snapshot history round-trips, and a bad
import file changes nothing (the snapshot file stays byte-identical) while saying why.

The callback functions are called directly with plain values; the data folder is the test's own.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dash
import dash_bootstrap_components as dbc
import pytest
from dash import dcc

import cli
from callbacks.exports import FORMAT_BY_ITEM, download_metrics, download_snapshots, import_snapshots_file
from configuration.paths import data_file
from data.metrics.exporters import export_metrics
from data.metrics.issue_frame import build_issue_frames
from data.services.export_service import decode_upload, generated_at, import_uploaded_snapshots
from data.services.metrics_service import calculate_all_metrics
from data.store.issue_cache import load_fetch_meta
from data.store.metrics_snapshots import (
    SNAPSHOTS_FILE,
    export_snapshots,
    load_snapshots,
    save_metric_snapshot,
    week_label,
)
from tests.test_drilldown import (
    ISSUES,
    NOW,
    PERIOD,
    PERIOD_STORE,
    loaded_data,  # noqa: F401  (the fixture, used by name)
    make_settings,
)
from tests.test_ui_metric_card import by_id, text_of, walk
from tests.test_ui_page import page
from ui import ids
from ui.exports_panel import export_components, export_menu

FORMATS = ("json", "csv", "prometheus")


def upload(payload: bytes, media_type: str = "application/json") -> str:
    """What ``dcc.Upload`` puts in ``contents``: a base64 data URL."""
    return f"data:{media_type};base64," + base64.b64encode(payload).decode("ascii")


def appended_toast(patch: Any) -> dbc.Toast:
    """The one toast a callback appended to the toast container through a Patch."""
    operations = patch.to_plotly_json()["operations"]
    assert len(operations) == 1 and operations[0]["operation"] == "Append"
    toast = operations[0]["params"]["value"]
    assert isinstance(toast, dbc.Toast)
    return toast


def toast_text(patch: Any) -> str:
    return text_of(appended_toast(patch).children)


def toast_header(patch: Any) -> str:
    return text_of(appended_toast(patch).header)


def snapshots_path() -> Path:
    return data_file(SNAPSHOTS_FILE)


# ---- layout ------------------------------------------------------------------------------------------


@pytest.fixture()
def long_retention() -> None:
    """Keep ten years of weeks: these tests import weeks of 2025, which a 52-week retention would leave out."""
    from configuration.settings import load_app_settings, save_app_settings

    settings = load_app_settings()
    settings["snapshots"]["weeks_to_keep"] = 520
    save_app_settings(settings)


def test_export_menu_items_and_their_ids() -> None:
    menu = export_menu()
    assert isinstance(menu, dbc.DropdownMenu) and menu.id == ids.Exports.MENU
    items = {item.id: text_of(item) for item in walk(menu)
             if isinstance(item, dbc.DropdownMenuItem) and getattr(item, "id", None)}
    assert items == {
        ids.Exports.METRICS_JSON: "Metrics as JSON",
        ids.Exports.METRICS_CSV: "Metrics as CSV",
        ids.Exports.METRICS_PROMETHEUS: "Metrics as Prometheus text",
        ids.Exports.SNAPSHOTS: "Snapshot history (JSON)",
        ids.Exports.OPEN_IMPORT: "Import snapshots…",
    }
    assert set(FORMAT_BY_ITEM.values()) == set(FORMATS)


def test_page_has_the_menu_in_the_navbar_and_the_downloads_and_upload() -> None:
    layout = page()
    navbar = by_id(layout, ids.Navbar.NAVBAR)[0]
    assert by_id(navbar, ids.Exports.MENU)
    for download_id in (ids.Exports.METRICS_DOWNLOAD, ids.Exports.SNAPSHOTS_DOWNLOAD):
        assert isinstance(by_id(layout, download_id)[0], dcc.Download)
    assert isinstance(by_id(layout, ids.Exports.IMPORT_UPLOAD)[0], dcc.Upload)
    assert len([c for c in walk(export_components()) if isinstance(c, dcc.Upload)]) == 1


# ---- metrics downloads --------------------------------------------------------------------------------


@pytest.mark.usefixtures("loaded_data")
@pytest.mark.parametrize("fmt", FORMATS)
def test_metrics_download_is_the_exporters_text_for_the_same_metrics(fmt: str) -> None:
    # Independent path: parse the same issues and calculate without any cache, before the download
    # (the snapshot store is empty then, as it is for the dashboard's first calculation).
    settings = make_settings()
    expected_metrics = calculate_all_metrics(build_issue_frames(ISSUES, settings), settings, PERIOD, NOW,
                                             snapshots=load_snapshots())
    download, toasts = download_metrics(fmt, PERIOD_STORE, NOW)
    assert toasts is dash.no_update
    expected = export_metrics(fmt, expected_metrics, period_start=PERIOD.start, period_end=PERIOD.end,
                              generated_at=NOW)
    assert download["content"].encode("utf-8") == expected.encode("utf-8")
    extension = {"json": "json", "csv": "csv", "prometheus": "prom"}[fmt]
    assert download["filename"] == f"dora_flow_metrics_2025-03-01_2025-03-31.{extension}"
    assert download["base64"] is False


@pytest.mark.usefixtures("loaded_data")
@pytest.mark.parametrize("fmt", FORMATS)
def test_metrics_download_equals_the_cli_output(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                fmt: str) -> None:
    # The download's generated_at is the cards' calculation time; the CLI gets it as --now.
    download, _ = download_metrics(fmt, PERIOD_STORE, NOW)
    json_download, _ = download_metrics("json", PERIOD_STORE, NOW)
    calculated_at = json.loads(json_download["content"])["generated_at"]
    issues_file, settings_file = tmp_path / "issues.json", tmp_path / "settings.json"
    issues_file.write_text(json.dumps(ISSUES), encoding="utf-8")
    settings_file.write_text(json.dumps(make_settings()), encoding="utf-8")
    capsys.readouterr()
    code = cli.main(["metrics", "--issues", str(issues_file), "--settings", str(settings_file),
                     "--start", "2025-03-01", "--end", "2025-03-31", "--now", calculated_at, "--format", fmt])
    out = capsys.readouterr().out
    assert code == 0
    assert download["content"].encode("utf-8") == out.encode("utf-8")


@pytest.mark.usefixtures("loaded_data")
def test_json_download_names_its_period_and_calculation_time() -> None:
    download, _ = download_metrics("json", PERIOD_STORE, NOW)
    document = json.loads(download["content"])
    assert document["period"] == {"start": "2025-03-01", "end": "2025-03-31"}
    assert document["generated_at"] == "2025-04-10T12:00:00.000Z"
    assert document["metrics"]["lead_time_for_changes"]["value"] == 2.0  # D-1's 2.0 days, the only usable one


@pytest.mark.usefixtures("loaded_data")
def test_a_later_click_gives_the_same_bytes_as_the_cards_show() -> None:
    first, _ = download_metrics("prometheus", PERIOD_STORE, NOW)
    # A minute later the cards still show the calculation made at NOW; so does the file.
    again, _ = download_metrics("prometheus", PERIOD_STORE, NOW + timedelta(minutes=1))
    assert again["content"] == first["content"]


def test_generated_at_falls_back_to_now_without_metrics() -> None:
    assert generated_at({}, NOW) == NOW
    assert generated_at({"x": {"calculation_timestamp": "2025-01-01T00:00:00.000Z"}}, NOW) == \
        "2025-01-01T00:00:00.000Z"


def test_metrics_download_without_data_is_a_toast() -> None:
    download, toasts = download_metrics("csv", PERIOD_STORE, NOW)
    assert download is dash.no_update
    assert "click Update Data" in toast_text(toasts)


@pytest.mark.usefixtures("loaded_data")
def test_metrics_download_with_a_bad_period_is_a_toast() -> None:
    download, toasts = download_metrics("csv", {"preset": "custom", "start": "2025-03-31", "end": "2025-03-01"}, NOW)
    assert download is dash.no_update
    assert "before its start" in toast_text(toasts)


# ---- snapshot history ---------------------------------------------------------------------------------


def test_snapshot_download_is_what_export_snapshots_writes(tmp_path: Path) -> None:
    save_metric_snapshot("2025-14", "flow_load", {"wip_count": 4}, now=NOW)
    download, toasts = download_snapshots(NOW)
    assert toasts is dash.no_update
    target = tmp_path / "reference.json"
    export_snapshots(target)
    assert download["content"].encode("utf-8") == target.read_bytes()
    assert download["filename"] == "metrics_snapshots_2025-04-10.json"
    assert json.loads(download["content"])["2025-14"]["flow_load"]["wip_count"] == 4


@pytest.mark.usefixtures("long_retention")
def test_exported_history_imports_into_an_empty_store() -> None:
    save_metric_snapshot("2025-13", "flow_load", {"wip_count": 3, "by_status": {"In Progress": 3}}, now=NOW)
    save_metric_snapshot("2025-14", "flow_load", {"wip_count": 4, "by_status": {"In Progress": 4}}, now=NOW)
    exported, _ = download_snapshots(NOW)
    before = load_snapshots()
    snapshots_path().unlink()
    toasts, modal_open, _version = import_snapshots_file(upload(exported["content"].encode()), "history.json")
    assert modal_open is False
    assert "history.json imported: 2 new weeks" in toast_text(toasts)
    assert load_snapshots() == before


@pytest.mark.usefixtures("loaded_data", "long_retention")
def test_import_merges_keeping_newer_entries_and_refreshes_the_cards() -> None:
    save_metric_snapshot("2025-14", "flow_load", {"wip_count": 4}, now=datetime(2025, 4, 5, tzinfo=UTC))
    incoming = {
        "_meta": {"version": 1},
        "2025-10": {"flow_load": {"wip_count": 9, "by_status": {"In Progress": 9},
                                  "timestamp": "2025-03-09T00:00:00Z"}},  # new week: added
        "2025-14": {"flow_load": {"wip_count": 1, "by_status": {"In Progress": 1},
                                  "timestamp": "2025-04-01T00:00:00Z"}},  # older: kept as stored
    }
    toasts, modal_open, version = import_snapshots_file(upload(json.dumps(incoming).encode()), "team.json")
    assert toast_header(toasts) == "Snapshots imported"
    assert toast_text(toasts).startswith("team.json imported: 1 new week, 0 entries updated, 1 entry kept")
    assert modal_open is False
    assert version == load_fetch_meta()["data_version"]  # re-sent, so the cards recalculate
    weeks = load_snapshots()
    assert weeks["2025-10"]["flow_load"]["wip_count"] == 9
    assert weeks["2025-14"]["flow_load"]["wip_count"] == 4


BAD_FILES: list[tuple[str, str, str]] = [
    ("not base64", "data:application/json;base64,@@@", "could not be decoded"),
    ("not a data url", "hello", "not a file"),
    ("not JSON", upload(b"{weeks: 1"), "the file is not JSON: the text at line 1, column 2 is not valid JSON"),
    ("empty", upload(b""), "the file is not JSON: it is empty"),
    ("cut short", upload(b'{"2025-10": {"flow_load": {'), "the file is not JSON: it ends before the JSON is complete"),
    ("a list", upload(b"[1, 2]"), "expected a JSON object of weeks"),
    ("bad week label", upload(b'{"2025-99": {"flow_load": {"wip_count": 1}}}'), "'2025-99' is not an ISO week"),
    ("bad timestamp",
     upload(b'{"2025-10": {"flow_load": {"wip_count": 1, "by_status": {"A": 1}, "timestamp": "soon"}}}'),
     'week 2025-10: timestamp must be a time such as 2025-10-31T17:00:00Z (got "soon")'),
    ("negative count", upload(b'{"2025-10": {"flow_load": {"wip_count": -4, "by_status": {}}}}'),
     "week 2025-10: wip_count must be a whole number ≥ 0 (got -4)"),
    ("no by_status", upload(b'{"2025-10": {"flow_load": {"wip_count": 4}}}'), "week 2025-10: by_status is missing"),
    ("future week", upload(b'{"2999-10": {"flow_load": {"wip_count": 0, "by_status": {}}}}'),
     "week 2999-10 is in the future"),
    ("newer schema", upload(b'{"_meta": {"version": 99}, "2025-10": {}}'), "written by a newer release"),
    ("entry not an object", upload(b'{"2025-10": {"flow_load": 5}}'), "week 2025-10: flow_load must be an object"),
]


@pytest.mark.parametrize(("contents", "reason"), [(c, r) for _, c, r in BAD_FILES], ids=[n for n, _, _ in BAD_FILES])
def test_a_bad_import_file_changes_nothing_and_says_why(contents: str, reason: str) -> None:
    save_metric_snapshot("2025-14", "flow_load", {"wip_count": 4}, now=NOW)
    before = snapshots_path().read_bytes()
    toasts, modal_open, version = import_snapshots_file(contents, "broken.json")
    assert toast_header(toasts) == "Import failed"
    text = toast_text(toasts)
    assert text.startswith("broken.json was not imported: ")
    assert reason in text and "Nothing was changed." in text
    assert (modal_open, version) == (False, dash.no_update)
    assert snapshots_path().read_bytes() == before


def test_a_bad_import_into_an_empty_store_creates_no_file() -> None:
    import_snapshots_file(upload(b"[]"), "broken.json")
    assert not snapshots_path().exists()


def test_no_upload_does_nothing() -> None:
    assert import_snapshots_file(None, None) == (dash.no_update, dash.no_update, dash.no_update)


def test_oversized_upload_is_refused_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("data.services.export_service.MAX_IMPORT_BYTES", 8)
    outcome = import_uploaded_snapshots(upload(b'{"2025-10": {}}'), "big.json")
    assert not outcome.ok and "larger than" in outcome.message


def test_decode_upload_returns_the_file_bytes() -> None:
    assert decode_upload(upload(b'{"a": 1}')) == b'{"a": 1}'


def test_import_is_refused_while_the_settings_file_is_broken(isolated_data_dir) -> None:
    # A broken app_settings.json makes the dashboard read-only: the upload changes no file and says why.
    (isolated_data_dir / "app_settings.json").write_text('{"jira": {"page_size": "100"}}', encoding="utf-8")
    week = week_label(datetime.now(UTC))
    body = json.dumps({week: {"flow_load": {"wip_count": 3, "by_status": {"In Progress": 3}}}}).encode()
    toasts, _open, version = import_snapshots_file(upload(body), "week.json")
    assert "page_size" in toast_text(toasts) and "Nothing was changed" in toast_text(toasts)
    assert version is dash.no_update
    assert not (isolated_data_dir / "metrics_snapshots.json").exists()
