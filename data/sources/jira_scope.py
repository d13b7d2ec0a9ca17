"""JQL the update path derives from the user's JQL: the delta since an instant and a chunk of listed keys.

The user's ``ORDER BY`` stays at the end (Jira refuses it anywhere else); ``ORDER BY`` inside quotes is text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

_ORDER_BY = re.compile(r"\border\s+by\b", re.IGNORECASE)


def split_order_by(jql: str) -> tuple[str, str]:
    """``"project = A ORDER BY rank"`` → ``("project = A", "rank")``; ORDER BY inside quotes is left alone."""
    for match in reversed(list(_ORDER_BY.finditer(jql))):
        if _outside_quotes(jql, match.start()):
            return jql[:match.start()].strip(), jql[match.end():].strip()
    return jql.strip(), ""


def _outside_quotes(text: str, position: int) -> bool:
    quote: str | None = None
    escaped = False
    for char in text[:position]:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif quote is None and char in "\"'":
            quote = char
        elif char == quote:
            quote = None
    return quote is None


def restrict_jql(jql: str, clause: str) -> str:
    """``(<jql>) AND <clause>``, keeping the user's ORDER BY at the end."""
    where, order = split_order_by(jql)
    text = f"({where}) AND {clause}" if where else clause
    return f"{text} ORDER BY {order}" if order else text


def incremental_jql(jql: str, since: datetime) -> str:
    """The delta search: ``updated >=`` an unquoted epoch-milliseconds number (no time-zone ambiguity)."""
    epoch_ms = int(since.timestamp() * 1000)
    return restrict_jql(jql, f"updated >= {epoch_ms}")


def keys_jql(jql: str, keys: Sequence[str]) -> str:
    """The issues with these keys, still within the user's JQL."""
    return restrict_jql(jql, f"key in ({', '.join(keys)})")
