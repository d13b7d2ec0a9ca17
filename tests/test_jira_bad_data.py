"""One bad value in Jira's data must not fail an update: the client over real HTTP against the test Jira
server, given dates no calendar holds (an epoch of 9e18, the year 10000, NaN, 1e308), ids of 5,000 digits
and answers of the wrong shape.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from configuration.secrets import JiraCredentials
from configuration.settings import merge_with_defaults
from data.metrics.issue_frame import build_issue_frames
from data.services.data_update import update_issues
from data.sources.jira_changelogs import normal_changelog, normalise_created
from data.sources.jira_errors import JiraError
from data.sources.jira_paging import dedupe, parse_instant
from data.sources.selection import make_source
from data.store.issue_cache import load_cached_issues
from tests.jira_server import fixtures as server_fixtures
from tests.jira_server.builders import make_issue, make_issues
from tests.test_issue_frame import make_settings
from tests.test_jira_client import CLOUD_BULK, CLOUD_SEARCH, DC_SEARCH, FIELDS, JQL, client_for

jira_server = server_fixtures.jira_server  # fixtures, bound here so pytest finds them in this module
jira_server_factory = server_fixtures.jira_server_factory

SAMPLE = Path("/work/shared/jira-samples/real-cloud-issues.json")
LONG_ID = "7" * 5000
STATUS_ITEM = {"field": "status", "fieldtype": "jira", "fieldId": "status", "from": "10000",
               "fromString": "To Do", "to": "3", "toString": "In Progress"}


def history(history_id: str, created: object) -> dict:
    return {"id": history_id, "created": created, "items": [STATUS_ITEM]}


def raw_page(histories_json: str, *, issue_id: str = '"10001"') -> str:
    """A search page as text: JSON that a strict parser may refuse (NaN, 5,000-digit numbers)."""
    return ('{"issues": [{"id": ' + issue_id + ', "key": "PROJ-1", "fields": {"summary": "s", '
            '"created": "2025-01-10T10:00:00.000+0000", "updated": "2025-01-20T10:00:00.000+0000", '
            '"status": {"name": "In Progress"}}, "changelog": {"startAt": 0, "maxResults": 9, "total": 2, '
            '"histories": [' + histories_json + ']}}], "isLast": true}')


GOOD = json.dumps(history("6", "2025-01-16T10:00:00.000+0000"))


@pytest.mark.parametrize("created", [
    "9e18",                                   # epoch seconds past any calendar (ValueError: year out of range)
    "9000000000000000000",                    # the same as an integer
    "1e308",                                  # OverflowError: timestamp out of range
    "NaN",                                    # not even JSON, yet some servers write it
    '"10000-01-01T00:00:00.000+0000"',        # a year of five digits
    '"9999-12-31T23:59:59.000-1200"',         # year 10000 in UTC
    "1" + "0" * 400,                          # an integer beyond any float
], ids=lambda text: text[:24])
def test_a_history_with_an_unusable_date_is_left_out_and_counted(jira_server, created) -> None:
    bad = '{"id": "5", "created": ' + created + ', "items": [' + json.dumps(STATUS_ITEM) + "]}"
    jira_server.inject(200, 1, path_prefix=CLOUD_SEARCH, body=raw_page(f"{bad}, {GOOD}"))
    client = client_for(jira_server)
    result = client.search_issues(JQL, FIELDS)
    assert [issue["key"] for issue in result] == ["PROJ-1"]  # the issue is kept
    assert [h["id"] for h in result[0]["changelog"]["histories"]] == ["6"]
    assert result[0]["changelog"]["total"] == 1
    assert client.skipped_history_count == 1


def test_five_thousand_digit_ids_are_kept_as_text(jira_server) -> None:
    histories = f'{json.dumps(history(LONG_ID, "2025-01-15T10:00:00.000+0000"))}, {GOOD}'
    jira_server.inject(200, 1, path_prefix=CLOUD_SEARCH, body=raw_page(histories, issue_id=LONG_ID))
    client = client_for(jira_server)
    result = client.search_issues(JQL, FIELDS)
    # The issue id (a JSON number of 5,000 digits) is kept as its text; the histories sort by time first.
    assert result[0]["id"] == LONG_ID
    assert [h["id"] for h in result[0]["changelog"]["histories"]] == [LONG_ID, "6"]
    assert client.skipped_history_count == 0


def test_history_ids_of_any_length_sort_numerically_at_the_same_instant() -> None:
    at = "2025-01-15T10:00:00.000+0000"
    changelog = normal_changelog([history(LONG_ID, at), history("10", at), history("9", at), history("x", at)])
    # Numeric order: 9 < 10 < the 5,000-digit id; ids that are not numbers come last.
    assert [h["id"] for h in changelog["histories"]] == ["9", "10", LONG_ID, "x"]


@pytest.mark.parametrize("value", [9e18, 1e308, float("nan"), float("inf"), 10**400, "1" * 5000, True],
                         ids=lambda value: repr(value)[:24])
def test_normalise_created_gives_none_for_numbers_that_are_no_instant(value) -> None:
    assert normalise_created(value) is (value if value is True else None)


def test_dedupe_with_unreadable_updated_keeps_the_first_copy() -> None:
    first = {"id": "1", "fields": {"updated": "10000-01-01T00:00:00.000+0000"}, "n": 1}
    second = {"id": "1", "fields": {"updated": 9e18}, "n": 2}
    third = {"id": "1", "fields": ["not", "an", "object"], "n": 3}
    assert dedupe([first, second, third]) == [first]


def test_bulkfetch_epoch_beyond_any_calendar_is_left_out(jira_server_factory) -> None:
    server = jira_server_factory([make_issue(1, histories=60)], bulkfetch_page_cap=1000)
    good = [history("10001001", 1736935200), history("10001002", "2025-01-15T11:00:00.000+0000")]
    server.inject(200, 1, path_prefix=CLOUD_BULK,
                  body={"issueChangeLogs": [{"issueId": "10001", "changeHistories": [
                      *good, history("10001003", 9e18), history("10001004", 1e308)]}]})
    client = client_for(server)
    result = client.search_issues(JQL, FIELDS)
    # 60 histories, 40 inlined (newest first): the search page is truncated and bulkfetch completes it with
    # 2 good and 2 unusable histories: 40 inlined + 2 = 42 kept, 2 left out.
    assert client.skipped_history_count == 2
    assert result[0]["changelog"]["total"] == 42


# ---------------------------------------------------------------------- answers of the wrong shape


@pytest.mark.parametrize("body", [[], ["x"], {"issues": "x"}, {"issues": 5}, "[1, 2]"])
def test_wrong_shaped_search_answer_is_a_plain_jira_error(jira_server, body) -> None:
    jira_server.inject(200, 1, path_prefix=CLOUD_SEARCH, body=body)
    with pytest.raises(JiraError) as caught:
        client_for(jira_server).search_issues(JQL, FIELDS)
    assert "unexpected shape" in str(caught.value) and "check the Jira URL" in str(caught.value)


@pytest.mark.parametrize("body", [["not", "an", "object"], {"values": 5}, {"values": "abc"}])
def test_wrong_shaped_changelog_page_is_a_plain_jira_error(jira_server_factory, body) -> None:
    server = jira_server_factory([make_issue(1, histories=150)], mode="datacenter")
    server.inject(200, 1, path_prefix="/rest/api/2/issue/PROJ-1/changelog", body=body)
    with pytest.raises(JiraError) as caught:
        client_for(server).search_issues(JQL, FIELDS)
    assert "an issue's changelog with data of an unexpected shape" in str(caught.value)


@pytest.mark.parametrize("body", [[1, 2], {"issueChangeLogs": 5}])
def test_wrong_shaped_bulkfetch_is_a_plain_jira_error(jira_server_factory, body) -> None:
    server = jira_server_factory([make_issue(1, histories=60)])
    server.inject(200, 1, path_prefix=CLOUD_BULK, body=body)
    with pytest.raises(JiraError) as caught:
        client_for(server).search_issues(JQL, FIELDS)
    assert "bulkfetch with data of an unexpected shape" in str(caught.value)


def test_odd_entries_inside_a_bulkfetch_are_skipped(jira_server_factory) -> None:
    server = jira_server_factory([make_issue(1, histories=60)])
    server.inject(200, 1, path_prefix=CLOUD_BULK, body={"issueChangeLogs": [
        "junk", {"issueId": "10001", "changeHistories": 5}, {"issueId": [1], "changeHistories": ["x", 3]}]})
    result = client_for(server).search_issues(JQL, FIELDS)
    assert result[0]["changelog"]["total"] == 40  # only the inlined histories remain


def test_wrong_shaped_parts_of_an_issue_keep_the_issue(jira_server_factory) -> None:
    server = jira_server_factory(mode="datacenter")
    page = {"startAt": 0, "maxResults": 50, "total": 3, "issues": [
        {"id": "1", "key": "A-1", "fields": [1, 2], "changelog": {"histories": 5, "total": "many"}},
        {"id": "2", "key": "A-2", "fields": {"updated": 5}, "changelog": "none"},
        {"key": "A-3", "fields": {}}]}
    server.inject(200, 1, path_prefix=DC_SEARCH, body=page)
    server.inject(200, 5, path_prefix="/rest/api/2/issue/", body={"values": [], "isLast": True})
    client = client_for(server)
    result = client.search_issues(JQL, FIELDS)
    # A-3 has no id and is counted; A-1 (its fields a list, made an empty object) and A-2 are kept with
    # empty changelogs.
    assert [issue["key"] for issue in result] == ["A-1", "A-2"]
    assert result[0]["fields"] == {}
    assert all(issue["changelog"]["histories"] == [] for issue in result)
    assert client.skipped_issue_count == 1


# ---------------------------------------------------------------------- the whole update, twice


def test_bad_history_never_fails_the_update_and_later_updates(jira_server_factory, isolated_data_dir,
                                                              caplog) -> None:
    bad = make_issue(2)
    bad["changelog"]["histories"] += [history("99001", 9e18), history("99002", "10000-01-01T00:00:00.000+0000")]
    bad["changelog"]["total"] = bad["changelog"]["maxResults"] = 5
    server = jira_server_factory([*make_issues(1), bad, *make_issues(1, first=3)])
    settings = merge_with_defaults({"jira": {"url": server.url, "jql": "project = PROJ"}})
    credentials = JiraCredentials(email="user@example.com", api_token="secret-token-123", pat=None)
    source = make_source(settings, credentials)
    with caplog.at_level(logging.WARNING):
        first = update_issues(settings, source, full=True)
    assert first.total == 3 and source.skipped_history_count == 2
    assert "2 change histories had no readable date" in caplog.text
    server.update_issue("PROJ-2", fields={"summary": "changed"})
    again = update_issues(settings, source)
    assert again.updated == 1 and again.total == 3
    cached = {issue["key"]: issue for issue in load_cached_issues().issues}
    assert [h["id"] for h in cached["PROJ-2"]["changelog"]["histories"]] == ["10002001", "10002002", "10002003"]
    frames = build_issue_frames(list(cached.values()), make_settings())
    assert len(frames.issues) == 3 and len(frames.transitions) == 9  # 3 status changes per issue


def test_real_cloud_sample_goes_through_the_client_unchanged_in_substance(jira_server_factory) -> None:
    issues = json.loads(SAMPLE.read_text(encoding="utf-8"))["issues"]
    server = jira_server_factory(mode="datacenter")
    page = {"startAt": 0, "maxResults": 50, "total": len(issues), "issues": issues}
    server.inject(200, 1, path_prefix=DC_SEARCH, body=page)
    client = client_for(server)
    result = client.search_issues(JQL, FIELDS)
    assert len(result) == 33 and client.skipped_history_count == 0
    for given, got in zip(issues, result, strict=True):
        assert len(got["changelog"]["histories"]) == len(given["changelog"]["histories"])
    # Oldest first after normalisation: every history's time is at or after the previous one.
    times = [jira_time_order(h["created"]) for h in result[0]["changelog"]["histories"]]
    assert times == sorted(times)


def jira_time_order(text: str) -> float:
    instant = parse_instant(text)
    assert instant is not None
    return instant
