"""The 16-week sparkline: a tiny static Plotly figure, as a plain figure dict.

A week without a value is a gap in the line (``None`` stays ``None``), never a zero. Flow Load weeks that
were reconstructed from the changelog rather than recorded as snapshots are drawn in a second, dotted
trace with hollow markers, so recorded history reads as the source of truth. Markers make a week that
has no neighbour (a single point between gaps) visible.

Hovering a point shows its week and its value as the card writes it (``2025-05: 12.3 days``); the figure
stays fixed otherwise (no zoom, pan or toolbar), so a sparkline reads like a picture that answers questions.

The figure is a plain ``{"data": [...], "layout": {...}}`` dict, which ``dcc.Graph`` accepts as is. Building
``plotly.graph_objects.Figure`` objects instead costs milliseconds of property validation per sparkline
and slower JSON encoding, nine times on every period switch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from dash import dcc

from ui.formatting import format_value

DEFAULT_COLOR = "#0d6efd"
HEIGHT_PX = 60
RECORDED_NAME = "recorded"
RECONSTRUCTED_NAME = "reconstructed from changelog"
# Not static (a static plot has no hover): the axes are fixed and every gesture but hovering is off instead.
GRAPH_CONFIG = {"displayModeBar": False, "scrollZoom": False, "doubleClick": False, "showAxisDragHandles": False,
                "editable": False}


def _clean(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _split(values: list[float | None], is_reconstructed: list[bool]) -> tuple[list, list, list]:
    """Recorded series, reconstructed series, and marker sizes for the reconstructed one.

    The reconstructed series also holds the recorded neighbours of reconstructed weeks (with size-0
    markers) so its dotted line joins the solid one instead of floating apart.
    """
    recorded = [None if flag else value for value, flag in zip(values, is_reconstructed, strict=True)]
    reconstructed: list[float | None] = []
    sizes: list[int] = []
    for index, (value, flag) in enumerate(zip(values, is_reconstructed, strict=True)):
        neighbour = any(
            0 <= other < len(values) and is_reconstructed[other] and values[other] is not None
            for other in (index - 1, index + 1)
        )
        reconstructed.append(value if flag or neighbour else None)
        sizes.append(6 if flag else 0)
    return recorded, reconstructed, sizes


def sparkline_figure(
    values: Sequence[Any],
    labels: Sequence[str],
    reconstructed: Iterable[str] | None = None,
    color: str | None = None,
    unit: str = "",
) -> dict[str, Any]:
    """A sparkline figure dict of ``values`` at week ``labels`` (same length, oldest first); hovering a
    point shows ``<week>: <value with unit>``, rounded like the card (``unit`` is the MetricValue's).

    ``reconstructed`` lists labels whose values were replayed from the changelog; they go to a second
    trace named ``RECONSTRUCTED_NAME``. The result is ``{"data": [scatter trace dicts], "layout": {...}}``,
    JSON-safe and new on every call. Raises ``ValueError`` when the lengths differ.
    """
    if len(values) != len(labels):
        raise ValueError(
            f"sparkline needs one label per value, got {len(values)} values, {len(labels)} labels"
        )
    line_color = color or DEFAULT_COLOR
    clean = [_clean(value) for value in values]
    x = [str(label) for label in labels]
    marked = set(reconstructed or ())
    is_reconstructed = [label in marked for label in x]

    recorded, replayed, sizes = _split(clean, is_reconstructed)
    shown = [format_value(value, unit) for value in clean]
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "x": x,
            "y": recorded,
            "name": RECORDED_NAME,
            "mode": "lines+markers",
            "connectgaps": False,
            "line": {"color": line_color, "width": 2},
            "marker": {"color": line_color, "size": 4},
            "customdata": list(shown),
            "hovertemplate": "%{x}: %{customdata}<extra></extra>",
        }
    ]
    if any(is_reconstructed):
        data.append(
            {
                "type": "scatter",
                "x": list(x),
                "y": replayed,
                "name": RECONSTRUCTED_NAME,
                "mode": "lines+markers",
                "connectgaps": False,
                "opacity": 0.6,
                "line": {"color": line_color, "width": 1.5, "dash": "dot"},
                "marker": {"color": line_color, "size": sizes, "symbol": "circle-open"},
                "customdata": list(shown),
                "hovertemplate": "%{x}: %{customdata} (reconstructed from changelog)<extra></extra>",
            }
        )
    hidden_axis = {"visible": False, "showgrid": False, "zeroline": False, "fixedrange": True}
    layout = {
        "height": HEIGHT_PX,
        "margin": {"l": 0, "r": 0, "t": 4, "b": 4},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "showlegend": False,
        "hovermode": "closest",
        "dragmode": False,
        "hoverlabel": {"font": {"size": 11}},
        "xaxis": dict(hidden_axis),
        "yaxis": dict(hidden_axis),
    }
    return {"data": data, "layout": layout}


def sparkline_graph(
    values: Sequence[Any],
    labels: Sequence[str],
    reconstructed: Iterable[str] | None = None,
    color: str | None = None,
    unit: str = "",
) -> dcc.Graph:
    """``sparkline_figure`` in a fixed, toolbar-less ``dcc.Graph`` of fixed height (class ``sparkline``) that
    shows each week's value on hover."""
    return dcc.Graph(
        figure=sparkline_figure(values, labels, reconstructed, color, unit),
        config=GRAPH_CONFIG,
        style={"height": f"{HEIGHT_PX}px"},
        className="sparkline",
        responsive=True,
    )
