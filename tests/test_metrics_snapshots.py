"""Weekly snapshots: the seed 000 API and file format, None gaps, retention, ISO weeks, export/import."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import orjson
import pytest

from data.store import metrics_snapshots as snaps
from data.store.json_store import NewerVersionError, pop_persistence_warnings

# Imports happen "now" = Friday 2025-11-14 (ISO week 2025-46): weeks up to 2025-46 are past or current.
NOW = datetime(2025, 11, 14, 12, 0, tzinfo=UTC)

# The seed's own example file (000: "Format"), without the schema marker, as an existing install has it.
SEED_FILE = {
    "2025-44": {
        "flow_load": {
            "wip_count": 12,
            "by_status": {"In Progress": 10, "In Review": 2},
            "by_issue_type": {"Bug": 5, "Task": 6, "Story": 1},
            "timestamp": "2025-10-31T17:00:00Z",
        }
    },
    "2025-43": {
        "flow_load": {
            "wip_count": 15,
            "by_status": {"In Progress": 12, "In Review": 3},
            "timestamp": "2025-10-24T16:30:00Z",
        }
    },
}


@pytest.fixture(autouse=True)
def _no_leftover_warnings():
    pop_persistence_warnings()
    yield
    pop_persistence_warnings()


@pytest.fixture
def seed_path(isolated_data_dir: Path) -> Path:
    path = isolated_data_dir / "metrics_snapshots.json"
    path.write_bytes(orjson.dumps(SEED_FILE, option=orjson.OPT_INDENT_2))
    return path


def _raw(path: Path) -> dict:
    return orjson.loads(path.read_bytes())


def test_default_path_is_in_the_data_dir(isolated_data_dir):
    snaps.save_metric_snapshot("2025-44", "test_metric", {"value": 42})
    assert (isolated_data_dir / "metrics_snapshots.json").is_file()
    entry = snaps.get_metric_snapshot("2025-44", "test_metric")
    assert entry["value"] == 42
    assert entry["timestamp"].endswith("Z")


def test_save_writes_the_seed_format_plus_meta(isolated_data_dir):
    now = datetime(2025, 10, 31, 17, 0, tzinfo=UTC)
    data = {"wip_count": 12, "by_status": {"In Progress": 10, "In Review": 2}}
    returned = snaps.save_metric_snapshot("2025-44", "flow_load", data, now=now)
    assert returned == {**data, "timestamp": "2025-10-31T17:00:00Z"}
    assert "timestamp" not in data
    raw = _raw(isolated_data_dir / "metrics_snapshots.json")
    assert raw == {
        "2025-44": {"flow_load": {**data, "timestamp": "2025-10-31T17:00:00Z"}},
        "_meta": {"version": 1},
    }


def test_existing_timestamp_is_kept_and_resave_replaces_the_entry():
    snaps.save_metric_snapshot("2025-44", "flow_load", {"wip_count": 3, "timestamp": "2025-10-27T09:00:00Z"})
    assert snaps.get_metric_snapshot("2025-44", "flow_load")["timestamp"] == "2025-10-27T09:00:00Z"
    snaps.save_metric_snapshot(
        "2025-44", "flow_load", {"wip_count": 4}, now=datetime(2025, 10, 28, tzinfo=UTC)
    )
    assert snaps.get_metric_snapshot("2025-44", "flow_load") == {
        "wip_count": 4,
        "timestamp": "2025-10-28T00:00:00Z",
    }


def test_other_metrics_in_the_same_week_are_kept():
    snaps.save_metric_snapshot("2025-44", "flow_load", {"wip_count": 1})
    snaps.save_metric_snapshot("2025-44", "deployment_frequency", {"deployments": 42})
    assert set(snaps.load_snapshots()["2025-44"]) == {"flow_load", "deployment_frequency"}


def test_seed_example_reads_back_as_documented(seed_path):
    # Seed 000 documents exactly this call and result: [15, 12].
    assert snaps.get_metric_weekly_values(["2025-43", "2025-44"], "flow_load", "wip_count") == [15, 12]
    assert snaps.get_metric_snapshot("2025-43", "flow_load")["by_status"] == {
        "In Progress": 12,
        "In Review": 3,
    }
    assert snaps.get_metric_snapshot("2025-42", "flow_load") is None
    assert snaps.get_metric_snapshot("2025-44", "other") is None


def test_weekly_values_align_with_labels_and_leave_gaps_as_none(seed_path):
    snaps.save_metric_snapshot("2025-41", "flow_load", {"wip_count": 0})
    snaps.save_metric_snapshot("2025-40", "flow_load", {"wip_count": "n/a"})
    snaps.save_metric_snapshot("2025-39", "flow_load", {"wip_count": True})
    snaps.save_metric_snapshot("2025-38", "flow_load", {"wip_count": 2.5})
    labels = ["2025-37", "2025-38", "2025-39", "2025-40", "2025-41", "2025-42", "2025-43", "2025-44"]
    # 37 and 42 have no snapshot, 39/40 hold no number; 41 is a real zero and must stay 0.
    assert snaps.get_metric_weekly_values(labels, "flow_load", "wip_count") == [
        None, 2.5, None, None, 0, None, 15, 12,
    ]  # fmt: skip
    assert snaps.get_metric_weekly_values(labels[-2:], "flow_load", "missing_key") == [None, None]
    assert snaps.get_metric_weekly_values([], "flow_load", "wip_count") == []


def test_load_and_save_snapshots_round_trip_per_seed(seed_path):
    weeks = snaps.load_snapshots()
    assert weeks == SEED_FILE
    del weeks["2025-44"]
    snaps.save_snapshots(weeks)
    raw = _raw(seed_path)
    assert raw == {"2025-43": SEED_FILE["2025-43"], "_meta": {"version": 1}}


def test_save_snapshots_keeps_unknown_top_level_keys(seed_path):
    raw = _raw(seed_path)
    raw["_notes"] = {"written_by": "a later minor release"}
    seed_path.write_bytes(orjson.dumps(raw))
    snaps.save_snapshots({})
    assert _raw(seed_path) == {"_notes": {"written_by": "a later minor release"}, "_meta": {"version": 1}}


@pytest.mark.parametrize("label", ["2025-54", "2025-1", "2021-53", "abcd-01", "2025-00", "2025/44", 202544])
def test_invalid_week_labels_are_refused(label):
    with pytest.raises(ValueError, match="ISO week label"):
        snaps.save_metric_snapshot(label, "flow_load", {"wip_count": 1})
    with pytest.raises(ValueError, match="ISO week label"):
        snaps.save_snapshots({label: {}})


def test_bad_metric_name_or_data_is_refused():
    with pytest.raises(ValueError, match="Metric name"):
        snaps.save_metric_snapshot("2025-44", " ", {"wip_count": 1})
    with pytest.raises(ValueError, match="JSON object"):
        snaps.save_metric_snapshot("2025-44", "flow_load", [1, 2])


@pytest.mark.parametrize(
    ("day", "label"),
    [
        # 2020 is a leap year starting on a Wednesday, so it has 53 ISO weeks; 3 Jan 2021 is a Sunday,
        # still in 2020-W53; Monday 4 Jan 2021 starts 2021-W01.
        (date(2020, 12, 31), "2020-53"),
        (date(2021, 1, 3), "2020-53"),
        (date(2021, 1, 4), "2021-01"),
        # 30 Dec 2024 is the Monday of 2025-W01 (1 Jan 2025 is a Wednesday).
        (date(2024, 12, 30), "2025-01"),
        # Seed 000 example: 31 Oct 2025 is day 304 of 2025; week 1 began on 30 Dec 2024, 305 days earlier,
        # and 305 // 7 + 1 = 44.
        (datetime(2025, 10, 31, 17, 0, tzinfo=UTC), "2025-44"),
        (date(2025, 1, 5), "2025-01"),
    ],
)
def test_week_label_is_iso_year_and_week(day, label):
    assert snaps.week_label(day) == label
    assert snaps.is_week_label(label)


def test_week_53_can_be_saved_and_read():
    snaps.save_metric_snapshot(snaps.week_label(date(2021, 1, 3)), "flow_load", {"wip_count": 9})
    labels = ["2020-52", "2020-53", "2021-01"]
    assert snaps.get_metric_weekly_values(labels, "flow_load", "wip_count") == [None, 9, None]


def test_cleanup_keeps_the_newest_calendar_weeks(isolated_data_dir):
    for week in range(1, 11):
        snaps.save_metric_snapshot(f"2025-{week:02d}", "flow_load", {"wip_count": week})
    snaps.save_metric_snapshot("2025-20", "flow_load", {"wip_count": 20})
    # today = Wed 5 Mar 2025 lies in 2025-10; keeping 3 weeks keeps 08, 09, 10 (and the later week 20).
    removed = snaps.cleanup_old_snapshots(3, today=date(2025, 3, 5))
    assert removed == 7
    assert sorted(snaps.load_snapshots()) == ["2025-08", "2025-09", "2025-10", "2025-20"]
    assert _raw(isolated_data_dir / "metrics_snapshots.json")["_meta"] == {"version": 1}


def test_cleanup_across_week_53(isolated_data_dir):
    for label in ["2020-51", "2020-52", "2020-53", "2021-01"]:
        snaps.save_metric_snapshot(label, "flow_load", {"wip_count": 1})
    # today 6 Jan 2021 is in 2021-01; the 3 calendar weeks ending there are 2020-52, 2020-53, 2021-01.
    assert snaps.cleanup_old_snapshots(3, today=date(2021, 1, 6)) == 1
    assert sorted(snaps.load_snapshots()) == ["2020-52", "2020-53", "2021-01"]


def test_cleanup_with_nothing_old_does_not_rewrite(isolated_data_dir, monkeypatch):
    snaps.save_metric_snapshot("2025-10", "flow_load", {"wip_count": 1})
    writes = []
    monkeypatch.setattr(snaps, "update_json", lambda *a, **k: writes.append(a))
    assert snaps.cleanup_old_snapshots(52, today=date(2025, 3, 5)) == 0
    assert writes == []


def test_cleanup_rejects_nonsense_retention():
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="weeks_to_keep"):
            snaps.cleanup_old_snapshots(bad)


def test_stats_per_seed(seed_path):
    stats = snaps.get_snapshot_stats()
    assert stats == {
        "total_weeks": 2,
        "metrics": ["flow_load"],
        "oldest_week": "2025-43",
        "newest_week": "2025-44",
        "file_size_kb": round(seed_path.stat().st_size / 1024, 2),
    }


def test_stats_of_an_empty_store():
    assert snaps.get_snapshot_stats() == {
        "total_weeks": 0,
        "metrics": [],
        "oldest_week": None,
        "newest_week": None,
        "file_size_kb": 0.0,
    }


def test_corrupt_store_is_quarantined_and_reads_empty(isolated_data_dir):
    path = isolated_data_dir / "metrics_snapshots.json"
    path.write_bytes(b'{"2025-44": {"flow_load": {"wip_count": 1')
    assert snaps.load_snapshots() == {}
    assert snaps.get_metric_weekly_values(["2025-44"], "flow_load", "wip_count") == [None]
    assert len(list(isolated_data_dir.glob("metrics_snapshots.json.corrupt-*"))) == 1
    assert pop_persistence_warnings()


def test_store_from_a_newer_release_is_never_overwritten(isolated_data_dir):
    path = isolated_data_dir / "metrics_snapshots.json"
    original = orjson.dumps({**SEED_FILE, "_meta": {"version": 2}})
    path.write_bytes(original)
    assert snaps.load_snapshots() == {}
    assert "newer release" in pop_persistence_warnings()[0]
    with pytest.raises(NewerVersionError):
        snaps.save_metric_snapshot("2025-45", "flow_load", {"wip_count": 1})
    assert path.read_bytes() == original


def test_export_writes_all_weeks(seed_path, tmp_path):
    dest = tmp_path / "backup" / "snapshots.json"
    assert snaps.export_snapshots(dest) == 2
    assert _raw(dest) == {**SEED_FILE, "_meta": {"version": 1}}


def test_import_into_empty_store_adds_all_weeks(seed_path, tmp_path):
    dest = tmp_path / "export.json"
    snaps.export_snapshots(dest)
    seed_path.unlink()
    result = snaps.import_snapshots(dest, now=NOW)
    assert result == snaps.ImportResult(added_weeks=2, updated=0, skipped=0, errors=[])
    assert snaps.load_snapshots() == SEED_FILE


def test_import_merge_rules(seed_path):
    incoming = {
        # new week: added whole
        "2025-45": {"flow_load": {"wip_count": 7, "by_status": {"In Progress": 7},
                                  "timestamp": "2025-11-07T10:00:00Z"}},
        # same week+metric, newer timestamp: replaces
        "2025-44": {
            "flow_load": {"wip_count": 99, "by_status": {"In Review": 99}, "timestamp": "2025-11-01T08:00:00Z"},
            # new metric in an existing week: added
            "deployment_frequency": {"deployments": 3, "timestamp": "2025-10-30T00:00:00Z"},
        },
        # same week+metric, older timestamp / no timestamp: existing kept
        "2025-43": {"flow_load": {"wip_count": 1, "by_status": {"In Progress": 1},
                                  "timestamp": "2025-10-20T00:00:00Z"}},
    }
    result = snaps.import_snapshots(incoming, now=NOW)
    assert result == snaps.ImportResult(added_weeks=1, updated=2, skipped=1, errors=[])
    weeks = snaps.load_snapshots()
    assert weeks["2025-45"]["flow_load"]["wip_count"] == 7
    assert weeks["2025-44"]["flow_load"]["wip_count"] == 99
    assert weeks["2025-44"]["deployment_frequency"]["deployments"] == 3
    assert weeks["2025-43"] == SEED_FILE["2025-43"]

    untimed = snaps.import_snapshots({"2025-43": {"flow_load": {"wip_count": 2, "by_status": {"Doing": 2}}}}, now=NOW)
    assert (untimed.updated, untimed.skipped) == (0, 1)
    assert snaps.load_snapshots()["2025-43"] == SEED_FILE["2025-43"]


def test_import_equal_timestamp_keeps_existing(seed_path):
    same_time = {"2025-44": {"flow_load": {"wip_count": 0, "by_status": {}, "timestamp": "2025-10-31T17:00:00+00:00"}}}
    assert snaps.import_snapshots(same_time, now=NOW).skipped == 1
    assert snaps.load_snapshots()["2025-44"]["flow_load"]["wip_count"] == 12


def test_import_replace_makes_the_store_exactly_the_import(seed_path):
    incoming = {"2024-01": {"flow_load": {"wip_count": 1, "by_status": {"Doing": 1},
                                          "timestamp": "2024-01-02T00:00:00Z"}}}
    result = snaps.import_snapshots(incoming, now=NOW, replace=True)
    assert result.added_weeks == 1 and result.ok
    assert snaps.load_snapshots() == incoming


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not json at all", "incoming.json: the file is not JSON: the text at line 1, column 1 is not valid JSON"),
        (b'["2025-44"]', "expected a JSON object"),
        (b'{"2025-99": {"flow_load": {}}}', "'2025-99' is not an ISO week label"),
        (
            b'{"2025-45": {"flow_load": {"wip_count": 1}}, "week 46": {}}',
            "'week 46' is not an ISO week label",
        ),
        (b'{"2025-45": [1, 2]}', "week 2025-45 must be an object of metrics"),
        (b'{"2025-45": {"flow_load": 5}}', "week 2025-45: flow_load must be an object of fields"),
        (b'{"2025-45": {"flow_load": {"wip_count": 0, "by_status": {}, "timestamp": "yesterday"}}}',
         'week 2025-45: timestamp must be a time such as 2025-10-31T17:00:00Z (got "yesterday")'),
        (b'{"_meta": {"version": 7}, "2025-45": {}}', "newer release"),
    ],
)
def test_bad_import_reports_an_error_and_changes_nothing(seed_path, tmp_path, content, message):
    before = seed_path.read_bytes()
    source = tmp_path / "incoming.json"
    source.write_bytes(content)
    result = snaps.import_snapshots(source, now=NOW)
    assert not result.ok
    assert any(message in error for error in result.errors), result.errors
    assert (result.added_weeks, result.updated, result.skipped) == (0, 0, 0)
    assert seed_path.read_bytes() == before
    assert source.read_bytes() == content


def test_import_of_a_missing_file_reports_it(seed_path, tmp_path):
    before = seed_path.read_bytes()
    result = snaps.import_snapshots(tmp_path / "nope.json", now=NOW)
    assert result.errors == ["nope.json: file not found"]
    assert seed_path.read_bytes() == before


def test_import_into_a_store_from_a_newer_release_raises(isolated_data_dir):
    path = isolated_data_dir / "metrics_snapshots.json"
    original = orjson.dumps({"_meta": {"version": 5}})
    path.write_bytes(original)
    with pytest.raises(NewerVersionError):
        snaps.import_snapshots({"2025-01": {}}, now=NOW, replace=True)
    assert path.read_bytes() == original


# --- validation of every field of every imported entry ------------------------------------------------------

VALID_ENTRY = {"wip_count": 3, "by_status": {"In Progress": 2, "In Review": 1},
               "by_issue_type": {"Bug": 1, "Story": 2}, "timestamp": "2025-11-10T09:00:00Z"}


def _with(**changes: object) -> dict:
    """VALID_ENTRY with fields replaced (a value of ``...`` removes the field)."""
    entry = {**VALID_ENTRY, **changes}
    return {key: value for key, value in entry.items() if value is not ...}


@pytest.mark.parametrize(
    ("week", "entry", "message"),
    [
        ("2025-40", _with(wip_count=-4), "week 2025-40: wip_count must be a whole number ≥ 0 (got -4)"),
        ("2025-40", _with(wip_count=2.5), "week 2025-40: wip_count must be a whole number ≥ 0 (got 2.5)"),
        ("2025-40", _with(wip_count="3"), 'week 2025-40: wip_count must be a whole number ≥ 0 (got "3")'),
        ("2025-40", _with(wip_count=True), "week 2025-40: wip_count must be a whole number ≥ 0 (got true)"),
        ("2025-40", _with(wip_count=...), "week 2025-40: wip_count is missing"),
        ("2025-40", _with(by_status=...), "week 2025-40: by_status is missing"),
        ("2025-40", _with(by_status=[2, 1]), "week 2025-40: by_status must be an object of counts"),
        ("2025-40", _with(by_status={"In Progress": -2, "In Review": 5}),
         "week 2025-40: by_status 'In Progress' must be a whole number ≥ 0 (got -2)"),
        ("2025-40", _with(by_status={"": 3}), "week 2025-40: by_status has an entry without a name"),
        ("2025-40", _with(by_issue_type={"Bug": 0.5, "Story": 2.5}),
         "week 2025-40: by_issue_type 'Bug' must be a whole number ≥ 0 (got 0.5)"),
        # 2 + 2 = 4 items by status, but the entry says 3 are in progress.
        ("2025-40", _with(by_status={"In Progress": 2, "In Review": 2}),
         "week 2025-40: by_status adds up to 4, but wip_count is 3"),
        ("2025-40", _with(timestamp=1762765200), "week 2025-40: timestamp must be a time such as"),
        # NOW is 2025-11-14 12:00 UTC: the next day is already in the future.
        ("2025-46", _with(timestamp="2025-11-15T00:00:00Z"),
         "week 2025-46: timestamp is in the future (2025-11-15T00:00:00Z)"),
        # NOW is in week 2025-46, so 2025-47 (and 2026-03) have not begun.
        ("2025-47", VALID_ENTRY, "week 2025-47 is in the future (this is week 2025-46)"),
        ("2026-03", VALID_ENTRY, "week 2026-03 is in the future (this is week 2025-46)"),
        ("2021-53", VALID_ENTRY, "'2021-53' is not an ISO week label like 2025-44: 2021 has no week 53"),
        ("2025-4", VALID_ENTRY, "'2025-4' is not an ISO week label like 2025-44"),
        ("25-44", VALID_ENTRY, "'25-44' is not an ISO week label like 2025-44"),
    ],
)
def test_impossible_entries_are_refused_naming_the_week_and_field(seed_path, week, entry, message):
    before = seed_path.read_bytes()
    result = snaps.import_snapshots({week: {"flow_load": entry}}, now=NOW)
    assert [message in error for error in result.errors] == [True], result.errors
    assert (result.added_weeks, result.updated, result.skipped) == (0, 0, 0)
    assert seed_path.read_bytes() == before


def test_other_metrics_follow_the_count_rules_with_their_name():
    week = {"deployment_frequency": {"deployments": 42, "by_environment": {"production": -1},
                                     "failed_count": 1.5}}
    result = snaps.import_snapshots({"2025-44": week}, now=NOW)
    assert result.errors == [
        "the imported data: week 2025-44: deployment_frequency.by_environment 'production' must be a whole "
        "number ≥ 0 (got -1)",
        "the imported data: week 2025-44: deployment_frequency.failed_count must be a whole number ≥ 0 (got 1.5)",
    ]
    assert snaps.load_snapshots() == {}


def test_every_problem_is_listed_and_one_bad_entry_blocks_the_whole_file(seed_path):
    before = seed_path.read_bytes()
    incoming = {"2025-45": {"flow_load": VALID_ENTRY},  # valid on its own
                "2025-41": {"flow_load": _with(wip_count=-1, by_status=...)}}
    result = snaps.import_snapshots(incoming, now=NOW)
    assert result.errors == ["the imported data: week 2025-41: by_status is missing",
                             "the imported data: week 2025-41: wip_count must be a whole number ≥ 0 (got -1)"]
    assert seed_path.read_bytes() == before


def test_the_current_week_and_a_valid_extension_metric_are_accepted(seed_path):
    incoming = {"2025-46": {"flow_load": VALID_ENTRY,
                            "deployment_frequency": {"deployments": 42, "by_environment": {"production": 40}}}}
    result = snaps.import_snapshots(incoming, now=NOW)
    assert result.ok and result.added_weeks == 1
    assert snaps.load_snapshots()["2025-46"] == incoming["2025-46"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "incoming.json: the file is not JSON: it is empty"),
        (b"  \n ", "incoming.json: the file is not JSON: it is empty"),
        (b'{"2025-44": {"flow_load": {"wip_count": 1', "the file is not JSON: it ends before the JSON is complete"),
        (b'{"2025-44":\n  {,}}', "the file is not JSON: the text at line 2, column 4 is not valid JSON"),
        (b"\xff\xfe{}", "the file is not JSON: it is not UTF-8 text"),
        (b'{"_meta": [1]}', '_meta must be an object such as {"version": 1} (got a list)'),
        (b'{"_meta": {"version": 0}}', "_meta.version must be a whole number ≥ 1 (got 0)"),
    ],
)
def test_unreadable_files_are_described_without_parser_internals(seed_path, tmp_path, content, message):
    source = tmp_path / "incoming.json"
    source.write_bytes(content)
    before = seed_path.read_bytes()
    result = snaps.import_snapshots(source, now=NOW)
    assert len(result.errors) == 1 and message in result.errors[0], result.errors
    assert "char " not in result.errors[0]
    assert seed_path.read_bytes() == before


def test_a_file_with_a_byte_order_mark_is_imported(isolated_data_dir, tmp_path):
    source = tmp_path / "from-windows.json"
    source.write_bytes(b"\xef\xbb\xbf" + orjson.dumps(SEED_FILE))
    result = snaps.import_snapshots(source, now=NOW)
    assert result.ok and result.added_weeks == 2
    assert snaps.load_snapshots() == SEED_FILE
