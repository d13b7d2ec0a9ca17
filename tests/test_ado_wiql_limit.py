"""The WIQL size limit an Azure DevOps server names in a VS402337 refusal is learnt once: later listings of the
same client, and of later clients for the same organization and project in this process, page by it without
being refused again. Request sequences are derived by hand in comments."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from data.sources.ado_client import AzureDevOpsClient, forget_wiql_size_limits
from data.store.issue_cache import BASE_FIELDS
from tests.ado_server import AdoTestServer
from tests.ado_server.builders import make_work_items
from tests.ado_server.fixtures import AdoServerFactory, ado_server_factory  # noqa: F401  (fixture, by name)


@pytest.fixture(autouse=True)
def no_learnt_limits() -> Iterator[None]:
    forget_wiql_size_limits()
    yield
    forget_wiql_size_limits()


def _client(server: AdoTestServer) -> AzureDevOpsClient:
    return AzureDevOpsClient(server.organization_url, server.project, pat=server.pat, requests_per_second=0)


def _wiql_answers(server: AdoTestServer) -> list[tuple[int, str]]:
    answers = [(r["status"], r["query"]["$top"]) for r in server.requests if r["endpoint"] == "wiql"]
    server.clear_requests()
    return answers


def test_the_size_limit_is_learnt_once_per_organization_and_project(
        ado_server_factory: AdoServerFactory) -> None:  # noqa: F811
    server = ado_server_factory(make_work_items(30, revisions=2), wiql_cap=12)
    first = _client(server)
    assert len(first.list_issue_ids("")) == 30
    # refused at $top 20,000 (the limit of 12 is named), then 12 + 12 + 6
    assert _wiql_answers(server) == [(400, "20000"), (200, "12"), (200, "12"), (200, "12")]
    assert len(first.search_issues("", list(BASE_FIELDS))) == 30
    assert _wiql_answers(server) == [(200, "12")] * 3  # the same client
    later = _client(server)  # the next update's client
    assert len(later.list_issue_ids("")) == 30
    assert _wiql_answers(server) == [(200, "12")] * 3
    elsewhere = ado_server_factory(make_work_items(30, revisions=2))  # another organization URL (port)
    assert len(_client(elsewhere).list_issue_ids("")) == 30
    assert _wiql_answers(elsewhere) == [(200, "20000")]  # nothing learnt there: one page of all 30
