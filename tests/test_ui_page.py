"""The page layout: every id once, navbar, hidden-by-default areas, card slots, toasts, period checks."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import dash_bootstrap_components as dbc
import plotly
import pytest
from dash import dcc

from tests.test_ui_metric_card import by_class, by_id, classes, make_metric, text_of, walk
from ui import ids
from ui.metric_info import DORA_METRICS, FLOW_METRICS
from ui.page import (
    HIDDEN,
    build_page,
    loading_placeholder_cards,
    metric_rows,
    toast,
    validate_custom_period,
)

PAGE_ID_AREAS = (ids.Navbar, ids.UpdateProgress, ids.Period, ids.Sections, ids.Toasts, ids.Stores, ids.Exports,
                 ids.Views, ids.Forecast, ids.Teams)


def constants(area: type) -> list[str]:
    return [value for key, value in vars(area).items() if key.isupper() and isinstance(value, str)]


def page(**overrides: object):
    arguments = {"data_source_label": "Demo data", "last_updated": "2025-01-31T10:00:00Z", "demo_mode": True}
    arguments.update(overrides)
    return build_page(**arguments)


def string_ids(node: object) -> list[str]:
    return [c.id for c in walk(node) if isinstance(getattr(c, "id", None), str)]


SHELL_IDS = {ids.Stores.SETTINGS_VERSION, ids.Stores.TAB_ID}  # placed beside the page by ui/app_shell.py


def test_every_page_id_from_ids_module_appears_exactly_once() -> None:
    found = string_ids(page())
    expected = [value for area in PAGE_ID_AREAS for value in constants(area) if value not in SHELL_IDS]
    # 8 navbar + 3 progress + 6 period + 3 sections + 1 toasts + 4 stores + 11 exports + 7 views + 12 forecast
    # + 4 teams, counted in ui/ids.py.
    assert len(expected) == len(set(expected)) == 59
    for component_id in expected:
        assert found.count(component_id) == 1, component_id
    # ...and the page uses no id that is not defined in ui/ids.py.
    assert sorted(found) == sorted(expected)


def test_no_id_string_is_typed_outside_ids_module() -> None:
    values = [value for area in PAGE_ID_AREAS for value in constants(area)]
    values += [ids.MAP_FIELDS_BUTTON, ids.METRIC_CARD, ids.METRIC_INFO_ICON, ids.DRILLDOWN_BUTTON]
    ui_dir = Path(ids.__file__).parent
    offenders = [
        f"{path.name}: {value}"
        for path in ui_dir.glob("*.py")
        if path.name != "ids.py"
        for value in values
        if f'"{value}"' in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_pattern_id_helpers() -> None:
    assert ids.map_fields_button("flow_time") == {"type": "map-fields-button", "metric": "flow_time"}
    assert ids.metric_card("flow_time") == {"type": "metric-card", "metric": "flow_time"}
    assert ids.drilldown_button("flow_time") == {"type": "drilldown-button", "metric": "flow_time"}


def test_page_is_json_serialisable_like_dash_sends_it() -> None:
    dora, flow = metric_rows({name: make_metric(name) for name in (*DORA_METRICS, *FLOW_METRICS)})
    encoded = json.dumps([page(), dora, flow], cls=plotly.utils.PlotlyJSONEncoder)
    assert "DORA & Flow Metrics" in encoded


def test_navbar_shows_product_source_last_update_and_actions() -> None:
    layout = page(data_source_label="Jira: example.atlassian.net")
    navbar = by_id(layout, ids.Navbar.NAVBAR)[0]
    assert isinstance(navbar, dbc.Navbar)
    text = text_of(navbar)
    assert "DORA & Flow Metrics" in text
    assert by_id(navbar, ids.Navbar.DATA_SOURCE)[0].children == "Jira: example.atlassian.net"
    assert by_id(navbar, ids.Navbar.LAST_UPDATED)[0].children == "Last updated 2025-01-31 10:00 UTC"
    assert text_of(by_id(navbar, ids.Navbar.UPDATE_BUTTON)[0]) == "Update Data"
    assert text_of(by_id(navbar, ids.Navbar.OPEN_FIELD_MAPPING)[0]) == "Configure Field Mappings"
    assert text_of(by_id(navbar, ids.Navbar.OPEN_JIRA_SETTINGS)[0]) == "Data source"
    assert isinstance(by_id(navbar, ids.Navbar.THEME_SWITCH)[0], dbc.Switch)
    assert "bi-arrow-clockwise" in text_of_classes(by_id(navbar, ids.Navbar.UPDATE_BUTTON)[0])


def text_of_classes(node: object) -> set[str]:
    return set().union(*(classes(c) for c in walk(node)))


def test_never_updated_when_no_timestamp() -> None:
    assert by_id(page(last_updated=None), ids.Navbar.LAST_UPDATED)[0].children == "Never updated"


def test_cancel_button_and_progress_area_are_hidden_until_an_update_runs() -> None:
    layout = page()
    assert by_id(layout, ids.Navbar.CANCEL_BUTTON)[0].style == HIDDEN
    area = by_id(layout, ids.UpdateProgress.AREA)[0]
    assert area.style == HIDDEN
    assert isinstance(by_id(area, ids.UpdateProgress.BAR)[0], dbc.Progress)
    assert by_id(area, ids.UpdateProgress.TEXT)[0].children == "0 issues"


@pytest.mark.parametrize("demo_mode", [True, False])
def test_demo_banner_is_open_only_in_demo_mode(demo_mode: bool) -> None:
    banner = by_id(page(demo_mode=demo_mode), ids.Sections.DEMO_BANNER)[0]
    assert isinstance(banner, dbc.Alert)
    assert banner.is_open is demo_mode
    text = text_of(banner)
    assert "demo data" in text and "open Data source" in text and "Update Data" in text


def test_period_selector_presets_and_custom_area() -> None:
    layout = page()
    preset = by_id(layout, ids.Period.PRESET)[0]
    assert isinstance(preset, dbc.RadioItems)
    assert [option["value"] for option in preset.options] == ["7", "30", "90", "custom"]
    assert [option["label"] for option in preset.options] == ["7 days", "30 days", "90 days", "Custom"]
    assert preset.value == "30"
    assert by_id(layout, ids.Period.CUSTOM_RANGE_AREA)[0].style == HIDDEN
    assert isinstance(by_id(layout, ids.Period.DATE_RANGE)[0], dcc.DatePickerRange)
    assert "text-danger" in classes(by_id(layout, ids.Period.ERROR)[0])
    assert by_id(layout, ids.Stores.PERIOD)[0].data == {"preset": "30", "start": None, "end": None}


def test_custom_default_period_shows_the_date_picker() -> None:
    layout = page(default_period="custom")
    assert by_id(layout, ids.Period.PRESET)[0].value == "custom"
    assert by_id(layout, ids.Period.CUSTOM_RANGE_AREA)[0].style != HIDDEN


def test_unknown_default_period_is_refused() -> None:
    with pytest.raises(ValueError, match="default_period"):
        page(default_period="14")


def test_sections_have_headings_and_start_with_placeholders() -> None:
    layout = page()
    text = text_of(layout)
    assert "DORA" in text and "Flow" in text
    dora_row = by_id(layout, ids.Sections.DORA_ROW)[0]
    flow_row = by_id(layout, ids.Sections.FLOW_ROW)[0]
    assert len(dora_row.children) == 4 and len(flow_row.children) == 5
    assert len(by_class(dora_row, "metric-card-loading")) == 4
    assert len(by_class(flow_row, "metric-card-loading")) == 5


def test_toast_container_is_fixed_bottom_left_away_from_the_navbar_menus() -> None:
    container = by_id(page(), ids.Toasts.CONTAINER)[0]
    assert {"toast-container", "position-fixed", "bottom-0", "start-0"} <= classes(container)
    # Bootstrap's toast z-index (1090) applies: no inline z-index that could lift toasts over the menus.
    assert "zIndex" not in (getattr(container, "style", None) or {})


# ---- card rows -----------------------------------------------------------------------------------

ORDER_DORA = ["deployment_frequency", "lead_time_for_changes", "change_failure_rate", "mean_time_to_recovery"]
ORDER_FLOW = ["flow_velocity", "flow_time", "flow_efficiency", "flow_load", "flow_distribution"]


def card_names(slots: list) -> list[str]:
    return [card.id["metric"] for slot in slots for card in by_class(slot, "metric-card")]


def test_metric_rows_orders_nine_cards_in_nine_slots() -> None:
    metrics = {name: make_metric(name) for name in reversed(ORDER_DORA + ORDER_FLOW)}
    dora, flow = metric_rows(metrics)
    assert len(dora) == 4 and len(flow) == 5
    assert all(isinstance(slot, dbc.Col) and "metric-slot" in classes(slot) for slot in dora + flow)
    assert card_names(dora) == ORDER_DORA
    assert card_names(flow) == ORDER_FLOW
    assert all((slot.xs, slot.md, slot.xl) == (12, 6, 3) for slot in dora)


def test_metric_rows_fills_a_missing_metric_with_an_error_card() -> None:
    dora, flow = metric_rows({"flow_time": make_metric("flow_time")})
    assert card_names(dora) == ORDER_DORA and card_names(flow) == ORDER_FLOW
    missing = by_id(dora, ids.metric_card("deployment_frequency"))[0]
    assert "metric-state-calculation_error" in classes(missing)
    assert "This metric was not calculated." in text_of(missing)
    assert "metric-state-success" in classes(by_id(flow, ids.metric_card("flow_time"))[0])


def test_flow_row_wraps_five_cards_responsively() -> None:
    flow_row = by_id(page(), ids.Sections.FLOW_ROW)[0]
    assert {"row-cols-1", "row-cols-md-2", "row-cols-lg-3", "row-cols-xxl-5"} <= classes(flow_row)


def test_loading_placeholders_match_the_slot_shape() -> None:
    dora, flow = loading_placeholder_cards()
    assert len(dora) == 4 and len(flow) == 5
    for slot in dora + flow:
        assert any(isinstance(c, dbc.Placeholder) for c in walk(slot))


# ---- toasts --------------------------------------------------------------------------------------


def test_success_toast_auto_hides_and_shows_header_message_and_icon() -> None:
    result = toast("Fetched 1,200 issues", header="Data updated", icon="success")
    assert isinstance(result, dbc.Toast)
    assert result.is_open is True and result.dismissable is True
    assert result.children == "Fetched 1,200 issues"
    assert text_of(result.header) == "Data updated"
    assert "bi-check-circle-fill" in text_of_classes(result.header)
    assert result.duration == 5000


def test_error_toast_stays_until_dismissed_unless_a_duration_is_given() -> None:
    assert toast("401 Unauthorized", header="Update failed", icon="danger").duration is None
    assert toast("Slow", header="Warning", icon="warning", duration=8000).duration == 8000


def test_toast_refuses_an_unknown_icon() -> None:
    with pytest.raises(ValueError, match="icon"):
        toast("x", header="y", icon="purple")  # type: ignore[arg-type]


# ---- custom period validation --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2025-01-01", "2025-12-31", None),  # 364 days apart, both ends included: 365 days
        ("2025-01-01", "2026-01-01", "Choose at most 365 days"),  # 366 days
        ("2024-01-01", "2024-12-30", None),  # leap year: 365 days
        ("2024-01-01", "2024-12-31", "Choose at most 365 days"),  # leap year: 366 days
        ("2025-03-01", "2025-03-01", None),  # a single day
        ("2025-03-02", "2025-03-01", "End date must be on or after the start date"),
        (None, "2025-03-01", "Choose a start and an end date"),
        ("2025-03-01", "", "Choose a start and an end date"),
        ("2025-03-01T00:00:00", "2025-03-31T00:00:00", None),
        ("01/03/2025", "2025-03-31", "01/03/2025 is not a date: enter a day as YYYY-MM-DD, e.g. 2025-03-31"),
        # Text in the right shape that is still no day of the calendar is named as such.
        ("2026-02-30", "2026-03-31", "2026-02-30 is not a date: enter a day as YYYY-MM-DD, e.g. 2025-03-31"),
        ("2026-01-01", "2026-13-45", "2026-13-45 is not a date: enter a day as YYYY-MM-DD, e.g. 2025-03-31"),
    ],
)
def test_validate_custom_period(start: str | None, end: str | None, expected: str | None) -> None:
    assert validate_custom_period(start, end) == expected


def test_a_custom_period_may_not_end_after_today() -> None:
    today = date(2026, 11, 29)
    assert validate_custom_period("2026-11-01", "2026-11-29", today) is None
    assert validate_custom_period("2026-11-01", "2026-11-30", today) == (
        "End date 2026-11-30 is in the future: choose 2026-11-29 (today) or earlier")


def test_the_picker_offers_no_future_day_and_the_dates_covered_are_shown() -> None:
    layout = page(today=date(2026, 11, 28))
    picker = by_id(layout, ids.Period.DATE_RANGE)[0]
    assert picker.max_date_allowed == "2026-11-28"
    # The 30-day preset ending 2026-11-28 starts 29 days earlier, 2026-10-30.
    assert text_of(by_id(layout, ids.Period.DATES)[0]) == "30 Oct – 28 Nov 2026"
    # Without a custom range there are no dates to show yet.
    assert text_of(by_id(page(default_period="custom", today=date(2026, 11, 28)), ids.Period.DATES)[0]) == ""
