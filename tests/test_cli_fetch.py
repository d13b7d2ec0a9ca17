"""``python cli.py fetch`` end to end in a subprocess, against the test Jira server over HTTP."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

import cli
from tests.conftest import PROJECT_ROOT
from tests.jira_server import JiraTestServer
from tests.jira_server.builders import make_issues
from tests.jira_server.fixtures import jira_server_factory  # noqa: F401  (a fixture, used by name)

EMAIL, TOKEN = "user@example.com", "secret-token-123"


def run_cli(*args: str, token: str | None = TOKEN, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``python cli.py`` with the test's data directory (set by conftest) and optional Cloud credentials."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("JIRA_")}
    if token is not None:
        env.update(JIRA_EMAIL=EMAIL, JIRA_API_TOKEN=token)
    return subprocess.run([sys.executable, str(PROJECT_ROOT / "cli.py"), *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def write_settings(folder: Path, server: JiraTestServer | None, **jira: object) -> Path:
    """A partial settings file: only what differs from the defaults."""
    path = folder / "settings.json"
    settings = {"jira": {"url": server.url if server else "", "jql": "project = PROJ", **jira}}
    path.write_text(json.dumps(settings))
    return path


pytestmark = pytest.mark.usefixtures("restore_root_logging")


def one_error_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in result.stderr
    return lines[0]


def test_fetch_fills_the_cache_and_writes_the_issues(jira_server_factory, tmp_path: Path,  # noqa: F811
                                                     isolated_data_dir: Path) -> None:
    server = jira_server_factory(make_issues(5, histories=4))
    settings = write_settings(tmp_path, server)
    output = tmp_path / "issues.json"

    result = run_cli("fetch", "--settings", str(settings), "--output", str(output))

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("full update: 5 new, 0 updated, 0 removed; 5 issues cached")
    issues = orjson.loads(output.read_bytes())["issues"]
    assert sorted(issue["key"] for issue in issues) == [f"PROJ-{n}" for n in range(1, 6)]
    # Four status changes each (To Do -> In Progress -> In Review -> Done -> To Do), oldest first.
    first = next(issue for issue in issues if issue["key"] == "PROJ-1")
    assert [h["items"][0]["toString"] for h in first["changelog"]["histories"]] == \
        ["In Progress", "In Review", "Done", "To Do"]
    assert (isolated_data_dir / "cache" / "issues.json").exists()

    again = run_cli("fetch", "--settings", str(settings))
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("incremental update: 0 new, 0 updated, 0 removed; 5 issues cached; 1 request;")

    full = run_cli("fetch", "--settings", str(settings), "--full")
    assert full.returncode == 0 and full.stdout.startswith("reconcile update: 0 new, 0 updated, 0 removed")


def test_a_bad_token_exits_1_with_one_line_and_no_token(jira_server_factory, tmp_path: Path,  # noqa: F811
                                                        isolated_data_dir: Path) -> None:
    server = jira_server_factory(make_issues(2))
    bad_token = "bad-token-4f7e1c9a"

    result = run_cli("fetch", "--settings", str(write_settings(tmp_path, server)), token=bad_token)

    assert result.returncode == 1
    line = one_error_line(result)
    assert "Client must be authenticated" in line and "401" in line
    assert bad_token not in result.stderr + result.stdout
    assert not (isolated_data_dir / "cache" / "issues.json").exists()
    log = (isolated_data_dir / "logs" / "app.log").read_text()
    assert "cli fetch failed" in log and bad_token not in log


def test_missing_credentials_name_the_variables(jira_server_factory, tmp_path: Path) -> None:  # noqa: F811
    server = jira_server_factory(make_issues(1))
    result = run_cli("fetch", "--settings", str(write_settings(tmp_path, server)), token=None)
    assert result.returncode == 1
    assert "JIRA_API_TOKEN" in one_error_line(result)
    assert server.requests == []


def test_an_empty_jql_is_a_clear_error(jira_server_factory, tmp_path: Path) -> None:  # noqa: F811
    server = jira_server_factory(make_issues(1))
    result = run_cli("fetch", "--settings", str(write_settings(tmp_path, server, jql="")))
    assert result.returncode == 1
    assert one_error_line(result) == "error: Set the JQL in Jira settings (e.g. project = ABC)"


@pytest.mark.parametrize("settings_args", [(), ("--settings", "{folder}/settings.json")],
                         ids=["no settings file at all", "a settings file without jira.url"])
def test_without_jira_nothing_is_fetched_and_the_line_says_how_to_configure(
        tmp_path: Path, isolated_data_dir: Path, settings_args: tuple[str, ...]) -> None:
    write_settings(tmp_path, None)
    result = run_cli("fetch", *[arg.format(folder=tmp_path) for arg in settings_args], token=None)
    assert result.returncode == 2, result.stderr
    line = one_error_line(result)
    assert line == f"error: {cli.NO_SOURCE}"
    for needed in ("Data source dialog", "jira.url", "jira.jql", "app_settings.json", "JIRA_EMAIL",
                   "JIRA_API_TOKEN", "JIRA_PAT", "`cli.py demo"):
        assert needed in line
    assert result.stdout == ""
    assert not (isolated_data_dir / "cache").exists()  # no demo data was fetched


def test_fetch_into_a_missing_folder_is_refused_before_fetching(jira_server_factory, tmp_path: Path,  # noqa: F811
                                                                isolated_data_dir: Path) -> None:
    server = jira_server_factory(make_issues(3))
    missing = tmp_path / "no-such-folder"
    result = run_cli("fetch", "--settings", str(write_settings(tmp_path, server)), "--output",
                     str(missing / "issues.json"))
    assert result.returncode == 2
    assert one_error_line(result) == (f"error: folder {missing} does not exist: create it first or choose "
                                      "another --output path")
    assert not missing.exists()
    assert server.requests == []  # refused before a single request
    assert not (isolated_data_dir / "cache").exists()


@pytest.mark.parametrize(("content", "message"), [
    (None, "settings file not found"),
    ("{not json", "is not valid JSON"),
    ('{"jira": {"deployment": "moon"}}', 'jira.deployment must be "cloud" or "datacenter"'),
])
def test_an_unusable_settings_file_is_an_error_not_the_defaults(tmp_path: Path, content: str | None,
                                                                 message: str,
                                                                 capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "settings.json"
    if content is not None:
        path.write_text(content)
    assert cli.main(["fetch", "--settings", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err
    if content is not None:
        assert path.read_text() == content  # never moved aside or rewritten


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["fetch", "--no-such-option"]) == 2
    assert cli.main([]) == 2
    assert "fetch" in capsys.readouterr().err


def test_help_lists_the_fetch_options(capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["fetch", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--settings" in out and "--full" in out and "--output" in out


def test_the_progress_bar_is_one_rewritten_line_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    show = cli._progress_printer()
    assert show is not None
    show(50, 200)
    show(80, None)
    assert terminal.getvalue() == "\rFetching: 50/200 issues (25%)   \rFetching: 80 issues   "


def test_no_progress_bar_when_stderr_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert cli._progress_printer() is None


@pytest.mark.parametrize("kind", ["symlink", "fifo", "folder"])
def test_an_output_that_is_not_a_regular_file_is_refused(tmp_path: Path, kind: str) -> None:
    # Writing replaces the file atomically: a link, a pipe or a folder in its place must not be swapped for a
    # plain file (as root, `--output /dev/null` would otherwise destroy a device).
    target = tmp_path / "out.json"
    real = tmp_path / "real.json"
    real.write_text("original")
    if kind == "symlink":
        target.symlink_to(real)
    elif kind == "fifo":
        os.mkfifo(target)
    else:
        target.mkdir()
    result = run_cli("demo", "--issues", "5", "--output", str(target))
    assert result.returncode == 2
    assert "must name a regular file" in one_error_line(result)
    assert real.read_text() == "original" and (target.is_symlink() or not target.is_file())


def test_demo_refuses_one_file_for_issues_and_settings(tmp_path: Path) -> None:
    target = tmp_path / "both.json"
    result = run_cli("demo", "--issues", "5", "--output", str(target), "--settings-output", str(target))
    assert result.returncode == 2 and "the same file" in one_error_line(result)
    assert not target.exists()


def test_demo_size_has_an_upper_bound(tmp_path: Path) -> None:
    result = run_cli("demo", "--issues", "99999999999999999999", "--output", str(tmp_path / "x.json"))
    assert result.returncode == 2 and "--issues must be at most 1,000,000" in one_error_line(result)


def test_an_expected_failure_is_logged_without_a_traceback(tmp_path: Path, isolated_data_dir: Path) -> None:
    # A settings error is written for the user: the error log gets its line, not a Python traceback.
    settings = tmp_path / "bad.json"
    settings.write_text(json.dumps({"jira": {"url": "https://acme.example", "page_size": "100"}}))
    result = run_cli("fetch", "--settings", str(settings))
    assert result.returncode != 0 and "page_size" in one_error_line(result)
    errors = (isolated_data_dir / "logs" / "errors.log").read_text(encoding="utf-8")
    assert "page_size" in errors and "Traceback" not in errors


def test_an_unknown_option_is_one_line_too(tmp_path: Path) -> None:
    # argparse reports options no command knows through the top-level parser: one line and exit 2 as well.
    result = run_cli("demo", "--output", str(tmp_path / "x.json"), "--bogus")
    assert result.returncode == 2
    assert "unrecognized arguments: --bogus" in one_error_line(result)
    assert not (tmp_path / "x.json").exists()
