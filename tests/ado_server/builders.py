"""Deterministic work items for tests and benchmarks, and the default field definitions and project.

A built item walks the workflow New → Active → Resolved → Closed → Active (reopened) → …; every
``other_every``-th revision (3rd, 6th, …) changes the title and the assignee instead of the state, so a
history route must tell state changes from other revisions. Entering Closed sets
``Microsoft.VSTS.Common.ClosedDate``; leaving it clears the field (absent afterwards). Revision times step by
``step`` from the creation, with milliseconds that vary by item and revision; every fourth revision falls on
a whole second, so its date has no fraction (``2025-01-06T09:00:00Z``).
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.ado_server.store import CLEARED, ado_time

PROJECT = "Fabrikam"
PROJECT_ID = "6ce954b1-ce1f-45d1-b94d-e6bf2464ba2c"
ORGANIZATION = "contoso"
WORKFLOW = ("New", "Active", "Resolved", "Closed")
REOPENED = "Active"
AREAS = (f"{PROJECT}\\Payments", f"{PROJECT}\\Mobile", PROJECT, f"{PROJECT}\\Payments\\Cards")
TYPES = ("User Story", "Bug", "Task")
DEFAULT_START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def identity(name: str) -> dict[str, Any]:
    """An identity field value as Azure DevOps sends it: an object with ``displayName``."""
    slug = name.lower().replace(" ", ".")
    return {"displayName": name, "url": f"https://spsprodweu5.vssps.visualstudio.com/_apis/Identities/{slug}",
            "id": f"00000000-0000-0000-0000-{zlib.crc32(slug.encode()):012d}", "uniqueName": f"{slug}@contoso.com",
            "imageUrl": f"https://dev.azure.com/contoso/_apis/GraphProfile/MemberAvatars/{slug}",
            "descriptor": f"aad.{slug}"}


PEOPLE = ("Dev One", "Dev Two", "Dév Trois")


def next_state(state: str) -> str:
    """The state after ``state`` in the builders' workflow (Closed reopens to Active)."""
    if state == WORKFLOW[-1]:
        return REOPENED
    return WORKFLOW[WORKFLOW.index(state) + 1]


def make_work_item(item_id: int, *, revisions: int = 4, project: str = PROJECT, area: str | None = None,
                   work_item_type: str | None = None, start: datetime = DEFAULT_START,
                   step: timedelta = timedelta(hours=7, minutes=13), other_every: int = 3,
                   states: tuple[str, ...] = WORKFLOW, extra_fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """Work item ``item_id`` with ``revisions`` revisions, created ``item_id`` hours after ``start``.

    ``states`` replaces the workflow (walked in order, then again from its second state); ``extra_fields``
    are set in revision 1.
    """
    created = start + timedelta(hours=item_id)
    first_state = states[0]
    person = identity(PEOPLE[item_id % len(PEOPLE)])
    first: dict[str, Any] = {
        "System.AreaPath": area or AREAS[item_id % len(AREAS)],
        "System.TeamProject": project,
        "System.IterationPath": f"{project}\\Sprint {1 + item_id % 5}",
        "System.WorkItemType": work_item_type or TYPES[item_id % len(TYPES)],
        "System.State": first_state,
        "System.Reason": f"New {work_item_type or TYPES[item_id % len(TYPES)]}".strip(),
        "System.CreatedDate": ado_time(created),
        "System.CreatedBy": person,
        "System.ChangedDate": ado_time(created),
        "System.ChangedBy": person,
        "System.Title": f"Work item {item_id}",
        "Microsoft.VSTS.Common.Priority": 1 + item_id % 4,
        **(extra_fields or {}),
    }
    changes = [first]
    state = first_state
    for rev in range(2, revisions + 1):
        milliseconds = 0 if rev % 4 == 0 else (item_id * 37 + rev * 113) % 1000 or 7
        moment = created + step * (rev - 1) + timedelta(milliseconds=milliseconds)
        change: dict[str, Any] = {"System.ChangedDate": ado_time(moment),
                                  "System.ChangedBy": identity(PEOPLE[(item_id + rev) % len(PEOPLE)])}
        if other_every and rev % other_every == 0:
            change["System.Title"] = f"Work item {item_id} (edit {rev})"
            change["System.AssignedTo"] = identity(PEOPLE[rev % len(PEOPLE)])
        else:
            following = _following(state, states)
            change["System.State"] = following
            change["System.Reason"] = f"Moved to {following}"
            if following == "Closed":
                change["Microsoft.VSTS.Common.ClosedDate"] = ado_time(moment)
            elif state == "Closed":
                change["Microsoft.VSTS.Common.ClosedDate"] = CLEARED
            state = following
        changes.append(change)
    return {"id": item_id, "revisions": changes}


def _following(state: str, states: tuple[str, ...]) -> str:
    if states == WORKFLOW:
        return next_state(state)
    position = states.index(state) + 1
    return states[position] if position < len(states) else states[min(1, len(states) - 1)]


def make_work_items(count: int, *, revisions: int = 4, first_id: int = 1, vary: bool = True,
                    **options: Any) -> list[dict[str, Any]]:
    """``count`` items with ids from ``first_id``; with ``vary`` the number of revisions is ``revisions - 1``,
    ``revisions`` or ``revisions + 1`` in turn (so about ``revisions`` on average)."""
    return [make_work_item(item_id, revisions=max(1, revisions + ((item_id % 3) - 1 if vary else 0)), **options)
            for item_id in range(first_id, first_id + count)]


def _field(reference: str, name: str, field_type: str, **flags: Any) -> dict[str, Any]:
    return {"name": name, "referenceName": reference, "description": "", "type": field_type,
            "usage": "workItem", "readOnly": flags.get("read_only", False), "canSortBy": True, "isQueryable": True,
            "supportedOperations": [{"referenceName": "SupportedOperations.Equals", "name": "="}],
            "isIdentity": field_type == "identity", "isPicklist": field_type.startswith("picklist"),
            "isPicklistSuggested": False, "url": f"https://dev.azure.com/contoso/_apis/wit/fields/{reference}"}


DEFAULT_FIELDS: list[dict[str, Any]] = [
    _field("System.Id", "ID", "integer", read_only=True),
    _field("System.Rev", "Rev", "integer", read_only=True),
    _field("System.Title", "Title", "string"),
    _field("System.State", "State", "string"),
    _field("System.Reason", "Reason", "string"),
    _field("System.WorkItemType", "Work Item Type", "string"),
    _field("System.TeamProject", "Team Project", "string", read_only=True),
    _field("System.AreaPath", "Area Path", "treePath"),
    _field("System.IterationPath", "Iteration Path", "treePath"),
    _field("System.CreatedDate", "Created Date", "dateTime", read_only=True),
    _field("System.ChangedDate", "Changed Date", "dateTime", read_only=True),
    _field("System.CreatedBy", "Created By", "identity", read_only=True),
    _field("System.ChangedBy", "Changed By", "identity", read_only=True),
    _field("System.AssignedTo", "Assigned To", "identity"),
    _field("System.Tags", "Tags", "plainText"),
    _field("System.Description", "Description", "html"),
    _field("Microsoft.VSTS.Common.ClosedDate", "Closed Date", "dateTime"),
    _field("Microsoft.VSTS.Common.ResolvedReason", "Resolved Reason", "string"),
    _field("Microsoft.VSTS.Common.Priority", "Priority", "integer"),
    _field("Microsoft.VSTS.Scheduling.StoryPoints", "Story Points", "double"),
    _field("Custom.DeploymentDate", "Deployment Date", "dateTime"),
    _field("Custom.Environment", "Environment", "picklistString"),
    _field("Custom.IsIncident", "Is Incident", "boolean"),
    _field("Custom.Severity", "Severity Level", "picklistInteger"),
]
