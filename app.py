"""DORA & Flow metrics dashboard: the app factory, the ``python app.py`` entry point and the WSGI entry point.

Serves on 127.0.0.1:8050 by default (``--host``/``--port`` or ``DASHBOARD_HOST``/``DASHBOARD_PORT`` override),
debug off, every stylesheet, icon font and script served by the app itself (no CDN). Every request first meets
the guards of ``configuration/serving.py`` (host names answered, cross-origin changes refused, body sizes
bounded); ``create_app`` installs them, so a WSGI server given ``create_app().server`` gets them too.
A bad port, a busy port or an unknown host ends in one line on stderr and a non-zero exit code.

``app:server`` is the Flask server of one app built on first access, for a WSGI server with several worker
processes: ``gunicorn -w 4 --bind 127.0.0.1:8050 app:server`` (docs/serving.md). Importing this module builds
nothing; each gunicorn worker builds its own app when it loads ``server`` (gunicorn without ``--preload``), so
no SQLite handle, lock or thread is shared across a fork. Everything the workers share lives in the data
directory: the issue cache and its version, the update lock and Dash's background-job store
(``cache/callbacks``), so a job started through one worker is polled through any other.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from pathlib import Path
from typing import NoReturn

import dash
import flask_bootstrap
from flask import Flask, send_from_directory

from callbacks import register_callbacks
from configuration.logging_config import setup_logging
from configuration.paths import project_root
from configuration.serving import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    StartupError,
    allowed_hosts,
    check_bindable,
    configured_hosts,
    exposure_warning,
    install_request_guards,
    parse_port,
)
from data.services.dashboard_service import preload_dataset
from data.services.export_service import MAX_IMPORT_BYTES
from ui.app_shell import serve_layout

logger = logging.getLogger(__name__)

VENDOR_URL = "/vendor/bootstrap5"
BOOTSTRAP_STATIC = Path(flask_bootstrap.__file__).parent / "static" / "bootstrap5"
STYLESHEETS = [
    f"{VENDOR_URL}/css/bootstrap.min.css",
    f"{VENDOR_URL}/css/font/bootstrap-icons.min.css",
]
# The snapshot import reaches the server as a base64 data URL (4 bytes per 3) inside the JSON body of a Dash
# callback POST; 1 MiB of margin covers the data-URL header, the callback's ids and the file name.
CALLBACK_BODY_LIMIT = MAX_IMPORT_BYTES * 4 // 3 + 1024 * 1024


def create_app(bind_host: str | None = None) -> dash.Dash:
    """Build the Dash app: request guards, local assets, the page layout and every callback.

    ``bind_host`` is the address ``python app.py`` serves on; it joins the answered host names unless it is a
    wildcard. Under a WSGI server leave it out: loopback names and ``DASHBOARD_ALLOWED_HOSTS`` are answered.
    """
    app = dash.Dash(
        __name__,
        title="DORA & Flow Metrics",
        assets_folder=str(project_root() / "assets"),
        external_stylesheets=STYLESHEETS,
        serve_locally=True,
        suppress_callback_exceptions=True,
        update_title=None,
        background_callback_manager=_background_manager(),
    )
    callback_path = app.config.routes_pathname_prefix + "_dash-update-component"
    install_request_guards(app.server, bind_host=bind_host, large_body_paths={callback_path: CALLBACK_BODY_LIMIT})

    @app.server.route(f"{VENDOR_URL}/<path:filename>")
    def vendor_asset(filename: str):  # Bootstrap 5.3.8 CSS and Bootstrap Icons from the pinned wheel
        return send_from_directory(BOOTSTRAP_STATIC, filename, max_age=86400)

    app.layout = serve_layout
    register_callbacks(app)
    return app


def _background_manager() -> dash.DiskcacheManager:
    import diskcache

    from configuration.paths import data_dir

    cache = diskcache.Cache(str(data_dir() / "cache" / "callbacks"))
    return dash.DiskcacheManager(cache)


class _OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are one line on stderr (exit code 2), like every other start-up error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message}\n")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """``host`` and ``port`` from the arguments, else the environment, else 127.0.0.1:8050.

    Raises StartupError (exit code 2) for a port that is not a number from 1 to 65535.
    """
    parser = _OneLineParser(description="Serve the DORA & Flow metrics dashboard.")
    parser.add_argument("--host", default=os.environ.get("DASHBOARD_HOST", DEFAULT_HOST),
                        help=f"interface to bind (default {DEFAULT_HOST}; another address exposes the dashboard, "
                             f"see DASHBOARD_ALLOWED_HOSTS)")
    parser.add_argument("--port", help=f"port from 1 to 65535 (default {DEFAULT_PORT})")
    args = parser.parse_args(argv)
    if args.port is not None:
        args.port = parse_port(args.port, "--port")
    elif (env_port := os.environ.get("DASHBOARD_PORT")) is not None:
        args.port = parse_port(env_port, "DASHBOARD_PORT")
    else:
        args.port = DEFAULT_PORT
    return args


def _configured_hosts() -> frozenset[str]:
    try:
        return configured_hosts()
    except ValueError as error:
        raise StartupError(str(error), 2) from None


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(argv)
        answered = allowed_hosts(args.host, _configured_hosts())
        check_bindable(args.host, args.port)
    except StartupError as error:
        print(f"Could not start the dashboard: {error}", file=sys.stderr)
        return error.exit_code
    setup_logging()
    try:
        app = create_app(bind_host=args.host)
    except Exception as error:  # start-up must end in a message, not a traceback
        logger.exception("Start-up failed")
        print(f"Could not start the dashboard: {error}", file=sys.stderr)
        return 1
    warning = exposure_warning(args.host, args.port, answered)
    if warning:
        logger.warning("Serving beyond this machine", extra={"host": args.host, "port": args.port})
        print(warning, file=sys.stderr)
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(args.host, args.host)  # a wildcard is no address to open
    url = f"http://{f'[{shown}]' if ':' in shown else shown}:{args.port}"
    logger.info("Serving the dashboard", extra={"url": url})
    print(f"DORA & Flow Metrics dashboard: {url}  (Ctrl+C to stop)")
    preload_dataset()
    app.run(host=args.host, port=args.port, debug=False)
    return 0


# gunicorn's exit status for "the application failed to load": the server stops instead of restarting workers.
WSGI_LOAD_ERROR = 4
_wsgi_lock = threading.Lock()
_wsgi_server: Flask | None = None


def wsgi_server() -> Flask:
    """The Flask server a WSGI server runs (``app:server``): one app per process, built on first call.

    Logging goes to the data directory's ``logs/`` as under ``python app.py``. A ``DASHBOARD_ALLOWED_HOSTS``
    that is not a list of host names ends the process with one line on stderr and ``WSGI_LOAD_ERROR``
    (``gunicorn.conf.py`` checks it once in gunicorn's master already, before any worker starts).
    """
    global _wsgi_server
    with _wsgi_lock:
        if _wsgi_server is None:
            try:
                _configured_hosts()
            except StartupError as error:
                print(f"Could not start the dashboard: {error}", file=sys.stderr, flush=True)
                raise SystemExit(WSGI_LOAD_ERROR) from None
            setup_logging()
            try:
                _wsgi_server = create_app().server
            except Exception as error:  # e.g. a full disk: one line, and gunicorn stops instead of looping
                logger.error("Start-up failed: %s", error)
                print(f"Could not start the dashboard: {error}", file=sys.stderr, flush=True)
                raise SystemExit(WSGI_LOAD_ERROR) from None
            preload_dataset()
            logger.info("Serving the dashboard under a WSGI server", extra={"pid": os.getpid()})
        return _wsgi_server


def __getattr__(name: str) -> Flask:
    """``app.server`` builds the app on first access (module attribute hook, PEP 562)."""
    if name == "server":
        return wsgi_server()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    sys.exit(main())
