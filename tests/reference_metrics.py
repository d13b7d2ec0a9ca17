"""A deliberately simple reference implementation of docs/metrics.md, used by the property tests.

Written from the rules, not from the product code: plain Python (``datetime``, ``statistics``), one issue
at a time, no pandas or numpy, and no imports from the project. It is slow and obvious on purpose, so that
when it and the product disagree one of them is visibly wrong.
"""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime, timedelta
from typing import Any

TRUE_WORDS = {"true", "yes", "y", "1", "success", "successful", "passed"}
FALSE_WORDS = {"false", "no", "n", "0", "failed", "failure"}
FLOW_TYPE_NAMES = ("Feature", "Defect", "Risk", "Technical_Debt")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
COUNT_METRICS = {"deployment_frequency", "flow_velocity", "flow_load"}


def norm(text: str | None) -> str | None:
    return None if text is None else text.strip().casefold()


def text_of(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, dict):
        return text_of(value.get("value")) or text_of(value.get("name"))
    if isinstance(value, list):
        for item in value:
            if text_of(item) is not None:
                return text_of(item)
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return None


def parse_time(value: Any) -> datetime | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        if abs(value) >= 1e11:
            return EPOCH + timedelta(milliseconds=value)
        return EPOCH + timedelta(seconds=value)
    text = text_of(value)
    if text is None:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def boolean_of(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return {1: True, 0: False}.get(value)
    word = norm(text_of(value))
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def number_of(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(text_of(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def is_set(value: Any) -> bool:
    """A mapped date field holds something (which may still fail to parse)."""
    return not isinstance(value, bool) and text_of(value) is not None


def days_between(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 86400


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class Config:
    def __init__(self, settings: dict) -> None:
        cfg = settings["dora_flow_config"]
        self.mappings = {**cfg["field_mappings"]["dora"], **cfg["field_mappings"]["flow"]}
        self.wip = {norm(s) for s in cfg["wip_statuses"]}
        self.active = {norm(s) for s in cfg["active_statuses"]}
        self.completed = {norm(s) for s in cfg["completed_statuses"]}
        self.production = {norm(s) for s in cfg["production_environment_values"]}
        self.deployment_types = {norm(s) for s in cfg["deployment_issue_types"]}
        self.incident_types = {norm(s) for s in cfg["incident_issue_types"]}
        self.flow_types = {norm(s) for s in cfg["flow_issue_types"]}
        self.type_map: dict[str, str] = {}
        for name in FLOW_TYPE_NAMES:
            self.type_map[norm(name)] = name
        for name in FLOW_TYPE_NAMES:
            for alias in cfg["flow_type_mappings"].get(name, []):
                self.type_map.setdefault(norm(alias), name)

    def mapped(self, key: str) -> bool:
        return bool(self.mappings.get(key))


class Issue:
    """One issue with every per-issue fact the rules need."""

    def __init__(self, raw: dict, config: Config) -> None:
        fields = raw["fields"]
        self.key = raw["key"]
        self.type = norm(text_of(fields.get("issuetype")))
        self.issue_type = text_of(fields.get("issuetype"))
        self.created = parse_time(fields.get("created"))

        def raw_field(key: str) -> Any:
            return fields.get(config.mappings[key]) if config.mapped(key) else None

        changes = []
        for history in raw.get("changelog", {}).get("histories", []):
            for item in history["items"]:
                if item.get("field") == "status":
                    changes.append((parse_time(history["created"]), text_of(item.get("fromString")),
                                    text_of(item.get("toString"))))
        changes = sorted((c for c in changes if c[0] is not None), key=lambda c: c[0])
        first = changes[0][1] if changes else text_of(fields.get("status"))
        self.statuses = [first] + [c[2] for c in changes]
        self.times = [self.created] + [c[0] for c in changes]
        self.current = text_of(fields.get("status")) or self.statuses[-1]

        self.deployment_date = parse_time(raw_field("deployment_date"))
        self.environment = text_of(raw_field("target_environment"))
        self.commit = parse_time(raw_field("code_commit_date"))
        self.deployed = parse_time(raw_field("deployed_to_production_date"))
        self.successful = boolean_of(raw_field("deployment_successful"))
        self.impact = boolean_of(raw_field("production_impact"))
        self.detected = parse_time(raw_field("incident_detected_at"))
        self.resolved = parse_time(raw_field("incident_resolved_at"))
        self.flow_type_text = text_of(raw_field("flow_item_type"))
        self.active_hours = number_of(raw_field("active_work_hours"))

        self.is_deployment = self.deployment_date is not None and (
            not config.deployment_types or self.type in config.deployment_types)
        self.env_filter = config.mapped("target_environment") and bool(config.production)
        self.env_empty = self.is_deployment and self.env_filter and self.environment is None
        self.production = self.is_deployment and (not self.env_filter or norm(self.environment) in config.production)
        self.is_incident = self.detected is not None and (
            not config.incident_types or self.type in config.incident_types)
        self.is_flow_item = (not self.is_deployment and self.created is not None
                             and (not config.flow_types or self.type in config.flow_types))

        started_raw = raw_field("work_started_date")
        if is_set(started_raw):
            self.started = parse_time(started_raw)
        else:
            self.started = None
            for status, moment in zip(self.statuses, self.times, strict=True):
                if norm(status) in config.wip:
                    self.started = moment
                    break
        completed_raw = raw_field("work_completed_date")
        if is_set(completed_raw):
            self.completed = parse_time(completed_raw)
        elif norm(self.current) in config.completed:
            self.completed = None
            for i, status in enumerate(self.statuses):
                if norm(status) in config.completed and (i == 0 or norm(self.statuses[i - 1]) not in config.completed):
                    self.completed = self.times[i]
        else:
            self.completed = None
        self.flow_type = config.type_map.get(norm(self.flow_type_text), "Other") if self.flow_type_text else "Other"
        self.config = config

    def active_days(self) -> float:
        if self.config.mapped("active_work_hours") and self.active_hours is not None:
            return min(max(self.active_hours, 0.0) / 24, days_between(self.started, self.completed))
        total = 0.0
        for i, status in enumerate(self.statuses):
            if norm(status) not in self.config.active:
                continue
            begin = max(self.times[i], self.started)
            end = self.completed if i + 1 == len(self.times) else min(self.times[i + 1], self.completed)
            if end > begin:
                total += days_between(begin, end)
        return total

    def status_at(self, moment: datetime) -> str | None:
        status = self.statuses[0]
        for i in range(1, len(self.times)):
            if self.times[i] <= moment:
                status = self.statuses[i]
        return status


class Result:
    def __init__(self, value: float | None, total: int = 0, excluded: int = 0) -> None:
        self.value, self.total, self.excluded = value, total, excluded


def day_window(start: date, end: date) -> tuple[datetime, datetime, int]:
    first = datetime(start.year, start.month, start.day, tzinfo=UTC)
    last = datetime(end.year, end.month, end.day, 23, 59, 59, 999999, tzinfo=UTC)
    return first, last, (end - start).days + 1


def within(moment: datetime | None, first: datetime, last: datetime) -> bool:
    return moment is not None and first <= moment <= last


def metric(name: str, issues: list[Issue], first: datetime, last: datetime, days: int, now: datetime) -> Result:
    """One metric over one window, or Result(None) when there is nothing to show."""
    if name == "deployment_frequency":
        if not any(i.production or i.env_empty for i in issues):
            return Result(None)
        candidates = [i for i in issues if (i.production or i.env_empty) and within(i.deployment_date, first, last)]
        excluded = sum(1 for i in candidates if i.env_empty)
        return Result((len(candidates) - excluded) * 30 / days, len(candidates), excluded)
    if name == "lead_time_for_changes":
        candidates = [i for i in issues if i.production and within(i.deployment_date, first, last)]
        values = [days_between(i.commit, i.deployed) for i in candidates if i.commit and i.deployed]
        values = [v for v in values if v >= 0]
        return Result(statistics.median(values) if values else None, len(candidates), len(candidates) - len(values))
    if name == "change_failure_rate":
        candidates = [i for i in issues if i.production and within(i.deployment_date, first, last)]
        known = [i for i in candidates if i.successful is not None or i.impact is not None]
        failed = [i for i in known if i.successful is False or i.impact is True]
        value = len(failed) / len(known) * 100 if known else None
        return Result(value, len(candidates), len(candidates) - len(known))
    if name == "mean_time_to_recovery":
        candidates = [i for i in issues if i.is_incident and within(i.resolved, first, last)]
        values = [(i.resolved - i.detected).total_seconds() / 3600 for i in candidates]
        values = [v for v in values if v >= 0]
        return Result(statistics.median(values) if values else None, len(candidates), len(candidates) - len(values))
    items = [i for i in issues if i.is_flow_item]
    done = [i for i in items if within(i.completed, first, last)]
    if name == "flow_velocity":
        if not any(i.completed for i in items):
            return Result(None)
        return Result(len(done) * 7 / days, len(done), 0)
    if name == "flow_time":
        values = [days_between(i.started, i.completed) for i in done if i.started]
        values = [v for v in values if v >= 0]
        return Result(statistics.median(values) if values else None, len(done), len(done) - len(values))
    if name == "flow_efficiency":
        usable = [i for i in done if i.started and days_between(i.started, i.completed) > 0]
        active = sum(i.active_days() for i in usable)
        flow = sum(days_between(i.started, i.completed) for i in usable)
        return Result(active / flow * 100 if usable else None, len(done), len(done) - len(usable))
    if name == "flow_distribution":
        features = sum(1 for i in done if i.flow_type == "Feature")
        return Result(features / len(done) * 100 if done else None, len(done), 0)
    if name == "flow_load":
        if not items:
            return Result(None)
        as_of = min(last, now)
        config = items[0].config
        count = sum(1 for i in items if i.created is not None and i.created <= as_of
                    and norm(i.status_at(as_of)) in config.wip)
        return Result(float(count), count, 0)
    raise ValueError(name)


def weeks(end: date) -> list[tuple[str, date, date]]:
    monday = end - timedelta(days=end.weekday())
    out = []
    for back in range(15, -1, -1):
        start = monday - timedelta(days=7 * back)
        year, week, _ = start.isocalendar()
        out.append((f"{year}-{week:02d}", start, start + timedelta(days=6)))
    return out


def first_covered_day(raw_issues: list[dict]) -> date | None:
    """The UTC date of the earliest parseable ``created`` of all issues; None when none parses."""
    days = []
    for raw in raw_issues:
        moment = parse_time((raw.get("fields") or {}).get("created"))
        if moment is not None:
            days.append(moment.date())
    return min(days) if days else None


def covered(window_start: date, coverage: date | None) -> bool:
    """A comparison window counts only when it starts on or after the first covered day."""
    return coverage is not None and window_start >= coverage


def reference(name: str, raw_issues: list[dict], settings: dict, start: date, end: date, now: datetime,
              snapshots: dict | None = None, coverage_of: list[dict] | None = None) -> dict[str, Any]:
    """value, total, excluded, previous, weekly values and trend of one metric, by the rules.

    ``coverage_of`` names the issues whose earliest ``created`` is the coverage start (a team's metrics are
    computed on its own issues with the coverage of all issues); by default ``raw_issues`` themselves."""
    config = Config(settings)
    issues = [Issue(raw, config) for raw in raw_issues]
    coverage = first_covered_day(raw_issues if coverage_of is None else coverage_of)
    first, last, days = day_window(start, end)
    current = metric(name, issues, first, last, days, now)
    previous_start = start - timedelta(days=days)
    previous = None
    if covered(previous_start, coverage):
        previous = metric(name, issues, *day_window(previous_start, start - timedelta(days=1)), now).value
    weekly: list[float | None] = []
    for label, week_start, week_end in weeks(end):
        week_first, week_last, _ = day_window(week_start, week_end)
        if name == "flow_load" and snapshots and label in snapshots:
            weekly.append(snapshots[label]["flow_load"]["wip_count"])
        elif (name == "flow_load" and week_first > now) or not covered(week_start, coverage):
            weekly.append(None)  # the future, or a week before the first covered day
        else:
            weekly.append(metric(name, issues, week_first, week_last, 7, now).value)
    if current.value is None or previous is None or previous == 0:
        trend = None
    else:
        trend = (current.value - previous) / previous * 100
    if current.value is None or previous is None or current.value == previous:
        direction = "flat"
    else:
        direction = "up" if current.value > previous else "down"
    return {"value": current.value, "total": current.total, "excluded": current.excluded,
            "previous": previous, "weekly": weekly, "trend": trend, "direction": direction,
            "coverage": coverage, "labels": [w[0] for w in weeks(end)]}
