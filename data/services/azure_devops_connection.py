"""What the Data source dialog does for Azure DevOps, without Dash: show the settings, test them, save them.

The rules are the Jira side's (``connection_service``): the personal access token (PAT) typed in the form is
used for the test, stored only in the owner-only secrets file on save, registered with the log redaction
filter before any request and never part of a returned message; an empty PAT field keeps ``AZURE_DEVOPS_PAT``
or the PAT saved for the organization URL's origin, and with a URL of another origin Test connection and
Save answer ``reenter_pat_message()`` and send nothing. ``app_settings.json`` receives the organization URL,
the project and the WIQL filter, and ``source`` becomes ``azure_devops``. A change of source, organization
URL, project or filter changes the cache identity: the cached issues are dropped and the message says that
the next Update Data is a full fetch. Status lists and flow type mappings still holding the Jira defaults take
the Azure DevOps ones (``AZURE_DEVOPS_FLOW_DEFAULTS``) on save, and the message says so; lists the user
changed are never touched.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from configuration.defaults import AZURE_DEVOPS_FLOW_DEFAULTS, DEFAULT_SETTINGS
from configuration.secrets import (
    ENV_AZURE_DEVOPS_PAT,
    AzureDevOpsCredentials,
    load_azure_devops_credentials,
    masked,
    register_azure_devops_pat,
    save_azure_devops_pat,
)
from configuration.settings import SettingsError, load_app_settings, merge_with_defaults
from data.services.connection_service import (
    FULL_FETCH_NOTE,
    TEST_TIMEOUT_SECONDS,
    ConnectionResult,
    apply_connection_change,
    scrub_secrets,
)
from data.sources.ado_errors import AzureDevOpsError
from data.sources.base import UpdateError
from data.sources.selection import make_source
from data.store.json_store import PersistenceError

logger = logging.getLogger(__name__)

FIX_FIELDS = "Fix the marked fields; nothing was saved."
MISSING_PAT = f"Enter a personal access token (or set {ENV_AZURE_DEVOPS_PAT} in the environment)"


@dataclass(frozen=True)
class AzureDevOpsForm:
    """What the dialog shows for Azure DevOps: never the PAT, only whether one is set and where from."""

    organization_url: str
    project: str
    wiql_filter: str
    pat_status: str


@dataclass(frozen=True)
class AzureDevOpsInput:
    """The form's values as typed (an empty PAT keeps the environment's or the saved one)."""

    organization_url: str | None = ""
    project: str | None = ""
    wiql_filter: str | None = ""
    pat: str | None = ""


def _text(value: str | None) -> str:
    return (value or "").strip()


def reenter_pat_message() -> str:
    return "Enter the personal access token again: a saved token is only sent to the site it was saved for"


def pat_status(credentials: AzureDevOpsCredentials) -> str:
    """"A personal access token is set (from the environment): ••••••••ab", or how to set one."""
    if credentials.pat:
        return f"A personal access token is set (from the {credentials.source}): {masked(credentials.pat)}"
    if credentials.withheld:
        return (f"A personal access token is saved for {credentials.withheld} only (a saved token is only sent to "
                f"the site it was saved for): enter it again to use this URL, or set {ENV_AZURE_DEVOPS_PAT}.")
    if credentials.withheld is not None:
        return ("A personal access token was saved without the site it belongs to, so it is not used: enter it "
                f"again here or set {ENV_AZURE_DEVOPS_PAT}.")
    return f"No personal access token is set: enter one here or set {ENV_AZURE_DEVOPS_PAT} in the environment."


def load_azure_devops_form(settings: Mapping[str, Any]) -> AzureDevOpsForm:
    block = settings.get("azure_devops") or {}
    return AzureDevOpsForm(
        organization_url=str(block.get("organization_url") or ""),
        project=str(block.get("project") or ""),
        wiql_filter=str(block.get("wiql_filter") or ""),
        pat_status=pat_status(load_azure_devops_credentials(settings)),
    )


def normalise_organization_url(url: str | None) -> str:
    """The organization (or Server collection) URL without a trailing slash; ValueError in plain words."""
    text = _text(url)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("Enter the organization URL with https://, e.g. https://dev.azure.com/your-organization")
    if "@" in parts.netloc:
        raise ValueError("Leave the user name and token out of the URL: enter the token in its own field")
    return text.rstrip("/")


def _form_errors(form: AzureDevOpsInput) -> tuple[str, dict[str, str]]:
    """(normalised URL, errors by input: ``organization_url``, ``project``)."""
    errors: dict[str, str] = {}
    url = ""
    try:
        url = normalise_organization_url(form.organization_url)
    except ValueError as error:
        errors["organization_url"] = str(error)
    if not _text(form.project):
        errors["project"] = "Enter the Azure DevOps project, e.g. Fabrikam"
    return url, errors


def _form_settings(form: AzureDevOpsInput, url: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """``settings`` with Azure DevOps chosen and the typed values."""
    block = {"organization_url": url, "project": _text(form.project), "wiql_filter": _text(form.wiql_filter)}
    return merge_with_defaults({**settings, "source": "azure_devops", "azure_devops": block})


def _credentials(form: AzureDevOpsInput, typed_settings: Mapping[str, Any]) -> AzureDevOpsCredentials:
    """The typed PAT, else the one usable for the typed URL (a saved one only for the origin it was saved for)."""
    typed = _text(form.pat)
    if typed:
        register_azure_devops_pat(typed)
        return AzureDevOpsCredentials(typed, "form")
    return load_azure_devops_credentials(typed_settings)


def check_azure_devops_connection(form: AzureDevOpsInput, settings: Mapping[str, Any]) -> ConnectionResult:
    """Read the project (``test_connection``), then list what the filter matches. Saves nothing; with a PAT
    saved for another site and an empty PAT field, asks for it again and sends nothing."""
    url, errors = _form_errors(form)
    if errors:
        return ConnectionResult(False, next(iter(errors.values())), errors)
    typed_settings = _form_settings(form, url, settings)
    credentials = _credentials(form, typed_settings)
    if not credentials.pat:
        return ConnectionResult(False, reenter_pat_message() if credentials.withheld is not None else MISSING_PAT)
    limits = typed_settings["jira"]
    typed_settings["jira"] = {**limits, "max_retries": 0,
                              "timeout_seconds": min(float(limits.get("timeout_seconds", 30.0)),
                                                     TEST_TIMEOUT_SECONDS)}
    try:
        source = make_source(typed_settings, credentials)
        project = source.test_connection()
    except (AzureDevOpsError, UpdateError) as error:
        return ConnectionResult(False, scrub_secrets(str(error), credentials.pat))
    connected = f"Connected to the Azure DevOps project {project.get('display_name') or _text(form.project)}."
    wiql = _text(form.wiql_filter)
    try:
        count = len(source.list_issue_ids(wiql))
    except AzureDevOpsError as error:
        return ConnectionResult(False, f"{connected} But the WIQL filter failed: "
                                       f"{scrub_secrets(str(error), credentials.pat)}",
                                {"wiql_filter": "Azure DevOps did not accept this filter"})
    scope = "The filter matches" if wiql else "Without a filter, the whole project:"
    return ConnectionResult(True, f"{connected} {scope} {count:,} work item{'s' if count != 1 else ''}.")


def save_azure_devops_connection(form: AzureDevOpsInput) -> ConnectionResult:
    """Choose Azure DevOps and store its URL, project and filter, and a typed PAT in the secrets file.

    Nothing is written when a value is invalid (``errors`` names the inputs), nor when the URL names another
    site than the saved PAT's and the PAT field is empty (``reenter_pat_message``)."""
    try:
        before = load_app_settings()
    except SettingsError as error:
        return ConnectionResult(False, f"The settings file cannot be used: {error}")
    url, errors = _form_errors(form)
    if errors:
        return ConnectionResult(False, FIX_FIELDS, errors)
    typed_settings = _form_settings(form, url, before)
    typed = _text(form.pat)
    if not typed:
        kept = load_azure_devops_credentials(typed_settings)
        if not kept.pat and kept.withheld is not None:
            return ConnectionResult(False, reenter_pat_message())
    flow_defaults, replaced = azure_devops_flow_changes(before)
    changes = {"source": "azure_devops", "azure_devops": typed_settings["azure_devops"]}
    if flow_defaults:
        changes["dora_flow_config"] = flow_defaults
    try:
        after, changed = apply_connection_change(changes, before)
        if typed:
            save_azure_devops_pat(organization_url=url, pat=typed)
    except (SettingsError, PersistenceError, OSError, ValueError) as error:
        return ConnectionResult(False, f"The Azure DevOps settings could not be saved: {error}")
    logger.info("Azure DevOps settings saved", extra={"organization_url": url, "source_changed": changed})
    return ConnectionResult(True, _saved_message(before, after, changed, replaced), full_fetch_next=changed)


_LIST_NAMES = {"wip_statuses": "WIP statuses", "active_statuses": "active statuses",
               "completed_statuses": "completed statuses"}


def azure_devops_flow_changes(settings: Mapping[str, Any]) -> tuple[dict[str, Any], list[tuple[str, list[str]]]]:
    """The ``dora_flow_config`` changes that give Azure DevOps defaults to every status list and flow type
    mapping of ``settings`` still equal to the Jira default (and different from Azure DevOps'), with what
    each now holds as (name, values) for the message. Lists the user changed are left alone."""
    config = settings.get("dora_flow_config") or {}
    jira, ado = DEFAULT_SETTINGS["dora_flow_config"], AZURE_DEVOPS_FLOW_DEFAULTS
    changes: dict[str, Any] = {}
    replaced: list[tuple[str, list[str]]] = []
    for key, name in _LIST_NAMES.items():
        if config.get(key) == jira[key] != ado[key]:
            changes[key] = list(ado[key])
            replaced.append((name, ado[key]))
    mappings = config.get("flow_type_mappings")
    mappings = mappings if isinstance(mappings, Mapping) else {}
    for flow_type, names in ado["flow_type_mappings"].items():
        if mappings.get(flow_type) == jira["flow_type_mappings"][flow_type] != names:
            changes.setdefault("flow_type_mappings", {})[flow_type] = list(names)
            replaced.append((f"{flow_type.replace('_', ' ')} types", names))
    return changes, replaced


def _replaced_message(replaced: list[tuple[str, list[str]]]) -> str:
    listed = "; ".join(f"{name}: {', '.join(values)}" for name, values in replaced)
    return (f"Lists still holding the Jira defaults now hold the Azure DevOps ones ({listed}): change them in "
            "Configure Field Mappings if your process uses other states or types.")


def _saved_message(before: Mapping[str, Any], after: Mapping[str, Any], changed: bool,
                   replaced: list[tuple[str, list[str]]]) -> str:
    parts = ["Azure DevOps settings saved."]
    if changed:
        parts.append(FULL_FETCH_NOTE)
    credentials = load_azure_devops_credentials(after)
    if not credentials.pat:
        parts.append(MISSING_PAT + " before updating.")
    elif credentials.source == "environment":
        parts.append(f"The token from the environment ({ENV_AZURE_DEVOPS_PAT}) is used; it takes precedence "
                     "over a saved one.")
    if replaced:
        parts.append(_replaced_message(replaced))
    if changed and (before.get("dora_flow_config") or {}).get("last_updated"):
        parts.append("Your saved field mappings were kept: check them against the Azure DevOps fields in "
                     "Configure Field Mappings.")
    return " ".join(parts)
