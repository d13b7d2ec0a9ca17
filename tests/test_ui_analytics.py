"""The Analytics view's figure builders, sentences and states, and the forecast panel's words and charts, on
hand-made sections in the shapes of ANALYTICS.md (``cli.py analytics`` / ``cli.py forecast`` JSON)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from dash.exceptions import PreventUpdate

from callbacks.analytics import show_analytics
from callbacks.forecast import _items, show_forecast
from ui import analytics_charts as charts
from ui import ids
from ui.analytics_state import HIDDEN, NO_DATA_IN_PERIOD, state_message
from ui.analytics_view import CHART_CARDS, chart_outputs, is_analytics, view_styles
from ui.forecast_charts import forecast_answers, histogram_figure, history_figure
from ui.forecast_panel import forecast_outputs, forecast_panel, mode_styles
from ui.notices import NO_DATA_TITLE
from ui.page import build_page

PERCENTILES = {"50": 2.0, "70": 4.0, "85": 6.2, "95": 9.5}


def _text(component: Any) -> str:
    """All the text of a Dash component tree."""
    if component is None:
        return ""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(_text(child) for child in component)
    return _text(getattr(component, "children", None))


def _ids(component: Any) -> list[Any]:
    found = []
    if isinstance(component, list | tuple):
        for child in component:
            found += _ids(child)
        return found
    if hasattr(component, "to_plotly_json"):
        if getattr(component, "id", None) is not None:
            found.append(component.id)
        found += _ids(getattr(component, "children", None))
    return found


def cycle_section(**overrides: Any) -> dict[str, Any]:
    points = [
        {"key": "ABC-1", "completed_at": "2026-11-02T10:00:00.000Z", "cycle_time_days": 1.5, "flow_type": "Feature"},
        {"key": "ABC-2", "completed_at": "2026-11-03T10:00:00.000Z", "cycle_time_days": 7.0, "flow_type": "Defect"},
        {"key": "ABC-3", "completed_at": "2026-11-04T10:00:00.000Z", "cycle_time_days": 3.0, "flow_type": "Feature",
         "summary": "Login page"},
        {"key": "ABC-4", "completed_at": "2026-11-05T10:00:00.000Z", "cycle_time_days": 2.0, "flow_type": None},
    ]
    return {"points": points, "percentiles": dict(PERCENTILES), "total_issue_count": 4, "excluded_issue_count": 0,
            "error_state": "success", "error_message": None, **overrides}


def aging_section(**overrides: Any) -> dict[str, Any]:
    items = [
        {"key": "ABC-9", "status": "In Review", "age_days": 8.0, "flow_type": "Feature"},
        {"key": "ABC-7", "status": "In Progress", "age_days": 3.0, "flow_type": "Defect"},
        {"key": "ABC-8", "status": "In Progress", "age_days": 1.0, "flow_type": "Feature"},
        {"key": "ABC-6", "status": "In Progress", "age_days": None, "flow_type": "Feature"},
    ]
    # over_85: only ABC-9 (8.0 > 6.2); ABC-6 has no start.
    return {"as_of": "2026-11-29T12:00:00.000Z", "count": 4, "items": items, "percentiles": dict(PERCENTILES),
            "over_85": 1, "by_status": {"In Progress": 3, "In Review": 1}, "error_state": "success",
            "error_message": None, **overrides}


def status_section(bottleneck: str | None = "In Review") -> dict[str, Any]:
    statuses = [
        {"status": "In Progress", "total_days": 12.0, "share_percent": 60.0, "items": 4, "median_days": 3.0,
         "active": True},
        {"status": "In Review", "total_days": 6.0, "share_percent": 30.0, "items": 3, "median_days": 2.0,
         "active": False},
        {"status": "Blocked", "total_days": 2.0, "share_percent": 10.0, "items": 1, "median_days": 2.0,
         "active": False},
    ]
    return {"statuses": statuses, "bottleneck": bottleneck, "error_state": "success", "error_message": None}


def cfd_section() -> dict[str, Any]:
    return {"days": ["2026-11-01", "2026-11-02"], "counts": {"To Do": [5, 4], "In Progress": [2, 3], "Done": [1, 2]},
            "order": ["Done", "In Progress", "To Do"], "error_state": "success", "error_message": None}


def throughput_section() -> dict[str, Any]:
    # 1 Nov 2026 is a Sunday (ISO week 44); 2–8 Nov is week 45; 9–10 Nov week 46.
    days = [f"2026-11-{day:02d}" for day in range(1, 11)]
    daily = [1, 2, 0, 3, 1, 0, 0, 2, 4, 1]
    return {"days": days, "daily": daily, "weekly": {"labels": ["2026-44", "2026-45", "2026-46"],
                                                     "values": [1, 8, 5]},
            "error_state": "success", "error_message": None}


def analytics(**sections: Any) -> dict[str, Any]:
    base = {"period": {"start": "2026-11-01", "end": "2026-11-10"}, "team": None, "cycle_time": cycle_section(),
            "aging_wip": aging_section(), "time_in_status": status_section(), "cfd": cfd_section(),
            "throughput": throughput_section()}
    return {**base, **sections}


# --- cycle time -------------------------------------------------------------------------------------------------

def test_cycle_time_has_one_dot_per_point_one_trace_per_flow_type_and_links_to_jira() -> None:
    figure = charts.cycle_time_figure(cycle_section(), jira_url="https://jira.example.com/")
    names = [trace["name"] for trace in figure["data"]]
    assert names == ["Feature", "Defect", charts.UNMAPPED_TYPE]  # fixed type order, the unmapped last
    assert sum(len(trace["x"]) for trace in figure["data"]) == 4
    feature = figure["data"][0]
    assert feature["y"] == [1.5, 3.0]
    assert feature["customdata"][0] == ["ABC-1", "", "https://jira.example.com/browse/ABC-1"]
    assert feature["customdata"][1][1] == " — Login page"  # the summary joins the hover when known
    assert "Cycle time" in feature["hovertemplate"] and "customdata[0]" in feature["hovertemplate"]
    assert figure["data"][0]["marker"]["symbol"] != figure["data"][1]["marker"]["symbol"]  # not colour alone
    assert figure["layout"]["xaxis"]["title"]["text"] == "Completion date"
    assert figure["layout"]["yaxis"]["title"]["text"] == "Cycle time (days)"


def test_azure_devops_work_items_show_as_hash_id_and_link_to_their_edit_page() -> None:
    base = "https://dev.azure.com/contoso/Fabrikam/_workitems/edit"
    section = cycle_section()
    section["points"] = [{**point, "key": str(number)} for number, point in enumerate(section["points"], 41)]
    figure = charts.cycle_time_figure(section, jira_url=base)
    assert figure["data"][0]["customdata"][0] == ["#41", "", f"{base}/41"]
    aging = aging_section()
    aging["items"] = [{**item, "key": str(number)} for number, item in enumerate(aging["items"], 7)]
    traces = charts.aging_wip_figure(aging, jira_url=base)["data"]
    dots = [row for trace in traces for row in trace.get("customdata") or []]
    assert dots and all(row[0].startswith("#") and row[3] == f"{base}/{row[0][1:]}" for row in dots)


def test_cycle_time_without_a_jira_url_has_no_link() -> None:
    figure = charts.cycle_time_figure(cycle_section(), jira_url=None)
    assert all(row[2] == "" for trace in figure["data"] for row in trace["customdata"])


def test_cycle_time_percentile_lines_are_drawn_and_labelled() -> None:
    figure = charts.cycle_time_figure(cycle_section())
    assert [shape["y0"] for shape in figure["layout"]["shapes"]] == [2.0, 4.0, 6.2, 9.5]
    assert [note["text"] for note in figure["layout"]["annotations"]] == [
        "50% finished within 2 days", "70% finished within 4 days", "85% finished within 6.2 days",
        "95% finished within 9.5 days"]
    assert charts.cycle_time_summary(cycle_section()).startswith("85% of items finished within 6.2 days")


def test_cycle_time_without_percentiles_draws_no_lines() -> None:
    section = cycle_section(percentiles={"50": None, "70": None, "85": None, "95": None})
    assert charts.cycle_time_figure(section)["layout"]["shapes"] == []
    assert charts.cycle_time_summary(section) == ""


def test_the_theme_sets_the_font_colour() -> None:
    light = charts.cycle_time_figure(cycle_section(), "light")["layout"]["font"]["color"]
    dark = charts.cycle_time_figure(cycle_section(), "dark")["layout"]["font"]["color"]
    assert light != dark and dark == "#dee2e6"


# --- ageing WIP -------------------------------------------------------------------------------------------------

def test_aging_wip_columns_follow_the_workflow_order_and_old_items_stand_out() -> None:
    order = charts.workflow_order(cfd_section())  # cfd order reversed: To Do, In Progress, Done
    assert order == ["To Do", "In Progress", "Done"]
    figure = charts.aging_wip_figure(aging_section(), order=["In Progress", "In Review"])
    xaxis = figure["layout"]["xaxis"]
    assert xaxis["ticktext"] == ["In Progress (3)", "In Review (1)"]
    within, older = figure["data"]
    assert sorted(within["y"]) == [1.0, 3.0]  # ABC-6 has no age: not drawn
    assert older["y"] == [8.0] and older["marker"]["symbol"] == "diamond"
    assert round(older["x"][0]) == 1  # its column: In Review
    assert all(round(x) == 0 for x in within["x"])
    rects = [shape for shape in figure["layout"]["shapes"] if shape["type"] == "rect"]
    # five bands: 0–50%, 50–70%, 70–85%, 85–95%, above 95% up to the top (the 95th percentile 9.5 × 1.1)
    edges = [value for rect in rects for value in (rect["y0"], rect["y1"])]
    assert edges == pytest.approx([0.0, 2.0, 2.0, 4.0, 4.0, 6.2, 6.2, 9.5, 9.5, 10.45])
    assert figure["layout"]["yaxis"]["title"]["text"] == "Age (days)"


def test_aging_wip_summary_counts_the_items_older_than_the_85th_percentile() -> None:
    assert charts.aging_wip_summary(aging_section()) == (
        "4 items in progress; 1 item is older than 85% of finished items; 1 without a start date is not drawn.")
    assert "4 items are older than 85% of finished items" in charts.aging_wip_summary(aging_section(over_85=4))


def test_aging_wip_switches_to_a_log_scale_for_items_far_older_than_the_bands() -> None:
    items = [{"key": "OLD-1", "status": "In Progress", "age_days": 300.0, "flow_type": "Feature"}]
    figure = charts.aging_wip_figure(aging_section(items=items))  # 330 > 10 × 9.5
    yaxis = figure["layout"]["yaxis"]
    assert yaxis["type"] == "log" and "log scale" in yaxis["title"]["text"]
    note = next(note for note in figure["layout"]["annotations"] if note["text"].startswith("85%"))
    assert note["y"] == pytest.approx(0.792391689)  # log10(6.2): annotations on a log axis take log positions


# --- time in status ---------------------------------------------------------------------------------------------

def test_time_in_status_bars_distinguish_active_from_waiting_and_name_the_bottleneck() -> None:
    figure = charts.time_in_status_figure(status_section())
    active, waiting = figure["data"]
    assert active["name"] == charts.ACTIVE_NAME and active["y"] == ["In Progress"]
    assert waiting["y"] == ["In Review", "Blocked"] and waiting["x"] == [30.0, 10.0]
    assert waiting["marker"]["pattern"]["shape"] == "/" and active["marker"]["pattern"]["shape"] == ""
    assert figure["layout"]["yaxis"]["categoryarray"] == ["In Progress", "In Review", "Blocked"]
    assert figure["layout"]["xaxis"]["title"]["text"] == "Share of flow time (%)"
    assert charts.time_in_status_summary(status_section()) == (
        "Bottleneck: work waits longest in “In Review” (30% of flow time, 6 days in total).")
    assert "no bottleneck" in charts.time_in_status_summary(status_section(bottleneck=None))


# --- cumulative flow and throughput -----------------------------------------------------------------------------

def test_cfd_stacks_one_area_per_status_in_band_order() -> None:
    figure = charts.cfd_figure(cfd_section())
    assert [trace["name"] for trace in figure["data"]] == ["Done", "In Progress", "To Do"]
    assert all(trace["stackgroup"] == "cfd" for trace in figure["data"])
    assert figure["data"][2]["y"] == [5, 4]
    assert charts.cfd_summary(cfd_section()) == "9 items on 2026-11-02, across 3 statuses."  # 4 + 3 + 2


def test_throughput_has_daily_bars_and_a_weekly_line_at_each_weeks_middle() -> None:
    figure = charts.throughput_figure(throughput_section())
    bars, weekly = figure["data"]
    assert bars["type"] == "bar" and bars["y"] == [1, 2, 0, 3, 1, 0, 0, 2, 4, 1]
    # week 44 holds 1 Nov only; week 45 2–8 Nov (middle 5 Nov); week 46 9–10 Nov (middle rounds down to 9 Nov)
    assert weekly["x"] == ["2026-11-01", "2026-11-05", "2026-11-09"] and weekly["y"] == [1, 8, 5]
    assert weekly["yaxis"] == "y2" and figure["layout"]["yaxis2"]["title"]["text"] == "Items per week"
    # 14 items over 10 days = 9.8 a week
    assert charts.throughput_summary(throughput_section()) == "14 items completed in 10 days, 9.8 a week on average."


# --- states -----------------------------------------------------------------------------------------------------

def test_missing_mapping_says_what_to_map_and_offers_the_cards_button() -> None:
    section = {"error_state": "missing_mapping", "error_message": "Set the WIP statuses"}
    message = state_message("aging_wip", section)
    assert "Set the WIP statuses" in _text(message) and "Configure field mappings" in _text(message)
    assert ids.map_fields_button("analytics-aging_wip") in _ids(message)


def test_no_data_and_nothing_loaded_have_their_messages() -> None:
    assert "No completed items" in _text(state_message("cycle_time", {"error_state": "no_data",
                                                                      "error_message": "No completed items"}))
    assert NO_DATA_IN_PERIOD in _text(state_message("cycle_time", cycle_section(points=[])))
    assert NO_DATA_TITLE in _text(state_message("cycle_time", None, "Update Data fetches the issues"))
    assert state_message("cycle_time", cycle_section()) is None


def test_chart_outputs_hide_a_chart_that_cannot_be_drawn() -> None:
    unmapped = {"error_state": "missing_mapping", "error_message": "Set the WIP statuses"}
    out = chart_outputs(analytics(aging_wip=unmapped), "light", jira_url=None)
    assert len(out["figures"]) == len(CHART_CARDS) == 5
    assert out["styles"][1] == HIDDEN and out["figures"][1]["data"] == []
    assert out["states"][0] is None and out["styles"][0] == {"height": "360px"}
    assert out["summaries"][0].startswith("85% of items")
    nothing = chart_outputs(None, "dark", no_data_explanation="Click Update Data")
    assert all(style == HIDDEN for style in nothing["styles"])
    assert all(NO_DATA_TITLE in _text(state) for state in nothing["states"])


# --- routing ----------------------------------------------------------------------------------------------------

def test_the_url_picks_the_view() -> None:
    assert view_styles("/analytics") == (HIDDEN, {})
    assert view_styles("/analytics/") == (HIDDEN, {})
    assert view_styles("/") == ({}, HIDDEN) and view_styles(None) == ({}, HIDDEN)
    assert is_analytics("/analytics") and not is_analytics("/analytics-old")
    page_ids = _ids(build_page(data_source_label="Demo", last_updated=None, demo_mode=True, today=date(2026, 11, 29)))
    for wanted in (ids.Views.LOCATION, ids.Views.DASHBOARD, ids.Views.ANALYTICS, ids.Views.DASHBOARD_LINK,
                   ids.Views.ANALYTICS_LINK, ids.Forecast.UNTIL):
        assert wanted in page_ids


def test_the_charts_are_not_computed_while_the_cards_are_shown() -> None:
    with pytest.raises(PreventUpdate):
        show_analytics("/", {"preset": "30"}, "light")


# --- forecast ---------------------------------------------------------------------------------------------------

def how_many_forecast() -> dict[str, Any]:
    # history ends 20 Dec 2026, so today is 21 Dec; 10 days ahead is 31 Dec
    return {"mode": "how_many", "history": {"start": "2026-12-18", "end": "2026-12-20", "days": 3,
                                            "daily": [4, 0, 5], "total": 9},
            "trials": 10000, "seed": 0, "horizon_days": 10, "results": {"50": 50, "70": 45, "85": 41, "95": 1},
            "distribution": {"values": [38, 41, 50], "counts": [10, 20, 30]}, "error_state": "success",
            "error_message": None}


def when_forecast() -> dict[str, Any]:
    # history ends 27 Feb 2027, so today is 28 Feb 2027 and 12 Mar is 12 days later
    return {"mode": "when", "history": {"start": "2027-02-26", "end": "2027-02-27", "days": 2, "daily": [1, 2],
                                        "total": 3},
            "trials": 10000, "seed": 0, "items": 20,
            "results": {"50": "2027-03-10", "70": "2027-03-11", "85": "2027-03-12", "95": None},
            "days": {"50": 10, "70": 11, "85": 12, "95": None}, "beyond_horizon": True,
            "distribution": {"values": [10, 11, 12], "counts": [5, 3, 2]}, "error_state": "success",
            "error_message": None}


def test_forecast_answers_in_plain_words() -> None:
    assert forecast_answers(how_many_forecast()) == [
        ("50%", "50% likely: at least 50 items by 31 Dec"), ("70%", "70% likely: at least 45 items by 31 Dec"),
        ("85%", "85% likely: at least 41 items by 31 Dec"), ("95%", "95% likely: at least 1 item by 31 Dec")]
    answers = dict(forecast_answers(when_forecast()))
    assert answers["85%"] == "85% likely: done by 12 Mar"
    assert answers["95%"].startswith("95% likely: not within 10 years")


def test_forecast_histogram_marks_the_85_percent_answer() -> None:
    how_many = histogram_figure(how_many_forecast())
    assert how_many["data"][0]["x"] == [38, 41, 50] and how_many["data"][0]["y"] == [10, 20, 30]
    assert how_many["layout"]["shapes"][0]["x0"] == 41
    assert how_many["layout"]["annotations"][0]["text"] == "85% likely: at least 41 items"
    when = histogram_figure(when_forecast(), "dark")
    assert when["layout"]["shapes"][0]["x0"] == 12
    assert when["layout"]["xaxis"]["title"]["text"] == "Days from today until the items are done"


def test_forecast_history_has_one_bar_per_day_of_the_window() -> None:
    figure = history_figure(how_many_forecast())
    assert figure["data"][0]["x"] == ["2026-12-18", "2026-12-19", "2026-12-20"]
    assert figure["data"][0]["y"] == [4, 0, 5]


def test_forecast_outputs_show_the_answers_or_say_what_is_wrong() -> None:
    shown = forecast_outputs(how_many_forecast(), "how_many", "light")
    assert shown["message"] is None and shown["charts_style"] == {}
    assert "85% likely: at least 41 items by 31 Dec" in _text(shown["results"])
    assert (shown["until_style"], shown["items_style"]) == mode_styles("how_many") == ({}, HIDDEN)
    assert mode_styles("when") == (HIDDEN, {})
    invalid = {**when_forecast(), "error_state": "invalid_input", "error_message": "The number of items must be "
                                                                                    "at least 1 (got 0)"}
    refused = forecast_outputs(invalid, "when", "light")
    assert "must be at least 1" in _text(refused["message"]) and refused["charts_style"] == HIDDEN
    assert refused["results"] is None
    empty = forecast_outputs(None, "when", "light", no_data_explanation="Click Update Data")
    assert NO_DATA_TITLE in _text(empty["message"])


def test_the_typed_number_of_items_is_a_whole_number_or_nothing() -> None:
    assert _items(12) == 12 and _items(12.0) == 12
    assert _items(2.5) is None and _items(None) is None and _items("7") is None


def test_the_forecast_date_picker_offers_only_future_days() -> None:
    panel = forecast_panel(date(2026, 11, 29))
    picker = next(node for node in _walk(panel) if getattr(node, "id", None) == ids.Forecast.UNTIL)
    assert picker.min_date_allowed == "2026-11-30"  # tomorrow: today itself is no forecast
    assert picker.date == "2026-12-29"  # 30 days ahead to start with


def test_the_forecast_is_not_run_while_the_cards_are_shown() -> None:
    with pytest.raises(PreventUpdate):
        show_forecast("/", "how_many", "2026-12-31", None, 90, "light")


def _walk(node: Any) -> list[Any]:
    found = [node]
    children = getattr(node, "children", None)
    for child in children if isinstance(children, list | tuple) else [children]:
        if hasattr(child, "to_plotly_json"):
            found += _walk(child)
    return found
