"""A deliberately slow, plain-Python reference of the five analytics sections of ANALYTICS.md, used by the
property tests.

Written from the rules on top of tests/reference_metrics.py (one issue at a time, ``datetime`` and
``statistics``, no pandas or numpy, no project imports): every day is replayed item by item and every
interval walked by hand, so when it and the vectorised product disagree one of them is visibly wrong.
"""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tests.reference_metrics import Config, Issue, day_window, days_between, norm, percentile, within

NO_STATUS = "(none)"


def label(status: str | None) -> str:
    return NO_STATUS if status is None else status


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"50": None, "70": None, "85": None, "95": None}
    return {"50": statistics.median(values), "70": percentile(values, 70), "85": percentile(values, 85),
            "95": percentile(values, 95)}


def cycle_points(items: list[Issue], first: datetime, last: datetime) -> tuple[list[dict], int, int]:
    done = [i for i in items if within(i.completed, first, last)]
    points = []
    for item in done:
        if item.started is None or item.completed < item.started:
            continue
        points.append({"key": item.key, "completed": item.completed, "started": item.started, "item": item,
                       "days": days_between(item.started, item.completed)})
    points.sort(key=lambda p: (p["completed"], p["key"]))
    return points, len(done), len(done) - len(points)


def aging(items: list[Issue], config: Config, as_of: datetime, lines: dict[str, float | None]) -> dict[str, Any]:
    rows = []
    for item in items:
        if item.created is None or item.created > as_of or norm(item.status_at(as_of)) not in config.wip:
            continue
        age = days_between(item.started, as_of) if item.started is not None and item.started <= as_of else None
        rows.append({"key": item.key, "status": label(item.status_at(as_of)), "age_days": age})
    rows.sort(key=lambda r: (r["age_days"] is None, -(r["age_days"] or 0.0), r["key"]))
    p85 = lines["85"]
    over = None if p85 is None else sum(1 for r in rows if r["age_days"] is not None and r["age_days"] > p85)
    by_status: dict[str, int] = {}
    for row in rows:
        by_status[row["status"]] = by_status.get(row["status"], 0) + 1
    return {"count": len(rows), "items": rows, "over_85": over, "by_status": by_status}


def time_in_status(points: list[dict], config: Config) -> dict[str, Any]:
    per: dict[tuple[str, str], float] = {}
    for point in points:
        item: Issue = point["item"]
        for i, status in enumerate(item.statuses):
            begin = max(item.times[i], point["started"])
            end = point["completed"] if i + 1 == len(item.times) else min(item.times[i + 1], point["completed"])
            if end > begin:
                key = (label(status), item.key)
                per[key] = per.get(key, 0.0) + days_between(begin, end)
    flow = sum(p["days"] for p in points)
    names = sorted({name for name, _ in per})
    rows = []
    for name in names:
        values = [days for (status, _), days in per.items() if status == name]
        folded = norm(name) if name != NO_STATUS else None
        rows.append({"status": name, "total_days": sum(values), "share_percent": sum(values) / flow * 100,
                     "items": len(values), "median_days": statistics.median(values),
                     "active": folded in config.active, "completed": folded in config.completed})
    rows.sort(key=lambda r: (-r["total_days"], r["status"]))
    waiting = [r for r in rows if not r["active"] and not r["completed"]]
    return {"statuses": rows, "bottleneck": waiting[0]["status"] if waiting else None, "flow_days": flow}


def days_of(start: date, end: date, now: datetime) -> list[tuple[date, datetime]]:
    out = []
    day = start
    while day <= end and day <= now.date():
        end_of_day = datetime(day.year, day.month, day.day, 23, 59, 59, 999999, tzinfo=UTC)
        out.append((day, min(end_of_day, now)))
        day += timedelta(days=1)
    return out


def cfd(items: list[Issue], settings: dict, days: list[tuple[date, datetime]]) -> dict[str, Any]:
    counts: dict[str, list[int]] = {}
    existing = []
    for index, (_, instant) in enumerate(days):
        alive = 0
        for item in items:
            if item.created is None or item.created > instant:
                continue
            alive += 1
            name = label(item.status_at(instant))
            counts.setdefault(name, [0] * len(days))[index] += 1
        existing.append(alive)
    cfg = settings["dora_flow_config"]
    completed = [norm(s) for s in cfg["completed_statuses"]]
    wip = [norm(s) for s in reversed(cfg["wip_statuses"]) if norm(s) not in completed]

    def rank(name: str) -> tuple[int, str]:
        groups = completed + wip
        folded = norm(name) if name != NO_STATUS else None
        return (groups.index(folded) if folded in groups else len(groups), name)

    order = sorted(counts, key=rank)
    return {"counts": counts, "order": order, "existing": existing}


def throughput(items: list[Issue], start: date, end: date, days: list[tuple[date, datetime]]) -> dict[str, Any]:
    done_days = [i.completed.date() for i in items if i.completed is not None]
    daily = [sum(1 for d in done_days if d == day) for day, _ in days]
    labels, values = [], []
    monday = start - timedelta(days=start.weekday())
    while monday <= end:
        year, week, _ = monday.isocalendar()
        labels.append(f"{year}-{week:02d}")
        values.append(sum(1 for d in done_days if start <= d <= end and monday <= d < monday + timedelta(days=7)))
        monday += timedelta(days=7)
    return {"daily": daily, "weekly": {"labels": labels, "values": values}}


def reference_analytics(raw_issues: list[dict], settings: dict, start: date, end: date,
                        now: datetime) -> dict[str, Any]:
    """The five sections' numbers by the rules (no error states: the product's are checked separately)."""
    config = Config(settings)
    items = [i for i in (Issue(raw, config) for raw in raw_issues) if i.is_flow_item]
    first, last, _ = day_window(start, end)
    points, total, excluded = cycle_points(items, first, last)
    lines = percentiles([p["days"] for p in points])
    days = days_of(start, end, now)
    return {
        "cycle_time": {"points": points, "percentiles": lines, "total": total, "excluded": excluded},
        "aging_wip": {"as_of": min(last, now), **aging(items, config, min(last, now), lines)},
        "time_in_status": time_in_status(points, config),
        "cfd": {"days": [d.isoformat() for d, _ in days], **cfd(items, settings, days)},
        "throughput": {"days": [d.isoformat() for d, _ in days], **throughput(items, start, end, days)},
    }
