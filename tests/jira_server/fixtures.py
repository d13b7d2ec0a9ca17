"""Pytest fixtures for the test Jira server; import them into a test module by name.

``jira_server_factory(issues, **options)`` starts a ``JiraTestServer`` and stops it after the test;
``jira_server`` is a Cloud server holding five small issues (``PROJ-1`` … ``PROJ-5``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from tests.jira_server.app import JiraTestServer
from tests.jira_server.builders import make_issues

ServerFactory = Callable[..., JiraTestServer]


@pytest.fixture
def jira_server_factory() -> Iterator[ServerFactory]:
    servers: list[JiraTestServer] = []

    def start(issues: Iterable[dict] = (), **options: Any) -> JiraTestServer:
        server = JiraTestServer(issues, **options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def jira_server(jira_server_factory: ServerFactory) -> JiraTestServer:
    return jira_server_factory(make_issues(5))
