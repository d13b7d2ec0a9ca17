"""A deterministic demo team: about a year of Jira issues in REST shape, with full changelogs.

The demo is what a first run shows without Jira and the benchmarks' input, so it must look like a real team
*and* carry the quirks real Jira data has: back-moves (In Review -> In Progress, In Progress -> To Do),
reopened items (some still open), items created directly in progress, Done -> Closed after Done, histories
that change other fields (assignee, priority, labels, resolution, a custom field) or several fields at once,
mixed UTC offsets (the same instant written as ``+0000``, ``+0100``, ``-0500``, ``+0530`` or ``+0800``),
deployments with an empty environment, unparseable or missing commit dates, boolean-like strings in an option
field, and unresolved incidents.

Creation instants are stratified (one per equal-probability slice of the span, density rising towards the
anchor), so every recent ISO week has deployments and completions: the 7/30/90-day periods and the 16-week
sparklines all show real values. The same arguments give the same issues, byte for byte; the clock is read
only when no anchor is given.
"""

from __future__ import annotations

import gc
import itertools
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from data.sources.demo_draws import OFFSET_MINUTES, Draws, Stamps
from data.sources.demo_fields import (
    BASE_URL,
    CLOSED,
    CODE_COMMIT_DATE,
    DEPLOYED_TO_PRODUCTION_DATE,
    DEPLOYMENT_DATE,
    DEPLOYMENT_SUCCESSFUL,
    DONE,
    ENVIRONMENT_OPTIONS,
    FLOW_OPTIONS,
    IMPACT_OPTIONS,
    IN_PROGRESS,
    IN_REVIEW,
    INCIDENT_DETECTED_AT,
    INCIDENT_RESOLVED_AT,
    PRODUCTION_IMPACT,
    STORY_POINTS,
    TARGET_ENVIRONMENT,
    TEAM_NOTES,
    TO_DO,
    WORK_TYPE,
    YES_NO_OPTIONS,
)
from data.sources.demo_teams import assign_teams

_SECOND_MS = 1000
_MINUTE_MS = 60 * _SECOND_MS
_HOUR_MS = 60 * _MINUTE_MS
_DAY_MS = 24 * _HOUR_MS
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_STATUS_META = {  # name -> (id, statusCategory key, statusCategory name)
    TO_DO: ("10000", "new", "To Do"),
    IN_PROGRESS: ("3", "indeterminate", "In Progress"),
    IN_REVIEW: ("10001", "indeterminate", "In Progress"),
    DONE: ("10002", "done", "Done"),
    CLOSED: ("6", "done", "Done"),
}
_DONE_SET = (DONE, CLOSED)

_ISSUE_TYPE_IDS = {"Story": "10001", "Bug": "10002", "Task": "10003", "Risk": "10004",
                   "Technical Debt": "10005", "Deployment": "10006", "Incident": "10007"}
_WORK_TYPES = ("Story", "Bug", "Task", "Technical Debt", "Risk")
_WORK_TYPE_SHARE = (0.50, 0.25, 0.12, 0.08, 0.05)
_WORK_MEDIAN_HOURS = {"Story": 34.0, "Bug": 16.0, "Task": 12.0, "Technical Debt": 30.0, "Risk": 20.0}
_FLOW_TYPE_OF = {"Story": "Feature", "Bug": "Defect", "Task": "Technical_Debt",
                 "Technical Debt": "Technical_Debt", "Risk": "Risk", "Incident": "Defect"}
DEPLOYMENT_SHARE = 0.12
INCIDENT_SHARE = 0.04

_TEAM = (  # displayName, accountId, index into OFFSET_MINUTES (the author's time zone)
    ("Ana Souza", "5f1a2b3c4d5e6f7a8b9c0d01", 1), ("Ben Carter", "5f1a2b3c4d5e6f7a8b9c0d02", 2),
    ("Chen Wei", "5f1a2b3c4d5e6f7a8b9c0d03", 4), ("Dana Levi", "5f1a2b3c4d5e6f7a8b9c0d04", 0),
    ("Emeka Obi", "5f1a2b3c4d5e6f7a8b9c0d05", 1), ("Farah Khan", "5f1a2b3c4d5e6f7a8b9c0d06", 3),
    ("Gus Lindqvist", "5f1a2b3c4d5e6f7a8b9c0d07", 1), ("Hana Sato", "5f1a2b3c4d5e6f7a8b9c0d08", 4),
)
_PRIORITIES = (("1", "Highest"), ("2", "High"), ("3", "Medium"), ("4", "Low"), ("5", "Lowest"))
_PRIORITY_CUMULATIVE = tuple(itertools.accumulate((0.05, 0.2, 0.55, 0.15, 0.05)))
_POINTS = (1.0, 2.0, 3.0, 5.0, 8.0, 13.0)
_LABELS = ("backend", "frontend", "api", "infra", "customer", "mobile")
_SUBJECTS = ("checkout flow", "login page", "search API", "billing export", "audit log", "user settings",
             "notification service", "report builder", "mobile onboarding", "data import", "admin console",
             "payment retries", "feature flags", "session handling", "dashboard filters", "webhook delivery")
_VERBS = {"Story": ("Add", "Support", "Redesign", "Allow editing in"),
          "Bug": ("Fix crash in", "Fix timeout in", "Fix wrong totals in"),
          "Task": ("Update docs for", "Configure alerts for", "Migrate"),
          "Technical Debt": ("Refactor", "Remove legacy code from", "Upgrade dependencies of"),
          "Risk": ("Assess security of", "Review compliance of"), "Deployment": ("Release",),
          "Incident": ("Outage in", "Degraded performance of", "Errors in")}
_NOTES = ("Pairing with QA", "Waiting on design", "Customer escalation", "Split from a larger story")


def _spread(rng: np.random.Generator, count: int, start: int, end: int, *, weekdays: bool) -> np.ndarray:
    """Sorted instants in [start, end), one in the middle half of each equal-probability slice (no stretch is
    left empty: two neighbours are at most 1.5 slices apart).

    Density rises linearly to 1.6x towards the end (a growing team). With ``weekdays`` a weekend instant moves
    back to a random weekday of the same ISO week, which keeps every week's coverage.
    """
    growth = 0.6
    u = (np.arange(count) + 0.25 + 0.5 * rng.random(count)) / max(count, 1)
    x = (np.sqrt(1.0 + 2.0 * growth * u * (1.0 + growth / 2.0)) - 1.0) / growth
    instants = (start + x * (end - start)).astype(np.int64)
    if weekdays:
        weekday = (instants // _DAY_MS + 3) % 7
        target = rng.integers(0, 5, count)
        move = (weekday >= 5) & (rng.random(count) < 0.85)
        instants = np.where(move, instants - (weekday - target) * _DAY_MS, instants)
    return np.sort(instants)


def _work_steps(draws: Draws, type_name: str, flags: dict[str, bool]) -> list[tuple[int, str]]:
    """A work item's status path as (delay ms, new status), before the anchor cuts it."""
    if flags["never"]:
        return []
    steps: list[tuple[int, str]] = []
    if not flags["in_progress"]:
        steps.append((draws.hours(48, 1.3, 0.1, 45 * 24), IN_PROGRESS))
        if flags["rework"] and draws.chance(0.04):
            steps.append((draws.hours(6, 1.0, 0.2, 5 * 24), TO_DO))
            steps.append((draws.hours(72, 1.0, 1, 30 * 24), IN_PROGRESS))
    for cycle in range(2 if flags["reopen"] else 1):
        if cycle:
            steps.append((draws.hours(72, 1.0, 1, 30 * 24), IN_PROGRESS))
            if flags["stall"]:
                return steps
        loops = 0
        while True:
            steps.append((draws.hours(_WORK_MEDIAN_HOURS[type_name], 0.9, 0.25, 20 * 24), IN_REVIEW))
            review = draws.hours(10, 1.0, 0.1, 10 * 24)
            if flags["rework"] and loops < 4 and draws.chance(0.35):
                steps.append((review, IN_PROGRESS))
                loops += 1
                continue
            steps.append((review, DONE))
            break
    if flags["close"]:
        steps.append((draws.hours(120, 0.8, 1, 30 * 24), CLOSED))
    return steps


def _timeline(created: int, first: str, steps: list[tuple[int, str]],
              cutoff: int) -> list[tuple[int, str, str]]:
    """(instant, from, to) for the steps that happen by ``cutoff``."""
    out: list[tuple[int, str, str]] = []
    instant, status = created, first
    for delay, target in steps:
        instant += max(delay, _MINUTE_MS)
        if instant > cutoff:
            break
        out.append((instant, status, target))
        status = target
    return out


def _add_rework(transitions: list[tuple[int, str, str]], loops: int,
                cutoff: int) -> list[tuple[int, str, str]]:
    """Split the longest In Review stay with ``loops`` In Review -> In Progress -> In Review round trips."""
    best, best_span = -1, 0
    for index, (instant, _, target) in enumerate(transitions):
        if target == IN_REVIEW:
            end = transitions[index + 1][0] if index + 1 < len(transitions) else cutoff
            if end - instant > best_span:
                best, best_span = index, end - instant
    loops = min(loops, (best_span // (2 * _SECOND_MS) - 1) // 2) if best >= 0 else 0
    if loops <= 0:
        return transitions
    start, piece = transitions[best][0], best_span // (2 * loops + 1)
    extra = [(start + m * piece, *((IN_REVIEW, IN_PROGRESS) if m % 2 else (IN_PROGRESS, IN_REVIEW)))
             for m in range(1, 2 * loops + 1)]
    return transitions[:best + 1] + extra + transitions[best + 1:]


def _reach_change_target(rng: np.random.Generator, records: list[dict[str, Any]], target: float,
                         cutoff: int) -> None:
    """Spread extra review round trips so that the mean count of status changes per issue nears ``target``."""
    current = sum(len(record["transitions"]) for record in records)
    eligible = [record for record in records if any(t[2] == IN_REVIEW for t in record["transitions"])]
    pairs = round((target * len(records) - current) / 2)
    if pairs <= 0 or not eligible:
        return
    loops = np.full(len(eligible), pairs // len(eligible))
    loops[rng.choice(len(eligible), pairs % len(eligible), replace=False)] += 1
    for record, count in zip(eligible, loops.tolist(), strict=True):
        record["transitions"] = _add_rework(record["transitions"], count, cutoff)


def _check_arguments(n_issues: int, months: int, project_key: str, changes_per_issue: float | None) -> None:
    if isinstance(n_issues, bool) or not isinstance(n_issues, int) or n_issues < 0:
        raise ValueError(f"n_issues must be a whole number of at least 0 (got {n_issues!r})")
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 120:
        raise ValueError(f"months must be a whole number from 1 to 120 (got {months!r})")
    if not isinstance(project_key, str) or not re.fullmatch(r"[A-Z][A-Z0-9_]{0,9}", project_key):
        raise ValueError(f"project_key must be a Jira project key such as DEMO (got {project_key!r})")
    if changes_per_issue is not None and (isinstance(changes_per_issue, bool)
                                          or not isinstance(changes_per_issue, int | float)
                                          or not 0 <= changes_per_issue <= 200):
        raise ValueError(f"changes_per_issue must be a number from 0 to 200, or None "
                         f"(got {changes_per_issue!r})")


def _ensure(rng: np.random.Generator, values: np.ndarray, code: int, minimum: int, pool: np.ndarray) -> None:
    """At least ``minimum`` entries of ``pool`` carry ``code`` (the quirks the demo promises)."""
    shortfall = minimum - int((values[pool] == code).sum())
    candidates = pool[values[pool] != code]
    if shortfall > 0 and len(candidates):
        values[rng.choice(candidates, min(shortfall, len(candidates)), replace=False)] = code


def generate_demo_issues(n_issues: int = 2000, *, anchor: datetime | None = None, seed: int = 42,
                         months: int = 12, project_key: str = "DEMO",
                         changes_per_issue: float | None = None) -> list[dict[str, Any]]:
    """``n_issues`` Jira issues as ``expand=changelog`` returns them (histories newest first, complete).

    ``anchor`` is the dataset's "now" (aware datetimes are converted to UTC, naive ones read as UTC; default:
    the current UTC hour). Nothing happens after it: items in progress at the anchor stay in progress. About
    12% are deployments, 4% incidents, the rest work items (Story, Bug, Task, Technical Debt, Risk); keys and
    ids follow creation order. ``changes_per_issue`` is the wanted mean number of status changes per issue
    (benchmarks), reached by extra In Review -> In Progress -> In Review round trips; a target below the
    natural mean (about 3.5) changes nothing. Raises ``ValueError`` for unusable arguments.
    """
    _check_arguments(n_issues, months, project_key, changes_per_issue)
    collecting = gc.isenabled()
    gc.disable()  # millions of fresh, acyclic dicts would make the cyclic collector rescan the heap many times
    try:
        return _generate(n_issues, anchor, seed, months, project_key, changes_per_issue)
    finally:
        if collecting:
            gc.enable()


def _generate(n_issues: int, anchor: datetime | None, seed: int, months: int, project_key: str,
              changes_per_issue: float | None) -> list[dict[str, Any]]:
    if anchor is None:
        anchor = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    anchor = anchor.replace(tzinfo=UTC) if anchor.tzinfo is None else anchor.astimezone(UTC)
    anchor_ms = (anchor - _EPOCH) // timedelta(milliseconds=1)
    cutoff = anchor_ms - _MINUTE_MS
    bulk, flow_rng, fix_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    draws = Draws(flow_rng)
    start = anchor_ms - int(months * 365.25 / 12 * _DAY_MS)
    records = _simulate(n_issues, start, cutoff, bulk, fix_rng, draws)
    if changes_per_issue is not None:
        _reach_change_target(fix_rng, records, changes_per_issue, cutoff)
    records.sort(key=lambda record: record["created"])
    stamps = Stamps()
    history_order: list[tuple[int, dict[str, Any]]] = []
    issues = [_build_issue(index, record, draws, project_key, stamps, history_order, cutoff)
              for index, record in enumerate(records)]
    order = np.argsort(np.asarray([instant for instant, _ in history_order], dtype=np.int64), kind="stable")
    for rank, position in enumerate(order.tolist()):
        history_order[position][1]["id"] = str(100000 + rank)
    stamps.fill()
    # Last, from a stream of its own (the seed's fourth child), so no value drawn above changes.
    assign_teams(np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(3,))), records, issues)
    return issues


def _simulate(n_issues: int, start: int, cutoff: int, bulk: np.random.Generator, fix_rng: np.random.Generator,
              draws: Draws) -> list[dict[str, Any]]:
    """Every issue's type, instants and status transitions (the numbers; the JSON comes later)."""
    n_dep = round(n_issues * DEPLOYMENT_SHARE)
    n_inc = min(round(n_issues * INCIDENT_SHARE), n_issues - n_dep)
    n_work = n_issues - n_dep - n_inc
    deploy_at = _spread(bulk, n_dep, start, cutoff - _HOUR_MS, weekdays=True).tolist()
    detect_at = _spread(bulk, n_inc, start, cutoff - _HOUR_MS, weekdays=False).tolist()
    work_at = _spread(bulk, n_work, start, cutoff - _MINUTE_MS, weekdays=True).tolist()
    work_types = bulk.choice(len(_WORK_TYPES), n_work, p=_WORK_TYPE_SHARE).tolist()
    shares = {"in_progress": 0.03, "never": 0.06, "reopen": 0.05, "stall": 0.06, "close": 0.06, "rework": 1.0}
    flag = {name: bulk.random(n_work) < share for name, share in shares.items()}
    flag["stall"] &= flag["reopen"]
    quirks = (("reopen", "close"), ("reopen", "stall"), ("in_progress",), ("close",))
    if n_work >= 2 * len(quirks):  # guaranteed quirks, among older items so that the anchor cannot cut them
        for item, names in zip(fix_rng.permutation(n_work // 2)[:len(quirks)], quirks, strict=True):
            flag["never"][item] = flag["rework"][item] = flag["stall"][item] = False
            for name in names:
                flag[name][item] = True
    flag_rows = [dict(zip(flag, row, strict=True))
                 for row in zip(*(f.tolist() for f in flag.values()), strict=True)]
    draw = np.searchsorted(np.array([0.03, 0.15]), bulk.random(n_dep), side="right")
    environment = np.array([0, 2, 1])[draw]  # 0 empty (3%), 2 staging (12%), 1 production
    _ensure(fix_rng, environment, 0, 1, np.arange(n_dep))
    draw = np.searchsorted(np.array([0.01, 0.02]), bulk.random(n_dep), side="right")
    commit = np.array([1, 2, 0])[draw]  # 1 missing (1%), 2 unparseable (1%), 0 a datetime
    if n_dep >= 20:
        _ensure(fix_rng, commit, 1, 1, np.flatnonzero(commit != 2))
        _ensure(fix_rng, commit, 2, 2, np.flatnonzero(commit != 1))
    failed = (bulk.random(n_dep) < 0.11).astype(np.int64)
    _ensure(fix_rng, failed, 1, 1, np.flatnonzero(environment == 1))
    forgotten = np.flatnonzero(np.asarray(detect_at) < cutoff - 16 * 7 * _DAY_MS)  # recent weeks keep an MTTR
    unresolved = np.zeros(n_inc, dtype=np.int64)
    unresolved[forgotten] = bulk.random(len(forgotten)) < 0.05
    _ensure(fix_rng, unresolved, 1, 1, forgotten)

    records: list[dict[str, Any]] = []
    for created, type_index, flags in zip(work_at, work_types, flag_rows, strict=True):
        type_name = _WORK_TYPES[type_index]
        first = IN_PROGRESS if flags["in_progress"] else TO_DO
        steps = _work_steps(draws, type_name, flags)
        records.append({"type": type_name, "created": created, "first": first,
                        "transitions": _timeline(created, first, steps, cutoff)})
    for deployed, env, bad, commit_kind in zip(deploy_at, environment.tolist(), failed.tolist(),
                                               commit.tolist(), strict=True):
        records.append({"type": "Deployment", "created": deployed - draws.hours(6, 1.0, 0.5, 72),
                        "first": TO_DO, "deployed": deployed, "environment": env, "failed": bool(bad),
                        "commit": commit_kind, "transitions": [(deployed, TO_DO, DONE)]})
    for detected, open_ in zip(detect_at, unresolved.tolist(), strict=True):
        created = detected + int((2 + 13 * draws.uniform()) * _MINUTE_MS)
        recovered = detected + draws.hours(5, 1.3, 0.5, 7 * 24)
        done_at = recovered + int((1 + 29 * draws.uniform()) * _MINUTE_MS)
        transitions = [(created + int((1 + 9 * draws.uniform()) * _MINUTE_MS), TO_DO, IN_PROGRESS)]
        resolved = not open_ and done_at <= cutoff
        if resolved:
            transitions.append((done_at, IN_PROGRESS, DONE))
        records.append({"type": "Incident", "created": created, "first": TO_DO, "detected": detected,
                        "recovered": recovered if resolved else None,
                        "transitions": [t for t in transitions if t[0] <= cutoff]})
    return records


def _person(index: int) -> dict[str, str]:
    return {"accountId": _TEAM[index][1], "displayName": _TEAM[index][0]}


def _change(field: str, source: Any, source_text: Any, target: Any, target_text: Any, *,
            field_id: str | None = None, custom: bool = False) -> dict[str, Any]:
    return {"field": field, "fieldtype": "custom" if custom else "jira", "fieldId": field_id or field,
            "from": source, "fromString": source_text, "to": target, "toString": target_text}


_Event = tuple[int, list[dict[str, Any]]]


def _status_events(record: dict[str, Any], draws: Draws,
                   assignee: int | None) -> tuple[list[_Event], int | None, int]:
    """Histories for the status path (with resolution and first-assignment items), then the assignee and when
    it was assigned."""
    events: list[_Event] = []
    created = record["created"]
    assigned_at = created
    for instant, source, target in record["transitions"]:
        item = _change("status", _STATUS_META[source][0], source, _STATUS_META[target][0], target)
        if draws.chance(0.01):
            del item["fieldId"]
        items = [item]
        if target == DONE and source not in _DONE_SET:
            items.insert(0, _change("resolution", None, None, "10000", "Done"))
        elif source in _DONE_SET and target not in _DONE_SET:
            items.append(_change("resolution", "10000", "Done", None, None))
        if assignee is None and target == IN_PROGRESS:
            assignee = draws.pick(len(_TEAM))
            change = _change("assignee", None, None, _TEAM[assignee][1], _TEAM[assignee][0])
            assigned_at = instant
            if draws.chance(0.6) or instant - created < _HOUR_MS:
                items.append(change)
            else:
                events.append((instant - draws.hours(0.3, 0.8, 0.02, 0.9), [change]))
        events.append((instant, items))
    return events, assignee, assigned_at


def _build_issue(index: int, record: dict[str, Any], draws: Draws, project_key: str, stamps: Stamps,
                 history_order: list[tuple[int, dict[str, Any]]], cutoff: int) -> dict[str, Any]:
    """One issue from its simulated record; timestamps are queued on ``stamps`` for one formatting pass."""
    type_name, created, transitions = record["type"], record["created"], record["transitions"]
    work_item = type_name in _WORK_TYPES
    offset = draws.pick(len(OFFSET_MINUTES))
    assignee = None if work_item and draws.chance(0.6) else draws.pick(len(_TEAM))
    events, assignee, assigned_at = _status_events(record, draws, assignee)
    last = transitions[-1][0] if transitions else min(created + _DAY_MS, cutoff)
    priority = draws.weighted(_PRIORITY_CUMULATIVE) if work_item else {"Incident": draws.pick(2)}.get(type_name, 2)
    points = _POINTS[draws.pick(6)] if type_name in ("Story", "Bug", "Task") and draws.chance(0.85) else None
    labels = sorted({_LABELS[draws.pick(len(_LABELS))] for _ in range(draws.pick(3))})

    def some_time(after: int) -> int:
        return after + int((last - after) * draws.uniform())

    if work_item and last > created:
        if draws.chance(0.2):
            new = (priority + 1 + draws.pick(4)) % 5
            change = _change("priority", *_PRIORITIES[priority], *_PRIORITIES[new])
            events.append((some_time(created), [change]))
            priority = new
        if points is not None and draws.chance(0.06):
            new_points = _POINTS[draws.pick(6)]
            change = _change("Story Points", None, f"{points:g}", None, f"{new_points:g}",
                             field_id=STORY_POINTS, custom=True)
            events.append((some_time(created), [change]))
            points = new_points
        added = _LABELS[draws.pick(len(_LABELS))]
        if added not in labels and draws.chance(0.25):
            new_labels = sorted([*labels, added])
            events.append((some_time(created), [_change("labels", None, " ".join(labels), None,
                                                        " ".join(new_labels))]))
            labels = new_labels
        if assignee is not None and last > assigned_at and draws.chance(0.15):
            new = (assignee + 1 + draws.pick(len(_TEAM) - 1)) % len(_TEAM)
            change = _change("assignee", _TEAM[assignee][1], _TEAM[assignee][0], _TEAM[new][1], _TEAM[new][0])
            events.append((some_time(assigned_at), [change]))
            assignee = new
    events.sort(key=lambda event: event[0])
    histories: list[dict[str, Any]] = []
    previous, resolved_at = created, None
    for instant, items in events:
        previous = max(instant, previous + _SECOND_MS)
        for item in items:
            if item["field"] == "resolution":
                resolved_at = previous if item["to"] else None
        author = draws.pick(len(_TEAM))
        history = {"id": "", "author": _person(author), "created": "", "items": items}
        stamps.add(history, "created", previous, _TEAM[author][2])
        history_order.append((previous, history))
        histories.append(history)
    histories.reverse()

    status = transitions[-1][2] if transitions else record["first"]
    status_id, category, category_name = _STATUS_META[status]
    verbs = _VERBS[type_name]
    fields: dict[str, Any] = {
        "summary": f"{verbs[draws.pick(len(verbs))]} {_SUBJECTS[draws.pick(len(_SUBJECTS))]}",
        "issuetype": {"id": _ISSUE_TYPE_IDS[type_name], "name": type_name, "subtask": False},
        "status": {"id": status_id, "name": status,
                   "statusCategory": {"key": category, "name": category_name}},
        "project": {"self": f"{BASE_URL}/rest/api/3/project/10000", "id": "10000", "key": project_key,
                    "name": f"{project_key.capitalize()} Team", "projectTypeKey": "software"},
        "created": "", "updated": "", "resolutiondate": None,
        "priority": {"id": _PRIORITIES[priority][0], "name": _PRIORITIES[priority][1]},
        "assignee": _person(assignee) if assignee is not None else None,
        "labels": labels,
        "resolution": {"id": "10000", "name": "Done"} if resolved_at is not None else None,
        WORK_TYPE: None, TEAM_NOTES: None, STORY_POINTS: points,
    }
    stamps.add(fields, "created", created, offset)
    stamps.add(fields, "updated", previous, offset)
    if resolved_at is not None:
        stamps.add(fields, "resolutiondate", resolved_at, offset)
    if type_name != "Deployment" and draws.chance(0.97):
        fields[WORK_TYPE] = FLOW_OPTIONS[_FLOW_TYPE_OF[type_name]]
    if draws.chance(0.1):
        fields[TEAM_NOTES] = _NOTES[draws.pick(len(_NOTES))]
    if type_name == "Deployment":
        _deployment_fields(fields, record, draws, stamps, offset)
    elif type_name == "Incident":
        fields[PRODUCTION_IMPACT] = IMPACT_OPTIONS["Yes" if draws.chance(0.7) else "No"]
        stamps.add(fields, INCIDENT_DETECTED_AT, record["detected"], offset)
        fields[INCIDENT_RESOLVED_AT] = None
        if record["recovered"] is not None:
            stamps.add(fields, INCIDENT_RESOLVED_AT, record["recovered"], offset)
    issue_id, total = str(10000 + index), len(histories)
    return {"id": issue_id, "key": f"{project_key}-{index + 1}",
            "self": f"{BASE_URL}/rest/api/3/issue/{issue_id}", "fields": fields,
            "changelog": {"startAt": 0, "maxResults": total, "total": total, "histories": histories}}


def _deployment_fields(fields: dict[str, Any], record: dict[str, Any], draws: Draws, stamps: Stamps,
                       offset: int) -> None:
    deployed, environment = record["deployed"], record["environment"]
    stamps.add(fields, DEPLOYMENT_DATE, deployed, offset)
    fields[TARGET_ENVIRONMENT] = ENVIRONMENT_OPTIONS[environment]
    fields[DEPLOYED_TO_PRODUCTION_DATE] = None
    if environment != 2:
        stamps.add(fields, DEPLOYED_TO_PRODUCTION_DATE, deployed + draws.pick(20) * _MINUTE_MS, offset)
    fields[CODE_COMMIT_DATE] = None
    if record["commit"] == 2:
        fields[CODE_COMMIT_DATE] = ("not recorded", "2025-02-30T10:00:00.000+0000")[draws.pick(2)]
    elif record["commit"] == 0:
        record["committed"] = deployed - draws.hours(48, 1.1, 0.5, 42 * 24)  # the team draw looks at it
        stamps.add(fields, CODE_COMMIT_DATE, record["committed"], offset)
    if draws.chance(0.8):
        fields[DEPLOYMENT_SUCCESSFUL] = YES_NO_OPTIONS["No" if record["failed"] else "Yes"]
    else:
        texts = ("false", "Failed", "FAILURE") if record["failed"] else ("true", "Passed", "success")
        fields[DEPLOYMENT_SUCCESSFUL] = texts[draws.pick(3)]
    fields[PRODUCTION_IMPACT] = None
