"""What Update Data tells the user beyond success: retries while they happen, data it had to leave out, and a
line in logs/errors.log for every failed update. Over real HTTP against the test Jira server."""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest

from configuration.logging_config import setup_logging
from configuration.settings import merge_with_defaults
from data.services.dashboard_service import run_update
from data.services.update_messages import describe_result
from data.sources.jira_errors import JiraError
from tests.jira_server.builders import make_issue, make_issues
from tests.jira_server.fixtures import jira_server_factory  # noqa: F401  (a fixture, used by name)
from tests.test_cli_fetch import run_cli, write_settings

EMAIL, TOKEN = "user@example.com", "secret-token-123"
SEARCH = "/rest/api/3/search/jql"


@pytest.fixture()
def env_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIRA_EMAIL", EMAIL)
    monkeypatch.setenv("JIRA_API_TOKEN", TOKEN)


def settings_for(url: str) -> dict:
    return merge_with_defaults({"jira": {"url": url, "jql": "project = PROJ", "max_retries": 2}})


def history(history_id: str, created: object) -> dict:
    return {"id": history_id, "created": created,
            "items": [{"field": "status", "fromString": "To Do", "toString": "In Progress"}]}


def test_histories_left_out_are_counted_on_the_result_and_in_its_words(jira_server_factory,  # noqa: F811
                                                                       env_credentials) -> None:
    # One issue carries two histories no calendar holds (epoch 9e18 and the year 10000): the update succeeds,
    # keeps all three issues and says that 2 changelog entries were left out.
    bad = make_issue(2)
    bad["changelog"]["histories"] += [history("99001", 9e18), history("99002", "10000-01-01T00:00:00.000+0000")]
    bad["changelog"]["total"] = bad["changelog"]["maxResults"] = len(bad["changelog"]["histories"])
    server = jira_server_factory([*make_issues(1), bad, *make_issues(1, first=3)])
    result = run_update(settings_for(server.url))
    assert (result.total, result.skipped_histories, result.skipped_issues) == (3, 2, 0)
    assert "left out: 2 changelog entries with an unreadable date" in describe_result(result)
    assert "left out: 2 changelog entries with an unreadable date" in result.summary()


def test_a_clean_update_mentions_nothing_left_out(jira_server_factory, env_credentials) -> None:  # noqa: F811
    server = jira_server_factory(make_issues(3))
    result = run_update(settings_for(server.url))
    assert (result.skipped_histories, result.skipped_issues) == (0, 0)
    assert "left out" not in describe_result(result)


def test_retries_are_reported_while_they_happen(jira_server_factory, env_credentials) -> None:  # noqa: F811
    # Jira answers the first search with 429 and Retry-After: 0, then normally: one retry message, then success.
    server = jira_server_factory(make_issues(2))
    server.inject(429, 1, retry_after=0, path_prefix=SEARCH)
    heard: list[str] = []
    result = run_update(settings_for(server.url), on_retry=heard.append)
    assert result.total == 2
    assert heard == ["Jira busy (HTTP 429), retry 1 of 2 in 0 s"]


def test_the_cli_prints_each_retry_on_stderr(jira_server_factory, tmp_path: Path) -> None:  # noqa: F811
    server = jira_server_factory(make_issues(2))
    server.inject(503, 1, retry_after=0, path_prefix=SEARCH)
    result = run_cli("fetch", "--settings", str(write_settings(tmp_path, server)))
    assert result.returncode == 0, result.stderr
    assert "Jira busy (HTTP 503), retry 1 of 4 in 0 s" in result.stderr


@pytest.mark.usefixtures("restore_root_logging")
def test_every_failed_update_is_in_the_error_log(isolated_data_dir: Path, env_credentials) -> None:
    # A closed port on loopback: the update fails fast and logs/errors.log names the failure.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log_dir = setup_logging(log_dir=isolated_data_dir / "logs", console=False)
    assert log_dir is not None
    with pytest.raises(JiraError):
        run_update(settings_for(f"http://127.0.0.1:{port}"))
    for handler in logging.getLogger().handlers:
        handler.flush()
    errors = (isolated_data_dir / "logs" / "errors.log").read_text(encoding="utf-8")
    assert "Update Data failed" in errors and "connection refused" in errors
    assert TOKEN not in errors


def test_last_updated_moves_on_when_an_update_finds_nothing_new(jira_server_factory,  # noqa: F811
                                                                 env_credentials) -> None:
    # The cards' "Last updated" comes from the latest successful fetch, also when that fetch changed nothing
    # (same data version, so the loaded dataset is the one of the first update).
    from callbacks.metrics import show_metrics
    from configuration.secrets import load_credentials
    from configuration.settings import save_app_settings
    from data.services.data_update import update_issues
    from data.sources.selection import make_source

    server = jira_server_factory(make_issues(3))
    settings = save_app_settings(settings_for(server.url))
    source = make_source(settings, load_credentials(settings))
    first = update_issues(settings, source, now=datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    period = {"preset": "custom", "start": "2026-10-01", "end": "2026-10-30"}
    assert show_metrics(period, first.data_version)[2] == "Last updated 2026-11-02 09:00 UTC"
    again = update_issues(settings, source, now=datetime(2026, 11, 2, 10, 30, tzinfo=UTC))
    assert not again.changed and again.data_version == first.data_version
    assert show_metrics(period, again.data_version)[2] == "Last updated 2026-11-02 10:30 UTC"


def test_a_listing_cut_short_by_repeated_pages_is_reported(jira_server_factory, monkeypatch) -> None:  # noqa: F811
    # Data Center announces 5 issues but answers every page with the first one (it ignores startAt): the
    # update keeps what it got and says the data may be incomplete, instead of silently caching 1 of 5.
    monkeypatch.setenv("JIRA_PAT", "pat-xyz")
    server = jira_server_factory(make_issues(5), mode="datacenter", quirks={"search_ignores_start"}, page_cap=1)
    settings = merge_with_defaults({"jira": {"url": server.url, "deployment": "datacenter", "jql": "project = PROJ",
                                             "page_size": 1}})
    result = run_update(settings)
    assert result.total == 1
    assert result.warnings == ("Jira announced 5 issues but sent 1 distinct ones (it repeated or skipped pages): "
                               "the data may be incomplete; try a smaller jira.page_size or check the Jira server",)
    assert "warning: Jira announced 5 issues but sent 1" in describe_result(result)
