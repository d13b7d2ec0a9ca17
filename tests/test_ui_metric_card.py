"""Metric cards and sparklines: every card state, tier colours, trend colouring, distribution bar, gaps."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
import pytest
from dash import dcc, html
from dash.development.base_component import Component

from ui import ids
from ui.metric_card import metric_card
from ui.metric_info import DORA_METRICS, FLOW_METRICS, METRIC_INFO, trend_is_good
from ui.sparkline import RECONSTRUCTED_NAME, sparkline_figure, sparkline_graph

# ---- tree helpers (also used by tests/test_ui_page.py) -------------------------------------------


def walk(node: Any) -> Iterator[Component]:
    """Every component under ``node`` (itself included), following children and component-valued props."""
    if isinstance(node, (list, tuple)):
        for item in node:
            yield from walk(item)
        return
    if not isinstance(node, Component):
        return
    yield node
    for prop in node._prop_names:
        value = getattr(node, prop, None)
        if isinstance(value, (Component, list, tuple)):
            yield from walk(value)


def text_of(node: Any) -> str:
    """All visible text under ``node`` (strings in children and component-valued props), space-joined."""
    parts: list[str] = []

    def collect(item: Any) -> None:
        if isinstance(item, str):
            parts.append(item)
        elif isinstance(item, (int, float)) and not isinstance(item, bool):
            parts.append(str(item))
        elif isinstance(item, (list, tuple)):
            for child in item:
                collect(child)
        elif isinstance(item, Component):
            for prop in ("children", "label", "header"):
                collect(getattr(item, prop, None))

    collect(node)
    return " ".join(" ".join(parts).split())


def classes(component: Component) -> set[str]:
    return set(
        (getattr(component, "className", None) or getattr(component, "class_name", None) or "").split()
    )


def by_class(node: Any, css_class: str) -> list[Component]:
    return [component for component in walk(node) if css_class in classes(component)]


def one_by_class(node: Any, css_class: str) -> Component:
    found = by_class(node, css_class)
    assert len(found) == 1, f"expected one .{css_class}, found {len(found)}"
    return found[0]


def by_id(node: Any, component_id: Any) -> list[Component]:
    return [component for component in walk(node) if getattr(component, "id", None) == component_id]


# ---- fixtures ------------------------------------------------------------------------------------

LABELS = [f"2025-{week:02d}" for week in range(1, 17)]


def make_metric(name: str, **overrides: Any) -> dict[str, Any]:
    """A successful MetricValue dict as the calculators produce it; ``details`` keys merge."""
    metric = {
        "metric_name": name,
        "metric_type": METRIC_INFO[name].metric_type,
        "value": 12.345,
        "unit": "days",
        "performance_tier": None,
        "performance_tier_color": None,
        "calculation_timestamp": "2025-04-20T10:00:00+00:00",
        "time_period_start": "2025-03-22T00:00:00+00:00",
        "time_period_end": "2025-04-20T23:59:59.999999+00:00",
        "error_state": "success",
        "error_message": None,
        "excluded_issue_count": 2,
        "total_issue_count": 50,
        "details": {
            "sample_size": 48,
            "trend_percentage": 12.5,
            "trend_direction": "up",
            "weekly_values": [float(week) for week in range(16)],
            "week_labels": list(LABELS),
            "exclusion_reasons": {"missing_code_commit_date": 2},
        },
    }
    details = overrides.pop("details", {})
    metric.update(overrides)
    metric["details"] = {**metric["details"], **details}
    return metric


def error_metric(name: str, state: str, message: str | None, **details: Any) -> dict[str, Any]:
    return make_metric(
        name,
        value=None,
        error_state=state,
        error_message=message,
        excluded_issue_count=0,
        total_issue_count=0,
        details={"sample_size": 0, "trend_percentage": None, "trend_direction": "flat", **details},
    )


# ---- success state -------------------------------------------------------------------------------


def test_success_dora_card_shows_rounded_value_unit_and_tier() -> None:
    card = metric_card(
        make_metric("lead_time_for_changes", performance_tier="High", performance_tier_color="yellow")
    )
    assert isinstance(card, dbc.Card)
    assert card.id == {"type": "metric-card", "metric": "lead_time_for_changes"}
    assert "metric-card" in classes(card)
    # 12.345 days at three significant figures is 12.3.
    assert one_by_class(card, "metric-value").children == "12.3"
    assert one_by_class(card, "metric-unit").children == "days"
    badge = one_by_class(card, "tier-badge")
    assert badge.children == "High"
    assert "tier-high" in classes(badge)
    assert "Lead Time for Changes" in text_of(card)
    assert "Sample: 48" in text_of(card)


@pytest.mark.parametrize(
    ("tier", "color", "css_class"),
    [
        ("Elite", "green", "tier-elite"),
        ("High", "yellow", "tier-high"),
        ("Medium", "orange", "tier-medium"),
        ("Low", "red", "tier-low"),
    ],
)
def test_each_tier_has_its_colour_class_and_its_name_as_text(tier: str, color: str, css_class: str) -> None:
    card = metric_card(
        make_metric(
            "deployment_frequency",
            value=4.2,
            unit="deployments/month",
            performance_tier=tier,
            performance_tier_color=color,
        )
    )
    badge = one_by_class(card, "tier-badge")
    assert badge.children == tier
    tier_classes = {name for name in classes(badge) if name.startswith("tier-") and name != "tier-badge"}
    assert tier_classes == {css_class}


def test_flow_card_has_no_tier_badge() -> None:
    card = metric_card(make_metric("flow_time", value=3.0, unit="days"))
    assert by_class(card, "tier-badge") == []
    assert one_by_class(card, "metric-value").children == "3"
    assert one_by_class(card, "metric-unit").children == "days"


def test_percent_value_is_one_decimal_with_percent_sign() -> None:
    card = metric_card(
        make_metric("change_failure_rate", value=33.3333, unit="percent", performance_tier="Low")
    )
    assert one_by_class(card, "metric-value").children == "33.3"
    assert one_by_class(card, "metric-unit").children == "%"


def test_info_icon_carries_the_how_it_is_computed_tooltip() -> None:
    card = metric_card(make_metric("mean_time_to_recovery", unit="hours"))
    icon_id = ids.metric_info_icon("mean_time_to_recovery")
    assert len(by_id(card, icon_id)) == 1
    tooltips = [c for c in walk(card) if isinstance(c, dbc.Tooltip)]
    assert len(tooltips) == 1
    assert tooltips[0].target == icon_id
    assert tooltips[0].children == METRIC_INFO["mean_time_to_recovery"].how_computed
    assert "median" in tooltips[0].children.lower()


def test_sample_and_excluded_counts_with_reasons_on_hover() -> None:
    card = metric_card(
        make_metric(
            "lead_time_for_changes",
            excluded_issue_count=3,
            details={"sample_size": 47, "exclusion_reasons": {"missing_code_commit_date": 2, "negative": 1}},
        )
    )
    assert one_by_class(card, "metric-sample").children == "Sample: 47"
    excluded = one_by_class(card, "metric-excluded")
    assert excluded.children == "Excluded: 3"
    assert excluded.title == "missing code commit date: 2\nnegative: 1"


def test_no_reasons_tooltip_when_nothing_is_excluded() -> None:
    card = metric_card(make_metric("flow_velocity", excluded_issue_count=0))
    excluded = one_by_class(card, "metric-excluded")
    assert excluded.children == "Excluded: 0"
    assert getattr(excluded, "title", None) is None


def test_sample_size_falls_back_to_total_minus_excluded() -> None:
    metric = make_metric("flow_time", total_issue_count=10, excluded_issue_count=4)
    del metric["details"]["sample_size"]
    assert one_by_class(metric_card(metric), "metric-sample").children == "Sample: 6"


# ---- trend ---------------------------------------------------------------------------------------


def _trend(card: Component) -> Component:
    return one_by_class(card, "metric-trend")


def _arrow(trend: Component) -> str:
    icons = [c for c in walk(trend) if isinstance(c, html.I)]
    assert len(icons) == 1
    return icons[0].className


@pytest.mark.parametrize(
    ("name", "direction", "percentage", "arrow", "colour", "text"),
    [
        # Deployment frequency: higher is better.
        (
            "deployment_frequency",
            "up",
            12.5,
            "bi-arrow-up-right",
            "text-success",
            "+12.5% vs previous period",
        ),
        (
            "deployment_frequency",
            "down",
            -20.0,
            "bi-arrow-down-right",
            "text-danger",
            "-20.0% vs previous period",
        ),
        # Lead time: lower is better, so rising is bad.
        (
            "lead_time_for_changes",
            "up",
            12.5,
            "bi-arrow-up-right",
            "text-danger",
            "+12.5% vs previous period",
        ),
        (
            "lead_time_for_changes",
            "down",
            -7.25,
            "bi-arrow-down-right",
            "text-success",
            "-7.3% vs previous period",
        ),
        # Flow distribution: no better direction.
        (
            "flow_distribution",
            "up",
            4.0,
            "bi-arrow-up-right",
            "text-body-secondary",
            "+4.0% vs previous period",
        ),
        # No previous value.
        ("flow_velocity", "flat", None, "bi-dash", "text-body-secondary", "no previous data"),
        ("flow_velocity", "flat", 0.0, "bi-dash", "text-body-secondary", "0.0% vs previous period"),
    ],
)
def test_trend_arrow_text_and_good_bad_colour(
    name: str, direction: str, percentage: float | None, arrow: str, colour: str, text: str
) -> None:
    card = metric_card(
        make_metric(name, details={"trend_direction": direction, "trend_percentage": percentage})
    )
    trend = _trend(card)
    assert arrow in _arrow(trend).split()
    assert colour in classes(trend)
    assert {"text-success", "text-danger", "text-body-secondary"} & classes(trend) == {colour}
    assert text_of(trend) == text


def test_trend_of_a_percent_metric_is_in_points_and_previous_zero_keeps_its_direction() -> None:
    # Change failure rate 15 % after 10 %: +5.0 pp (not +50 %); rising failure is bad → red, arrow up.
    cfr = metric_card(make_metric("change_failure_rate", value=15.0, unit="percent", details={
        "previous_value": 10.0, "trend_percentage": 50.0, "trend_direction": "up"}))
    trend = _trend(cfr)
    assert text_of(trend) == "+5.0 pp vs previous period"
    assert "text-danger" in classes(trend) and "bi-arrow-up-right" in _arrow(trend).split()
    # Deployment frequency 4 after 0: "was 0", still an improvement (green, arrow up).
    frequency = metric_card(make_metric("deployment_frequency", value=4.0, unit="deployments/month", details={
        "previous_value": 0.0, "trend_percentage": None, "trend_direction": "up"}))
    trend = _trend(frequency)
    assert text_of(trend) == "was 0 in the previous period"
    assert "text-success" in classes(trend) and "bi-arrow-up-right" in _arrow(trend).split()


def test_trend_before_the_fetched_data_says_no_earlier_data() -> None:
    card = metric_card(make_metric("flow_velocity", details={
        "previous_value": None, "trend_percentage": None, "trend_direction": "flat", "previous_covered": False}))
    trend = _trend(card)
    assert text_of(trend) == "no earlier data"
    assert "text-body-secondary" in classes(trend) and "bi-dash" in _arrow(trend).split()
    assert "before the first day of the fetched data" in trend.title


def test_higher_is_better_table_covers_all_nine_metrics() -> None:
    assert trend_is_good("flow_velocity", "up") is True
    assert trend_is_good("flow_efficiency", "down") is False
    assert trend_is_good("mean_time_to_recovery", "down") is True
    assert trend_is_good("change_failure_rate", "up") is False
    assert trend_is_good("flow_load", "up") is False
    assert trend_is_good("lead_time_for_changes", "flat") is None
    assert set(METRIC_INFO) == set(DORA_METRICS) | set(FLOW_METRICS)
    assert len(DORA_METRICS) == 4 and len(FLOW_METRICS) == 5


# ---- error states --------------------------------------------------------------------------------


def test_missing_mapping_names_the_field_and_offers_the_mapping_button() -> None:
    metric = error_metric(
        "deployment_frequency",
        "missing_mapping",
        "Map the Deployment Date field",
        missing_fields=["deployment_date"],
    )
    card = metric_card(metric)
    assert "metric-state-missing_mapping" in classes(card)
    assert "Map the Deployment Date field" in text_of(one_by_class(card, "metric-message"))
    assert text_of(one_by_class(card, "metric-missing-fields")) == "Fields to map: Deployment Date"
    buttons = by_id(card, {"type": "map-fields-button", "metric": "deployment_frequency"})
    assert len(buttons) == 1
    assert isinstance(buttons[0], dbc.Button)
    assert text_of(buttons[0]) == "Configure field mappings"
    assert by_class(card, "metric-value") == []
    assert by_class(card, "tier-badge") == []


def test_missing_mapping_without_missing_fields_shows_only_the_message() -> None:
    card = metric_card(error_metric("flow_distribution", "missing_mapping", "Map the Flow Item Type field"))
    assert by_class(card, "metric-missing-fields") == []
    assert "Map the Flow Item Type field" in text_of(card)
    assert len(by_id(card, ids.map_fields_button("flow_distribution"))) == 1


def test_no_data_shows_what_is_missing_and_no_value() -> None:
    card = metric_card(error_metric("deployment_frequency", "no_data", "No deployments in this period"))
    message = one_by_class(card, "metric-message")
    assert text_of(message) == "No deployments in this period"
    assert by_class(card, "metric-value") == []
    assert by_id(card, ids.map_fields_button("deployment_frequency")) == []
    assert [c for c in walk(card) if isinstance(c, dbc.Alert)] == []


def test_calculation_error_is_a_danger_alert_with_the_message() -> None:
    card = metric_card(error_metric("flow_efficiency", "calculation_error", "Division failed: bad data"))
    alerts = [c for c in walk(card) if isinstance(c, dbc.Alert)]
    assert len(alerts) == 1
    assert alerts[0].color == "danger"
    assert text_of(alerts[0]) == "Division failed: bad data"
    assert by_class(card, "metric-value") == []


def test_malformed_record_still_renders_as_an_error_card() -> None:
    card = metric_card({"metric_name": "flow_time", "error_state": "exploded", "details": None})
    assert card.id == ids.metric_card("flow_time")
    alerts = [c for c in walk(card) if isinstance(c, dbc.Alert)]
    assert len(alerts) == 1
    assert text_of(alerts[0]) == "This metric could not be calculated."


def test_card_does_not_modify_its_input() -> None:
    metric = make_metric("flow_load", value=7, unit="items", details={"reconstructed_weeks": LABELS[:2]})
    before = copy.deepcopy(metric)
    metric_card(metric)
    assert metric == before


# ---- flow distribution ---------------------------------------------------------------------------


def _segments(card: Component) -> list[tuple[str, float]]:
    bar = one_by_class(card, "distribution-bar")
    return [(segment.class_name.split("segment-")[1], segment.value) for segment in bar.children]


def test_distribution_bar_has_the_four_shares_and_a_legend() -> None:
    shares = {"Feature": 50.0, "Defect": 25.0, "Risk": 5.0, "Technical_Debt": 20.0, "Other": 0.0}
    card = metric_card(
        make_metric("flow_distribution", value=50.0, unit="percent", details={"distribution": shares})
    )
    assert one_by_class(card, "metric-value").children == "50.0"
    assert _segments(card) == [("Feature", 50.0), ("Defect", 25.0), ("Risk", 5.0), ("Technical_Debt", 20.0)]
    legend = text_of(one_by_class(card, "distribution-legend"))
    assert legend == "Feature 50.0% Defect 25.0% Risk 5.0% Tech Debt 20.0%"


def test_distribution_bar_adds_other_when_above_zero() -> None:
    shares = {"Feature": 40.0, "Defect": 30.0, "Risk": 0.0, "Technical_Debt": 17.5, "Other": 12.5}
    card = metric_card(
        make_metric("flow_distribution", value=40.0, unit="percent", details={"distribution": shares})
    )
    assert _segments(card)[-1] == ("Other", 12.5)
    assert sum(value for _, value in _segments(card)) == pytest.approx(100.0)
    assert "Other 12.5%" in text_of(one_by_class(card, "distribution-legend"))


def test_other_cards_have_no_distribution_bar() -> None:
    assert by_class(metric_card(make_metric("flow_time")), "distribution-bar") == []


# ---- sparkline -----------------------------------------------------------------------------------


def test_sparkline_keeps_none_weeks_as_gaps_never_zero() -> None:
    values = [3.0, None, 5.0, None, None, 2.0, 0.0, 1.0, None, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, None]
    figure = sparkline_figure(values, LABELS)
    assert len(figure["data"]) == 1
    trace = figure["data"][0]
    assert trace["y"] == values
    assert trace["connectgaps"] is False
    assert trace["x"] == LABELS


def test_sparkline_marks_a_lonely_week_with_a_marker() -> None:
    values: list[float | None] = [None] * 16
    values[7] = 2.0
    trace = sparkline_figure(values, LABELS)["data"][0]
    assert "markers" in trace["mode"]
    assert [y for y in trace["y"] if y is not None] == [2.0]


def test_sparkline_draws_reconstructed_weeks_in_a_separate_dotted_trace() -> None:
    values = [float(week) for week in range(1, 17)]
    reconstructed = LABELS[:3]
    figure = sparkline_figure(values, LABELS, reconstructed=reconstructed)
    recorded, replayed = figure["data"]
    assert replayed["name"] == RECONSTRUCTED_NAME == "reconstructed from changelog"
    assert replayed["line"]["dash"] == "dot"
    assert recorded["line"].get("dash") is None
    # Recorded trace: gaps where the weeks were reconstructed.
    assert recorded["y"] == [None, None, None, *values[3:]]
    # Reconstructed trace: the three weeks, plus the first recorded week to join the lines (no marker).
    assert replayed["y"] == [1.0, 2.0, 3.0, 4.0, *([None] * 12)]
    assert replayed["marker"]["size"][:4] == [6, 6, 6, 0]
    assert replayed["marker"]["symbol"] == "circle-open"


def test_sparkline_without_reconstructed_weeks_has_one_trace() -> None:
    assert len(sparkline_figure([1.0] * 16, LABELS, reconstructed=[])["data"]) == 1


def test_sparkline_figure_is_tiny_bare_and_transparent() -> None:
    layout = sparkline_figure([1.0] * 16, LABELS)["layout"]
    assert layout["height"] == 60
    assert layout["xaxis"]["visible"] is False and layout["yaxis"]["visible"] is False
    assert layout["paper_bgcolor"] == "rgba(0,0,0,0)" and layout["plot_bgcolor"] == "rgba(0,0,0,0)"
    assert (layout["margin"]["l"], layout["margin"]["r"]) == (0, 0)
    assert layout["showlegend"] is False


def test_sparkline_figure_is_a_plain_dict_that_plotly_accepts() -> None:
    values = [1.0, None, float("nan"), "x", *([2.0] * 12)]
    figure = sparkline_figure(values, LABELS, reconstructed=LABELS[5:7])
    assert not isinstance(figure, go.Figure)
    # Dash serialises the figure as is: it must be JSON-safe (NaN and junk became null gaps).
    assert json.loads(json.dumps(figure, allow_nan=False)) == figure
    # plotly's own validator rejects unknown or misspelt properties and bad values.
    validated = go.Figure(figure)
    assert [trace.type for trace in validated.data] == ["scatter", "scatter"]
    assert validated.data[0].y[:4] == (1.0, None, None, None)


def test_sparkline_graph_hovers_but_has_no_mode_bar_zoom_or_drag() -> None:
    graph = sparkline_graph([1.0] * 16, LABELS, color="#ff0000")
    assert isinstance(graph, dcc.Graph)
    # A static plot cannot hover: instead every other gesture is off and the axes are fixed.
    assert "staticPlot" not in graph.config
    assert graph.config["displayModeBar"] is False and graph.config["scrollZoom"] is False
    assert graph.config["doubleClick"] is False
    layout = graph.figure["layout"]
    assert layout["dragmode"] is False and layout["hovermode"] == "closest"
    assert layout["xaxis"]["fixedrange"] is True and layout["yaxis"]["fixedrange"] is True
    assert graph.figure["data"][0]["line"]["color"] == "#ff0000"
    assert graph.figure["data"][0]["marker"]["color"] == "#ff0000"


def test_sparkline_hover_shows_the_week_and_the_value_as_the_card_writes_it() -> None:
    values = [12.345, None, 1.0, *([2.0] * 13)]
    figure = sparkline_figure(values, LABELS, reconstructed=LABELS[2:3], unit="days")
    recorded, replayed = figure["data"]
    # Rounded like the card: 12.345 → "12.3 days"; exactly 1 → singular "1 day"; a gap has no value.
    assert recorded["customdata"][:3] == ["12.3 days", "—", "1 day"]
    assert recorded["hovertemplate"] == "%{x}: %{customdata}<extra></extra>"
    assert replayed["hovertemplate"] == "%{x}: %{customdata} (reconstructed from changelog)<extra></extra>"
    percent = sparkline_figure([45.0] * 16, LABELS, unit="percent")["data"][0]
    assert percent["customdata"][0] == "45.0%"
    # The card passes its unit through.
    card = metric_card(make_metric("flow_time", unit="days", details={"weekly_values": values}))
    graph = next(c for c in walk(card) if isinstance(c, dcc.Graph))
    assert graph.figure["data"][0]["customdata"][0] == "12.3 days"


def test_sparkline_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="one label per value"):
        sparkline_figure([1.0, 2.0], LABELS)


def test_card_sparkline_uses_the_weekly_values_and_notes_reconstruction() -> None:
    weekly = [None, 4.0, 5.0, *([6.0] * 13)]
    card = metric_card(
        make_metric(
            "flow_load",
            value=6,
            unit="items",
            details={"weekly_values": weekly, "reconstructed_weeks": LABELS[:2]},
        )
    )
    graphs = [c for c in walk(card) if isinstance(c, dcc.Graph)]
    assert len(graphs) == 1
    recorded, replayed = graphs[0].figure["data"]
    assert recorded["y"] == [None, None, *weekly[2:]]
    assert replayed["y"][:3] == [None, 4.0, 5.0]
    assert (
        text_of(one_by_class(card, "metric-reconstructed-note"))
        == "Dotted: 2 weeks reconstructed"
    )
    assert "replayed from the changelog" in one_by_class(card, "metric-reconstructed-note").title
    assert one_by_class(card, "metric-value").children == "6"


def test_card_with_only_empty_weeks_says_so_instead_of_drawing_zeros() -> None:
    card = metric_card(make_metric("flow_time", details={"weekly_values": [None] * 16}))
    assert [c for c in walk(card) if isinstance(c, dcc.Graph)] == []
    assert text_of(one_by_class(card, "metric-sparkline")) == "No weekly history yet"
