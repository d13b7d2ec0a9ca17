"""A test Jira server: a WSGI app imitating Jira Cloud or Data Center REST, quirks included, on loopback.

``JiraTestServer(issues, mode="cloud")`` starts at once on ``127.0.0.1`` and a free port (``.url``) in a
background thread. It implements what ``/work/shared/JIRA_API.md`` describes:

- Cloud: ``/rest/api/3/search/jql`` (GET/POST; opaque ``nextPageToken``, ``isLast``, no total; default fields
  ``id`` only; ``expand=changelog`` inlines the newest ``inline_changelog_cap`` histories, newest first, with
  the true ``total``), ``/rest/api/{2,3}/search`` → 410, ``/search/approximate-count``,
  ``/changelog/bulkfetch`` (oldest first, ``fieldIds`` filter, paged by ``maxResults`` over histories, some
  ``created`` as epoch seconds), unbounded JQL → 400.
- Data Center: ``/rest/api/2/search`` (startAt / capped and echoed maxResults / total), Bearer PAT.
- Both: ``/issue/{key}/changelog`` (oldest first, 404 for an unknown issue), ``/field``, ``/myself`` (401 with
  Jira's message on bad credentials), a JQL subset (``tests.jira_server.jql``) with Jira's error texts.

Test hooks: ``.requests`` (method, path, query, json, headers without Authorization, status),
``.inject(status, count, retry_after, path_prefix, delay=, headers=, body=, dribble=)`` queues failures,
delays or answers sent one byte at a time, ``set_issues`` / ``add_issue`` / ``update_issue`` /
``delete_issue`` change the data, ``.stop()``. ``quirks`` switch on misbehaviour seen in the wild (see
``QUIRKS``).
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from tests.jira_server.builders import CLOUD_MYSELF, DATACENTER_MYSELF, DEFAULT_FIELDS, jira_time
from tests.jira_server.jql import JqlError, Query, parse_jql
from tests.jira_server.store import IssueStore, StoredIssue, epoch_ms

UNBOUNDED = "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
NOT_AUTHENTICATED = "Client must be authenticated to access this resource."
NO_SUCH_ISSUE = "Issue does not exist or you do not have permission to see it."
SEARCH_GONE = ("The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full "
               "migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046")
QUIRKS: dict[str, str] = {
    "changelog_endless": "per-issue changelog pages never end: no total, no isLast, always a full page of "
                         "new histories",
    "changelog_repeats": "per-issue changelog ignores startAt: the first page again and again, no total or isLast",
    "inline_total_lies": "the inline changelog of a search claims a total of 1,000,000 histories",
    "search_no_total": "Data Center search answers without total",
    "search_ignores_start": "Data Center search ignores startAt: always the first page",
    "search_endless_tokens": "Cloud search always answers its first page with a new nextPageToken",
    "bulkfetch_endless": "changelog bulkfetch always answers its first page with a new nextPageToken",
}
LYING_TOTAL = 1_000_000
_DEFAULT_BODIES = {429: {"errorMessages": ["Rate limit exceeded."]}, 500: {"errorMessages": ["Internal error."]},
                   503: "Service Unavailable", 502: "Bad Gateway", 504: "Gateway Timeout"}


def _json(status: int, data: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status=status, headers=headers,
                    content_type="application/json;charset=UTF-8")


def _errors(status: int, *messages: str) -> Response:
    return _json(status, {"errorMessages": list(messages), "errors": {}})


class _Bad(Exception):
    """A request error answered as Jira would (``response``)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


class JiraApp:
    """The WSGI application; see the module docstring. Options are documented on ``JiraTestServer``."""

    def __init__(self, store: IssueStore, *, mode: str, email: str, api_token: str, pat: str, page_cap: int,
                 inline_changelog_cap: int, fields: list[dict], myself: dict, anonymous_search: bool,
                 plain_text_401: bool, bulkfetch_status: int | None, bulkfetch_page_cap: int,
                 epoch_created: bool, page_sizes: Sequence[int] | None, now: Callable[[], float],
                 quirks: Iterable[str] = ()) -> None:
        if mode not in ("cloud", "datacenter"):
            raise ValueError(f"mode must be cloud or datacenter, not {mode!r}")
        self.quirks = frozenset(quirks)
        unknown = self.quirks - set(QUIRKS)
        if unknown:
            raise ValueError(f"unknown quirks {sorted(unknown)}; known: {sorted(QUIRKS)}")
        self._endless_tokens = 0
        self.store, self.mode, self.url = store, mode, ""
        self.page_cap, self.inline_cap, self.page_sizes = page_cap, inline_changelog_cap, page_sizes
        self.fields, self.myself, self.now = fields, myself, now
        self.anonymous_search, self.plain_text_401 = anonymous_search, plain_text_401
        self.bulkfetch_status, self.bulkfetch_page_cap = bulkfetch_status, bulkfetch_page_cap
        self.epoch_created = epoch_created
        zone = str(myself.get("timeZone") or "UTC")
        self.tz = UTC if zone == "UTC" else ZoneInfo(zone)
        if mode == "cloud":
            secret = base64.b64encode(f"{email}:{api_token}".encode()).decode()
            self._accepted_auth = f"Basic {secret}"
        else:
            self._accepted_auth = f"Bearer {pat}"
        self.requests: list[dict] = []
        self._injected: list[dict] = []
        self._lock = threading.Lock()
        version = "[23]" if mode == "cloud" else "2"
        routes: list[tuple[str, tuple[str, ...], Callable[..., Response]]] = [
            (rf"/rest/api/{version}/issue/(?P<reference>[^/]+)/changelog", ("GET",), self.issue_changelog),
            (rf"/rest/api/{version}/field", ("GET",), self.field),
            (rf"/rest/api/{version}/myself", ("GET",), self.get_myself),
        ]
        if mode == "cloud":
            routes += [
                (r"/rest/api/3/search/jql", ("GET", "POST"), self.search_jql),
                (r"/rest/api/3/search/approximate-count", ("POST",), self.approximate_count),
                (r"/rest/api/[23]/search", ("GET", "POST"), self.search_gone),
                (r"/rest/api/3/changelog/bulkfetch", ("POST",), self.bulkfetch),
            ]
        else:
            routes.append((r"/rest/api/2/search", ("GET", "POST"), self.search_datacenter))
        self._routes = [(re.compile(pattern), methods, handler) for pattern, methods, handler in routes]

    # ------------------------------------------------------------------ plumbing

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        body: Any = None
        try:
            body = self._body(request)
            response = self._respond(request, body)
        except _Bad as bad:
            response = bad.response
        except Exception as exc:  # the test server must answer, and say what broke
            response = Response(f"test server error: {exc!r}", status=500, content_type="text/plain")
        headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
        with self._lock:
            self.requests.append({"method": request.method, "path": request.path,
                                  "query": {k: ",".join(request.args.getlist(k)) for k in request.args},
                                  "json": body, "headers": headers, "status": response.status_code})
        return response(environ, start_response)

    def _body(self, request: Request) -> Any:
        if request.method != "POST":
            return None
        raw = request.get_data()
        if not raw:
            return {}
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise _Bad(_errors(400, "Unexpected character in the request body: it must be JSON.")) from None

    def _respond(self, request: Request, body: Any) -> Response:
        injected = self._take_injection(request.path)
        if injected is not None:
            if injected["delay"]:
                time.sleep(injected["delay"])
            if injected["status"] is not None:
                response = self._injected_response(injected)
            else:
                response = self._route(request, body)
            return _dribbled(response, injected["dribble"]) if injected["dribble"] else response
        return self._route(request, body)

    def _route(self, request: Request, body: Any) -> Response:
        for pattern, methods, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if match:
                if request.method not in methods:
                    return Response(status=405, headers={"Allow": ", ".join(methods)})
                return handler(request, body or {}, **match.groupdict())
        return _json(404, {"message": f"null for uri: {self.url}{request.path}", "status-code": 404})

    def inject(self, status: int | None, count: int = 1, retry_after: int | str | None = None,
               path_prefix: str | None = None, *, delay: float = 0.0, headers: dict[str, str] | None = None,
               body: Any = None, dribble: float = 0.0) -> None:
        with self._lock:
            self._injected.append({"status": status, "count": count, "retry_after": retry_after,
                                   "prefix": path_prefix or "", "delay": delay, "headers": headers or {},
                                   "body": body, "dribble": dribble})

    def _take_injection(self, path: str) -> dict | None:
        with self._lock:
            for entry in self._injected:
                if path.startswith(entry["prefix"]):
                    entry["count"] -= 1
                    if entry["count"] <= 0:
                        self._injected.remove(entry)
                    return entry
        return None

    def _injected_response(self, entry: dict) -> Response:
        status = entry["status"]
        headers = dict(entry["headers"])
        if entry["retry_after"] is not None:
            headers["Retry-After"] = str(entry["retry_after"])
        if status == 429:
            headers.update({"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "0", "X-RateLimit-NearLimit": "true"})
        body = entry["body"] if entry["body"] is not None else _DEFAULT_BODIES.get(status, "")
        if isinstance(body, str):
            return Response(body, status=status, headers=headers, content_type="text/plain;charset=UTF-8")
        return _json(status, body, headers)

    def _authenticated(self, request: Request) -> bool:
        return request.headers.get("Authorization") == self._accepted_auth

    def _unauthorized(self) -> Response:
        if self.plain_text_401:
            return Response(NOT_AUTHENTICATED, status=401, content_type="text/plain;charset=UTF-8")
        return _errors(401, NOT_AUTHENTICATED)

    def _query(self, jql: str, *, bounded: bool) -> list[StoredIssue]:
        try:
            query = self._parse(jql)
        except JqlError as error:
            raise _Bad(_errors(400, str(error))) from None
        if bounded and not query.bounded:
            raise _Bad(_errors(400, UNBOUNDED))
        return self.store.search(jql, self._parse)

    def _parse(self, jql: str) -> Query:
        return parse_jql(jql, tz=self.tz, now_ms=lambda: int(self.now() * 1000))

    # ------------------------------------------------------------------ searching

    def search_jql(self, request: Request, body: dict) -> Response:
        options = self._search_options(request, body)
        if not self._authenticated(request):
            return _json(200, {"issues": [], "isLast": True}) if self.anonymous_search else self._unauthorized()
        jql = str(options.get("jql") or "")
        found = self._query(jql, bounded=True)
        offset, page = _read_token(options.get("nextPageToken"), jql)
        size = max(1, min(_int(options.get("maxResults"), 50), self.page_cap))
        if self.page_sizes:
            size = min(size, self.page_sizes[page % len(self.page_sizes)])
        if "search_endless_tokens" in self.quirks:
            offset = 0
        chunk = found[offset:offset + size]
        answer: dict[str, Any] = {"issues": [self._render(issue, "3", options, cloud=True) for issue in chunk]}
        if "search_endless_tokens" in self.quirks:
            answer.update(nextPageToken=self._next_endless_token(jql), isLast=False)
        elif offset + len(chunk) < len(found):
            answer["nextPageToken"] = _make_token(offset + len(chunk), page + 1, jql)
            answer["isLast"] = False
        else:
            answer["isLast"] = True
        return _json(200, answer)

    def approximate_count(self, request: Request, body: dict) -> Response:
        if not self._authenticated(request):
            return _json(200, {"count": 0}) if self.anonymous_search else self._unauthorized()
        return _json(200, {"count": len(self._query(str(body.get("jql") or ""), bounded=True))})

    def search_gone(self, request: Request, body: dict) -> Response:
        return _errors(410, SEARCH_GONE)

    def search_datacenter(self, request: Request, body: dict) -> Response:
        options = self._search_options(request, body)
        start, wanted = _int(options.get("startAt"), 0), _int(options.get("maxResults"), 50)
        if start < 0 or wanted < 0:
            return _errors(400, "startAt and maxResults must not be negative.")
        size = min(wanted, self.page_cap)
        if not self._authenticated(request):
            if self.anonymous_search:
                return _json(200, {"startAt": start, "maxResults": size, "total": 0, "issues": []})
            return self._unauthorized()
        found = self._query(str(options.get("jql") or ""), bounded=False)
        first = 0 if "search_ignores_start" in self.quirks else start
        issues = [self._render(issue, "2", options, cloud=False) for issue in found[first:first + size]]
        answer = {"expand": "schema,names", "startAt": start, "maxResults": size, "total": len(found),
                  "issues": issues}
        if "search_no_total" in self.quirks:
            del answer["total"]
        return _json(200, answer)

    def _search_options(self, request: Request, body: dict) -> dict[str, Any]:
        if request.method == "POST":
            options = dict(body)
        else:
            options = {key: request.args.get(key) for key in request.args}
            options["fields"] = [part for value in request.args.getlist("fields") for part in value.split(",")]
        fields = options.get("fields")
        options["fields"] = [f.strip() for f in (fields.split(",") if isinstance(fields, str) else fields or [])
                             if f.strip()]
        expand = options.get("expand") or []
        options["expand"] = {e.strip() for e in (expand.split(",") if isinstance(expand, str) else expand)}
        return options

    def _render(self, issue: StoredIssue, version: str, options: dict[str, Any], *, cloud: bool) -> dict:
        requested: list[str] = options["fields"]
        rendered: dict[str, Any]
        if cloud and not requested:
            rendered = {"id": issue.id}
        else:
            rendered = {"expand": "operations,changelog,renderedFields", "id": issue.id,
                        "self": f"{self.url}/rest/api/{version}/issue/{issue.id}", "key": issue.key,
                        "fields": _select_fields(issue.fields, requested or ["*navigable"])}
        if "changelog" in options["expand"]:
            rendered["changelog"] = issue.inline_changelog(self.inline_cap)
            if "inline_total_lies" in self.quirks:
                rendered["changelog"] = {**rendered["changelog"], "total": LYING_TOTAL}
        return rendered

    def _next_endless_token(self, scope: str) -> str:
        with self._lock:
            self._endless_tokens += 1
            return _make_token(0, self._endless_tokens, scope)

    # ------------------------------------------------------------------ changelogs, fields, myself

    def bulkfetch(self, request: Request, body: dict) -> Response:
        if self.bulkfetch_status is not None:
            return _json(self.bulkfetch_status, {"message": f"null for uri: {self.url}{request.path}"})
        if not self._authenticated(request):
            return self._unauthorized()
        references = body.get("issueIdsOrKeys") or []
        if not isinstance(references, list) or not 1 <= len(references) <= 1000:
            return _errors(400, "issueIdsOrKeys must hold between 1 and 1000 issue ids or keys.")
        wanted = set(body.get("fieldIds") or [])
        size = max(1, min(_int(body.get("maxResults"), 1000), self.bulkfetch_page_cap))
        offset, _ = _read_token(body.get("nextPageToken"), "bulkfetch")
        flat: list[tuple[str, dict]] = []
        for reference in references:
            issue = self.store.get(str(reference))
            if issue is None:
                continue
            for position, history in enumerate(issue.histories):
                items = [item for item in history.get("items") or []
                         if not wanted or (item.get("fieldId") or item.get("field")) in wanted]
                if items:
                    created: Any = history.get("created")
                    if self.epoch_created and position % 2 == 1:
                        created = (epoch_ms(created) or 0) // 1000
                    flat.append((issue.id, {**history, "created": created, "items": items}))
        if "bulkfetch_endless" in self.quirks:
            offset = 0
        logs: list[dict] = []
        for issue_id, history in flat[offset:offset + size]:
            if not logs or logs[-1]["issueId"] != issue_id:
                logs.append({"issueId": issue_id, "changeHistories": []})
            logs[-1]["changeHistories"].append(history)
        answer: dict[str, Any] = {"issueChangeLogs": logs}
        if "bulkfetch_endless" in self.quirks:
            answer["nextPageToken"] = self._next_endless_token("bulkfetch")
        elif offset + size < len(flat):
            answer["nextPageToken"] = _make_token(offset + size, 0, "bulkfetch")
        return _json(200, answer)

    def issue_changelog(self, request: Request, body: dict, reference: str) -> Response:
        if not self._authenticated(request):
            return self._unauthorized()
        issue = self.store.get(reference)
        if issue is None:
            return _errors(404, NO_SUCH_ISSUE)
        start = max(0, _int(request.args.get("startAt"), 0))
        size = max(1, min(_int(request.args.get("maxResults"), 100), 100))
        if "changelog_endless" in self.quirks:
            values = [_endless_history(issue, start + n) for n in range(size)]
            return _json(200, {"startAt": start, "maxResults": size, "values": values})
        if "changelog_repeats" in self.quirks:
            return _json(200, {"startAt": start, "maxResults": size, "values": issue.histories[:size]})
        values = issue.histories[start:start + size]
        return _json(200, {"self": f"{self.url}{request.full_path}", "maxResults": size, "startAt": start,
                           "total": len(issue.histories), "isLast": start + size >= len(issue.histories),
                           "values": values})

    def field(self, request: Request, body: dict) -> Response:
        return _json(200, self.fields) if self._authenticated(request) else self._unauthorized()

    def get_myself(self, request: Request, body: dict) -> Response:
        if not self._authenticated(request):
            return self._unauthorized()
        version = request.path.split("/")[3]
        return _json(200, {"self": f"{self.url}/rest/api/{version}/user?id=1", **self.myself})


def _dribbled(response: Response, interval: float) -> Response:
    """``response`` sent one byte every ``interval`` seconds (headers at once, with the full length)."""
    data = response.get_data()

    def trickle() -> Iterable[bytes]:
        for position in range(len(data)):
            time.sleep(interval)
            yield data[position:position + 1]

    headers = {key: value for key, value in response.headers.items() if key.lower() != "content-length"}
    headers["Content-Length"] = str(len(data))
    return Response(trickle(), status=response.status_code, headers=headers, direct_passthrough=True)


def _endless_history(issue: StoredIssue, position: int) -> dict:
    """History number ``position`` of a changelog that never ends: a new id and a minute later each time."""
    created = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=position)
    return {"id": f"{issue.id}{position:09d}", "author": {"displayName": "Dev One"}, "created": jira_time(created),
            "items": [{"field": "status", "fieldtype": "jira", "fieldId": "status", "from": "10000",
                       "fromString": "To Do", "to": "3", "toString": "In Progress"}]}


def _select_fields(fields: dict[str, Any], requested: list[str]) -> dict[str, Any]:
    excluded = {name[1:] for name in requested if name.startswith("-")}
    if "*all" in requested or "*navigable" in requested:
        return {k: v for k, v in fields.items() if k not in excluded} if excluded else fields
    return {name: fields[name] for name in requested if name in fields and name not in excluded}


def _int(value: Any, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _Bad(_errors(400, f"'{value}' is not a valid number.")) from None


def _make_token(offset: int, page: int, scope: str) -> str:
    raw = orjson.dumps([offset, page, binascii.crc32(scope.encode())])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_token(token: Any, scope: str) -> tuple[int, int]:
    if not token:
        return 0, 0
    try:
        offset, page, check = orjson.loads(base64.urlsafe_b64decode(str(token) + "=" * (-len(str(token)) % 4)))
    except (ValueError, TypeError, binascii.Error):
        raise _Bad(_errors(400, "The provided next page token is invalid or expired.")) from None
    if check != binascii.crc32(scope.encode()):
        raise _Bad(_errors(400, "The provided next page token is invalid or expired."))
    return int(offset), int(page)


class _QuietHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes

    def log(self, type: str, message: str, *args: Any) -> None:  # werkzeug names it `type`
        return None


class JiraTestServer:
    """A running test Jira (see module docstring).

    Options: ``mode`` "cloud" | "datacenter"; credentials ``email`` + ``api_token`` (Cloud, Basic) or ``pat``
    (Data Center, Bearer); ``page_cap`` the largest page served; ``inline_changelog_cap`` (default 40 on
    Cloud, 100 on Data Center); ``fields`` the ``/field`` answer; ``myself`` merged over the default
    ``/myself`` (its ``timeZone`` reads quoted JQL dates); ``anonymous_search`` answers searches with bad
    credentials by 200 and no issues instead of 401; ``plain_text_401``; ``bulkfetch_status`` (e.g. 404/405)
    makes bulkfetch unavailable; ``bulkfetch_page_cap`` the most histories per bulkfetch page;
    ``epoch_created`` gives every second bulkfetch history its ``created`` in epoch seconds; ``page_sizes``
    (Cloud) cycles short pages, e.g. ``[1, 3]``; ``now`` the clock in epoch seconds; ``quirks`` names of
    ``QUIRKS`` to switch on (e.g. ``{"changelog_endless"}``).
    """

    def __init__(self, issues: Iterable[dict] = (), *, mode: str = "cloud", email: str = "user@example.com",
                 api_token: str = "secret-token-123", pat: str = "pat-xyz", page_cap: int = 100,
                 inline_changelog_cap: int | None = None, fields: list[dict] | None = None,
                 myself: dict | None = None, anonymous_search: bool = False, plain_text_401: bool = False,
                 bulkfetch_status: int | None = None, bulkfetch_page_cap: int = 1000, epoch_created: bool = True,
                 page_sizes: Sequence[int] | None = None, now: Callable[[], float] = time.time,
                 quirks: Iterable[str] = ()) -> None:
        self.store = IssueStore(issues)
        self.now = now
        default_me = CLOUD_MYSELF if mode == "cloud" else DATACENTER_MYSELF
        self.app = JiraApp(
            self.store, mode=mode, email=email, api_token=api_token, pat=pat, page_cap=page_cap,
            inline_changelog_cap=inline_changelog_cap or (40 if mode == "cloud" else 100),
            fields=DEFAULT_FIELDS if fields is None else fields,
            myself={**default_me, "emailAddress": email, **(myself or {})}, anonymous_search=anonymous_search,
            plain_text_401=plain_text_401, bulkfetch_status=bulkfetch_status,
            bulkfetch_page_cap=bulkfetch_page_cap, epoch_created=epoch_created, page_sizes=page_sizes, now=now,
            quirks=quirks)
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True, request_handler=_QuietHandler)
        self.port = self._server.socket.getsockname()[1]
        self.url = self.app.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"jira-test-server-{self.port}", daemon=True)
        self._thread.start()

    @property
    def requests(self) -> list[dict]:
        with self.app._lock:
            return list(self.app.requests)

    def clear_requests(self) -> None:
        with self.app._lock:
            self.app.requests.clear()

    def inject(self, status: int | None, count: int = 1, retry_after: int | str | None = None,
               path_prefix: str | None = None, *, delay: float = 0.0, headers: dict[str, str] | None = None,
               body: Any = None, dribble: float = 0.0) -> None:
        """Queue ``count`` answers with ``status`` (``None``: answer normally) for requests whose path starts
        with ``path_prefix``, each after ``delay`` seconds; ``retry_after`` seconds or an HTTP date;
        ``dribble`` > 0 sends the answer's body one byte every ``dribble`` seconds."""
        self.app.inject(status, count, retry_after, path_prefix, delay=delay, headers=headers, body=body,
                        dribble=dribble)

    def set_issues(self, issues: Iterable[dict]) -> None:
        self.store.replace(issues)

    def add_issue(self, issue: dict) -> None:
        self.store.put(issue)

    def update_issue(self, reference: str, *, fields: dict[str, Any] | None = None,
                     histories: Sequence[dict] = (), updated: datetime | None = None) -> dict:
        """Merge ``fields``, append ``histories`` and set ``updated`` (default: now); returns the new issue."""
        stored = self.store.get(reference)
        if stored is None:
            raise KeyError(reference)
        issue = stored.as_issue()
        issue["fields"].update(fields or {})
        full = stored.histories + list(histories)
        issue["changelog"] = {"startAt": 0, "maxResults": len(full), "total": len(full), "histories": full[::-1]}
        issue["fields"]["updated"] = jira_time(updated or datetime.fromtimestamp(self.now(), UTC))
        self.store.put(issue)
        return issue

    def delete_issue(self, reference: str) -> None:
        if not self.store.delete(reference):
            raise KeyError(reference)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> JiraTestServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
