"""Time limits of the sources' HTTP calls (Jira and Azure DevOps): the budget of one fetch, the watchdog that
ends a request past its deadline, and ``send_watched``, one request under both.

requests' ``timeout`` bounds each socket read, not the whole answer: a server sending one byte every few
seconds keeps a request alive for hours. Every request therefore runs under a ``RequestWatch``, a small
thread that shuts the connection's socket down once the request's deadline passes or the fetch is
cancelled; the blocked read then ends at once with a connection error, which the caller turns into a
plain ``JiraError`` or ``FetchCancelled``. The watch finds the socket through the connection classes of
``tracked_adapter``: each connection records itself on the watch of its thread when a request starts on it.

A ``FetchBudget`` holds the limits of one public call of the client (a whole ``search_issues``): its
cancel event, its total deadline and the seconds it may still spend waiting between retries.
"""

from __future__ import annotations

import contextlib
import math
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.client import HTTPException
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from data.sources.base import FetchCancelled
from data.sources.jira_errors import JiraError

WATCH_POLL_SECONDS = 0.05
CONNECT_TIMEOUT = 10.0
WATCH_GRACE_SECONDS = 0.1  # the read timeout (same deadline) fires first on a silent server: it says "no answer"
CANCELLED_MESSAGE = "the fetch was cancelled"
_current = threading.local()


class FetchBudget:
    """The limits of one fetch: ``cancel`` (may be ``None``), ``seconds`` of total time (``None``: no limit)
    and ``retry_wait_seconds`` of waiting between retries, shared by every request of the fetch."""

    def __init__(self, cancel: threading.Event | None, *, seconds: float | None, retry_wait_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.cancel = cancel
        self.seconds = seconds
        self._clock = clock
        self.deadline = clock() + seconds if seconds else math.inf
        self._wait_left = max(0.0, float(retry_wait_seconds))
        self._lock = threading.Lock()

    @property
    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    @property
    def wait_left(self) -> float:
        """Seconds of retry waiting this fetch may still spend."""
        with self._lock:
            return self._wait_left

    def check(self) -> None:
        """Raise ``FetchCancelled`` when cancelled, the budget's ``JiraError`` when its time is up."""
        if self.cancelled:
            raise FetchCancelled(CANCELLED_MESSAGE)
        if self._clock() >= self.deadline:
            raise self.exceeded()

    def exceeded(self) -> JiraError:
        return JiraError(None, [], f"The Jira fetch was stopped after {self.seconds:g} s, its time budget "
                                   "(jira.fetch_budget_seconds): Jira is answering very slowly. Try again "
                                   "later, narrow the JQL, or raise the budget in the settings.")

    def reserve_wait(self, seconds: float) -> bool:
        """Take ``seconds`` from the retry-wait budget; ``False`` (nothing taken) when not that much is left."""
        with self._lock:
            if seconds > self._wait_left + 1e-9:
                return False
            self._wait_left = max(0.0, self._wait_left - seconds)
            return True

    def pause(self, seconds: float, sleep: Callable[[float], None]) -> None:
        """Wait ``seconds`` between retries: with ``time.sleep`` the wait ends early on cancel (then
        ``FetchCancelled``) and never runs past the deadline; an injected ``sleep`` is called as is."""
        if sleep is time.sleep:
            seconds = min(seconds, max(0.0, self.deadline - self._clock()))
            if self.cancel is not None:
                self.cancel.wait(seconds)
            else:
                time.sleep(seconds)
        else:
            sleep(seconds)
        self.check()


class RequestWatch:
    """Ends the request of the thread that enters it once ``deadline`` (monotonic) passes or ``cancel``
    is set; ``reason`` then says which (``"deadline"`` or ``"cancelled"``), else stays ``None``."""

    def __init__(self, deadline: float, cancel: threading.Event | None) -> None:
        self.deadline, self.cancel = deadline, cancel
        self.reason: str | None = None
        self._connection: HTTPConnection | None = None
        self._socket: socket.socket | None = None
        self._done = False
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="jira-request-watch", daemon=True)

    def __enter__(self) -> RequestWatch:
        _current.watch = self
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        _current.watch = None
        with self._lock:
            self._done = True
        self._wake.set()

    def attach(self, connection: HTTPConnection, sent: bool = False) -> None:
        """Called by a watched connection of this watch's thread when a request starts on it and once it is
        sent (the socket is then known; the connection may drop its reference while the answer is read)."""
        with self._lock:
            self._connection = connection
            if sent:
                self._socket = connection.sock
        if self.reason is not None:
            self._shut()

    def _run(self) -> None:
        while True:
            remaining = self.deadline - time.monotonic()
            pause = WATCH_POLL_SECONDS if self.reason else max(0.0, min(WATCH_POLL_SECONDS, remaining))
            if self._wake.wait(pause):
                return
            if self.reason is None:
                if self.cancel is not None and self.cancel.is_set():
                    self.reason = "cancelled"
                elif time.monotonic() >= self.deadline:
                    self.reason = "deadline"
            if self.reason is not None:
                self._shut()  # again on every poll: the socket may only appear once connected

    def _shut(self) -> None:
        with self._lock:
            if self._done:
                return
            sock = self._socket or getattr(self._connection, "sock", None)
            if sock is None:
                return
            with contextlib.suppress(OSError):  # the plain socket's shutdown, also under TLS: the blocked
                socket.socket.shutdown(sock, socket.SHUT_RDWR)  # read wakes with end-of-file


def _watched_request(connection: HTTPConnection, send: Callable[[], None]) -> None:
    watch = getattr(_current, "watch", None)
    if watch is not None:
        watch.attach(connection)
    send()
    if watch is not None:
        watch.attach(connection, sent=True)


class _WatchedHTTPConnection(HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _watched_request(self, lambda: super(_WatchedHTTPConnection, self).request(*args, **kwargs))


class _WatchedHTTPSConnection(HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _watched_request(self, lambda: super(_WatchedHTTPSConnection, self).request(*args, **kwargs))


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class WatchedAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose connections a ``RequestWatch`` can shut down (direct and HTTP proxies)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = dict(_POOLS)
        return manager


@dataclass(frozen=True)
class Sent:
    """One watched request: the ``response``, or the ``failure`` that ended it (with ``reason``, the watch's:
    ``"deadline"`` when it shut a dribbling answer down, else ``None``), and the limits it ran under."""

    response: requests.Response | None
    failure: Exception | None
    reason: str | None
    started: float
    deadline: float
    read_timeout: float
    connect_timeout: float

    @property
    def past_deadline(self) -> bool:
        return self.reason == "deadline" or time.monotonic() >= self.deadline


def send_watched(session: requests.Session, method: str, url: str, *, budget: FetchBudget, timeout: float,
                 request_deadline: float, **request_args: Any) -> Sent:
    """``session.request`` under a ``RequestWatch``: the read timeout and the watch both end at
    ``request_deadline`` seconds from now (or the fetch's deadline, if sooner). ``FetchCancelled`` once the
    fetch is cancelled; any other failure is returned for the client to word in its source's terms."""
    started = time.monotonic()
    deadline = min(started + request_deadline, budget.deadline)
    read_timeout = max(0.001, min(timeout, deadline - started))
    connect_timeout = min(read_timeout, CONNECT_TIMEOUT)
    response, failure = None, None
    with RequestWatch(deadline + WATCH_GRACE_SECONDS, budget.cancel) as watch:
        try:
            response = session.request(method, url, timeout=(connect_timeout, read_timeout), **request_args)
        except (requests.exceptions.RequestException, OSError, HTTPException) as exc:
            failure = exc
    if failure is not None and (watch.reason == "cancelled" or budget.cancelled):
        raise FetchCancelled(CANCELLED_MESSAGE) from None
    return Sent(response, failure, watch.reason, started, deadline, read_timeout, connect_timeout)

