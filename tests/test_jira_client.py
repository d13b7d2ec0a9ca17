"""The real Jira client over real HTTP against the test Jira server (``tests/jira_server``), both deployments.

Request counts are derived by hand in comments. The builders' issue ``PROJ-5`` of ``long_history_issues()``
has 250 histories; every 10th (n = 10, 20, …, 250: 25 of them) is an assignee change, the other 225 are
status changes. The server inlines the newest 40 (Cloud) or 100 (Data Center) histories.
"""

from __future__ import annotations

import email.utils
import logging
import pickle
import socket
import threading
import time
from datetime import UTC, datetime

import pytest

from data.sources.base import FetchCancelled
from data.sources.jira_changelogs import normalise_created
from data.sources.jira_client import JiraClient
from data.sources.jira_errors import JiraError
from data.sources.jira_http import RateLimiter
from tests.jira_server import fixtures as server_fixtures
from tests.jira_server.app import NO_SUCH_ISSUE, NOT_AUTHENTICATED, UNBOUNDED, JiraTestServer
from tests.jira_server.builders import CLOUD_MYSELF, make_issue, make_issues
from tests.jira_server.jql import JqlError, parse_jql
from tests.jira_server.store import epoch_ms

jira_server = server_fixtures.jira_server  # fixtures, bound here so pytest finds them in this module
jira_server_factory = server_fixtures.jira_server_factory

EMAIL, TOKEN, PAT = "user@example.com", "secret-token-123", "pat-xyz"
FIELDS = ["summary", "status", "created", "updated", "resolutiondate"]
JQL = "project = PROJ ORDER BY key ASC"
CLOUD_SEARCH, CLOUD_BULK = "/rest/api/3/search/jql", "/rest/api/3/changelog/bulkfetch"
CLOUD_COUNT, DC_SEARCH = "/rest/api/3/search/approximate-count", "/rest/api/2/search"


class SleepRecorder(list):
    """Stands in for ``time.sleep``: records each wait, waits for none."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client_for(server: JiraTestServer, deployment: str | None = None, **options) -> JiraClient:
    settings = {"email": EMAIL, "api_token": TOKEN, "pat": PAT, "requests_per_second": None, "timeout": 5.0,
                "backoff_base": 0.001, "backoff_cap": 0.002, "sleep": SleepRecorder(), **options}
    return JiraClient(server.url, deployment or server.app.mode, **settings)


def long_history_issues() -> list[dict]:
    return [*make_issues(4), make_issue(5, histories=250)]


def full_history(issue: dict) -> list[dict]:
    return issue["changelog"]["histories"][::-1]


def is_status(history: dict) -> bool:
    return any(item.get("field") == "status" for item in history["items"])


def history_number(history: dict) -> int:
    return int(history["id"]) % 1000


def comparable(histories: list[dict]) -> list[tuple]:
    """(id, instant, items) per history: bulkfetch's epoch-seconds ``created`` compares by instant."""
    return [(h["id"], epoch_ms(h["created"]), h["items"]) for h in histories]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def search_paths(server: JiraTestServer) -> list[str]:
    return [entry["path"] for entry in server.requests]


# ---------------------------------------------------------------------- pagination and request counts


def test_cloud_full_fetch_request_count_and_bulkfetch_completion(jira_server_factory) -> None:
    issues = long_history_issues()
    server = jira_server_factory(issues)
    client = client_for(server, page_size=2)
    result = client.search_issues(JQL, FIELDS)
    # 5 issues at 2 per page: 3 search pages; only PROJ-5 is truncated (250 > 40 inlined) and its 225 status
    # histories fit one bulkfetch page of 1000: 3 + 1 = 4 requests (no count call without a progress callback).
    assert client.request_count == 4
    assert search_paths(server) == [CLOUD_SEARCH] * 3 + [CLOUD_BULK]
    assert server.requests[-1]["json"] == {"issueIdsOrKeys": ["10005"], "fieldIds": ["status"], "maxResults": 1000}
    assert [issue["key"] for issue in result] == [f"PROJ-{n}" for n in range(1, 6)]
    assert set(result[0]["fields"]) == set(FIELDS)
    for given, got in zip(issues[:4], result[:4], strict=True):
        assert got["changelog"] == {"startAt": 0, "maxResults": 3, "total": 3, "histories": full_history(given)}
    # Every status change, plus the 40 newest histories inlined with all their items (n = 211..250, four of
    # them assignee changes): 225 + 4 = 229, oldest first.
    expected = [h for h in full_history(issues[4]) if is_status(h) or history_number(h) > 210]
    long_changelog = result[4]["changelog"]
    assert len(expected) == 229 and long_changelog["total"] == 229 == long_changelog["maxResults"]
    assert comparable(long_changelog["histories"]) == comparable(expected)
    assert all(isinstance(h["created"], str) and h["created"].endswith("+0000") for h in long_changelog["histories"])


def test_cloud_bulkfetch_follows_next_page_token(jira_server_factory) -> None:
    issues = long_history_issues()
    server = jira_server_factory(issues, bulkfetch_page_cap=100)
    client = client_for(server, page_size=2)
    result = client.search_issues(JQL, FIELDS)
    # 3 search pages + the 225 status histories at 100 per bulkfetch page (100, 100, 25): 3 + 3 = 6.
    assert client.request_count == 6
    assert search_paths(server) == [CLOUD_SEARCH] * 3 + [CLOUD_BULK] * 3
    status_only = [h for h in result[4]["changelog"]["histories"] if is_status(h)]
    assert comparable(status_only) == comparable([h for h in full_history(issues[4]) if is_status(h)])


@pytest.mark.parametrize("missing_status", [404, 405])
def test_cloud_falls_back_to_per_issue_changelog_without_bulkfetch(jira_server_factory, missing_status) -> None:
    issues = long_history_issues()
    server = jira_server_factory(issues, bulkfetch_status=missing_status)
    client = client_for(server, page_size=2)
    result = client.search_issues(JQL, FIELDS)
    # 3 search pages + 1 refused bulkfetch + 250 histories at 100 per page (100, 100, 50): 3 + 1 + 3 = 7.
    assert client.request_count == 7
    assert search_paths(server) == [CLOUD_SEARCH] * 3 + [CLOUD_BULK] + ["/rest/api/3/issue/PROJ-5/changelog"] * 3
    assert result[4]["changelog"]["histories"] == full_history(issues[4])
    assert result[4]["changelog"]["total"] == 250
    # The client remembers bulkfetch is missing: a second search goes straight to the per-issue pages (3 + 3).
    server.clear_requests()
    client.search_issues(JQL, FIELDS)
    assert CLOUD_BULK not in search_paths(server) and len(server.requests) == 6


def test_datacenter_full_fetch_uses_echoed_page_size_and_per_issue_changelogs(jira_server_factory) -> None:
    issues = long_history_issues()
    server = jira_server_factory(issues, mode="datacenter", page_cap=2)
    client = client_for(server, page_size=100)
    result = client.search_issues(JQL, FIELDS)
    # The server caps pages at 2 and echoes maxResults=2: startAt 0, 2, 4 = 3 pages; PROJ-5 (250 > 100 inlined)
    # needs 3 per-issue changelog pages: 3 + 3 = 6 requests.
    assert client.request_count == 6
    # Pages after the first are fetched concurrently, so they reach the server in either order.
    searches = sorted((entry for entry in server.requests if entry["path"] == DC_SEARCH),
                      key=lambda entry: int(entry["query"]["startAt"]))
    assert [entry["query"]["startAt"] for entry in searches] == ["0", "2", "4"]
    assert [entry["query"]["maxResults"] for entry in searches] == ["100", "2", "2"]
    assert all(entry["query"]["expand"] == "changelog" for entry in searches)
    assert [issue["key"] for issue in result] == [f"PROJ-{n}" for n in range(1, 6)]
    assert result[4]["changelog"] == {"startAt": 0, "maxResults": 250, "total": 250,
                                      "histories": full_history(issues[4])}


def test_datacenter_pages_fetched_concurrently_arrive_in_order(jira_server_factory) -> None:
    server = jira_server_factory(make_issues(25), mode="datacenter", page_cap=2)
    client = client_for(server, max_concurrency=4)
    result = client.search_issues(JQL, FIELDS)
    # 25 issues at 2 per page: ceil(25 / 2) = 13 pages, no truncated changelog.
    assert client.request_count == 13
    assert [issue["key"] for issue in result] == [f"PROJ-{n}" for n in range(1, 26)]
    assert sorted(int(e["query"]["startAt"]) for e in server.requests) == list(range(0, 25, 2))


@pytest.mark.parametrize("mode", ["cloud", "datacenter"])
def test_empty_result_is_one_request(jira_server_factory, mode) -> None:
    server = jira_server_factory(make_issues(3), mode=mode)
    client = client_for(server)
    assert client.search_issues("project = NONE", FIELDS) == []
    assert client.request_count == 1


@pytest.mark.parametrize("mode", ["cloud", "datacenter"])
def test_exactly_one_full_page_is_one_request(jira_server_factory, mode) -> None:
    server = jira_server_factory(make_issues(3), mode=mode)
    client = client_for(server, page_size=3)
    assert [issue["key"] for issue in client.search_issues(JQL, FIELDS)] == ["PROJ-1", "PROJ-2", "PROJ-3"]
    assert client.request_count == 1


def test_cloud_short_pages_are_not_taken_for_the_end(jira_server_factory) -> None:
    server = jira_server_factory(make_issues(7), page_sizes=[1, 3])
    client = client_for(server, page_size=50)
    result = client.search_issues(JQL, FIELDS)
    # Pages hold 1, 3, 1, 2 issues although 50 were asked for: 4 requests, all 7 issues.
    assert [issue["key"] for issue in result] == [f"PROJ-{n}" for n in range(1, 8)]
    assert client.request_count == 4
    assert [entry["json"]["maxResults"] for entry in server.requests] == [50] * 4
    assert "nextPageToken" not in server.requests[0]["json"]
    assert all(entry["json"]["nextPageToken"] for entry in server.requests[1:])


def test_datacenter_page_cap_smaller_than_asked(jira_server_factory) -> None:
    server = jira_server_factory(make_issues(10), mode="datacenter", page_cap=3)
    client = client_for(server, page_size=100, max_concurrency=1)
    result = client.search_issues(JQL, FIELDS)
    # Echoed maxResults 3: startAt 0, 3, 6, 9 = 4 pages.
    assert [issue["key"] for issue in result] == [f"PROJ-{n}" for n in range(1, 11)]
    assert [entry["query"]["startAt"] for entry in server.requests] == ["0", "3", "6", "9"]


def test_cloud_repeated_next_page_token_ends_the_listing(jira_server_factory) -> None:
    server = jira_server_factory(make_issues(9))
    stuck = {"issues": make_issues(2), "nextPageToken": "CAEaAggD", "isLast": False}
    server.inject(200, 2, path_prefix=CLOUD_SEARCH, body=stuck)
    client = client_for(server)
    result = client.search_issues(JQL, FIELDS)
    # Page 1 hands out token T, page 2 (asked with T) hands out T again: stop after 2 requests, not loop.
    assert client.request_count == 2
    assert server.requests[1]["json"]["nextPageToken"] == "CAEaAggD"
    assert [issue["key"] for issue in result] == ["PROJ-1", "PROJ-2"]  # the repeated page is de-duplicated


def test_datacenter_empty_page_stops_the_listing(jira_server_factory) -> None:
    server = jira_server_factory(make_issues(3), mode="datacenter", page_cap=2)
    # The first page claims 10 issues; Jira really holds 3 (e.g. deleted meanwhile).
    server.inject(200, 1, path_prefix=DC_SEARCH,
                  body={"startAt": 0, "maxResults": 2, "total": 10, "issues": make_issues(2)})
    client = client_for(server, max_concurrency=1)
    result = client.search_issues(JQL, FIELDS)
    # startAt 2 returns PROJ-3, startAt 4 is empty: no request for 6 or 8, so 3 requests.
    assert [issue["key"] for issue in result] == ["PROJ-1", "PROJ-2", "PROJ-3"]
    assert [entry["query"]["startAt"] for entry in server.requests] == ["0", "2", "4"]


def test_cloud_fields_default_to_id_and_star_all_gives_all(jira_server) -> None:
    client = client_for(jira_server)
    bare = client.search_issues(JQL, [])
    assert set(bare[0]) == {"id", "changelog"} and "fields" not in jira_server.requests[0]["json"]
    everything = client.search_issues(JQL, ["*all"])
    assert {"summary", "status", "labels", "customfield_10100"} <= set(everything[0]["fields"])


# ---------------------------------------------------------------------- changelog normal form


def test_inline_changelog_is_reordered_oldest_first_by_instant() -> None:
    issue = make_issue(1, histories=0)
    late_utc = {"id": "7", "created": "2025-01-15T10:00:00.000+0000", "items": []}       # 10:00 UTC
    early_plus8 = {"id": "9", "created": "2025-01-15T17:30:00.000+0800", "items": []}    # 09:30 UTC
    same_instant = {"id": "8", "created": "2025-01-15T10:00:00.000+0000", "items": []}   # tie: by id
    issue["changelog"] = {"startAt": 0, "maxResults": 3, "total": 3,
                          "histories": [late_utc, same_instant, early_plus8]}
    with JiraTestServer([issue]) as server:
        client = client_for(server)
        result = client.search_issues(JQL, FIELDS)
    assert [h["id"] for h in result[0]["changelog"]["histories"]] == ["9", "7", "8"]
    assert client.request_count == 1


def test_normalise_created_accepts_epoch_seconds_milliseconds_and_strings() -> None:
    # 1736935200 s = 2025-01-15 10:00:00 UTC (datetime(2025, 1, 15, 10, tzinfo=UTC).timestamp()).
    assert normalise_created(1736935200) == "2025-01-15T10:00:00.000+0000"
    assert normalise_created(1736935200123) == "2025-01-15T10:00:00.123+0000"
    assert normalise_created("1736935200") == "2025-01-15T10:00:00.000+0000"
    assert normalise_created("2025-01-15T18:00:00.000+0800") == "2025-01-15T18:00:00.000+0800"


def test_issue_gone_while_completing_its_changelog_is_left_out(jira_server_factory) -> None:
    server = jira_server_factory(long_history_issues(), mode="datacenter")
    server.inject(404, 1, path_prefix="/rest/api/2/issue/PROJ-5/changelog",
                  body={"errorMessages": [NO_SUCH_ISSUE], "errors": {}})
    result = client_for(server).search_issues(JQL, FIELDS)
    assert [issue["key"] for issue in result] == ["PROJ-1", "PROJ-2", "PROJ-3", "PROJ-4"]


# ---------------------------------------------------------------------- progress and cancel


@pytest.mark.parametrize("mode", ["cloud", "datacenter"])
def test_progress_reports_done_and_total(jira_server_factory, mode) -> None:
    server = jira_server_factory(make_issues(5), mode=mode)
    client = client_for(server, page_size=2, max_concurrency=1)
    calls: list[tuple[int, int | None]] = []
    client.search_issues(JQL, FIELDS, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(2, 5), (4, 5), (5, 5)]
    # Cloud: 3 pages + 1 approximate count (asked once the first page is not the last); Data Center: 3 pages.
    assert client.request_count == (4 if mode == "cloud" else 3)


def test_progress_on_a_single_page_asks_no_count(jira_server) -> None:
    client = client_for(jira_server)
    calls: list[tuple[int, int | None]] = []
    client.search_issues(JQL, FIELDS, progress=lambda done, total: calls.append((done, total)))
    # "Nothing changed" incremental updates are one small page: the total comes from it, not a second request.
    assert calls == [(5, 5)] and client.request_count == 1


def test_progress_total_unknown_when_count_fails(jira_server_factory) -> None:
    server = jira_server_factory(make_issues(5))
    server.inject(500, 10, path_prefix=CLOUD_COUNT)
    client = client_for(server, page_size=2, max_retries=1)
    calls: list[tuple[int, int | None]] = []
    result = client.search_issues(JQL, FIELDS, progress=lambda done, total: calls.append((done, total)))
    assert len(result) == 5
    assert calls == [(2, None), (4, None), (5, 5)]


def test_cancel_before_start_sends_nothing(jira_server) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(FetchCancelled):
        client_for(jira_server).search_issues(JQL, FIELDS, cancel=cancel)
    assert jira_server.requests == []


@pytest.mark.parametrize("mode", ["cloud", "datacenter"])
def test_cancel_stops_the_fetch_between_requests(jira_server_factory, mode) -> None:
    server = jira_server_factory(make_issues(9), mode=mode)
    cancel = threading.Event()
    with pytest.raises(FetchCancelled):
        client_for(server, page_size=2).search_issues(JQL, FIELDS, cancel=cancel,
                                                      progress=lambda done, total: cancel.set())
    # Cloud: first page, then the count (asked before the first progress call); Data Center: first page only.
    expected = [CLOUD_SEARCH, CLOUD_COUNT] if mode == "cloud" else [DC_SEARCH]
    assert search_paths(server) == expected


# ---------------------------------------------------------------------- retries


@pytest.mark.parametrize("retry_after", [0, 1])
def test_429_storm_honours_retry_after(jira_server, retry_after) -> None:
    jira_server.inject(429, 3, retry_after=retry_after)
    sleeps = SleepRecorder()
    client = client_for(jira_server, sleep=sleeps)
    result = client.search_issues(JQL, FIELDS)
    assert len(result) == 5
    assert sleeps == [retry_after] * 3
    assert client.request_count == 4  # three refused + one answered


def test_429_with_http_date_retry_after(jira_server) -> None:
    jira_server.inject(429, 1, retry_after=email.utils.formatdate(time.time() + 30, usegmt=True))
    sleeps = SleepRecorder()
    client = client_for(jira_server, sleep=sleeps)
    client.search_issues(JQL, FIELDS)
    # The date is 30 s ahead, truncated to the second; the backoff alone would wait at most 0.002 s.
    assert len(sleeps) == 1 and 25 < sleeps[0] <= 30


def test_retry_after_longer_than_allowed_fails_at_once(jira_server) -> None:
    jira_server.inject(429, 1, retry_after=3600)
    sleeps = SleepRecorder()
    client = client_for(jira_server, sleep=sleeps)
    with pytest.raises(JiraError) as caught:
        client.search_issues(JQL, FIELDS)
    assert caught.value.status == 429 and "3600" in caught.value.hint
    assert sleeps == [] and client.request_count == 1


def test_429_storm_beyond_max_retries_gives_rate_limit_error(jira_server) -> None:
    jira_server.inject(429, 10, retry_after=0)
    sleeps = SleepRecorder()
    client = client_for(jira_server, sleep=sleeps, max_retries=2)
    with pytest.raises(JiraError) as caught:
        client.search_issues(JQL, FIELDS)
    assert caught.value.status == 429
    assert "rate limiting" in caught.value.hint
    assert caught.value.jira_messages == ["Rate limit exceeded."]
    assert client.request_count == 3 and sleeps == [0, 0]


def test_503_without_retry_after_backs_off_exponentially_with_jitter(jira_server) -> None:
    jira_server.inject(503, 3)
    sleeps = SleepRecorder()
    client = client_for(jira_server, sleep=sleeps, backoff_base=1.0, backoff_cap=3.0)
    assert len(client.search_issues(JQL, FIELDS)) == 5
    # Full jitter: retry k waits uniform(0, min(cap, base * 2 ** (k - 1))) = bounds 1, 2, 3 (capped).
    assert len(sleeps) == 3
    assert all(0 <= waited <= bound for waited, bound in zip(sleeps, [1, 2, 3], strict=True))


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried(jira_server, status) -> None:
    jira_server.inject(status, 1)
    sleeps = SleepRecorder()
    client = client_for(jira_server, sleep=sleeps)
    assert len(client.search_issues(JQL, FIELDS)) == 5
    assert client.request_count == 2


def test_503_with_retry_after(jira_server) -> None:
    jira_server.inject(503, 2, retry_after=1)
    sleeps = SleepRecorder()
    client = client_for(jira_server, sleep=sleeps)
    client.search_issues(JQL, FIELDS)
    assert sleeps == [1, 1]


def test_timeout_then_success(jira_server) -> None:
    jira_server.inject(None, 1, delay=1.0)
    sleeps = SleepRecorder()
    client = client_for(jira_server, sleep=sleeps, timeout=0.25)
    assert len(client.search_issues(JQL, FIELDS)) == 5
    assert client.request_count == 2 and len(sleeps) == 1


def test_timeouts_beyond_retries_say_unreachable(jira_server) -> None:
    jira_server.inject(None, 2, delay=0.6)
    sleeps = SleepRecorder()
    client = client_for(jira_server, sleep=sleeps, timeout=0.2, max_retries=1)
    with pytest.raises(JiraError) as caught:
        client.search_issues(JQL, FIELDS)
    assert caught.value.status is None
    assert str(caught.value).startswith(f"Jira unreachable at {jira_server.url} (no answer within 0.2 s)")


def test_connection_refused_fails_at_once_without_retries() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    # The default time.sleep and the default 5 s backoff: a retry would show in the elapsed time.
    client = JiraClient(url, "cloud", email=EMAIL, api_token=TOKEN, max_retries=4, requests_per_second=None)
    started = time.monotonic()
    with pytest.raises(JiraError) as caught:
        client.search_issues(JQL, FIELDS)
    assert time.monotonic() - started < 1.0
    assert caught.value.status is None and caught.value.jira_messages == []
    assert str(caught.value).startswith(f"Jira unreachable at {url} (connection refused)")
    assert client.request_count == 1  # a refused connection does not heal in seconds: no retry


def test_unknown_host_fails_at_once_without_retries(monkeypatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)  # the name must be looked up here, not by a proxy
    sleeps = SleepRecorder()
    # ".invalid" never resolves (RFC 2606), so no name server can answer it.
    client = JiraClient("https://jira.example.invalid", "cloud", email=EMAIL, api_token=TOKEN, max_retries=4,
                        sleep=sleeps, requests_per_second=None)
    with pytest.raises(JiraError) as caught:
        client.test_connection()
    assert "host name not found" in str(caught.value)
    assert client.request_count == 1 and sleeps == []


def test_rate_limiter_spaces_calls() -> None:
    clock = [100.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock[0] += seconds

    limiter = RateLimiter(4.0, clock=lambda: clock[0], sleep=sleep)
    for _ in range(3):
        limiter.acquire()
    clock[0] += 10  # idle long enough: the next call goes at once
    limiter.acquire()
    assert waits == [0.25, 0.25]
    assert RateLimiter(None).acquire() == 0.0


# ---------------------------------------------------------------------- errors


def test_401_carries_jiras_message_and_a_hint(jira_server) -> None:
    client = client_for(jira_server, api_token="wrong-token-456")
    with pytest.raises(JiraError) as caught:
        client.search_issues(JQL, FIELDS)
    error = caught.value
    assert error.status == 401 and error.jira_messages == [NOT_AUTHENTICATED]
    assert "Check the email and API token" in error.hint
    assert str(error) == f"Jira said: {NOT_AUTHENTICATED} (HTTP 401). {error.hint}"
    assert client.request_count == 1  # never retried


def test_plain_text_401_on_test_connection(jira_server_factory) -> None:
    server = jira_server_factory(mode="datacenter", plain_text_401=True)
    with pytest.raises(JiraError) as caught:
        client_for(server, pat="wrong").test_connection()
    assert caught.value.status == 401 and caught.value.jira_messages == [NOT_AUTHENTICATED]
    assert "PAT" in caught.value.hint


def test_anonymous_search_returns_nothing_so_test_connection_uses_myself(jira_server_factory) -> None:
    server = jira_server_factory(make_issues(3), anonymous_search=True)
    client = client_for(server, api_token="wrong")
    assert client.search_issues(JQL, FIELDS) == []
    with pytest.raises(JiraError) as caught:
        client.test_connection()
    assert caught.value.status == 401


def test_bad_jql_surfaces_jiras_message(jira_server) -> None:
    client = client_for(jira_server)
    with pytest.raises(JiraError) as caught:
        client.search_issues("project = PROJ AND", FIELDS)
    assert caught.value.status == 400
    assert caught.value.jira_messages == [
        "Error in the JQL Query: Expecting a field name before the end of the query."]
    assert caught.value.hint.startswith("Check the JQL")
    assert client.request_count == 1


def test_unbounded_jql_is_refused_on_cloud(jira_server) -> None:
    with pytest.raises(JiraError) as caught:
        client_for(jira_server).search_issues("ORDER BY key", FIELDS)
    assert caught.value.status == 400 and caught.value.jira_messages == [UNBOUNDED]


def test_datacenter_client_on_cloud_gets_410_and_is_told_to_choose_cloud(jira_server) -> None:
    with pytest.raises(JiraError) as caught:
        client_for(jira_server, "datacenter").search_issues(JQL, FIELDS)
    assert caught.value.status == 410
    assert "choose Cloud" in caught.value.hint
    assert "/rest/api/3/search/jql" in caught.value.jira_messages[0]


def test_cloud_client_on_datacenter_gets_404_with_url_hint(jira_server_factory) -> None:
    server = jira_server_factory(make_issues(1), mode="datacenter")
    with pytest.raises(JiraError) as caught:
        client_for(server, "cloud").search_issues(JQL, FIELDS)
    assert caught.value.status == 404 and "check the Jira URL" in caught.value.hint


def test_403_with_denied_reason_mentions_captcha(jira_server) -> None:
    jira_server.inject(403, 1, headers={"X-Authentication-Denied-Reason": "CAPTCHA_CHALLENGE; login-url=/login"},
                       body="")
    with pytest.raises(JiraError) as caught:
        client_for(jira_server).test_connection()
    assert caught.value.status == 403
    assert "CAPTCHA_CHALLENGE" in caught.value.hint and "browser" in caught.value.hint


def test_html_instead_of_json_points_at_the_url(jira_server) -> None:
    jira_server.inject(200, 1, body="<html><head><title>Log in - Jira</title></head><body/></html>")
    with pytest.raises(JiraError) as caught:
        client_for(jira_server).search_issues(JQL, FIELDS)
    assert caught.value.jira_messages == ["an HTML page: Log in - Jira"]
    assert "not JSON" in caught.value.hint


def test_jira_error_survives_pickling() -> None:
    error = JiraError(401, ["nope"], "Check it.")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.status, copy.jira_messages, copy.hint, str(copy)) == (401, ["nope"], "Check it.", str(error))


def test_token_never_appears_in_errors_reprs_or_logs(jira_server_factory, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    server = jira_server_factory(make_issues(3))
    basic = "dXNlckBleGFtcGxlLmNvbTpzZWNyZXQtdG9rZW4tMTIz"  # base64 of user@example.com:secret-token-123
    server.inject(429, 1, retry_after=0)
    server.inject(400, 1, path_prefix="/rest/api/3/field",
                  body={"errorMessages": [f"token {TOKEN} rejected"], "errors": {"auth": f"Basic {basic}"}})
    client = client_for(server)
    errors: list[JiraError] = []
    client.search_issues(JQL, FIELDS)
    for call in (client.get_fields,
                 client_for(server, api_token="wrong-token-456").test_connection,
                 JiraClient(f"http://127.0.0.1:{closed_port()}", email=EMAIL, api_token=TOKEN,
                            max_retries=1, sleep=SleepRecorder()).test_connection):
        with pytest.raises(JiraError) as caught:
            call()
        errors.append(caught.value)
    assert "***" in str(errors[0])
    texts = [caplog.text, repr(client)] + [str(e) for e in errors] + [repr(e) for e in errors]
    for secret in (TOKEN, basic, "wrong-token-456"):
        assert all(secret not in text for text in texts)
    assert "DEBUG" in {record.levelname for record in caplog.records}
    assert any("POST /rest/api/3/search/jql -> 200" in record.getMessage() for record in caplog.records)
    assert any(record.getMessage().startswith("Jira search: 3 issues in 1 pages") for record in caplog.records)


# ---------------------------------------------------------------------- other calls


@pytest.mark.parametrize("mode", ["cloud", "datacenter"])
def test_list_issue_ids_and_count(jira_server_factory, mode) -> None:
    server = jira_server_factory(make_issues(4), mode=mode)
    client = client_for(server)
    assert client.list_issue_ids(JQL) == [(str(10000 + n), f"PROJ-{n}") for n in range(1, 5)]
    listing = server.requests[0]
    if mode == "cloud":
        assert listing["json"]["fields"] == ["id"] and "expand" not in listing["json"]
    else:
        assert listing["query"]["fields"] == "id" and "expand" not in listing["query"]
    assert client.count_issues(JQL) == 4


def test_incremental_window_and_deletions(jira_server_factory) -> None:
    server = jira_server_factory(make_issues(5))
    since = datetime(2026, 1, 1, tzinfo=UTC)
    server.update_issue("PROJ-2", fields={"summary": "changed"}, updated=since)
    server.delete_issue("PROJ-3")
    client = client_for(server)
    delta = client.search_issues(f"({JQL.split(' ORDER')[0]}) AND updated >= {int(since.timestamp() * 1000)}",
                                 FIELDS)
    assert [(issue["key"], issue["fields"]["summary"]) for issue in delta] == [("PROJ-2", "changed")]
    assert [key for _, key in client.list_issue_ids(JQL)] == ["PROJ-1", "PROJ-2", "PROJ-4", "PROJ-5"]
    quoted = client.search_issues('project = PROJ AND updated >= "2026/01/01"', FIELDS)
    assert [issue["key"] for issue in quoted] == ["PROJ-2"]


def test_get_fields_normalisation(jira_server) -> None:
    fields = {field["field_id"]: field for field in client_for(jira_server).get_fields()}
    assert fields["customfield_10100"] == {
        "field_id": "customfield_10100", "field_name": "Deployment Date", "field_type": "datetime",
        "items_type": None, "is_custom": True,
        "schema": {"type": "datetime", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:datetime",
                   "customId": 10100}}
    assert (fields["customfield_10102"]["field_type"], fields["customfield_10102"]["items_type"]) == ("array", "option")
    assert (fields["labels"]["field_type"], fields["labels"]["items_type"], fields["labels"]["is_custom"]) == \
        ("array", "string", False)
    assert fields["customfield_10105"]["field_type"] == "option-with-child"
    assert fields["customfield_10103"]["field_type"] == "date"
    assert fields["issuekey"]["field_type"] == "unknown" and fields["issuekey"]["schema"] == {}


@pytest.mark.parametrize(("mode", "account"), [("cloud", CLOUD_MYSELF["accountId"]),
                                               ("datacenter", "JIRAUSER10000")])
def test_test_connection_ok(jira_server_factory, mode, account) -> None:
    server = jira_server_factory(mode=mode, myself={"timeZone": "Asia/Shanghai"})
    assert client_for(server).test_connection() == {"display_name": "Test User", "time_zone": "Asia/Shanghai",
                                                    "account_id": account}
    assert server.requests[0]["path"] == f"/rest/api/{3 if mode == 'cloud' else 2}/myself"


def test_client_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="cloud"):
        JiraClient("https://x.atlassian.net", "server")
    with pytest.raises(ValueError, match="https://"):
        JiraClient("x.atlassian.net")
    assert JiraClient("https://me:pw@x.atlassian.net/").base_url == "https://x.atlassian.net"


# ---------------------------------------------------------------------- the test server's JQL subset


@pytest.mark.parametrize(("jql", "keys"), [
    ("project = PROJ", ["PROJ-1", "PROJ-2", "PROJ-3"]),
    ("project in (OTHER, proj) AND key in (PROJ-3, PROJ-1)", ["PROJ-1", "PROJ-3"]),
    ("project = PROJ ORDER BY key DESC", ["PROJ-3", "PROJ-2", "PROJ-1"]),
    ('project = PROJ AND created >= "2025-01-08 09:00"', ["PROJ-2", "PROJ-3"]),  # PROJ-n created Jan 6 + n days
    ("project = PROJ AND created < 2025/01/08", ["PROJ-1"]),
    ("project = PROJ AND NOT (status = Done OR key = PROJ-1)", ["PROJ-2", "PROJ-3"]),
    ("project = PROJ AND resolution IS EMPTY", ["PROJ-2", "PROJ-3"]),
    ("project = PROJ AND status in (Done, 'In Review') ORDER BY created DESC", ["PROJ-3", "PROJ-1"]),
])
def test_server_jql_subset(jql, keys) -> None:
    # Final statuses: PROJ-1 Done (3 histories), PROJ-2 In Progress (1), PROJ-3 In Review (2).
    issues = [make_issue(1, histories=3), make_issue(2, histories=1), make_issue(3, histories=2)]
    with JiraTestServer(issues) as server:
        got = [issue["key"] for issue in client_for(server).search_issues(jql, ["status"])]
    assert got == keys


@pytest.mark.parametrize(("jql", "message"), [
    ("projekt = PROJ", "Field 'projekt' does not exist or you do not have permission to view it."),
    ('project = "PROJ', "Error in the JQL Query: The quoted string 'PROJ' has not been completed."),
    ("project PROJ", "Error in the JQL Query: Expecting operator but got 'PROJ'."),
    ("updated >= yesterday", "Date value 'yesterday' for field 'updated' is invalid."),
])
def test_server_jql_errors_use_jiras_wording(jql, message) -> None:
    with pytest.raises(JqlError) as caught:
        parse_jql(jql)
    assert str(caught.value).startswith(message)
