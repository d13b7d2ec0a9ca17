"""One Jira site over one ``requests.Session``: authentication, rate limiting, retries and decoding.

429, 5xx, connection failures and timeouts are retried (``Retry-After`` honoured, else exponential backoff
with full jitter); other 4xx are not. A thread-safe rate limiter spaces all requests. No token or PAT ever
appears in an error, a repr or a log line.
"""

from __future__ import annotations

import base64
import email.utils
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests
import tenacity
from requests.adapters import HTTPAdapter

from data.sources.base import FetchCancelled
from data.sources.jira_errors import (
    JiraError,
    connection_detail,
    rate_limit_hint,
    response_messages,
    status_hint,
    unreachable_error,
)

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10.0


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
    """Authenticated, rate-limited, retried JSON calls to one Jira site.

    ``sleep`` serves the retry waits (tests inject a recorder); with the default ``time.sleep`` a wait ends
    early when the fetch's cancel event is set. A ``Retry-After`` longer than ``max_retry_after`` seconds
    fails at once with the rate-limit hint rather than freezing an update. ``request_count`` counts every
    HTTP request sent, retries included.
    """

    def __init__(self, base_url: str, deployment: str, *, email: str | None, api_token: str | None,
                 pat: str | None, timeout: float, max_concurrency: int, requests_per_second: float | None,
                 max_retries: int, backoff_base: float, backoff_cap: float, max_retry_after: float,
                 sleep: Callable[[float], None], session: requests.Session | None) -> None:
        self.base_url = site_url(base_url)
        self.deployment = deployment
        self.timeout = float(timeout)
        self._timeouts = (min(self.timeout, CONNECT_TIMEOUT), self.timeout)
        self.max_retries = max(0, int(max_retries))
        self.backoff_base, self.backoff_cap, self.max_retry_after = backoff_base, backoff_cap, max_retry_after
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

    def request(self, method: str, path: str, *, params: dict | None = None, body: dict | None = None,
                cancel: threading.Event | None = None, retries: int | None = None) -> Any:
        """One Jira call with retries: the decoded JSON, or JiraError / FetchCancelled."""
        allowed = self.max_retries if retries is None else retries
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(allowed + 1),
            wait=self._retry_wait,
            retry=tenacity.retry_if_exception_type(_Transient),
            sleep=lambda seconds: self._pause(seconds, cancel),
            before_sleep=lambda state: self._log_retry(state, method, path, allowed),
            reraise=True,
        )
        try:
            return retrying(self._attempt, method, path, params, body, cancel)
        except _Transient as failure:
            raise self._final_error(failure, allowed) from None

    def scrub(self, text: str) -> str:
        """``text`` with every secret of this connection replaced by ``***``."""
        for secret in self._secrets:
            if secret:
                text = text.replace(secret, "***")
        return text

    def _attempt(self, method: str, path: str, params: dict | None, body: dict | None,
                 cancel: threading.Event | None) -> Any:
        if cancel is not None and cancel.is_set():
            raise FetchCancelled("the fetch was cancelled")
        self._limiter.acquire()
        with self._count_lock:
            self.request_count += 1
        started = time.perf_counter()
        try:
            response = self._session.request(method, self.base_url + path, params=params, json=body,
                                             headers=self._headers, timeout=self._timeouts)
        except requests.exceptions.SSLError:
            raise unreachable_error(self.base_url, "TLS/SSL problem: is the certificate trusted?") from None
        except requests.exceptions.ConnectTimeout:
            raise _Transient(None, [], None, f"no connection within {self._timeouts[0]:g} s") from None
        except requests.exceptions.Timeout:
            raise _Transient(None, [], None, f"no answer within {self.timeout:g} s") from None
        except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise _Transient(None, [], None, connection_detail(exc)) from None
        except requests.exceptions.RequestException as exc:
            raise unreachable_error(self.base_url, type(exc).__name__) from None
        status = response.status_code
        log.debug("%s %s -> %d in %.0f ms", method, path, status, (time.perf_counter() - started) * 1000)
        if 200 <= status < 300:
            return self._decode(response)
        messages = response_messages(response, self.scrub)
        if status == 429 or status >= 500:
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            if retry_after is not None and retry_after > self.max_retry_after:
                hint = rate_limit_hint(status, f"asked to wait {retry_after:.0f} s")
                raise JiraError(status, messages, hint)
            raise _Transient(status, messages, retry_after)
        raise JiraError(status, messages, status_hint(status, response.headers, self.deployment, self.scrub))

    def _decode(self, response: requests.Response) -> Any:
        if response.status_code == 204 or not response.content:
            return {}
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise JiraError(response.status_code, response_messages(response, self.scrub),
                            "Jira answered with something that is not JSON: check the Jira URL "
                            "(the site root, e.g. https://your-site.atlassian.net).") from None

    def _retry_wait(self, state: tenacity.RetryCallState) -> float:
        failure = state.outcome.exception() if state.outcome else None
        if isinstance(failure, _Transient) and failure.retry_after is not None:
            return failure.retry_after
        return tenacity.wait_random_exponential(multiplier=self.backoff_base, max=self.backoff_cap)(state)

    def _pause(self, seconds: float, cancel: threading.Event | None) -> None:
        if cancel is not None and self._sleep is time.sleep:
            if cancel.wait(seconds):
                raise FetchCancelled("the fetch was cancelled")
            return
        self._sleep(seconds)

    def _log_retry(self, state: tenacity.RetryCallState, method: str, path: str, allowed: int) -> None:
        failure = state.outcome.exception() if state.outcome else None
        if isinstance(failure, _Transient):
            reason = f"HTTP {failure.status}" if failure.status else failure.detail
        else:
            reason = type(failure).__name__
        pause = state.next_action.sleep if state.next_action else 0.0
        log.warning("Jira %s on %s %s; retry %d of %d in %.1f s", reason, method, path,
                    state.attempt_number, allowed, pause)

    def _final_error(self, failure: _Transient, retries: int) -> JiraError:
        if failure.status is None:
            return unreachable_error(self.base_url, failure.detail)
        if failure.status == 429:
            hint = rate_limit_hint(429, f"still refused after {retries} retries")
        else:
            hint = f"Jira had a server problem (still failing after {retries} retries): try again later."
        return JiraError(failure.status, failure.messages, hint)


def _new_session(concurrency: int) -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=2, pool_maxsize=max(10, concurrency * 2))
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
