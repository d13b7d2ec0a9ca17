"""Small, hand-checkable Jira issues in REST shape for tests, and the default ``/field`` and ``/myself``.

An issue built here looks like one from Jira with ``expand=changelog`` and no truncation: its changelog holds
every history, newest first (as Jira and the demo generator give them). Histories walk the workflow
To Do → In Progress → In Review → Done → To Do …; every ``non_status_every``-th history is an assignee change
instead (no status item), so filters on ``fieldIds`` have something to drop. History ids are
``issue_id * 1000 + n`` (n from 1), unique across issues as in Jira.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

WORKFLOW: list[tuple[str, str]] = [("10000", "To Do"), ("3", "In Progress"), ("10001", "In Review"),
                                   ("10002", "Done")]
DEFAULT_START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def jira_time(moment: datetime) -> str:
    """``2025-01-15T10:00:00.000+0000`` in the moment's own offset (UTC when naive)."""
    text = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat(timespec="milliseconds")
    return text[:-3] + text[-2:]


def status_history(history_id: int, created: datetime, source: tuple[str, str],
                   target: tuple[str, str]) -> dict:
    return {"id": str(history_id), "author": {"displayName": "Dev One", "accountId": "acc-1"},
            "created": jira_time(created),
            "items": [{"field": "status", "fieldtype": "jira", "fieldId": "status", "from": source[0],
                       "fromString": source[1], "to": target[0], "toString": target[1]}]}


def assignee_history(history_id: int, created: datetime) -> dict:
    return {"id": str(history_id), "author": {"displayName": "Dev One", "accountId": "acc-1"},
            "created": jira_time(created),
            "items": [{"field": "assignee", "fieldtype": "jira", "fieldId": "assignee", "from": None,
                       "fromString": None, "to": "acc-2", "toString": "Dev Two"}]}


def make_histories(issue_id: int, count: int, *, start: datetime, step: timedelta = timedelta(hours=5),
                   non_status_every: int = 10) -> tuple[list[dict], tuple[str, str]]:
    """``count`` histories oldest first and the status the issue ends in."""
    histories: list[dict] = []
    current = 0
    for n in range(1, count + 1):
        created = start + step * n
        if non_status_every and n % non_status_every == 0:
            histories.append(assignee_history(issue_id * 1000 + n, created))
            continue
        following = (current + 1) % len(WORKFLOW)
        histories.append(status_history(issue_id * 1000 + n, created, WORKFLOW[current], WORKFLOW[following]))
        current = following
    return histories, WORKFLOW[current]


def make_issue(number: int, *, project: str = "PROJ", issue_id: int | None = None, histories: int = 3,
               start: datetime = DEFAULT_START, step: timedelta = timedelta(hours=5),
               non_status_every: int = 10, issue_type: str = "Story", updated: datetime | None = None,
               extra_fields: dict[str, Any] | None = None) -> dict:
    """Issue ``<project>-<number>`` (id ``10000 + number`` unless given) with ``histories`` histories."""
    issue_id = issue_id if issue_id is not None else 10000 + number
    created = start + timedelta(days=number)
    changes, (status_id, status_name) = make_histories(issue_id, histories, start=created, step=step,
                                                        non_status_every=non_status_every)
    last_change = created + step * histories if histories else created
    done = status_name == "Done"
    fields = {
        "summary": f"Issue {number}",
        "project": {"id": "10000", "key": project, "name": f"Project {project}"},
        "issuetype": {"id": "10001", "name": issue_type},
        "status": {"id": status_id, "name": status_name,
                   "statusCategory": {"key": "done" if done else "indeterminate"}},
        "created": jira_time(created),
        "updated": jira_time(updated or last_change),
        "resolutiondate": jira_time(last_change) if done else None,
        "resolution": {"name": "Done"} if done else None,
        "labels": [],
        "customfield_10100": jira_time(last_change) if done else None,
        **(extra_fields or {}),
    }
    return {"id": str(issue_id), "key": f"{project}-{number}", "fields": fields,
            "changelog": {"startAt": 0, "maxResults": histories, "total": histories, "histories": changes[::-1]}}


def make_issues(count: int, *, project: str = "PROJ", histories: int = 3, first: int = 1,
                **options: Any) -> list[dict]:
    return [make_issue(number, project=project, histories=histories, **options)
            for number in range(first, first + count)]


def _custom(field_id: str, name: str, custom_type: str, schema_type: str, items: str | None = None) -> dict:
    schema = {"type": schema_type, "custom": f"com.atlassian.jira.plugin.system.customfieldtypes:{custom_type}",
              "customId": int(field_id.rsplit("_", 1)[1])}
    if items:
        schema["items"] = items
    return {"id": field_id, "key": field_id, "name": name, "custom": True, "orderable": True, "navigable": True,
            "searchable": True, "clauseNames": [f"cf[{schema['customId']}]", name], "schema": schema}


def _system(field_id: str, name: str, schema_type: str | None, items: str | None = None) -> dict:
    field: dict[str, Any] = {"id": field_id, "key": field_id, "name": name, "custom": False, "orderable": True,
                             "navigable": True, "searchable": True, "clauseNames": [field_id]}
    if schema_type:
        field["schema"] = {"type": schema_type, "system": field_id, **({"items": items} if items else {})}
    return field


DEFAULT_FIELDS: list[dict] = [
    _system("summary", "Summary", "string"),
    _system("status", "Status", "status"),
    _system("created", "Created", "datetime"),
    _system("updated", "Updated", "datetime"),
    _system("resolutiondate", "Resolved", "datetime"),
    _system("duedate", "Due date", "date"),
    _system("labels", "Labels", "array", "string"),
    _system("issuekey", "Key", None),
    _custom("customfield_10100", "Deployment Date", "datetime", "datetime"),
    _custom("customfield_10101", "Target Environment", "select", "option"),
    _custom("customfield_10102", "Impacted Services", "multiselect", "array", "option"),
    _custom("customfield_10103", "Go live", "datepicker", "date"),
    _custom("customfield_10104", "Story Points", "float", "number"),
    _custom("customfield_10105", "Team / Squad", "cascadingselect", "option-with-child"),
    _custom("customfield_10106", "Reviewer", "userpicker", "user"),
]

CLOUD_MYSELF: dict[str, Any] = {"accountId": "5b10ac8d82e05b22cc7d4ef5", "accountType": "atlassian",
                                "displayName": "Test User", "active": True, "timeZone": "UTC", "locale": "en_US"}
DATACENTER_MYSELF: dict[str, Any] = {"key": "JIRAUSER10000", "name": "tuser", "displayName": "Test User",
                                     "active": True, "timeZone": "UTC", "locale": "en_US"}
