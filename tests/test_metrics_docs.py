"""docs/metrics.md must agree with the code: the tier table, the tier colours and every metric's unit.

The docs are parsed as written (markdown tables), so editing either side alone fails here.
"""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import pytest

from configuration.tiers import TIER_COLORS, TIER_NAMES, TIER_TABLE
from data.metrics import dora_calculator, flow_calculator

DOCS = Path(__file__).resolve().parent.parent / "docs" / "metrics.md"


def _tables(text: str) -> list[list[list[str]]]:
    """Every markdown table in ``text`` as rows of stripped cells (header first, separator dropped)."""
    tables: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if not all(re.fullmatch(r":?-+:?", cell) for cell in cells):
                current.append(cells)
        elif current:
            tables.append(current)
            current = []
    return tables


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    following = re.search(r"^#{1,3} ", text[start + len(heading):], flags=re.MULTILINE)
    return text[start:start + len(heading) + following.start()] if following else text[start:]


def _threshold(cell: str) -> tuple[str, float]:
    """``≥ 30/7`` → ("≥", 4.2857…)."""
    match = re.fullmatch(r"(≥|>|≤|<)\s*([0-9.]+)(?:\s*/\s*([0-9.]+))?", cell)
    assert match, f"unreadable tier cell {cell!r}"
    value = Fraction(match.group(2)) / Fraction(match.group(3) or 1)
    return match.group(1), float(value)


def test_tier_table_in_docs_equals_the_code():
    text = DOCS.read_text(encoding="utf-8")
    (table,) = _tables(_section(text, "### Performance tiers"))
    header, *rows = table
    assert header[1:] == list(TIER_NAMES)
    documented = {}
    for first, *cells in rows:
        metric = first.split()[0]
        documented[metric] = [_threshold(cell) for cell in cells]
    assert set(documented) == set(TIER_TABLE)
    for metric, cells in documented.items():
        rule = TIER_TABLE[metric]
        expected = [(rule.better_op, rule.elite), (rule.better_op, rule.high), (rule.better_op, rule.medium),
                    (rule.worse_op, rule.medium)]
        assert [op for op, _ in cells] == [op for op, _ in expected], metric
        assert [value for _, value in cells] == pytest.approx([value for _, value in expected]), metric


def test_tier_colours_in_docs_equal_the_code():
    text = _section(DOCS.read_text(encoding="utf-8"), "### Performance tiers")
    documented = dict(re.findall(r"(Elite|High|Medium|Low) (green|yellow|orange|red)", text))
    assert documented == TIER_COLORS


@pytest.mark.parametrize(("heading", "units"), [
    ("## DORA metrics", dora_calculator.UNITS),
    ("## Flow metrics", flow_calculator.UNITS),
])
def test_metric_tables_in_docs_list_every_metric_with_its_unit(heading, units):
    section = _section(DOCS.read_text(encoding="utf-8"), heading)
    table = _tables(section)[0]
    header, *rows = table
    assert header[:3] == ["metric", "value", "unit"]
    documented = {row[0].strip("`"): row[2].strip("`") for row in rows}
    assert documented == units


def test_the_shared_details_keys_are_documented():
    """Every ``details`` key that all metrics share (counts, sparkline, trend, coverage) is named in the docs
    as the calculators spell it; a renamed key fails here until the docs follow."""
    from datetime import UTC, date, datetime

    from data.metrics.issue_frame import build_issue_frames
    from data.metrics.periods import Period
    from tests.test_issue_frame import issue, make_settings

    settings = make_settings(dora={"deployment_date": "cf_deploy"})
    raw = [issue("D-1", "2025-01-01", "Done", issue_type="Deployment", cf_deploy="2025-01-10")]
    metric = dora_calculator.calculate_dora_metrics(
        build_issue_frames(raw, settings), settings, Period(date(2025, 1, 6), date(2025, 1, 12)),
        datetime(2025, 2, 1, tzinfo=UTC))["deployment_frequency"]
    shared = ("sample_size", "exclusion_reasons", "weekly_values", "week_labels", "trend_percentage",
              "trend_direction", "previous_value", "coverage_start", "previous_covered")
    assert set(shared) <= set(metric.details)
    text = DOCS.read_text(encoding="utf-8")
    assert [key for key in shared if f"`details.{key}`" not in text] == []
    assert "**Coverage**" in text and "pp vs previous period" in text
