"""The Jira client against a slow, lying or looping Jira: real HTTP on loopback against the test Jira server.

Deadlines in these tests are a fraction of a second so the suite stays fast; a dribbling answer sends one
byte every 50 ms, so a search page of a few kilobytes would take minutes to arrive in full.
"""

from __future__ import annotations

import logging
import threading
import time

import pytest

from data.sources.base import FetchCancelled
from data.sources.jira_client import JiraClient
from data.sources.jira_errors import JiraError
from tests.jira_server import fixtures as server_fixtures
from tests.jira_server.app import LYING_TOTAL
from tests.jira_server.builders import make_issue, make_issues
from tests.test_jira_client import (
    CLOUD_BULK,
    CLOUD_SEARCH,
    DC_SEARCH,
    FIELDS,
    JQL,
    SleepRecorder,
    client_for,
    full_history,
    search_paths,
)

jira_server = server_fixtures.jira_server  # fixtures, bound here so pytest finds them in this module
jira_server_factory = server_fixtures.jira_server_factory

DRIBBLE = 0.05  # seconds per byte


def elapsed_since(started: float) -> float:
    return time.monotonic() - started


# ---------------------------------------------------------------------- a Jira that dribbles its answers


def test_dribbling_answer_is_ended_at_the_request_deadline(jira_server) -> None:
    jira_server.inject(None, 5, path_prefix=CLOUD_SEARCH, dribble=DRIBBLE)
    client = client_for(jira_server, timeout=1.0, request_deadline=0.5)
    started = time.monotonic()
    with pytest.raises(JiraError) as caught:
        client.search_issues(JQL, FIELDS)
    # Each byte comes well within the 1 s read timeout, so only the 0.5 s total deadline can end it.
    assert elapsed_since(started) < 1.5
    assert "answering too slowly" in str(caught.value) and "0.5 s" in str(caught.value)
    assert client.request_count == 1  # a server this slow is not asked again


def test_fetch_budget_ends_a_dribbling_fetch(jira_server) -> None:
    jira_server.inject(None, 5, path_prefix=CLOUD_SEARCH, dribble=DRIBBLE)
    client = client_for(jira_server, timeout=1.0, request_deadline=30.0, fetch_budget=0.6)
    started = time.monotonic()
    with pytest.raises(JiraError) as caught:
        client.search_issues(JQL, FIELDS)
    assert elapsed_since(started) < 1.6
    assert "time budget" in str(caught.value) and "jira.fetch_budget_seconds" in str(caught.value)


def test_fetch_budget_covers_every_request_of_a_fetch(jira_server_factory) -> None:
    server = jira_server_factory(make_issues(6))
    # Each of the 3 pages (2 issues each) arrives 0.6 s late: the 1 s budget ends the fetch on page 2.
    server.inject(None, 3, path_prefix=CLOUD_SEARCH, delay=0.6)
    client = client_for(server, page_size=2, fetch_budget=1.0, timeout=3.0)
    with pytest.raises(JiraError) as caught:
        client.search_issues(JQL, FIELDS)
    assert "time budget" in caught.value.hint
    assert client.request_count == 2


def test_cancel_ends_a_fetch_mid_request(jira_server) -> None:
    jira_server.inject(None, 5, path_prefix=CLOUD_SEARCH, dribble=DRIBBLE)
    client = client_for(jira_server, timeout=5.0)  # request deadline 15 s: only cancel can end it soon
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(FetchCancelled, match="cancelled"):
        client.search_issues(JQL, FIELDS, cancel=cancel)
    assert elapsed_since(started) < 1.0


def test_cancel_ends_a_retry_wait_at_once(jira_server) -> None:
    jira_server.inject(429, 1, retry_after=30)
    # The real sleep (no recorder): the 30 s Retry-After wait must end when cancel is set.
    client = JiraClient(jira_server.url, "cloud", email="user@example.com", api_token="secret-token-123",
                        requests_per_second=None)
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(FetchCancelled, match="cancelled"):
        client.search_issues(JQL, FIELDS, cancel=cancel)
    assert elapsed_since(started) < 1.0 and client.request_count == 1


def test_test_connection_answers_within_the_timeout_against_a_dribbling_jira(jira_server) -> None:
    jira_server.inject(None, 5, path_prefix="/rest/api/3/myself", dribble=DRIBBLE)
    client = client_for(jira_server, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(JiraError) as caught:
        client.test_connection()
    assert elapsed_since(started) < 1.5
    assert "answering too slowly" in str(caught.value)


def test_a_slow_but_finishing_answer_within_the_deadline_is_read(jira_server_factory) -> None:
    server = jira_server_factory(make_issues(1))
    server.inject(200, 1, path_prefix=CLOUD_SEARCH, body={"issues": [], "isLast": True}, dribble=0.01)
    # The body {"issues":[],"isLast":true} is 27 bytes: about 0.3 s at 10 ms a byte, within the 3 s deadline.
    client = client_for(server, timeout=1.0)
    assert client.search_issues(JQL, FIELDS) == []


# ---------------------------------------------------------------------- retries: fast failure, budget, progress


def test_retry_after_120_fails_at_once_with_the_default_budget(jira_server) -> None:
    jira_server.inject(429, 4, retry_after=120)
    sleeps = SleepRecorder()
    client = JiraClient(jira_server.url, "cloud", email="user@example.com", api_token="secret-token-123",
                        requests_per_second=None, sleep=sleeps)
    with pytest.raises(JiraError) as caught:
        client.search_issues(JQL, FIELDS)
    # 120 s is more than the 60 s a fetch may wait in total: no wait at all, one request.
    assert sleeps == [] and client.request_count == 1
    assert caught.value.status == 429
    assert "rate limiting" in caught.value.hint and "120 s" in caught.value.hint and "60 s" in caught.value.hint


def test_retry_waits_share_one_budget_per_fetch(jira_server_factory) -> None:
    server = jira_server_factory(make_issues(6))
    for _ in range(3):  # every page is refused once with Retry-After 25, then answered
        server.inject(429, 1, retry_after=25, path_prefix=CLOUD_SEARCH)
        server.inject(None, 1, path_prefix=CLOUD_SEARCH)
    sleeps = SleepRecorder()
    client = client_for(server, page_size=2, sleep=sleeps)
    with pytest.raises(JiraError) as caught:
        client.search_issues(JQL, FIELDS)
    # Budget 60 s: page 1 waits 25 (35 left), page 2 waits 25 (10 left), page 3 would need 25: refused.
    # Requests: 429 + page 1, 429 + page 2, 429 = 5.
    assert sleeps == [25, 25] and client.request_count == 5
    assert caught.value.status == 429 and "10 s" in caught.value.hint
    # The next fetch has a budget of its own.
    server.inject(429, 1, retry_after=25, path_prefix=CLOUD_SEARCH)
    assert len(client.search_issues(JQL, FIELDS)) == 6 and sleeps[2:] == [25]


def test_backoff_waits_are_clipped_to_the_budget(jira_server) -> None:
    jira_server.inject(503, 10)
    sleeps = SleepRecorder()
    client = client_for(jira_server, sleep=sleeps, backoff_base=20.0, backoff_cap=40.0, max_retries=10,
                        retry_wait_budget=1.0)
    with pytest.raises(JiraError) as caught:
        client.search_issues(JQL, FIELDS)
    assert caught.value.status == 503 and "server problem" in caught.value.hint
    assert sum(sleeps) <= 1.0 + 1e-9


def test_on_retry_reports_each_retry(jira_server) -> None:
    jira_server.inject(429, 2, retry_after=5)
    messages: list[str] = []
    client = client_for(jira_server, on_retry=messages.append)
    assert len(client.search_issues(JQL, FIELDS)) == 5
    assert messages == ["Jira busy (HTTP 429), retry 1 of 4 in 5 s", "Jira busy (HTTP 429), retry 2 of 4 in 5 s"]


def test_on_retry_set_later_and_a_failing_callback_do_not_break_the_fetch(jira_server, caplog) -> None:
    jira_server.inject(503, 1, retry_after=1)
    client = client_for(jira_server)

    def broken(message: str) -> None:
        raise RuntimeError("display gone")

    client.on_retry = broken
    with caplog.at_level(logging.ERROR):
        assert len(client.search_issues(JQL, FIELDS)) == 5
    assert "retry progress callback failed" in caplog.text


# ---------------------------------------------------------------------- loops a misbehaving server would make endless


def test_endless_changelog_pages_stop_at_the_announced_total(jira_server_factory) -> None:
    issues = [*make_issues(2), make_issue(3, histories=250)]
    server = jira_server_factory(issues, mode="datacenter", quirks={"changelog_endless"})
    client = client_for(server)
    result = client.search_issues(JQL, FIELDS)
    # PROJ-3 announces 250 histories (100 inlined): pages of 100 until 250 are held: 100, 200, 300 = 3 pages,
    # plus the one search page: 4 requests. The 300 fetched histories are kept as Jira sent them.
    assert client.request_count == 4
    assert [e["path"] for e in server.requests].count("/rest/api/2/issue/PROJ-3/changelog") == 3
    assert result[2]["changelog"]["total"] == 300


def test_endless_changelog_pages_stop_at_the_page_cap_when_the_total_lies(jira_server_factory) -> None:
    server = jira_server_factory([make_issue(1, histories=150)], mode="datacenter",
                                 quirks={"changelog_endless", "inline_total_lies"})
    client = client_for(server)
    result = client.search_issues(JQL, FIELDS)
    # The search claims 1,000,000 histories: capped at 10,000 per issue = 100 pages of 100, + 1 search.
    assert LYING_TOTAL == 1_000_000
    assert client.request_count == 101
    assert result[0]["changelog"]["total"] == 10_000


def test_repeated_changelog_page_ends_the_paging(jira_server_factory, caplog) -> None:
    issues = [make_issue(1, histories=250)]
    server = jira_server_factory(issues, mode="datacenter", quirks={"changelog_repeats"})
    client = client_for(server)
    with caplog.at_level(logging.WARNING):
        result = client.search_issues(JQL, FIELDS)
    # Page 2 repeats page 1 (startAt ignored, no total or isLast): 1 search + 2 changelog pages.
    assert client.request_count == 3
    assert result[0]["changelog"]["histories"] == full_history(issues[0])[:100]
    assert "repeated" in caplog.text


def test_datacenter_search_without_total_stops_on_a_repeated_page(jira_server_factory) -> None:
    server = jira_server_factory(make_issues(5), mode="datacenter", page_cap=2,
                                 quirks={"search_no_total", "search_ignores_start"})
    client = client_for(server, max_concurrency=1)
    result = client.search_issues(JQL, FIELDS)
    # startAt 0 gives PROJ-1, PROJ-2; startAt 2 gives them again: nothing new, so 2 requests.
    assert [issue["key"] for issue in result] == ["PROJ-1", "PROJ-2"]
    assert search_paths(server) == [DC_SEARCH] * 2


def test_datacenter_search_without_total_reads_to_the_empty_page(jira_server_factory) -> None:
    server = jira_server_factory(make_issues(5), mode="datacenter", page_cap=2, quirks={"search_no_total"})
    client = client_for(server, max_concurrency=1)
    result = client.search_issues(JQL, FIELDS)
    # startAt 0, 2, 4 hold 2 + 2 + 1 issues; startAt 6 is empty: 4 requests.
    assert [issue["key"] for issue in result] == [f"PROJ-{n}" for n in range(1, 6)]
    assert client.request_count == 4


def test_cloud_search_with_endless_tokens_stops(jira_server_factory) -> None:
    server = jira_server_factory(make_issues(5), quirks={"search_endless_tokens"})
    client = client_for(server, page_size=2)
    result = client.search_issues(JQL, FIELDS)
    # Every page is PROJ-1, PROJ-2 with a fresh token: page 1 is new, then 3 pages without a new issue.
    assert [issue["key"] for issue in result] == ["PROJ-1", "PROJ-2"]
    assert client.request_count == 4


def test_bulkfetch_with_endless_tokens_stops(jira_server_factory) -> None:
    server = jira_server_factory([make_issue(1, histories=250)], bulkfetch_page_cap=100,
                                 quirks={"bulkfetch_endless"})
    client = client_for(server)
    result = client.search_issues(JQL, FIELDS)
    # Bulkfetch page 1 (100 status histories) comes back with a new token forever; page 2 brings nothing new.
    assert search_paths(server) == [CLOUD_SEARCH, CLOUD_BULK, CLOUD_BULK]
    assert len(result) == 1 and result[0]["changelog"]["total"] > 40


def test_silent_jira_on_test_connection_says_no_answer(jira_server) -> None:
    jira_server.inject(None, 1, path_prefix="/rest/api/3/myself", delay=1.5)
    client = client_for(jira_server, timeout=0.4, max_retries=0)
    started = time.monotonic()
    with pytest.raises(JiraError) as caught:
        client.test_connection()
    # Not one byte within the 0.4 s timeout, which is also the call's whole deadline: "no answer".
    assert elapsed_since(started) < 1.0
    assert str(caught.value).startswith(f"Jira unreachable at {jira_server.url} (no answer within 0.4 s)")
