"""The issue cache: trimming, compact storage that loads back to the REST shape, consistency and validity."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from configuration.defaults import DEMO_JQL
from configuration.settings import merge_with_defaults
from data.metrics.field_values import parse_jira_time
from data.store import issue_cache
from data.store.issue_cache import (
    BASE_FIELDS,
    cache_config_hash,
    cache_identity,
    cache_invalid_reason,
    clear_issue_cache,
    load_cached_issues,
    load_fetch_meta,
    required_fields,
    save_cached_issues,
    save_fetch_meta,
)
from data.store.json_store import PersistenceError
from tests.conftest import PROJECT_ROOT

STATUS_OPEN = {"self": "https://x/rest/api/2/status/1", "iconUrl": "https://x/i.png", "id": "1", "name": "To Do",
               "statusCategory": {"self": "https://x/sc/2", "id": 2, "key": "new", "name": "To Do"}}
STATUS_DONE = {"self": "https://x/rest/api/2/status/3", "id": "3", "name": "Done",
               "statusCategory": {"self": "https://x/sc/3", "id": 3, "key": "done", "name": "Done"}}


def history(history_id: str, created: str, *items: dict[str, Any]) -> dict[str, Any]:
    return {"id": history_id, "author": {"displayName": "Ana", "avatarUrls": {"16x16": "u"}}, "created": created,
            "items": list(items)}


def status_item(source: str, target: str, *, with_field_id: bool = True) -> dict[str, Any]:
    item = {"field": "status", "fieldtype": "jira", "from": "1", "fromString": source, "to": "3",
            "toString": target}
    if with_field_id:
        item["fieldId"] = "status"
    return item


def raw_issue(issue_id: int, *, status: dict[str, Any] = STATUS_DONE, updated: str = "2025-01-20T10:00:00.000+0000",
              newest_first: bool = True) -> dict[str, Any]:
    """A REST issue as Jira sends it: noise keys, an unrequested field, a non-status change, newest first."""
    histories = [
        history(f"{issue_id}1", "2025-01-15T10:00:00.000+0000", status_item("To Do", "In Progress")),
        history(f"{issue_id}2", "2025-01-16T12:00:00.000+0100",
                {"field": "assignee", "fieldtype": "jira", "fieldId": "assignee", "from": None, "to": "u1"}),
        history(f"{issue_id}3", "2025-01-17T09:00:00.000-0500", status_item("In Progress", "Done", with_field_id=False),
                {"field": "resolution", "fieldtype": "jira", "fieldId": "resolution", "to": "10000"}),
    ]
    if newest_first:
        histories.reverse()
    return {
        "id": str(issue_id), "key": f"ABC-{issue_id}", "self": f"https://x/rest/api/2/issue/{issue_id}",
        "expand": "changelog",
        "fields": {
            "summary": f"Issue {issue_id}", "status": copy.deepcopy(status),
            "issuetype": {"self": "https://x/t/1", "id": "10001", "name": "Story", "iconUrl": "https://x/s.png"},
            "project": {"self": "https://x/p/1", "id": "100", "key": "ABC", "name": "Abc",
                        "avatarUrls": {"48x48": "https://x/a.png"}},
            "created": "2025-01-14T08:00:00.000+0000", "updated": updated,
            "resolutiondate": "2025-01-17T09:00:00.000-0500", "resolution": {"id": "10000", "name": "Done"},
            "customfield_10100": "2025-01-18T14:00:00.000+0000",
            "customfield_10101": {"self": "https://x/o/1", "value": "Production", "id": "10400"},
            "comment": {"comments": [{"body": "large text we do not keep"}]},
        },
        "changelog": {"startAt": 0, "maxResults": 3, "total": 3, "histories": histories},
    }


def expected_trim(issue: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """An independent, straightforward statement of what the cache keeps of ``issue``."""
    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("self", "iconUrl", "avatarUrls")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    histories = []
    for item_history in issue["changelog"]["histories"]:
        items = [{k: v for k, v in item.items()} for item in item_history["items"] if item["field"] == "status"]
        if items:
            histories.append({"id": item_history["id"], "created": item_history["created"], "items": items})
    histories.sort(key=lambda h: parse_jira_time(h["created"]))
    return {"id": issue["id"], "key": issue["key"],
            "fields": {name: strip(issue["fields"][name]) for name in fields if name in issue["fields"]},
            "changelog": {"startAt": 0, "maxResults": len(histories), "total": len(histories),
                          "histories": histories}}


def mapped_settings(**overrides: Any) -> dict[str, Any]:
    settings = merge_with_defaults({
        "jira": {"url": "https://example.atlassian.net", "jql": "project = ABC"},
        "dora_flow_config": {"field_mappings": {"dora": {"deployment_date": "customfield_10100",
                                                         "target_environment": "customfield_10101"}}},
    })
    for dotted, value in overrides.items():
        section, key = dotted.split("__")
        settings[section][key] = value
    return settings


def meta_for(settings: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {**cache_identity(settings), "fields": required_fields(settings),
            "last_successful_fetch": "2025-01-20T10:00:00.000Z", **extra}


def cache_files(data_dir: Path) -> dict[str, bytes]:
    return {name: (data_dir / "cache" / name).read_bytes() for name in ("issues.json", "fetch_meta.json")}


def test_required_fields_are_the_base_fields_plus_every_mapped_field_once() -> None:
    settings = mapped_settings()
    settings["dora_flow_config"]["field_mappings"]["flow"]["flow_item_type"] = "customfield_10200"
    settings["dora_flow_config"]["field_mappings"]["flow"]["work_completed_date"] = "resolutiondate"
    # Base fields first, then the mapped custom fields sorted; resolutiondate is already a base field.
    assert required_fields(settings) == [*BASE_FIELDS, "customfield_10100", "customfield_10101", "customfield_10200"]


def test_round_trip_trims_to_the_product_fields_and_status_changes_oldest_first() -> None:
    settings = mapped_settings()
    issues = [raw_issue(1), raw_issue(2, status=STATUS_OPEN), raw_issue(3, newest_first=False)]
    written = save_cached_issues(issues, meta_for(settings))

    cached = load_cached_issues()
    assert cached is not None
    fields = required_fields(settings)
    assert cached.issues == [expected_trim(issue, fields) for issue in issues]
    first = cached.issues[0]
    assert "comment" not in first["fields"] and "self" not in first["fields"]["status"]
    # Of three histories two change the status; the 17 Jan 09:00 -0500 one (14:00 UTC) is the latest.
    assert [h["items"][0]["toString"] for h in first["changelog"]["histories"]] == ["In Progress", "Done"]
    assert first["changelog"]["total"] == 2
    assert cached.meta["data_version"] == written["data_version"] and cached.meta["issue_count"] == 3


def test_the_compact_file_shares_repeated_values_and_is_smaller_than_rest_json(isolated_data_dir: Path) -> None:
    settings = mapped_settings()
    issues = [raw_issue(n) for n in range(1, 201)]
    save_cached_issues(issues, meta_for(settings))
    payload = orjson.loads((isolated_data_dir / "cache" / "issues.json").read_bytes())
    # 200 issues share one status, type, project, resolution and environment option: 5 stored values,
    # and two distinct lists of status items (To Do -> In Progress, In Progress -> Done).
    assert len(payload["values"]) == 5 and len(payload["item_lists"]) == 2
    cached = load_cached_issues()
    assert cached is not None
    plain = orjson.dumps([expected_trim(issue, required_fields(settings)) for issue in issues])
    assert (isolated_data_dir / "cache" / "issues.json").stat().st_size < len(plain) / 2
    assert cached.issues[0]["fields"]["status"] is cached.issues[1]["fields"]["status"]


def test_re_saving_loaded_issues_writes_the_same_issues() -> None:
    settings = mapped_settings()
    save_cached_issues([raw_issue(1), raw_issue(2, status=STATUS_OPEN)], meta_for(settings))
    first = load_cached_issues()
    assert first is not None
    save_cached_issues(first.issues, {**first.meta, "data_version": None})
    second = load_cached_issues()
    assert second is not None
    assert second.issues == first.issues and second.meta["data_version"] != first.meta["data_version"]


def test_no_cache_loads_as_none() -> None:
    assert load_cached_issues() is None and load_fetch_meta() is None


def test_issues_and_meta_from_different_writes_are_not_mixed(isolated_data_dir: Path) -> None:
    settings = mapped_settings()
    save_cached_issues([raw_issue(1)], meta_for(settings))
    stale_meta = (isolated_data_dir / "cache" / "fetch_meta.json").read_bytes()
    save_cached_issues([raw_issue(1), raw_issue(2)], meta_for(settings))
    # As if a crash came between writing the new issues and the new metadata.
    (isolated_data_dir / "cache" / "fetch_meta.json").write_bytes(stale_meta)
    assert load_cached_issues() is None


def test_a_damaged_issues_file_is_moved_aside_and_not_used(isolated_data_dir: Path) -> None:
    save_cached_issues([raw_issue(1)], meta_for(mapped_settings()))
    (isolated_data_dir / "cache" / "issues.json").write_bytes(b'{"version": 1, "issu')
    assert load_cached_issues() is None
    assert list((isolated_data_dir / "cache").glob("issues.json.corrupt-*"))


def test_saving_only_the_meta_leaves_the_issues_file_untouched(isolated_data_dir: Path) -> None:
    written = save_cached_issues([raw_issue(1)], meta_for(mapped_settings()))
    before = cache_files(isolated_data_dir)["issues.json"]
    save_fetch_meta({**written, "last_successful_fetch": "2025-02-01T00:00:00.000Z"})
    assert cache_files(isolated_data_dir)["issues.json"] == before
    assert load_fetch_meta()["last_successful_fetch"] == "2025-02-01T00:00:00.000Z"
    cached = load_cached_issues()
    assert cached is not None and cached.meta["last_successful_fetch"] == "2025-02-01T00:00:00.000Z"


def test_saving_meta_for_other_data_is_refused(isolated_data_dir: Path) -> None:
    written = save_cached_issues([raw_issue(1)], meta_for(mapped_settings()))
    before = cache_files(isolated_data_dir)
    with pytest.raises(PersistenceError):
        save_fetch_meta({**written, "data_version": "something-else"})
    assert cache_files(isolated_data_dir) == before


def test_clear_removes_both_files(isolated_data_dir: Path) -> None:
    save_cached_issues([raw_issue(1)], meta_for(mapped_settings()))
    (isolated_data_dir / "cache" / "issues-0123456789ab.json").write_bytes(b"{}")  # a kept previous set
    clear_issue_cache()
    assert not (isolated_data_dir / "cache" / "issues.json").exists()
    assert not list((isolated_data_dir / "cache").glob("issues-*.json"))
    assert load_fetch_meta() is None and load_cached_issues() is None


@pytest.mark.parametrize(("section", "key", "value", "reason"), [
    ("jira", "jql", "project = XYZ", "JQL"),
    ("jira", "url", "https://other.atlassian.net", "Jira URL"),
    ("jira", "deployment", "datacenter", "Jira deployment"),
    ("jira", "url", "", "data source"),
])
def test_identity_changes_invalidate_the_cache(section: str, key: str, value: str, reason: str) -> None:
    settings = mapped_settings()
    meta = save_cached_issues([raw_issue(1)], meta_for(settings))
    assert cache_invalid_reason(meta, settings) is None
    changed = copy.deepcopy(settings)
    changed[section][key] = value
    assert reason in (cache_invalid_reason(meta, changed) or "")


def test_a_missing_issues_file_invalidates_the_cache(isolated_data_dir: Path) -> None:
    settings = mapped_settings()
    meta = save_cached_issues([raw_issue(1)], meta_for(settings))
    (isolated_data_dir / "cache" / "issues.json").unlink()
    assert "missing" in (cache_invalid_reason(meta, settings) or "")


def test_a_trailing_slash_in_the_url_is_the_same_jira() -> None:
    settings = mapped_settings()
    meta = save_cached_issues([raw_issue(1)], meta_for(settings))
    assert cache_invalid_reason(meta, mapped_settings(jira__url="https://example.atlassian.net/")) is None


def test_only_a_mapping_that_needs_an_uncached_field_invalidates() -> None:
    settings = mapped_settings()
    meta = save_cached_issues([raw_issue(1)], meta_for(settings))
    moved = copy.deepcopy(settings)
    moved["dora_flow_config"]["field_mappings"]["dora"]["deployed_to_production_date"] = "customfield_10100"
    moved["dora_flow_config"]["field_mappings"]["dora"]["target_environment"] = None
    assert cache_invalid_reason(meta, moved) is None
    needs_new = copy.deepcopy(settings)
    needs_new["dora_flow_config"]["field_mappings"]["dora"]["code_commit_date"] = "customfield_10999"
    assert "customfield_10999" in (cache_invalid_reason(meta, needs_new) or "")


def test_the_demo_has_its_own_identity() -> None:
    settings = merge_with_defaults({})
    assert cache_identity(settings) == {"source": "demo", "url": "", "deployment": "", "jql": DEMO_JQL}
    assert cache_identity(mapped_settings(), demo=True)["jql"] == DEMO_JQL


def test_config_hash_follows_identity_and_field_set_not_field_order() -> None:
    settings = mapped_settings()
    base = cache_config_hash(settings, ["status", "created"])
    assert base == cache_config_hash(settings, ["created", "status"])
    assert base != cache_config_hash(settings, ["created", "status", "customfield_1"])
    assert base != cache_config_hash(mapped_settings(jira__jql="project = XYZ"), ["status", "created"])


def test_the_cache_facts_live_in_the_fetch_metadata_not_in_app_settings(isolated_data_dir: Path) -> None:
    settings = mapped_settings()
    meta = save_cached_issues([raw_issue(1)], meta_for(settings, config_hash="abc123"))
    stored = load_fetch_meta()
    assert stored["cache_key"] == meta["cache_key"] and len(meta["cache_key"]) == 32
    assert stored["config_hash"] == "abc123" and stored["last_successful_fetch"] == "2025-01-20T10:00:00.000Z"
    other = save_cached_issues([raw_issue(1)], meta_for(mapped_settings(jira__jql="project = XYZ")))
    assert other["cache_key"] != meta["cache_key"]  # another JQL is another cache
    assert not (isolated_data_dir / "app_settings.json").exists()


def test_a_crash_between_the_issues_and_the_meta_write_keeps_the_previous_cache(isolated_data_dir: Path) -> None:
    previous = save_cached_issues([raw_issue(1), raw_issue(2)], meta_for(mapped_settings()))
    completed = subprocess.run([sys.executable, str(PROJECT_ROOT / "tests" / "_cache_crash_writer.py")],
                               env={**os.environ, "DASHBOARD_DATA_DIR": str(isolated_data_dir)},
                               capture_output=True, text=True, timeout=60)
    assert completed.returncode == 1, completed.stderr  # died before the metadata was replaced
    # The new issue set was written completely; the metadata still names the previous one.
    assert b"NEW-99" in (isolated_data_dir / "cache" / "issues.json").read_bytes()
    cached = load_cached_issues()
    assert cached is not None and cached.meta["data_version"] == previous["data_version"]
    assert [issue["key"] for issue in cached.issues] == ["ABC-1", "ABC-2"]
    # The next update starts from the previous cache and replaces it cleanly.
    written = save_cached_issues([*cached.issues, raw_issue(3)], {**cached.meta, "data_version": None})
    again = load_cached_issues()
    assert again is not None and again.meta["data_version"] == written["data_version"]
    assert [issue["key"] for issue in again.issues] == ["ABC-1", "ABC-2", "ABC-3"]
    assert sorted(path.name for path in (isolated_data_dir / "cache").glob("issues*.json")) == ["issues.json"]


def test_stray_temporaries_of_the_cache_are_removed_at_load_once_a_minute_old(isolated_data_dir: Path) -> None:
    save_cached_issues([raw_issue(1)], meta_for(mapped_settings()))
    folder = isolated_data_dir / "cache"
    old_an_hour = time.time() - 3600
    stale = [folder / ".issues.json.abc123.tmp", folder / ".fetch_meta.json.def456.tmp",
             folder / "issues-0123456789ab.json"]
    fresh = folder / ".issues.json.fresh1.tmp"  # a writer may be busy with it right now
    foreign = folder / ".someone-else.tmp"  # not ours: never touched
    for path in [*stale, fresh, foreign]:
        path.write_bytes(b"{}")
    for path in [*stale, foreign]:
        os.utime(path, (old_an_hour, old_an_hour))
    assert load_cached_issues() is not None
    assert [path.exists() for path in stale] == [False, False, False]
    assert fresh.exists() and foreign.exists()


@pytest.mark.parametrize(("text", "expected"), [
    ("2025-01-15T10:00:00.000+0000", datetime(2025, 1, 15, 10, tzinfo=UTC)),
    ("2025-01-15T18:00:00.000+0800", datetime(2025, 1, 15, 10, tzinfo=UTC)),
    ("2025-01-15T10:00:00Z", datetime(2025, 1, 15, 10, tzinfo=UTC)),
    (1736935200, datetime(2025, 1, 15, 10, tzinfo=UTC)),  # 20103 days * 86400 + 10 h
    ("not a date", None),
    (None, None),
])
def test_parse_jira_time(text: Any, expected: datetime | None) -> None:
    assert parse_jira_time(text) == expected


def test_module_names_the_cache_files_inside_the_data_directory(isolated_data_dir: Path) -> None:
    assert issue_cache.issues_path() == isolated_data_dir / "cache" / "issues.json"
    assert issue_cache.meta_path() == isolated_data_dir / "cache" / "fetch_meta.json"
