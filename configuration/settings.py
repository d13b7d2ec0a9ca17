"""Load, validate and save ``app_settings.json``.

The file may be partial: every key it lacks takes its value from ``DEFAULT_SETTINGS``. Validation returns
messages that name the offending key (``jira.deployment must be "cloud" or "datacenter"``) so the UI and the
CLI can show them instead of a traceback. Secrets never live here (see ``configuration.secrets``).
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from configuration.defaults import DEFAULT_SETTINGS, DORA_MAPPING_KEYS, FLOW_MAPPING_KEYS, FLOW_TYPES
from configuration.paths import data_file
from data.store.json_store import PersistenceError, read_json, update_json, write_json_atomic

SETTINGS_FILE_NAME = "app_settings.json"
_SECRET_KEYS = {"api_token", "token", "pat", "password", "apitoken", "personal_access_token"}


class SettingsError(ValueError):
    """Settings that cannot be used; the message names the key and says what is expected."""


def settings_path(path: str | Path | None = None) -> Path:
    return Path(path) if path is not None else data_file(SETTINGS_FILE_NAME)


def merge_with_defaults(partial: Mapping[str, Any] | None) -> dict[str, Any]:
    """Deep-merge ``partial`` over a copy of the defaults (dicts merge, everything else replaces)."""
    merged = copy.deepcopy(DEFAULT_SETTINGS)
    _deep_merge(merged, partial or {})
    return merged


def _deep_merge(target: dict[str, Any], overlay: Mapping[str, Any]) -> None:
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _deep_merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def validate_settings(settings: Mapping[str, Any]) -> list[str]:
    """Every problem found, each as one sentence naming the key; empty when the settings are usable."""
    errors: list[str] = []
    jira = settings.get("jira")
    if isinstance(jira, Mapping):
        errors += _validate_jira(jira)
    else:
        errors.append(f"jira must be an object (got {jira!r})")
    config = settings.get("dora_flow_config")
    if isinstance(config, Mapping):
        errors += _validate_dora_flow_config(config)
    else:
        errors.append(f"dora_flow_config must be an object (got {config!r})")
    for section, keys in (("metrics_cache", ("ttl_seconds", "max_entries")), ("snapshots", ("weeks_to_keep",))):
        block = settings.get(section)
        if not isinstance(block, Mapping):
            errors.append(f"{section} must be an object (got {block!r})")
            continue
        for key in keys:
            value = block.get(key)
            if not _is_int(value) or value < 1:
                errors.append(f"{section}.{key} must be a whole number of at least 1 (got {value!r})")
    return errors


def _validate_jira(jira: Mapping[str, Any]) -> list[str]:
    errors = []
    for secret in sorted(key for key in jira if str(key).casefold().replace("-", "_") in _SECRET_KEYS):
        errors.append(f"jira.{secret} must not be stored in app_settings.json: set JIRA_API_TOKEN / JIRA_PAT "
                      "in the environment or save it from the Jira settings dialog")
    url = jira.get("url")
    if not isinstance(url, str):
        errors.append(f"jira.url must be text (got {url!r})")
    elif url and not url.startswith(("http://", "https://")):
        errors.append(f"jira.url must start with https:// or http:// (got {url!r})")
    elif url and not urlsplit(url).hostname:
        errors.append(f"jira.url must name a server, such as https://example.atlassian.net (got {url!r})")
    if jira.get("deployment") not in ("cloud", "datacenter"):
        errors.append(f'jira.deployment must be "cloud" or "datacenter" (got {jira.get("deployment")!r})')
    for key in ("email", "jql"):
        if not isinstance(jira.get(key), str):
            errors.append(f"jira.{key} must be text (got {jira.get(key)!r})")
    for key, low, high in (("page_size", 1, 5000), ("max_concurrency", 1, 32), ("max_retries", 0, 20),
                           ("incremental_overlap_minutes", 0, 1440), ("full_refresh_hours", 0, 24 * 365)):
        value = jira.get(key)
        if not _is_int(value) or not low <= value <= high:
            errors.append(f"jira.{key} must be a whole number from {low} to {high} (got {value!r})")
    for key in ("requests_per_second", "timeout_seconds"):
        value = jira.get(key)
        if not _is_number(value) or value <= 0:
            errors.append(f"jira.{key} must be a positive number (got {value!r})")
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
    return errors


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_text_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) and item.strip() for item in value)


def load_app_settings(path: str | Path | None = None) -> dict[str, Any]:
    """The settings file merged over the defaults; ``SettingsError`` when it cannot be used.

    A missing file gives the defaults. A file that is not JSON is moved aside by the safe store and the defaults
    are used (the warning reaches the UI through ``data.store.json_store.pop_persistence_warnings``). A file that
    cannot be read (permissions, a folder in the way) is a ``SettingsError`` too.
    """
    target = settings_path(path)
    try:
        raw = read_json(target, dict, expect=dict)
    except PersistenceError as error:
        raise SettingsError(str(error)) from error
    settings = merge_with_defaults(raw)
    errors = validate_settings(settings)
    if errors:
        raise SettingsError(f"{target.name}: " + "; ".join(errors))
    return settings


def load_app_settings_or_defaults(path: str | Path | None = None) -> tuple[dict[str, Any], str | None]:
    """Settings for a running app: on an unusable file, the defaults plus the message (the file is left as it is)."""
    try:
        return load_app_settings(path), None
    except SettingsError as error:
        return merge_with_defaults({}), f"{error}. Using defaults until the file is fixed."


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


def is_demo_mode(settings: Mapping[str, Any]) -> bool:
    """No Jira URL configured: the app serves the built-in demo dataset."""
    return not str(settings.get("jira", {}).get("url") or "").strip()
