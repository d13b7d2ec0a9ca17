"""``python cli.py fetch`` from Azure DevOps end to end in a subprocess, against the test Azure DevOps server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.ado_server import AdoTestServer
from tests.ado_server.builders import make_work_items
from tests.ado_server.fixtures import ado_server_factory  # noqa: F401  (a fixture, used by name)
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.usefixtures("restore_root_logging")


def run_cli(*args: str, pat: str | None, timeout: float = 180) -> subprocess.CompletedProcess:
    """Run ``python cli.py`` with the test's data directory (set by conftest) and ``AZURE_DEVOPS_PAT``."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("JIRA_", "AZURE_DEVOPS_"))}
    if pat is not None:
        env["AZURE_DEVOPS_PAT"] = pat
    return subprocess.run([sys.executable, str(PROJECT_ROOT / "cli.py"), *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def write_settings(folder: Path, server: AdoTestServer, **extra: object) -> Path:
    path = folder / "settings.json"
    settings = {"source": "azure_devops",
                "azure_devops": {"organization_url": server.organization_url, "project": server.project,
                                 "wiql_filter": ""},
                "jira": {"requests_per_second": 100}, **extra}
    path.write_text(json.dumps(settings))
    return path


def test_fetch_gets_every_work_item_past_the_wiql_limit(ado_server_factory, tmp_path: Path,  # noqa: F811
                                                        isolated_data_dir: Path) -> None:
    # The server refuses a WIQL answer above 50 items (VS402337, as Azure DevOps does above 20,000); 130
    # matching items must all arrive, with the mapped custom field (a reference name with dots) kept.
    items = make_work_items(130, revisions=4, extra_fields={"Custom.DeploymentDate": "2025-02-01T10:00:00Z"})
    server = ado_server_factory(items, wiql_cap=50)
    settings = write_settings(tmp_path, server, dora_flow_config={
        "field_mappings": {"dora": {"deployment_date": "Custom.DeploymentDate"}}})
    output = tmp_path / "issues.json"
    result = run_cli("fetch", "--settings", str(settings), "--output", str(output), pat=server.pat)
    assert result.returncode == 0, result.stderr
    assert "full update: 130 new" in result.stdout
    issues = orjson.loads(output.read_bytes())["issues"]
    assert sorted(int(issue["id"]) for issue in issues) == list(range(1, 131))
    assert all(issue["fields"]["Custom.DeploymentDate"] == "2025-02-01T10:00:00Z" for issue in issues)


def test_a_wrong_pat_is_one_plain_line_and_the_cache_is_kept(ado_server_factory, tmp_path: Path,  # noqa: F811
                                                             isolated_data_dir: Path) -> None:
    server = ado_server_factory(make_work_items(10, revisions=3))
    settings = write_settings(tmp_path, server)
    assert run_cli("fetch", "--settings", str(settings), pat=server.pat).returncode == 0
    cache = isolated_data_dir / "cache"
    before = {name: (cache / name).read_bytes() for name in ("issues.json", "fetch_meta.json")}
    result = run_cli("fetch", "--settings", str(settings), "--full", pat="wrong-token-000000000000")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.stderr
    assert "personal access token" in lines[0] and "unexpected" not in lines[0]
    assert "wrong-token-000000000000" not in result.stderr
    assert {name: (cache / name).read_bytes() for name in before} == before


def test_fetch_without_a_pat_says_where_to_set_it(ado_server_factory, tmp_path: Path,  # noqa: F811
                                                  isolated_data_dir: Path) -> None:
    server = ado_server_factory(make_work_items(3))
    result = run_cli("fetch", "--settings", str(write_settings(tmp_path, server)), pat=None)
    assert result.returncode == 1
    assert "AZURE_DEVOPS_PAT" in result.stderr and "Traceback" not in result.stderr
    assert server.requests == []
