"""The field-mapping modal's callbacks called as plain functions (real files in the data dir): the demo source,
where the form is view-only, and the test Jira server over loopback serving the demo's field list."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import dash
import pytest
from plotly.utils import PlotlyJSONEncoder

from callbacks import field_mapping
from callbacks.field_mapping import (
    load_field_mapping,
    offer_typed_name,
    save_field_mapping,
    toggle_field_mapping,
)
from configuration.paths import data_file
from data.services import mapping_service
from data.services.mapping_service import DEMO_SAVE_REFUSED, FIELD_KEYS, FORM_SECTIONS, LIST_KEYS
from data.sources.demo_fields import DEMO_FIELD_MAPPINGS, DEMO_FIELDS, DEMO_SETTINGS_OVERLAY, TEAM_NOTES
from data.sources.jira_errors import JiraError
from data.store.metrics_cache import save_cached_metrics
from tests.jira_server import JiraTestServer
from ui import ids
from ui.field_mapping_modal import INVALID_CLASS, field_mapping_modal
from ui.page import HIDDEN, SHOWN

FM = ids.FieldMapping
EMAIL, TOKEN = "user@example.com", "secret-token-123"


@pytest.fixture(scope="module")
def jira() -> Iterator[JiraTestServer]:
    """A Jira whose ``/field`` answer is the demo's, so the demo's field ids are this Jira's fields."""
    server = JiraTestServer([], email=EMAIL, api_token=TOKEN, fields=DEMO_FIELDS)
    yield server
    server.stop()


@pytest.fixture
def connected(isolated_data_dir: Path, jira: JiraTestServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``app_settings.json`` connected to ``jira`` with the demo's mappings saved as the user's own."""
    monkeypatch.setenv("JIRA_API_TOKEN", TOKEN)
    settings = {"jira": {"url": jira.url, "deployment": "cloud", "email": EMAIL, "jql": "project = DEMO"},
                "dora_flow_config": {**copy.deepcopy(DEMO_SETTINGS_OVERLAY),
                                     "last_updated": "2025-01-01T00:00:00.000Z"}}
    path = isolated_data_dir / "app_settings.json"
    path.write_text(json.dumps(settings, indent=2), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def fresh_fields_cache() -> None:
    mapping_service.clear_fields_cache()


def _ids() -> tuple[list[dict], list[dict]]:
    """The pattern ids in a shuffled order: the callbacks must not rely on the layout order."""
    field_ids, list_ids = [FM.field(key) for key in FIELD_KEYS], [FM.name_list(key) for key in LIST_KEYS]
    random.Random(7).shuffle(field_ids)
    random.Random(8).shuffle(list_ids)
    return field_ids, list_ids


def _open_and_load() -> tuple[dict[str, Any], tuple]:
    is_open, request, *_ = toggle_field_mapping("open")
    assert is_open is True
    field_ids, list_ids = _ids()
    loaded = load_field_mapping(request, field_ids, list_ids)
    values = dict(zip([i["key"] for i in field_ids], loaded[1], strict=True))
    values.update(zip([i["key"] for i in list_ids], loaded[3], strict=True))
    return values, loaded


def _save(values: dict[str, Any]) -> tuple:
    field_ids, list_ids = _ids()
    return save_field_mapping([values[i["key"]] for i in field_ids], field_ids,
                              [values[i["key"]] for i in list_ids], list_ids)


def _position(id_list: list[dict], key: str) -> int:
    return [i["key"] for i in id_list].index(key)


def test_open_shows_the_spinner_then_loading_fills_the_form() -> None:
    is_open, request, spinner, form, error_open, summary_open, save_disabled = toggle_field_mapping("open")
    assert (is_open, spinner, form, error_open, summary_open, save_disabled) == (True, SHOWN, HIDDEN, False,
                                                                                False, True)
    assert request["refresh"] is False
    field_ids, list_ids = _ids()
    loaded = load_field_mapping(request, field_ids, list_ids)
    field_options, field_values, list_options, list_values = loaded[:4]
    at = _position(field_ids, "dora.deployment_date")
    assert field_values[at] == DEMO_FIELD_MAPPINGS["dora"]["deployment_date"]
    assert any(option["value"] == field_values[at] for option in field_options[at])
    assert list_values[_position(list_ids, "wip_statuses")] == ["In Progress", "In Review"]
    assert all(options for options in list_options[:1])
    source, error_text, error_open, spinner, form_style, save_disabled = loaded[8:]
    # The demo's mappings can be viewed, not saved: Save stays disabled and the source line says why.
    assert source == f"Fields of the demo data. {DEMO_SAVE_REFUSED}"
    assert (error_text, error_open, spinner, form_style, save_disabled) == ("", False, HIDDEN, SHOWN, True)


def test_with_jira_the_form_loads_ready_to_save(connected: Path, jira: JiraTestServer) -> None:
    _, loaded = _open_and_load()
    source, error_text, error_open, spinner, form_style, save_disabled = loaded[8:]
    assert source == f"Fields of Jira Cloud at {jira.url}"
    assert (error_text, error_open, spinner, form_style, save_disabled) == ("", False, HIDDEN, SHOWN, False)


def test_a_save_in_demo_mode_is_refused_with_a_plain_message(isolated_data_dir: Path) -> None:
    values, _ = _open_and_load()
    out = _save(values)
    assert out[5] is True and out[4] == DEMO_SAVE_REFUSED  # the summary alert says why
    assert out[6:] == (dash.no_update,) * 3  # the modal stays open; no toast, no recalculation
    assert not (isolated_data_dir / "app_settings.json").exists()


def test_a_rerendered_card_button_does_not_open_the_modal() -> None:
    with pytest.raises(dash.exceptions.PreventUpdate):
        toggle_field_mapping(None)


def test_retry_asks_jira_again() -> None:
    assert toggle_field_mapping("retry")[1]["refresh"] is True


def test_load_failure_shows_jiras_message_and_hides_the_form(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(settings, credentials):
        raise JiraError(None, [], "Jira unreachable at https://x.example (connection refused).")

    monkeypatch.setattr(mapping_service, "make_source", failing)
    field_ids, list_ids = _ids()
    loaded = load_field_mapping({"refresh": True}, field_ids, list_ids)
    # Dash needs a list for a wildcard output: one no_update per input keeps every input as it is.
    assert loaded[:4] == tuple([dash.no_update] * len(keys) for keys in (field_ids, field_ids, list_ids, list_ids))
    assert loaded[9].startswith("Jira unreachable at https://x.example")
    assert loaded[10:] == (True, HIDDEN, HIDDEN, True)


def test_valid_save_writes_the_file_closes_and_bumps_the_version(isolated_data_dir: Path, connected: Path) -> None:
    snapshots = isolated_data_dir / "metrics_snapshots.json"
    snapshots.write_text('{"version": 1}\n', encoding="utf-8")
    save_cached_metrics("all_2025-01-01_2025-01-31_00000000", {"flow_load": {"value": 1}}, metric_type="all",
                        start=date(2025, 1, 1), end=date(2025, 1, 31), mapping_hash="0" * 32,
                        data_version="v1", now=datetime(2025, 2, 1, tzinfo=UTC))
    values, _ = _open_and_load()
    values["dora.deployment_date"] = DEMO_FIELD_MAPPINGS["dora"]["deployed_to_production_date"]  # datetime
    out = _save(values)
    field_errors, field_classes, list_errors, _, _, summary_open, modal_open, toasts, version = out
    assert modal_open is False and summary_open is False
    assert set(field_errors) == {""} and set(field_classes) == {""} and set(list_errors) == {""}
    stored = json.loads((isolated_data_dir / "app_settings.json").read_text())["dora_flow_config"]
    assert stored["field_mappings"]["dora"]["deployment_date"] == DEMO_FIELD_MAPPINGS["dora"][
        "deployed_to_production_date"]
    assert version == stored["last_updated"]
    assert "Field mappings saved" in json.dumps(toasts, cls=PlotlyJSONEncoder)
    assert json.loads(data_file("metrics_cache.json").read_text())["entries"] == {}
    assert snapshots.read_text() == '{"version": 1}\n'


def test_invalid_save_marks_the_field_and_writes_nothing(connected: Path) -> None:
    settings_path = connected
    before = settings_path.read_bytes()
    values, _ = _open_and_load()
    values["dora.deployment_date"] = TEAM_NOTES  # a text field for a date target
    field_ids, _ = _ids()
    out = _save(values)
    at = _position(field_ids, "dora.deployment_date")
    assert "needs a date or date-time field" in out[0][at]
    assert out[1][at] == INVALID_CLASS
    assert [message for i, message in enumerate(out[0]) if i != at] == [""] * (len(field_ids) - 1)
    assert out[5] is True  # the summary alert is open
    summary = json.dumps(out[4], cls=PlotlyJSONEncoder, ensure_ascii=False)
    assert "1 problem to fix; nothing was saved." in summary and "DORA fields · Deployment Date" in summary
    assert out[6:] == (dash.no_update,) * 3  # the modal stays open; no toast, no recalculation
    assert settings_path.read_bytes() == before


def test_cancel_discards_unsaved_edits(isolated_data_dir: Path) -> None:
    saved, _ = _open_and_load()
    edited = {**saved, "dora.deployment_date": None}  # an edit in the browser, never saved
    assert edited != saved
    assert toggle_field_mapping("cancel")[0] is False
    assert not (isolated_data_dir / "app_settings.json").exists()
    reopened, _ = _open_and_load()
    assert reopened == saved


def test_typing_offers_a_new_name() -> None:
    options = offer_typed_name("Blocked", ["In Progress"], [{"label": "In Progress", "value": "In Progress"}])
    assert [option["value"] for option in options] == ["In Progress", "Blocked"]


def test_layout_holds_an_input_and_an_error_slot_for_every_form_key() -> None:
    layout = field_mapping_modal(FORM_SECTIONS)
    found: dict[str, set[str]] = {}

    def walk(component: Any) -> None:
        component_id = getattr(component, "id", None)
        if isinstance(component_id, dict):
            found.setdefault(component_id["type"], set()).add(component_id.get("key"))
        children = getattr(component, "children", None)
        for child in children if isinstance(children, list | tuple) else [children]:
            if child is not None and hasattr(child, "to_plotly_json"):
                walk(child)

    walk(layout)
    assert found[FM.FIELD] == found[FM.FIELD_ERROR] == set(FIELD_KEYS)
    assert found[FM.LIST] == found[FM.LIST_ERROR] == set(LIST_KEYS)


def test_callbacks_register_on_a_fresh_app() -> None:
    app = dash.Dash(__name__, suppress_callback_exceptions=True)
    field_mapping.register(app)
    outputs = " ".join(app.callback_map)
    assert FM.MODAL in outputs and ids.Stores.SETTINGS_VERSION in outputs
