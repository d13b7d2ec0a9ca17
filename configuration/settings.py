"""Load, validate and save ``app_settings.json``.

The file may be partial: every key it lacks takes its value from ``DEFAULT_SETTINGS``. Validation returns
messages that name the offending key (``jira.deployment must be "cloud" or "datacenter"``) so the UI and the
CLI can show them instead of a traceback. Secrets never live here (see ``configuration.secrets``).
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from configuration.defaults import (
    AZURE_DEVOPS_FLOW_DEFAULTS,
    DEFAULT_SETTINGS,
    DORA_MAPPING_KEYS,
    FLOW_MAPPING_KEYS,
    FLOW_TYPES,
    SETTINGS_VERSION,
    SOURCES,
)
from configuration.paths import data_file
from data.store.json_store import (
    PersistenceError,
    read_json,
    read_json_in_place,
    update_json,
    write_json_atomic,
)

logger = logging.getLogger(__name__)

SETTINGS_FILE_NAME = "app_settings.json"
_SECRET_KEYS = {"api_token", "token", "pat", "password", "apitoken", "personal_access_token"}


class SettingsError(ValueError):
    """Settings that cannot be used; the message names the key and says what is expected."""


def settings_path(path: str | Path | None = None) -> Path:
    return Path(path) if path is not None else data_file(SETTINGS_FILE_NAME)


def merge_with_defaults(partial: Mapping[str, Any] | None) -> dict[str, Any]:
    """Deep-merge ``partial`` over a copy of the defaults (dicts merge, everything else replaces).

    When ``partial`` chooses ``azure_devops``, the status lists and flow type mappings it leaves out take the
    Azure DevOps defaults (``AZURE_DEVOPS_FLOW_DEFAULTS``) instead of Jira's; the ones it sets are kept."""
    merged = copy.deepcopy(DEFAULT_SETTINGS)
    if (partial or {}).get("source") == "azure_devops":
        _deep_merge(merged["dora_flow_config"], AZURE_DEVOPS_FLOW_DEFAULTS)
    _deep_merge(merged, partial or {})
    return merged


def _deep_merge(target: dict[str, Any], overlay: Mapping[str, Any]) -> None:
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _deep_merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


NUMERIC_RANGES: tuple[tuple[str, float, float, bool], ...] = (
    ("version", 1, SETTINGS_VERSION, True),
    ("jira.page_size", 1, 5000, True),
    ("jira.max_concurrency", 1, 32, True),
    ("jira.requests_per_second", 0.1, 100, False),
    ("jira.timeout_seconds", 1, 600, False),
    ("jira.max_retries", 0, 20, True),
    ("jira.fetch_budget_seconds", 60, 24 * 3600, False),
    ("jira.incremental_overlap_minutes", 0, 1440, True),
    ("jira.full_refresh_hours", 0, 24 * 365, True),
    ("metrics_cache.ttl_seconds", 1, 30 * 24 * 3600, True),
    ("metrics_cache.max_entries", 1, 10_000, True),
    ("snapshots.weeks_to_keep", 1, 520, True),
)
"""Every numeric setting as (dotted key, lowest, highest, whole numbers only), documented in the README.

Why bounds at all: a value such as a TTL of 1e12 s, a timeout of 1e300 s, 1e-9 requests per second or a
billion weeks of snapshots is accepted by Python and then hangs a fetch, never expires a cache or grows a file
without end. Booleans, text such as "100", NaN and Infinity are refused too (JSON has no NaN, but a hand-edited
file read by a lenient parser or a settings dict built in code may carry one).
"""


def validate_settings(settings: Mapping[str, Any]) -> list[str]:
    """Every problem found, each as one sentence naming the key; empty when the settings are usable.

    Messages never echo a password: a ``jira.url`` with user information (``https://user:pass@host``) is
    refused without repeating it, and every other echoed value is shortened and scrubbed of user information.
    """
    errors: list[str] = []
    if settings.get("source") not in SOURCES:
        errors.append(f'source must be "jira" or "azure_devops" (got {_shown(settings.get("source"))})')
    azure_devops = settings.get("azure_devops")
    if isinstance(azure_devops, Mapping):
        errors += _validate_azure_devops(azure_devops, chosen=settings.get("source") == "azure_devops")
    else:
        errors.append(f"azure_devops must be an object (got {_shown(azure_devops)})")
    jira = settings.get("jira")
    if isinstance(jira, Mapping):
        errors += _validate_jira(jira)
    else:
        errors.append(f"jira must be an object (got {_shown(jira)})")
    config = settings.get("dora_flow_config")
    if isinstance(config, Mapping):
        errors += _validate_dora_flow_config(config)
    else:
        errors.append(f"dora_flow_config must be an object (got {_shown(config)})")
    for section in ("metrics_cache", "snapshots"):
        if not isinstance(settings.get(section), Mapping):
            errors.append(f"{section} must be an object (got {_shown(settings.get(section))})")
    errors += _validate_numbers(settings)
    return errors


def _validate_numbers(settings: Mapping[str, Any]) -> list[str]:
    """One message per numeric setting outside ``NUMERIC_RANGES`` (sections that are not objects are skipped:
    their own message says so)."""
    errors = []
    for name, low, high, whole in NUMERIC_RANGES:
        *sections, key = name.split(".")
        block: Any = settings
        for section in sections:
            block = block.get(section) if isinstance(block, Mapping) else None
        if not isinstance(block, Mapping):
            continue
        value = block.get(key)
        usable = _is_int(value) if whole else _is_number(value) and math.isfinite(value)
        if not usable or not low <= value <= high:
            kind = "a whole number" if whole else "a number"
            errors.append(f"{name} must be {kind} from {_number_text(low)} to {_number_text(high)} "
                          f"(got {_shown(value)})")
    return errors


def _number_text(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) and value >= 10_000 else f"{value:g}"


def _url_has_userinfo(url: str) -> bool:
    """True when the authority part (between ``scheme://`` and the path) holds ``user@`` or ``user:pass@``."""
    rest = url.split("://", 1)[1] if "://" in url else url
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    return "@" in authority


_USERINFO_RE = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/?#\s]*@")  # up to the authority's last @


def _shown(value: Any, limit: int = 80) -> str:
    """``repr(value)`` for a message: user information in URLs removed, at most ``limit`` characters."""
    try:
        text = repr(value)
    except ValueError:  # an integer too long to print
        text = "a number too long to show"
    text = _USERINFO_RE.sub(r"\1", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _validate_url(url: Any, key: str = "jira.url", example: str = "https://example.atlassian.net",
                  token_hint: str = "enter the token in the Data source dialog or set JIRA_API_TOKEN / JIRA_PAT",
                  ) -> list[str]:
    """Problems of a server URL setting (``key`` names it): http(s), a host, no user information. Empty is fine
    (the source is not configured)."""
    if not isinstance(url, str):
        return [f"{key} must be text (got {_shown(url)})"]
    if not url:
        return []
    if _url_has_userinfo(url):
        return [f"{key} must not contain a user name or password (the part before an @ in the address): "
                f"remove it and {token_hint}"]
    if not url.lower().startswith(("http://", "https://")):
        return [f"{key} must start with https:// or http:// (got {_shown(url)})"]
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (parsing the port is the check)
    except ValueError:
        return [f"{key} is not a valid address: check the host and the port (got {_shown(url)})"]
    if not parts.hostname:
        return [f"{key} must name a server, such as {example} (got {_shown(url)})"]
    return []


def _secret_key_errors(section: str, block: Mapping[str, Any], where: str) -> list[str]:
    return [f"{section}.{secret} must not be stored in app_settings.json: {where}"
            for secret in sorted(key for key in block if str(key).casefold().replace("-", "_") in _SECRET_KEYS)]


def _validate_azure_devops(block: Mapping[str, Any], *, chosen: bool) -> list[str]:
    """``azure_devops``: the organization URL like ``jira.url``; project and filter as text. A chosen Azure
    DevOps with an organization URL needs a project (the URL alone names no work items)."""
    errors = _secret_key_errors("azure_devops", block, "set AZURE_DEVOPS_PAT in the environment or save it "
                                                      "from the Data source dialog")
    errors += _validate_url(block.get("organization_url"), "azure_devops.organization_url",
                            "https://dev.azure.com/your-organization",
                            "enter the personal access token in the Data source dialog or set AZURE_DEVOPS_PAT")
    for key in ("project", "wiql_filter"):
        if not isinstance(block.get(key), str):
            errors.append(f"azure_devops.{key} must be text (got {_shown(block.get(key))})")
    project, url = block.get("project"), block.get("organization_url")
    if chosen and isinstance(url, str) and url.strip() and isinstance(project, str) and not project.strip():
        errors.append("azure_devops.project must name the Azure DevOps project, such as Fabrikam "
                      "(source is azure_devops and azure_devops.organization_url is set)")
    return errors


def _validate_jira(jira: Mapping[str, Any]) -> list[str]:
    errors = _secret_key_errors("jira", jira, "set JIRA_API_TOKEN / JIRA_PAT in the environment or save it "
                                              "from the Data source dialog")
    errors += _validate_url(jira.get("url"))
    if jira.get("deployment") not in ("cloud", "datacenter"):
        errors.append(f'jira.deployment must be "cloud" or "datacenter" (got {_shown(jira.get("deployment"))})')
    for key in ("email", "jql"):
        if not isinstance(jira.get(key), str):
            errors.append(f"jira.{key} must be text (got {_shown(jira.get(key))})")
    return errors


def _validate_dora_flow_config(config: Mapping[str, Any]) -> list[str]:
    errors = []
    mappings = config.get("field_mappings")
    if not isinstance(mappings, Mapping):
        errors.append("dora_flow_config.field_mappings must be an object with 'dora' and 'flow'")
        mappings = {"dora": {}, "flow": {}}
    for group, allowed in (("dora", DORA_MAPPING_KEYS), ("flow", FLOW_MAPPING_KEYS)):
        section = mappings.get(group)
        if not isinstance(section, Mapping):
            errors.append(f"dora_flow_config.field_mappings.{group} must be an object")
            continue
        for key, value in section.items():
            name = f"dora_flow_config.field_mappings.{group}.{key}"
            if key not in allowed:
                errors.append(f"{name} is not a known mapping (known: {', '.join(allowed)})")
            elif value is not None and (not isinstance(value, str) or not value.strip()):
                errors.append(f"{name} must be a Jira field id such as customfield_10100, or null (got {value!r})")
    for key in ("wip_statuses", "active_statuses", "completed_statuses", "production_environment_values",
                "deployment_issue_types", "incident_issue_types", "flow_issue_types"):
        value = config.get(key)
        if not _is_text_list(value):
            errors.append(f"dora_flow_config.{key} must be a list of names (got {value!r})")
    type_map = config.get("flow_type_mappings")
    if not isinstance(type_map, Mapping):
        errors.append("dora_flow_config.flow_type_mappings must be an object such as {\"Feature\": [\"Story\"]}")
    else:
        for flow_type, names in type_map.items():
            if flow_type not in FLOW_TYPES:
                errors.append(f"dora_flow_config.flow_type_mappings.{flow_type} is not a flow type "
                              f"(use {', '.join(FLOW_TYPES)})")
            elif not _is_text_list(names):
                errors.append(f"dora_flow_config.flow_type_mappings.{flow_type} must be a list of names")
    if not isinstance(config.get("field_metadata"), Mapping):
        errors.append("dora_flow_config.field_metadata must be an object")
    team_field = config.get("team_field")
    if team_field is not None and (not isinstance(team_field, str) or not team_field.strip()):
        errors.append("dora_flow_config.team_field must be a Jira field id naming the team (project, components, "
                      f"labels or a custom field such as customfield_10200), or null (got {_shown(team_field)})")
    return errors


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_text_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) and item.strip() for item in value)


def load_app_settings(path: str | Path | None = None) -> dict[str, Any]:
    """The settings file merged over the defaults; ``SettingsError`` when it cannot be used.

    A missing file gives the defaults. A file that is not JSON, cannot be read (permissions, a folder in the
    way) or holds an invalid value is a ``SettingsError`` naming the file and the key; the file is left exactly
    where and as it is: it is the user's file, and running on defaults instead would mean "no Jira", i.e. the
    demo (see ``load_settings_state`` for what a running app does then).
    """
    target = settings_path(path)
    try:
        raw = read_json_in_place(target, dict, expect=dict)
    except PersistenceError as error:
        raise SettingsError(str(error)) from error
    settings = merge_with_defaults(raw)
    errors = validate_settings(settings)
    if errors:
        raise SettingsError(f"{target.name}: " + "; ".join(errors))
    return settings


LAST_GOOD_FILE = "cache/last_good_settings.json"
"""The last settings the app loaded without a problem: runtime state beside the issue cache (git-ignored)."""


@dataclass(frozen=True)
class SettingsState:
    """What a running app works with.

    ``problem`` is ``None`` when ``app_settings.json`` is usable; otherwise it says what is wrong (file and key)
    and ``settings`` are the last settings that worked (``from_last_good``) or, when none were recorded, the
    defaults. While there is a problem the app is read-only: nothing is written over the cached issues, the
    snapshots, the metrics cache or the settings file, and Update Data is refused.
    """

    settings: dict[str, Any]
    problem: str | None = None
    from_last_good: bool = False

    @property
    def read_only(self) -> bool:
        return self.problem is not None

    @property
    def error(self) -> str | None:
        """The problem and what the app does meanwhile, for the page's notice (``None`` when usable)."""
        if self.problem is None:
            return None
        shown = "with the last settings that worked" if self.from_last_good else "with defaults"
        return (f"{self.problem}. Until it is fixed, the dashboard shows the cached data {shown}, read-only, "
                "and Update Data is off.")


def last_good_path() -> Path:
    return data_file(LAST_GOOD_FILE)


def load_last_good_settings() -> dict[str, Any] | None:
    """The settings recorded by the last successful load of ``app_settings.json`` (``None`` when unknown)."""
    try:
        recorded = read_json(last_good_path(), dict, expect=dict)
    except PersistenceError:
        return None
    settings = merge_with_defaults(recorded) if recorded else None
    return settings if settings is not None and not validate_settings(settings) else None


def _remember_last_good(settings: Mapping[str, Any]) -> None:
    """Keep a copy of usable settings for a later broken file; written only when they changed, and a failure
    only logs (the copy is a convenience, the user's file is the truth)."""
    try:
        if read_json(last_good_path(), dict, expect=dict) != settings:
            write_json_atomic(last_good_path(), dict(settings), indent=2)
    except PersistenceError as error:
        logger.warning("Could not record the last good settings: %s", error)


def load_settings_state(path: str | Path | None = None) -> SettingsState:
    """The settings a running app uses, never plain defaults in place of a broken file without saying so.

    A usable file is returned (and, for the app's own file, remembered as the last good settings). An unusable
    one gives the last good settings when known, else the defaults, with the message to show; the file is not
    touched.
    """
    try:
        settings = load_app_settings(path)
    except SettingsError as error:
        last_good = load_last_good_settings() if path is None else None
        return SettingsState(last_good or merge_with_defaults({}), str(error), last_good is not None)
    if path is None:
        _remember_last_good(settings)
    return SettingsState(settings)


def load_app_settings_or_defaults(path: str | Path | None = None) -> tuple[dict[str, Any], str | None]:
    """``load_settings_state`` as (settings, message or ``None``); the message means read-only."""
    state = load_settings_state(path)
    return state.settings, state.error


def save_app_settings(settings: Mapping[str, Any], path: str | Path | None = None) -> dict[str, Any]:
    """Validate, then write atomically. Raises ``SettingsError`` (nothing written) when invalid."""
    merged = merge_with_defaults(settings)
    errors = validate_settings(merged)
    if errors:
        raise SettingsError("; ".join(errors))
    write_json_atomic(settings_path(path), merged, indent=2)
    return merged


def update_app_settings(changes: Mapping[str, Any], path: str | Path | None = None) -> dict[str, Any]:
    """Deep-merge ``changes`` into the stored settings under the file lock (read-modify-write, atomic)."""
    target = settings_path(path)

    def apply(current: Any) -> dict[str, Any]:
        merged = merge_with_defaults(current if isinstance(current, Mapping) else {})
        _deep_merge(merged, changes)
        errors = validate_settings(merged)
        if errors:
            raise SettingsError("; ".join(errors))
        return merged

    return update_json(target, apply, dict, expect=dict)


def replace_field_mappings(dora_flow_config: Mapping[str, Any], path: str | Path | None = None) -> dict[str, Any]:
    """Store a new ``dora_flow_config`` (mappings replace, not merge, so a cleared mapping stays cleared)."""
    target = settings_path(path)

    def apply(current: Any) -> dict[str, Any]:
        merged = merge_with_defaults(current if isinstance(current, Mapping) else {})
        config = copy.deepcopy(dict(dora_flow_config))
        config["last_updated"] = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        merged["dora_flow_config"] = merge_with_defaults({"dora_flow_config": config})["dora_flow_config"]
        merged["dora_flow_config"]["field_mappings"] = config.get("field_mappings", {})
        errors = validate_settings(merged)
        if errors:
            raise SettingsError("; ".join(errors))
        return merged

    return update_json(target, apply, dict, expect=dict)


def field_mapping_hash(settings: Mapping[str, Any]) -> str:
    """MD5 of everything in ``dora_flow_config`` that changes a metric (not ``last_updated``/metadata)."""
    config = settings.get("dora_flow_config", {})
    relevant = {key: value for key, value in config.items() if key not in ("last_updated", "field_metadata")}
    payload = json.dumps(relevant, sort_keys=True, ensure_ascii=True, default=str)
    return hashlib.md5(payload.encode("utf-8"), usedforsecurity=False).hexdigest()


def chosen_source(settings: Mapping[str, Any]) -> str:
    """``jira`` or ``azure_devops``: the source ``settings`` name (``jira`` when the key is absent or unknown)."""
    source = settings.get("source")
    return source if source in SOURCES else "jira"


def is_demo_mode(settings: Mapping[str, Any]) -> bool:
    """The chosen source is not configured, so the app serves the built-in demo dataset: Jira without a URL,
    Azure DevOps without an organization URL or a project."""
    if chosen_source(settings) == "azure_devops":
        block = settings.get("azure_devops")
        block = block if isinstance(block, Mapping) else {}
        return not all(str(block.get(key) or "").strip() for key in ("organization_url", "project"))
    return not str(settings.get("jira", {}).get("url") or "").strip()
