"""Jira REST client for Cloud (``/rest/api/3/search/jql``) and Data Center (``/rest/api/2/search``).

Contract (``/work/shared/JIRA_API.md`` lists the Jira behaviour it copes with):

- ``search_issues`` returns every matching issue once (de-duplicated by id, the newest ``updated`` wins),
  each with a **complete changelog in one normal form**:
  ``{"startAt": 0, "maxResults": n, "total": n, "histories": [...]}``, histories **oldest first** (by the
  instant of ``created``, then by history id), every ``created`` a Jira date-time string
  (``2025-01-15T10:00:00.000+0000``; epoch numbers become UTC strings).
  Jira inlines changelogs newest first and truncated; truncated ones are completed here. Cloud uses
  ``/changelog/bulkfetch`` with ``fieldIds=["status"]``: such an issue then holds every status change plus
  the histories Jira had inlined (the dashboard reads only status changes). Where bulkfetch is missing
  (404/405), and always on Data Center, the per-issue ``/issue/{key}/changelog`` gives the full history.
  An issue Jira reports as gone (404) while its changelog is completed is left out of the result.
- Failures raise ``JiraError`` (Jira's own messages and a plain-language hint); a set cancel event raises
  ``FetchCancelled``. No token or PAT ever appears in an error, a repr or a log line.
- 429, 5xx, connection failures and timeouts are retried (``Retry-After`` honoured, else exponential
  backoff with full jitter); other 4xx are not. A thread-safe rate limiter spaces all requests.
"""

from __future__ import annotations

import base64
import email.utils
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import orjson
import requests
import tenacity
from requests.adapters import HTTPAdapter

log = logging.getLogger(__name__)

Progress = Callable[[int, int | None], None]

JIRA_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f%z"
CHANGELOG_PAGE_SIZE = 100
CONNECT_TIMEOUT = 10.0
BULKFETCH_BATCH = 1000
ID_LISTING_PAGE_SIZE = 1000
_MAX_MESSAGES = 10
_MAX_MESSAGE_CHARS = 300
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_END = object()


class FetchCancelled(Exception):
    """The caller's cancel event was set: the fetch stopped between requests and returned nothing."""


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


class JiraClient:
    """One Jira site over one ``requests.Session``; safe for the concurrent paging it does itself.

    ``sleep`` serves the retry waits (tests inject a recorder); with the default ``time.sleep`` a wait ends
    early when the fetch's cancel event is set. A ``Retry-After`` longer than ``max_retry_after`` seconds
    fails at once with the rate-limit hint rather than freezing an update. ``request_count`` counts every
    HTTP request sent, retries included.
    """

    def __init__(self, base_url: str, deployment: str = "cloud", *, email: str | None = None,
                 api_token: str | None = None, pat: str | None = None, timeout: float = 30.0,
                 page_size: int = 100, max_concurrency: int = 4, requests_per_second: float | None = 10.0,
                 max_retries: int = 4, backoff_base: float = 5.0, backoff_cap: float = 30.0,
                 max_retry_after: float = 120.0, sleep: Callable[[float], None] = time.sleep,
                 session: requests.Session | None = None) -> None:
        if deployment not in ("cloud", "datacenter"):
            raise ValueError(f'deployment must be "cloud" or "datacenter" (got {deployment!r})')
        self.base_url = _site_url(base_url)
        self.deployment = deployment
        self.api = "/rest/api/3" if deployment == "cloud" else "/rest/api/2"
        self.timeout, self.page_size = float(timeout), max(1, int(page_size))
        self._timeouts = (min(self.timeout, CONNECT_TIMEOUT), self.timeout)
        self.max_concurrency, self.max_retries = max(1, int(max_concurrency)), max(0, int(max_retries))
        self.backoff_base, self.backoff_cap, self.max_retry_after = backoff_base, backoff_cap, max_retry_after
        self.request_count = 0
        self._sleep = sleep
        self._limiter = RateLimiter(requests_per_second)
        self._count_lock = threading.Lock()
        self._bulkfetch_available = deployment == "cloud"
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
        self._session = session or _new_session(self.max_concurrency)

    def __repr__(self) -> str:
        return f"JiraClient(base_url={self.base_url!r}, deployment={self.deployment!r})"

    # ------------------------------------------------------------------ public API

    def search_issues(self, jql: str, fields: Sequence[str], *, progress: Progress | None = None,
                      cancel: threading.Event | None = None) -> list[dict]:
        """Every issue matching ``jql`` with the requested ``fields`` and a complete changelog (see above).

        ``progress(done, total)`` follows each page of issues; ``total`` is ``None`` while unknown. Cloud
        asks ``/search/approximate-count`` only when a second page is needed; a failed count is not fatal.
        """
        started, requests_before = time.perf_counter(), self.request_count
        issues, pages = self._search(jql, list(fields), "changelog", self.page_size, progress, cancel)
        issues = _dedupe(issues)
        completed, gone = self._complete_changelogs(issues, cancel)
        if gone:
            issues = [issue for issue in issues if str(issue.get("id")) not in gone]
        log.info("Jira search: %d issues in %d pages, %d changelogs completed, %d HTTP requests, %.2f s",
                 len(issues), pages, completed, self.request_count - requests_before,
                 time.perf_counter() - started)
        return issues

    def list_issue_ids(self, jql: str, *, cancel: threading.Event | None = None) -> list[tuple[str, str]]:
        """``(id, key)`` of every issue matching ``jql`` (``fields=id``, no changelog), to find deletions."""
        issues, _ = self._search(jql, ["id"], None, ID_LISTING_PAGE_SIZE, None, cancel)
        return [(str(issue.get("id")), str(issue.get("key", ""))) for issue in _dedupe(issues)]

    def count_issues(self, jql: str, *, cancel: threading.Event | None = None) -> int | None:
        """How many issues match (approximate on Cloud); ``None`` when this Jira cannot count."""
        if self.deployment == "datacenter":
            params = {"jql": jql, "startAt": 0, "maxResults": 0, "fields": "id"}
            return _int_or_none(self._request("GET", f"{self.api}/search", params=params, cancel=cancel)
                                .get("total"))
        try:
            answer = self._request("POST", f"{self.api}/search/approximate-count", body={"jql": jql},
                                   cancel=cancel)
        except JiraError as error:
            if error.status in (404, 405):
                return None
            raise
        return _int_or_none(answer.get("count"))

    def get_fields(self) -> list[dict]:
        """``/field`` as ``{field_id, field_name, field_type, items_type, is_custom, schema}`` records.

        ``field_type`` is Jira's ``schema.type`` (``datetime``, ``date``, ``number``, ``string``, ``option``,
        ``array``, ``user``, ``option-with-child``, ...), ``"unknown"`` without a schema; ``items_type`` is
        ``schema.items`` for arrays, else ``None``.
        """
        answer = self._request("GET", f"{self.api}/field")
        fields = answer if isinstance(answer, list) else []
        return [_normalise_field(field) for field in fields if isinstance(field, dict) and field.get("id")]

    def test_connection(self) -> dict:
        """Who Jira says we are (``/myself``): ``{display_name, time_zone, account_id}``; else JiraError."""
        me = self._request("GET", f"{self.api}/myself", retries=min(1, self.max_retries))
        if not isinstance(me, dict) or not me:
            raise JiraError(200, [], "Jira answered /myself with something unexpected: check the Jira URL.")
        return {
            "display_name": me.get("displayName") or me.get("name") or "",
            "time_zone": me.get("timeZone"),
            "account_id": me.get("accountId") or me.get("key") or me.get("name"),
        }

    # ------------------------------------------------------------------ searching

    def _search(self, jql: str, fields: list[str], expand: str | None, page_size: int,
                progress: Progress | None, cancel: threading.Event | None) -> tuple[list[dict], int]:
        search = self._search_cloud if self.deployment == "cloud" else self._search_datacenter
        return search(jql, fields, expand, page_size, progress, cancel)

    def _search_cloud(self, jql: str, fields: list[str], expand: str | None, page_size: int,
                      progress: Progress | None, cancel: threading.Event | None) -> tuple[list[dict], int]:
        body: dict[str, Any] = {"jql": jql, "maxResults": page_size}
        if fields:
            body["fields"] = fields
        if expand:
            body["expand"] = expand
        issues: list[dict] = []
        sent_tokens: set[str] = set()
        pages, total = 0, None
        while True:
            page = self._request("POST", f"{self.api}/search/jql", body=body, cancel=cancel)
            pages += 1
            issues.extend(page.get("issues") or [])
            token = page.get("nextPageToken")
            last = page.get("isLast") is True or not token
            if not last and token in sent_tokens:
                log.warning("Jira repeated a nextPageToken after %d pages; the listing stops there", pages)
                last = True
            if progress is not None:
                if pages == 1 and not last:
                    total = self._approximate_count(jql, cancel)
                known = None if total is None else max(total, len(issues))
                progress(len(issues), len(issues) if last else known)
            if last:
                return issues, pages
            sent_tokens.add(token)
            body = {**body, "nextPageToken": token}

    def _approximate_count(self, jql: str, cancel: threading.Event | None) -> int | None:
        try:
            return self.count_issues(jql, cancel=cancel)
        except JiraError as error:
            log.info("Jira could not count the issues (HTTP %s); no total for the progress", error.status)
            return None

    def _search_datacenter(self, jql: str, fields: list[str], expand: str | None, page_size: int,
                           progress: Progress | None, cancel: threading.Event | None
                           ) -> tuple[list[dict], int]:
        params: dict[str, Any] = {"jql": jql, "startAt": 0, "maxResults": page_size}
        if fields:
            params["fields"] = ",".join(fields)
        if expand:
            params["expand"] = expand
        first = self._request("GET", f"{self.api}/search", params=params, cancel=cancel)
        issues = first.get("issues") or []
        total = _int_or_none(first.get("total"))
        step = _int_or_none(first.get("maxResults")) or len(issues) or page_size
        if progress is not None:
            progress(len(issues), total)
        if not issues or (total is not None and len(issues) >= total):
            return issues, 1
        starts: Iterable[int] = range(step, total, step) if total is not None else _count_from(step, step)

        def fetch(start: int) -> list[dict]:
            page = self._request("GET", f"{self.api}/search", params={**params, "startAt": start,
                                                                      "maxResults": step}, cancel=cancel)
            return page.get("issues") or []

        by_start, done = {0: issues}, len(issues)
        for start, batch in self._bounded(fetch, starts, cancel, stop_after=lambda batch: not batch):
            by_start[start] = batch
            done += len(batch)
            if progress is not None:
                progress(done, total)
        return [issue for start in sorted(by_start) for issue in by_start[start]], len(by_start)

    # ------------------------------------------------------------------ changelogs

    def _complete_changelogs(self, issues: list[dict], cancel: threading.Event | None
                             ) -> tuple[int, set[str]]:
        """Give every issue the normal-form changelog; return (issues completed, ids Jira says are gone)."""
        truncated = [issue for issue in issues if _is_truncated(issue)]
        fetched: dict[str, list[dict]] = {}
        from_bulkfetch = False
        if truncated and self._bulkfetch_available:
            try:
                fetched, from_bulkfetch = self._bulkfetch(truncated, cancel), True
            except JiraError as error:
                if error.status not in (404, 405):
                    raise
                self._bulkfetch_available = False
                log.info("Jira has no changelog bulkfetch (HTTP %s); completing changelogs issue by issue",
                         error.status)
        gone: set[str] = set()
        if truncated and not from_bulkfetch:
            fetched, gone = self._per_issue_changelogs(truncated, cancel)
        for issue in issues:
            inline = _histories(issue)
            full = fetched.get(str(issue.get("id")))
            if full is None:
                full = inline[::-1]
            elif from_bulkfetch:
                full = _merge_histories(full, inline)
            issue["changelog"] = _normal_changelog(full)
        return len(truncated), gone

    def _bulkfetch(self, issues: list[dict], cancel: threading.Event | None) -> dict[str, list[dict]]:
        ids = [str(issue.get("id")) for issue in issues]
        fetched: dict[str, list[dict]] = {issue_id: [] for issue_id in ids}
        for first in range(0, len(ids), BULKFETCH_BATCH):
            body: dict[str, Any] = {"issueIdsOrKeys": ids[first:first + BULKFETCH_BATCH],
                                    "fieldIds": ["status"], "maxResults": BULKFETCH_BATCH}
            sent_tokens: set[str] = set()
            while True:
                page = self._request("POST", f"{self.api}/changelog/bulkfetch", body=body, cancel=cancel)
                for entry in page.get("issueChangeLogs") or []:
                    histories = entry.get("changeHistories") or []
                    fetched.setdefault(str(entry.get("issueId")), []).extend(histories)
                token = page.get("nextPageToken")
                if not token or token in sent_tokens:
                    break
                sent_tokens.add(token)
                body = {**body, "nextPageToken": token}
        return fetched

    def _per_issue_changelogs(self, issues: list[dict], cancel: threading.Event | None
                              ) -> tuple[dict[str, list[dict]], set[str]]:
        def fetch(index: int) -> list[dict] | None:
            reference = str(issues[index].get("key") or issues[index].get("id"))
            path = f"{self.api}/issue/{quote(reference, safe='')}/changelog"
            values: list[dict] = []
            while True:
                params = {"startAt": len(values), "maxResults": CHANGELOG_PAGE_SIZE}
                try:
                    page = self._request("GET", path, params=params, cancel=cancel)
                except JiraError as error:
                    if error.status == 404:
                        return None
                    raise
                batch = page.get("values") or []
                values.extend(batch)
                total = _int_or_none(page.get("total"))
                if not batch or page.get("isLast") is True or (total is not None and len(values) >= total):
                    return values

        fetched: dict[str, list[dict]] = {}
        gone: set[str] = set()
        for index, values in self._bounded(fetch, range(len(issues)), cancel):
            issue_id = str(issues[index].get("id"))
            if values is None:
                log.warning("Jira says issue %s no longer exists; it is left out", issues[index].get("key"))
                gone.add(issue_id)
            else:
                fetched[issue_id] = values
        return fetched, gone

    def _bounded(self, fetch: Callable[[Any], Any], items: Iterable[Any], cancel: threading.Event | None,
                 stop_after: Callable[[Any], bool] = lambda result: False) -> Iterator[tuple[Any, Any]]:
        """Run ``fetch`` over ``items``, at most ``max_concurrency`` at once; yield ``(item, result)`` as each
        ends. Nothing new starts once ``stop_after(result)`` held; a failure is raised in the caller's thread.
        """
        pending = iter(items)
        pool = ThreadPoolExecutor(max_workers=self.max_concurrency, thread_name_prefix="jira-fetch")
        running: dict[Future, Any] = {}
        exhausted = False
        try:
            while True:
                while not exhausted and len(running) < self.max_concurrency:
                    item = next(pending, _END)
                    if item is _END:
                        exhausted = True
                    else:
                        running[pool.submit(fetch, item)] = item
                if not running:
                    return
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    item = running.pop(future)
                    result = future.result()
                    exhausted = exhausted or stop_after(result)
                    yield item, result
                if cancel is not None and cancel.is_set():
                    raise FetchCancelled("the fetch was cancelled")
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ HTTP

    def _request(self, method: str, path: str, *, params: dict | None = None, body: dict | None = None,
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
            raise self._unreachable("TLS/SSL problem: is the certificate trusted?") from None
        except requests.exceptions.ConnectTimeout:
            raise _Transient(None, [], None, f"no connection within {self._timeouts[0]:g} s") from None
        except requests.exceptions.Timeout:
            raise _Transient(None, [], None, f"no answer within {self.timeout:g} s") from None
        except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise _Transient(None, [], None, _connection_detail(exc)) from None
        except requests.exceptions.RequestException as exc:
            raise self._unreachable(type(exc).__name__) from None
        status = response.status_code
        log.debug("%s %s -> %d in %.0f ms", method, path, status, (time.perf_counter() - started) * 1000)
        if 200 <= status < 300:
            return self._decode(response)
        messages = self._messages(response)
        if status == 429 or status >= 500:
            retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
            if retry_after is not None and retry_after > self.max_retry_after:
                hint = _rate_limit_hint(status, f"asked to wait {retry_after:.0f} s")
                raise JiraError(status, messages, hint)
            raise _Transient(status, messages, retry_after)
        raise JiraError(status, messages, self._hint(status, response.headers))

    def _decode(self, response: requests.Response) -> Any:
        if response.status_code == 204 or not response.content:
            return {}
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise JiraError(response.status_code, self._messages(response),
                            "Jira answered with something that is not JSON: check the Jira URL "
                            "(the site root, e.g. https://your-site.atlassian.net).") from None

    def _messages(self, response: requests.Response) -> list[str]:
        text = response.text or ""
        messages: list[str] = []
        try:
            data = response.json()
        except ValueError:
            data = None
        if isinstance(data, dict):
            messages += [str(m) for m in data.get("errorMessages") or [] if m]
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
        return [self._scrub(_truncate(" ".join(m.split()))) for m in messages[:_MAX_MESSAGES]]

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            if secret:
                text = text.replace(secret, "***")
        return text

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
            return self._unreachable(failure.detail)
        if failure.status == 429:
            hint = _rate_limit_hint(429, f"still refused after {retries} retries")
        else:
            hint = f"Jira had a server problem (still failing after {retries} retries): try again later."
        return JiraError(failure.status, failure.messages, hint)

    def _unreachable(self, detail: str) -> JiraError:
        return JiraError(None, [], f"Jira unreachable at {self.base_url} ({detail}): check the URL, the "
                                   "network or proxy, and that Jira is running.")

    def _hint(self, status: int, headers: Any) -> str:
        if status == 400:
            return "Check the JQL (and the field ids it names) in the Jira settings."
        if status == 401:
            return ("Check the email and API token (Cloud) or the personal access token / PAT (Data Center) "
                    "in the Jira settings, and that Cloud or Data Center is chosen correctly.")
        if status == 403:
            reason = headers.get("X-Authentication-Denied-Reason")
            if reason:
                return (f"Jira refused the sign-in ({self._scrub(_truncate(reason))}): after failed logins "
                        "it asks for a CAPTCHA; sign in to Jira once in a browser, then try again.")
            return ("The account lacks permission for this (or Jira wants a CAPTCHA after failed logins): "
                    "check its project permissions, or sign in to Jira once in a browser.")
        if status == 404:
            return ("Not found: check the Jira URL (the site root, e.g. https://your-site.atlassian.net), "
                    "the Cloud / Data Center choice, and that the project or issue exists.")
        if status == 410:
            if self.deployment == "datacenter":
                return "This Jira is Cloud: choose Cloud (email + API token) in the Jira settings."
            return "Jira removed this API: update the dashboard to a newer version."
        return "Jira refused the request: check the Jira settings."


def _new_session(concurrency: int) -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=2, pool_maxsize=max(10, concurrency * 2))
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = "dora-flow-dashboard"
    return session


def _site_url(base_url: str) -> str:
    """The site root without credentials, query or trailing slash; ValueError unless an http(s) URL."""
    parts = urlsplit(str(base_url).strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("The Jira URL must look like https://your-site.atlassian.net")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path.rstrip('/')}"


def _connection_detail(exc: Exception) -> str:
    text = repr(exc).lower()
    if "refused" in text:
        return "connection refused"
    if any(part in text for part in ("name or service not known", "nodename nor servname", "getaddrinfo",
                                     "name resolution", "no address associated")):
        return "host name not found"
    if any(part in text for part in ("reset", "aborted", "remotedisconnected")):
        return "connection dropped"
    return "connection failed"


def _retry_after_seconds(value: str | None) -> float | None:
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


def _rate_limit_hint(status: int, detail: str) -> str:
    return (f"Jira is rate limiting the requests (HTTP {status}, {detail}): wait a few minutes and try "
            "again, or lower the requests per second in the Jira settings.")


def _truncate(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE_CHARS else text[:_MAX_MESSAGE_CHARS - 1] + "…"


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _count_from(start: int, step: int) -> Iterator[int]:
    while True:
        yield start
        start += step


def _normalise_field(field: dict) -> dict:
    schema = field.get("schema") if isinstance(field.get("schema"), dict) else {}
    field_type = schema.get("type") or "unknown"
    field_id = str(field["id"])
    return {
        "field_id": field_id,
        "field_name": str(field.get("name") or field_id),
        "field_type": field_type,
        "items_type": schema.get("items") if field_type == "array" else None,
        "is_custom": bool(field.get("custom")) or field_id.startswith("customfield_"),
        "schema": schema,
    }


def _parse_instant(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        try:
            moment = datetime.strptime(value, JIRA_TIME_FORMAT)
        except ValueError:
            return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _updated(issue: dict) -> float:
    moment = _parse_instant((issue.get("fields") or {}).get("updated"))
    return float("-inf") if moment is None else moment


def _dedupe(issues: list[dict]) -> list[dict]:
    """One issue per id in first-seen order; a later copy replaces it only when its ``updated`` is newer."""
    position: dict[str, int] = {}
    unique: list[dict] = []
    for issue in issues:
        issue_id = str(issue.get("id", issue.get("key")))
        if issue_id not in position:
            position[issue_id] = len(unique)
            unique.append(issue)
        elif _updated(issue) > _updated(unique[position[issue_id]]):
            unique[position[issue_id]] = issue
    return unique


def _histories(issue: dict) -> list[dict]:
    changelog = issue.get("changelog")
    histories = changelog.get("histories") if isinstance(changelog, dict) else None
    return [h for h in histories if isinstance(h, dict)] if isinstance(histories, list) else []


def _is_truncated(issue: dict) -> bool:
    changelog = issue.get("changelog")
    if not isinstance(changelog, dict):
        return True
    total = _int_or_none(changelog.get("total"))
    return total is not None and total > len(_histories(issue))


def _merge_histories(fetched: list[dict], inline: list[dict]) -> list[dict]:
    """Bulkfetch histories (status items only) merged by id with the inline ones, which keep all items."""
    by_id: dict[str, dict] = {}
    without_id: list[dict] = []
    for history in [*fetched, *inline]:
        if history.get("id") is None:
            without_id.append(history)
        else:
            by_id[str(history["id"])] = history
    return [*by_id.values(), *without_id]


def normalise_created(value: Any) -> Any:
    """A Jira date-time string for an epoch number (seconds; milliseconds when huge); others unchanged."""
    if isinstance(value, str) and value[4:5] != "-" and _NUMBER.fullmatch(value.strip()):
        value = float(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000.0 if abs(value) > 1e11 else float(value)
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
    return value


def _history_order(history: dict) -> tuple:
    instant = _parse_instant(history.get("created"))
    history_id = str(history.get("id", ""))
    by_id = (0, int(history_id), "") if history_id.isdigit() else (1, 0, history_id)
    return (instant is None, instant or 0.0, by_id)


def _normal_changelog(histories: list[dict]) -> dict:
    """The normal form: oldest first (instant of ``created``, then history id), ``created`` a Jira string."""
    normal = []
    for history in histories:
        created = normalise_created(history.get("created"))
        normal.append(history if created is history.get("created") else {**history, "created": created})
    normal.sort(key=_history_order)
    return {"startAt": 0, "maxResults": len(normal), "total": len(normal), "histories": normal}
