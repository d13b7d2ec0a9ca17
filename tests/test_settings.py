"""Settings file: defaults for missing keys, validation messages that name the key, safe load/save/update."""

from __future__ import annotations

import copy
import threading
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from configuration import settings as st
from configuration.defaults import DEFAULT_SETTINGS, DORA_MAPPING_KEYS, FLOW_MAPPING_KEYS
from data.store.json_store import file_lock, pop_persistence_warnings


@pytest.fixture
def settings_file(isolated_data_dir: Path) -> Path:
    pop_persistence_warnings()
    return isolated_data_dir / st.SETTINGS_FILE_NAME


def _write(path: Path, data: object) -> bytes:
    raw = orjson.dumps(data)
    path.write_bytes(raw)
    return raw


def _with(changes: dict) -> dict:
    """The defaults with ``changes`` deep-merged over them (what a partial file means)."""
    return st.merge_with_defaults(changes)


def _errors_for(changes: dict) -> list[str]:
    return st.validate_settings(_with(changes))


# --- defaults and merging -------------------------------------------------------------------------------------


def test_missing_file_gives_the_defaults(settings_file: Path) -> None:
    assert st.load_app_settings() == DEFAULT_SETTINGS
    assert not settings_file.exists()


def test_partial_file_takes_defaults_for_missing_keys(settings_file: Path) -> None:
    _write(settings_file, {"jira": {"url": "https://acme.atlassian.net"},
                           "dora_flow_config": {"field_mappings": {"dora": {"deployment_date": "customfield_1"}},
                                                "wip_statuses": ["Doing"]}})
    loaded = st.load_app_settings()
    assert loaded["jira"]["url"] == "https://acme.atlassian.net"
    assert loaded["jira"]["page_size"] == DEFAULT_SETTINGS["jira"]["page_size"]
    assert loaded["jira"]["deployment"] == "cloud"
    dora = loaded["dora_flow_config"]["field_mappings"]["dora"]
    assert dora["deployment_date"] == "customfield_1"
    assert set(dora) == set(DORA_MAPPING_KEYS)
    assert all(dora[key] is None for key in DORA_MAPPING_KEYS if key != "deployment_date")
    assert set(loaded["dora_flow_config"]["field_mappings"]["flow"]) == set(FLOW_MAPPING_KEYS)
    assert loaded["dora_flow_config"]["wip_statuses"] == ["Doing"]  # lists replace, they do not merge
    assert loaded["dora_flow_config"]["completed_statuses"] == DEFAULT_SETTINGS["dora_flow_config"][
        "completed_statuses"]
    assert loaded["snapshots"] == DEFAULT_SETTINGS["snapshots"]


def test_merge_does_not_alias_the_defaults() -> None:
    merged = st.merge_with_defaults({})
    merged["dora_flow_config"]["wip_statuses"].append("Changed")
    merged["jira"]["url"] = "https://changed.example"
    assert "Changed" not in DEFAULT_SETTINGS["dora_flow_config"]["wip_statuses"]
    assert DEFAULT_SETTINGS["jira"]["url"] == ""


def test_defaults_are_valid() -> None:
    assert st.validate_settings(DEFAULT_SETTINGS) == []


# --- validation: one message per problem, naming the key ------------------------------------------------------


@pytest.mark.parametrize(("changes", "key", "hint"), [
    ({"jira": {"deployment": "server"}}, "jira.deployment", "'server'"),
    ({"jira": {"url": "acme.atlassian.net"}}, "jira.url", "https://"),
    ({"jira": {"url": "https://"}}, "jira.url", "server"),
    ({"jira": {"url": 42}}, "jira.url", "text"),
    ({"jira": {"page_size": 0}}, "jira.page_size", "1 to 5000"),
    ({"jira": {"timeout_seconds": -1}}, "jira.timeout_seconds", "from 1 to 600"),
    ({"dora_flow_config": {"field_mappings": {"dora": {"deployment_date": 10100}}}},
     "dora_flow_config.field_mappings.dora.deployment_date", "10100"),
    ({"dora_flow_config": {"field_mappings": {"flow": {"work_started_date": ["customfield_1"]}}}},
     "dora_flow_config.field_mappings.flow.work_started_date", "customfield_1"),
    ({"dora_flow_config": {"field_mappings": {"dora": {"deployment_date": "  "}}}},
     "dora_flow_config.field_mappings.dora.deployment_date", "field id"),
    ({"dora_flow_config": {"field_mappings": {"dora": {"deploy_date": "customfield_1"}}}},
     "dora_flow_config.field_mappings.dora.deploy_date", "not a known mapping"),
    ({"dora_flow_config": {"field_mappings": {"flow": {"deployment_date": "customfield_1"}}}},
     "dora_flow_config.field_mappings.flow.deployment_date", "not a known mapping"),
    ({"dora_flow_config": {"field_mappings": {"dora": []}}}, "dora_flow_config.field_mappings.dora", "object"),
    ({"dora_flow_config": {"wip_statuses": "In Progress"}}, "dora_flow_config.wip_statuses", "list of names"),
    ({"dora_flow_config": {"completed_statuses": ["Done", 3]}}, "dora_flow_config.completed_statuses",
     "list of names"),
    ({"dora_flow_config": {"active_statuses": ["In Progress", ""]}}, "dora_flow_config.active_statuses",
     "list of names"),
    ({"dora_flow_config": {"flow_type_mappings": {"Bug": ["Bug"]}}}, "dora_flow_config.flow_type_mappings.Bug",
     "not a flow type"),
    ({"dora_flow_config": {"flow_type_mappings": {"Defect": "Bug"}}}, "dora_flow_config.flow_type_mappings.Defect",
     "list of names"),
    ({"dora_flow_config": {"flow_type_mappings": ["Feature"]}}, "dora_flow_config.flow_type_mappings", "object"),
    ({"dora_flow_config": {"field_metadata": []}}, "dora_flow_config.field_metadata", "object"),
    ({"snapshots": {"weeks_to_keep": 0}}, "snapshots.weeks_to_keep", "from 1 to 520"),
    ({"metrics_cache": {"ttl_seconds": True}}, "metrics_cache.ttl_seconds", "whole number"),
    ({"jira": {"api_token": "ATATT-secret"}}, "jira.api_token", "must not be stored"),
    ({"jira": {"PAT": "dc-secret"}}, "jira.PAT", "JIRA_PAT"),
])
def test_each_rule_gives_one_message_naming_the_key(changes: dict, key: str, hint: str) -> None:
    errors = _errors_for(changes)
    assert len(errors) == 1, errors
    assert errors[0].startswith(key + " "), errors
    assert hint in errors[0]


def test_secret_message_never_repeats_the_token() -> None:
    [message] = _errors_for({"jira": {"api_token": "ATATT-very-secret-value"}})
    assert "ATATT-very-secret-value" not in message


@pytest.mark.parametrize("section", ["jira", "dora_flow_config", "metrics_cache", "snapshots"])
@pytest.mark.parametrize("value", [5, ["a"], None])
def test_a_section_of_the_wrong_type_is_a_message_not_a_crash(section: str, value: object) -> None:
    errors = _errors_for({section: value})
    assert errors == [f"{section} must be an object (got {value!r})"]


def test_all_problems_are_reported_together() -> None:
    errors = _errors_for({"jira": {"deployment": "server", "url": "ftp://x"},
                          "dora_flow_config": {"field_mappings": 7, "wip_statuses": "Doing"}})
    keys = sorted(message.split(" ")[0] for message in errors)
    assert keys == ["dora_flow_config.field_mappings", "dora_flow_config.wip_statuses", "jira.deployment",
                    "jira.url"]


def test_null_mappings_and_datacenter_are_valid() -> None:
    assert _errors_for({"jira": {"deployment": "datacenter", "url": "http://jira.local:8080/jira"},
                        "dora_flow_config": {"field_mappings": {"dora": {"deployment_date": None}}}}) == []


# --- load ---------------------------------------------------------------------------------------------------


def test_invalid_file_raises_settings_error_naming_file_and_key(settings_file: Path) -> None:
    _write(settings_file, {"jira": {"deployment": "server"}})
    with pytest.raises(st.SettingsError) as caught:
        st.load_app_settings()
    assert str(caught.value).startswith("app_settings.json: jira.deployment")


def test_or_defaults_returns_defaults_and_message_and_leaves_the_file_alone(settings_file: Path) -> None:
    raw = _write(settings_file, {"jira": {"url": "acme.atlassian.net"}, "snapshots": {"weeks_to_keep": 10}})
    settings, message = st.load_app_settings_or_defaults()
    assert settings == DEFAULT_SETTINGS
    assert message is not None and "jira.url" in message and "defaults" in message
    assert settings_file.read_bytes() == raw
    assert sorted(p.name for p in settings_file.parent.iterdir()) == [st.SETTINGS_FILE_NAME]


def test_or_defaults_without_a_problem_has_no_message(settings_file: Path) -> None:
    _write(settings_file, {"snapshots": {"weeks_to_keep": 10}})
    settings, message = st.load_app_settings_or_defaults()
    assert message is None
    assert settings["snapshots"]["weeks_to_keep"] == 10


def test_unreadable_file_is_a_settings_error(settings_file: Path) -> None:
    settings_file.mkdir()  # a folder in the way cannot be read, even by root
    with pytest.raises(st.SettingsError, match=r"app_settings\.json"):
        st.load_app_settings()
    settings, message = st.load_app_settings_or_defaults()
    assert settings == DEFAULT_SETTINGS and message is not None
    assert settings_file.is_dir()


@pytest.mark.parametrize("raw", [b'{"jira": {"url": "https://a.example"', b"[1, 2]", b"\xff\xfe"])
def test_a_damaged_file_is_a_settings_error_and_stays_where_it_is(settings_file: Path, raw: bytes) -> None:
    # Moving it aside would make the next read find no file and run on defaults, i.e. the demo.
    settings_file.write_bytes(raw)
    with pytest.raises(st.SettingsError, match=r"^app_settings\.json cannot be read: "):
        st.load_app_settings()
    assert settings_file.read_bytes() == raw
    assert [p.name for p in settings_file.parent.iterdir()] == [st.SETTINGS_FILE_NAME]
    assert pop_persistence_warnings() == []


def test_explicit_path_is_used(tmp_path: Path, settings_file: Path) -> None:
    other = tmp_path / "elsewhere.json"
    _write(other, {"jira": {"jql": "project = X"}})
    assert st.load_app_settings(other)["jira"]["jql"] == "project = X"
    assert st.load_app_settings()["jira"]["jql"] == ""


# --- save / update / replace ----------------------------------------------------------------------------------


def test_save_round_trips_the_merged_settings(settings_file: Path) -> None:
    saved = st.save_app_settings({"jira": {"url": "https://acme.atlassian.net", "jql": "project = ACME"}})
    assert saved["jira"]["page_size"] == DEFAULT_SETTINGS["jira"]["page_size"]
    assert orjson.loads(settings_file.read_bytes()) == saved
    assert st.load_app_settings() == saved


def test_save_refuses_invalid_settings_and_writes_nothing(settings_file: Path) -> None:
    with pytest.raises(st.SettingsError, match=r"jira\.deployment"):
        st.save_app_settings({"jira": {"deployment": "server"}})
    assert list(settings_file.parent.iterdir()) == []
    raw = _write(settings_file, {"jira": {"jql": "project = KEEP"}})
    with pytest.raises(st.SettingsError, match=r"jira\.api_token"):
        st.save_app_settings({"jira": {"api_token": "ATATT-secret"}})
    assert settings_file.read_bytes() == raw


def test_update_deep_merges_into_the_stored_file(settings_file: Path) -> None:
    _write(settings_file, {"jira": {"url": "https://acme.atlassian.net", "jql": "project = A"},
                           "dora_flow_config": {"wip_statuses": ["Doing"]}})
    result = st.update_app_settings({"jira": {"jql": "project = B"}, "snapshots": {"weeks_to_keep": 12}})
    stored = st.load_app_settings()
    assert stored == result
    assert stored["jira"]["url"] == "https://acme.atlassian.net"
    assert stored["jira"]["jql"] == "project = B"
    assert stored["dora_flow_config"]["wip_statuses"] == ["Doing"]
    assert stored["snapshots"]["weeks_to_keep"] == 12


def test_update_refuses_an_invalid_result_and_keeps_the_file(settings_file: Path) -> None:
    raw = _write(settings_file, {"jira": {"jql": "project = A"}})
    with pytest.raises(st.SettingsError, match=r"snapshots\.weeks_to_keep"):
        st.update_app_settings({"snapshots": {"weeks_to_keep": -3}})
    assert settings_file.read_bytes() == raw


def test_update_reads_the_file_under_the_lock(settings_file: Path) -> None:
    """A change made by another writer while it holds the lock is not lost by a waiting update."""
    _write(settings_file, {"jira": {"jql": "project = A"}})
    done = threading.Event()

    def waiting_update() -> None:
        st.update_app_settings({"jira": {"email": "me@example.com"}})
        done.set()

    with file_lock(settings_file):
        worker = threading.Thread(target=waiting_update)
        worker.start()
        assert not done.wait(0.3)
        _write(settings_file, {"jira": {"jql": "project = CHANGED-UNDER-LOCK"}})
    worker.join(timeout=30)
    assert done.is_set()
    stored = st.load_app_settings()
    assert stored["jira"]["jql"] == "project = CHANGED-UNDER-LOCK"
    assert stored["jira"]["email"] == "me@example.com"


def test_update_over_a_file_of_the_wrong_shape_keeps_it_aside(settings_file: Path) -> None:
    settings_file.write_bytes(b'["not", "settings"]')
    st.update_app_settings({"jira": {"jql": "project = NEW"}})
    assert st.load_app_settings()["jira"]["jql"] == "project = NEW"
    [moved] = [p for p in settings_file.parent.iterdir() if ".corrupt-" in p.name]
    assert moved.read_bytes() == b'["not", "settings"]'


def _config_with(dora: dict, flow: dict | None = None) -> dict:
    config = copy.deepcopy(DEFAULT_SETTINGS["dora_flow_config"])
    config["field_mappings"] = {"dora": dora, "flow": flow or {}}
    return config


def test_replace_field_mappings_replaces_and_stamps_last_updated(settings_file: Path) -> None:
    st.update_app_settings({"jira": {"url": "https://acme.atlassian.net"},
                            "dora_flow_config": {"field_mappings": {
                                "dora": {"deployment_date": "customfield_1", "target_environment": "customfield_2"},
                                "flow": {"work_started_date": "customfield_3"}}}})
    before = datetime.now(UTC).replace(microsecond=0)
    config = _config_with({"deployment_date": "customfield_9", "target_environment": None})
    config["wip_statuses"] = ["Doing", "Reviewing"]
    st.replace_field_mappings(config)
    after = datetime.now(UTC)
    stored = st.load_app_settings()
    mappings = stored["dora_flow_config"]["field_mappings"]
    assert mappings["dora"]["deployment_date"] == "customfield_9"
    assert mappings["dora"]["target_environment"] is None  # cleared stays cleared
    assert mappings["flow"]["work_started_date"] is None  # left out of the new mappings: not kept from before
    assert stored["dora_flow_config"]["wip_statuses"] == ["Doing", "Reviewing"]
    assert stored["jira"]["url"] == "https://acme.atlassian.net"
    stamp = stored["dora_flow_config"]["last_updated"]
    assert stamp.endswith("Z")
    assert before <= datetime.fromisoformat(stamp) <= after


def test_replace_field_mappings_refuses_invalid_mappings(settings_file: Path) -> None:
    st.update_app_settings({"dora_flow_config": {"field_mappings": {"dora": {"deployment_date": "customfield_1"}}}})
    raw = settings_file.read_bytes()
    with pytest.raises(st.SettingsError, match=r"dora_flow_config\.field_mappings\.dora\.deployment_date"):
        st.replace_field_mappings(_config_with({"deployment_date": 5}))
    assert settings_file.read_bytes() == raw


# --- mapping hash and demo mode -------------------------------------------------------------------------------


def _hash(changes: dict) -> str:
    return st.field_mapping_hash(_with(changes))


@pytest.mark.parametrize("changes", [
    {"dora_flow_config": {"field_mappings": {"dora": {"deployment_date": "customfield_1"}}}},
    {"dora_flow_config": {"field_mappings": {"flow": {"work_completed_date": "resolutiondate"}}}},
    {"dora_flow_config": {"wip_statuses": ["In Progress"]}},
    {"dora_flow_config": {"completed_statuses": ["Done"]}},
    {"dora_flow_config": {"production_environment_values": ["Prod"]}},
    {"dora_flow_config": {"incident_issue_types": ["Incident"]}},
    {"dora_flow_config": {"flow_type_mappings": {"Risk": ["Risk"]}}},
])
def test_mapping_hash_changes_with_what_changes_a_metric(changes: dict) -> None:
    assert _hash(changes) != _hash({})


@pytest.mark.parametrize("changes", [
    {"dora_flow_config": {"last_updated": "2025-01-01T00:00:00.000Z"}},
    {"dora_flow_config": {"field_metadata": {"customfield_1": {"name": "Deploy date", "type": "datetime"}}}},
    {"jira": {"url": "https://acme.atlassian.net"}},
    {"snapshots": {"weeks_to_keep": 3}},
])
def test_mapping_hash_ignores_what_does_not_change_a_metric(changes: dict) -> None:
    assert _hash(changes) == _hash({})


def test_mapping_hash_is_stable_and_ignores_key_order() -> None:
    settings = _with({})
    reordered = copy.deepcopy(settings)
    reordered["dora_flow_config"] = dict(reversed(list(reordered["dora_flow_config"].items())))
    assert st.field_mapping_hash(settings) == st.field_mapping_hash(reordered)
    assert len(st.field_mapping_hash(settings)) == 32


@pytest.mark.parametrize(("url", "demo"), [("", True), ("   ", True), (None, True),
                                            ("https://acme.atlassian.net", False)])
def test_is_demo_mode(url: str | None, demo: bool) -> None:
    assert st.is_demo_mode({"jira": {"url": url}}) is demo


def test_is_demo_mode_without_a_jira_block() -> None:
    assert st.is_demo_mode({}) is True


# --- numeric settings: each key has a sane range ----------------------------------------------------------------


@pytest.mark.parametrize(("changes", "message"), [
    ({"metrics_cache": {"ttl_seconds": 10**12}},
     "metrics_cache.ttl_seconds must be a whole number from 1 to 2,592,000 (got 1000000000000)"),
    ({"metrics_cache": {"ttl_seconds": -5}},
     "metrics_cache.ttl_seconds must be a whole number from 1 to 2,592,000 (got -5)"),
    ({"metrics_cache": {"max_entries": 10**9}},
     "metrics_cache.max_entries must be a whole number from 1 to 10,000 (got 1000000000)"),
    ({"snapshots": {"weeks_to_keep": 10**9}},
     "snapshots.weeks_to_keep must be a whole number from 1 to 520 (got 1000000000)"),
    ({"jira": {"timeout_seconds": 1e300}}, "jira.timeout_seconds must be a number from 1 to 600 (got 1e+300)"),
    ({"jira": {"requests_per_second": 1e-9}},
     "jira.requests_per_second must be a number from 0.1 to 100 (got 1e-09)"),
    ({"jira": {"page_size": "100"}}, "jira.page_size must be a whole number from 1 to 5000 (got '100')"),
    ({"jira": {"page_size": 100.0}}, "jira.page_size must be a whole number from 1 to 5000 (got 100.0)"),
    ({"jira": {"max_concurrency": True}}, "jira.max_concurrency must be a whole number from 1 to 32 (got True)"),
    ({"jira": {"timeout_seconds": False}}, "jira.timeout_seconds must be a number from 1 to 600 (got False)"),
    ({"jira": {"timeout_seconds": float("nan")}}, "jira.timeout_seconds must be a number from 1 to 600 (got nan)"),
    ({"jira": {"requests_per_second": float("inf")}},
     "jira.requests_per_second must be a number from 0.1 to 100 (got inf)"),
    ({"jira": {"max_retries": -1}}, "jira.max_retries must be a whole number from 0 to 20 (got -1)"),
    ({"jira": {"incremental_overlap_minutes": 1441}},
     "jira.incremental_overlap_minutes must be a whole number from 0 to 1440 (got 1441)"),
    ({"jira": {"full_refresh_hours": 8761}}, "jira.full_refresh_hours must be a whole number from 0 to 8760 "
                                             "(got 8761)"),
    ({"version": 0}, "version must be a whole number from 1 to 1 (got 0)"),
    ({"metrics_cache": {"ttl_seconds": None}},
     "metrics_cache.ttl_seconds must be a whole number from 1 to 2,592,000 (got None)"),
])
def test_absurd_numbers_are_refused_naming_the_key_and_the_range(changes: dict, message: str) -> None:
    assert _errors_for(changes) == [message]


@pytest.mark.parametrize(("name", "low", "high"), [
    # (dotted key, lowest, highest) as NUMERIC_RANGES declares them; both ends are accepted
    ("jira.page_size", 1, 5000), ("jira.max_concurrency", 1, 32), ("jira.requests_per_second", 0.1, 100),
    ("jira.timeout_seconds", 1, 600), ("jira.max_retries", 0, 20), ("jira.incremental_overlap_minutes", 0, 1440),
    ("jira.full_refresh_hours", 0, 8760), ("metrics_cache.ttl_seconds", 1, 2_592_000),
    ("metrics_cache.max_entries", 1, 10_000), ("snapshots.weeks_to_keep", 1, 520),
])
def test_both_ends_of_each_range_are_accepted(name: str, low: float, high: float) -> None:
    section, key = name.split(".")
    for value in (low, high):
        assert _errors_for({section: {key: value}}) == [], (name, value)


def test_every_numeric_default_has_a_range() -> None:
    numeric = {f"{section}.{key}" for section, block in DEFAULT_SETTINGS.items() if isinstance(block, dict)
               for key, value in block.items() if isinstance(value, int | float) and not isinstance(value, bool)}
    numeric |= {key for key, value in DEFAULT_SETTINGS.items() if isinstance(value, int | float)}
    assert numeric == {name for name, *_ in st.NUMERIC_RANGES}


def test_an_endless_integer_is_refused_without_printing_it() -> None:
    [message] = _errors_for({"snapshots": {"weeks_to_keep": 10**5000}})  # longer than Python prints an int
    assert message == "snapshots.weeks_to_keep must be a whole number from 1 to 520 (got a number too long to show)"


def test_a_file_with_an_absurd_number_is_refused_and_left_as_it_is(settings_file: Path) -> None:
    raw = _write(settings_file, {"metrics_cache": {"ttl_seconds": 10**12}})
    with pytest.raises(st.SettingsError, match=r"metrics_cache\.ttl_seconds must be a whole number from 1 to"):
        st.load_app_settings()
    assert settings_file.read_bytes() == raw


# --- a password in jira.url ----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "https://user:hunter2-secret@acme.atlassian.net",
    "https://hunter2-secret@acme.atlassian.net/jira",
    "http://user:hunter2-secret@127.0.0.1:8080",
    "ftp://user:hunter2-secret@acme.atlassian.net",
    "user:hunter2-secret@acme.atlassian.net",
])
def test_a_url_with_user_information_is_refused_without_repeating_it(url: str) -> None:
    errors = _errors_for({"jira": {"url": url}})
    assert len(errors) == 1 and errors[0].startswith("jira.url must not contain a user name or password")
    assert "hunter2-secret" not in errors[0]


def test_a_url_with_a_password_is_never_saved_nor_shown(settings_file: Path) -> None:
    url = "https://user:hunter2-secret@acme.atlassian.net"
    with pytest.raises(st.SettingsError) as saved:
        st.save_app_settings({"jira": {"url": url}})
    assert "jira.url" in str(saved.value) and "hunter2-secret" not in str(saved.value)
    assert not settings_file.exists()
    _write(settings_file, {"jira": {"url": url}})
    settings, message = st.load_app_settings_or_defaults()
    assert settings["jira"]["url"] == "" and message is not None  # the defaults (the demo), never that URL
    assert "jira.url" in message and "hunter2-secret" not in message


@pytest.mark.parametrize(("url", "hint"), [
    ("https://acme.atlassian.net:99999", "not a valid address"),
    ("https://[::1", "not a valid address"),
    ("https://acme.atlassian.net:port", "not a valid address"),
])
def test_an_unparsable_url_is_a_message_not_a_crash(url: str, hint: str) -> None:
    [message] = _errors_for({"jira": {"url": url}})
    assert message.startswith("jira.url ") and hint in message


def test_echoed_values_lose_user_information_and_length() -> None:
    [message] = _errors_for({"jira": {"deployment": "https://me:hunter2-secret@x.example/" + "a" * 200}})
    assert "hunter2-secret" not in message and len(message) < 160


def test_the_readme_lists_every_range() -> None:
    """The Configuration table in README.md shows each key of ``NUMERIC_RANGES`` with its two ends."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    for name, low, high, _whole in st.NUMERIC_RANGES:
        if name == "version":
            continue
        row = next((line for line in readme.splitlines() if line.startswith(f"| `{name}` |")), None)
        assert row is not None, name
        shown = row.split("|")[2].replace(",", "").split("(")[0].strip()
        assert shown == f"{low:g}–{high}", (name, shown)


def test_an_upper_case_scheme_is_a_url_like_any_other() -> None:
    assert st.validate_settings(st.merge_with_defaults({"jira": {"url": "HTTPS://acme.atlassian.net"}})) == []


def test_the_userinfo_message_survives_log_redaction() -> None:
    # The message must not itself look like a URL with a password, or the redaction filter mangles it.
    from configuration.logging_config import redact_text

    [message] = st.validate_settings(st.merge_with_defaults({"jira": {"url": "https://bob:hunter22@acme.example"}}))
    assert redact_text(message) == message and "hunter22" not in message
