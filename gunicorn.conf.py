"""gunicorn's settings file, read from the project folder: ``gunicorn -w 4 --bind 127.0.0.1:8050 app:server``.

Defaults only (the command line overrides each one), and a check of the dashboard's serving environment that
runs once, in gunicorn's master before any worker starts, so a bad ``DASHBOARD_ALLOWED_HOSTS`` stops gunicorn
with one line instead of every worker failing on its own (each worker checks again when it builds the app:
app.py). See docs/serving.md.
"""

from __future__ import annotations

import sys
from typing import Any

# The first request of each worker builds the issue tables: seconds at 50,000 issues, more when every worker
# does it at once on a busy machine. gunicorn's default of 30 s would restart a worker in the middle of it.
timeout = 120


def on_starting(_server: Any) -> None:
    from configuration.serving import configured_hosts

    try:
        configured_hosts()
    except ValueError as error:
        print(f"Could not start the dashboard: {error}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
