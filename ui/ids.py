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
    DATES = "period-dates"  # the dates the numbers cover, e.g. "30 Oct – 28 Nov 2026"
    TYPED = "period-typed-store"  # what was typed into a date box (assets/period_typing.js), for its message


class Sections:
    """The two rows of metric cards and the demo banner above them."""

    DEMO_BANNER = "demo-banner"
    DORA_ROW = "dora-card-row"
    FLOW_ROW = "flow-card-row"


class Toasts:
    """Fixed bottom-left container that callbacks append toasts to."""

    CONTAINER = "toast-container"


class Stores:
    """Client-side state."""

    PERIOD = "period-store"
    DATA_VERSION = "data-version-store"
    THEME = "theme-store"
    SETTINGS_VERSION = "settings-version-store"
    TAB_ID = "tab-id-store"  # one per page load: keeps each tab's Update Data job its own
    OPEN_ISSUE = "open-issue-store"  # the issue a click on an Analytics chart's dot opened in Jira (clientside)


class Notices:
    """The persistent notices above the cards (a broken settings file, files moved aside)."""

    AREA = "notices-area"
    DISMISS = "notice-dismiss"
    NO_DATA = "no-data-state"

    @staticmethod
    def dismiss(notice: Any) -> dict[str, Any]:
        """A notice's Dismiss button (``notice`` is its id; ``dash.ALL`` in a callback)."""
        return {"type": Notices.DISMISS, "notice": notice}


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


class FieldMapping:
    """The field-mapping modal. Its inputs use pattern-matching ids keyed by form key
    (``dora.deployment_date``, ``wip_statuses``, ``flow_type_mappings.Feature``): pass ``dash.ALL`` as
    ``key`` to read every dropdown as one list."""

    MODAL = "field-mapping-modal"
    LOAD_REQUEST = "field-mapping-load-request"
    SOURCE = "field-mapping-source"
    LOADING = "field-mapping-loading"
    LOAD_ERROR = "field-mapping-load-error"
    LOAD_ERROR_TEXT = "field-mapping-load-error-text"
    RETRY_BUTTON = "field-mapping-retry-button"
    SUMMARY = "field-mapping-summary"
    FORM = "field-mapping-form"
    TABS = "field-mapping-tabs"
    SAVE_BUTTON = "field-mapping-save-button"
    CANCEL_BUTTON = "field-mapping-cancel-button"  # "Discard changes": closes without saving
    CLOSE_BUTTON = "field-mapping-close-button"  # footer Cancel, asks first with edits (assets/field_mapping_keys.js)
    DISMISS_BUTTON = "field-mapping-dismiss-button"  # the header's X: same as CLOSE_BUTTON
    DISCARD_CONFIRM = "field-mapping-discard-confirm"
    KEEP_EDITING_BUTTON = "field-mapping-keep-editing-button"
    BASELINE = "field-mapping-baseline-store"  # the form's values as loaded
    DIRTY = "field-mapping-dirty-store"  # True while the values differ from the baseline
    SAVE_HINT = "field-mapping-save-hint"  # why Save is off, next to it
    SAVE_WRAPPER = "field-mapping-save-wrapper"  # carries the same reason as a tooltip (title)
    FIELD = "mapping-field"
    FIELD_ERROR = "mapping-field-error"
    LIST = "mapping-list"
    LIST_ERROR = "mapping-list-error"
    WORDING = "field-mapping-wording"  # texts that name the source (Jira or Azure DevOps)

    @staticmethod
    def wording(slot: Any) -> dict[str, Any]:
        """A text of the dialog that names the source, reworded for it each time the dialog opens."""
        return {"type": FieldMapping.WORDING, "key": slot}

    @staticmethod
    def field(key: Any) -> dict[str, Any]:
        """A Jira-field dropdown (``key`` like ``dora.deployment_date``)."""
        return {"type": FieldMapping.FIELD, "key": key}

    @staticmethod
    def field_error(key: Any) -> dict[str, Any]:
        return {"type": FieldMapping.FIELD_ERROR, "key": key}

    @staticmethod
    def name_list(key: Any) -> dict[str, Any]:
        """A multi-select of names (statuses, issue types, environment values, flow-type lists)."""
        return {"type": FieldMapping.LIST, "key": key}

    @staticmethod
    def name_list_error(key: Any) -> dict[str, Any]:
        return {"type": FieldMapping.LIST_ERROR, "key": key}


class JiraSettings:
    """The Data source dialog (the modal, its shared message and buttons) and its Jira fields."""

    MODAL = "jira-settings-modal"
    JIRA_AREA = "jira-settings-jira-area"
    URL = "jira-settings-url"
    URL_FEEDBACK = "jira-settings-url-feedback"
    DEPLOYMENT = "jira-settings-deployment"
    CLOUD_CREDENTIALS = "jira-settings-cloud-credentials"
    DATACENTER_CREDENTIALS = "jira-settings-datacenter-credentials"
    EMAIL = "jira-settings-email"
    EMAIL_FEEDBACK = "jira-settings-email-feedback"
    API_TOKEN = "jira-settings-api-token"
    API_TOKEN_STATUS = "jira-settings-api-token-status"
    PAT = "jira-settings-pat"
    PAT_STATUS = "jira-settings-pat-status"
    JQL = "jira-settings-jql"
    JQL_FEEDBACK = "jira-settings-jql-feedback"
    TEST_BUTTON = "jira-settings-test-button"
    TEST_RESULT = "jira-settings-test-result"
    MESSAGE = "jira-settings-message"
    USE_DEMO_BUTTON = "jira-settings-use-demo-button"
    SAVE_BUTTON = "jira-settings-save-button"
    CANCEL_BUTTON = "jira-settings-cancel-button"


class AzureDevOpsSettings:
    """The Data source dialog's source choice and its Azure DevOps fields."""

    SOURCE = "data-source-choice"
    AREA = "azure-devops-settings-area"
    ORGANIZATION_URL = "azure-devops-settings-organization-url"
    ORGANIZATION_URL_FEEDBACK = "azure-devops-settings-organization-url-feedback"
    PROJECT = "azure-devops-settings-project"
    PROJECT_FEEDBACK = "azure-devops-settings-project-feedback"
    WIQL_FILTER = "azure-devops-settings-wiql-filter"
    WIQL_FILTER_FEEDBACK = "azure-devops-settings-wiql-filter-feedback"
    PAT = "azure-devops-settings-pat"
    PAT_STATUS = "azure-devops-settings-pat-status"
    TEST_BUTTON = "azure-devops-settings-test-button"
    TEST_RESULT = "azure-devops-settings-test-result"
    SAVE_BUTTON = "azure-devops-settings-save-button"


class Drilldown:
    """The drill-down modal: the issues behind one card's number, with a CSV download."""

    MODAL = "drilldown-modal"
    TITLE = "drilldown-title"
    SUMMARY = "drilldown-summary"
    TABLE = "drilldown-table"
    DOWNLOAD_BUTTON = "drilldown-download-button"
    CLOSE_BUTTON = "drilldown-close-button"
    DOWNLOAD = "drilldown-download"
    SELECTION = "drilldown-selection-store"


DRILLDOWN_BUTTON = "drilldown-button"


def drilldown_button(metric: Any) -> dict[str, Any]:
    """Id of a card's "Details" button, which opens the drill-down (cards have no ``n_clicks`` of their own)."""
    return {"type": DRILLDOWN_BUTTON, "metric": metric}


class Exports:
    """The navbar's Export menu, its downloads and the snapshot import dialog."""

    MENU = "export-menu"
    METRICS_JSON = "export-metrics-json"
    METRICS_CSV = "export-metrics-csv"
    METRICS_PROMETHEUS = "export-metrics-prometheus"
    SNAPSHOTS = "export-snapshots"
    OPEN_IMPORT = "open-import-snapshots"
    METRICS_DOWNLOAD = "export-metrics-download"
    SNAPSHOTS_DOWNLOAD = "export-snapshots-download"
    IMPORT_MODAL = "import-snapshots-modal"
    IMPORT_UPLOAD = "import-snapshots-upload"
    IMPORT_CLOSE = "import-snapshots-close"


class Views:
    """The two views of the page (``/`` the metric cards, ``/analytics`` the charts) and the navbar links."""

    LOCATION = "page-location"
    DASHBOARD = "dashboard-view"
    ANALYTICS = "analytics-view"
    DASHBOARD_LINK = "nav-dashboard-link"
    ANALYTICS_LINK = "nav-analytics-link"
    TEAMS = "teams-view"
    TEAMS_LINK = "nav-teams-link"


class Teams:
    """The navbar's team selector (its hint when no team field is mapped) and the ``/teams`` comparison table."""

    SELECTOR = "team-selector"
    SELECTOR_HINT = "team-selector-hint"
    TABLE = "teams-table"
    MESSAGE = "teams-message"


class Analytics:
    """The Analytics view: one chart card per analytics section (``section`` is its key, e.g. ``cycle_time``;
    pass ``dash.MATCH`` / ``dash.ALL`` in a callback)."""

    GRAPH = "analytics-graph"
    STATE = "analytics-state"
    SUMMARY = "analytics-summary"
    DOWNLOAD_BUTTON = "analytics-download-button"
    DOWNLOAD = "analytics-download"

    @staticmethod
    def graph(section: Any) -> dict[str, Any]:
        return {"type": Analytics.GRAPH, "section": section}

    @staticmethod
    def state(section: Any) -> dict[str, Any]:
        """The message shown instead of the chart when the section cannot be drawn."""
        return {"type": Analytics.STATE, "section": section}

    @staticmethod
    def summary(section: Any) -> dict[str, Any]:
        """The sentence under the chart that states its finding ("85% of items finished within 6.2 days")."""
        return {"type": Analytics.SUMMARY, "section": section}

    @staticmethod
    def download_button(section: Any) -> dict[str, Any]:
        return {"type": Analytics.DOWNLOAD_BUTTON, "section": section}

    @staticmethod
    def download(section: Any) -> dict[str, Any]:
        return {"type": Analytics.DOWNLOAD, "section": section}


class Forecast:
    """The Monte Carlo forecast panel of the Analytics view."""

    PANEL = "forecast-panel"
    MODE = "forecast-mode"
    UNTIL = "forecast-until"
    UNTIL_AREA = "forecast-until-area"
    ITEMS = "forecast-items"
    ITEMS_AREA = "forecast-items-area"
    HISTORY_DAYS = "forecast-history-days"
    MESSAGE = "forecast-message"
    RESULTS = "forecast-results"
    HISTOGRAM = "forecast-histogram"
    HISTORY = "forecast-history"
    CHARTS = "forecast-charts"
