"""Jira failures in words a user can act on: ``JiraError`` and the hints for each kind of refusal.

``str(error)`` is one line: ``Jira said: <messages> (HTTP 401). <hint>``; Jira's own words are kept
(truncated, secrets removed) because they are often the most precise thing to show.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import requests

MAX_MESSAGES = 10
MAX_MESSAGE_CHARS = 300
_HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


class JiraError(Exception):
    """A failed Jira call, safe to show to a user.

    ``status`` is the HTTP status (``None`` when Jira was not reached), ``jira_messages`` Jira's own words
    (``errorMessages`` and ``errors`` values, or the text body; truncated, secrets removed) and ``hint`` what
    to do. ``str(error)`` is one line: ``Jira said: <messages> (HTTP 401). <hint>``.
    """

    def __init__(self, status: int | None, jira_messages: Sequence[str], hint: str) -> None:
        self.status = status
        self.jira_messages = list(jira_messages)
        self.hint = hint
        super().__init__(self._line())

    def _line(self) -> str:
        if self.jira_messages:
            http = f" (HTTP {self.status})" if self.status is not None else ""
            return f"Jira said: {'; '.join(self.jira_messages)}{http}. {self.hint}"
        if self.status is not None:
            return f"Jira answered HTTP {self.status}. {self.hint}"
        return self.hint

    def __repr__(self) -> str:
        return f"JiraError(status={self.status!r}, jira_messages={self.jira_messages!r}, hint={self.hint!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.status, self.jira_messages, self.hint))


def truncate(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE_CHARS else text[:MAX_MESSAGE_CHARS - 1] + "…"


def response_messages(response: requests.Response, scrub: Callable[[str], str]) -> list[str]:
    """Jira's own words from an error answer: ``errorMessages``, ``errors``, ``message``, an HTML title or
    the text body; each one line, truncated and scrubbed of secrets."""
    text = response.text or ""
    messages: list[str] = []
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        error_messages = data.get("errorMessages")
        if isinstance(error_messages, list):
            messages += [str(m) for m in error_messages if m]
        errors = data.get("errors")
        if isinstance(errors, dict):
            messages += [str(m) for m in errors.values() if m]
        if not messages and data.get("message"):
            messages.append(str(data["message"]))
    elif "<html" in text[:500].lower():
        title = _HTML_TITLE.search(text)
        messages.append(f"an HTML page{': ' + title.group(1).strip() if title else ''}")
    elif text.strip():
        messages.append(text.strip())
    return [scrub(truncate(" ".join(m.split()))) for m in messages[:MAX_MESSAGES]]


PERMANENT_CONNECTION_FAILURES = frozenset({"connection refused", "host name not found"})
"""``connection_detail`` results not worth retrying: they do not heal within the seconds of a backoff."""


def connection_detail(exc: Exception) -> str:
    """A few words on why a connection failed, from the exception chain's text."""
    text = repr(exc).lower()
    if "refused" in text:
        return "connection refused"
    if any(part in text for part in ("name or service not known", "nodename nor servname", "getaddrinfo",
                                     "name resolution", "no address associated", "nameresolutionerror")):
        return "host name not found"
    if any(part in text for part in ("reset", "aborted", "remotedisconnected")):
        return "connection dropped"
    return "connection failed"


def rate_limit_hint(status: int, detail: str) -> str:
    return (f"Jira is rate limiting the requests (HTTP {status}, {detail}): wait a few minutes and try "
            "again, or lower the requests per second in the Jira settings.")


def unreachable_error(base_url: str, detail: str) -> JiraError:
    return JiraError(None, [], f"Jira unreachable at {base_url} ({detail}): check the URL, the "
                               "network or proxy, and that Jira is running.")


def status_hint(status: int, headers: Any, deployment: str, scrub: Callable[[str], str]) -> str:
    """What the user can do about a 4xx answer that is not worth retrying."""
    if status == 400:
        return "Check the JQL (and the field ids it names) in the Jira settings."
    if status == 401:
        return ("Check the email and API token (Cloud) or the personal access token / PAT (Data Center) "
                "in the Jira settings, and that Cloud or Data Center is chosen correctly.")
    if status == 403:
        reason = headers.get("X-Authentication-Denied-Reason")
        if reason:
            return (f"Jira refused the sign-in ({scrub(truncate(reason))}): after failed logins "
                    "it asks for a CAPTCHA; sign in to Jira once in a browser, then try again.")
        return ("The account lacks permission for this (or Jira wants a CAPTCHA after failed logins): "
                "check its project permissions, or sign in to Jira once in a browser.")
    if status == 404:
        return ("Not found: check the Jira URL (the site root, e.g. https://your-site.atlassian.net), "
                "the Cloud / Data Center choice, and that the project or issue exists.")
    if status == 410:
        if deployment == "datacenter":
            return "This Jira is Cloud: choose Cloud (email + API token) in the Jira settings."
        return "Jira removed this API: update the dashboard to a newer version."
    return "Jira refused the request: check the Jira settings."
