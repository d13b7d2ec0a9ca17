"""Pytest fixtures for the test Azure DevOps server; import them into a test module by name.

``ado_server_factory(items, **options)`` starts an ``AdoTestServer`` and stops it after the test;
``ado_server`` holds five small work items (ids 1 … 5) of the project Fabrikam.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import pytest

from tests.ado_server.app import AdoTestServer
from tests.ado_server.builders import make_work_items

AdoServerFactory = Callable[..., AdoTestServer]


@pytest.fixture
def ado_server_factory() -> Iterator[AdoServerFactory]:
    servers: list[AdoTestServer] = []

    def start(items: Iterable[Mapping[str, Any]] = (), **options: Any) -> AdoTestServer:
        server = AdoTestServer(items, **options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def ado_server(ado_server_factory: AdoServerFactory) -> AdoTestServer:
    return ado_server_factory(make_work_items(5))
