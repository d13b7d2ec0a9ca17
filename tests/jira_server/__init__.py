"""A test Jira server (Cloud or Data Center REST over real HTTP on loopback) and the helpers to feed it."""

from tests.jira_server.app import JiraTestServer

__all__ = ["JiraTestServer"]
