"""Drill-down: which issues stand behind each number, their dates, values and exclusion reasons, the CSV,
the modal layout, the cards' Details buttons and the callbacks called directly.

The issue set below is small and hand-built; every expected key, value and reason in these tests is worked
out by hand from the rules of docs/metrics.md (the comments next to the issues say how).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Any

import dash
import dash_bootstrap_components as dbc
import pandas as pd
import pytest
from dash import dash_table

from callbacks.drilldown import download_drilldown_csv, show_drilldown
from configuration.settings import merge_with_defaults, save_app_settings
from data.metrics.issue_frame import build_issue_frames
from data.metrics.periods import Period
from data.services.drilldown_service import (
    AGE_COLUMN,
    build_drilldown,
    drilldown_csv,
    drilldown_filename,
    empty_drilldown,
    issue_url,
    jira_base_url,
    with_age,
)
from data.services.metrics_service import calculate_all_metrics
from data.store.issue_cache import required_fields, save_cached_issues
from tests.test_ui_metric_card import by_class, by_id, make_metric, text_of, walk
from ui import ids
from ui.drilldown import drilldown_components, drilldown_summary, table_columns, table_data
from ui.metric_card import metric_card

pytestmark = pytest.mark.filterwarnings("ignore:\\s*The dash_table.DataTable will be removed:DeprecationWarning")

JIRA_URL = "https://example.atlassian.net"
PERIOD = Period(date(2025, 3, 1), date(2025, 3, 31))
PERIOD_STORE = {"preset": "custom", "start": "2025-03-01", "end": "2025-03-31"}
NOW = datetime(2025, 4, 10, 12, 0, tzinfo=UTC)

SETTINGS_OVERLAY: dict[str, Any] = {
    "jira": {"url": JIRA_URL, "deployment": "cloud", "jql": "project = T"},
    "dora_flow_config": {
        "field_mappings": {
            "dora": {
                "deployment_date": "customfield_1",
                "target_environment": "customfield_2",
                "code_commit_date": "customfield_3",
                "deployed_to_production_date": "customfield_4",
                "incident_detected_at": "customfield_5",
                "incident_resolved_at": "customfield_6",
                "deployment_successful": "customfield_7",
                "production_impact": None,
            },
            "flow": {
                "flow_item_type": "issuetype",
                "work_started_date": None,
                "work_completed_date": None,
                "active_work_hours": None,
            },
        },
        "deployment_issue_types": ["Deployment"],
        "incident_issue_types": ["Incident"],
        "flow_issue_types": ["Story", "Bug"],
        "last_updated": "2025-01-01T00:00:00.000Z",
    },
}


def make_settings(**jira: Any) -> dict[str, Any]:
    overlay = {**SETTINGS_OVERLAY, "jira": {**SETTINGS_OVERLAY["jira"], **jira}}
    return merge_with_defaults(overlay)


def jira_time(day: str, clock: str = "00:00") -> str:
    return f"{day}T{clock}:00.000+0000"


def issue(key: str, issue_type: str, created: str, status: str, summary: str | None = None,
          changes: tuple[tuple[str, str, str], ...] = (), **fields: Any) -> dict[str, Any]:
    """A Jira REST issue; ``changes`` are (time, from, to) status changes, oldest first."""
    histories = [
        {"created": at, "items": [{"field": "status", "fromString": old, "toString": new}]}
        for at, old, new in changes
    ]
    return {
        "id": key.split("-")[1] + key[0],
        "key": key,
        "fields": {
            "summary": summary or f"Summary of {key}",
            "issuetype": {"name": issue_type},
            "status": {"name": status},
            "created": created,
            "updated": created,
            **fields,
        },
        "changelog": {"histories": histories, "total": len(histories)},
    }


def deployment(key: str, day: str, environment: str | None, commit: str | None, deployed: str | None,
               successful: str | None) -> dict[str, Any]:
    return issue(key, "Deployment", jira_time(day), "Done", customfield_1=jira_time(day, "10:00"),
                 customfield_2={"value": environment} if environment is not None else None,
                 customfield_3=commit, customfield_4=deployed, customfield_7=successful)


ISSUES: list[dict[str, Any]] = [
    # D-1: production in the period, lead time 03-03 10:00 -> 03-05 10:00 = 2.0 days, successful.
    deployment("D-1", "2025-03-05", "Production", jira_time("2025-03-03", "10:00"),
               jira_time("2025-03-05", "10:00"), "true"),
    # D-2: production in the period, no commit date (lead time excluded), failed.
    deployment("D-2", "2025-03-10", "Production", None, jira_time("2025-03-10", "12:00"), "false"),
    # D-3: empty environment: a frequency candidate that is excluded; not production for the others.
    deployment("D-3", "2025-03-20", None, None, None, "true"),
    # D-4: staging: ignored by every DORA metric.
    deployment("D-4", "2025-03-25", "Staging", None, None, "true"),
    # D-5: production before the period: in no row.
    deployment("D-5", "2025-02-20", "Production", None, None, "true"),
    # D-6: production in the period, commit after production (negative, excluded), no outcome (excluded).
    deployment("D-6", "2025-03-28", "Production", jira_time("2025-03-29"), jira_time("2025-03-28"), None),
    # I-1: resolved in the period after 6 hours.
    issue("I-1", "Incident", jira_time("2025-03-02"), "Done", customfield_5=jira_time("2025-03-02"),
          customfield_6=jira_time("2025-03-02", "06:00")),
    # I-2: detected before the period, resolved on its first day: 48 hours.
    issue("I-2", "Incident", jira_time("2025-02-27"), "Done", customfield_5=jira_time("2025-02-27"),
          customfield_6=jira_time("2025-03-01")),
    # I-3: resolved after the period: in no row.
    issue("I-3", "Incident", jira_time("2025-03-30"), "Done", customfield_5=jira_time("2025-03-30"),
          customfield_6=jira_time("2025-04-02")),
    # S-1: started 03-02 (In Progress), In Review 03-04, Done 03-05: flow 3 days, active 2 days (66.7%).
    issue("S-1", "Story", jira_time("2025-03-01"), "Done", changes=(
        (jira_time("2025-03-02"), "To Do", "In Progress"),
        (jira_time("2025-03-04"), "In Progress", "In Review"),
        (jira_time("2025-03-05"), "In Review", "Done"))),
    # S-2: straight from To Do to Done on 03-12: completed, but never in WIP (no start).
    issue("S-2", "Bug", jira_time("2025-03-10"), "Done", changes=((jira_time("2025-03-12"), "To Do", "Done"),)),
    # S-3: In Progress since 03-25 and still: in WIP at the end of the period.
    issue("S-3", "Story", jira_time("2025-03-20"), "In Progress",
          changes=((jira_time("2025-03-25"), "To Do", "In Progress"),)),
    # S-4: created after the period: not in the period's WIP.
    issue("S-4", "Story", jira_time("2025-04-05"), "In Progress",
          changes=((jira_time("2025-04-06"), "To Do", "In Progress"),)),
    # S-5: In Review from 02-10 to 04-05: in WIP at the end of the period, completed after it.
    issue("S-5", "Bug", jira_time("2025-02-01"), "Done", changes=(
        (jira_time("2025-02-10"), "To Do", "In Review"),
        (jira_time("2025-04-05"), "In Review", "Done"))),
]

EXPECTED_KEYS: dict[str, list[str]] = {
    "deployment_frequency": ["D-1", "D-2", "D-3", "D-6"],
    "lead_time_for_changes": ["D-1", "D-2", "D-6"],
    "change_failure_rate": ["D-1", "D-2", "D-6"],
    "mean_time_to_recovery": ["I-2", "I-1"],
    "flow_velocity": ["S-1", "S-2"],
    "flow_time": ["S-1", "S-2"],
    "flow_efficiency": ["S-1", "S-2"],
    "flow_load": ["S-5", "S-3"],
    "flow_distribution": ["S-1", "S-2"],
}


@pytest.fixture(scope="module")
def frames():
    return build_issue_frames(ISSUES, make_settings())


def drill(frames, metric_name: str, *, jira_url: str | None = JIRA_URL):
    return build_drilldown(metric_name, frames, make_settings(), PERIOD, NOW, jira_url=jira_url)


def rows_by_key(drilldown) -> dict[str, dict[str, Any]]:
    return {row["key"]: row for row in drilldown.rows}


# ---- which issues, values and reasons -------------------------------------------------------------


@pytest.mark.parametrize("metric_name", sorted(EXPECTED_KEYS))
def test_rows_are_the_hand_derived_issues_of_the_period(frames, metric_name: str) -> None:
    assert sorted(row["key"] for row in drill(frames, metric_name).rows) == sorted(EXPECTED_KEYS[metric_name])


def test_flow_load_rows_are_ordered_by_creation(frames) -> None:
    assert [row["key"] for row in drill(frames, "flow_load").rows] == EXPECTED_KEYS["flow_load"]


@pytest.mark.parametrize("metric_name", sorted(EXPECTED_KEYS))
def test_rows_match_the_cards_counts(frames, metric_name: str) -> None:
    metric = calculate_all_metrics(frames, make_settings(), PERIOD, NOW)[metric_name]
    drilldown = drill(frames, metric_name)
    if metric_name == "flow_load":
        assert drilldown.total == metric["value"] == 2
    else:
        assert drilldown.total == metric["total_issue_count"]
        assert drilldown.excluded == metric["excluded_issue_count"]


def test_deployment_frequency_lists_the_empty_environment_as_excluded(frames) -> None:
    rows = rows_by_key(drill(frames, "deployment_frequency"))
    assert rows["D-3"]["excluded_reason"] == "empty target environment"
    assert rows["D-3"]["target_environment"] is None
    assert [key for key, row in rows.items() if row["excluded_reason"] is None] == ["D-1", "D-2", "D-6"]
    assert rows["D-1"]["target_environment"] == "Production"
    assert rows["D-1"]["deployment_date"] == "2025-03-05T10:00:00.000Z"


def test_lead_time_values_and_reasons(frames) -> None:
    drilldown = drill(frames, "lead_time_for_changes")
    rows = rows_by_key(drilldown)
    assert rows["D-1"]["lead_time_days"] == 2.0
    assert rows["D-1"]["excluded_reason"] is None
    assert rows["D-1"]["code_commit_date"] == "2025-03-03T10:00:00.000Z"
    assert rows["D-1"]["deployed_to_production_date"] == "2025-03-05T10:00:00.000Z"
    assert rows["D-2"]["lead_time_days"] is None
    assert rows["D-2"]["excluded_reason"] == "missing or unparseable code commit date"
    assert rows["D-6"]["excluded_reason"] == "negative lead time (production before commit)"
    assert [column.label for column in drilldown.columns][-2:] == ["Lead time (days)", "Excluded because"]


def test_change_failure_rate_shows_the_failed_flag(frames) -> None:
    rows = rows_by_key(drill(frames, "change_failure_rate"))
    assert (rows["D-1"]["failed"], rows["D-2"]["failed"], rows["D-6"]["failed"]) == (False, True, None)
    assert rows["D-6"]["excluded_reason"] == "no deployment outcome (empty or not boolean-like)"


def test_recovery_hours(frames) -> None:
    rows = rows_by_key(drill(frames, "mean_time_to_recovery"))
    assert rows["I-1"]["recovery_hours"] == 6.0  # 00:00 -> 06:00
    assert rows["I-2"]["recovery_hours"] == 48.0  # 02-27 -> 03-01
    assert rows["I-2"]["incident_detected_at"] == "2025-02-27T00:00:00.000Z"


def test_flow_time_and_efficiency(frames) -> None:
    time_rows = rows_by_key(drill(frames, "flow_time"))
    assert time_rows["S-1"]["flow_time_days"] == 3.0
    assert time_rows["S-1"]["started_at"] == "2025-03-02T00:00:00.000Z"
    assert time_rows["S-1"]["completed_at"] == "2025-03-05T00:00:00.000Z"
    assert time_rows["S-2"]["excluded_reason"] == "no start: never in a WIP status"
    efficiency = rows_by_key(drill(frames, "flow_efficiency"))["S-1"]
    assert (efficiency["flow_days"], efficiency["active_days"]) == (3.0, 2.0)
    assert efficiency["efficiency_percent"] == pytest.approx(200 / 3)


def test_count_metrics_have_no_value_column(frames) -> None:
    for name in ("deployment_frequency", "flow_velocity", "flow_load", "flow_distribution"):
        ids_ = [column.id for column in drill(frames, name).columns]
        assert "value" not in ids_
        assert ids_[:3] == ["key", "summary", "issue_type"] and ids_[-1] == "excluded_reason"


def test_flow_load_status_and_as_of(frames) -> None:
    drilldown = drill(frames, "flow_load")
    rows = rows_by_key(drilldown)
    assert (rows["S-3"]["status"], rows["S-5"]["status"]) == ("In Progress", "In Review")
    # The period ends before now: as_of is the period's last instant.
    assert drilldown.as_of == datetime(2025, 3, 31, 23, 59, 59, 999999, tzinfo=UTC)


def test_flow_load_of_a_running_period_is_measured_at_now(frames) -> None:
    # Period 2025-04-01..2025-04-30 with now 04-10 12:00: S-5 is Done since 04-05, S-4 has been In Progress
    # since 04-06 and S-3 since 03-25, so the WIP at now is S-3 and S-4.
    period = Period(date(2025, 4, 1), date(2025, 4, 30))
    drilldown = build_drilldown("flow_load", frames, make_settings(), period, NOW, jira_url=None)
    assert [row["key"] for row in drilldown.rows] == ["S-3", "S-4"]
    assert drilldown.as_of == NOW


def test_flow_load_rows_carry_the_start_and_the_age_at_as_of(frames) -> None:
    # as_of is 2025-03-31 23:59:59.999999. S-5 entered In Review (WIP) on 02-10 00:00: 18 days left in
    # February + 31 in March = 49 days to 03-31 00:00, plus one day less one microsecond. S-3 entered In
    # Progress on 03-25 00:00: 6 days to 03-31 00:00, plus the same last day.
    day_less_a_microsecond = 1 - 1e-6 / 86400
    drilldown = drill(frames, "flow_load")
    rows = rows_by_key(drilldown)
    assert rows["S-5"]["started_at"] == "2025-02-10T00:00:00.000Z"
    assert rows["S-3"]["started_at"] == "2025-03-25T00:00:00.000Z"
    assert rows["S-5"]["age_days"] == pytest.approx(49 + day_less_a_microsecond, abs=1e-9)
    assert rows["S-3"]["age_days"] == pytest.approx(6 + day_less_a_microsecond, abs=1e-9)
    ids_in_order = [column.id for column in drilldown.columns]
    assert ids_in_order == ["key", "summary", "issue_type", "age_days", "created", "status", "started_at",
                            "excluded_reason"]
    age = next(column for column in drilldown.columns if column.id == "age_days")
    assert (age.label, age.kind, age.unit) == ("Age (days)", "number", "days")
    assert "first move into a WIP status" in (age.description or "")
    assert drilldown_csv(drilldown).splitlines()[0] == \
        "key,url,summary,issue_type,age_days,created,status,started_at,excluded_reason"


def test_flow_load_age_of_a_running_period_is_counted_to_now(frames) -> None:
    # now = 04-10 12:00. S-3 started 03-25 00:00: 6 + 10 days + 12 hours = 16.5 days; S-4 started
    # 04-06 00:00: 4 days + 12 hours = 4.5 days.
    period = Period(date(2025, 4, 1), date(2025, 4, 30))
    rows = rows_by_key(build_drilldown("flow_load", frames, make_settings(), period, NOW, jira_url=None))
    assert rows["S-3"]["age_days"] == pytest.approx(16.5)
    assert rows["S-4"]["age_days"] == pytest.approx(4.5)


def test_age_is_empty_when_the_start_is_unknown_or_later() -> None:
    # X-1 has no start; X-2 starts on 04-20, after as_of (03-31 end of day); X-3 started 03-30 12:00:
    # 1.5 days before 04-01 00:00, i.e. as_of + 1 µs.
    issues = pd.DataFrame({"key": ["X-1", "X-2", "X-3"],
                           "started_at": pd.to_datetime([None, "2025-04-20T00:00Z", "2025-03-30T12:00Z"], utc=True)})
    table = pd.DataFrame({"key": ["X-1", "X-2", "X-3"], "value": [1.0, 1.0, 1.0], "excluded_reason": [None] * 3})
    out = with_age(table, issues, datetime(2025, 3, 31, 23, 59, 59, 999999, tzinfo=UTC))
    assert list(out.columns) == ["key", "age_days", "started_at", "value", "excluded_reason"]
    assert out["age_days"].isna().tolist() == [True, True, False]
    assert out["age_days"].iloc[2] == pytest.approx(1.5, abs=1e-9)


def test_the_age_header_explains_itself_in_a_tooltip() -> None:
    table = by_id(drilldown_components(), ids.Drilldown.TABLE)[0]
    assert table.tooltip_header["age_days"] == AGE_COLUMN.description
    assert {"if": {"column_id": "age_days"}, "cursor": "help", "textDecoration": "underline dotted"} in \
        table.style_header_conditional


def test_distribution_shows_the_flow_type(frames) -> None:
    rows = rows_by_key(drill(frames, "flow_distribution"))
    assert (rows["S-1"]["flow_type"], rows["S-2"]["flow_type"]) == ("Feature", "Defect")


def test_missing_mapping_gives_no_rows_and_says_what_to_map() -> None:
    settings = make_settings()
    settings["dora_flow_config"]["field_mappings"]["dora"]["code_commit_date"] = None
    frames = build_issue_frames(ISSUES, settings)
    drilldown = build_drilldown("lead_time_for_changes", frames, settings, PERIOD, NOW)
    assert drilldown.rows == ()
    assert "Code Commit Date" in (drilldown.message or "")
    kinds = {column.id: column.kind for column in drilldown.columns}
    assert kinds["deployment_date"] == "timestamp"  # same columns as with data, so the table keeps its shape


def test_unknown_metric_is_refused(frames) -> None:
    with pytest.raises(ValueError, match="Unknown metric 'cycle_time'"):
        drill(frames, "cycle_time")


# ---- links and CSV -------------------------------------------------------------------------------------


def test_issue_links() -> None:
    assert issue_url(JIRA_URL + "/", "D-1") == "https://example.atlassian.net/browse/D-1"
    assert issue_url(None, "D-1") is None
    assert issue_url(JIRA_URL, None) is None
    assert jira_base_url(make_settings()) == JIRA_URL
    assert jira_base_url(make_settings(url="")) is None  # demo mode: demo keys exist in no Jira


def test_csv_columns_and_rows(frames) -> None:
    drilldown = drill(frames, "lead_time_for_changes")
    text = drilldown_csv(drilldown)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["key", "url", "summary", "issue_type", "deployment_date", "code_commit_date",
                       "deployed_to_production_date", "lead_time_days", "excluded_reason"]
    assert rows[1] == ["D-1", f"{JIRA_URL}/browse/D-1", "Summary of D-1", "Deployment", "2025-03-05T10:00:00.000Z",
                       "2025-03-03T10:00:00.000Z", "2025-03-05T10:00:00.000Z", "2.0", ""]
    assert rows[2][0] == "D-2" and rows[2][5] == "" and rows[2][7] == ""
    assert rows[2][8] == "missing or unparseable code commit date"
    assert len(rows) == 1 + 3
    assert "\r" not in text and text.endswith("\n")


def test_csv_flags_and_demo_urls(frames) -> None:
    rows = list(csv.DictReader(io.StringIO(drilldown_csv(drill(frames, "change_failure_rate", jira_url=None)))))
    assert [(row["key"], row["failed"], row["url"]) for row in rows] == [
        ("D-1", "false", ""), ("D-2", "true", ""), ("D-6", "", "")]


def test_csv_quotes_commas_and_newlines_in_summaries() -> None:
    odd = issue("S-9", "Story", jira_time("2025-03-01"), "Done", summary='Fix "login", then\nlogout',
                changes=((jira_time("2025-03-03"), "To Do", "Done"),))
    frames = build_issue_frames([odd], make_settings())
    text = drilldown_csv(build_drilldown("flow_velocity", frames, make_settings(), PERIOD, NOW))
    assert next(iter(csv.DictReader(io.StringIO(text))))["summary"] == 'Fix "login", then\nlogout'


def test_csv_filename(frames) -> None:
    assert drilldown_filename(drill(frames, "flow_time")) == "flow_time_issues_2025-03-01_2025-03-31.csv"


# ---- modal layout ---------------------------------------------------------------------------------------


def test_modal_components_have_each_drilldown_id_once() -> None:
    layout = drilldown_components()
    found = [c.id for c in walk(layout) if isinstance(getattr(c, "id", None), str)]
    expected = [value for key, value in vars(ids.Drilldown).items() if key.isupper()]
    assert sorted(found) == sorted(expected)
    modal = by_id(layout, ids.Drilldown.MODAL)[0]
    assert isinstance(modal, dbc.Modal) and modal.size == "xl" and modal.is_open is False
    table = by_id(layout, ids.Drilldown.TABLE)[0]
    assert isinstance(table, dash_table.DataTable)
    assert (table.sort_action, table.page_size, table.filter_action) == ("native", 25, "native")
    assert "var(--bs-body-bg)" in table.style_cell.values()
    assert text_of(by_id(layout, ids.Drilldown.DOWNLOAD_BUTTON)[0]) == "Download CSV"


def test_table_links_keys_to_jira_and_rounds_by_format_only(frames) -> None:
    drilldown = drill(frames, "lead_time_for_changes")
    columns = {column["id"]: column for column in table_columns(drilldown)}
    assert columns["key"]["presentation"] == "markdown"
    assert columns["lead_time_days"]["type"] == "numeric"
    assert columns["deployment_date"]["name"] == "Deployment Date (UTC)"
    first = table_data(drilldown)[0]
    assert first["key"] == "[D-1](https://example.atlassian.net/browse/D-1)"
    assert first["deployment_date"] == "2025-03-05 10:00"
    assert first["lead_time_days"] == 2.0


def test_table_shows_the_reason_column_only_when_something_is_excluded(frames) -> None:
    assert "excluded_reason" in [c["id"] for c in table_columns(drill(frames, "lead_time_for_changes"))]
    velocity = drill(frames, "flow_velocity")
    assert "excluded_reason" not in [c["id"] for c in table_columns(velocity)]
    assert "excluded_reason" in drilldown_csv(velocity).splitlines()[0].split(",")


def test_table_shows_plain_keys_in_demo_mode_and_flags_as_words(frames) -> None:
    data = table_data(drill(frames, "change_failure_rate", jira_url=None))
    assert [(row["key"], row["failed"]) for row in data] == [("D-1", "No"), ("D-2", "Yes"), ("D-6", None)]


def test_summary_states_value_counts_and_reasons(frames) -> None:
    metric = calculate_all_metrics(frames, make_settings(), PERIOD, NOW)["lead_time_for_changes"]
    drilldown = build_drilldown("lead_time_for_changes", frames, make_settings(), PERIOD, NOW, metric=metric)
    text = text_of(drilldown_summary(drilldown))
    assert "Value: 2 days" in text  # the median of the one usable lead time, 2.0 days
    assert "3 issues considered: 1 used, 2 excluded" in text
    assert "missing or unparseable code commit date: 1" in text


def test_summary_of_an_empty_drilldown_says_why() -> None:
    drilldown = empty_drilldown("flow_time", PERIOD, NOW, "No issues are loaded yet: click Update Data.")
    text = text_of(drilldown_summary(drilldown))
    assert "click Update Data" in text and "No issues behind this number" in text


# ---- Details button on the cards -------------------------------------------------------------------------


@pytest.mark.parametrize(("state", "has_button"), [
    ("success", True), ("no_data", True), ("missing_mapping", False), ("calculation_error", False)])
def test_cards_with_a_population_have_a_details_button(state: str, has_button: bool) -> None:
    value = 3.0 if state == "success" else None
    card = metric_card(make_metric("flow_time", error_state=state, value=value, error_message="x"))
    buttons = by_id(card, ids.drilldown_button("flow_time"))
    assert len(buttons) == int(has_button)
    if has_button:
        assert isinstance(buttons[0], dbc.Button)
        assert text_of(buttons[0]) == "Details"
        assert by_class(card, "metric-footer")


# ---- callbacks, called directly ---------------------------------------------------------------------------


@pytest.fixture
def loaded_data() -> dict[str, Any]:
    """The issue set stored as the dashboard's cache, with its settings file, in the test's data folder."""
    settings = save_app_settings(make_settings())
    save_cached_issues(ISSUES, {"source": "jira", "url": JIRA_URL, "deployment": "cloud", "jql": "project = T",
                                "fields": required_fields(settings),
                                "last_successful_fetch": "2025-04-10T11:00:00.000Z"})
    return settings


def test_show_drilldown_opens_the_modal_with_linked_rows(loaded_data) -> None:
    is_open, title, summary, _columns, data, cell_styles, selection = show_drilldown(
        "lead_time_for_changes", PERIOD_STORE, NOW)
    assert is_open is True
    assert title == "Lead Time for Changes · 2025-03-01 to 2025-03-31"
    assert [row["key"] for row in data] == [f"[{key}]({JIRA_URL}/browse/{key})" for key in ("D-1", "D-2", "D-6")]
    assert {"if": {"column_id": "lead_time_days"}, "textAlign": "right"} in cell_styles
    assert selection == {"metric": "lead_time_for_changes", "start": "2025-03-01", "end": "2025-03-31", "team": None}
    assert "Value: 2 days" in text_of(summary)


def test_show_drilldown_ignores_an_unknown_metric(loaded_data) -> None:
    assert show_drilldown("nonsense", PERIOD_STORE, NOW) == (dash.no_update,) * 7


def test_show_drilldown_without_data_says_to_update(tmp_path) -> None:
    is_open, _title, summary, _columns, data, _styles, _selection = show_drilldown("flow_time", PERIOD_STORE, NOW)
    assert is_open is True and data == []
    assert "click Update Data" in text_of(summary)


def test_download_csv_is_the_drilldown_of_the_selection(loaded_data, frames) -> None:
    _open, *_rest, selection = show_drilldown("flow_efficiency", PERIOD_STORE, NOW)
    download, toasts = download_drilldown_csv(selection, NOW)
    assert toasts is dash.no_update
    expected = drilldown_csv(build_drilldown("flow_efficiency", frames, make_settings(), PERIOD, NOW,
                                             jira_url=JIRA_URL))
    assert download["content"] == expected
    assert download["filename"] == "flow_efficiency_issues_2025-03-01_2025-03-31.csv"
    assert download["type"].startswith("text/csv")


def test_download_without_a_selection_does_nothing() -> None:
    assert download_drilldown_csv(None, NOW) == (dash.no_update, dash.no_update)


@pytest.mark.parametrize("summary", ['=HYPERLINK("http://evil/","x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1+1",
                                     "\r=1+1", " =1", "=cmd|' /C calc'!A0"])
def test_csv_never_hands_a_spreadsheet_a_formula(summary: str) -> None:
    # Every text cell a spreadsheet would run (=, +, -, @, tab, CR first, also after the summary is trimmed)
    # is written with a leading apostrophe; the key and numbers stay as they are.
    odd = issue("S-9", "Story", jira_time("2025-03-01"), "Done", summary=summary,
                changes=((jira_time("2025-03-03"), "To Do", "Done"),))
    frames = build_issue_frames([odd], make_settings())
    text = drilldown_csv(build_drilldown("flow_velocity", frames, make_settings(), PERIOD, NOW))
    row = next(iter(csv.DictReader(io.StringIO(text))))
    assert row["summary"].startswith("'") and row["summary"].lstrip("'").strip() == summary.strip()
    assert row["key"] == "S-9"
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row.values())
