"""What the Azure DevOps client says when things go wrong, over real HTTP against the test Azure DevOps server:
each failure in the words of its cause (a slow-down announced, broken JSON, a slow server, a redirect to
another port, a Retry-After date), never a misleading one."""

from __future__ import annotations

from typing import Any

import pytest

from data.sources.ado_client import AzureDevOpsClient
from data.sources.ado_errors import AzureDevOpsError, wait_text
from data.sources.ado_http import MAX_SLOW_DOWN_SECONDS
from tests.ado_server import AdoTestServer
from tests.ado_server.builders import make_work_items
from tests.ado_server.fixtures import AdoServerFactory, ado_server_factory  # noqa: F401  (fixture, by name)


class SleepRecorder(list):
    """Stands in for ``time.sleep``: records each wait, waits for none."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client_for(server: AdoTestServer, **options: Any) -> AzureDevOpsClient:
    settings: dict[str, Any] = {"pat": server.pat, "requests_per_second": 0, "timeout": 5.0,
                                "sleep": SleepRecorder(), "backoff_base": 0.001, **options}
    return AzureDevOpsClient(server.organization_url, server.project, **settings)


def test_a_long_slow_down_on_a_success_is_announced_and_capped(ado_server_factory: AdoServerFactory) -> None:  # noqa: F811
    server = ado_server_factory(make_work_items(3))
    waits, messages = SleepRecorder(), []
    client = client_for(server, sleep=waits, on_retry=messages.append)
    server.inject(None, 1, headers={"Retry-After": "100000"})  # answered, but "wait 100,000 s"
    assert len(client.list_issue_ids("")) == 3
    assert len(client.list_issue_ids("")) == 3  # the request after it waits first
    assert MAX_SLOW_DOWN_SECONDS == 30
    assert waits == [30]
    # 100,000 s / 3,600 = 27.8 h, shown as 28 h
    assert messages == ["Azure DevOps asked to slow down: waiting 30 s (it asked for 28 h)"]
    server.inject(None, 1, headers={"Retry-After": "2"})
    client.list_issue_ids("")
    client.list_issue_ids("")
    assert waits[1:] == [2] and messages[1:] == ["Azure DevOps asked to slow down: waiting 2 s"]


def test_broken_json_is_not_called_a_refused_token(ado_server_factory: AdoServerFactory) -> None:  # noqa: F811
    server = ado_server_factory(make_work_items(3))
    server.inject(200, 1, body="{not json", content_type="application/json")
    with pytest.raises(AzureDevOpsError) as caught:
        client_for(server).list_issue_ids("")
    message = str(caught.value)
    assert message.startswith("Azure DevOps answered with something that is not JSON (HTTP 200)")
    assert "personal access token" not in message


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "application/json"])
def test_a_web_page_on_a_success_still_means_the_token_was_refused(ado_server_factory: AdoServerFactory,  # noqa: F811
                                                                   content_type: str) -> None:
    server = ado_server_factory(make_work_items(3))
    page = "\n<!DOCTYPE html><html><head><title>Sign in to your account</title></head></html>"
    server.inject(200, 1, body=page, content_type=content_type)
    with pytest.raises(AzureDevOpsError, match=r"did not accept the personal access token.*web page"):
        client_for(server).list_issue_ids("")


def test_a_server_that_is_up_but_slow_is_said_to_answer_too_slowly(
        ado_server_factory: AdoServerFactory) -> None:  # noqa: F811
    server = ado_server_factory(make_work_items(3))
    server.inject(None, 2, delay=1.0)  # both tries answered only after a second, past the 0.3 s timeout
    messages: list[str] = []
    client = client_for(server, timeout=0.3, max_retries=1, on_retry=messages.append)
    with pytest.raises(AzureDevOpsError) as caught:
        client.list_issue_ids("")
    message = str(caught.value)
    assert message.startswith(f"Azure DevOps at {server.organization_url} answered too slowly "
                              "(no answer within 0.3 s, 2 times)")
    assert "unreachable" not in message and "check the organization URL" not in message
    assert messages and messages[0].startswith("Azure DevOps not answering (no answer within 0.3 s), retry 1 of 1")


def test_a_redirect_to_another_port_names_both_origins(ado_server_factory: AdoServerFactory) -> None:  # noqa: F811
    server = ado_server_factory(make_work_items(3))
    elsewhere = ado_server_factory(make_work_items(3))  # the same host, 127.0.0.1, on another port
    server.redirect(elsewhere.url)
    with pytest.raises(AzureDevOpsError) as caught:
        client_for(server).list_issue_ids("")
    message = str(caught.value)
    assert f"another site (http://127.0.0.1:{elsewhere.port})" in message
    assert f"only sent to http://127.0.0.1:{server.port}" in message
    assert elsewhere.requests == []


@pytest.mark.parametrize(("retry_after", "said"), [
    ("Fri, 31 Dec 2099 23:59:59 GMT", "asked to wait until Fri, 31 Dec 2099 23:59:59 GMT"),
    ("100000", "asked to wait 28 h"),  # 100,000 s = 27.8 h
    ("600", "asked to wait 10 min"),
], ids=["http date", "seconds in hours", "seconds in minutes"])
def test_a_long_retry_after_is_worded_sanely(ado_server_factory: AdoServerFactory,  # noqa: F811
                                             retry_after: str, said: str) -> None:
    server = ado_server_factory(make_work_items(3))
    server.inject(429, 1, retry_after=retry_after)
    waits = SleepRecorder()
    with pytest.raises(AzureDevOpsError) as caught:
        client_for(server, sleep=waits).list_issue_ids("")
    message = str(caught.value)
    assert f"Azure DevOps is throttling the requests (HTTP 429, {said})" in message
    assert waits == []  # a wait beyond two minutes is not waited


@pytest.mark.parametrize(("seconds", "shown"), [
    (2.5, "2.5 s"), (45, "45 s"), (600, "10 min"),  # 600 / 60
    (100_000, "28 h"),  # 100,000 / 3,600 = 27.8
    (2_300_286_708, "26,624 days"),  # / 86,400 = 26,623.7
    (float("inf"), "without end"),
])
def test_waits_are_shown_in_a_readable_unit(seconds: float, shown: str) -> None:
    assert wait_text(seconds) == shown
