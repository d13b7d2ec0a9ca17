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
# The dates a timestamp may have: 1678-01-01 to 2262-01-01 UTC, inside what pandas holds at any precision
# (nanoseconds end in April 2262) and what Python's datetime holds, so no later step can overflow. Values
# outside (a year 10000, an epoch of 9e18) are unreadable like any other bad timestamp.
EARLIEST_EPOCH_SECONDS = -9_214_560_000.0
LATEST_EPOCH_SECONDS = 9_214_646_400.0
_EARLIEST_US = int(EARLIEST_EPOCH_SECONDS) * 1_000_000
_LATEST_US = int(LATEST_EPOCH_SECONDS) * 1_000_000


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
            if inner is None:
                continue
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
        return str(value) if -10**30 < value < 10**30 else None  # beyond: no option text, and too long
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
        try:
            number = float(value)
        except OverflowError:  # an int beyond any float
            return None
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
    Anything else, and any instant outside 1678–2262 (``EARLIEST_EPOCH_SECONDS``), becomes NaT."""
    n = len(values)
    missing = values.count(None)
    if missing == n:  # nothing to parse (an unmapped or unused field)
        return _utc_series(np.full(n, np.datetime64("NaT"), dtype="datetime64[us]"))
    if set(map(type, values)) <= {str, type(None)}:
        if missing * 2 <= n:
            return _within_range(_parse_strings(values))
        # Mostly empty (a field few issues set): parse the texts alone, each parses the same on its own.
        present = [i for i, v in enumerate(values) if v is not None]
        stamps = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
        stamps[present] = _within_range(_parse_strings([values[i] for i in present])).to_numpy(dtype="datetime64[us]")
        return _utc_series(stamps)
    strings: list[Any] = [None] * n
    numbers = np.full(n, np.nan)
    for i, v in enumerate(values):
        if isinstance(v, str):
            strings[i] = v
        elif isinstance(v, int | float) and not isinstance(v, bool):
            try:
                number = float(v)
            except OverflowError:  # an int too large for a float
                continue
            if math.isfinite(number):
                numbers[i] = number * (1_000.0 if abs(number) >= _EPOCH_MS_THRESHOLD else 1_000_000.0)
    parsed = _parse_strings(strings)
    usable = ~np.isnan(numbers) & (numbers >= _EARLIEST_US) & (numbers <= _LATEST_US)
    if usable.any():
        micros = numbers[usable].round().astype(np.int64).view("datetime64[us]")
        parsed.iloc[np.flatnonzero(usable)] = pd.Series(micros).dt.tz_localize("UTC").to_numpy()
    return _within_range(parsed)


def _utc_series(stamps: np.ndarray) -> pd.Series:
    return pd.Series(stamps).dt.tz_localize("UTC")


def _parse_strings(values: Sequence[Any]) -> pd.Series:
    """ISO 8601 texts as UTC timestamps (NaT when unreadable); overlong texts are not even tried."""
    try:
        short = max(map(len, values), default=0) <= 64
    except TypeError:  # a None among them
        short = False
    texts = pd.Series(values if short else [v if v is None or len(v) <= 64 else None for v in values], dtype=object)
    try:
        parsed = pd.to_datetime(texts, utc=True, format="ISO8601", errors="coerce")
    except (OverflowError, ValueError):  # an out-of-range value pandas does not coerce: one at a time
        parsed = pd.Series([_one_timestamp(v) for v in texts], dtype=object)
        parsed = pd.to_datetime(parsed, utc=True, errors="coerce")
    return parsed.astype(TIMESTAMP_DTYPE)


def _one_timestamp(value: Any) -> Any:
    try:
        return pd.to_datetime(value, utc=True, format="ISO8601", errors="coerce")
    except (OverflowError, ValueError):
        return pd.NaT


def _within_range(parsed: pd.Series) -> pd.Series:
    micros = parsed.to_numpy(dtype="datetime64[us]").view(np.int64)
    outside = (micros < _EARLIEST_US) | (micros > _LATEST_US)
    outside &= ~parsed.isna().to_numpy()
    if outside.any():
        parsed = parsed.copy()
        parsed.iloc[np.flatnonzero(outside)] = pd.NaT
    return parsed


def from_us(values: np.ndarray, index: pd.Index | None = None) -> pd.Series:
    ints = np.where(np.isnan(values), np.iinfo(np.int64).min, np.nan_to_num(values)).astype(np.int64)
    return pd.Series(ints.view("datetime64[us]"), index=index).dt.tz_localize("UTC")


def utc_iso(moment: datetime) -> str:
    """``2025-01-15T10:00:00.000Z``: the one timestamp format of the cache metadata."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_jira_time(value: Any) -> datetime | None:
    """A Jira timestamp (``2025-01-15T10:00:00.000+0000``, ISO or epoch seconds) in UTC, else ``None``
    (also for NaN, 9e18 or any instant outside 1678–2262: see ``EARLIEST_EPOCH_SECONDS``)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            seconds = float(value)
        except OverflowError:
            return None
        if not EARLIEST_EPOCH_SECONDS <= seconds <= LATEST_EPOCH_SECONDS:  # also false for NaN
            return None
        return datetime.fromtimestamp(seconds, UTC)
    if not isinstance(value, str) or not value or len(value) > 64:
        return None
    try:
        moment = datetime.fromisoformat(value)
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return moment if EARLIEST_EPOCH_SECONDS <= moment.timestamp() <= LATEST_EPOCH_SECONDS else None
