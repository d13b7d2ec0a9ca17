"""Every component id of the dashboard, defined once.

Layout functions and callbacks import these names instead of typing id strings, so a renamed id cannot
leave a callback pointing at nothing. Static ids are grouped by page area; per-metric components use
pattern-matching ids built by the helpers at the bottom (pass ``dash.ALL`` / ``dash.MATCH`` as ``metric``
in a callback to address every card).
"""

from __future__ import annotations

from typing import Any


class Navbar:
    """Top bar: identity, data source, actions and theme switch."""

    NAVBAR = "navbar"
    DATA_SOURCE = "navbar-data-source"
    LAST_UPDATED = "navbar-last-updated"
    UPDATE_BUTTON = "update-data-button"
    CANCEL_BUTTON = "cancel-update-button"
    OPEN_FIELD_MAPPING = "open-field-mapping-button"
    OPEN_JIRA_SETTINGS = "open-jira-settings-button"
    THEME_SWITCH = "theme-switch"


class UpdateProgress:
    """Progress of a running Update Data (hidden while idle)."""

    AREA = "update-progress-area"
    BAR = "update-progress-bar"
    TEXT = "update-progress-text"


class Period:
    """Period selector: presets, custom range and its inline error."""

    PRESET = "period-preset"
    CUSTOM_RANGE_AREA = "period-custom-range-area"
    DATE_RANGE = "period-date-range"
    ERROR = "period-error"


class Sections:
    """The two rows of metric cards and the demo banner above them."""

    DEMO_BANNER = "demo-banner"
    DORA_ROW = "dora-card-row"
    FLOW_ROW = "flow-card-row"


class Toasts:
    """Fixed top-right container that callbacks append toasts to."""

    CONTAINER = "toast-container"


class Stores:
    """Client-side state."""

    PERIOD = "period-store"
    DATA_VERSION = "data-version-store"
    THEME = "theme-store"


MAP_FIELDS_BUTTON = "map-fields-button"
METRIC_CARD = "metric-card"
METRIC_INFO_ICON = "metric-info-icon"


def map_fields_button(metric: Any) -> dict[str, Any]:
    """Id of a card's "Configure field mappings" button (shown in the missing_mapping state)."""
    return {"type": MAP_FIELDS_BUTTON, "metric": metric}


def metric_card(metric: Any) -> dict[str, Any]:
    """Id of a metric card's root component."""
    return {"type": METRIC_CARD, "metric": metric}


def metric_info_icon(metric: Any) -> dict[str, Any]:
    """Id of the info icon a card's "how it's computed" tooltip is attached to."""
    return {"type": METRIC_INFO_ICON, "metric": metric}
