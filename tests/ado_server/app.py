"""A test Azure DevOps server: a WSGI app imitating Azure Boards REST 7.1, quirks included, on loopback.

``AdoTestServer(items)`` starts at once on ``127.0.0.1`` and a free port in a background thread;
``.organization_url`` (``http://127.0.0.1:<port>/contoso``) and ``.project`` (``Fabrikam``) are what a client
is given. It implements what ``/work/shared/ADO_API.md`` describes:

- ``GET {org}/_apis/projects/{project}``, ``GET {org}/{project}/_apis/wit/fields``;
- ``POST {org}/{project}/_apis/wit/wiql`` (``tests.ado_server.wiql``; ``$top``; HTTP 400 ``VS402337`` when more
  than ``wiql_cap`` items match and ``$top`` does not bound the answer below it; HTTP 400 for a date literal
  with a time of day without ``timePrecision=true``). The project in the URL does **not** restrict the
  query: without a ``[System.TeamProject]`` condition other projects' items match too, as in Azure DevOps;
- ``POST {org}/{project}/_apis/wit/workitemsbatch`` (at most 200 ids, ``fields`` selection, never-set fields
  absent, ``errorPolicy: omit`` gives ``null`` for a missing item, else 404);
- ``GET {org}/{project}/_apis/wit/workItems/{id}/updates`` (``$top`` up to 200, ``$skip``; only changed fields
  as ``{oldValue, newValue}``; ``revisedDate`` is when the revision was superseded, ``9999-01-01`` for the last);
- ``GET {org}/{project}/_apis/wit/reporting/workitemrevisions`` (the project's revisions oldest first across
  items, ``fields``, ``types``, ``startDateTime``, ``includeLatestOnly``, ``includeDeleted``, ``$maxPageSize`` up
  to ``revisions_page_cap``, ``continuationToken``, ``isLastBatch``; identities as ``"Name <mail>"`` text unless
  ``includeIdentityRef=true``; a revision counts for the project it was in at the time).

Every route needs ``api-version`` and HTTP Basic with any user name and the PAT as password. A wrong or missing
PAT answers 401, or with ``bad_auth="203"`` a 203 HTML sign-in page. Hooks: ``.requests`` (method, path,
endpoint, query, json, headers without Authorization, auth_user, status), ``.count(endpoint)``,
``.inject(status, count, retry_after, path_prefix, headers=, body=, content_type=, delay=)`` (status ``None``:
answer normally, with ``headers`` added), ``.redirect(target, ...)``, ``add_work_item`` / ``change_work_item`` /
``move_work_item`` / ``delete_work_item`` / ``set_work_items``, ``rate_limit_headers`` on every answer, ``.stop()``.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import orjson
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from tests.ado_server.builders import DEFAULT_FIELDS, ORGANIZATION, PROJECT, PROJECT_ID
from tests.ado_server.store import StoredWorkItem, WorkItemStore, ado_time, parse_ado_time
from tests.ado_server.wiql import WiqlError, parse_wiql

WIQL_CAP = 20_000
BATCH_CAP = 200
UPDATES_CAP = 200
REVISIONS_DEFAULT_PAGE = 200
NEVER = "9999-01-01T00:00:00Z"
SIGN_IN_PAGE = ("<!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title></head>"
                "<body><form action=\"https://login.microsoftonline.com/\">Sign in to your account</form>"
                "</body></html>")
ACCESS_DENIED = ("<!DOCTYPE html><html><head><title>Access Denied</title></head><body>Access Denied: The "
                 "Personal Access Token used has expired or is not valid.</body></html>")
ENDPOINTS: dict[str, str] = {
    "project": r"/(?P<org>[^/]+)/_apis/projects/(?P<project>[^/]+)",
    "fields": r"/(?P<org>[^/]+)/(?P<project>[^/]+)/_apis/wit/fields",
    "wiql": r"/(?P<org>[^/]+)/(?P<project>[^/]+)/_apis/wit/wiql",
    "workitemsbatch": r"/(?P<org>[^/]+)/(?P<project>[^/]+)/_apis/wit/workitemsbatch",
    "updates": r"/(?P<org>[^/]+)/(?P<project>[^/]+)/_apis/wit/workItems/(?P<item>[^/]+)/updates",
    "revisions": r"/(?P<org>[^/]+)/(?P<project>[^/]+)/_apis/wit/reporting/workitemrevisions",
}
_METHODS = {"project": "GET", "fields": "GET", "wiql": "POST", "workitemsbatch": "POST", "updates": "GET",
            "revisions": "GET"}


def _json(status: int, data: Any, headers: Mapping[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status=status, headers=dict(headers or {}),
                    content_type="application/json; charset=utf-8; api-version=7.1")


def ado_error(status: int, message: str, type_key: str = "VssServiceException") -> Response:
    """An error answer in Azure DevOps' shape: ``{"$id", "innerException", "message", "typeName", ...}``."""
    return _json(status, {"$id": "1", "innerException": None, "message": message,
                          "typeName": f"Microsoft.VisualStudio.Services.WebApi.{type_key}, "
                                      "Microsoft.VisualStudio.Services.WebApi",
                          "typeKey": type_key, "errorCode": 0, "eventId": 3000})


class _Refused(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


class AdoApp:
    """The WSGI application; options are documented on ``AdoTestServer``."""

    def __init__(self, store: WorkItemStore, *, organization: str, project: str, project_id: str, pat: str,
                 wiql_cap: int, revisions_page_cap: int, fields: list[dict], bad_auth: str,
                 rate_limit_headers: bool, now: Callable[[], float]) -> None:
        if bad_auth not in ("401", "203"):
            raise ValueError(f'bad_auth must be "401" or "203", not {bad_auth!r}')
        self.store, self.organization, self.project, self.project_id = store, organization, project, project_id
        self.pat, self.wiql_cap, self.revisions_page_cap = pat, wiql_cap, revisions_page_cap
        self.fields, self.bad_auth, self.rate_limit_headers, self.now = fields, bad_auth, rate_limit_headers, now
        self.field_types = {str(f["referenceName"]).lower(): (str(f["referenceName"]), str(f["type"]))
                            for f in fields}
        self.url = ""
        self.requests: list[dict] = []
        self._injected: list[dict] = []
        self._lock = threading.Lock()
        self._revision_cache: dict[tuple, list[tuple[str, str, datetime | None, dict]]] = {}
        self._routes = [(name, re.compile(pattern)) for name, pattern in ENDPOINTS.items()]

    # ------------------------------------------------------------------ plumbing

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        endpoint, match = self._endpoint(request.path)
        body: Any = None
        auth_user: str | None = None
        try:
            body = self._body(request)
            auth_user = self._auth_user(request)
            response = self._respond(request, body, endpoint, match, auth_user)
        except _Refused as refused:
            response = refused.response
        except Exception as exc:  # the test server must answer, and say what broke
            response = Response(f"test server error: {exc!r}", status=500, content_type="text/plain")
        if self.rate_limit_headers:
            for name, value in {"X-RateLimit-Resource": "WorkItemTracking", "X-RateLimit-Delay": "0.2",
                                "X-RateLimit-Limit": "200", "X-RateLimit-Remaining": "150",
                                "X-RateLimit-Reset": str(int(self.now()) + 300)}.items():
                response.headers.setdefault(name, value)
        headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
        with self._lock:
            self.requests.append({"method": request.method, "path": request.path, "endpoint": endpoint,
                                  "query": {k: ",".join(request.args.getlist(k)) for k in request.args},
                                  "json": body, "headers": headers, "auth_user": auth_user,
                                  "status": response.status_code})
        return response(environ, start_response)

    def _endpoint(self, path: str) -> tuple[str | None, re.Match | None]:
        for name, pattern in self._routes:
            match = pattern.fullmatch(path)
            if match:
                return name, match
        return None, None

    def _body(self, request: Request) -> Any:
        if request.method != "POST":
            return None
        raw = request.get_data()
        try:
            return orjson.loads(raw) if raw else {}
        except orjson.JSONDecodeError:
            raise _Refused(ado_error(400, "VS402321: The request body is not valid JSON.")) from None

    def _auth_user(self, request: Request) -> str | None:
        """The user name of a Basic header carrying the PAT; ``None`` when the PAT is wrong or missing."""
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        try:
            user, _, secret = base64.b64decode(header[6:], validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user if secret == self.pat else None

    def _respond(self, request: Request, body: Any, endpoint: str | None, match: re.Match | None,
                 auth_user: str | None) -> Response:
        injected = self._take_injection(request.path)
        if injected is not None:
            if injected["delay"]:
                time.sleep(injected["delay"])
            if injected["status"] is not None:
                return self._injected_response(injected, request)
        response = self._route(request, body, endpoint, match, auth_user)
        if injected is not None:
            response.headers.update(injected["headers"])
        return response

    def _route(self, request: Request, body: Any, endpoint: str | None, match: re.Match | None,
               auth_user: str | None) -> Response:
        if auth_user is None:
            if self.bad_auth == "203":
                return Response(SIGN_IN_PAGE, status=203, content_type="text/html; charset=utf-8")
            return Response(ACCESS_DENIED, status=401, content_type="text/html; charset=utf-8",
                            headers={"WWW-Authenticate": "Bearer authorization_uri=https://login.microsoftonline"
                                                         ".com/common, Basic realm=\"https://dev.azure.com/\""})
        if endpoint is None or match is None:
            return ado_error(404, f"The resource cannot be found: {request.path}", "ResourceNotFoundException")
        if request.method != _METHODS[endpoint]:
            return ado_error(405, f"The requested resource does not support http method '{request.method}'.")
        if not request.args.get("api-version"):
            return ado_error(400, f'No api-version was supplied for the "{request.method}" request. The version '
                                  "must be supplied either as part of the Accept header (e.g. \"application/json; "
                                  "api-version=1.0\") or as a query parameter (e.g. '?api-version=1.0').",
                             "VssVersionNotSpecifiedException")
        groups = match.groupdict()
        if groups["org"].lower() != self.organization.lower():
            return ado_error(404, f"VS800075: The organization '{groups['org']}' could not be found.")
        if groups["project"].lower() not in (self.project.lower(), self.project_id.lower()):
            return ado_error(404, f"TF200016: The following project does not exist: {groups['project']}. Verify "
                                  "that the name of the project is correct and that the project exists on the "
                                  "specified Azure DevOps Server.", "ProjectDoesNotExistWithNameException")
        handler = getattr(self, f"answer_{endpoint}")
        return handler(request, body if isinstance(body, dict) else {}, groups)

    def inject(self, status: int | None, count: int = 1, retry_after: int | str | None = None,
               path_prefix: str | None = None, *, headers: Mapping[str, str] | None = None, body: Any = None,
               content_type: str | None = None, delay: float = 0.0, location: str | None = None) -> None:
        with self._lock:
            self._injected.append({"status": status, "count": count, "retry_after": retry_after,
                                   "prefix": path_prefix or "", "headers": dict(headers or {}), "body": body,
                                   "content_type": content_type, "delay": delay, "location": location})

    def _take_injection(self, path: str) -> dict | None:
        with self._lock:
            for entry in self._injected:
                if path.startswith(entry["prefix"]):
                    entry["count"] -= 1
                    if entry["count"] <= 0:
                        self._injected.remove(entry)
                    return entry
        return None

    def _injected_response(self, entry: dict, request: Request) -> Response:
        status, headers = entry["status"], dict(entry["headers"])
        if entry["retry_after"] is not None:
            headers["Retry-After"] = str(entry["retry_after"])
        if entry["location"] is not None:
            query = request.query_string.decode("latin-1")
            headers["Location"] = entry["location"].rstrip("/") + request.path + (f"?{query}" if query else "")
        if status == 429:
            headers.setdefault("X-RateLimit-Resource", "WorkItemTracking")
            headers.setdefault("X-RateLimit-Remaining", "0")
        body = entry["body"]
        if body is None:
            default = {429: "TF400733: The request has been throttled.", 503: "Service Unavailable"}
            if status < 400:
                return Response("", status=status, headers=headers)
            response = ado_error(status, default.get(status, f"HTTP {status}"))
            response.headers.update(headers)
            return response
        if isinstance(body, str | bytes):
            return Response(body, status=status, headers=headers,
                            content_type=entry["content_type"] or "text/plain; charset=utf-8")
        response = _json(status, body, headers)
        if entry["content_type"]:
            response.content_type = entry["content_type"]
        return response

    # ------------------------------------------------------------------ endpoints

    def answer_project(self, request: Request, body: dict, groups: dict) -> Response:
        return _json(200, {"id": self.project_id, "name": self.project, "description": "Fabrikam's work",
                           "url": f"{self.url}/{self.organization}/_apis/projects/{self.project_id}",
                           "state": "wellFormed", "revision": 42, "visibility": "private",
                           "lastUpdateTime": "2024-11-02T10:00:00.000Z"})

    def answer_fields(self, request: Request, body: dict, groups: dict) -> Response:
        return _json(200, {"count": len(self.fields), "value": self.fields})

    def answer_wiql(self, request: Request, body: dict, groups: dict) -> Response:
        text = body.get("query")
        if not isinstance(text, str) or not text.strip():
            return ado_error(400, "VS402316: The query text is missing.")
        precision = request.args.get("timePrecision", "").lower() == "true"
        top = _int(request.args.get("$top"))
        try:
            query = parse_wiql(text, field_types=self.field_types, project=self.project, time_precision=precision)
        except WiqlError as error:
            return ado_error(400, str(error), "QueryException")
        found = [item for item in self.store.items() if query.matches(item.latest)]
        if len(found) > self.wiql_cap and (top is None or top > self.wiql_cap):
            return ado_error(400, f"VS402337: The number of work items returned exceeds the size limit of "
                                  f"{self.wiql_cap}. Change the query to return fewer items.", "QueryException")
        if query.order:
            found.sort(key=lambda item: query.sort_key(item.latest))
        if top is not None:
            found = found[:top]
        base = f"{self.url}/{self.organization}/{self.project_id}/_apis/wit/workItems"
        columns = [self._column(name) for name in query.fields]
        return _json(200, {"queryType": "flat", "queryResultType": "workItem",
                           "asOf": ado_time(datetime.fromtimestamp(self.now(), UTC)), "columns": columns,
                           "sortColumns": [{"field": self._column(name), "descending": descending}
                                           for name, descending in query.order],
                           "workItems": [{"id": item.id, "url": f"{base}/{item.id}"} for item in found]})

    def _column(self, reference: str) -> dict[str, str]:
        definition = next((f for f in self.fields if f["referenceName"].lower() == reference.lower()), {})
        return {"referenceName": definition.get("referenceName", reference), "name": definition.get("name", ""),
                "url": f"{self.url}/{self.organization}/_apis/wit/fields/{reference}"}

    def answer_workitemsbatch(self, request: Request, body: dict, groups: dict) -> Response:
        ids = body.get("ids")
        if not isinstance(ids, list) or not ids:
            return ado_error(400, "VS403528: The ids of the work items to get are missing.")
        if len(ids) > BATCH_CAP:
            return ado_error(400, f"VS403474: The maximum number of work items that can be requested is {BATCH_CAP}.")
        wanted = body.get("fields")
        if wanted is not None:
            unknown = [name for name in wanted if str(name).lower() not in self.field_types]
            if unknown:
                return ado_error(400, f"TF51535: Cannot find field {unknown[0]}.", "FieldDefinitionNotExistException")
        values: list[dict | None] = []
        for item_id in ids:
            item = self.store.get(_int(item_id) or 0)
            if item is None:
                if body.get("errorPolicy") == "omit":
                    values.append(None)
                    continue
                return ado_error(404, f"TF401232: Work item {item_id} does not exist, or you do not have "
                                      "permissions to read it.", "WorkItemUnauthorizedAccessException")
            fields = item.latest
            if wanted is not None:
                by_lower = {name.lower(): name for name in fields}
                fields = {by_lower[str(n).lower()]: fields[by_lower[str(n).lower()]] for n in wanted
                          if str(n).lower() in by_lower}
            values.append({"id": item.id, "rev": item.rev, "fields": fields, "url": self._item_url(item.id)})
        return _json(200, {"count": len(values), "value": values})

    def _item_url(self, item_id: int) -> str:
        return f"{self.url}/{self.organization}/{self.project_id}/_apis/wit/workItems/{item_id}"

    def answer_updates(self, request: Request, body: dict, groups: dict) -> Response:
        item = self.store.get(_int(groups["item"]) or 0)
        if item is None:
            return ado_error(404, f"TF401232: Work item {groups['item']} does not exist, or you do not have "
                                  "permissions to read it.", "WorkItemUnauthorizedAccessException")
        top = max(1, min(_int(request.args.get("$top")) or UPDATES_CAP, UPDATES_CAP))
        skip = max(0, _int(request.args.get("$skip")) or 0)
        updates = item.updates()
        changed = [item.changes[n].get("System.ChangedDate") for n in range(item.rev)]
        values = []
        for update in updates[skip:skip + top]:
            rev = update["rev"]
            revised_by = item.changes[rev - 1].get("System.ChangedBy")
            values.append({"id": rev, "workItemId": item.id, "rev": rev,
                           "revisedBy": revised_by if isinstance(revised_by, dict) else {},
                           "revisedDate": changed[rev] if rev < item.rev else NEVER,
                           "fields": update["fields"], "url": f"{self._item_url(item.id)}/updates/{rev}"})
        return _json(200, {"count": len(values), "value": values})

    def answer_revisions(self, request: Request, body: dict, groups: dict) -> Response:
        args = request.args
        wanted = [name.strip() for name in args.get("fields", "").split(",") if name.strip()]
        unknown = [name for name in wanted if name.lower() not in self.field_types]
        if unknown:
            return ado_error(400, f"TF51535: Cannot find field {unknown[0]}.", "FieldDefinitionNotExistException")
        types = {name.strip().lower() for name in args.get("types", "").split(",") if name.strip()}
        size = max(1, min(_int(args.get("$maxPageSize")) or REVISIONS_DEFAULT_PAGE, self.revisions_page_cap))
        token = args.get("continuationToken")
        try:
            after = int(token) if token else 0
        except ValueError:
            return ado_error(400, "VS402604: The continuation token is not valid.")
        start = parse_ado_time(args.get("startDateTime")) if args.get("startDateTime") else None
        if args.get("startDateTime") and start is None:
            return ado_error(400, f"VS402605: The startDateTime '{args.get('startDateTime')}' is not valid.")
        flags = {name: args.get(name, "").lower() == "true"
                 for name in ("includeIdentityRef", "includeDeleted", "includeLatestOnly")}
        stream, last = self.store.stream_after(after)
        values, scanned = [], after
        for watermark, item_id, rev in stream:
            if len(values) >= size:
                break
            scanned = watermark
            item = self.store.get(item_id, deleted=flags["includeDeleted"])
            if item is None or rev > item.rev or (flags["includeLatestOnly"] and rev != item.rev):
                continue
            project, item_type, changed, fields = self._revision(item, tuple(wanted), flags["includeIdentityRef"])[
                rev - 1]
            if project != self.project.lower() or (types and item_type not in types) or (
                    start is not None and (changed is None or changed < start)):
                continue
            values.append({"id": item.id, "rev": rev, "fields": fields,
                           "url": f"{self._item_url(item.id)}/revisions/{rev}"})
        done = scanned >= last
        next_token = str(scanned if not done else last)
        query = {key: value for key, value in args.items() if key != "continuationToken"}
        query["continuationToken"] = next_token
        link = f"{self.url}{request.path}?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in query.items())
        return _json(200, {"values": values, "nextLink": link, "continuationToken": next_token, "isLastBatch": done})

    def _revision(self, item: StoredWorkItem, wanted: tuple[str, ...],
                  identity_refs: bool) -> list[tuple[str, str, datetime | None, dict]]:
        """Per revision of ``item``: (project, type, changed date, the fields to send); cached per item state."""
        key = (item.id, item.rev, item.deleted, wanted, identity_refs)
        cached = self._revision_cache.get(key)
        if cached is not None:
            return cached
        lower = {name.lower() for name in wanted}
        rows = []
        for _, fields in item.revisions():
            chosen = {name: value for name, value in fields.items() if not lower or name.lower() in lower}
            if not identity_refs:
                chosen = {name: _identity_text(value) for name, value in chosen.items()}
            rows.append((str(fields.get("System.TeamProject", "")).lower(),
                         str(fields.get("System.WorkItemType", "")).lower(),
                         parse_ado_time(fields.get("System.ChangedDate")), chosen))
        with self._lock:
            if len(self._revision_cache) > 200_000:
                self._revision_cache.clear()
            self._revision_cache[key] = rows
        return rows


def _identity_text(value: Any) -> Any:
    if isinstance(value, dict) and "displayName" in value:
        return f"{value['displayName']} <{value.get('uniqueName', '')}>"
    return value


def _int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _Refused(ado_error(400, f"VS402360: The value '{value}' is not a valid number.")) from None


class _QuietHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log(self, type: str, message: str, *args: Any) -> None:  # werkzeug names it `type`
        return None


class AdoTestServer:
    """A running test Azure DevOps organisation (see the module docstring).

    Options: ``pat`` the accepted personal access token; ``organization``, ``project``, ``project_id``;
    ``wiql_cap`` the most items a WIQL answer may hold (Azure DevOps: 20,000; tests use e.g. 50);
    ``revisions_page_cap`` the largest reporting page; ``fields`` the field definitions; ``bad_auth``
    "401" | "203" (how a wrong PAT is answered); ``rate_limit_headers`` adds ``X-RateLimit-*`` to every
    answer; ``now`` the clock (epoch seconds) for changes made without a date.
    """

    def __init__(self, items: Iterable[Mapping[str, Any]] = (), *, pat: str = "ado-pat-0123456789",
                 organization: str = ORGANIZATION, project: str = PROJECT, project_id: str = PROJECT_ID,
                 wiql_cap: int = WIQL_CAP, revisions_page_cap: int = 1000, fields: list[dict] | None = None,
                 bad_auth: str = "401", rate_limit_headers: bool = False,
                 now: Callable[[], float] = time.time) -> None:
        self.store = WorkItemStore(items)
        self.pat, self.project, self.now = pat, project, now
        self.app = AdoApp(self.store, organization=organization, project=project, project_id=project_id, pat=pat,
                          wiql_cap=wiql_cap, revisions_page_cap=revisions_page_cap,
                          fields=DEFAULT_FIELDS if fields is None else fields, bad_auth=bad_auth,
                          rate_limit_headers=rate_limit_headers, now=now)
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True, request_handler=_QuietHandler)
        self.port = self._server.socket.getsockname()[1]
        self.url = self.app.url = f"http://127.0.0.1:{self.port}"
        self.organization_url = f"{self.url}/{organization}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"ado-test-server-{self.port}", daemon=True)
        self._thread.start()

    @property
    def requests(self) -> list[dict]:
        with self.app._lock:
            return list(self.app.requests)

    def count(self, endpoint: str | None = None) -> int:
        """Requests received for ``endpoint`` (a key of ``ENDPOINTS``), or all of them."""
        return sum(1 for entry in self.requests if endpoint is None or entry["endpoint"] == endpoint)

    def clear_requests(self) -> None:
        with self.app._lock:
            self.app.requests.clear()

    def inject(self, status: int | None, count: int = 1, retry_after: int | str | None = None,
               path_prefix: str | None = None, *, headers: Mapping[str, str] | None = None, body: Any = None,
               content_type: str | None = None, delay: float = 0.0) -> None:
        """Queue ``count`` answers with ``status`` for requests whose path starts with ``path_prefix`` (e.g.
        ``"/contoso/Fabrikam/_apis/wit/wiql"``); ``None`` answers normally with ``headers`` added (e.g. a
        ``Retry-After`` on a 200). ``body`` text or bytes is sent as is (``content_type`` to claim JSON)."""
        self.app.inject(status, count, retry_after, path_prefix, headers=headers, body=body,
                        content_type=content_type, delay=delay)

    def redirect(self, target_url: str, count: int = 1, path_prefix: str | None = None, status: int = 302) -> None:
        """Answer the next ``count`` requests with ``status`` and ``Location: <target_url><same path and query>``."""
        self.app.inject(status, count, None, path_prefix, location=target_url)

    def set_work_items(self, items: Iterable[Mapping[str, Any]]) -> None:
        self.store.replace(items)

    def add_work_item(self, item: Mapping[str, Any]) -> None:
        self.store.add(item)

    def change_work_item(self, item_id: int, fields: Mapping[str, Any], changed: datetime | None = None) -> int:
        """A new revision setting ``fields`` at ``changed`` (default: ``now``); returns the new rev."""
        moment = changed or datetime.fromtimestamp(self.now(), UTC)
        return self.store.change(item_id, {"System.ChangedDate": ado_time(moment), **fields}).rev

    def move_work_item(self, item_id: int, *, project: str | None = None, area_path: str | None = None,
                       changed: datetime | None = None) -> int:
        """Move the item to another project and/or area path (a new revision)."""
        fields: dict[str, Any] = {}
        if project is not None:
            fields["System.TeamProject"] = project
        if area_path is not None:
            fields["System.AreaPath"] = area_path
        return self.change_work_item(item_id, fields, changed)

    def delete_work_item(self, item_id: int) -> None:
        self.store.delete(item_id)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> AdoTestServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
