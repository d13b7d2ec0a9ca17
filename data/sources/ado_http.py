"""One Azure DevOps organisation over one ``requests.Session``: the PAT, rate limiting, retries and decoding.

The time limits, the request watchdog, the rate limiter and ``Retry-After`` parsing are the Jira client's
(``data.sources.jira_deadline``, ``data.sources.jira_http``); what differs is said here:

- The PAT travels only in ``Authorization: Basic base64(":" + PAT)``. Redirects are followed by hand and
  only within the organisation's own origin (scheme, host and port); a redirect elsewhere fails with an
  ``AzureDevOpsError`` and the token is never sent there.
- A 401, a 203 (Azure DevOps' HTML sign-in page) or a successful answer that is a web page means the token
  was not accepted; a successful answer that is neither JSON nor a web page is said to be not JSON. Never data.
- 429 and 5xx are retried (``Retry-After`` honoured, else exponential backoff with full jitter) within the
  fetch's retry-wait budget. A successful answer carrying ``Retry-After`` (Azure DevOps delaying a client
  near its limit), or saying the allowance is used up (``X-RateLimit-Remaining: 0``), makes the next request
  wait first (at most ``MAX_SLOW_DOWN_SECONDS``, announced like a retry), so the client slows down before a 429.
  A server that accepts the connection but does not answer in time is said to answer too slowly, not to be
  unreachable.
- No token ever appears in an error, a repr or a log line.
"""

from __future__ import annotations

import base64
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin, urlsplit

import orjson
import requests

from configuration.logging_config import MIN_SECRET_LENGTH
from data.sources.ado_errors import (
    AzureDevOpsError,
    not_json_error,
    rate_limit_hint,
    response_messages,
    status_hint,
    token_refused,
    too_slow_error,
    unreachable_error,
    wait_text,
)
from data.sources.jira_deadline import FetchBudget, WatchedAdapter, send_watched
from data.sources.jira_errors import PERMANENT_CONNECTION_FAILURES, connection_detail
from data.sources.jira_http import RateLimiter, retry_after_seconds

log = logging.getLogger(__name__)

API_VERSION = "7.1"
MAX_SAME_ORIGIN_REDIRECTS = 3
MAX_SLOW_DOWN_SECONDS = 30.0
"""The longest pause a successful answer's ``Retry-After`` earns: the request succeeded, so a longer wish is
followed only when Azure DevOps enforces it with a 429 (whose wait is honoured up to ``max_retry_after``)."""
_HTML_START = (b"<!doctype html", b"<html")


class AdoBudget(FetchBudget):
    """A ``FetchBudget`` whose exhaustion is told in Azure DevOps' words."""

    def exceeded(self) -> AzureDevOpsError:  # type: ignore[override]
        return AzureDevOpsError(None, [], f"The Azure DevOps fetch was stopped after {self.seconds:g} s, its time "
                                          "budget: Azure DevOps is answering very slowly. Try again later or "
                                          "narrow the WIQL filter.")


class _Transient(Exception):
    """A retryable failure (429, 5xx, connection, timeout)."""

    def __init__(self, status: int | None, messages: list[str], retry_after: float | None, detail: str = "", *,
                 retry_after_header: str = "", slow: bool = False) -> None:
        super().__init__(detail or f"HTTP {status}")
        self.status, self.messages, self.retry_after, self.detail = status, messages, retry_after, detail
        self.retry_after_header = retry_after_header  # as sent: seconds or an HTTP date
        self.slow = slow  # connected, but no answer in time


class AdoHttp:
    """Authenticated, rate-limited, retried JSON calls to one organisation, each within a total deadline.

    ``sleep`` serves the waits between retries and the slow-downs (tests inject a recorder); ``on_retry``
    hears of each retry before its wait; ``request_count`` counts every HTTP request sent (retries and
    same-origin redirects included).
    """

    def __init__(self, organization_url: str, *, pat: str, timeout: float, max_retries: int,
                 requests_per_second: float | None, backoff_base: float = 2.0, backoff_cap: float = 30.0,
                 max_retry_after: float = 120.0, retry_wait_budget: float = 120.0,
                 sleep: Callable[[float], None] = time.sleep, session: requests.Session | None = None,
                 on_retry: Callable[[str], None] | None = None) -> None:
        self.base_url = organization_root(organization_url)
        self._origin = _origin(self.base_url)
        self.timeout = float(timeout)
        self.request_deadline = 3 * self.timeout
        self.max_retries = max(0, int(max_retries))
        self.backoff_base, self.backoff_cap, self.max_retry_after = backoff_base, backoff_cap, max_retry_after
        self.retry_wait_budget = max(0.0, float(retry_wait_budget))
        self.on_retry = on_retry
        self.request_count = 0
        self._sleep = sleep
        self._limiter = RateLimiter(requests_per_second)
        self._lock = threading.Lock()
        self._slow_down = 0.0  # seconds the next request should wait, as asked (capped when taken)
        basic = base64.b64encode(f":{pat}".encode()).decode("ascii")
        self._headers = {"Accept": "application/json", "Authorization": f"Basic {basic}"}
        self._secrets = [secret for secret in (pat, basic) if secret]
        self._session = session or _new_session()

    def budget(self, cancel: Any = None, seconds: float | None = None) -> AdoBudget:
        return AdoBudget(cancel, seconds=seconds, retry_wait_seconds=self.retry_wait_budget)

    def request(self, method: str, path: str, *, params: dict | None = None, body: Any = None,
                budget: FetchBudget | None = None, retries: int | None = None,
                deadline: float | None = None) -> Any:
        """One call (``path`` below the organisation URL) with retries: the decoded JSON, or
        ``AzureDevOpsError`` / ``FetchCancelled``. ``api-version`` is added to ``params``."""
        budget = budget or self.budget()
        allowed = self.max_retries if retries is None else max(0, int(retries))
        query = {**(params or {}), "api-version": API_VERSION}
        attempt = 0
        while True:
            try:
                return self._attempt(method, self.base_url + path, query, body, budget,
                                     deadline or self.request_deadline)
            except _Transient as failure:
                attempt += 1
                if attempt > allowed:
                    raise self._final_error(failure, allowed) from None
                pause = self._pause_for(failure, attempt, budget)
                self._announce_retry(failure, method, path, attempt, allowed, pause)
                budget.pause(pause, self._sleep)

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            if len(secret) >= MIN_SECRET_LENGTH:
                text = text.replace(secret, "***")
        return text

    def _attempt(self, method: str, url: str, params: dict | None, body: Any, budget: FetchBudget,
                 request_deadline: float) -> Any:
        for _ in range(MAX_SAME_ORIGIN_REDIRECTS + 1):
            response = self._send(method, url, params, body, budget, request_deadline)
            if not 300 <= response.status_code < 400 or "Location" not in response.headers:
                return self._answer(response)
            target = urljoin(url, response.headers["Location"])
            if _origin(target) != self._origin:
                raise AzureDevOpsError(response.status_code, [], (
                    f"Azure DevOps redirected the request to another site ({_origin_text(target)}); the token "
                    f"is only sent to {_origin_text(self.base_url)}: check the organization URL "
                    "(e.g. https://dev.azure.com/your-organization)."))
            url, params = target, None  # the Location carries the query
        raise AzureDevOpsError(None, [], "Azure DevOps redirected the request again and again: check the "
                                         "organization URL (e.g. https://dev.azure.com/your-organization).")

    def _send(self, method: str, url: str, params: dict | None, body: Any, budget: FetchBudget,
              request_deadline: float) -> requests.Response:
        budget.check()
        self._limiter.acquire()
        self._take_slow_down(budget)
        budget.check()
        with self._lock:
            self.request_count += 1
        sent = send_watched(self._session, method, url, budget=budget, timeout=self.timeout,
                            request_deadline=request_deadline, params=params, json=body, headers=self._headers,
                            allow_redirects=False)
        failure, deadline = sent.failure, sent.deadline
        if failure is not None:
            if sent.past_deadline:
                if deadline >= budget.deadline:
                    raise budget.exceeded() from None
                raise AzureDevOpsError(None, [], f"Azure DevOps at {self.base_url} is answering too slowly: one "
                                                 f"answer took longer than {request_deadline:g} s and was stopped. "
                                                 "Try again later.") from None
            raise self._connection_failure(failure, sent.connect_timeout) from None
        response = sent.response
        log.debug("%s %s -> %d in %.0f ms", method, urlsplit(url).path, response.status_code,
                  (time.monotonic() - sent.started) * 1000)
        return response

    def _answer(self, response: requests.Response) -> Any:
        status = response.status_code
        if status == 203:
            raise token_refused(status, "it answered with a sign-in page instead of data")
        if 200 <= status < 300:
            self._note_slow_down(response)
            return self._decode(response)
        messages = response_messages(response, self.scrub)
        if status == 401:
            raise token_refused(status, "it answered 401 Unauthorized")
        if status == 429 or status >= 500:
            header = response.headers.get("Retry-After") or ""
            raise _Transient(status, messages, retry_after_seconds(header), retry_after_header=header.strip())
        raise AzureDevOpsError(status, messages, status_hint(status, messages))

    def _decode(self, response: requests.Response) -> Any:
        """The JSON of a successful answer; a web page (a sign-in page) means the token was not accepted, and
        anything else that is not JSON says so."""
        content_type = response.headers.get("Content-Type", "").lower()
        if "html" in content_type:
            raise token_refused(response.status_code, "it answered with a web page instead of data")
        if not response.content:
            return {}
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            pass
        try:  # numbers orjson refuses (NaN, huge integers): kept as null or text
            return json.loads(response.content, parse_constant=lambda _: None)
        except (ValueError, RecursionError):
            pass
        if response.content[:1000].lstrip()[:14].lower().startswith(_HTML_START):  # a page labelled as JSON
            raise token_refused(response.status_code, "it answered with a web page instead of data")
        raise not_json_error(response.status_code)

    def _note_slow_down(self, response: requests.Response) -> None:
        """Slow down before a 429: after a successful answer with ``Retry-After``, the next request waits that
        long; after one saying the allowance is used up (``X-RateLimit-Remaining: 0``), it waits the delay
        Azure DevOps reports in ``X-RateLimit-Delay`` (one second when it gives none). Capped when taken."""
        headers = response.headers
        wait = retry_after_seconds(headers.get("Retry-After"))
        if not wait and _number(headers.get("X-RateLimit-Remaining")) == 0:
            wait = _number(headers.get("X-RateLimit-Delay")) or 1.0
        if wait:
            with self._lock:
                self._slow_down = max(self._slow_down, wait)

    def _take_slow_down(self, budget: FetchBudget) -> None:
        """Wait as a successful answer asked, at most ``MAX_SLOW_DOWN_SECONDS`` and what the update may still
        wait; the wait is announced like a retry."""
        with self._lock:
            asked, self._slow_down = self._slow_down, 0.0
        wait = min(asked, MAX_SLOW_DOWN_SECONDS, budget.wait_left)
        if wait > 0 and budget.reserve_wait(wait):
            message = f"Azure DevOps asked to slow down: waiting {_seconds_text(wait)} s"
            if asked > wait:
                message += f" (it asked for {wait_text(asked)})"
            log.info("%s", message)
            self._report(message)
            budget.pause(wait, self._sleep)

    def _connection_failure(self, failure: Exception, connect_timeout: float) -> Exception:
        if isinstance(failure, requests.exceptions.SSLError):
            return unreachable_error(self.base_url, "TLS/SSL problem: is the certificate trusted?")
        if isinstance(failure, requests.exceptions.ConnectTimeout):
            return _Transient(None, [], None, f"no connection within {connect_timeout:g} s")
        if isinstance(failure, requests.exceptions.Timeout):
            return _Transient(None, [], None, f"no answer within {self.timeout:g} s", slow=True)
        detail = connection_detail(failure)
        if detail in PERMANENT_CONNECTION_FAILURES:
            return unreachable_error(self.base_url, detail)
        return _Transient(None, [], None, detail)

    def _pause_for(self, failure: _Transient, attempt: int, budget: FetchBudget) -> float:
        left = budget.wait_left
        if failure.retry_after is not None:
            if failure.retry_after > self.max_retry_after or failure.retry_after > left:
                detail = _asked_wait(failure)
                if failure.retry_after <= self.max_retry_after:
                    detail += f", more than the {left:.0f} s this update may still wait"
                raise AzureDevOpsError(failure.status, failure.messages,
                                       rate_limit_hint(failure.status or 429, detail)) from None
            pause = failure.retry_after
        else:
            if left <= 0:
                raise self._final_error(failure, attempt - 1) from None
            pause = min(random.uniform(0, min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))), left)
        budget.reserve_wait(pause)
        return pause

    def _announce_retry(self, failure: _Transient, method: str, path: str, attempt: int, allowed: int,
                        pause: float) -> None:
        reason = (f"Azure DevOps busy (HTTP {failure.status})" if failure.status
                  else f"Azure DevOps not answering ({failure.detail})")
        message = f"{reason}, retry {attempt} of {allowed} in {_seconds_text(pause)} s"
        log.warning("%s (%s %s)", message, method, path)
        self._report(message)

    def _report(self, message: str) -> None:
        """Tell the retry reporter (the update's progress line) about a wait."""
        if self.on_retry is not None:
            try:
                self.on_retry(message)
            except Exception:  # a progress display must never break the fetch
                log.exception("The retry progress callback failed")

    def _final_error(self, failure: _Transient, retries: int) -> AzureDevOpsError:
        if failure.status is None:
            if failure.slow:
                return too_slow_error(self.base_url, failure.detail, retries + 1)
            return unreachable_error(self.base_url, failure.detail)
        if failure.status == 429:
            return AzureDevOpsError(429, failure.messages,
                                    rate_limit_hint(429, f"still refused after {retries} retries"))
        return AzureDevOpsError(failure.status, failure.messages,
                                f"Azure DevOps had a server problem (still failing after {retries} retries): "
                                "try again later.")


def _seconds_text(seconds: float) -> str:
    return f"{seconds:.0f}" if seconds >= 10 or float(seconds).is_integer() else f"{seconds:.1f}"


def _asked_wait(failure: _Transient) -> str:
    """"asked to wait 5 min", or for an HTTP date "asked to wait until Fri, 31 Dec 2099 23:59:59 GMT"."""
    header = failure.retry_after_header
    if header and not header.replace(".", "", 1).isdigit():
        return f"asked to wait until {header[:40]}"
    return f"asked to wait {wait_text(failure.retry_after or 0.0)}"


def _origin_text(url: str) -> str:
    """``scheme://host:port`` of ``url`` (the port always shown, so two ports of one host differ)."""
    scheme, host, port = _origin(url)
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}:{port}" if port is not None else f"{scheme}://{host}"


def _number(value: str | None) -> float | None:
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and 0 <= number < 1e6 else None


def _new_session() -> requests.Session:
    session = requests.Session()
    adapter = WatchedAdapter(pool_connections=2, pool_maxsize=10)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = "dora-flow-dashboard"
    return session


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def organization_root(organization_url: str) -> str:
    """The organisation URL without credentials, query or trailing slash (e.g. ``https://dev.azure.com/contoso``
    or ``https://tfs.example.com/tfs/DefaultCollection``); ValueError unless an http(s) URL."""
    parts = urlsplit(str(organization_url).strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("The Azure DevOps organization URL must look like https://dev.azure.com/your-organization")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path.rstrip('/')}"
