"""CSV cells a spreadsheet opens as data, never as a formula.

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return may be run as a formula by
Excel, LibreOffice or Google Sheets (CSV injection): an issue summary such as ``=HYPERLINK("http://…")`` would
become a live link, ``=cmd|…`` worse. Such text is written with a leading apostrophe, which every one of them
shows as plain text. Numbers are written as numbers: a negative duration stays ``-2.5``.
"""

from __future__ import annotations

import math
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_csv_text(text: str) -> str:
    """``text``, prefixed with ``'`` when a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_cell(value: Any) -> str:
    """A cell: empty for None (and non-finite numbers), ``true``/``false``, numbers at full precision
    (``repr``), any other value as text made safe by ``safe_csv_text``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    if isinstance(value, int):
        return str(value)
    return safe_csv_text(str(value))
