"""Periods, ISO weeks and time windows: the time arithmetic every metric shares.

A period is a pair of dates meaning ``[start 00:00 UTC, end 23:59:59.999999 UTC]``. Internally a window is
half-open, ``[start, next day 00:00)``, measured in float microseconds since the epoch (exact for
Jira's millisecond timestamps), so an event at the end day's 23:59:59.999 counts and one at the next day's
00:00 does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd

MAX_PERIOD_DAYS = 365
SPARKLINE_WEEKS = 16
US_PER_DAY = 86_400_000_000.0
US_PER_HOUR = 3_600_000_000.0


class PeriodError(ValueError):
    """A period the user asked for cannot be used (end before start, too long, in the future, not a date)."""


def _as_date(value: object, name: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise PeriodError(f"Period {name} '{value}' is not a date (expected YYYY-MM-DD)") from None
    raise PeriodError(f"Period {name} must be a date, got {type(value).__name__}")


@dataclass(frozen=True)
class Period:
    """An inclusive range of whole UTC days, at most 365 days long."""

    start: date
    end: date

    def __post_init__(self) -> None:
        start = _as_date(self.start, "start")
        end = _as_date(self.end, "end")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)
        if end < start:
            raise PeriodError(f"Period end {end.isoformat()} is before its start {start.isoformat()}")
        days = (end - start).days + 1
        if days > MAX_PERIOD_DAYS:
            raise PeriodError(f"Period is {days} days long; the longest allowed is {MAX_PERIOD_DAYS} days")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def start_ts(self) -> pd.Timestamp:
        return pd.Timestamp(datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC))

    @property
    def end_ts(self) -> pd.Timestamp:
        """The last included instant, 23:59:59.999999 UTC of ``end``."""
        last = datetime(self.end.year, self.end.month, self.end.day, 23, 59, 59, 999_999, tzinfo=UTC)
        return pd.Timestamp(last)

    def previous(self) -> Period:
        """The equally long period just before this one."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def window(self) -> Window:
        return Window(
            label=f"{self.start.isoformat()}..{self.end.isoformat()}",
            start_us=day_start_us(self.start),
            end_us=day_start_us(self.end + timedelta(days=1)),
            days=self.days,
        )


def period_until(start: object, end: object, today: date) -> Period:
    """A ``Period`` that also ends no later than ``today`` (the UTC date of ``now``): the future has no data
    yet, so a period ending after today is refused (``PeriodError``) rather than shown with fake zeros.

    ``Period`` itself cannot check this because ``data.metrics`` never reads the clock; every entry point
    that knows ``now`` (the CLI, the dashboard's period selector) validates through here."""
    period = Period(start, end)
    today = _as_date(today, "today")
    if period.end > today:
        raise PeriodError(f"Period end {period.end.isoformat()} is in the future (today is {today.isoformat()}, "
                          "UTC); choose an end date on or before today")
    return period


@dataclass(frozen=True)
class Window:
    """A half-open span ``[start_us, end_us)`` in epoch microseconds, ``days`` whole days long."""

    label: str
    start_us: float
    end_us: float
    days: int


def day_start_us(day: date) -> float:
    """Epoch microseconds of 00:00 UTC on ``day``."""
    return float((day - date(1970, 1, 1)).days) * US_PER_DAY


def timestamp_us(value: datetime | pd.Timestamp) -> float:
    """Epoch microseconds of an instant; a naive value is read as UTC."""
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return float(ts.tz_localize(None).as_unit("us").asm8.view("i8"))


def series_us(values: pd.Series) -> np.ndarray:
    """A UTC datetime column as float epoch microseconds, NaN where the time is missing."""
    naive = values.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]").to_numpy()
    out = naive.view("i8").astype(np.float64)
    out[np.isnat(naive)] = np.nan
    return out


def iso_week_label(ts: datetime | date | pd.Timestamp) -> str:
    """ISO week label ``%G-%V`` (zero padded) of an instant, in UTC; a date is its own day."""
    if isinstance(ts, datetime | pd.Timestamp):
        ts = pd.Timestamp(ts)
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        day = ts.date()
    else:
        day = ts
    year, week, _ = day.isocalendar()
    return f"{year:04d}-{week:02d}"


def sparkline_weeks(end: date, n: int = SPARKLINE_WEEKS) -> list[tuple[str, pd.Timestamp, pd.Timestamp]]:
    """The ``n`` ISO weeks ending with the week containing ``end``, oldest first: (label, start, end)."""
    return [(w.label, w_period.start_ts, w_period.end_ts) for w, w_period in _week_pairs(end, n)]


def week_windows(end: date, n: int = SPARKLINE_WEEKS) -> list[Window]:
    """The sparkline weeks as windows labelled ``YYYY-WW``."""
    return [w for w, _ in _week_pairs(end, n)]


def _week_pairs(end: date, n: int) -> list[tuple[Window, Period]]:
    end = _as_date(end, "end")
    last_monday = end - timedelta(days=end.weekday())
    pairs = []
    for back in range(n - 1, -1, -1):
        monday = last_monday - timedelta(weeks=back)
        week = Period(monday, monday + timedelta(days=6))
        window = week.window()
        pairs.append((Window(iso_week_label(monday), window.start_us, window.end_us, 7), week))
    return pairs


def coverage_start(created_us: np.ndarray) -> date | None:
    """The first day the data covers: the UTC date of the earliest ``created`` (epoch µs, NaN = missing).

    None when no creation time parses: then no day is known to be covered."""
    known = created_us[~np.isnan(created_us)] if created_us.size else created_us
    if known.size == 0:
        return None
    return date(1970, 1, 1) + timedelta(days=int(np.floor(float(known.min()) / US_PER_DAY)))


@dataclass(frozen=True)
class MetricWindows:
    """The windows one calculation answers: the period, the period before it and the sparkline weeks, with
    ``coverage``, the first day the data covers (None when no day is known to be covered)."""

    current: Window
    previous: Window
    weeks: tuple[Window, ...]
    coverage: date | None

    def covers(self, window: Window) -> bool:
        """Whether a comparison window lies inside the fetched data: it starts on or after the coverage start.

        A window starting earlier would compare against days that were never fetched (METRICS.md,
        "Coverage"), so its value is null, never a fake 0."""
        return self.coverage is not None and window.start_us >= day_start_us(self.coverage)


def metric_windows(period: Period, coverage: date | None, n_weeks: int = SPARKLINE_WEEKS) -> MetricWindows:
    """The period's windows; ``coverage`` is the first day the data covers (None: no day is covered)."""
    weeks = tuple(week_windows(period.end, n_weeks))
    return MetricWindows(period.window(), period.previous().window(), weeks, coverage)
