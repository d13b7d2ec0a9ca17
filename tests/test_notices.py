"""Persistent notices: damage found anywhere is shown by every page load and after callbacks until dismissed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dash
import pytest
from plotly.utils import PlotlyJSONEncoder

from callbacks import notices as notices_callbacks
from callbacks.metrics import show_metrics
from data.services import metrics_service
from data.services.notice_service import (
    DEMO_MAPPINGS_NOTICE_ID,
    SETTINGS_NOTICE_ID,
    dismiss_notice,
    list_notices,
)
from data.services.page_state_service import load_page_state
from data.sources.demo_fields import DEMO_FIELD_MAPPINGS
from data.store.json_store import pop_persistence_warnings
from ui import ids
from ui.app_shell import serve_layout

PERIOD = {"preset": "30", "start": None, "end": None}


@pytest.fixture(autouse=True)
def clean_process_state() -> Iterator[None]:
    metrics_service.clear_memo()
    pop_persistence_warnings()
    yield
    metrics_service.clear_memo()
    pop_persistence_warnings()


def _json(component: Any) -> str:
    return json.dumps(component, cls=PlotlyJSONEncoder, ensure_ascii=False)


def test_damage_found_during_a_callback_is_shown_on_every_load_until_dismissed(isolated_data_dir: Path) -> None:
    assert load_page_state().notices == []  # the demo data is prepared, nothing is wrong
    (isolated_data_dir / "metrics_cache.json").write_bytes(b'{"entries": {')  # damaged between two requests
    show_metrics(PERIOD, None)  # the cards read the metrics cache: it is moved aside here

    [moved] = list(isolated_data_dir.glob("metrics_cache.json.corrupt-*"))
    shown = notices_callbacks.refresh_notices()  # the notices area refreshes after the callback
    assert len(shown) == 1 and moved.name in _json(shown)
    for _ in range(2):  # the next page loads (any tab) show it again
        [notice] = load_page_state().notices
        assert notice.header == "Data file" and moved.name in notice.text and notice.dismissible

    assert notices_callbacks.dismiss_and_refresh(notice.notice_id) == []
    assert load_page_state().notices == [] and list_notices() == []
    assert moved.exists()  # dismissing hides the notice; the moved-aside copy is the user's to keep


def test_a_file_moved_aside_by_another_process_is_shown_and_stays_dismissed(isolated_data_dir: Path) -> None:
    copy = isolated_data_dir / "cache" / "issues.json.corrupt-20250101T000000Z"
    copy.parent.mkdir()
    copy.write_bytes(b"{")
    [notice] = list_notices()
    assert notice.text.startswith("issues.json was damaged and moved aside to issues.json.corrupt-20250101T000000Z")
    assert dismiss_notice(notice.notice_id) is True
    assert list_notices() == [] and copy.exists()
    assert dismiss_notice("moved:unknown") is False


def test_the_settings_notice_cannot_be_dismissed_while_the_file_is_broken(isolated_data_dir: Path) -> None:
    (isolated_data_dir / "app_settings.json").write_text('{"snapshots": {"weeks_to_keep": 0}}', encoding="utf-8")
    [notice] = list_notices()
    assert notice.notice_id == SETTINGS_NOTICE_ID and not notice.dismissible
    assert "snapshots.weeks_to_keep" in notice.text
    assert dismiss_notice(SETTINGS_NOTICE_ID) is False
    shown = _json(notices_callbacks.refresh_notices())
    assert "snapshots.weeks_to_keep" in shown and ids.Notices.DISMISS not in shown  # no Dismiss button


def test_the_page_holds_the_notices_area_at_the_top_of_its_content(isolated_data_dir: Path) -> None:
    (isolated_data_dir / "metrics_snapshots.json.corrupt-20250101T000000Z").write_bytes(b"[")
    layout = _json(serve_layout())
    assert f'"id": "{ids.Notices.AREA}"' in layout
    assert "metrics_snapshots.json.corrupt-20250101T000000Z" in layout
    assert layout.index(ids.Notices.AREA) < layout.index(ids.Sections.DEMO_BANNER)


def test_the_notices_callback_is_registered() -> None:
    app = dash.Dash(__name__, suppress_callback_exceptions=True)
    notices_callbacks.register(app)
    assert any(ids.Notices.AREA in output for output in app.callback_map)


def test_demo_mappings_left_in_the_settings_by_an_earlier_release_are_pointed_out(isolated_data_dir: Path) -> None:
    settings = {"jira": {"url": "https://ours.atlassian.net", "jql": "project = OURS"},
                "dora_flow_config": {"field_mappings": DEMO_FIELD_MAPPINGS}}
    (isolated_data_dir / "app_settings.json").write_text(json.dumps(settings), encoding="utf-8")
    [notice] = list_notices()
    assert notice.notice_id == DEMO_MAPPINGS_NOTICE_ID and "Configure Field Mappings" in notice.text
    assert dismiss_notice(DEMO_MAPPINGS_NOTICE_ID) is True and list_notices() == []
