"""Update Data from Azure DevOps: the one update engine (full, incremental, reconcile) over the Azure DevOps
client, against the test Azure DevOps server on loopback. The engine is the Jira one: these tests prove that a
second source needs no copy of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from configuration.settings import merge_with_defaults
from data.services.data_update import update_issues
from data.sources.ado_client import AzureDevOpsClient
from data.sources.ado_errors import AzureDevOpsError
from data.store.issue_cache import load_cached_issues, load_fetch_meta
from tests.ado_server import AdoTestServer
from tests.ado_server.builders import make_work_items
from tests.ado_server.fixtures import ado_server_factory  # noqa: F401  (a fixture, used by name)

PAYMENTS = "[System.AreaPath] UNDER 'Fabrikam\\Payments'"


def client_for(server: AdoTestServer, *, pat: str | None = None) -> AzureDevOpsClient:
    """A real client with no rate limit and instant retry waits (the server answers on loopback)."""
    return AzureDevOpsClient(server.organization_url, server.project, pat=pat or server.pat,
                             requests_per_second=0, max_retries=2, sleep=lambda _seconds: None)


def settings_for(server: AdoTestServer, wiql_filter: str = "") -> dict[str, Any]:
    return merge_with_defaults({"source": "azure_devops",
                                "azure_devops": {"organization_url": server.organization_url,
                                                 "project": server.project, "wiql_filter": wiql_filter}})


def cache_bytes(data_dir: Path) -> dict[str, bytes]:
    return {name: (data_dir / "cache" / name).read_bytes() for name in ("issues.json", "fetch_meta.json")}


def cached_by_id() -> dict[str, dict]:
    cached = load_cached_issues()
    assert cached is not None
    return {issue["id"]: issue for issue in cached.issues}


def status_path(issue: dict) -> list[str]:
    """The statuses an issue went through, oldest first: the first transition's from, then every to."""
    items = [item for history in issue["changelog"]["histories"] for item in history["items"]
             if item["field"] == "status"]
    return [items[0]["fromString"], *(item["toString"] for item in items)] if items else []


def test_a_full_fetch_caches_every_matching_work_item_as_an_issue(ado_server_factory, isolated_data_dir) -> None:  # noqa: F811
    # 12 items; the builders cycle four area paths, so ids 1, 4, 5, 8, 9, 12 are under Fabrikam\Payments
    # (Payments, Payments\Cards) and the other six are not.
    server = ado_server_factory(make_work_items(12, revisions=6))
    result = update_issues(settings_for(server, PAYMENTS), client_for(server))
    expected = sorted(str(item.id) for item in server.store.items() if "Payments" in item.latest["System.AreaPath"])
    assert result.mode == "full" and result.new == len(expected) == result.total
    assert sorted(cached_by_id()) == expected
    meta = load_fetch_meta()
    assert meta is not None
    assert (meta["source"], meta["url"], meta["deployment"], meta["jql"]) == (
        "azure_devops", server.organization_url, "Fabrikam", PAYMENTS)


def test_nothing_changed_is_two_queries_and_rewrites_no_issues(ado_server_factory, isolated_data_dir) -> None:  # noqa: F811
    server = ado_server_factory(make_work_items(8, revisions=5))
    settings = settings_for(server)
    update_issues(settings, client_for(server))
    before = cache_bytes(isolated_data_dir)["issues.json"]
    server.clear_requests()
    result = update_issues(settings, client_for(server), now=datetime.now(UTC) + timedelta(minutes=1))
    # the delta, then the id listing that finds deleted or moved items (one WIQL page per 20,000 items)
    assert (result.mode, result.changed, result.new, result.updated) == ("reconcile", False, 0, 0)
    assert [request["endpoint"] for request in server.requests] == ["wiql", "wiql"]
    assert result.requests == 2
    assert cache_bytes(isolated_data_dir)["issues.json"] == before


def test_an_incremental_update_picks_up_a_state_change_with_a_handful_of_requests(ado_server_factory,  # noqa: F811
                                                                                  isolated_data_dir) -> None:
    server = ado_server_factory(make_work_items(30, revisions=3))
    settings = settings_for(server)
    update_issues(settings, client_for(server))
    before = status_path(cached_by_id()["7"])
    new_state = "Removed" if before[-1] != "Removed" else "Active"
    server.change_work_item(7, {"System.State": new_state})
    server.clear_requests()
    result = update_issues(settings, client_for(server), now=datetime.now(UTC) + timedelta(minutes=1))
    assert (result.mode, result.updated, result.new, result.removed) == ("reconcile", 1, 0, 0)
    # the delta query, the fields of one item, its history and the id listing: a handful, however many are cached
    assert result.requests <= 5, [request["endpoint"] for request in server.requests]
    issue = cached_by_id()["7"]
    assert issue["fields"]["status"]["name"] == new_state
    assert status_path(issue) == [*before, new_state]


def test_reconcile_drops_deleted_and_moved_work_items(ado_server_factory, isolated_data_dir) -> None:  # noqa: F811
    server = ado_server_factory(make_work_items(10, revisions=3))
    settings = settings_for(server)
    update_issues(settings, client_for(server))
    server.delete_work_item(3)
    server.move_work_item(6, project="Elsewhere")
    result = update_issues(settings, client_for(server), full=True,
                           now=datetime.now(UTC) + timedelta(minutes=1))
    assert result.mode == "reconcile" and result.removed == 2
    assert sorted(cached_by_id(), key=int) == [str(n) for n in range(1, 11) if n not in (3, 6)]


def test_the_next_update_drops_deleted_and_moved_work_items_without_full(ado_server_factory,  # noqa: F811
                                                                         isolated_data_dir) -> None:
    server = ado_server_factory(make_work_items(10, revisions=3))
    settings = settings_for(server)
    update_issues(settings, client_for(server))
    server.delete_work_item(4)
    server.move_work_item(8, project="Elsewhere")
    result = update_issues(settings, client_for(server), now=datetime.now(UTC) + timedelta(minutes=1))
    assert result.removed == 2 and result.changed
    assert sorted(cached_by_id(), key=int) == [str(n) for n in range(1, 11) if n not in (4, 8)]


def test_a_changed_wiql_filter_means_a_full_fetch(ado_server_factory, isolated_data_dir) -> None:  # noqa: F811
    server = ado_server_factory(make_work_items(8, revisions=3))
    update_issues(settings_for(server), client_for(server))
    result = update_issues(settings_for(server, PAYMENTS), client_for(server))
    assert result.mode == "full"
    expected = sorted(str(item.id) for item in server.store.items() if "Payments" in item.latest["System.AreaPath"])
    assert sorted(cached_by_id()) == expected and len(expected) < 8


@pytest.mark.parametrize("bad_auth", ["401", "203"])
def test_a_wrong_pat_is_a_plain_error_and_keeps_the_cache(ado_server_factory, isolated_data_dir,  # noqa: F811
                                                          bad_auth: str) -> None:
    server = ado_server_factory(make_work_items(6, revisions=3), bad_auth=bad_auth)
    settings = settings_for(server)
    update_issues(settings, client_for(server))
    before = cache_bytes(isolated_data_dir)
    with pytest.raises(AzureDevOpsError) as caught:
        update_issues(settings, client_for(server, pat="not-the-right-token-0000"), full=True,
                      now=datetime.now(UTC) + timedelta(minutes=1))
    assert "personal access token" in str(caught.value)
    assert "not-the-right-token-0000" not in str(caught.value)
    assert cache_bytes(isolated_data_dir) == before
