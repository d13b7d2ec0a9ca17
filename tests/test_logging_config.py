"""Structured logging: JSON lines, rotation, idempotent setup, redaction of each secret form, cleanup."""

from __future__ import annotations

import logging
import os
import re
import time
from pathlib import Path

import orjson
import pytest

from configuration import logging_config as lc

TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
ATLASSIAN_TOKEN = "ATATT3xFfGF0T9yyHc3vL2mQk8sW7pR1nD4zJ6aB0cE5fG9hK2lM3nO4pQ5rS6tU7vW8xY9z0A1B2C3D4=8F2A91C3"


@pytest.fixture
def log_dir(tmp_path: Path):
    """Configure logging into a fresh folder and restore the root logger afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    lc.clear_registered_secrets()
    folder = tmp_path / "logs"
    lc.setup_logging(folder, console=False)
    yield folder
    for handler in list(root.handlers):
        if handler not in saved_handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(saved_level)
    lc.clear_registered_secrets()


def _lines(path: Path) -> list[dict]:
    for handler in logging.getLogger().handlers:
        handler.flush()
    if not path.exists():
        return []
    return [orjson.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _owned_handlers() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if getattr(h, "_dashboard_logging", False)]


def test_json_line_shape_with_context(log_dir):
    logging.getLogger("data.metrics.dora_calculator").info(
        "Starting %s calculation", "DORA", extra={"issue_count": 1234, "cache_hit": False}
    )
    [line] = _lines(log_dir / "app.log")
    assert set(line) == {"timestamp", "level", "module", "message", "context"}
    assert TIMESTAMP_RE.match(line["timestamp"])
    assert line["level"] == "INFO"
    assert line["module"] == "data.metrics.dora_calculator"
    assert line["message"] == "Starting DORA calculation"
    assert line["context"] == {"issue_count": 1234, "cache_hit": False}


def test_no_context_key_without_extra_and_debug_is_filtered(log_dir):
    log = logging.getLogger("x")
    log.debug("hidden")
    log.info("plain")
    lines = _lines(log_dir / "app.log")
    assert [line["message"] for line in lines] == ["plain"]
    assert "context" not in lines[0]


def test_errors_go_to_errors_log_with_exception_text(log_dir):
    log = logging.getLogger("data.sources.jira_client")
    log.warning("just a warning")
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        log.exception("calculation failed")
    errors = _lines(log_dir / "errors.log")
    assert [e["message"] for e in errors] == ["calculation failed"]
    assert errors[0]["level"] == "ERROR"
    assert "ZeroDivisionError: division by zero" in errors[0]["exception"]
    assert [e["message"] for e in _lines(log_dir / "app.log")] == ["just a warning", "calculation failed"]


def test_setup_twice_does_not_duplicate_handlers(log_dir):
    lc.setup_logging(log_dir, console=False)
    assert len(_owned_handlers()) == 2
    lc.setup_logging(log_dir, console=True)
    assert len(_owned_handlers()) == 3
    lc.setup_logging(log_dir, console=False)
    assert len(_owned_handlers()) == 2
    logging.getLogger("x").info("once")
    assert [e["message"] for e in _lines(log_dir / "app.log")] == ["once"]


def test_default_log_dir_is_under_the_data_dir(log_dir, isolated_data_dir):
    folder = lc.setup_logging(console=False)
    assert folder == isolated_data_dir / "logs"
    logging.getLogger("x").info("here")
    assert _lines(isolated_data_dir / "logs" / "app.log")[0]["message"] == "here"


def test_rotation_keeps_backup_count_files(log_dir):
    lc.setup_logging(log_dir, max_bytes=600, backup_count=2, console=False)
    log = logging.getLogger("rotation")
    for i in range(60):
        log.info("message number %03d with some padding to grow the file", i)
    names = sorted(p.name for p in log_dir.iterdir() if p.name.startswith("app.log"))
    assert names == ["app.log", "app.log.1", "app.log.2"]
    for name in names:
        assert (log_dir / name).stat().st_size <= 600
        assert all(line["module"] == "rotation" for line in _lines(log_dir / name))
    newest = _lines(log_dir / "app.log")[-1]["message"]
    assert newest.startswith("message number 059")


SECRET_FORMS = [
    # (text containing a secret, the secret part that must vanish, a neighbour that must survive)
    ("token=abcd1234efgh5678 fetched", "abcd1234efgh5678", "fetched"),
    ("api_token: s3cr3tValue99", "s3cr3tValue99", "api_token"),
    ("apitoken=QWERTY123456", "QWERTY123456", "apitoken"),
    ("jira access_token=zz-99-yy-88", "zz-99-yy-88", "jira"),
    ("using pat=NDg5ODc2NTQzMjE6abcdef", "NDg5ODc2NTQzMjE6abcdef", "using"),
    (
        "Authorization: Basic dXNlckBleGFtcGxlLmNvbTp0b2tlbjEyMw==",
        "dXNlckBleGFtcGxlLmNvbTp0b2tlbjEyMw==",
        "Basic",
    ),
    ("headers={'Authorization': 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig'}", "eyJhbGciOiJIUzI1NiJ9", "headers"),
    ("Token: Bearer abc123", "abc123", "Bearer"),
    ("password=hunter2 for user bob", "hunter2", "bob"),
    ('{"password": "correct horse battery"}', "correct horse battery", '"password"'),
    ("password: 'two words' given", "two words", "given"),
    ("GET https://x.atlassian.net/rest?jql=project%3DX&api_key=K3YV4LU3&x=1", "K3YV4LU3", "jql=project%3DX"),
    ("GET https://host/api?token=T0K3N&expand=changelog", "T0K3N", "expand=changelog"),
    ("GET https://host/api?a=1&access_token=AcC3ss", "AcC3ss", "a=1"),
    (f"raw token {ATLASSIAN_TOKEN} leaked", ATLASSIAN_TOKEN[:20], "leaked"),
    ("proxy https://bob:pa55word@proxy.local:8080", "pa55word", "proxy.local"),
]


@pytest.mark.parametrize(("text", "secret", "kept"), SECRET_FORMS)
def test_secret_in_message_is_redacted(log_dir, text, secret, kept):
    logging.getLogger("x").warning(text)
    content = (log_dir / "app.log").read_text()
    message = _lines(log_dir / "app.log")[0]["message"]
    assert secret not in content
    assert "[REDACTED]" in message
    assert kept in message


@pytest.mark.parametrize(("text", "secret", "kept"), SECRET_FORMS)
def test_secret_in_args_is_redacted_after_formatting(log_dir, text, secret, kept):
    logging.getLogger("x").warning("request: %s (%d)", text, 7)
    message = _lines(log_dir / "app.log")[0]["message"]
    assert secret not in (log_dir / "app.log").read_text()
    assert message.startswith("request: ") and message.endswith("(7)")
    assert kept in message


def test_secret_split_across_format_and_args_is_redacted(log_dir):
    logging.getLogger("x").info("token=%s", "S3CRETVALUE")
    assert _lines(log_dir / "app.log")[0]["message"] == "token=[REDACTED]"


def test_secrets_in_extra_are_redacted_recursively(log_dir):
    extra = {
        "request": {
            "headers": {"Authorization": "Basic dXNlcjpwYXNz", "Accept": "application/json"},
            "params": [{"api_key": "K1"}, {"jql": "project = X"}],
            "url": "https://host/api?token=T0K3N",
        },
        "api_token": "ABCDEF123456",
        "jira_pat": "PATVALUE99",
        "note": "password=hunter2",
        "issue_count": 12,
    }
    logging.getLogger("x").info("calling Jira", extra=extra)
    content = (log_dir / "app.log").read_text()
    for secret in ("dXNlcjpwYXNz", 'K1"', "T0K3N", "ABCDEF123456", "PATVALUE99", "hunter2"):
        assert secret not in content
    context = _lines(log_dir / "app.log")[0]["context"]
    assert context == {
        "request": {
            "headers": {"Authorization": "[REDACTED]", "Accept": "application/json"},
            "params": [{"api_key": "[REDACTED]"}, {"jql": "project = X"}],
            "url": "https://host/api?token=[REDACTED]",
        },
        "api_token": "[REDACTED]",
        "jira_pat": "[REDACTED]",
        "note": "password=[REDACTED]",
        "issue_count": 12,
    }


def test_registered_secret_is_redacted_everywhere(log_dir):
    secret = "plain-looking-value-42"
    lc.register_secret(secret)
    try:
        raise ValueError(f"server rejected {secret}")
    except ValueError:
        logging.getLogger("x").exception(
            "saw %s in reply", secret, extra={"detail": {"body": f"x {secret} y"}}
        )
    content = (log_dir / "app.log").read_text() + (log_dir / "errors.log").read_text()
    assert secret not in content
    line = _lines(log_dir / "app.log")[0]
    assert line["message"] == "saw [REDACTED] in reply"
    assert line["context"] == {"detail": {"body": "x [REDACTED] y"}}
    assert "ValueError: server rejected [REDACTED]" in line["exception"]


def test_short_or_empty_secrets_are_ignored(log_dir):
    lc.register_secret("")
    lc.register_secret(None)
    lc.register_secret("ab")
    logging.getLogger("x").info("about a cab")
    assert _lines(log_dir / "app.log")[0]["message"] == "about a cab"


def test_ordinary_text_is_left_alone(log_dir):
    text = "Fetched 120 issues in 3 pages; basic checks passed; hash a3f5c8d9; tokens_used 5"
    logging.getLogger("x").info(text)
    assert _lines(log_dir / "app.log")[0]["message"] == text


def test_filter_is_idempotent():
    redactor = lc.SensitiveDataFilter()
    record = logging.LogRecord(
        "x", logging.INFO, "", 0, "Token: Bearer %s and %s", ("abc123", "pat=XYZ123"), None
    )
    redactor.filter(record)
    once = record.getMessage()
    redactor.filter(record)
    assert record.getMessage() == once == "Token: Bearer [REDACTED] and pat=[REDACTED]"


def test_cleanup_deletes_only_old_log_files(tmp_path):
    folder = tmp_path / "old_logs"
    folder.mkdir()
    now = time.time()
    day = 86400
    ages = {
        "old.log": 40,
        "app.log.3": 35,
        "errors.log.12": 31,
        "recent.log": 10,
        "notes.txt": 40,
        "x.log.bak": 40,
    }
    for name, age in ages.items():
        path = folder / name
        path.write_text("x")
        os.utime(path, (now - age * day, now - age * day))
    # Older than 30 days and named *.log or *.log.N: old.log, app.log.3, errors.log.12.
    assert lc.cleanup_old_logs(folder, max_age_days=30, now=now) == 3
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt", "recent.log", "x.log.bak"]
    assert lc.cleanup_old_logs(tmp_path / "missing") == 0


def test_setup_logging_runs_cleanup(tmp_path):
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    folder = tmp_path / "logs"
    folder.mkdir()
    stale = folder / "app.log.5"
    stale.write_text("{}\n")
    old = time.time() - 31 * 86400
    os.utime(stale, (old, old))
    try:
        lc.setup_logging(folder, console=False)
        assert not stale.exists()
    finally:
        for handler in list(root.handlers):
            if handler not in saved_handlers:
                root.removeHandler(handler)
                handler.close()
        root.setLevel(saved_level)


def test_unusable_log_dir_falls_back_to_console(tmp_path, capsys):
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    try:
        assert lc.setup_logging(blocker / "logs", console=False) is None
        owned = _owned_handlers()
        assert len(owned) == 1 and not isinstance(owned[0], logging.FileHandler)
        assert "File logging disabled" in capsys.readouterr().err
    finally:
        for handler in list(root.handlers):
            if handler not in saved_handlers:
                root.removeHandler(handler)
                handler.close()
        root.setLevel(saved_level)


def test_unusual_context_values_still_give_a_json_line(log_dir):
    class Opaque:
        def __str__(self) -> str:
            return "opaque object"

    logging.getLogger("x").info("odd", extra={"big": 2**70, "obj": Opaque(), "nested": {1: "one"}})
    line = _lines(log_dir / "app.log")[0]
    assert line["context"] == {"big": 2**70, "obj": "opaque object", "nested": {"1": "one"}}
