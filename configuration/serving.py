"""Who may talk to the served dashboard: host names, origins, body sizes, ports.

Why: the dashboard has no login. Whoever can make a browser send it requests can read the team's metrics and
read or change the Jira connection settings. The guards below keep that to the people the server is meant for.
``install_request_guards`` puts them in front of every other ``before_request`` hook of the Flask server (so
they run before any Dash code, under ``python app.py`` and under a WSGI server such as gunicorn alike):

1. **Host**: a request whose ``Host`` header names a host the server is not meant to answer gets 400. Answered
   by default: the loopback names ``localhost``, ``127.0.0.1`` and ``[::1]`` (any port), plus the address the
   server was started on unless it is a wildcard (``0.0.0.0``, ``::``), plus every name listed in
   ``DASHBOARD_ALLOWED_HOSTS`` (comma-separated). Under gunicorn (``app:server``) the app is not told the
   bind address, so the loopback names and that list are all it answers. This defeats DNS rebinding: a
   foreign web page whose name is made to resolve to 127.0.0.1 still sends its own name as ``Host``.
2. **Origin**: a state-changing request (POST, PUT, PATCH, DELETE: every Dash callback, the snapshot upload
   included) gets 403 when the browser marks it as foreign: ``Sec-Fetch-Site: cross-site``, or an ``Origin``
   that is neither the request's own scheme-less ``host:port`` nor a name listed in ``DASHBOARD_ALLOWED_HOSTS``
   (which admits a reverse proxy that rewrites ``Host``). A loopback page on another port is another origin
   and is refused. A request *without* ``Origin`` passes: browsers always send ``Origin`` on cross-origin
   POSTs (forms and ``fetch`` alike), so its absence means a non-browser client (curl, scripts, tests), which
   could set any header anyway.
3. **Body size**: a body above the limit gets 413 before it is read. Flask's ``MAX_CONTENT_LENGTH`` is the
   general limit (``GENERAL_BODY_LIMIT``); the Dash callback route gets a larger one given by the caller,
   since the snapshot import arrives there as a base64 data URL inside the callback's JSON. A declared
   ``Content-Length`` above the limit is refused from the headers alone; a chunked body with no length is read
   only up to the limit, then refused.

Ports and the start-up checks (``parse_port``, ``check_bindable``, ``exposure_warning``) live here too, so the
messages a user sees about where the dashboard serves come from one place.
"""

from __future__ import annotations

import errno
import io
import ipaddress
import logging
import os
import socket
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from flask import Flask, Response, request
from werkzeug.exceptions import RequestEntityTooLarge

logger = logging.getLogger(__name__)

ALLOWED_HOSTS_ENV = "DASHBOARD_ALLOWED_HOSTS"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8050
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
GENERAL_BODY_LIMIT = 4 * 1024 * 1024
_MAX_ECHO = 80  # characters of a refused header repeated in a message


class StartupError(Exception):
    """The dashboard cannot serve as asked; ``str()`` is the one-line message, ``exit_code`` the status."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def parse_port(text: str, source: str) -> int:
    """The port in ``text`` (from ``source``, e.g. ``--port``); StartupError (exit code 2) naming what is wrong."""
    value = text.strip()
    if not value.lstrip("-").isdigit():
        raise StartupError(f"{source} {text!r} is not a port number: use a whole number from 1 to 65535", 2)
    port = int(value)
    if not 1 <= port <= 65535:
        raise StartupError(f"{source} {port} is out of range: use a whole number from 1 to 65535", 2)
    return port


def host_name(authority: str) -> str | None:
    """The lower-case host name of a ``Host`` header or an URL's ``host[:port]``; None when it is malformed.

    ``[::1]:8050`` gives ``::1``, ``Example.COM.:80`` gives ``example.com``; user info, paths and spaces are
    malformed.
    """
    text = authority.strip().lower()
    if not text or any(char in text for char in "/\\@?# \t\r\n"):
        return None
    if text.startswith("["):
        end = text.find("]")
        rest = text[end + 1:]
        if end < 0 or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return None
        name = text[1:end]
        return name if _is_ip(name) else None
    name, colon, port = text.partition(":")
    if ":" in port or (colon and port and not port.isdigit()):
        return None
    return name.rstrip(".") or None


def configured_hosts(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """The names listed in ``DASHBOARD_ALLOWED_HOSTS``; ValueError naming an entry that is not a host name."""
    raw = (os.environ if environ is None else environ).get(ALLOWED_HOSTS_ENV, "")
    names = set()
    for entry in (part.strip() for part in raw.split(",")):
        if not entry:
            continue
        name = entry.lower() if _is_ip(entry) else host_name(entry)
        if name is None:
            raise ValueError(f"{ALLOWED_HOSTS_ENV} entry {entry!r} is not a host name: list bare names or "
                             f"addresses separated by commas, such as dash.example.com,192.168.1.20")
        names.add(name)
    return frozenset(names)


def allowed_hosts(bind_host: str | None, configured: Iterable[str] = ()) -> frozenset[str]:
    """Loopback names, the address served on (unless a wildcard) and the configured names."""
    names = set(LOOPBACK_NAMES) | set(configured)
    if bind_host is not None and bind_host.strip() not in WILDCARD_HOSTS:
        bound = bind_host.strip().lower()
        names.add(bound if _is_ip(bound) else host_name(bound) or bound)
    return frozenset(names)


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ``::1``): reachable from this machine only."""
    name = host.strip().lower().strip("[]")
    if name == "localhost":
        return True
    return _is_ip(name) and ipaddress.ip_address(name).is_loopback


def exposure_warning(host: str, port: int, answered: Iterable[str]) -> str | None:
    """The warning printed when serving beyond this machine; None on a loopback address."""
    if is_loopback(host):
        return None
    names = ", ".join(sorted(answered))
    return (
        f"Warning: serving on {host}:{port} makes the dashboard reachable from other machines. Anyone who can "
        f"reach this port sees the team's metrics and can read and change the Jira connection settings: there "
        f"is no login.\n"
        f"  Host names answered: {names}. Set {ALLOWED_HOSTS_ENV}=name1,name2 to list the names people use "
        f"(others get 400); to keep the dashboard private, serve on 127.0.0.1 (the default) or restrict the "
        f"port with a firewall."
    )


def check_bindable(host: str, port: int) -> None:
    """Bind ``host:port`` once and release it, so a busy port or an unknown host is one clear line, not a trace.

    Uses the address family and ``SO_REUSEADDR`` choice of Werkzeug's server, so the answer matches what the
    server will meet a moment later.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        address = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM, socket.IPPROTO_TCP)[0][4]
    except (socket.gaierror, UnicodeError) as error:
        raise StartupError(f"{host}:{port}: the host is unknown ({error}); "
                           f"use 127.0.0.1 or an address of this machine", 2) from None
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            raise StartupError(f"{host}:{port}: {_bind_hint(error)}", 1) from None


def _bind_hint(error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return "the port is already in use by another program; stop it or choose another port with --port"
    if error.errno == errno.EACCES:
        return "permission denied (ports below 1024 need administrator rights); choose a port above 1023"
    if error.errno == errno.EADDRNOTAVAIL:
        return "this machine has no such address; use 127.0.0.1 or one of this machine's addresses"
    return f"{error.strerror or error}"


def install_request_guards(server: Flask, *, bind_host: str | None, large_body_paths: Mapping[str, int],
                           environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """Put the Host, Origin and body-size checks first among ``server``'s hooks; return the answered names.

    ``large_body_paths`` maps a path to the body limit it needs beyond ``GENERAL_BODY_LIMIT``. Raises
    ValueError when ``DASHBOARD_ALLOWED_HOSTS`` holds something that is not a host name.
    """
    configured = configured_hosts(environ)
    answered = allowed_hosts(bind_host, configured)
    server.config["MAX_CONTENT_LENGTH"] = GENERAL_BODY_LIMIT

    def guard() -> Response | None:
        raw_host = request.environ.get("HTTP_HOST", "")
        if host_name(raw_host) not in answered:
            logger.warning("Request refused: host not answered", extra={"host": raw_host[:_MAX_ECHO],
                                                                         "path": request.path})
            return _refusal(400, f"This dashboard does not answer to the host name {raw_host[:_MAX_ECHO]!r}. "
                                 f"If that name is meant to reach it, add it to {ALLOWED_HOSTS_ENV} "
                                 f"(comma-separated) and restart the dashboard.")
        if request.method not in SAFE_METHODS and (problem := _foreign_origin(raw_host, configured)):
            logger.warning("Request refused: cross-origin change", extra={"reason": problem, "path": request.path})
            return _refusal(403, f"Refused: {problem}. Only pages served by this dashboard may change it.")
        limit = large_body_paths.get(request.path)
        if limit is not None:
            request.max_content_length = limit
        declared = request.content_length
        if declared is not None and declared > request.max_content_length:
            raise RequestEntityTooLarge()
        if declared is None and request.environ.get("wsgi.input_terminated"):
            _buffer_unsized_body(request.max_content_length)
        return None

    def too_large(_error: RequestEntityTooLarge) -> Response:
        limit = request.max_content_length or GENERAL_BODY_LIMIT
        logger.warning("Request refused: body too large", extra={"path": request.path, "limit": limit,
                                                                  "declared": request.content_length})
        return _refusal(413, f"The request body is larger than this dashboard accepts "
                             f"({limit / (1024 * 1024):.1f} MB at most). Nothing was changed.")

    server.before_request_funcs.setdefault(None, []).insert(0, guard)
    server.register_error_handler(RequestEntityTooLarge, too_large)
    return answered


def _buffer_unsized_body(limit: int) -> None:
    """Read a body sent without ``Content-Length`` (chunked) up to ``limit`` bytes; 413 when there is more.

    Werkzeug's own bound cuts such a body at the limit without an error, which would hand Dash a truncated
    body. What fits is put back as an in-memory stream that ends where the body ends.
    """
    stream = request.environ["wsgi.input"]
    body = bytearray()
    while len(body) <= limit:
        piece = stream.read(min(limit + 1 - len(body), 1024 * 1024))
        if not piece:
            break
        body += piece
    if len(body) > limit:
        raise RequestEntityTooLarge()
    request.environ["wsgi.input"] = io.BytesIO(bytes(body))


def _foreign_origin(raw_host: str, configured: frozenset[str]) -> str | None:
    """Why a state-changing request comes from a foreign page, or None when it does not."""
    if request.headers.get("Sec-Fetch-Site", "").strip().lower() == "cross-site":
        return "the browser marks this request as coming from another site"
    origin = request.headers.get("Origin")
    if origin is None:
        return None
    parts = urlsplit(origin.strip())
    if parts.scheme in ("http", "https") and parts.netloc and not parts.path:
        if _authority(parts.netloc, parts.scheme) == _authority(raw_host, request.scheme):
            return None
        if host_name(parts.netloc) in configured:
            return None
    return f"the request comes from the page at {origin[:_MAX_ECHO]!r}, not from this dashboard"


def _authority(netloc: str, scheme: str) -> tuple[str | None, int]:
    """(host name, port) with the scheme's default port filled in, to compare an Origin with the Host."""
    name = host_name(netloc)
    text = netloc.rsplit("]", 1)[-1]
    _, colon, port = text.rpartition(":")
    return name, int(port) if colon and port.isdigit() else (443 if scheme == "https" else 80)


def _refusal(status: int, message: str) -> Response:
    response = Response(message + "\n", status=status, mimetype="text/plain")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
