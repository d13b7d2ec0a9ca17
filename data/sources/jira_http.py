"""One Jira site over one ``requests.Session``: authentication, rate limiting, retries and decoding.

429, 5xx, dropped connections and timeouts are retried (``Retry-After`` honoured, else exponential backoff
with full jitter) within the fetch's retry-wait budget; other 4xx, refused connections and unknown hosts
are not. Every request has a total deadline (``data.sources.jira_deadline``). A thread-safe rate limiter
spaces all requests. No token or PAT ever appears in an error, a repr or a log line.
"""

from __future__ import annotations

import base64
import email.utils
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.client import HTTPException
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests

from configuration.logging_config import MIN_SECRET_LENGTH
from data.sources.jira_deadline import FetchBudget, WatchedAdapter, send_watched
from data.sources.jira_errors import (
    PERMANENT_CONNECTION_FAILURES,
    JiraError,
    connection_detail,
    rate_limit_hint,
    response_messages,
    status_hint,
    unreachable_error,
)

log = logging.getLogger(__name__)



class _Transient(Exception):
    """A retryable failure (429, 5xx, connection, timeout); becomes a JiraError when the retries run out."""

    def __init__(self, status: int | None, messages: list[str], retry_after: float | None,
                 detail: str = "") -> None:
        super().__init__(detail or f"HTTP {status}")
        self.status, self.messages, self.retry_after, self.detail = status, messages, retry_after, detail


class RateLimiter:
    """Spaces calls at least ``1 / per_second`` apart across threads (``None`` or 0: no limit).

    Each caller reserves the next free slot under the lock and waits outside it.
    """

    def __init__(self, per_second: float | None, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._interval = 1.0 / per_second if per_second else 0.0
        self._clock, self._sleep = clock, sleep
        self._next_slot = float("-inf")
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Wait for this caller's slot; return the seconds waited."""
        if not self._interval:
            return 0.0
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self._interval
        delay = slot - now
        if delay > 0:
            self._sleep(delay)
        return max(delay, 0.0)


class JiraHttp:
    """Authenticated, rate-limited, retried JSON calls to one Jira site, each within a total deadline.

    ``sleep`` serves the retry waits (tests inject a recorder); with the default ``time.sleep`` a wait ends
    early when the fetch's cancel event is set. Waiting between retries draws on the fetch's retry-wait
    budget (``FetchBudget``): a ``Retry-After`` longer than ``max_retry_after`` or than what is left of the
    budget fails at once with the rate-limit hint rather than freezing an update. Refused connections and
    unknown host names fail at once (they do not heal in seconds). A request whose answer takes longer
    than ``request_deadline`` seconds in total (a server dribbling bytes) is ended and not retried.
    ``on_retry(message)`` hears of every retry before its wait. ``request_count`` counts every HTTP request
    sent, retries included.
    """

    def __init__(self, base_url: str, deployment: str, *, email: str | None, api_token: str | None,
                 pat: str | None, timeout: float, max_concurrency: int, requests_per_second: float | None,
                 max_retries: int, backoff_base: float, backoff_cap: float, max_retry_after: float,
                 sleep: Callable[[float], None], session: requests.Session | None,
                 request_deadline: float | None = None, retry_wait_budget: float = 60.0,
                 on_retry: Callable[[str], None] | None = None) -> None:
        self.base_url = site_url(base_url)
        self.deployment = deployment
        self.timeout = float(timeout)
        self.request_deadline = float(request_deadline) if request_deadline else 3 * self.timeout
        self.max_retries = max(0, int(max_retries))
        self.backoff_base, self.backoff_cap, self.max_retry_after = backoff_base, backoff_cap, max_retry_after
        self.retry_wait_budget = max(0.0, float(retry_wait_budget))
        self.on_retry = on_retry
        self.request_count = 0
        self._sleep = sleep
        self._limiter = RateLimiter(requests_per_second)
        self._count_lock = threading.Lock()
        self._headers = {"Accept": "application/json"}
        self._secrets: list[str] = []
        if deployment == "datacenter" and pat:
            self._headers["Authorization"] = f"Bearer {pat}"
            self._secrets = [pat]
        elif email and (api_token or pat):
            secret = api_token or pat or ""
            basic = base64.b64encode(f"{email}:{secret}".encode()).decode("ascii")
            self._headers["Authorization"] = f"Basic {basic}"
            self._secrets = [secret, basic]
        self._session = session or _new_session(max_concurrency)

    def budget(self, cancel: threading.Event | None = None, seconds: float | None = None) -> FetchBudget:
        """A fresh ``FetchBudget`` for one fetch: ``seconds`` in total and this site's retry-wait budget."""
        return FetchBudget(cancel, seconds=seconds, retry_wait_seconds=self.retry_wait_budget)

    def request(self, method: str, path: str, *, params: dict | None = None, body: dict | None = None,
                budget: FetchBudget | None = None, retries: int | None = None,
                deadline: float | None = None) -> Any:
        """One Jira call with retries: the decoded JSON, or JiraError / FetchCancelled.

        ``budget`` is the fetch this call belongs to (a fresh one when ``None``); ``deadline`` overrides
        ``request_deadline`` (seconds) for this call.
        """
        budget = budget or self.budget()
        allowed = self.max_retries if retries is None else max(0, int(retries))
        attempt = 0
        while True:
            try:
                return self._attempt(method, path, params, body, budget, deadline or self.request_deadline)
            except _Transient as failure:
                attempt += 1
                if attempt > allowed:
                    raise self._final_error(failure, allowed) from None
                pause = self._pause_for(failure, attempt, budget)
                self._announce_retry(failure, method, path, attempt, allowed, pause)
                budget.pause(pause, self._sleep)

    def scrub(self, text: str) -> str:
        """``text`` with every secret of this connection replaced by ``***``.

        Like the log redaction, secrets shorter than ``MIN_SECRET_LENGTH`` are not searched for: a one-letter
        test token would otherwise blank out that letter in every message Jira sends.
        """
        for secret in self._secrets:
            if secret and len(secret) >= MIN_SECRET_LENGTH:
                text = text.replace(secret, "***")
        return text

    def _attempt(self, method: str, path: str, params: dict | None, body: dict | None, budget: FetchBudget,
                 request_deadline: float) -> Any:
        budget.check()
        self._limiter.acquire()
        budget.check()
        with self._count_lock:
            self.request_count += 1
        # The watch ends dribbling answers; a silent server is left to the read timeout (clipped to the same
        # deadline), which fires first and says "no answer".
        sent = send_watched(self._session, method, self.base_url + path, budget=budget, timeout=self.timeout,
                            request_deadline=request_deadline, params=params, json=body, headers=self._headers)
        if sent.failure is not None:
            if sent.past_deadline:
                if (sent.reason is None and sent.deadline < budget.deadline
                        and isinstance(sent.failure, requests.exceptions.Timeout)):  # silence, not a dribble
                    raise unreachable_error(self.base_url, f"no answer within {sent.read_timeout:g} s") from None
                raise self._too_slow(budget, sent.deadline, request_deadline) from None
            raise self._connection_failure(sent.failure, sent.connect_timeout) from None
        response = sent.response
        status = response.status_code
        log.debug("%s %s -> %d in %.0f ms", method, path, status, (time.monotonic() - sent.started) * 1000)
        if 200 <= status < 300:
            return self._decode(response)
        messages = response_messages(response, self.scrub)
        if status == 429 or status >= 500:
            raise _Transient(status, messages, retry_after_seconds(response.headers.get("Retry-After")))
        raise JiraError(status, messages, status_hint(status, response.headers, self.deployment, self.scrub))

    def _connection_failure(self, failure: Exception, connect_timeout: float) -> Exception:
        if isinstance(failure, requests.exceptions.SSLError):
            return unreachable_error(self.base_url, "TLS/SSL problem: is the certificate trusted?")
        if isinstance(failure, requests.exceptions.ConnectTimeout):
            return _Transient(None, [], None, f"no connection within {connect_timeout:g} s")
        if isinstance(failure, requests.exceptions.Timeout):
            return _Transient(None, [], None, f"no answer within {self.timeout:g} s")
        if isinstance(failure, requests.exceptions.ConnectionError | requests.exceptions.ChunkedEncodingError
                      | OSError | HTTPException):
            detail = connection_detail(failure)
            if detail in PERMANENT_CONNECTION_FAILURES:
                return unreachable_error(self.base_url, detail)
            return _Transient(None, [], None, detail)
        return unreachable_error(self.base_url, type(failure).__name__)

    def _too_slow(self, budget: FetchBudget, deadline: float, request_deadline: float) -> JiraError:
        if deadline >= budget.deadline:
            return budget.exceeded()
        return JiraError(None, [], f"Jira at {self.base_url} is answering too slowly: one answer took longer "
                                   f"than {request_deadline:g} s and was stopped. Try again later, and check "
                                   "the network or proxy if it keeps happening.")

    def _decode(self, response: requests.Response) -> Any:
        if response.status_code == 204 or not response.content:
            return {}
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            pass
        try:  # numbers orjson refuses (an integer of thousands of digits, NaN): kept as text or null
            return json.loads(response.content, parse_int=_json_int, parse_constant=lambda _: None)
        except (ValueError, RecursionError):
            raise JiraError(response.status_code, response_messages(response, self.scrub),
                            "Jira answered with something that is not JSON: check the Jira URL "
                            "(the site root, e.g. https://your-site.atlassian.net).") from None

    def _pause_for(self, failure: _Transient, attempt: int, budget: FetchBudget) -> float:
        """The wait before retry ``attempt``, taken from the budget; the final JiraError when none is left."""
        left = budget.wait_left
        if failure.retry_after is not None:
            if failure.retry_after > self.max_retry_after or failure.retry_after > left:
                detail = f"asked to wait {failure.retry_after:.0f} s"
                if failure.retry_after <= self.max_retry_after:
                    detail += f", more than the {left:.0f} s this update may still wait"
                raise JiraError(failure.status, failure.messages,
                                rate_limit_hint(failure.status or 429, detail)) from None
            pause = failure.retry_after
        else:
            if left <= 0:
                raise self._final_error(failure, attempt - 1) from None
            bound = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
            pause = min(random.uniform(0, bound), left)
        budget.reserve_wait(pause)
        return pause

    def _announce_retry(self, failure: _Transient, method: str, path: str, attempt: int, allowed: int,
                        pause: float) -> None:
        reason = f"Jira busy (HTTP {failure.status})" if failure.status else f"Jira not answering ({failure.detail})"
        shown = f"{pause:.0f}" if pause >= 10 or float(pause).is_integer() else f"{pause:.1f}"
        message = f"{reason}, retry {attempt} of {allowed} in {shown} s"
        log.warning("%s (%s %s)", message, method, path)
        if self.on_retry is not None:
            try:
                self.on_retry(message)
            except Exception:  # a progress display must never break the fetch
                log.exception("The retry progress callback failed")

    def _final_error(self, failure: _Transient, retries: int) -> JiraError:
        if failure.status is None:
            return unreachable_error(self.base_url, failure.detail)
        if failure.status == 429:
            hint = rate_limit_hint(429, f"still refused after {retries} retries")
        else:
            hint = f"Jira had a server problem (still failing after {retries} retries): try again later."
        return JiraError(failure.status, failure.messages, hint)


def _json_int(text: str) -> int | str:
    """A JSON integer as ``int`` when it fits 64 bits (what the stores can write), else kept as its text."""
    if len(text) > 20:
        return text
    number = int(text)
    return number if -2**63 <= number < 2**64 else text


def _new_session(concurrency: int) -> requests.Session:
    session = requests.Session()
    adapter = WatchedAdapter(pool_connections=2, pool_maxsize=max(10, concurrency * 2))
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = "dora-flow-dashboard"
    return session


def site_url(base_url: str) -> str:
    """The site root without credentials, query or trailing slash; ValueError unless an http(s) URL."""
    parts = urlsplit(str(base_url).strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("The Jira URL must look like https://your-site.atlassian.net")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path.rstrip('/')}"


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds from now: a number of seconds or an HTTP date (``None`` if neither)."""
    if not value:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
