"""The code base stays ruff-clean: lint findings fail the suite like any other defect."""

import subprocess
import sys

from tests.conftest import PROJECT_ROOT


def test_ruff_reports_no_findings() -> None:
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_placeholders_in_product_code() -> None:
    offenders = []
    for path in PROJECT_ROOT.rglob("*.py"):
        relative = path.relative_to(PROJECT_ROOT)
        if relative.parts[0] in {".venv", "tests"}:
            continue
        text = path.read_text(encoding="utf-8")
        offenders += [f"{relative}: {marker}" for marker in ("TODO", "FIXME", "NotImplementedError") if marker in text]
    assert offenders == []
