"""Azure DevOps failures in words a user can act on: ``AzureDevOpsError`` and the hint for each kind of refusal.

``str(error)`` is one line: ``Azure DevOps said: <message> (HTTP 400). <hint>``; Azure DevOps' own words
(its ``message``, e.g. ``VS402337: ...``) are kept, truncated and scrubbed of secrets, because they are often
the most precise thing to show.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import requests

from data.sources.jira_errors import truncate

TOKEN_HINT = ("(check AZURE_DEVOPS_PAT or the token in the Data source dialog; it needs Work Items: Read)")
_HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
MAX_MESSAGES = 5


class AzureDevOpsError(Exception):
    """A failed Azure DevOps call, safe to show to a user.

    ``status`` is the HTTP status (``None`` when Azure DevOps was not reached), ``messages`` its own words
    (truncated, secrets removed) and ``hint`` what to do.
    """

    def __init__(self, status: int | None, messages: Sequence[str], hint: str) -> None:
        self.status = status
        self.messages = list(messages)
        self.hint = hint
        super().__init__(self._line())

    def _line(self) -> str:
        if self.messages:
            http = f" (HTTP {self.status})" if self.status is not None else ""
            return f"Azure DevOps said: {'; '.join(self.messages)}{http}. {self.hint}"
        return self.hint

    def __repr__(self) -> str:
        return f"AzureDevOpsError(status={self.status!r}, messages={self.messages!r}, hint={self.hint!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.status, self.messages, self.hint))


def token_refused(status: int | None, detail: str) -> AzureDevOpsError:
    """The personal access token was not accepted (401, a 203 sign-in page, an answer that is not JSON)."""
    http = f"HTTP {status}, " if status is not None else ""
    return AzureDevOpsError(status, [], f"Azure DevOps did not accept the personal access token ({http}{detail}) "
                                        f"{TOKEN_HINT}.")


def not_json_error(status: int) -> AzureDevOpsError:
    """A successful answer that is neither JSON nor a web page: something else is answering at the URL."""
    return AzureDevOpsError(status, [], f"Azure DevOps answered with something that is not JSON (HTTP {status}): "
                                        "check the organization URL (e.g. https://dev.azure.com/your-organization) "
                                        "and any proxy in between, then try again.")


def too_slow_error(base_url: str, detail: str, tries: int) -> AzureDevOpsError:
    """A server that accepted the connection but did not answer in time, ``tries`` times."""
    times = "once" if tries == 1 else f"{tries} times"
    return AzureDevOpsError(None, [], f"Azure DevOps at {base_url} answered too slowly ({detail}, {times}): try "
                                      "again later; if it keeps happening, narrow the WIQL filter or raise "
                                      "jira.timeout_seconds.")


def wait_text(seconds: float) -> str:
    """A wait in the unit a reader takes in: "45 s", "12 min", "5 h", "26,624 days"."""
    if not math.isfinite(seconds):
        return "without end"
    if seconds < 10 and not float(seconds).is_integer():
        return f"{seconds:.1f} s"
    if seconds < 100:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:,.0f} days"


def response_messages(response: requests.Response, scrub: Callable[[str], str]) -> list[str]:
    """Azure DevOps' own words from an error answer: its ``message``, an HTML title or the text body."""
    text = response.text or ""
    messages: list[str] = []
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("message", "Message"):
            if isinstance(data.get(key), str) and data[key].strip():
                messages.append(data[key])
                break
    elif "<html" in text[:500].lower():
        title = _HTML_TITLE.search(text)
        messages.append(f"an HTML page{': ' + title.group(1).strip() if title else ''}")
    elif text.strip():
        messages.append(text.strip())
    return [scrub(truncate(" ".join(message.split()))) for message in messages[:MAX_MESSAGES]]


def status_hint(status: int, messages: Sequence[str]) -> str:
    """What the user can do about a 4xx answer that is not worth retrying."""
    text = " ".join(messages)
    if status == 400:
        if "TF51535" in text:
            return ("A field named in the field mappings does not exist in this Azure DevOps project: choose "
                    "the field again in the field mapping dialog.")
        return "Check the WIQL filter in the Data source dialog (a WHERE condition, e.g. [System.AreaPath] UNDER 'X')."
    if status in (401, 403):
        return f"The token lacks access to this project {TOKEN_HINT}."
    if status == 404:
        return ("Not found: check the organization URL (e.g. https://dev.azure.com/your-organization) and the "
                "project name in the Data source dialog.")
    return "Azure DevOps refused the request: check the Data source settings."


def rate_limit_hint(status: int, detail: str) -> str:
    return (f"Azure DevOps is throttling the requests (HTTP {status}, {detail}): wait a few minutes and try "
            "again, or lower the requests per second.")


def unreachable_error(base_url: str, detail: str) -> AzureDevOpsError:
    return AzureDevOpsError(None, [], f"Azure DevOps unreachable at {base_url} ({detail}): check the "
                                      "organization URL, the network or proxy.")
