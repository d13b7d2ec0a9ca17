"""DORA & Flow metrics dashboard: the app factory and the ``python app.py`` entry point.

Serves on 127.0.0.1:8050 by default (``--host``/``--port`` or ``DASHBOARD_HOST``/``DASHBOARD_PORT`` override),
debug off, every stylesheet, icon font and script served by the app itself (no CDN).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import dash
import flask_bootstrap
from flask import send_from_directory

from callbacks import register_callbacks
from configuration.logging_config import setup_logging
from configuration.paths import project_root
from ui.app_shell import serve_layout

logger = logging.getLogger(__name__)

VENDOR_URL = "/vendor/bootstrap5"
BOOTSTRAP_STATIC = Path(flask_bootstrap.__file__).parent / "static" / "bootstrap5"
STYLESHEETS = [
    f"{VENDOR_URL}/css/bootstrap.min.css",
    f"{VENDOR_URL}/css/font/bootstrap-icons.min.css",
]


def create_app() -> dash.Dash:
    """Build the Dash app: local assets, the page layout and every callback."""
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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Serve the DORA & Flow metrics dashboard.")
    parser.add_argument("--host", default=os.environ.get("DASHBOARD_HOST", "127.0.0.1"),
                        help="interface to bind (default 127.0.0.1; use 0.0.0.0 only on a trusted network)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("DASHBOARD_PORT", "8050")),
                        help="port (default 8050)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging()
    try:
        app = create_app()
    except Exception as error:  # start-up must end in a message, not a traceback
        logger.exception("Start-up failed")
        print(f"Could not start the dashboard: {error}", file=sys.stderr)
        return 1
    logger.info("Serving the dashboard", extra={"url": f"http://{args.host}:{args.port}"})
    print(f"DORA & Flow Metrics dashboard: http://{args.host}:{args.port}  (Ctrl+C to stop)")
    app.run(host=args.host, port=args.port, debug=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
