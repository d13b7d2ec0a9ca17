"""The real app starts as a user starts it (``python app.py``) and serves its page and assets over HTTP."""

from pathlib import Path

import pytest
import requests

from tests.conftest import start_app, stop_app


def test_app_serves_page_and_local_assets(isolated_data_dir: Path) -> None:
    app = start_app(isolated_data_dir)
    try:
        page = requests.get(app.url + "/", timeout=10)
        assert page.status_code == 200
        assert "DORA &amp; Flow Metrics" in page.text or "DORA & Flow Metrics" in page.text
        # Every stylesheet is local: no CDN address in the page.
        assert "cdn." not in page.text and "googleapis" not in page.text
        css = requests.get(app.url + "/vendor/bootstrap5/css/bootstrap.min.css", timeout=10)
        assert css.status_code == 200 and "Bootstrap" in css.text[:200]
        icons = requests.get(app.url + "/vendor/bootstrap5/css/font/bootstrap-icons.min.css", timeout=10)
        assert icons.status_code == 200 and "bootstrap-icons" in icons.text
        font = requests.get(app.url + "/vendor/bootstrap5/css/font/fonts/bootstrap-icons.woff2", timeout=10)
        assert font.status_code == 200 and len(font.content) > 10_000
        layout = requests.get(app.url + "/_dash-layout", timeout=10)
        assert layout.status_code == 200
    finally:
        stop_app(app)
    assert "Traceback" not in app.output()


def test_defaults_are_loopback_and_debug_off(isolated_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app import parse_args

    monkeypatch.delenv("DASHBOARD_HOST", raising=False)
    monkeypatch.delenv("DASHBOARD_PORT", raising=False)
    args = parse_args([])
    assert (args.host, args.port) == ("127.0.0.1", 8050)
    app = start_app(isolated_data_dir)
    try:
        page = requests.get(app.url + "/", timeout=10)
        assert page.status_code == 200 and "Werkzeug Debugger" not in page.text
    finally:
        stop_app(app)
    assert "Debug mode: off" in app.output()
