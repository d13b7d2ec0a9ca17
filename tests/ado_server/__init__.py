"""A test Azure DevOps server (Boards REST 7.1 over real HTTP on loopback) and the helpers to feed it."""

from tests.ado_server.app import AdoTestServer

__all__ = ["AdoTestServer"]
