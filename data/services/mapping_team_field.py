"""Which fields may name a team in the field-mapping dialog's Teams tab, for Jira and for Azure DevOps.

The choices are the fields ``data.metrics.teams`` can read a team name from: for Jira the project, the
components, the labels and every custom field (Atlassian's Team field included: a select, a text, a team
object or a list of them all name teams); for Azure DevOps the area path (``System.AreaPath``, the way Boards
splits work between teams: the client delivers it as ``area_path``), the project and every custom field
(reference names ``Custom.*``, or any field the client marks ``is_custom``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

TEAM_KEY = "team_field"
TEAM_SYSTEM_FIELDS: tuple[tuple[str, str], ...] = (("project", "Project"), ("components", "Components"),
                                                   ("labels", "Labels"))
ADO_TEAM_SYSTEM_FIELDS: tuple[tuple[str, str], ...] = (("area_path", "Area Path"), ("project", "Project"))


def team_field_options(jira_fields_list: Iterable[Any], source: str = "jira") -> list[dict[str, str]]:
    """The Team field's choices: project, components and labels (Azure DevOps: area path and project), then
    the custom fields by name."""
    system, prefix = (ADO_TEAM_SYSTEM_FIELDS, "Custom.") if source == "azure_devops" else (TEAM_SYSTEM_FIELDS,
                                                                                          "customfield_")
    options = [{"label": f"{name} · {field_id}", "value": field_id} for field_id, name in system]
    custom: dict[str, str] = {}
    for raw in jira_fields_list or ():  # the normalised list (field_id, field_name) or Jira's own (id, name)
        if isinstance(raw, Mapping):
            field_id = str(raw.get("field_id") or raw.get("id") or "")
            # Azure DevOps custom fields of an older process carry their own prefix; the client marks them.
            if field_id.startswith(prefix) or (source == "azure_devops" and raw.get("is_custom") is True):
                custom.setdefault(field_id, str(raw.get("field_name") or raw.get("name") or field_id))
    for field_id, name in sorted(custom.items(), key=lambda item: (item[1].casefold(), item[0])):
        options.append({"label": f"{name} · {field_id}", "value": field_id})
    return options


def team_field_error(team_field: str | None, jira_fields_list: Iterable[Any], source: str) -> dict[str, str]:
    """``{"team_field": message}`` when ``team_field`` is not among the source's choices, else empty."""
    if team_field is None:
        return {}
    offered = {option["value"] for option in team_field_options(jira_fields_list, source)}
    if team_field in offered:
        return {}
    if source == "azure_devops":
        return {TEAM_KEY: f"{team_field} is not a field of this Azure DevOps project that can name a team: pick "
                          "Area Path, project or a custom field from the list, or leave it empty."}
    return {TEAM_KEY: f"{team_field} is not a field of this Jira that can name a team: pick project, components, "
                      "labels or a custom field from the list, or leave it empty."}
