"""The field-mapping modal's logic against real files in the per-test data dir: the demo source (view only), and
the test Jira server over loopback serving the demo's field list (saving)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from configuration.paths import data_file
from configuration.settings import load_app_settings
from data.services import mapping_service
from data.services.mapping_service import (
    DEMO_SAVE_REFUSED,
    FIELD_KEYS,
    LIST_KEYS,
    TYPED_NAME_TITLE,
    FieldsUnavailable,
    build_candidate_config,
    form_values,
    jira_fields,
    load_mapping_form,
    options_with_typed_name,
    save_mapping_form,
    values_seen_in_data,
)
from data.sources.demo_fields import DEMO_FIELD_MAPPINGS, DEMO_FIELDS, DEMO_SETTINGS_OVERLAY, TEAM_NOTES
from data.sources.jira_errors import JiraError
from data.store.issue_cache import save_cached_issues
from data.store.metrics_cache import save_cached_metrics
from tests.jira_server import JiraTestServer

DEPLOYMENT_DATE = DEMO_FIELD_MAPPINGS["dora"]["deployment_date"]  # customfield_10100, a datetime field
CODE_COMMIT_DATE = DEMO_FIELD_MAPPINGS["dora"]["code_commit_date"]  # customfield_10102, a datetime field
EMAIL, TOKEN = "user@example.com", "secret-token-123"


@pytest.fixture(scope="module")
def jira() -> Iterator[JiraTestServer]:
    """A Jira whose ``/field`` answer is the demo's, so the demo's field ids are this Jira's fields."""
    server = JiraTestServer([], email=EMAIL, api_token=TOKEN, fields=DEMO_FIELDS)
    yield server
    server.stop()


@pytest.fixture
def connected(isolated_data_dir: Path, jira: JiraTestServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``app_settings.json`` connected to ``jira`` with the demo's mappings saved as the user's own."""
    monkeypatch.setenv("JIRA_API_TOKEN", TOKEN)
    config = {**copy.deepcopy(DEMO_SETTINGS_OVERLAY), "last_updated": "2025-01-01T00:00:00.000Z"}
    return _write_settings(isolated_data_dir, {
        "jira": {"url": jira.url, "deployment": "cloud", "email": EMAIL, "jql": "project = DEMO"},
        "dora_flow_config": config})


@pytest.fixture(autouse=True)
def fresh_fields_cache() -> None:
    mapping_service.clear_fields_cache()


def _write_settings(data_dir: Path, settings: dict[str, Any]) -> Path:
    path = data_dir / "app_settings.json"
    path.write_text(json.dumps(settings, indent=2), encoding="utf-8")
    return path


def _seed_metrics_cache() -> Path:
    save_cached_metrics("all_2025-01-01_2025-01-31_abcdef12", {"flow_load": {"value": 3}}, metric_type="all",
                        start=date(2025, 1, 1), end=date(2025, 1, 31), mapping_hash="abcdef1234",
                        data_version="v1", now=datetime(2025, 2, 1, tzinfo=UTC))
    return data_file("metrics_cache.json")


def _demo_form() -> dict[str, Any]:
    return dict(load_mapping_form(load_app_settings()).values)


def test_demo_form_shows_the_demo_mappings_and_typed_options() -> None:
    form = load_mapping_form(load_app_settings())
    assert form.error is None
    assert form.source == "Fields of the demo data"
    assert form.values["dora.deployment_date"] == DEPLOYMENT_DATE
    assert form.values["wip_statuses"] == DEMO_SETTINGS_OVERLAY["wip_statuses"]
    assert form.values["flow_type_mappings.Feature"] == ["Story"]
    assert set(form.options) == set(FIELD_KEYS) | set(LIST_KEYS)
    deployment = {option["value"]: option for option in form.options["dora.deployment_date"]}
    assert DEPLOYMENT_DATE in deployment and not deployment[DEPLOYMENT_DATE].get("disabled")
    assert " · customfield_10100 · datetime" in deployment[DEPLOYMENT_DATE]["label"]
    # Team Notes is a text field: offered, but disabled, for a date target.
    assert deployment[TEAM_NOTES]["disabled"] is True


def test_form_values_and_candidate_config_round_trip() -> None:
    config = {**DEMO_SETTINGS_OVERLAY, "field_mappings": DEMO_FIELD_MAPPINGS}
    candidate = build_candidate_config(form_values(config))
    assert candidate["field_mappings"] == DEMO_FIELD_MAPPINGS
    for key in ("wip_statuses", "active_statuses", "completed_statuses", "deployment_issue_types"):
        assert candidate[key] == DEMO_SETTINGS_OVERLAY[key]
    assert candidate["flow_type_mappings"] == DEMO_SETTINGS_OVERLAY["flow_type_mappings"]


def test_candidate_config_cleans_typed_values() -> None:
    values = {"dora.deployment_date": "  ", "flow.flow_item_type": " issuetype ",
              "wip_statuses": [" In Progress", "in progress", "", "Review"], "completed_statuses": None}
    candidate = build_candidate_config(values)
    assert candidate["field_mappings"]["dora"]["deployment_date"] is None
    assert candidate["field_mappings"]["flow"]["flow_item_type"] == "issuetype"
    # Trimmed; "in progress" is a case-insensitive duplicate and "" is no name.
    assert candidate["wip_statuses"] == ["In Progress", "Review"]
    assert candidate["completed_statuses"] == []


def test_valid_save_writes_settings_and_drops_only_the_metrics_cache(isolated_data_dir: Path,
                                                                     connected: Path) -> None:
    settings_path = connected
    snapshots = isolated_data_dir / "metrics_snapshots.json"
    snapshots.write_text('{"version": 1, "flow_load": {"2025-01": {"value": 4}}}\n', encoding="utf-8")
    snapshot_bytes = snapshots.read_bytes()
    cache_path = _seed_metrics_cache()
    assert json.loads(cache_path.read_text())["entries"]

    values = _demo_form()
    values["dora.deployment_date"] = CODE_COMMIT_DATE  # another datetime field: compatible
    result = save_mapping_form(values, load_app_settings())

    assert result.saved, result.summary
    stored = json.loads(settings_path.read_text())
    config = stored["dora_flow_config"]
    assert config["field_mappings"]["dora"]["deployment_date"] == CODE_COMMIT_DATE
    assert config["last_updated"] == result.last_updated and result.last_updated
    assert config["field_metadata"][CODE_COMMIT_DATE]["type"] == "datetime"
    assert "dora.deployment_date" in config["field_metadata"][CODE_COMMIT_DATE]["mapped_as"]
    assert stored["jira"]["jql"] == "project = DEMO"  # the rest of the file is kept
    assert json.loads(cache_path.read_text())["entries"] == {}
    assert snapshots.read_bytes() == snapshot_bytes


def test_text_field_for_a_date_target_is_refused_and_nothing_is_written(connected: Path) -> None:
    settings_path = connected
    before = settings_path.read_bytes()
    cache_path = _seed_metrics_cache()
    cache_before = cache_path.read_bytes()

    values = _demo_form()
    values["dora.deployment_date"] = TEAM_NOTES
    result = save_mapping_form(values, load_app_settings())

    assert not result.saved
    assert set(result.errors) == {"dora.deployment_date"}
    message = result.errors["dora.deployment_date"]
    assert "needs a date or date-time field" in message and TEAM_NOTES in message
    assert result.summary == "1 problem to fix; nothing was saved."
    assert settings_path.read_bytes() == before
    assert cache_path.read_bytes() == cache_before


def test_status_rules_are_checked_per_list(connected: Path) -> None:
    before = connected.read_bytes()
    values = _demo_form()
    values["active_statuses"] = ["In Progress", "Testing"]  # Testing is not a WIP status
    values["completed_statuses"] = []
    result = save_mapping_form(values, load_app_settings())
    assert not result.saved
    assert set(result.errors) == {"active_statuses", "completed_statuses"}
    # The validator's "active_statuses: ... wip_statuses" in the form's words:
    assert result.errors["active_statuses"] == "'Testing' must also be listed in WIP statuses"
    assert result.errors["completed_statuses"] == "Completed statuses must list at least one status"
    assert connected.read_bytes() == before


def test_unknown_field_id_is_refused(connected: Path) -> None:
    values = _demo_form()
    values["flow.work_started_date"] = "customfield_99999"
    result = save_mapping_form(values, load_app_settings())
    assert result.errors == {"flow.work_started_date": "Field customfield_99999 does not exist in this Jira"}


def test_saving_an_untouched_form_stores_exactly_the_form(connected: Path) -> None:
    result = save_mapping_form(_demo_form(), load_app_settings())
    assert result.saved
    stored = load_app_settings()["dora_flow_config"]
    assert stored["field_mappings"] == DEMO_FIELD_MAPPINGS
    assert stored["wip_statuses"] == DEMO_SETTINGS_OVERLAY["wip_statuses"]
    assert load_mapping_form(load_app_settings()).values == _demo_form()


def test_demo_mode_shows_the_form_but_refuses_to_save_and_writes_nothing(isolated_data_dir: Path) -> None:
    settings_path = _write_settings(isolated_data_dir, {"jira": {"jql": "project = OURS"}})
    before = settings_path.read_bytes()
    cache_path = _seed_metrics_cache()
    cache_before = cache_path.read_bytes()
    form = load_mapping_form(load_app_settings())
    assert form.error is None and form.save_refused == DEMO_SAVE_REFUSED
    result = save_mapping_form(dict(form.values), load_app_settings())
    assert not result.saved and result.summary == DEMO_SAVE_REFUSED
    assert settings_path.read_bytes() == before and cache_path.read_bytes() == cache_before


def test_mappings_saved_for_jira_never_change_what_the_demo_computes_with(connected: Path) -> None:
    values = _demo_form()
    values["dora.deployment_date"] = CODE_COMMIT_DATE
    assert save_mapping_form(values, load_app_settings()).saved
    settings = load_app_settings()
    settings["jira"]["url"] = ""  # back to the demo: its own mappings, whatever the user saved for Jira
    assert load_mapping_form(settings).values["dora.deployment_date"] == DEPLOYMENT_DATE


class _CountingSource:
    def __init__(self, failures: int = 0) -> None:
        self.calls, self.failures = 0, failures

    def get_fields(self) -> list[dict[str, Any]]:
        self.calls += 1
        if self.calls <= self.failures:
            raise JiraError(401, ["Client must be authenticated"], "Check the API token.")
        return [{"field_id": "customfield_1", "field_name": "Go live", "field_type": "datetime",
                 "items_type": None, "is_custom": True, "schema": {"type": "datetime"}}]


def test_fields_are_fetched_once_per_source_and_failures_are_not_kept(
        monkeypatch: pytest.MonkeyPatch) -> None:
    source = _CountingSource(failures=1)
    monkeypatch.setattr(mapping_service, "make_source", lambda settings, credentials: source)
    jira = {"jira": {"url": "https://a.example", "deployment": "cloud"}}
    with pytest.raises(FieldsUnavailable, match="Client must be authenticated"):
        jira_fields(jira)
    assert jira_fields(jira)[0]["field_id"] == "customfield_1"
    jira_fields(jira)
    assert source.calls == 2  # the failure, then one successful fetch reused by the third call
    jira_fields({"jira": {"url": "https://b.example", "deployment": "cloud"}})
    assert source.calls == 3  # another URL is another source
    jira_fields(jira, refresh=True)
    assert source.calls == 4


def test_load_failure_is_reported_with_the_values_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    source = _CountingSource(failures=9)
    monkeypatch.setattr(mapping_service, "make_source", lambda settings, credentials: source)
    form = load_mapping_form(load_app_settings())
    assert form.error is not None and "HTTP 401" in form.error
    assert form.values["dora.deployment_date"] == DEPLOYMENT_DATE
    assert form.options == {}


def test_a_mapped_field_missing_from_jira_stays_visible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mapping_service, "make_source", lambda settings, credentials: _CountingSource())
    form = load_mapping_form(load_app_settings())  # demo mappings name ids this fake Jira lacks
    first = form.options["dora.deployment_date"][0]
    assert first == {"label": f"{DEPLOYMENT_DATE} · not in this Jira", "value": DEPLOYMENT_DATE}


def _issue(number: int, status: str, history: list[tuple[str, str]], issue_type: str,
           env: str | None) -> dict:
    fields: dict[str, Any] = {
        "summary": f"Issue {number}", "status": {"name": status}, "issuetype": {"name": issue_type},
        "project": {"key": "T"}, "created": "2025-01-01T00:00:00.000+0000",
        "updated": "2025-01-05T00:00:00.000+0000", "resolutiondate": None,
        DEMO_FIELD_MAPPINGS["dora"]["target_environment"]: {"value": env} if env else None,
        DEMO_FIELD_MAPPINGS["flow"]["flow_item_type"]: {"value": "Feature"},
    }
    histories = [{"id": f"{number}-{i}", "created": f"2025-01-0{i + 2}T00:00:00.000+0000",
                  "items": [{"field": "status", "fieldtype": "jira", "fromString": old, "toString": new}]}
                 for i, (old, new) in enumerate(history)]
    return {"id": str(number), "key": f"T-{number}", "fields": fields, "changelog": {"histories": histories}}


def test_statuses_and_types_come_from_the_cached_issues() -> None:
    issues = [
        _issue(1, "Done", [("Backlog", "Doing"), ("Doing", "Done")], "Story", "Staging"),
        _issue(2, "Blocked", [], "Deployment", None),
    ]
    fields = ["summary", "status", "issuetype", "project", "created", "updated", "resolutiondate",
              *sorted({value for group in DEMO_FIELD_MAPPINGS.values() for value in group.values() if value})]
    save_cached_issues(issues, {"source": "demo", "url": "", "deployment": "", "jql": "project = DEMO",
                                "fields": fields, "last_successful_fetch": "2025-01-06T00:00:00.000Z"})
    seen = values_seen_in_data(load_app_settings())
    # Backlog appears only as a changelog "from", Blocked only as a current status.
    assert seen.statuses == ("Backlog", "Blocked", "Doing", "Done")
    assert seen.issue_types == ("Deployment", "Story")
    assert seen.environments == ("Staging",)
    assert seen.flow_item_values == ("Feature",)
    options = load_mapping_form(load_app_settings()).options
    status_names = [option["value"] for option in options["wip_statuses"]]
    # Seen statuses plus the configured ones (demo: In Progress, In Review, Done, Closed), sorted.
    assert status_names == ["Backlog", "Blocked", "Closed", "Doing", "Done", "In Progress", "In Review"]


def test_nothing_cached_means_no_seen_values() -> None:
    assert values_seen_in_data(load_app_settings()) == mapping_service.SeenValues()


def test_typed_name_is_offered_until_something_else_is_typed() -> None:
    base = [{"label": "Done", "value": "Done"}]
    typed = options_with_typed_name(base, ["Done"], "Ready ")
    assert typed == [*base, {"label": "Ready (new)", "value": "Ready", "title": TYPED_NAME_TITLE}]
    assert options_with_typed_name(typed, ["Done"], "Re") == [*base, {"label": "Re (new)", "value": "Re",
                                                                      "title": TYPED_NAME_TITLE}]
    kept = options_with_typed_name(typed, ["Done", "Ready"], None)
    assert kept == typed  # chosen, so it stays
    assert options_with_typed_name(base, [], "done") == base  # already an option (case-insensitive)


def test_save_notes_when_the_cache_lacks_a_newly_mapped_field(connected: Path) -> None:
    save_cached_issues([_issue(1, "Done", [], "Story", None)],
                       {"source": "demo", "url": "", "deployment": "", "jql": "project = DEMO",
                        "fields": ["summary", "status", "issuetype", "created", "updated", "resolutiondate"]})
    values = _demo_form()
    result = save_mapping_form(values, load_app_settings())
    assert result.saved
    assert "click Update Data to fetch them" in result.message and DEPLOYMENT_DATE in result.message
