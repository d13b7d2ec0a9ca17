"""Jira field values as the metrics read them: option text, boolean-like words, numbers and timestamps
(METRICS.md "Field values" and "Time"). Pure and vectorised where it matters."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

TRUE_WORDS = frozenset({"true", "yes", "y", "1", "success", "successful", "passed"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "failed", "failure"})
TIMESTAMP_DTYPE = "datetime64[us, UTC]"
_EPOCH_MS_THRESHOLD = 1e11


def fold(text: str) -> str:
    """The comparison form of a status, type or option text: trimmed and case-folded."""
    return text.strip().casefold()


def option_text(value: Any) -> str | None:
    """Text of a field value: a string, an option ``{"value"}``/``{"name"}``, the first non-empty option of
    a list, or a number/boolean written out; trimmed; ``None`` when empty or unusable."""
    if isinstance(value, str):
        return value.strip() or None
    if value is None:
        return None
    if isinstance(value, dict):
        for key in ("value", "name"):
            inner = value.get(key)
            text = (inner.strip() or None) if type(inner) is str else option_text(inner)
            if text is not None:
                return text
        return None
    if isinstance(value, list | tuple):
        for item in value:
            text = option_text(item)
            if text is not None:
                return text
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() else repr(value)
    return None


def boolean_value(value: Any) -> bool | None:
    """A boolean-like value (METRICS.md): ``True``/``False``, or ``None`` when empty or not boolean-like."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return True if value == 1 else False if value == 0 else None
    text = option_text(value)
    if text is None:
        return None
    word = text.casefold()
    return True if word in TRUE_WORDS else False if word in FALSE_WORDS else None


def number_value(value: Any) -> float | None:
    """A finite number from a number or numeric text; ``None`` otherwise (booleans are not numbers)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = option_text(value)
        if text is None:
            return None
        try:
            number = float(text)
        except ValueError:
            return None
    return number if math.isfinite(number) else None


def timestamp_raw(value: Any) -> Any:
    if isinstance(value, str) or value is None:
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    return option_text(value)


def parse_timestamps(values: Sequence[Any]) -> pd.Series:
    """Parse timestamps to UTC, vectorised: ISO 8601 with ``Z``, ``±HH:MM``, ``±HHMM`` or no offset (UTC),
    date-only (00:00 UTC), or epoch numbers (milliseconds when ≥ 1e11 in magnitude, else seconds).
    Anything else becomes NaT."""
    n = len(values)
    if set(map(type, values)) <= {str, type(None)}:
        parsed = pd.to_datetime(pd.Series(values, dtype=object), utc=True, format="ISO8601", errors="coerce")
        return parsed.astype(TIMESTAMP_DTYPE)
    strings: list[Any] = [None] * n
    numbers = np.full(n, np.nan)
    for i, v in enumerate(values):
        if isinstance(v, str):
            strings[i] = v
        elif isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
            numbers[i] = v * (1_000.0 if abs(v) >= _EPOCH_MS_THRESHOLD else 1_000_000.0)
    parsed = pd.to_datetime(pd.Series(strings, dtype=object), utc=True, format="ISO8601", errors="coerce")
    parsed = parsed.astype(TIMESTAMP_DTYPE)
    usable = ~np.isnan(numbers) & (np.abs(numbers) < 2.0**62)
    if usable.any():
        epoch = pd.Series(pd.to_datetime(numbers[usable].round().astype(np.int64), unit="us", utc=True))
        parsed.iloc[np.flatnonzero(usable)] = epoch.astype(TIMESTAMP_DTYPE).to_numpy()
    return parsed


def from_us(values: np.ndarray, index: pd.Index | None = None) -> pd.Series:
    ints = np.where(np.isnan(values), np.iinfo(np.int64).min, np.nan_to_num(values)).astype(np.int64)
    return pd.Series(ints.view("datetime64[us]"), index=index).dt.tz_localize("UTC")


def utc_iso(moment: datetime) -> str:
    """``2025-01-15T10:00:00.000Z``: the one timestamp format of the cache metadata."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_jira_time(value: Any) -> datetime | None:
    """A Jira timestamp (``2025-01-15T10:00:00.000+0000``, ISO or epoch seconds) in UTC, else ``None``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
