"""CSV cells: text a spreadsheet would run as a formula gets a leading apostrophe; numbers stay numbers."""

from __future__ import annotations

import pytest

from data.metrics.csv_cells import csv_cell, safe_csv_text
from data.metrics.exporters import export_metrics


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1+2", "@SUM(A1)", "\tx", "\rx"])
def test_formula_starts_are_neutralised(text: str) -> None:
    assert safe_csv_text(text) == "'" + text


@pytest.mark.parametrize("text", ["Fix login", "", "1+1", "'quoted", " =x"])
def test_other_text_is_unchanged(text: str) -> None:
    assert safe_csv_text(text) == text


def test_numbers_and_empties_are_not_text() -> None:
    assert [csv_cell(v) for v in (-2.5, -3, None, True, float("nan"))] == ["-2.5", "-3", "", "true", ""]


def test_the_metrics_csv_neutralises_text_cells() -> None:
    # A message that starts like a formula (e.g. a Jira field name echoed in an error) is written safely.
    metric = {"metric_name": "flow_time", "metric_type": "flow", "value": None, "unit": "days",
              "error_state": "calculation_error", "error_message": "=HYPERLINK(\"x\")", "details": {}}
    text = export_metrics("csv", {"flow_time": metric}, period_start=None, period_end=None, generated_at=None)
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text
