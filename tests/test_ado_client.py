"""The Azure DevOps client over real HTTP against the test Azure DevOps server (``tests/ado_server``).

Expected histories come from an independent slow walk of the server's own revision list (``expected_histories``:
full field sets per revision, compared state by state), never from the client's routes. Request counts are
derived by hand in comments.
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from configuration.settings import merge_with_defaults
from data.metrics.field_values import parse_jira_time
from data.metrics.issue_frame import build_issue_frames
from data.metrics.periods import Period
from data.services.metrics_service import calculate_all_metrics
from data.sources.ado_client import AzureDevOpsClient, wiql
from data.sources.ado_errors import AzureDevOpsError
from data.sources.base import FetchCancelled
from data.store.issue_cache import BASE_FIELDS
from tests.ado_server import fixtures as ado_fixtures
from tests.ado_server.app import AdoTestServer
from tests.ado_server.builders import PROJECT, make_work_item, make_work_items
from tests.ado_server.store import ado_time, parse_ado_time

ado_server_factory = ado_fixtures.ado_server_factory

FIELDS = [*BASE_FIELDS, "area_path"]
PAYMENTS = "[System.AreaPath] UNDER 'Fabrikam\\Payments'"
SCHEMA_FILE = Path("/work/shared/ado-openapi/azure-devops-wit-7.1-subset.json")


class SleepRecorder(list):
    """Stands in for ``time.sleep``: records each wait, waits for none."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client_for(server: AdoTestServer, **options: Any) -> AzureDevOpsClient:
    settings: dict[str, Any] = {"pat": server.pat, "requests_per_second": 0, "timeout": 5.0,
                                "sleep": SleepRecorder(), "backoff_base": 0.001, **options}
    return AzureDevOpsClient(server.organization_url, server.project, **settings)


def in_scope(server: AdoTestServer, area: str | None = "Fabrikam\\Payments") -> list:
    """The server's items of the project (and under ``area``), by the server's own latest fields."""
    items = []
    for item in server.store.items():
        fields = item.latest
        path = fields["System.AreaPath"].lower()
        if fields["System.TeamProject"] == PROJECT and (
                area is None or path == area.lower() or path.startswith(area.lower() + "\\")):
            items.append(item)
    return items


def expected_histories(item) -> list[tuple[str, str, str]]:
    """(changed date, from, to) of every revision whose full field set has another state than the one before."""
    result, previous = [], None
    for _, fields in item.revisions():
        state = fields["System.State"]
        if previous is not None and state != previous:
            result.append((fields["System.ChangedDate"], previous, state))
        previous = state
    return result


def got_histories(issue: dict) -> list[tuple[str, str, str]]:
    return [(h["created"], h["items"][0]["fromString"], h["items"][0]["toString"])
            for h in issue["changelog"]["histories"]]


def assert_matches_server(issues: list[dict], expected_items: list) -> None:
    assert [issue["id"] for issue in issues] == [str(item.id) for item in expected_items]
    for issue, item in zip(issues, expected_items, strict=True):
        assert issue["key"] == str(item.id)
        assert got_histories(issue) == expected_histories(item), item.id
        assert issue["fields"]["status"] == {"name": item.latest["System.State"]}
        assert issue["fields"]["updated"] == item.latest["System.ChangedDate"]
        assert issue["fields"]["resolutiondate"] == item.latest.get("Microsoft.VSTS.Common.ClosedDate")
        assert issue["fields"]["area_path"] == item.latest["System.AreaPath"]
        assert "resolution" not in issue["fields"]


# ---------------------------------------------------------------------- full fetch, paging and histories


@pytest.mark.parametrize("route", ["updates", "reporting", "auto"])
def test_full_fetch_above_the_cap_pages_by_id_with_right_histories(ado_server_factory, route: str) -> None:
    items = make_work_items(240, revisions=6)
    items += [make_work_item(n, revisions=3, project="Other", area="Other\\Payments") for n in range(241, 246)]
    server = ado_server_factory(items, wiql_cap=50)
    client = client_for(server, page_size=50, history_route=route)
    issues = client.search_issues(PAYMENTS, FIELDS)
    expected = in_scope(server)
    # ids 1..240 with id % 4 in (0, 3) are under Fabrikam\Payments: 120 items; project Other's are not
    assert len(expected) == 120
    assert_matches_server(issues, expected)
    wiql_requests = [r for r in server.requests if r["endpoint"] == "wiql"]
    assert len(wiql_requests) == 3  # 50 + 50 + 20 listed
    assert all(r["query"]["$top"] == "50" for r in wiql_requests)
    batches = [r["json"]["ids"] for r in server.requests if r["endpoint"] == "workitemsbatch"]
    assert [len(batch) for batch in batches] == [120]  # one chunk: at most 200 a request
    history = client.last_history_requests
    if route == "updates":
        assert history == {"updates": 120, "reporting": 0}  # one page each (≤ 200 revisions)
    else:  # auto: 120 items per item would cost 120 > 50 requests, so in bulk: the project's revisions from the
        # earliest creation in scope (item 3's, less a second) on, 1,000 a page, counted on the server's own data
        start = parse_ado_time(server.store.get(3).latest["System.CreatedDate"]) - timedelta(seconds=1)
        stream = [fields for item in server.store.items() for _, fields in item.revisions()
                  if fields["System.TeamProject"] == PROJECT and parse_ado_time(fields["System.ChangedDate"]) >= start]
        assert 1000 < len(stream) <= 2000
        assert history == {"updates": 0, "reporting": 2}
    assert client.request_count == 3 + 1 + sum(history.values())


def test_the_server_limit_is_followed_when_lower_than_the_page_size(ado_server_factory) -> None:
    server = ado_server_factory(make_work_items(30, revisions=2), wiql_cap=12)
    client = client_for(server)  # page_size 20,000
    ids = client.list_issue_ids("")
    assert ids == [(str(n), str(n)) for n in range(1, 31)]
    # 1 refused (VS402337 names the limit of 12), then pages of 12: 12 + 12 + 6
    assert [r["status"] for r in server.requests] == [400, 200, 200, 200]
    assert [r["query"]["$top"] for r in server.requests] == ["20000", "12", "12", "12"]


def test_a_full_fetch_at_the_real_20000_cap(ado_server_factory) -> None:
    server = ado_server_factory(make_work_items(20_001, revisions=2, vary=False))
    client = client_for(server)
    issues = client.search_issues("", FIELDS)
    assert len(issues) == 20_001 and issues[-1]["key"] == "20001"
    wiql_requests = [r for r in server.requests if r["endpoint"] == "wiql"]
    assert [r["status"] for r in wiql_requests] == [200, 200]  # 20,000 then 1: never VS402337
    assert "[System.Id] > 20000" in wiql_requests[1]["json"]["query"]
    # 40,002 revisions from the first creation on at 1,000 a page: 41 pages; 20,001 ids at 200 a batch: 101
    assert client.last_history_requests == {"updates": 0, "reporting": 41}
    assert server.count("workitemsbatch") == 101 and client.request_count == 2 + 101 + 41
    every_state_change = [got_histories(issue) for issue in issues[::997]]
    assert every_state_change == [expected_histories(server.store.get(int(issue["id"]))) for issue in issues[::997]]


def test_moved_in_items_are_completed_per_item(ado_server_factory) -> None:
    # item 9 started in project Other: its first revisions are not in Fabrikam's revision stream
    items = make_work_items(60, revisions=5, area="Fabrikam\\Payments")
    items[8] = make_work_item(9, revisions=5, project="Other", area="Other\\Payments")
    server = ado_server_factory(items)
    server.move_work_item(9, project=PROJECT, area_path="Fabrikam\\Payments", changed=datetime(2025, 2, 1, tzinfo=UTC))
    client = client_for(server, history_route="reporting")
    issues = client.search_issues(PAYMENTS, FIELDS)
    assert_matches_server(issues, in_scope(server))
    assert client.last_history_requests == {"updates": 1, "reporting": 1}
    assert [r["path"].rsplit("/", 2)[1] for r in server.requests if r["endpoint"] == "updates"] == ["9"]


@pytest.mark.parametrize("status", [404, 403])
def test_a_server_without_the_bulk_revisions_is_read_per_item(ado_server_factory, status: int) -> None:
    # an older server (404) or a token scope without reporting (403): the bulk route is refused once and every
    # history comes from the per-item updates instead, complete
    server = ado_server_factory(make_work_items(60, revisions=5))
    server.inject(status, 1, path_prefix=f"/contoso/{PROJECT}/_apis/wit/reporting")
    client = client_for(server, history_route="reporting")
    issues = client.search_issues("", FIELDS)
    assert_matches_server(issues, in_scope(server, None))
    assert client.last_history_requests == {"updates": 60, "reporting": 1}


def test_bulk_pages_after_the_first_carry_the_continuation_token_alone(ado_server_factory) -> None:
    # startDateTime "cannot be used in conjunction with" the watermark the continuation token is
    server = ado_server_factory(make_work_items(60, revisions=5), revisions_page_cap=50)
    client = client_for(server, history_route="reporting")
    issues = client.search_issues("", FIELDS)
    assert_matches_server(issues, in_scope(server, None))
    pages = [r["query"] for r in server.requests if r["endpoint"] == "revisions"]
    assert len(pages) > 2
    assert "startDateTime" in pages[0] and "continuationToken" not in pages[0]
    assert all("continuationToken" in page and "startDateTime" not in page for page in pages[1:])


def test_a_filter_with_a_time_of_day_is_sent_with_time_precision(ado_server_factory) -> None:
    # Azure DevOps refuses a time of day in a WIQL date literal unless timePrecision=true (on a full fetch too)
    server = ado_server_factory(make_work_items(12, revisions=2))
    ids = client_for(server).list_issue_ids("[System.CreatedDate] >= '2025-01-06T15:00:00Z'")
    # the builders create item n at 2025-01-06 09:00 + n hours: items 6..12 are created at 15:00 or later
    assert [int(item_id) for item_id, _ in ids] == list(range(6, 13))
    assert all(r["query"].get("timePrecision") == "true" for r in server.requests if r["endpoint"] == "wiql")


def test_a_long_history_pages_the_updates(ado_server_factory) -> None:
    server = ado_server_factory([make_work_item(1, revisions=450), make_work_item(2, revisions=200)])
    client = client_for(server, history_route="updates")
    issues = client.search_issues("", FIELDS)
    assert_matches_server(issues, in_scope(server, None))
    # item 1: 450 revisions at 200 a page = 3 requests; item 2: exactly 200, known from its rev = 1 request
    pages = [(r["path"].rsplit("/", 2)[1], r["query"]["$skip"]) for r in server.requests if r["endpoint"] == "updates"]
    assert pages == [("1", "0"), ("1", "200"), ("1", "400"), ("2", "0")]


def test_non_ascii_states_and_dates_without_fraction(ado_server_factory) -> None:
    states = ("Nouveau", "En cours", "Résolu", "Fermé", "進行中")
    server = ado_server_factory([make_work_item(n, revisions=8, states=states) for n in range(1, 5)])
    issues = client_for(server).search_issues("", FIELDS)
    assert_matches_server(issues, in_scope(server, None))
    created = [h["created"] for issue in issues for h in issue["changelog"]["histories"]]
    assert any("." not in text for text in created) and any("." in text for text in created)
    assert all(parse_jira_time(text) == parse_ado_time(text) for text in created)
    assert {h[2] for issue in issues for h in got_histories(issue)} >= {"Résolu", "進行中"}


def test_fields_are_named_as_jira_names_them(ado_server_factory) -> None:
    item = make_work_item(1, revisions=5, extra_fields={"Custom.DeploymentDate": "2025-02-01T10:00:00Z",
                                                        "Custom.Environment": "Production"})
    server = ado_server_factory([item])
    [issue] = client_for(server).search_issues("", [*FIELDS, "Custom.DeploymentDate", "Custom.Environment",
                                                    "System.AssignedTo", "Microsoft.VSTS.Scheduling.StoryPoints"])
    fields = issue["fields"]
    assert fields["summary"] == "Work item 1 (edit 3)" and fields["issuetype"] == {"name": "Bug"}
    assert fields["project"] == {"key": PROJECT, "name": PROJECT}
    assert fields["created"] == "2025-01-06T10:00:00Z" and fields["resolutiondate"] == fields["updated"]
    assert fields["Custom.DeploymentDate"] == "2025-02-01T10:00:00Z" and fields["Custom.Environment"] == "Production"
    assert fields["System.AssignedTo"] == {"displayName": "Dev One", "name": "Dev One"}  # set in revision 3
    assert fields["Microsoft.VSTS.Scheduling.StoryPoints"] is None  # never set: absent in Azure DevOps
    asked = next(r["json"]["fields"] for r in server.requests if r["endpoint"] == "workitemsbatch")
    assert "Microsoft.VSTS.Common.ClosedDate" in asked and "System.AreaPath" in asked and "resolution" not in asked


# ---------------------------------------------------------------------- incremental and reconcile


def test_incremental_picks_up_a_change_with_few_requests(ado_server_factory) -> None:
    now = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    server = ado_server_factory(make_work_items(300, revisions=6), now=now.timestamp)
    client = client_for(server)
    before = client.search_issues(PAYMENTS, FIELDS)
    server.change_work_item(4, {"System.State": "Zurückgestellt"}, changed=now - timedelta(minutes=1))
    server.change_work_item(5, {"System.State": "Active"}, changed=now)  # Mobile: not in the filter
    server.clear_requests()
    since = now - timedelta(minutes=10, milliseconds=500)
    changed = client.changed_since(PAYMENTS, since, FIELDS)
    assert [issue["id"] for issue in changed] == ["4"]
    assert got_histories(changed[0]) == expected_histories(server.store.get(4))
    assert got_histories(changed[0])[-1][2] == "Zurückgestellt"
    # 1 WIQL + 1 batch + 1 updates page: the per-item route (1 request ≤ 50) instead of a project scan
    assert [r["endpoint"] for r in server.requests] == ["wiql", "workitemsbatch", "updates"]
    listing = server.requests[0]
    assert listing["query"]["timePrecision"] == "true"
    assert "[System.ChangedDate] >= '2025-06-01T11:49:59.500Z'" in listing["json"]["query"]
    assert len(before) == 150


def test_deleted_and_moved_items_vanish_from_the_listing(ado_server_factory) -> None:
    server = ado_server_factory(make_work_items(20, revisions=3))
    client = client_for(server)
    first = [key for _, key in client.list_issue_ids(PAYMENTS)]
    assert first == ["3", "4", "7", "8", "11", "12", "15", "16", "19", "20"]
    server.delete_work_item(4)
    server.move_work_item(7, project="Other")
    server.move_work_item(8, area_path="Fabrikam\\Mobile")
    assert [key for _, key in client.list_issue_ids(PAYMENTS)] == ["3", "11", "12", "15", "16", "19", "20"]
    fetched = client.fetch_listed(PAYMENTS, ["3", "4", "11"], FIELDS)  # 4 is gone: left out
    assert [issue["key"] for issue in fetched] == ["3", "11"]


def test_project_name_and_filter_are_quoted_and_scoped() -> None:
    query = wiql("O'Reilly Ops", "[System.State] <> 'Done'", after_id=7)
    assert query == ("SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = 'O''Reilly Ops' AND "
                     "([System.State] <> 'Done') AND [System.Id] > 7 ORDER BY [System.Id]")


def test_a_filter_with_order_by_or_bad_wiql_is_a_clear_error(ado_server_factory) -> None:
    server = ado_server_factory(make_work_items(3))
    client = client_for(server)
    with pytest.raises(AzureDevOpsError, match="WHERE condition only"):
        client.search_issues("[System.Id] > 0 ORDER BY [System.Title]", FIELDS)
    with pytest.raises(AzureDevOpsError) as caught:
        client.search_issues("[System.Nope] = 1", FIELDS)
    assert "TF51005" in str(caught.value) and "WIQL filter" in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("escape", [
    "[System.Id] > 0) OR ([System.Id] > 0",  # closes the dashboard's parenthesis: OR would drop the project
    "[System.Id] > 0) OR [System.TeamProject] = 'Other' OR ([System.Id] > 0",
    "([System.Id] > 0",
    "[System.Title] = 'unclosed",
])
def test_a_filter_that_would_escape_the_project_is_refused_before_anything_is_sent(ado_server_factory,
                                                                                    escape: str) -> None:
    server = ado_server_factory(make_work_items(3))
    with pytest.raises(AzureDevOpsError, match="WIQL filter") as caught:
        client_for(server).search_issues(escape, FIELDS)
    assert "\n" not in str(caught.value)
    assert server.requests == []


def test_quotes_and_brackets_inside_literals_are_text(ado_server_factory) -> None:
    items = make_work_items(4)
    server = ado_server_factory(items)
    # ORDER BY and an unpaired parenthesis inside a string literal are the title searched for, not syntax
    for scope in ("[System.Title] CONTAINS 'order by'", "[System.Title] <> 'a ) b'",
                  "([System.Title] <> 'it''s (') AND [System.Id] > 0"):
        client_for(server).list_issue_ids(scope)
    assert [request["status"] for request in server.requests] == [200, 200, 200]


def test_another_projects_work_items_never_enter_the_result(ado_server_factory) -> None:
    items = make_work_items(5) + [make_work_item(n, revisions=3, project="Other", area="Other") for n in (6, 7)]
    server = ado_server_factory(items)
    client = client_for(server)
    issues = client.fetch_listed("", ["1", "6", "7"], FIELDS)  # ids of another project asked for directly
    assert [issue["id"] for issue in issues] == ["1"]
    assert client.warnings and "2 work items of other projects" in client.warnings[0]


# ---------------------------------------------------------------------- throttling, failures, credentials


def test_a_429_storm_is_waited_out_as_asked(ado_server_factory) -> None:
    server = ado_server_factory(make_work_items(8, revisions=3), rate_limit_headers=True)
    messages: list[str] = []
    waits = SleepRecorder()
    client = client_for(server, on_retry=messages.append, sleep=waits)
    server.inject(429, 3, retry_after=2, path_prefix="/contoso/Fabrikam/_apis/wit/wiql")
    issues = client.search_issues("", FIELDS)
    assert len(issues) == 8
    assert waits == [2, 2, 2]
    assert messages == [f"Azure DevOps busy (HTTP 429), retry {n} of 4 in 2 s" for n in (1, 2, 3)]
    server.inject(429, 5, retry_after=1)
    with pytest.raises(AzureDevOpsError, match=r"throttling.*still refused after 4 retries"):
        client.list_issue_ids("")


def test_503_is_retried_and_retry_after_on_success_slows_down(ado_server_factory) -> None:
    server = ado_server_factory(make_work_items(4, revisions=2))
    waits = SleepRecorder()
    client = client_for(server, sleep=waits)
    server.inject(503, 2)
    assert len(client.list_issue_ids("")) == 4
    assert len(waits) == 2 and server.count("wiql") == 3  # two backoffs (no Retry-After), then the answer
    server.inject(None, 1, headers={"Retry-After": "3"})  # answered, but "slow down"
    client.list_issue_ids("")
    assert len(waits) == 2
    client.list_issue_ids("")
    assert waits[2:] == [3]  # the request after it waited 3 s first
    server.inject(None, 1, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Delay": "1.5"})  # used up
    client.list_issue_ids("")
    client.list_issue_ids("")
    assert waits[3:] == [1.5]


@pytest.mark.parametrize("bad_auth", ["401", "203"])
def test_a_refused_token_is_never_data(ado_server_factory, bad_auth: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server = ado_server_factory(make_work_items(3), bad_auth=bad_auth)
    client = client_for(server, pat="wrong-token-abcdef")
    with pytest.raises(AzureDevOpsError) as caught:
        client.search_issues("", FIELDS)
    message = str(caught.value)
    assert message.startswith("Azure DevOps did not accept the personal access token")
    assert "AZURE_DEVOPS_PAT" in message and "Work Items: Read" in message and f"HTTP {bad_auth}" in message
    assert "wrong-token-abcdef" not in message + repr(caught.value) + repr(client)
    with pytest.raises(AzureDevOpsError, match="did not accept the personal access token"):
        client.test_connection()
    basic = base64.b64encode(b":wrong-token-abcdef").decode()
    assert caplog.records and not any(secret in caplog.text for secret in ("wrong-token-abcdef", basic))


def test_an_answer_that_is_not_json_is_never_data(ado_server_factory) -> None:
    server = ado_server_factory(make_work_items(3))
    server.inject(200, 1, body="{not json", content_type="application/json")
    with pytest.raises(AzureDevOpsError, match=r"answered with something that is not JSON"):
        client_for(server).list_issue_ids("")


def test_a_redirect_to_another_host_never_carries_the_token(ado_server_factory) -> None:
    server = ado_server_factory(make_work_items(3))
    elsewhere = ado_server_factory(make_work_items(3))
    server.redirect(elsewhere.url)
    client = client_for(server)
    with pytest.raises(AzureDevOpsError, match="redirected the request to another site"):
        client.list_issue_ids("")
    assert elsewhere.requests == []
    server.redirect(server.url)  # the same origin: followed
    assert len(client.list_issue_ids("")) == 3
    assert [r["status"] for r in server.requests[-2:]] == [302, 200]


def test_requests_carry_only_the_pat_as_basic_and_match_the_schema(ado_server_factory) -> None:
    server = ado_server_factory(make_work_items(80, revisions=4))
    client = client_for(server)
    client.test_connection()
    client.get_fields()
    client.search_issues("", FIELDS)
    client_for(server, history_route="updates").changed_since("", datetime(2025, 1, 1, tzinfo=UTC), FIELDS)
    document = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    operations = {"fields": ("/{organization}/{project}/_apis/wit/fields", "get"),
                  "wiql": ("/{organization}/{project}/{team}/_apis/wit/wiql", "post"),
                  "workitemsbatch": ("/{organization}/{project}/_apis/wit/workitemsbatch", "post"),
                  "updates": ("/{organization}/{project}/_apis/wit/workItems/{id}/updates", "get"),
                  "revisions": ("/{organization}/{project}/_apis/wit/reporting/workitemrevisions", "get")}
    bodies = {"wiql": "Wiql", "workitemsbatch": "WorkItemBatchGetRequest"}
    seen = set()
    for entry in server.requests:
        assert entry["auth_user"] == "" and entry["status"] == 200
        assert not any("token" in name.lower() for name in entry["query"])
        seen.add(entry["endpoint"])
        if entry["endpoint"] == "project":
            continue
        path, method = operations[entry["endpoint"]]
        declared = {p.get("name") or document["parameters"][p["$ref"].rsplit("/", 1)[1]]["name"]
                    for p in document["paths"][path][method]["parameters"]}
        assert set(entry["query"]) <= declared, entry
        if entry["endpoint"] in bodies:
            assert set(entry["json"]) <= set(document["definitions"][bodies[entry["endpoint"]]]["properties"])
    assert seen == {"project", "fields", "wiql", "workitemsbatch", "updates", "revisions"}


def test_cancel_stops_the_fetch(ado_server_factory) -> None:
    server = ado_server_factory(make_work_items(450, revisions=2))
    client = client_for(server, history_route="updates")
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(FetchCancelled):
        client.search_issues("", FIELDS, cancel=cancel)
    assert server.requests == []
    cancel.clear()

    def progress(done: int, total: int | None) -> None:
        if done >= 200:
            cancel.set()

    with pytest.raises(FetchCancelled):
        client.search_issues("", FIELDS, progress=progress, cancel=cancel)
    assert server.count("workitemsbatch") == 1 and server.count("updates") == 0


def test_fields_and_connection(ado_server_factory) -> None:
    server = ado_server_factory(make_work_items(1))
    client = client_for(server)
    assert client.test_connection() == {"display_name": PROJECT, "time_zone": None,
                                        "account_id": "6ce954b1-ce1f-45d1-b94d-e6bf2464ba2c"}
    records = {record["field_id"]: record for record in client.get_fields()}
    expected_types = {"System.ChangedDate": "datetime", "Microsoft.VSTS.Common.Priority": "number",
                      "Microsoft.VSTS.Scheduling.StoryPoints": "number", "System.Title": "string",
                      "System.Description": "string", "System.AreaPath": "string", "Custom.Environment": "option",
                      "Custom.Severity": "number", "Custom.IsIncident": "boolean", "System.AssignedTo": "user"}
    assert {name: records[name]["field_type"] for name in expected_types} == expected_types
    assert records["Custom.DeploymentDate"]["field_name"] == "Deployment Date"
    assert records["Custom.DeploymentDate"]["is_custom"] and not records["System.Title"]["is_custom"]
    assert records["area_path"] == {"field_id": "area_path", "field_name": "Area Path", "field_type": "string",
                                    "items_type": None, "is_custom": False,
                                    "schema": {"type": "string", "system": "area_path"}}


# ---------------------------------------------------------------------- the metrics are the same


def jira_rendering(item, fields: list[str]) -> dict:
    """The oracle: the item as Jira would give it, written straight from the server's revision list (histories
    newest first in Jira's ``+0000`` time format, as a Jira search inlines them)."""
    revisions = list(item.revisions())
    latest = revisions[-1][1]
    histories = []
    for (_, before), (number, after) in itertools.pairwise(revisions):
        if after["System.State"] != before["System.State"]:
            moment = parse_ado_time(after["System.ChangedDate"])
            histories.append({"id": str(item.id * 100 + number),
                              "created": moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000",
                              "items": [{"field": "status", "fieldtype": "jira", "fromString": before["System.State"],
                                         "toString": after["System.State"]}]})
    rendered = {"summary": latest["System.Title"], "status": {"name": latest["System.State"]},
                "issuetype": {"name": latest["System.WorkItemType"]}, "project": {"key": latest["System.TeamProject"]},
                "created": latest["System.CreatedDate"], "updated": latest["System.ChangedDate"],
                "resolutiondate": latest.get("Microsoft.VSTS.Common.ClosedDate"),
                "area_path": latest["System.AreaPath"]}
    rendered.update({name: latest.get(name) for name in fields if name.startswith("Custom.")})
    return {"id": str(item.id), "key": str(item.id), "fields": rendered,
            "changelog": {"histories": histories[::-1]}}


def test_metrics_from_azure_devops_equal_those_of_the_jira_shaped_oracle(ado_server_factory) -> None:
    items = make_work_items(160, revisions=9)
    for n in range(161, 181):  # deployments, every second one to production
        deployed = datetime(2025, 1, 8, tzinfo=UTC) + timedelta(hours=13 * n - 2000)
        items.append(make_work_item(n, revisions=4, work_item_type="Deployment", extra_fields={
            "Custom.DeploymentDate": ado_time(deployed), "Custom.Environment": "Production" if n % 2 else "Staging"}))
    server = ado_server_factory(items)
    settings_partial = {"dora_flow_config": {
        "field_mappings": {"dora": {"deployment_date": "Custom.DeploymentDate",
                                    "target_environment": "Custom.Environment"},
                           "flow": {"flow_item_type": None}},
        "team_field": "area_path", "wip_statuses": ["Active", "Resolved"], "active_statuses": ["Active"],
        "completed_statuses": ["Closed"], "production_environment_values": ["Production"],
        "deployment_issue_types": ["Deployment"], "incident_issue_types": ["Bug"],
        "flow_type_mappings": {"Feature": ["User Story"], "Defect": ["Bug"], "Technical_Debt": ["Task"]}}}
    settings = merge_with_defaults(settings_partial)
    fields = [*BASE_FIELDS, "Custom.DeploymentDate", "Custom.Environment", "area_path"]
    issues = client_for(server).search_issues("", fields)
    oracle = [jira_rendering(item, fields) for item in in_scope(server, None)]
    period, now = Period(date(2025, 1, 1), date(2025, 1, 31)), datetime(2025, 2, 1, tzinfo=UTC)
    ours = calculate_all_metrics(build_issue_frames(issues, settings), settings, period, now, snapshots={})
    theirs = calculate_all_metrics(build_issue_frames(oracle, settings), settings, period, now, snapshots={})
    assert ours == theirs
    assert sum(1 for value in ours.values() if value.get("value") is not None) >= 5  # numbers, not all empty
