"""Update Data against the test Jira server over HTTP: full, incremental, reconcile, failures, demo."""

from __future__ import annotations

import copy
import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from configuration.secrets import JiraCredentials
from configuration.settings import merge_with_defaults
from data.services.data_update import EMPTY_JQL_MESSAGE, update_issues
from data.sources.base import FetchCancelled, UpdateError
from data.sources.demo_fields import DEMO_SETTINGS_OVERLAY
from data.sources.demo_source import DemoSource
from data.sources.jira_client import JiraClient
from data.sources.jira_errors import JiraError
from data.sources.jira_scope import incremental_jql, split_order_by
from data.sources.selection import make_source
from data.store.issue_cache import load_cached_issues, load_fetch_meta
from tests.jira_server import JiraTestServer
from tests.jira_server.builders import jira_time, make_issue, make_issues, status_history
from tests.jira_server.fixtures import jira_server_factory  # noqa: F401  (a fixture, used by name)

EMAIL, TOKEN, PAT = "user@example.com", "secret-token-123", "pat-xyz"
SEARCH = "/rest/api/3/search/jql"
DONE = ("10002", "Done")
TODO = ("10000", "To Do")


def client_for(server: JiraTestServer, *, token: str = TOKEN, deployment: str = "cloud", **options: Any) -> JiraClient:
    """A real client with no rate limit and instant retry waits (the server answers on loopback)."""
    return JiraClient(server.url, deployment, email=EMAIL, api_token=token, pat=PAT, requests_per_second=None,
                      max_retries=options.pop("max_retries", 2), sleep=lambda _seconds: None, **options)


def settings_for(server: JiraTestServer, jql: str = "project = PROJ", **jira: Any) -> dict[str, Any]:
    return merge_with_defaults({
        "jira": {"url": server.url, "jql": jql, **jira},
        "dora_flow_config": {"field_mappings": {"dora": {"deployment_date": "customfield_10100"}}},
    })


def cache_bytes(data_dir: Path) -> dict[str, bytes]:
    return {name: (data_dir / "cache" / name).read_bytes() for name in ("issues.json", "fetch_meta.json")}


def searches(server: JiraTestServer) -> list[dict]:
    return [request for request in server.requests if request["path"] == SEARCH]


def cached_by_key() -> dict[str, dict]:
    cached = load_cached_issues()
    assert cached is not None
    return {issue["key"]: issue for issue in cached.issues}


def recently(minutes: float) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes)


def move_to(server: JiraTestServer, key: str, target: tuple[str, str], *, updated: datetime | None = None) -> None:
    """Change ``key``'s status on the server the way Jira does: new status, one more history, new ``updated``."""
    stored = server.store.get(key)
    assert stored is not None
    current = stored.fields["status"]
    when = updated or datetime.now(UTC)
    server.update_issue(key, fields={"status": {"id": target[0], "name": target[1], "statusCategory": {"key": "new"}}},
                        histories=[status_history(int(stored.id) * 1000 + 99, when,
                                                  (current["id"], current["name"]), target)],
                        updated=updated)


# ---------------------------------------------------------------------------------------------- JQL helpers

@pytest.mark.parametrize(("jql", "expected"), [
    ("project = A", ("project = A", "")),
    ("project = A ORDER BY rank DESC", ("project = A", "rank DESC")),
    ('summary ~ "order by" order by key', ('summary ~ "order by"', "key")),
    ("summary ~ 'sort ORDER BY x'", ("summary ~ 'sort ORDER BY x'", "")),
])
def test_split_order_by(jql: str, expected: tuple[str, str]) -> None:
    assert split_order_by(jql) == expected


def test_incremental_jql_uses_unquoted_epoch_milliseconds() -> None:
    since = datetime(2025, 1, 15, 10, 0, tzinfo=UTC)  # 20103 days after 1970-01-01, plus 10 h
    assert incremental_jql("project = A ORDER BY key", since) == \
        "(project = A) AND updated >= 1736935200000 ORDER BY key"
    assert incremental_jql("project = A OR project = B", since) == \
        "(project = A OR project = B) AND updated >= 1736935200000"


# ---------------------------------------------------------------------------------------------- full + incremental

def test_first_update_is_full_then_an_incremental_update_merges_changes(jira_server_factory) -> None:  # noqa: F811
    server = jira_server_factory(make_issues(5))
    settings, client = settings_for(server), client_for(server)

    first = update_issues(settings, client)
    assert (first.mode, first.new, first.updated, first.removed, first.total, first.changed) == \
        ("full", 5, 0, 0, 5, True)
    assert cached_by_key()["PROJ-2"]["fields"]["status"]["name"] == "Done"  # 3 changes: To Do -> ... -> Done

    move_to(server, "PROJ-2", TODO)
    server.add_issue(make_issue(6, updated=datetime.now(UTC)))
    server.clear_requests()
    second = update_issues(settings, client)

    assert (second.mode, second.new, second.updated, second.removed, second.total, second.changed) == \
        ("incremental", 1, 1, 0, 6, True)
    assert second.data_version != first.data_version
    assert len(searches(server)) == 1 and second.requests == len(server.requests)
    issue = cached_by_key()["PROJ-2"]
    assert issue["fields"]["status"]["name"] == "To Do"
    assert [h["items"][0]["toString"] for h in issue["changelog"]["histories"]] == \
        ["In Progress", "In Review", "Done", "To Do"]
    assert load_fetch_meta()["data_version"] == second.data_version


def test_nothing_changed_costs_one_search_and_rewrites_no_issues(jira_server_factory, isolated_data_dir) -> None:  # noqa: F811
    server = jira_server_factory(make_issues(5))
    settings, client = settings_for(server), client_for(server)
    t0 = datetime.now(UTC).replace(microsecond=0)
    first = update_issues(settings, client, now=t0)
    before = cache_bytes(isolated_data_dir)
    server.clear_requests()

    second = update_issues(settings, client, now=t0 + timedelta(minutes=2))

    assert len(server.requests) == 1 and server.requests[0]["path"] == SEARCH
    # The delta starts 5 minutes (the default overlap) before the first update.
    expected_ms = int((t0 - timedelta(minutes=5)).timestamp()) * 1000
    assert server.requests[0]["json"]["jql"] == f"(project = PROJ) AND updated >= {expected_ms}"
    assert (second.mode, second.new, second.updated, second.removed, second.changed, second.requests) == \
        ("incremental", 0, 0, 0, False, 1)
    assert second.data_version == first.data_version and second.total == 5
    after = cache_bytes(isolated_data_dir)
    assert after["issues.json"] == before["issues.json"]
    assert not (isolated_data_dir / "app_settings.json").exists()  # runtime facts stay with the cache
    assert load_fetch_meta()["last_successful_fetch"] == jira_time(t0 + timedelta(minutes=2)).replace(
        "+0000", "Z")


def test_an_issue_seen_again_in_the_overlap_is_not_a_change(jira_server_factory, isolated_data_dir) -> None:  # noqa: F811
    server = jira_server_factory([*make_issues(2), make_issue(3, updated=recently(1))])
    settings, client = settings_for(server), client_for(server)
    update_issues(settings, client)
    before = cache_bytes(isolated_data_dir)["issues.json"]

    again = update_issues(settings, client)

    assert (again.new, again.updated, again.changed) == (0, 0, False)
    assert cache_bytes(isolated_data_dir)["issues.json"] == before


def test_an_older_copy_of_an_issue_does_not_replace_a_newer_one(jira_server_factory) -> None:  # noqa: F811
    server = jira_server_factory([*make_issues(2), make_issue(3, updated=recently(1))])
    settings, client = settings_for(server), client_for(server)
    update_issues(settings, client)
    # A stale copy (eventual consistency): other status, `updated` two minutes older than the cached one.
    move_to(server, "PROJ-3", TODO, updated=recently(3))

    result = update_issues(settings, client)

    assert (result.updated, result.changed) == (0, False)
    assert cached_by_key()["PROJ-3"]["fields"]["status"]["name"] == "Done"


def test_the_users_order_by_stays_at_the_end(jira_server_factory) -> None:  # noqa: F811
    server = jira_server_factory(make_issues(3))
    settings, client = settings_for(server, "project = PROJ ORDER BY key DESC"), client_for(server)
    update_issues(settings, client)
    move_to(server, "PROJ-1", TODO)
    server.clear_requests()
    result = update_issues(settings, client)
    assert result.updated == 1
    jql = searches(server)[0]["json"]["jql"]
    assert jql.startswith("(project = PROJ) AND updated >= ") and jql.endswith(" ORDER BY key DESC")


# ---------------------------------------------------------------------------------------------- reconcile

def test_full_reconciles_a_deleted_issue(jira_server_factory) -> None:  # noqa: F811
    server = jira_server_factory(make_issues(5))
    settings, client = settings_for(server), client_for(server)
    update_issues(settings, client)
    server.delete_issue("PROJ-3")
    server.clear_requests()

    result = update_issues(settings, client, full=True)

    assert (result.mode, result.removed, result.total, result.changed) == ("reconcile", 1, 4, True)
    assert sorted(cached_by_key()) == ["PROJ-1", "PROJ-2", "PROJ-4", "PROJ-5"]
    # One delta search and one key-only listing (fields=id), nothing else.
    assert [request["json"].get("fields") for request in searches(server)] == [
        ["summary", "status", "issuetype", "project", "created", "updated", "resolutiondate", "resolution",
         "customfield_10100"], ["id"]]
    assert len(server.requests) == 2


def test_reconcile_runs_when_full_refresh_hours_have_passed(jira_server_factory) -> None:  # noqa: F811
    server = jira_server_factory(make_issues(3))
    settings, client = settings_for(server, full_refresh_hours=1), client_for(server)
    t0 = datetime.now(UTC)
    update_issues(settings, client, now=t0)
    server.delete_issue("PROJ-1")

    early = update_issues(settings, client, now=t0 + timedelta(minutes=30))
    assert (early.mode, early.removed, early.total) == ("incremental", 0, 3)

    late = update_issues(settings, client, now=t0 + timedelta(hours=1, minutes=1))
    assert (late.mode, late.removed, late.total) == ("reconcile", 1, 2)
    assert load_fetch_meta()["last_reconcile"] == jira_time(t0 + timedelta(hours=1, minutes=1)).replace(
        "+0000", "Z")
    assert update_issues(settings, client, now=t0 + timedelta(hours=1, minutes=2)).mode == "incremental"


def test_reconcile_fetches_a_listed_issue_the_delta_missed(jira_server_factory) -> None:  # noqa: F811
    server = jira_server_factory(make_issues(2))
    settings, client = settings_for(server), client_for(server)
    update_issues(settings, client)
    server.add_issue(make_issue(7))  # `updated` in January 2025: no delta will ever return it
    assert update_issues(settings, client).new == 0

    result = update_issues(settings, client, full=True)

    assert (result.mode, result.new, result.total) == ("reconcile", 1, 3)
    assert cached_by_key()["PROJ-7"]["changelog"]["total"] == 3
    assert any("key in (PROJ-7)" in request["json"]["jql"] for request in searches(server))


def test_a_reconcile_that_finds_nothing_keeps_the_issues_file(jira_server_factory, isolated_data_dir) -> None:  # noqa: F811
    server = jira_server_factory(make_issues(3))
    settings, client = settings_for(server), client_for(server)
    first = update_issues(settings, client)
    before = cache_bytes(isolated_data_dir)["issues.json"]
    result = update_issues(settings, client, full=True)
    assert (result.mode, result.changed, result.data_version) == ("reconcile", False, first.data_version)
    assert cache_bytes(isolated_data_dir)["issues.json"] == before


# ---------------------------------------------------------------------------------------------- failures

def failing_update(server: JiraTestServer, settings: dict, client: JiraClient, data_dir: Path,
                   error: type[Exception] = JiraError, **kwargs: Any) -> Exception:
    before = cache_bytes(data_dir)
    with pytest.raises(error) as caught:
        update_issues(settings, client, **kwargs)
    assert cache_bytes(data_dir) == before
    assert not list((data_dir / "cache").glob("*.tmp"))
    return caught.value


def test_a_bad_token_leaves_the_cache_as_it_was(jira_server_factory, isolated_data_dir) -> None:  # noqa: F811
    server = jira_server_factory(make_issues(3))
    settings = settings_for(server)
    update_issues(settings, client_for(server))
    move_to(server, "PROJ-1", TODO)
    error = failing_update(server, settings, client_for(server, token="wrong-token"), isolated_data_dir)
    assert error.status == 401 and "Client must be authenticated" in str(error)


def test_server_errors_after_retries_leave_the_cache_as_it_was(jira_server_factory, isolated_data_dir) -> None:  # noqa: F811
    server = jira_server_factory(make_issues(3))
    settings, client = settings_for(server), client_for(server)
    update_issues(settings, client)
    move_to(server, "PROJ-1", TODO)
    server.inject(500, count=10, path_prefix="/rest/api/3/search")
    error = failing_update(server, settings, client, isolated_data_dir)
    assert error.status == 500


def test_an_unreachable_jira_leaves_the_cache_as_it_was(jira_server_factory, isolated_data_dir) -> None:  # noqa: F811
    server = jira_server_factory(make_issues(2))
    settings, client = settings_for(server), client_for(server)
    update_issues(settings, client)
    server.stop()
    error = failing_update(server, settings, client, isolated_data_dir)
    assert error.status is None and str(error)


def test_a_failure_during_reconcile_writes_nothing(jira_server_factory, isolated_data_dir) -> None:  # noqa: F811
    server = jira_server_factory(make_issues(3))
    settings, client = settings_for(server), client_for(server, max_retries=0)
    update_issues(settings, client)
    move_to(server, "PROJ-1", TODO)
    server.delete_issue("PROJ-2")
    server.inject(None, count=1, path_prefix=SEARCH)  # the delta search answers normally ...
    server.inject(503, count=1, path_prefix=SEARCH)  # ... the key listing fails
    failing_update(server, settings, client, isolated_data_dir, full=True)


def test_an_anonymous_empty_listing_does_not_empty_the_cache(jira_server_factory, isolated_data_dir) -> None:  # noqa: F811
    server = jira_server_factory(make_issues(3), anonymous_search=True)
    settings = settings_for(server)
    update_issues(settings, client_for(server))
    # Wrong credentials: this Jira answers searches with 200 and no issues instead of 401.
    error = failing_update(server, settings, client_for(server, token="wrong-token"), isolated_data_dir,
                           error=UpdateError, full=True)
    assert "listed no issues" in str(error) and "3 are cached" in str(error)


def test_bad_jql_shows_jiras_message_and_keeps_the_cache(jira_server_factory, isolated_data_dir) -> None:  # noqa: F811
    server = jira_server_factory(make_issues(3))
    client = client_for(server)
    update_issues(settings_for(server), client)
    error = failing_update(server, settings_for(server, "project = PROJ AND"), client, isolated_data_dir)
    assert error.status == 400 and "Error in the JQL Query" in str(error)
    assert load_fetch_meta()["jql"] == "project = PROJ"


def test_a_cancelled_update_leaves_the_cache_as_it_was(jira_server_factory, isolated_data_dir) -> None:  # noqa: F811
    server = jira_server_factory(make_issues(3))
    settings, client = settings_for(server), client_for(server)
    update_issues(settings, client)
    cancel = threading.Event()
    cancel.set()
    failing_update(server, settings, client, isolated_data_dir, error=FetchCancelled, cancel=cancel)


def test_an_empty_jql_is_refused_before_any_request(jira_server_factory) -> None:  # noqa: F811
    server = jira_server_factory(make_issues(1))
    with pytest.raises(UpdateError, match="Set the JQL in Jira settings"):
        update_issues(settings_for(server, "  "), client_for(server))
    assert server.requests == [] and load_fetch_meta() is None
    assert EMPTY_JQL_MESSAGE == "Set the JQL in Jira settings (e.g. project = ABC)"


# ---------------------------------------------------------------------------------------------- cache validity

def test_a_jql_change_means_a_full_fetch(jira_server_factory) -> None:  # noqa: F811
    server = jira_server_factory([*make_issues(3), *make_issues(2, project="OTHER", first=10)])
    client = client_for(server)
    assert update_issues(settings_for(server), client).total == 3
    result = update_issues(settings_for(server, "project = OTHER"), client)
    assert (result.mode, result.total) == ("full", 2)
    assert sorted(cached_by_key()) == ["OTHER-10", "OTHER-11"]


def test_a_mapping_that_needs_a_new_field_means_a_full_fetch(jira_server_factory) -> None:  # noqa: F811
    env = {"customfield_10101": {"id": "10400", "value": "Production"}}
    server = jira_server_factory(make_issues(3, extra_fields=env))
    settings, client = settings_for(server), client_for(server)
    update_issues(settings, client)
    assert "customfield_10101" not in cached_by_key()["PROJ-1"]["fields"]

    same_fields = copy.deepcopy(settings)
    same_fields["dora_flow_config"]["field_mappings"]["dora"]["deployed_to_production_date"] = "customfield_10100"
    assert update_issues(same_fields, client).mode == "incremental"

    new_field = copy.deepcopy(settings)
    new_field["dora_flow_config"]["field_mappings"]["dora"]["target_environment"] = "customfield_10101"
    server.clear_requests()
    result = update_issues(new_field, client)
    assert (result.mode, result.total) == ("full", 3)
    assert "customfield_10101" in searches(server)[0]["json"]["fields"]
    assert cached_by_key()["PROJ-1"]["fields"]["customfield_10101"] == {"id": "10400", "value": "Production"}


def test_cache_facts_are_recorded_with_the_cache_and_the_settings_file_is_not_written(
        jira_server_factory, isolated_data_dir: Path) -> None:  # noqa: F811
    server = jira_server_factory(make_issues(2))
    settings_file = isolated_data_dir / "app_settings.json"
    settings_file.write_text('{"jira": {"jql": "project = PROJ"}}\n', encoding="utf-8")
    t0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    update_issues(settings_for(server), client_for(server), now=t0)
    meta = load_fetch_meta()
    assert meta["last_successful_fetch"] == "2026-03-02T09:30:00.000Z"
    assert len(meta["cache_key"]) == 32 and len(meta["config_hash"]) == 32
    assert settings_file.read_text(encoding="utf-8") == '{"jira": {"jql": "project = PROJ"}}\n'


def test_data_center_full_and_incremental(jira_server_factory) -> None:  # noqa: F811
    server = jira_server_factory(make_issues(4), mode="datacenter", page_cap=2)
    settings = settings_for(server, deployment="datacenter")
    client = client_for(server, deployment="datacenter")
    assert update_issues(settings, client).total == 4
    move_to(server, "PROJ-4", TODO)
    result = update_issues(settings, client)
    assert (result.mode, result.updated) == ("incremental", 1)
    assert cached_by_key()["PROJ-4"]["fields"]["status"]["name"] == "To Do"


def test_one_info_line_per_update_without_secrets(jira_server_factory, caplog) -> None:  # noqa: F811
    server = jira_server_factory(make_issues(2))
    with caplog.at_level(logging.INFO, logger="data.services.data_update"):
        update_issues(settings_for(server), client_for(server))
    lines = [record.getMessage() for record in caplog.records if record.name == "data.services.data_update"
             and record.getMessage().startswith("Issue update finished")]
    assert len(lines) == 1 and "full update: 2 new, 0 updated, 0 removed; 2 issues cached" in lines[0]
    assert TOKEN not in caplog.text


# ---------------------------------------------------------------------------------------------- demo and sources

DEMO_ANCHOR = datetime(2025, 6, 2, tzinfo=UTC)


def demo_settings() -> dict[str, Any]:
    return merge_with_defaults({"dora_flow_config": copy.deepcopy(DEMO_SETTINGS_OVERLAY)})


def test_the_demo_goes_through_the_same_update_and_cache(isolated_data_dir) -> None:
    settings = demo_settings()
    first = update_issues(settings, DemoSource(anchor=DEMO_ANCHOR, n_issues=120),
                          now=DEMO_ANCHOR + timedelta(hours=9))
    assert (first.mode, first.total, first.new) == ("full", 120, 120)
    meta = load_fetch_meta()
    assert (meta["source"], meta["jql"]) == ("demo", "project = DEMO")
    cached = load_cached_issues()
    assert cached is not None
    with_changes = [issue for issue in cached.issues if len(issue["changelog"]["histories"]) > 1]
    assert with_changes
    for issue in with_changes:
        stamps = [h["created"] for h in issue["changelog"]["histories"]]
        assert stamps == sorted(stamps, key=lambda text: datetime.fromisoformat(text))
    assert "customfield_10100" in meta["fields"]
    before = cache_bytes(isolated_data_dir)["issues.json"]

    same_day = DemoSource(anchor=DEMO_ANCHOR, n_issues=120)
    again = update_issues(settings, same_day, now=DEMO_ANCHOR + timedelta(hours=10))
    assert (again.mode, again.changed, again.requests, again.data_version) == \
        ("incremental", False, 1, first.data_version)
    assert cache_bytes(isolated_data_dir)["issues.json"] == before

    next_day = update_issues(settings, DemoSource(anchor=DEMO_ANCHOR + timedelta(days=1), n_issues=120),
                             now=DEMO_ANCHOR + timedelta(days=1, hours=9))
    assert (next_day.mode, next_day.changed) == ("full", True)


def test_demo_source_answers_like_the_client() -> None:
    source = DemoSource(anchor=DEMO_ANCHOR, n_issues=50)
    issues = source.search_issues("project = DEMO", ["status"])
    assert len(issues) == 50 == source.count_issues("project = DEMO")
    assert source.list_issue_ids("project = DEMO") == [(issue["id"], issue["key"]) for issue in issues]
    first_key = issues[0]["key"]
    assert [issue["key"] for issue in source.search_issues(f"key in ({first_key})", [])] == [first_key]
    fields = {field["field_id"]: field for field in source.get_fields()}
    assert fields["customfield_10100"]["field_type"] == "datetime" and fields["customfield_10100"]["is_custom"]
    assert source.test_connection()["display_name"] == "Demo User"
    assert source.request_count == 6
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(FetchCancelled):
        source.search_issues("project = DEMO", [], cancel=cancel)


def test_the_demo_anchor_defaults_to_today_at_midnight_utc() -> None:
    anchor = DemoSource().anchor
    today = datetime.now(UTC)
    assert anchor.tzinfo is not None and (anchor.hour, anchor.minute, anchor.second) == (0, 0, 0)
    assert anchor.date() in (today.date(), (today - timedelta(minutes=1)).date())


def test_make_source_picks_demo_or_jira() -> None:
    assert isinstance(make_source(merge_with_defaults({}), JiraCredentials()), DemoSource)
    cloud = merge_with_defaults({"jira": {"url": "https://example.atlassian.net/", "jql": "project = A"}})
    source = make_source(cloud, JiraCredentials(email=EMAIL, api_token=TOKEN))
    assert isinstance(source, JiraClient) and source.base_url == "https://example.atlassian.net"
    assert TOKEN not in repr(source)


@pytest.mark.parametrize(("deployment", "credentials", "names"), [
    ("cloud", JiraCredentials(), ["JIRA_EMAIL", "JIRA_API_TOKEN"]),
    ("cloud", JiraCredentials(email=EMAIL), ["JIRA_API_TOKEN"]),
    ("datacenter", JiraCredentials(email=EMAIL, api_token=TOKEN), ["JIRA_PAT"]),
])
def test_missing_credentials_name_the_variables(deployment: str, credentials: JiraCredentials,
                                                names: list[str]) -> None:
    settings = merge_with_defaults({"jira": {"url": "https://jira.example.com", "deployment": deployment}})
    with pytest.raises(UpdateError) as caught:
        make_source(settings, credentials)
    for name in names:
        assert name in str(caught.value)
    assert TOKEN not in str(caught.value)
