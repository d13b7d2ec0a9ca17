"""One metric card, built from one MetricValue (a JSON-safe dict), for all nine metrics.

The card states mirror ``error_state``: ``success`` shows the value, tier (DORA), trend, sparkline and
sample counts; ``missing_mapping`` names the field to map and offers the mapping modal; ``no_data`` says
what is missing in the period; ``calculation_error`` shows the message in a danger alert. A malformed
record still renders (missing keys read as absent), so one bad metric never blanks the page.

Hooks for callbacks and browser tests: the root id is ``ids.metric_card(name)`` and has the class
``metric-card``; the number is in the element of class ``metric-value`` (its unit in ``metric-unit``).
The ``success`` and ``no_data`` states (the ones with a population) end with a "Details" button,
``ids.drilldown_button(name)``, that opens the drill-down.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from ui import ids
from ui.formatting import (
    format_count,
    format_exclusion_reasons,
    format_value,
    format_value_parts,
    trend_text,
)
from ui.metric_info import MetricInfo, mapping_field_label, metric_info, trend_is_good
from ui.sparkline import sparkline_graph

TIER_CLASSES = {"Elite": "tier-elite", "High": "tier-high", "Medium": "tier-medium", "Low": "tier-low"}
TREND_ICONS = {"up": "bi-arrow-up-right", "down": "bi-arrow-down-right", "flat": "bi-dash"}
DISTRIBUTION_SEGMENTS: tuple[tuple[str, str, str], ...] = (
    ("Feature", "Feature", "primary"),
    ("Defect", "Defect", "danger"),
    ("Risk", "Risk", "warning"),
    ("Technical_Debt", "Tech Debt", "info"),  # short, so the legend takes two lines in a narrow card
    ("Other", "Other", "secondary"),
)


def _details(metric: dict[str, Any]) -> dict[str, Any]:
    details = metric.get("details")
    return details if isinstance(details, dict) else {}


def _number(value: Any) -> float:
    if isinstance(value, bool):
        return 0.0
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def tier_badge(tier: str | None) -> html.Span | None:
    """The tier written out on a badge coloured by the ``tier-*`` class; None when there is no tier."""
    if not tier:
        return None
    css = TIER_CLASSES.get(tier, "tier-unknown")
    return html.Span(
        tier,
        className=f"badge tier-badge {css}",
        title=f"DORA 2023 performance tier: {tier}",
    )


def trend_color_class(metric_name: str, direction: str, comparable: Any) -> str:
    """``text-success`` for an improvement, ``text-danger`` for a decline, else a neutral muted text.

    ``comparable`` is falsy when there is nothing to compare with (no previous value): then neutral."""
    if comparable is None or comparable is False:
        return "text-body-secondary"
    good = trend_is_good(metric_name, direction)
    if good is None:
        return "text-body-secondary"
    return "text-success" if good else "text-danger"


def _comparable(details: dict[str, Any]) -> bool:
    """Whether the card has a previous value to compare with (a percentage implies one)."""
    if details.get("trend_percentage") is not None:
        return True
    previous = details.get("previous_value")
    return previous is not None and not isinstance(previous, bool)


def trend_line(metric_name: str, details: dict[str, Any], value: Any = None, unit: str = "") -> html.Div:
    """Arrow (up-right / down-right / dash) and the trend words of ``trend_text`` (``+12.5% vs previous
    period``, ``+3.2 pp …`` for a percent metric, ``was 0 …``, ``no earlier data``), coloured good/bad."""
    comparable = _comparable(details)
    direction = details.get("trend_direction") if comparable else "flat"
    if direction not in TREND_ICONS:
        direction = "flat"
    good = trend_is_good(metric_name, direction) if comparable else None
    meaning = {True: "Better than", False: "Worse than", None: "Compared with"}[good]
    title = f"{meaning} the previous period of the same length"
    if not comparable and details.get("previous_covered") is False:
        title = "The previous period of the same length starts before the first day of the fetched data"
    return html.Div(
        [
            html.I(className=f"bi {TREND_ICONS[direction]} me-1", **{"aria-hidden": "true"}),
            trend_text(value, unit, details),
        ],
        className=f"metric-trend small {trend_color_class(metric_name, direction, comparable)}",
        title=title,
    )


def distribution_bar(distribution: Any) -> html.Div | None:
    """Stacked bar of the flow-type shares (Other only when above 0) with a text legend."""
    if not isinstance(distribution, dict):
        return None
    segments = []
    legend = []
    for key, label, color in DISTRIBUTION_SEGMENTS:
        share = _number(distribution.get(key))
        if key == "Other" and share <= 0:
            continue
        segments.append(
            dbc.Progress(value=share, color=color, bar=True, class_name=f"distribution-segment segment-{key}")
        )
        legend.append(
            html.Span(
                [
                    html.Span(className=f"legend-swatch bg-{color}"),
                    f"{label} {format_value(share, 'percent')}",
                ],
                className="distribution-legend-item me-2 text-nowrap",
                title=f"{key.replace('_', ' ')}: {format_value(share, 'percent')} of the completed items",
            )
        )
    return html.Div(
        [
            dbc.Progress(segments, class_name="distribution-bar mb-1"),
            html.Div(legend, className="distribution-legend small text-body-secondary"),
        ],
        className="metric-distribution mb-2",
    )


def _value_block(metric: dict[str, Any], details: dict[str, Any], info: MetricInfo) -> list[Any]:
    unit = str(metric.get("unit") or "")
    number_text, unit_text = format_value_parts(metric.get("value"), unit)
    unit_class = "metric-unit" if unit_text == "%" else "metric-unit ms-1"
    line: list[Any] = [html.Span(number_text, className="metric-value"), html.Span(unit_text, className=unit_class)]
    if info.name == "flow_distribution":
        # Said on the value's own line, so the card needs no extra line for it.
        line.append(html.Span("Feature share", className="metric-value-note small text-body-secondary ms-1",
                              title="Feature share of completed items"))
    block: list[Any] = [html.Div(line, className="metric-value-line mt-2")]
    if info.name == "flow_distribution":
        bar = distribution_bar(details.get("distribution"))
        if bar is not None:
            block.append(bar)
    block.append(trend_line(info.name, details, metric.get("value"), unit))
    return block


def _missing_fields_text(details: dict[str, Any]) -> str | None:
    fields = details.get("missing_fields")
    if not isinstance(fields, list) or not fields:
        return None
    return "Fields to map: " + ", ".join(mapping_field_label(str(key)) for key in fields)


def _state_message(metric: dict[str, Any], details: dict[str, Any], state: str) -> list[Any]:
    message = metric.get("error_message")
    if state == "missing_mapping":
        fields_text = _missing_fields_text(details)
        return [
            html.P(
                [
                    html.I(className="bi bi-exclamation-triangle-fill text-warning me-1"),
                    message or "Map the fields this metric needs",
                ],
                className="metric-message mt-2 mb-1",
            ),
            html.P(fields_text, className="metric-missing-fields small text-body-secondary mb-2")
            if fields_text
            else None,
            dbc.Button(
                [html.I(className="bi bi-sliders me-1"), "Configure field mappings"],
                id=ids.map_fields_button(metric.get("metric_name")),
                color="primary",
                outline=True,
                size="sm",
            ),
        ]
    if state == "no_data":
        return [
            html.P(
                [html.I(className="bi bi-inbox me-1"), message or "No data in this period"],
                className="metric-message text-body-secondary mt-2",
            )
        ]
    return [
        dbc.Alert(
            [
                html.I(className="bi bi-x-octagon-fill me-1"),
                message or "This metric could not be calculated.",
            ],
            color="danger",
            class_name="metric-message small py-2 mt-2 mb-0",
        )
    ]


def _sparkline_block(details: dict[str, Any], unit: str = "") -> html.Div | None:
    values = details.get("weekly_values")
    labels = details.get("week_labels")
    if (
        not isinstance(values, list)
        or not isinstance(labels, list)
        or len(values) != len(labels)
        or not values
    ):
        return None
    if all(value is None for value in values):
        return html.Div("No weekly history yet", className="metric-sparkline small text-body-secondary my-2")
    reconstructed = [label for label in details.get("reconstructed_weeks") or [] if label in labels]
    children: list[Any] = [sparkline_graph(values, labels, reconstructed, unit=unit)]
    if reconstructed:
        weeks = "week" if len(reconstructed) == 1 else "weeks"
        children.append(
            html.Div(
                f"Dotted: {len(reconstructed)} {weeks} reconstructed",
                className="metric-reconstructed-note small text-body-secondary text-truncate",
                title=f"{len(reconstructed)} {weeks} replayed from the changelog: no snapshot was recorded then",
            )
        )
    # The weeks are named in the aria-label, not a title: a title's tooltip would cover the hover label.
    return html.Div(
        children,
        className="metric-sparkline my-2",
        **{"aria-label": f"Weekly values, {labels[0]} to {labels[-1]}; hover a point for its week and value"},
    )


def _counts_line(metric: dict[str, Any], details: dict[str, Any]) -> html.Div:
    total = _number(metric.get("total_issue_count"))
    excluded = _number(metric.get("excluded_issue_count"))
    sample = details.get("sample_size")
    sample = _number(sample) if sample is not None else max(total - excluded, 0)
    reasons = ""
    if excluded > 0:
        reasons = format_exclusion_reasons(details.get("exclusion_reasons"))
        reasons = reasons or "Excluded for missing or unusable data"
    excluded_props = {"title": reasons} if reasons else {}
    return html.Div(
        [
            html.Span(f"Sample: {format_count(sample)}", className="metric-sample"),
            html.Span(" · ", **{"aria-hidden": "true"}),
            html.Span(
                f"Excluded: {format_count(excluded)}",
                className="metric-excluded" + (" has-reasons" if reasons else ""),
                **excluded_props,
            ),
        ],
        className="metric-counts small text-body-secondary text-nowrap text-truncate",
    )


def details_button(metric_name: str, display_name: str) -> dbc.Button:
    """The card's "Details" button: opens the drill-down of the issues behind the number."""
    return dbc.Button(
        [html.I(className="bi bi-table me-1", **{"aria-hidden": "true"}), "Details"],
        id=ids.drilldown_button(metric_name),
        color="link",
        size="sm",
        class_name="metric-details-button p-0 text-nowrap",
        title=f"Show the issues behind {display_name}",
    )


def metric_card(metric: dict[str, Any]) -> dbc.Card:
    """The card for one MetricValue dict (see the module docstring for the states and hooks)."""
    name = str(metric.get("metric_name") or "unknown_metric")
    info = metric_info(name, str(metric.get("metric_type") or "flow"))
    details = _details(metric)
    state = metric.get("error_state")
    if state not in ("success", "missing_mapping", "no_data", "calculation_error"):
        state = "calculation_error"

    badge = None
    if state == "success" and info.metric_type == "dora":
        badge = tier_badge(metric.get("performance_tier"))
    header = html.Div(
        [
            html.H3(
                [
                    info.display_name,
                    html.I(
                        id=ids.metric_info_icon(name),
                        className="bi bi-info-circle metric-info-icon ms-1",
                        tabIndex=0,
                        **{"aria-label": f"How {info.display_name} is computed"},
                    ),
                ],
                className="metric-name h6 mb-0",
            ),
            badge,
        ],
        className="d-flex justify-content-between align-items-start gap-2",
    )
    body: list[Any] = [
        header,
        dbc.Tooltip(info.how_computed, target=ids.metric_info_icon(name), placement="top"),
    ]
    if state == "success":
        body.extend(_value_block(metric, details, info))
    else:
        body.extend(_state_message(metric, details, state))
    if state in ("success", "no_data"):
        body.append(_sparkline_block(details, str(metric.get("unit") or "")))
        body.append(
            html.Div(
                [_counts_line(metric, details), details_button(name, info.display_name)],
                className="metric-footer d-flex flex-nowrap align-items-center justify-content-between gap-2 mt-auto",
            )
        )
    return dbc.Card(
        dbc.CardBody(body, class_name="d-flex flex-column"),
        id=ids.metric_card(name),
        class_name=f"metric-card metric-state-{state} h-100 shadow-sm",
    )
