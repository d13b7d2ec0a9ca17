"""Teams in the page without a browser: the selector's options and URL query, the comparison table's cells and
sorting, and the callbacks passing the selected team to the services, on the real demo data (which carries a
Team field) in the test's own data folder."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from dash.exceptions import PreventUpdate
from plotly.utils import PlotlyJSONEncoder

from callbacks.drilldown import show_drilldown
from callbacks.exports import download_metrics
from callbacks.metrics import show_metrics
from callbacks.team_selection import selected_team, team_kwargs
from callbacks.teams import select_row, show_teams, sync_selector
from data.metrics.period_selection import resolve_period
from data.services.dashboard_service import dashboard_settings, ensure_demo_data, metrics_for_period
from data.services.export_service import current_metrics_export
from data.services.team_service import team_choices
from tests.test_ui_page import page
from ui import ids
from ui.analytics_state import HIDDEN
from ui.page import metric_rows
from ui.teams_view import (
    ALL_TEAMS,
    NO_TEAM_FIELD_HINT,
    match_team,
    metric_cell,
    search_for_team,
    sort_rows,
    table_data,
    team_from_search,
    team_options,
    view_styles,
)

PERIOD_STORE = {"preset": "30", "start": None, "end": None}


def as_json(value: Any) -> str:
    return json.dumps(value, cls=PlotlyJSONEncoder, sort_keys=True)


@pytest.fixture
def demo() -> tuple[datetime, list[tuple[str, int]]]:
    """The demo data prepared as the page prepares it; (now, team choices)."""
    ensure_demo_data(dashboard_settings().settings)
    choices = team_choices(dashboard_settings().settings)
    assert len(choices) >= 3, choices
    return datetime.now(UTC), choices


def test_options_put_all_teams_first_and_count_issues() -> None:
    assert team_options([("Platform", 12), ("Mobile", 1)]) == [
        {"label": "All teams", "value": ""},
        {"label": "Platform (12 issues)", "value": "Platform"},
        {"label": "Mobile (1 issue)", "value": "Mobile"},
    ]


def test_url_query_round_trips_names_with_spaces_and_ampersands() -> None:
    for name in ("Platform", "Data & ML", "Team 7/α"):
        assert team_from_search(search_for_team(name)) == name
    assert search_for_team(ALL_TEAMS) == "" and search_for_team(None) == ""
    assert team_from_search("") == ALL_TEAMS and team_from_search(None) == ALL_TEAMS
    assert team_from_search("?other=1") == ALL_TEAMS


def test_a_team_matches_case_insensitively_and_an_unknown_one_is_none() -> None:
    choices = [("Platform", 3), ("Mobile", 2)]
    assert match_team("platform", choices) == "Platform"
    assert match_team(ALL_TEAMS, choices) == ALL_TEAMS
    assert match_team("Nobody", choices) is None


def test_the_selected_team_reaches_the_services_only_when_one_is_chosen() -> None:
    assert selected_team("") is None and selected_team(None) is None and selected_team(" Platform ") == "Platform"
    assert team_kwargs("") == {} and team_kwargs("Platform") == {"team": "Platform"}


def test_exactly_one_view_shows() -> None:
    assert view_styles("/teams", False) == (HIDDEN, HIDDEN, {})
    assert view_styles("/analytics", True) == (HIDDEN, {}, HIDDEN)
    assert view_styles("/", False) == ({}, HIDDEN, HIDDEN)


def test_the_page_has_the_selector_the_link_and_the_view() -> None:
    layout = as_json(page())
    for element_id in (ids.Teams.SELECTOR, ids.Teams.TABLE, ids.Views.TEAMS, ids.Views.TEAMS_LINK):
        assert f'"{element_id}"' in layout


def metric(value: Any, tier: str | None = None, direction: str | None = None, pct: float | None = None) -> dict:
    return {"value": value, "unit": "days", "performance_tier": tier,
            "details": {"trend_direction": direction, "trend_percentage": pct}}


def test_a_cell_shows_value_tier_word_and_trend_arrow() -> None:
    cell = metric_cell(metric(2.5, "Elite", "up", 10.0))
    assert "2.5 days" in cell and ">Elite</span>" in cell and "tier-elite" in cell and "↑" in cell
    assert "↓" in metric_cell(metric(2.5, None, "down", -5.0))
    # No previous period to compare with: no arrow; no value: a dash.
    assert "↑" not in metric_cell(metric(2.5, None, "up", None))
    assert metric_cell(metric(None)) == '<span class="text-body-secondary">—</span>'


def test_sorting_keeps_all_teams_first_and_missing_numbers_last() -> None:
    rows = [{"team": "All teams", "metrics": {"lead_time_for_changes": metric(5.0)}},
            {"team": "beta", "metrics": {"lead_time_for_changes": metric(1.0)}},
            {"team": "Alpha", "metrics": {"lead_time_for_changes": metric(None)}},
            {"team": "Gamma", "metrics": {"lead_time_for_changes": metric(9.0)}}]
    data = table_data(rows)
    order = [row["team"] for row in sort_rows(data, [{"column_id": "lead_time_for_changes", "direction": "desc"}])]
    assert order == ["All teams", "Gamma", "beta", "Alpha"]
    order = [row["team"] for row in sort_rows(data, [{"column_id": "lead_time_for_changes", "direction": "asc"}])]
    assert order == ["All teams", "beta", "Gamma", "Alpha"]
    # Names sort case-insensitively.
    order = [row["team"] for row in sort_rows(data, [{"column_id": "team", "direction": "asc"}])]
    assert order == ["All teams", "Alpha", "beta", "Gamma"]
    assert data[0]["_team"] == ALL_TEAMS and data[1]["_team"] == "beta"


def test_without_data_the_selector_is_disabled_with_a_hint() -> None:
    options, value, disabled, hint, hint_style, search = sync_selector("?team=Platform", ALL_TEAMS, False)
    assert options == [{"label": "All teams", "value": ""}]
    assert (value, disabled, hint, hint_style, search) == (ALL_TEAMS, True, NO_TEAM_FIELD_HINT, {}, "")


def test_the_url_selects_a_team_in_its_known_spelling(demo) -> None:
    _now, choices = demo
    name, count = choices[0]
    options, value, disabled, _hint, hint_style, search = sync_selector(f"?team={name.upper()}", ALL_TEAMS, False)
    assert options[0]["value"] == ALL_TEAMS and options[1] == {"label": f"{name} ({count} issues)", "value": name}
    assert (value, disabled, hint_style, search) == (name, False, HIDDEN, search_for_team(name))
    # The user's choice wins over the URL and is written into it.
    other = choices[1][0]
    assert sync_selector(f"?team={name}", other, True)[1::4] == (other, search_for_team(other))


def test_an_unknown_team_in_the_url_falls_back_to_all_teams_with_a_message(demo) -> None:
    _options, value, disabled, hint, hint_style, search = sync_selector("?team=Nobody", ALL_TEAMS, False)
    assert (value, disabled, hint_style, search) == (ALL_TEAMS, False, {}, "")
    assert "Nobody" in hint and "all teams" in hint


def test_cards_exports_and_drilldowns_follow_the_team(demo) -> None:
    now, choices = demo
    team = choices[0][0]
    period = resolve_period(PERIOD_STORE, now.date())
    settings = dashboard_settings().settings
    team_metrics, _ = metrics_for_period(settings, period.start, period.end, now, team=team)
    all_metrics, _ = metrics_for_period(settings, period.start, period.end, now)
    assert as_json(team_metrics) != as_json(all_metrics)
    dora, flow, *_rest = show_metrics(PERIOD_STORE, None, now, team=team)
    assert as_json([dora, flow]) == as_json(list(metric_rows(team_metrics)))
    dora, flow, *_rest = show_metrics(PERIOD_STORE, None, now, team=ALL_TEAMS)
    assert as_json([dora, flow]) == as_json(list(metric_rows(all_metrics)))
    download, _toast = download_metrics("json", PERIOD_STORE, now, team=team)
    assert download["content"] == current_metrics_export("json", settings, period, now, team=team).content
    opened = show_drilldown("flow_velocity", PERIOD_STORE, now, team=team)
    assert opened[0] is True and opened[6]["team"] == team
    everyone = show_drilldown("flow_velocity", PERIOD_STORE, now, team="")
    assert everyone[6]["team"] is None and len(everyone[4]) > len(opened[4])


def test_the_comparison_lists_all_teams_first_then_every_team(demo) -> None:
    now, choices = demo
    data, message = show_teams("/teams", PERIOD_STORE, None, now)
    assert message is None
    assert [row["team"] for row in data] == ["All teams", *(name for name, _ in choices)]
    with pytest.raises(PreventUpdate):
        show_teams("/", PERIOD_STORE, None, now)


def test_a_clicked_row_selects_its_team_and_shows_the_dashboard() -> None:
    data = table_data([{"team": "All teams", "metrics": {}}, {"team": "Platform", "metrics": {}}])
    assert select_row({"row": 1, "column": 0, "column_id": "team"}, data) == ("Platform", "/", None)
    assert select_row({"row": 0, "column": 3, "column_id": "flow_load"}, data) == (ALL_TEAMS, "/", None)
    with pytest.raises(PreventUpdate):
        select_row(None, data)
    with pytest.raises(PreventUpdate):
        select_row({"row": 7}, data)
