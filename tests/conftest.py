"""Shared fixtures: an isolated data directory for every test, free ports, a real app server, a real browser."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-gpu",
]


@pytest.fixture(autouse=True)
def isolated_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test writes its state files into its own folder, never into the project."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    monkeypatch.setenv("DASHBOARD_DATA_DIR", str(data_dir))
    from data.sources.ado_client import forget_wiql_size_limits

    forget_wiql_size_limits()  # a limit learnt from one test's server must not page another's
    for name in ("JIRA_API_TOKEN", "JIRA_PAT", "JIRA_EMAIL", "AZURE_DEVOPS_PAT"):
        monkeypatch.delenv(name, raising=False)
    return data_dir


@pytest.fixture()
def restore_root_logging() -> Iterator[None]:
    """Code that calls ``setup_logging`` (``cli.main``) installs handlers on the root logger; put the runner's back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, timeout: float = 60.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited early with code {process.returncode}")
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


class RunningApp:
    def __init__(self, process: subprocess.Popen, url: str, data_dir: Path, log_path: Path) -> None:
        self.process, self.url, self.data_dir, self.log_path = process, url, data_dir, log_path

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def start_app(data_dir: Path, *, env: dict[str, str] | None = None, timeout: float = 90.0) -> RunningApp:
    """Start ``python app.py`` on a free loopback port in a subprocess and wait until it answers."""
    port = free_port()
    log_path = data_dir / "server-output.txt"
    full_env = {**os.environ, "DASHBOARD_DATA_DIR": str(data_dir), **(env or {})}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(PROJECT_ROOT / "app.py"), "--host", "127.0.0.1", "--port", str(port)],
            cwd=PROJECT_ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(url + "/", timeout=timeout, process=process)
    except Exception:
        process.kill()
        raise RuntimeError(f"app did not start:\n{log_path.read_text(errors='replace')}") from None
    return RunningApp(process, url, data_dir, log_path)


def stop_app(app: RunningApp) -> None:
    app.process.terminate()
    try:
        app.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        app.process.kill()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """A real headless Chromium (Debian's) driven by Playwright; required under CI=true."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@contextmanager
def watched_page(browser: Any, app: RunningApp, *, accept_downloads: bool = False) -> Iterator[Any]:
    """A page of ``app`` in a fresh 1440×900 browser context; the test fails if the page logged an error
    (console errors and uncaught exceptions; a missing favicon is not one)."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=accept_downloads)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(app.url)
    yield page
    context.close()
    problems = [text for text in errors if "favicon" not in text]
    assert problems == [], f"browser errors: {problems}\nserver output:\n{app.output()[-3000:]}"


EMPTY_METRIC_VALUE = "—"


def expect_nine_values(page: Any, timeout_ms: float = 60_000) -> list[str]:
    """Wait until the nine cards show values (not the empty placeholder); their texts."""
    from playwright.sync_api import expect

    values = page.locator(".metric-value")
    expect(values).to_have_count(9, timeout=timeout_ms)
    for index in range(9):
        expect(values.nth(index)).not_to_have_text(EMPTY_METRIC_VALUE)
    return values.all_inner_texts()
