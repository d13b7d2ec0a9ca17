"""Reading an issues file for given settings (the typed decode of ``data.services.issues_file``) gives exactly
the tables the general reader gives, and falls back to the general reader for every shape it does not cover.

The independent implementation each test compares with is the general path: ``orjson.loads`` of the same file,
the issue objects handed to ``build_issue_frames``. Files that need the general reader are recognised by what
``load_issues_file`` returns (a plain list of issue objects instead of ``DecodedIssues``).
"""

from __future__ import annotations

import copy
import gc
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest

from data.metrics.field_values import _parse_strings, _within_range, parse_timestamps
from data.metrics.issue_frame import build_issue_frames
from data.metrics.issue_parsing import DecodedIssues, _monotonic_order, _status_codes, _team_column
from data.metrics.issue_tables import IssueFrames
from data.metrics.teams import team_column
from data.services.issues_file import IssuesInputError, gc_paused, load_issues_file
from data.sources.demo_data import generate_demo_issues
from data.sources.demo_fields import DEMO_SETTINGS_OVERLAY
from tests.test_issue_frame import SAMPLE, change, issue, make_settings

ANCHOR = datetime(2025, 6, 30, 18, tzinfo=UTC)


def demo_settings(**config: Any) -> dict[str, Any]:
    settings = make_settings()
    settings["dora_flow_config"].update(copy.deepcopy(DEMO_SETTINGS_OVERLAY))
    settings["dora_flow_config"].update(config)
    return settings


def write(tmp_path: Path, document: Any, name: str = "issues.json") -> Path:
    path = tmp_path / name
    path.write_bytes(orjson.dumps(document))
    return path


def assert_same_frames(left: IssueFrames, right: IssueFrames) -> None:
    for name in ("issues", "intervals", "transitions"):
        pd.testing.assert_frame_equal(getattr(left, name), getattr(right, name), check_exact=True)
    assert left.field_ids == right.field_ids
    assert left.skipped_issue_count == right.skipped_issue_count


def frames_both_ways(path: Path, settings: dict[str, Any]) -> tuple[Any, IssueFrames, IssueFrames]:
    """(what the settings-aware read returned, its tables, the tables of the general reader's issue objects)."""
    typed = load_issues_file(path, settings)
    general = load_issues_file(path)
    assert isinstance(general.issues, list)
    assert typed.truncated_changelogs == general.truncated_changelogs
    return typed.issues, build_issue_frames(typed.issues, settings), build_issue_frames(general.issues, settings)


def test_demo_issues_decode_typed_into_the_same_tables(tmp_path: Path) -> None:
    issues = generate_demo_issues(400, anchor=ANCHOR, seed=3)
    settings = demo_settings()
    decoded, typed, general = frames_both_ways(write(tmp_path, {"issues": issues}), settings)
    assert isinstance(decoded, DecodedIssues)
    assert_same_frames(typed, general)
    assert len(typed.transitions) > 400  # the demo has several status changes per issue: the timeline is exercised


def test_a_real_jira_cloud_search_response_decodes_typed_into_the_same_tables(tmp_path: Path) -> None:
    settings = make_settings(dora={"target_environment": "customfield_10050"}, team_field="project")
    decoded, typed, general = frames_both_ways(SAMPLE, settings)
    assert isinstance(decoded, DecodedIssues)
    assert_same_frames(typed, general)


def test_field_ids_naming_base_fields_and_odd_values_of_the_covered_shapes(tmp_path: Path) -> None:
    # Mappings pointing at base fields (issuetype, project, created) and every scalar/option/list shape the
    # typed decode covers; oldest-first histories, items matched by fieldId only, equal times, a missing status.
    odd = [None, "", "  ", 0, 1, 1.5, True, False, "yes", " Production ", {"value": "Production"}, {"name": "x"},
           {"value": "", "name": "Staging"}, {"value": None, "name": None}, [{"value": ""}, {"value": "Prod"}],
           [], {}, 1719770000, 1719770000000, "2025-06-10", "2025-06-10T10:00:00.000+0200", "garbage",
           2**63 - 1, -(2**63), "3.5", {"value": 1}, {"key": "K", "name": "N"}, ["a", None, "b"]]
    raw = []
    for n, value in enumerate(odd * 3):
        status = None if n % 7 == 0 else "Done"
        item = issue(f"K-{n}", "2025-06-01T10:00:00.000+0000", status,
                     [change("2025-06-02T10:00:00.000+0000", "To Do", "In Progress"),
                      change("2025-06-02T10:00:00.000+0000", "In Progress", "Done", extra_items=True)],
                     newest_first=n % 2 == 0, customfield_1=value, customfield_2=odd[(n + 5) % len(odd)],
                     customfield_3=odd[(n + 11) % len(odd)])
        if n % 3 == 0:
            for history in item["changelog"]["histories"]:
                for entry in history["items"]:
                    entry.pop("field")
        raw.append(item)
    settings = make_settings(
        dora={"deployment_date": "customfield_1", "target_environment": "customfield_2",
              "deployment_successful": "customfield_3", "code_commit_date": "created",
              "production_impact": "customfield_1"},
        flow={"flow_item_type": "issuetype", "active_work_hours": "customfield_3"},
        team_field="project")
    decoded, typed, general = frames_both_ways(write(tmp_path, raw), settings)
    assert isinstance(decoded, DecodedIssues)
    assert_same_frames(typed, general)


def changed(issues: list[dict[str, Any]], start: int) -> dict[str, Any]:
    """The first issue from position ``start`` on with at least one history."""
    return next(item for item in issues[start:] if item["changelog"]["histories"])


@pytest.mark.parametrize("spoil", [
    pytest.param(lambda issues: issues[1]["fields"].update(customfield_10101={"value": {"value": "Production"}}),
                 id="option nested in an option"),
    pytest.param(lambda issues: issues[2]["fields"].update(customfield_10101=[["Production"]]), id="list in a list"),
    pytest.param(lambda issues: issues[3].update(key=123456789012345678901234567890), id="integer beyond 64 bits"),
    pytest.param(lambda issues: issues[3]["fields"].update(status={"name": 2**64 + 1}), id="beyond 64 bits in option"),
    pytest.param(lambda issues: changed(issues, 4)["changelog"]["histories"].insert(0, "not a history"),
                 id="bad history"),
    pytest.param(lambda issues: changed(issues, 5)["changelog"]["histories"][0]["items"].append(7), id="bad item"),
    pytest.param(lambda issues: changed(issues, 6)["changelog"]["histories"][0].update(created=1719770000),
                 id="epoch time"),
    pytest.param(lambda issues: changed(issues, 7)["changelog"]["histories"][0]["items"][0].update(toString=5),
                 id="number as status"),
    pytest.param(lambda issues: issues[8]["changelog"].update(histories={"a": 1}), id="histories not a list"),
    pytest.param(lambda issues: issues[9]["changelog"].update(total=2**64 + 5), id="total beyond 64 bits"),
])
def test_shapes_beyond_the_typed_decode_are_read_by_the_general_reader(tmp_path: Path, spoil: Any) -> None:
    issues = generate_demo_issues(30, anchor=ANCHOR, seed=5)
    spoil(issues)
    settings = demo_settings()
    path = tmp_path / "issues.json"
    path.write_text(json.dumps(issues), encoding="utf-8")  # json writes integers beyond 64 bits, orjson does not
    decoded, typed, general = frames_both_ways(path, settings)
    assert isinstance(decoded, list)
    assert_same_frames(typed, general)


def test_a_bad_file_gives_the_same_message_with_or_without_settings(tmp_path: Path) -> None:
    settings = demo_settings()
    cases = {
        "not_json.json": b"{not json",
        "scalar.json": b"42",
        "no_issues.json": b'{"total": 3}',
        "bad_issue.json": orjson.dumps([{"key": "A-1", "fields": {}}, 5, {"key": "A-2", "fields": None}]),
        "bad_changelog.json": orjson.dumps({"issues": [{"key": "A-1", "fields": {}, "changelog": [1]}]}),
        "bad_utf8.json": b'[{"key": "\xff", "fields": {}}]',
    }
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(IssuesInputError) as general:
            load_issues_file(path)
        with pytest.raises(IssuesInputError) as typed:
            load_issues_file(path, settings)
        assert str(typed.value) == str(general.value), name


def test_bad_utf8_where_the_tables_read_nothing_is_refused_by_both_readers(tmp_path: Path) -> None:
    # the typed decode skips unmapped fields and "self" unchecked; the file is refused all the same
    issues = orjson.dumps(generate_demo_issues(3, anchor=datetime(2025, 6, 1, tzinfo=UTC), seed=1))
    for name, spoiled in {"unmapped.json": issues.replace(b'"summary":"', b'"summary":"\xc0\xaf', 1),
                          "top.json": b'{"x\xff": 1, "issues": ' + issues + b"}"}.items():
        path = tmp_path / name
        path.write_bytes(spoiled)
        for settings in (None, demo_settings()):
            with pytest.raises(IssuesInputError, match="not UTF-8"):
                load_issues_file(path, settings)


def test_a_byte_order_mark_is_dropped_and_a_fifo_is_refused(tmp_path: Path) -> None:
    issues = generate_demo_issues(4, anchor=datetime(2025, 6, 1, tzinfo=UTC), seed=2)
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + orjson.dumps({"issues": issues}))
    assert len(load_issues_file(path).issues) == 4
    assert len(load_issues_file(path, demo_settings()).issues.records) == 4
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    with pytest.raises(IssuesInputError, match="not a regular file"):
        load_issues_file(fifo)  # would block forever in a read with no writer


def test_truncated_changelogs_are_counted_alike(tmp_path: Path) -> None:
    issues = generate_demo_issues(20, anchor=ANCHOR, seed=9)
    for position in (0, 4, 7):  # three changelogs shorter than their total
        issues[position]["changelog"]["total"] = len(issues[position]["changelog"]["histories"]) + 2
    issues[9]["changelog"]["total"] = True  # a boolean is an int to the general reader, and True > 0 histories
    issues[9]["changelog"]["histories"] = []
    path = write(tmp_path, {"issues": issues})
    typed, general = load_issues_file(path, demo_settings()), load_issues_file(path)
    assert isinstance(typed.issues, DecodedIssues)
    assert typed.truncated_changelogs == general.truncated_changelogs == 4  # 3 + the True > 0 one


def test_decoded_issues_refuse_tables_for_fields_they_were_not_decoded_for(tmp_path: Path) -> None:
    path = write(tmp_path, generate_demo_issues(5, anchor=ANCHOR, seed=1))
    decoded = load_issues_file(path, demo_settings()).issues
    with pytest.raises(ValueError, match="customfield_99"):
        build_issue_frames(decoded, demo_settings(team_field="customfield_99"))


def test_status_codes_of_texts_match_pandas_factorize() -> None:
    # The dict-based factorisation of texts must give the codes and categories pandas gives (first-seen order,
    # trimmed texts merged, empty and None as -1); the expected values are worked out by hand.
    values = ["Done", " Done", None, "To Do", "", "In Progress", "To Do", None, "Done "]
    codes, categories = _status_codes(values)
    assert list(categories) == ["Done", "To Do", "In Progress"]
    assert codes.tolist() == [0, 0, -1, 1, -1, 2, 1, -1, 0]
    mixed_codes, mixed_categories = _status_codes([*values, {"name": "Done"}])  # the pandas path
    assert mixed_codes.tolist()[:-1] == codes.tolist() and list(mixed_categories) == list(categories)


def test_timestamps_all_missing_are_the_same_series_as_parsed() -> None:
    for n in (0, 1, 5):
        shortcut = parse_timestamps([None] * n)
        parsed = _within_range(_parse_strings([None] * n))
        pd.testing.assert_series_equal(shortcut, parsed)
        assert str(shortcut.dtype) == "datetime64[us, UTC]"
    assert np.isnat(parse_timestamps([None, None]).to_numpy(dtype="datetime64[us]")).all()


def test_gc_paused_restores_the_collector_state() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # an inner pause does not re-enable what the outer one paused
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_the_order_without_sorting_is_the_sorted_order_or_declines() -> None:
    # Random issues of 0-4 changes, times rising, falling or shuffled, with and without equal times. Whenever
    # the shortcut answers, its order must be numpy's stable sort by (issue, time); it must decline every time
    # an issue has equal times or times that go both ways (the lexsort with the tie rules decides those).
    rng = np.random.default_rng(0)
    answered = declined = 0
    for _ in range(2000):
        issue_idx: list[int] = []
        times: list[float] = []
        for position in range(int(rng.integers(1, 8))):
            count = int(rng.integers(0, 5))
            drawn = rng.choice(20, size=count, replace=bool(rng.integers(0, 2))).astype(float)
            drawn = np.sort(drawn) if rng.random() < 0.5 else drawn
            drawn = drawn[::-1] if rng.random() < 0.5 else drawn
            issue_idx += [position] * count
            times += list(drawn)
        idx, at = np.array(issue_idx, dtype=np.int64), np.array(times, dtype=float)
        order = _monotonic_order(idx, at)
        monotonic = all(len(set(np.sign(np.diff(at[idx == i])))) <= 1 and len(set(at[idx == i])) == (idx == i).sum()
                        for i in set(issue_idx))
        if order is None:
            declined += 1
            assert not monotonic
        else:
            answered += 1
            assert monotonic
            assert order.tolist() == np.lexsort((at, idx)).tolist()
    assert answered > 500 and declined > 500  # both branches were exercised


def test_mostly_empty_timestamps_parse_as_the_whole_list_does() -> None:
    # A field few issues set is parsed text by text; the result must equal parsing the whole list at once
    # (the general path), for good, odd and out-of-range texts alike.
    pool = [None, "2025-06-10", "2025-06-10T10:00:00.000+0200", "2025-06-10T10:00:00Z", "garbage", "", "  ",
            "2025-13-45", "10000-01-01T00:00:00Z", "1677-01-01T00:00:00Z", "2263-01-01T00:00:00Z",
            "2025-06-10T10:00:00", "x" * 70, "2025-06-10T10:00:00.123456789+05:30", "2025-06-10 10:00"]
    rng = np.random.default_rng(4)
    for _ in range(300):
        values = [pool[int(rng.integers(len(pool)))] if rng.random() < 0.3 else None
                  for _ in range(int(rng.integers(1, 40)))]
        pd.testing.assert_series_equal(parse_timestamps(values), _within_range(_parse_strings(values)))


@pytest.mark.parametrize("field_id", ["customfield_1", "project"])
def test_team_values_worked_out_once_per_distinct_value_are_those_of_each_value(field_id: str) -> None:
    # ``team_column`` (teams.py, value by value) is the reference for every shape a team field takes.
    odd = [None, "", " A ", "a", {"value": "A"}, {"name": " a"}, {"key": "K", "name": "N"}, {"value": 5, "name": "X"},
           {"value": {"value": "n"}}, ["A", {"value": "B"}, "a"], 5, True, [], {}, {"value": None}, {"key": 7}]
    pd.testing.assert_series_equal(_team_column(odd * 3, field_id), team_column(odd * 3, field_id))
