"""The test Azure DevOps server itself: its answers agree with Microsoft's published schema
(``/work/shared/ado-openapi/``) and it has the quirks ``ADO_API.md`` lists, so client tests against it mean
something. Expected values are derived by hand from the builders (see ``tests/ado_server/builders.py``).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.ado_server import fixtures as ado_fixtures
from tests.ado_server.app import AdoTestServer
from tests.ado_server.builders import PROJECT, make_work_item, make_work_items
from tests.ado_server.store import CLEARED, ado_time, parse_ado_time

ado_server_factory = ado_fixtures.ado_server_factory
ado_server = ado_fixtures.ado_server

SCHEMA_FILE = Path("/work/shared/ado-openapi/azure-devops-wit-7.1-subset.json")
WIT = f"/contoso/{PROJECT}/_apis/wit"


def call(server: AdoTestServer, method: str, path: str, *, params: dict | None = None, body: Any = None,
         pat: str | None = None, user: str = "") -> requests.Response:
    secret = server.pat if pat is None else pat
    basic = base64.b64encode(f"{user}:{secret}".encode()).decode()
    return requests.request(method, server.url + path, params={"api-version": "7.1", **(params or {})}, json=body,
                            headers={"Authorization": f"Basic {basic}"}, allow_redirects=False, timeout=10)


def wiql(server: AdoTestServer, query: str, **params: Any) -> requests.Response:
    return call(server, "POST", f"{WIT}/wiql", params=params, body={"query": query})


def ids_of(response: requests.Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["workItems"]]


# ---------------------------------------------------------------------- schema


class SchemaChecker:
    """Checks that every property an answer has exists in Microsoft's schema, with the right JSON type.

    Strict on names (an object's keys must be declared properties, unless it declares
    ``additionalProperties``); a declared ``type: object`` without properties (Azure DevOps' "any value")
    accepts anything."""

    def __init__(self) -> None:
        self.document = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))

    def resolve(self, schema: dict) -> dict:
        while "$ref" in schema:
            schema = self.document["definitions"][schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def properties(self, schema: dict) -> dict:
        schema = self.resolve(schema)
        merged = dict(schema.get("properties") or {})
        for part in schema.get("allOf") or []:
            merged.update(self.properties(part))
        return merged

    def check(self, value: Any, schema: dict, where: str = "$") -> None:
        schema = self.resolve(schema)
        kind = schema.get("type")
        if schema.get("format") == "T":
            return  # a generic item (StreamedBatch<T>.values): checked by the caller against its real type
        if kind == "array":
            assert isinstance(value, list), f"{where}: expected an array, got {value!r}"
            for n, item in enumerate(value):
                self.check(item, schema.get("items") or {}, f"{where}[{n}]")
        elif kind == "object" or "allOf" in schema or "properties" in schema:
            properties = self.properties(schema)
            extra = schema.get("additionalProperties")
            if not properties and extra is None:
                return  # "object": any value
            assert isinstance(value, dict), f"{where}: expected an object, got {value!r}"
            for key, item in value.items():
                if key in properties:
                    self.check(item, properties[key], f"{where}.{key}")
                else:
                    assert extra is not None, f"{where}: {key!r} is not in the schema"
                    self.check(item, extra, f"{where}.{key}")
        elif kind == "string":
            assert isinstance(value, str), f"{where}: expected a string, got {value!r}"
            if schema.get("format") == "date-time":
                assert parse_ado_time(value) is not None, f"{where}: not a date-time: {value!r}"
            if "enum" in schema:
                assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
        elif kind == "integer":
            assert isinstance(value, int) and not isinstance(value, bool), f"{where}: expected an integer"
        elif kind == "boolean":
            assert isinstance(value, bool), f"{where}: expected a boolean"
        elif "enum" in schema:
            assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"

    def response(self, path: str, method: str) -> dict:
        return self.document["paths"][path][method]["responses"]["200"]["schema"]


@pytest.fixture(scope="module")
def schema() -> SchemaChecker:
    return SchemaChecker()


def listed(answer: dict) -> list:
    """Azure DevOps wraps the arrays its schema declares in ``{"count", "value"}``."""
    assert set(answer) == {"count", "value"} and answer["count"] == len(answer["value"])
    return answer["value"]


def test_answers_agree_with_the_published_schema(ado_server_factory, schema: SchemaChecker) -> None:
    items = make_work_items(6, revisions=6)
    server = ado_server_factory(items)
    server.move_work_item(2, project="Other")
    org = "/{organization}/{project}/_apis/wit"

    fields = listed(call(server, "GET", f"{WIT}/fields").json())
    schema.check(fields, schema.response(f"{org}/fields", "get"))

    answer = wiql(server, "SELECT [System.Id], [System.Title] FROM WorkItems WHERE [System.TeamProject] = "
                          "@project ORDER BY [System.ChangedDate] DESC").json()
    schema.check(answer, schema.response("/{organization}/{project}/{team}/_apis/wit/wiql", "post"))
    assert answer["workItems"]

    batch = listed(call(server, "POST", f"{WIT}/workitemsbatch", body={"ids": [1, 3, 4]}).json())
    schema.check(batch, schema.response(f"{org}/workitemsbatch", "post"))

    updates = listed(call(server, "GET", f"{WIT}/workItems/1/updates").json())
    schema.check(updates, schema.response(f"{org}/workItems/{{id}}/updates", "get"))

    revisions = call(server, "GET", f"{WIT}/reporting/workitemrevisions", params={"$maxPageSize": 5}).json()
    schema.check(revisions, schema.response(f"{org}/reporting/workitemrevisions", "get"))
    for value in revisions["values"]:  # "values" items are declared generically: check them as work items
        schema.check(value, {"$ref": "#/definitions/WorkItem"})


# ---------------------------------------------------------------------- WIQL


def test_more_than_the_cap_is_refused_unless_top_bounds_the_answer(ado_server_factory) -> None:
    server = ado_server_factory(make_work_items(12, revisions=2), wiql_cap=10)
    query = f"SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = '{PROJECT}' ORDER BY [System.Id]"
    refused = wiql(server, query)
    assert refused.status_code == 400 and "VS402337" in refused.json()["message"]
    assert "size limit of 10" in refused.json()["message"]
    assert ids_of(wiql(server, query, **{"$top": 10})) == list(range(1, 11))
    assert ids_of(wiql(server, query.replace("ORDER", "AND [System.Id] > 10 ORDER"), **{"$top": 10})) == [11, 12]
    assert wiql(server, query, **{"$top": 11}).status_code == 400  # $top above the cap does not bound it


def test_a_time_of_day_needs_time_precision(ado_server_factory) -> None:
    server = ado_server_factory(make_work_items(4, revisions=1, vary=False))  # created 10:00 … 13:00 on Jan 6
    with_time = "SELECT [System.Id] FROM WorkItems WHERE [System.ChangedDate] >= '2025-01-06T11:30:00Z'"
    refused = wiql(server, with_time)
    assert refused.status_code == 400 and "timePrecision" in refused.json()["message"]
    assert ids_of(wiql(server, with_time, timePrecision="true")) == [3, 4]
    date_only = "SELECT [System.Id] FROM WorkItems WHERE [System.ChangedDate] >= '2025-01-06'"
    assert ids_of(wiql(server, date_only)) == [1, 2, 3, 4]


def test_wiql_subset(ado_server_factory) -> None:
    # builders: area = AREAS[id % 4] (0 Payments, 1 Mobile, 2 Fabrikam, 3 Payments\Cards), type = TYPES[id % 3]
    # (0 User Story, 1 Bug, 2 Task); 1 revision each, so every state is New.
    items = make_work_items(12, revisions=1, vary=False)
    items.append(make_work_item(13, revisions=1, project="Other", area="Other\\Payments"))
    server = ado_server_factory(items)
    select = "SELECT [System.Id] FROM WorkItems WHERE "
    assert ids_of(wiql(server, select + "[System.AreaPath] UNDER 'fabrikam\\payments'")) == [3, 4, 7, 8, 11, 12]
    assert ids_of(wiql(server, select + "[System.WorkItemType] IN ('Bug', 'Task') AND [System.Id] > 8")) == [
        10, 11, 13]  # 13 is a Bug of project Other
    assert ids_of(wiql(server, select + "[System.WorkItemType] = 'Bug' OR ([System.AreaPath] = 'Fabrikam' "
                                        "AND NOT [System.Id] > 6)")) == [1, 2, 4, 6, 7, 10, 13]
    assert ids_of(wiql(server, select + "[System.State] <> 'New'")) == []
    # the project in the URL does not bound a query: item 13 of project Other matches without a condition
    assert ids_of(wiql(server, select + "[System.Id] > 11")) == [12, 13]
    assert ids_of(wiql(server, select + "[System.TeamProject] = @project AND [System.Id] > 11")) == [12]
    assert ids_of(wiql(server, select + "[System.Id] > 8 ORDER BY [System.Id] DESC", **{"$top": 2})) == [13, 12]
    quoted = make_work_item(20, revisions=1, area="Fabrikam\\O'Brien")
    server.add_work_item(quoted)
    assert ids_of(wiql(server, select + "[System.AreaPath] UNDER 'Fabrikam\\O''Brien'")) == [20]
    unknown = wiql(server, select + "[Custom.Nope] = 1")
    assert unknown.status_code == 400 and "TF51005" in unknown.json()["message"]


# ---------------------------------------------------------------------- work items and revisions


def test_batch_selects_fields_and_leaves_unset_ones_out(ado_server_factory) -> None:
    # item 1 (4 revisions): New → Active (rev 2), title edit (rev 3), Resolved (rev 4): never closed.
    server = ado_server_factory(make_work_items(3, revisions=4, vary=False))
    server.delete_work_item(3)
    wanted = ["System.State", "Microsoft.VSTS.Common.ClosedDate", "System.CreatedBy"]
    value = listed(call(server, "POST", f"{WIT}/workitemsbatch", body={"ids": [1, 2], "fields": wanted}).json())
    assert [item["id"] for item in value] == [1, 2] and value[0]["rev"] == 4
    assert set(value[0]["fields"]) == {"System.State", "System.CreatedBy"}
    assert value[0]["fields"]["System.State"] == "Resolved"
    assert value[0]["fields"]["System.CreatedBy"]["displayName"] == "Dev Two"
    too_many = call(server, "POST", f"{WIT}/workitemsbatch", body={"ids": list(range(1, 202))})
    assert too_many.status_code == 400 and "200" in too_many.json()["message"]
    gone = call(server, "POST", f"{WIT}/workitemsbatch", body={"ids": [1, 3]})
    assert gone.status_code == 404 and "TF401232" in gone.json()["message"]
    omitted = call(server, "POST", f"{WIT}/workitemsbatch", body={"ids": [1, 3], "errorPolicy": "omit"}).json()
    assert omitted["value"][1] is None
    unknown = call(server, "POST", f"{WIT}/workitemsbatch", body={"ids": [1], "fields": ["Custom.Nope"]})
    assert unknown.status_code == 400 and "TF51535" in unknown.json()["message"]


def test_updates_carry_only_changed_fields_and_page(ado_server_factory) -> None:
    # 9 revisions: states New, Active(2), edit(3), Resolved(4), Closed(5), edit(6), Active(7), Resolved(8), edit(9)
    server = ado_server_factory([make_work_item(1, revisions=9)])
    updates = listed(call(server, "GET", f"{WIT}/workItems/1/updates").json())
    assert [u["rev"] for u in updates] == list(range(1, 10))
    assert updates[0]["fields"]["System.State"] == {"newValue": "New"}
    assert updates[1]["fields"]["System.State"] == {"oldValue": "New", "newValue": "Active"}
    assert "System.State" not in updates[2]["fields"] and "System.Title" in updates[2]["fields"]
    closed = updates[4]["fields"]["Microsoft.VSTS.Common.ClosedDate"]
    assert closed == {"newValue": updates[4]["fields"]["System.ChangedDate"]["newValue"]}
    assert updates[6]["fields"]["Microsoft.VSTS.Common.ClosedDate"] == {"oldValue": closed["newValue"]}  # cleared
    # revisedDate is when the revision was superseded: the next one's ChangedDate; 9999 for the last
    assert updates[0]["revisedDate"] == updates[1]["fields"]["System.ChangedDate"]["newValue"]
    assert updates[-1]["revisedDate"].startswith("9999-01-01")
    page = listed(call(server, "GET", f"{WIT}/workItems/1/updates", params={"$top": 4, "$skip": 4}).json())
    assert [u["rev"] for u in page] == [5, 6, 7, 8]
    assert call(server, "GET", f"{WIT}/workItems/99/updates").status_code == 404


def test_revision_stream_pages_and_filters(ado_server_factory) -> None:
    # 3 items × 3 revisions = 9 revisions; item 3 moves to project Other (its 4th revision counts there)
    server = ado_server_factory(make_work_items(3, revisions=3, vary=False))
    server.move_work_item(3, project="Other", changed=datetime(2025, 3, 1, tzinfo=UTC))
    seen: list[tuple[int, int]] = []
    params: dict[str, Any] = {"$maxPageSize": 4, "fields": "System.State,System.ChangedDate"}
    pages = 0
    while True:
        answer = call(server, "GET", f"{WIT}/reporting/workitemrevisions", params=params).json()
        pages += 1
        seen += [(value["id"], value["rev"]) for value in answer["values"]]
        assert all(set(value["fields"]) <= {"System.State", "System.ChangedDate"} for value in answer["values"])
        if answer["isLastBatch"]:
            break
        params["continuationToken"] = answer["continuationToken"]
    assert sorted(seen) == [(i, r) for i in (1, 2, 3) for r in (1, 2, 3)] and pages == 3  # 4 + 4 + 1(+skipped)
    changed = [parse_ado_time(v["fields"]["System.ChangedDate"]) for v in
               call(server, "GET", f"{WIT}/reporting/workitemrevisions").json()["values"]]
    assert changed == sorted(changed)  # oldest first across items
    later = call(server, "GET", f"{WIT}/reporting/workitemrevisions",
                 params={"startDateTime": "2025-01-06T20:00:00Z"}).json()["values"]
    assert all(parse_ado_time(v["fields"]["System.ChangedDate"]) >= datetime(2025, 1, 6, 20, tzinfo=UTC)
               for v in later) and 0 < len(later) < 9
    as_text = call(server, "GET", f"{WIT}/reporting/workitemrevisions").json()["values"][0]["fields"]
    assert isinstance(as_text["System.CreatedBy"], str) and "<" in as_text["System.CreatedBy"]
    server.delete_work_item(1)
    remaining = call(server, "GET", f"{WIT}/reporting/workitemrevisions").json()["values"]
    assert {value["id"] for value in remaining} == {2, 3}


# ---------------------------------------------------------------------- credentials, throttling, redirects


def test_wrong_pat_is_401_or_a_203_sign_in_page(ado_server_factory) -> None:
    server = ado_server_factory(make_work_items(1))
    assert call(server, "GET", f"{WIT}/fields", pat="wrong").status_code == 401
    assert call(server, "GET", f"{WIT}/fields", user="anyone").status_code == 200  # any user name with the PAT
    assert server.requests[-1]["auth_user"] == "anyone" and server.requests[-2]["auth_user"] is None
    signing = ado_server_factory(make_work_items(1), bad_auth="203")
    page = call(signing, "GET", f"{WIT}/fields", pat="wrong")
    assert page.status_code == 203 and page.headers["Content-Type"].startswith("text/html")
    assert "Sign In" in page.text
    missing = call(server, "GET", f"{WIT}/fields", params={"api-version": ""})
    assert missing.status_code == 400 and "api-version" in missing.json()["message"]


def test_injections_throttle_redirect_and_count(ado_server_factory) -> None:
    server = ado_server_factory(make_work_items(2), rate_limit_headers=True)
    server.inject(429, 1, retry_after=3)
    throttled = call(server, "GET", f"{WIT}/fields")
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "3"
    assert "X-RateLimit-Limit" in throttled.headers
    server.inject(None, 1, headers={"Retry-After": "2"})
    delayed = call(server, "GET", f"{WIT}/fields")
    assert delayed.status_code == 200 and delayed.headers["Retry-After"] == "2"
    server.redirect("http://elsewhere.example:8080")
    moved = call(server, "GET", f"{WIT}/workItems/1/updates", params={"$top": 5})
    assert moved.status_code == 302
    assert moved.headers["Location"] == f"http://elsewhere.example:8080{WIT}/workItems/1/updates?api-version=7.1&%24top=5"
    assert server.count("fields") == 2 and server.count("updates") == 1 and server.count() == 3


def test_builders_are_deterministic_and_write_dates_both_ways() -> None:
    first, again = make_work_items(30, revisions=10), make_work_items(30, revisions=10)
    assert first == again
    dates = [revision["System.ChangedDate"] for item in first for revision in item["revisions"]]
    assert any("." not in date for date in dates) and any("." in date for date in dates)
    assert all(date.endswith("Z") for date in dates)
    assert ado_time(datetime(2025, 6, 18, 15, 30, 0, 120000, tzinfo=UTC)) == "2025-06-18T15:30:00.12Z"
    assert sum(len(item["revisions"]) for item in first) == 300  # 9, 10, 11 revisions in turn: 10 on average
    reopened = make_work_item(1, revisions=7)["revisions"]
    assert reopened[4]["System.State"] == "Closed" and reopened[6]["Microsoft.VSTS.Common.ClosedDate"] is CLEARED
