"""Azure DevOps work items in the issue shape the Jira client produces, and fields as mapping-modal records.

The mapping (``ADO_API.md``): the id becomes ``id`` and ``key`` (its text); ``System.WorkItemType`` →
``issuetype.name``; ``System.State`` → ``status.name``; ``System.CreatedDate`` → ``created``;
``System.ChangedDate`` → ``updated``; ``Microsoft.VSTS.Common.ClosedDate`` → ``resolutiondate``;
``System.Title`` → ``summary``; ``System.TeamProject`` → ``project.key``; ``System.AreaPath`` →
``area_path``; every other requested field keeps its reference name. Jira's ``resolution`` has no Azure
DevOps counterpart and is left out. A requested field the work item never had is ``None`` (as Jira sends
an unset field). Dates stay Azure DevOps' ISO text (``2025-06-18T15:30:00.123Z``, fraction optional),
which ``data.metrics.field_values`` reads as it is. Identities (objects with ``displayName``) keep their
``displayName`` and gain a ``name`` with the same text, so option readers find a label.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

STATE, CHANGED_DATE, CREATED_DATE = "System.State", "System.ChangedDate", "System.CreatedDate"
TEAM_PROJECT = "System.TeamProject"
AREA_PATH_FIELD = "area_path"
BASE_FIELD_REFERENCES: dict[str, str | None] = {
    "summary": "System.Title",
    "status": STATE,
    "issuetype": "System.WorkItemType",
    "project": "System.TeamProject",
    "created": CREATED_DATE,
    "updated": CHANGED_DATE,
    "resolutiondate": "Microsoft.VSTS.Common.ClosedDate",
    "resolution": None,
    AREA_PATH_FIELD: "System.AreaPath",
}
"""Jira base field names (and ``area_path``) → the Azure DevOps reference name holding them (``None``: none)."""

ALWAYS_FETCHED = (STATE, CHANGED_DATE, CREATED_DATE, TEAM_PROJECT)
"""Fetched whatever was asked: the history needs the state and the dates, the scope check the project."""

FIELD_TYPES: dict[str, str] = {
    "dateTime": "datetime", "integer": "number", "double": "number", "picklistInteger": "number",
    "picklistDouble": "number", "string": "string", "plainText": "string", "html": "string",
    "treePath": "string", "history": "string", "picklistString": "option", "boolean": "boolean",
    "identity": "user", "guid": "string",
}
"""Azure DevOps field types → the ``schema.type`` vocabulary of Jira the mapping validation understands."""

AREA_PATH_RECORD: dict[str, Any] = {"field_id": AREA_PATH_FIELD, "field_name": "Area Path", "field_type": "string",
                                    "items_type": None, "is_custom": False,
                                    "schema": {"type": "string", "system": AREA_PATH_FIELD}}


def reference_names(fields: Iterable[str]) -> list[str]:
    """The reference names to ask Azure DevOps for ``fields`` (Jira base names translated), plus
    ``ALWAYS_FETCHED``; each once, in a stable order."""
    wanted: list[str] = []
    for name in [*fields, *ALWAYS_FETCHED]:
        reference = BASE_FIELD_REFERENCES.get(name, name)
        if reference and reference not in wanted:
            wanted.append(reference)
    return wanted


def normalise_work_item(item: Mapping[str, Any], fields: Iterable[str],
                        histories: list[dict[str, Any]]) -> dict[str, Any]:
    """One ``workitemsbatch`` entry as an issue: the requested ``fields`` under their Jira names (see the
    module docstring) and ``histories`` (oldest first) as its complete changelog."""
    source = item.get("fields") if isinstance(item.get("fields"), Mapping) else {}
    normal: dict[str, Any] = {}
    for name in fields:
        if name in normal:
            continue
        reference = BASE_FIELD_REFERENCES.get(name, name)
        if reference is None:
            continue
        value = _plain(source.get(reference))
        if value is None:
            normal[name] = None
        elif name in ("status", "issuetype"):
            normal[name] = {"name": str(value)}
        elif name == "project":
            normal[name] = {"key": str(value), "name": str(value)}
        else:
            normal[name] = value
    text_id = str(item.get("id"))
    return {"id": text_id, "key": text_id, "fields": normal,
            "changelog": {"startAt": 0, "maxResults": len(histories), "total": len(histories),
                          "histories": histories}}


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping) and "displayName" in value:
        name = value.get("displayName")
        return {"displayName": name, "name": name}
    return value


def field_record(field: Mapping[str, Any]) -> dict[str, Any]:
    """One ``/wit/fields`` entry as the record the mapping modal and validation read (``field_id`` is the
    reference name, ``field_name`` the display name)."""
    reference = str(field["referenceName"])
    ado_type = str(field.get("type") or "")
    field_type = FIELD_TYPES.get(ado_type, "unknown")
    if field.get("isPicklist") and field_type == "string":
        field_type = "option"
    return {
        "field_id": reference,
        "field_name": str(field.get("name") or reference),
        "field_type": field_type,
        "items_type": None,
        "is_custom": not reference.startswith(("System.", "Microsoft.")),
        "schema": {"type": field_type, "ado_type": ado_type},
    }


def field_records(fields: Iterable[Any]) -> list[dict[str, Any]]:
    """Every well-formed field definition as a record, then the synthetic ``area_path`` (a team field)."""
    records = [field_record(field) for field in fields
               if isinstance(field, Mapping) and isinstance(field.get("referenceName"), str)
               and field["referenceName"]]
    return [*records, dict(AREA_PATH_RECORD)]
