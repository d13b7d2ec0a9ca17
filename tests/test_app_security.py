"""The served app answers only its own host names, refuses cross-origin changes and oversized bodies, and
starts (or refuses to start) with one clear line. Every request here is real HTTP against ``python app.py``
running in a subprocess on a loopback port, as a user starts it.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from configuration.serving import GENERAL_BODY_LIMIT, host_name
from data.services.export_service import MAX_IMPORT_BYTES
from tests.conftest import PROJECT_ROOT, RunningApp, free_port, start_app, stop_app, wait_for_http
from ui import ids

CONFIGURED_NAME = "dash.example.test"
CALLBACK = "/_dash-update-component"
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """One dashboard for the module, serving on 127.0.0.1 with one extra configured host name."""
    app = start_app(tmp_path_factory.mktemp("data"), env={"DASHBOARD_ALLOWED_HOSTS": f" {CONFIGURED_NAME} ,"})
    yield app
    stop_app(app)
    assert "Traceback" not in app.output()


def port_of(app: RunningApp) -> int:
    return int(app.url.rsplit(":", 1)[1])


def callback_payload(app: RunningApp, trigger: str, output: str, values: list[Any],
                     state: list[Any] = ()) -> dict[str, Any]:
    """The JSON body the Dash renderer posts for the callback fired by ``trigger`` that updates ``output``."""
    dependencies = requests.get(app.url + "/_dash-dependencies", timeout=10).json()
    dependency = next(d for d in dependencies if output in d["output"]
                      and trigger in (f"{item['id']}.{item['property']}" for item in d["inputs"]))
    text = dependency["output"]
    if text.startswith(".."):
        outputs: Any = [dict(zip(("id", "property"), part.rsplit(".", 1), strict=True))
                        for part in text.strip(".").split("...")]
    else:
        outputs = dict(zip(("id", "property"), text.rsplit(".", 1), strict=True))
    first = dependency["inputs"][0]
    return {
        "output": text,
        "outputs": outputs,
        "inputs": [{**item, "value": value} for item, value in zip(dependency["inputs"], values, strict=True)],
        "state": [{**item, "value": value} for item, value in zip(dependency["state"], state, strict=True)],
        "changedPropIds": [f"{first['id']}.{first['property']}"],
    }


def open_import_dialog(app: RunningApp) -> dict[str, Any]:
    """The body of a click on "Import snapshots": the callback answers ``is_open: true`` and changes nothing."""
    return callback_payload(app, f"{ids.Exports.OPEN_IMPORT}.n_clicks", f"{ids.Exports.IMPORT_MODAL}.is_open",
                            [1, None])


def raw_exchange(app: RunningApp, head: str, body_parts: list[bytes], timeout: float = 10.0) -> tuple[bytes, float]:
    """Send ``head`` and ``body_parts`` on a raw socket; return the response head and the seconds it took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port_of(app)), timeout=timeout) as connection:
        connection.sendall(head.encode("ascii"))
        for part in body_parts:
            connection.sendall(part)
        answer = b""
        while b"\r\n\r\n" not in answer:
            piece = connection.recv(65536)
            if not piece:
                break
            answer += piece
    return answer, time.monotonic() - started


# --- Host ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/_dash-layout", "/_dash-dependencies",
                                  "/vendor/bootstrap5/css/bootstrap.min.css"])
@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1.evil.example:{port}"])
def test_a_foreign_host_name_is_refused_before_any_dash_code(served: RunningApp, path: str, host: str) -> None:
    # DNS rebinding: a foreign page whose name now resolves to 127.0.0.1 still sends its own name as Host.
    answer = requests.get(served.url + path, headers={"Host": host.format(port=port_of(served))}, timeout=10)
    assert answer.status_code == 400
    assert "DASHBOARD_ALLOWED_HOSTS" in answer.text
    assert "DORA" not in answer.text and "Bootstrap" not in answer.text


def test_a_callback_with_a_foreign_host_is_refused(served: RunningApp) -> None:
    answer = requests.post(served.url + CALLBACK, json=open_import_dialog(served), timeout=10,
                           headers={"Host": "evil.example", "Origin": "http://evil.example"})
    assert answer.status_code == 400
    assert "is_open" not in answer.text


@pytest.mark.parametrize("host", ["localhost:{port}", "LOCALHOST", "127.0.0.1:{port}", "[::1]:{port}",
                                  CONFIGURED_NAME, "Dash.Example.Test:443"])
def test_loopback_and_configured_names_are_answered(served: RunningApp, host: str) -> None:
    answer = requests.get(served.url + "/", headers={"Host": host.format(port=port_of(served))}, timeout=10)
    assert answer.status_code == 200
    assert "DORA" in answer.text


def test_a_name_not_configured_is_refused(served: RunningApp) -> None:
    answer = requests.get(served.url + "/", headers={"Host": "other.example.test"}, timeout=10)
    assert answer.status_code == 400


@pytest.mark.parametrize(("authority", "name"), [
    ("localhost:8050", "localhost"), ("[::1]:8050", "::1"), ("[::1]", "::1"), ("Example.COM.", "example.com"),
    ("host:", "host"), ("user@evil.example", None), ("evil.example/path", None), ("::1", None),
    ("[not-an-ip]:80", None), ("host:80x", None), ("", None),
])
def test_host_names_are_read_as_a_browser_sends_them(authority: str, name: str | None) -> None:
    assert host_name(authority) == name


# --- Origin ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example"},
    {"Origin": "null"},
    {"Origin": "http://127.0.0.1:1"},  # another program's page on this machine is another origin
    {"Origin": "http://localhost"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Origin": "{url}", "Sec-Fetch-Site": "cross-site"},
])
def test_a_cross_origin_callback_is_refused(served: RunningApp, headers: dict[str, str]) -> None:
    sent = {key: value.format(url=served.url) for key, value in headers.items()}
    answer = requests.post(served.url + CALLBACK, json=open_import_dialog(served), headers=sent, timeout=10)
    assert answer.status_code == 403
    assert "Only pages served by this dashboard may change it" in answer.text
    assert "is_open" not in answer.text


@pytest.mark.parametrize("headers", [
    {"Origin": "{url}", "Sec-Fetch-Site": "same-origin"},  # what a browser on the dashboard's page sends
    {"Origin": "http://localhost:{port}"},
    {"Origin": f"https://{CONFIGURED_NAME}"},  # behind a proxy that rewrites Host
    {},  # no Origin: not a browser (curl, scripts), documented as admitted
])
def test_a_same_origin_callback_passes_the_guard(served: RunningApp, headers: dict[str, str]) -> None:
    sent = {key: value.format(url=served.url, port=port_of(served)) for key, value in headers.items()}
    if sent.get("Origin", "").startswith("http://localhost"):
        sent["Host"] = f"localhost:{port_of(served)}"
    answer = requests.post(served.url + CALLBACK, json=open_import_dialog(served), headers=sent, timeout=10)
    assert answer.status_code == 200
    assert answer.json()["response"][ids.Exports.IMPORT_MODAL] == {"is_open": True}


# --- Body size -------------------------------------------------------------------------------------------------

def test_a_huge_declared_body_is_refused_without_being_read(served: RunningApp) -> None:
    # 1 GB declared, 64 KiB sent: the 413 arrives while 999.9 MB were never sent, so the server cannot have
    # read the body; then the server still answers.
    head = (f"POST {CALLBACK} HTTP/1.1\r\nHost: 127.0.0.1:{port_of(served)}\r\nContent-Type: application/json\r\n"
            f"Content-Length: 1000000000\r\n\r\n")
    answer, seconds = raw_exchange(served, head, [b"x" * 65536])
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert seconds < 5
    assert requests.get(served.url + "/", timeout=10).status_code == 200


def test_the_general_limit_applies_off_the_callback_route(served: RunningApp) -> None:
    # 5 MiB declared: above the 4 MiB general limit, below the callback route's import-sized limit.
    assert GENERAL_BODY_LIMIT == 4 * MIB
    head = (f"POST /anything HTTP/1.1\r\nHost: 127.0.0.1:{port_of(served)}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {5 * MIB}\r\n\r\n")
    answer, _ = raw_exchange(served, head, [b"x" * 1000])
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]


def chunked(parts: list[bytes]) -> list[bytes]:
    return [b"%x\r\n" % len(part) + part + b"\r\n" for part in parts] + [b"0\r\n\r\n"]


def test_a_chunked_body_without_length_is_bounded(served: RunningApp) -> None:
    # 16 × 1 MiB chunks = 16 MiB, above the callback limit: the import's largest base64 body, 10 MiB × 4/3
    # ≈ 13.3 MiB, plus 1 MiB of margin ≈ 14.3 MiB. Read up to the limit, then 413.
    head = (f"POST {CALLBACK} HTTP/1.1\r\nHost: 127.0.0.1:{port_of(served)}\r\nContent-Type: application/json\r\n"
            f"Transfer-Encoding: chunked\r\n\r\n")
    answer, seconds = raw_exchange(served, head, chunked([b"x" * MIB] * 16))
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert seconds < 5


def test_a_small_chunked_callback_reaches_dash_whole(served: RunningApp) -> None:
    body = json.dumps(open_import_dialog(served)).encode()
    head = (f"POST {CALLBACK} HTTP/1.1\r\nHost: 127.0.0.1:{port_of(served)}\r\nContent-Type: application/json\r\n"
            f"Transfer-Encoding: chunked\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port_of(served)), timeout=10) as connection:
        connection.sendall(head.encode("ascii") + b"".join(chunked([body[:10], body[10:]])))
        answer = b""
        while piece := connection.recv(65536):
            answer += piece
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:300]
    assert b'"is_open":true' in answer


def test_a_snapshot_file_of_the_largest_accepted_size_still_arrives(served: RunningApp) -> None:
    # A MAX_IMPORT_BYTES file (a JSON object padded with spaces) travels as base64 inside the callback body;
    # the request limit must let it through to the import, which answers with its own message.
    document = b"{" + b" " * (MAX_IMPORT_BYTES - 2) + b"}"
    contents = "data:application/json;base64," + base64.b64encode(document).decode("ascii")
    payload = callback_payload(served, f"{ids.Exports.IMPORT_UPLOAD}.contents", f"{ids.Exports.IMPORT_MODAL}.is_open",
                               [contents], ["largest.json"])
    answer = requests.post(served.url + CALLBACK, json=payload, headers={"Origin": served.url}, timeout=60)
    assert answer.status_code == 200
    assert "largest.json imported" in answer.text


# --- Start-up --------------------------------------------------------------------------------------------------

def run_app(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python app.py ARGS`` with the test's own data folder, to its end (these runs must not serve)."""
    full_env = {key: value for key, value in os.environ.items() if key not in ("DASHBOARD_PORT", "DASHBOARD_HOST")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, str(PROJECT_ROOT / "app.py"), *args], cwd=PROJECT_ROOT, env=full_env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("args", "env", "named"), [
    (["--port", "99999"], {}, "--port 99999"),
    (["--port", "x"], {}, "--port 'x'"),
    (["--port", "0"], {}, "--port 0"),
    (["--port=-1"], {}, "--port -1"),
    ([], {"DASHBOARD_PORT": "x"}, "DASHBOARD_PORT 'x'"),
    ([], {"DASHBOARD_PORT": "0"}, "DASHBOARD_PORT 0"),
    ([], {"DASHBOARD_PORT": "-8050"}, "DASHBOARD_PORT -8050"),
    ([], {"DASHBOARD_ALLOWED_HOSTS": "http://dash.example.test/"}, "DASHBOARD_ALLOWED_HOSTS entry"),
])
def test_a_bad_port_is_one_line_and_exit_code_2(args: list[str], env: dict[str, str], named: str) -> None:
    result = run_app(args, env)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert named in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_a_busy_port_is_one_line_and_exit_code_1() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run_app(["--port", str(port)])
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"Could not start the dashboard: 127.0.0.1:{port}: the port is already in use by another program; "
        f"stop it or choose another port with --port"]
    assert "Traceback" not in result.stdout


def test_a_loopback_start_prints_no_exposure_warning(served: RunningApp) -> None:
    assert "Warning: serving on" not in served.output()


def test_a_wildcard_host_warns_what_is_exposed_and_still_checks_host_names(tmp_path: Path) -> None:
    port = free_port()
    stderr_path = tmp_path / "stderr.txt"
    env = {**os.environ, "DASHBOARD_DATA_DIR": str(tmp_path)}
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen([sys.executable, str(PROJECT_ROOT / "app.py"), "--host", "0.0.0.0", "--port",
                                    str(port)], cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", timeout=90, process=process)
        # A wildcard address is no host name: a machine's LAN address is answered only when configured.
        lan = requests.get(f"http://127.0.0.1:{port}/", headers={"Host": f"192.0.2.10:{port}"}, timeout=10)
        assert lan.status_code == 400
    finally:
        process.terminate()
        process.wait(timeout=10)
    warning = stderr_path.read_text()
    assert f"Warning: serving on 0.0.0.0:{port}" in warning
    assert "team's metrics" in warning and "Jira connection settings" in warning and "no login" in warning
    assert "DASHBOARD_ALLOWED_HOSTS=" in warning and "127.0.0.1" in warning
    assert "Traceback" not in warning


def test_the_guards_come_with_the_wsgi_app_itself(isolated_data_dir: Path) -> None:
    # A WSGI server (gunicorn app:create_app().server) gets the same checks: they are installed by create_app(),
    # first among the server's before_request hooks, ahead of Dash's own.
    from app import create_app

    server = create_app().server
    guard = server.before_request_funcs[None][0]
    assert guard.__module__ == "configuration.serving"
    client = server.test_client()
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/", headers={"Host": "localhost"}).status_code == 200
    refused = client.post(CALLBACK, data=b"{}", headers={"Host": "localhost", "Origin": "http://evil.example",
                                                         "Content-Type": "application/json"})
    assert refused.status_code == 403
