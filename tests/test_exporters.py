"""Metric exports: JSON round trip, CSV read back, Prometheus text checked by an independent parser."""

from __future__ import annotations

import copy
import csv
import dataclasses
import io
import json
import math
import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from data.metrics.exporters import (
    CSV_COLUMNS,
    EXPORT_FORMATS,
    TIER_LEVELS,
    csv_filename,
    export_filename,
    export_metrics,
    prometheus_name,
    to_csv,
    to_json,
    to_prometheus,
)

PERIOD = {"period_start": "2025-01-01", "period_end": "2025-01-31"}
TRICKY_TEXT = 'He said "ship it" \\ then\nleft, again'


def metric(name: str, metric_type: str, value: Any, unit: str, *, tier: str | None = None,
           color: str | None = None, state: str = "success", message: str | None = None,
           total: int = 10, excluded: int = 0, details: dict | None = None) -> dict[str, Any]:
    return {
        "metric_name": name, "metric_type": metric_type, "value": value, "unit": unit,
        "performance_tier": tier, "performance_tier_color": color,
        "calculation_timestamp": "2025-01-31T10:00:00.000Z",
        "time_period_start": "2025-01-01T00:00:00.000Z", "time_period_end": "2025-01-31T23:59:59.999Z",
        "error_state": state, "error_message": message, "excluded_issue_count": excluded,
        "total_issue_count": total,
        "details": {"sample_size": total - excluded} if details is None else details,
    }


def sample_metrics() -> dict[str, dict[str, Any]]:
    return {
        "flow_velocity": metric("flow_velocity", "flow", 0.1 + 0.2, "items/week", total=9,
                                details={"sample_size": 9, "trend_percentage": -12.5,
                                         "trend_direction": "down", "weekly_values": [1.0, None, 2.5]}),
        "deployment_frequency": metric("deployment_frequency", "dora", 45.16129032258065, "deployments/month",
                                       tier="Elite", color="green", total=52, excluded=2,
                                       details={"sample_size": 50, "trend_percentage": 12.5,
                                                "trend_direction": "up", "benchmark_year": 2023}),
        "change_failure_rate": metric("change_failure_rate", "dora", None, "percent", state="missing_mapping",
                                      message="Map the Deployment Successful or Production Impact field",
                                      total=0, details={}),
        "mean_time_to_recovery": metric("mean_time_to_recovery", "dora", None, "hours", state="no_data",
                                        message=TRICKY_TEXT, total=0),
        "flow_load": metric("flow_load", "flow", 17, "items", total=17, excluded=0),
        "lead_time_for_changes": metric("lead_time_for_changes", "dora", 1e-07, "days", tier="Elite",
                                        color="green", total=5, excluded=1, details={"p85": 2.0}),
    }


# --- JSON -------------------------------------------------------------------------------------------


def test_json_round_trips_under_a_metrics_key() -> None:
    metrics = sample_metrics()
    text = to_json(metrics, generated_at="2025-01-31T10:00:00.000Z", **PERIOD)
    parsed = json.loads(text)
    assert set(parsed) == {"period", "generated_at", "metrics"}
    assert parsed["metrics"] == metrics
    assert parsed["period"] == {"start": "2025-01-01", "end": "2025-01-31"}
    assert parsed["generated_at"] == "2025-01-31T10:00:00.000Z"
    assert parsed["metrics"]["flow_velocity"]["value"] == 0.1 + 0.2
    assert text.endswith("}\n") and text.count("\n") > 20


def test_json_is_deterministic_sorted_and_indented() -> None:
    metrics = sample_metrics()
    reversed_input = dict(reversed(list(copy.deepcopy(metrics).items())))
    first = to_json(metrics, generated_at="g", **PERIOD)
    assert first == to_json(reversed_input, generated_at="g", **PERIOD)
    # Independent rendering of the same document with the documented options.
    expected = {"period": {"start": "2025-01-01", "end": "2025-01-31"}, "generated_at": "g",
                "metrics": metrics}
    assert first == json.dumps(expected, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def test_json_accepts_dates_and_replaces_non_finite_numbers() -> None:
    metrics = {"flow_time": metric("flow_time", "flow", float("nan"), "days", details={"p95": float("inf")})}
    plus_two = timezone(timedelta(hours=2))
    text = to_json(metrics, period_start=date(2025, 1, 1), period_end=date(2025, 1, 31),
                   generated_at=datetime(2025, 1, 31, 12, 30, tzinfo=plus_two))
    parsed = json.loads(text)
    assert parsed["period"] == {"start": "2025-01-01", "end": "2025-01-31"}
    assert parsed["generated_at"] == "2025-01-31T10:30:00.000Z"  # 12:30 at +02:00 is 10:30 UTC
    assert parsed["metrics"]["flow_time"]["value"] is None
    assert parsed["metrics"]["flow_time"]["details"]["p95"] is None
    assert "NaN" not in text and "Infinity" not in text


def test_dataclass_metric_values_export_like_dicts() -> None:
    @dataclasses.dataclass
    class Record:
        metric_name: str
        metric_type: str
        value: float | None
        unit: str
        error_state: str
        details: dict

    record = Record("flow_load", "flow", 3, "items", "success", {"sample_size": 3})
    as_dict = dataclasses.asdict(record)
    assert to_json({"flow_load": record}, generated_at="g", **PERIOD) == to_json(
        {"flow_load": as_dict}, generated_at="g", **PERIOD)
    assert to_prometheus({"flow_load": record}) == to_prometheus({"flow_load": as_dict})

    class WithToDict:
        def to_dict(self) -> dict:
            return as_dict

    assert to_csv({"flow_load": WithToDict()}) == to_csv({"flow_load": as_dict})
    with pytest.raises(TypeError, match="mapping or a MetricValue"):
        to_csv({"flow_load": 3})


# --- CSV --------------------------------------------------------------------------------------------


def expected_cell(value: Any) -> str:
    """The documented cell text, written independently: empty for None, repr for floats, str otherwise."""
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else str(value)


def test_csv_reads_back_with_the_same_values() -> None:
    metrics = sample_metrics()
    text = to_csv(metrics)
    assert "\r" not in text
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert tuple(rows[0]) == CSV_COLUMNS
    # DORA first, then Flow, each alphabetical.
    assert [row["metric_name"] for row in rows] == [
        "change_failure_rate", "deployment_frequency", "lead_time_for_changes", "mean_time_to_recovery",
        "flow_load", "flow_velocity"]
    for row in rows:
        source = metrics[row["metric_name"]]
        for column in CSV_COLUMNS:
            origin = source["details"] if column in ("sample_size", "trend_percentage", "trend_direction") \
                else source
            assert row[column] == expected_cell(origin.get(column)), (row["metric_name"], column)
    by_name = {row["metric_name"]: row for row in rows}
    assert float(by_name["flow_velocity"]["value"]) == 0.1 + 0.2
    assert by_name["flow_velocity"]["value"] == "0.30000000000000004"
    assert float(by_name["lead_time_for_changes"]["value"]) == 1e-07
    assert by_name["mean_time_to_recovery"]["error_message"] == TRICKY_TEXT
    assert by_name["flow_velocity"]["trend_percentage"] == "-12.5"
    assert by_name["change_failure_rate"]["value"] == ""
    assert by_name["change_failure_rate"]["sample_size"] == ""


def test_csv_of_no_metrics_is_the_header_only() -> None:
    assert to_csv({}) == ",".join(CSV_COLUMNS) + "\n"


# --- Prometheus -------------------------------------------------------------------------------------

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
HELP_LINE = re.compile(rf"^# HELP ({NAME}) (.*)$")
TYPE_LINE = re.compile(rf"^# TYPE ({NAME}) (counter|gauge|histogram|summary|untyped)$")
SAMPLE_LINE = re.compile(rf"^({NAME})(?:\{{(.*)\}})? (\S+)$")
LABEL_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"(,|$)')
VALUE = re.compile(r"^(NaN|[+-]Inf|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)$")


def unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "\\": "\\", '"': '"'}[m.group(1)], text)


def parse_labels(text: str) -> dict[str, str]:
    labels, position = {}, 0
    while position < len(text):
        match = LABEL_PAIR.match(text, position)
        assert match, f"bad label syntax at {text[position:]!r}"
        assert match.group(1) not in labels, "duplicate label name"
        labels[match.group(1)] = unescape(match.group(2))
        position = match.end()
    return labels


def parse_exposition(text: str) -> dict[str, dict[str, Any]]:
    """A small parser of text format 0.0.4 enforcing its ordering rules; family → help, type, samples."""
    assert text.endswith("\n") and not text.endswith("\n\n")
    families: dict[str, dict[str, Any]] = {}
    finished: set[str] = set()
    current: str | None = None
    for line in text[:-1].split("\n"):
        if match := HELP_LINE.match(line):
            name = match.group(1)
            assert name not in families, f"second HELP for {name}"
            if current:
                finished.add(current)
            current = name
            families[name] = {"help": match.group(2), "type": None, "samples": []}
        elif match := TYPE_LINE.match(line):
            name = match.group(1)
            assert name == current and families[name]["type"] is None, f"TYPE out of place for {name}"
            assert not families[name]["samples"], "TYPE after samples"
            families[name]["type"] = match.group(2)
        elif match := SAMPLE_LINE.match(line):
            name, labels, value = match.groups()
            assert name == current and name not in finished, f"sample of {name} outside its family block"
            assert families[name]["type"] == "gauge", f"sample before TYPE for {name}"
            assert VALUE.match(value), f"bad value {value!r}"
            families[name]["samples"].append((parse_labels(labels or ""), float(value.replace("Inf", "inf"))))
        else:
            pytest.fail(f"unparseable line {line!r}")
    for name, family in families.items():
        label_names = {frozenset(labels) for labels, _ in family["samples"]}
        assert len(label_names) <= 1, f"{name} mixes label names"
    return families


def test_prometheus_families_values_and_labels() -> None:
    metrics = sample_metrics()
    families = parse_exposition(to_prometheus(metrics))
    assert list(families) == [
        "dora_flow_change_failure_rate", "dora_flow_deployment_frequency", "dora_flow_lead_time_for_changes",
        "dora_flow_mean_time_to_recovery", "dora_flow_flow_load", "dora_flow_flow_velocity",
        "dora_flow_metric_tier", "dora_flow_sample_size"]
    for name, source in metrics.items():
        family = families[f"dora_flow_{name}"]
        assert source["unit"] in family["help"]
        [(labels, value)] = family["samples"]
        assert labels == {"error_state": source["error_state"], "metric_type": source["metric_type"],
                          "team": "all", "unit": source["unit"]}
        if source["error_state"] == "success":
            assert value == source["value"]
        else:
            assert math.isnan(value)
    # The tier is a value (Elite 1, High 2, Medium 3, Low 4), not a label: sample_metrics gives deployment
    # frequency and lead time the tier "Elite" (→ 1); every other metric has none (→ NaN).
    tiers = {labels["metric"]: value for labels, value in families["dora_flow_metric_tier"]["samples"]}
    assert {labels["team"] for labels, _ in families["dora_flow_metric_tier"]["samples"]} == {"all"}
    assert {k: v for k, v in tiers.items() if not math.isnan(v)} == {"deployment_frequency": 1,
                                                                    "lead_time_for_changes": 1}
    assert set(tiers) == set(metrics)
    sizes = {labels["metric"]: value for labels, value in families["dora_flow_sample_size"]["samples"]}
    # From details.sample_size where present, else total - excluded (lead time: 5 - 1), else NaN.
    assert {k: v for k, v in sizes.items() if not math.isnan(v)} == {
        "deployment_frequency": 50, "lead_time_for_changes": 4, "mean_time_to_recovery": 0, "flow_load": 17,
        "flow_velocity": 9, "change_failure_rate": 0}


def test_prometheus_marks_non_success_with_nan_even_if_a_value_leaked() -> None:
    leaked = {"flow_time": metric("flow_time", "flow", 4.5, "days", state="calculation_error",
                                  message="boom")}
    families = parse_exposition(to_prometheus(leaked, prefix="team"))
    [(labels, value)] = families["team_flow_time"]["samples"]
    assert labels["error_state"] == "calculation_error" and "tier" not in labels and math.isnan(value)
    assert "NaN" in to_prometheus(leaked).splitlines()[2]


def test_prometheus_escapes_label_values() -> None:
    metrics = {"flow_load": metric("flow_load", "flow", 2, TRICKY_TEXT)}
    text = to_prometheus(metrics, team='a"b\\c')
    assert 'unit="He said \\"ship it\\" \\\\ then\\nleft, again"' in text
    assert 'team="a\\"b\\\\c"' in text
    [(labels, _)] = parse_exposition(text)["dora_flow_flow_load"]["samples"]
    assert labels["unit"] == TRICKY_TEXT and labels["team"] == 'a"b\\c'


def test_prometheus_sanitises_names_and_keeps_one_type_per_family() -> None:
    metrics = {
        "weird metric-name.2": metric("weird metric-name.2", "flow", 1.0, "items"),
        "a-b": metric("a-b", "flow", 2.0, "items"),
        "a_b": metric("a_b", "flow", 3.0, "items"),
        "sample_size": metric("sample_size", "flow", 4.0, "items"),
        "metric_tier": metric("metric_tier", "flow", 5.0, "items"),
    }
    families = parse_exposition(to_prometheus(metrics, prefix="9 team"))
    assert set(families) == {"_9_team_weird_metric_name_2", "_9_team_a_b", "_9_team_a_b_2",
                             "_9_team_sample_size", "_9_team_sample_size_2", "_9_team_metric_tier",
                             "_9_team_metric_tier_2"}
    values = sorted(value for name, family in families.items()
                    if name not in ("_9_team_sample_size", "_9_team_metric_tier") for _, value in family["samples"])
    assert values == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert prometheus_name("ok:name_1") == "ok:name_1"
    assert prometheus_name("") == "_"


def test_prometheus_tier_change_keeps_the_series_and_team_is_a_label() -> None:
    # The same metric once Elite, once Low: the value sample keeps identical labels (same series), and only
    # the metric_tier value moves, from 1 (Elite) to 4 (Low) by the documented mapping.
    elite = {"deployment_frequency": metric("deployment_frequency", "dora", 45.0, "deployments/month",
                                            tier="Elite", color="green")}
    low = {"deployment_frequency": metric("deployment_frequency", "dora", 0.5, "deployments/month",
                                          tier="Low", color="red")}
    before = parse_exposition(to_prometheus(elite, team="Platform"))
    after = parse_exposition(to_prometheus(low, team="Platform"))
    [(labels_before, _)] = before["dora_flow_deployment_frequency"]["samples"]
    [(labels_after, _)] = after["dora_flow_deployment_frequency"]["samples"]
    assert labels_before == labels_after and labels_after["team"] == "Platform"
    assert before["dora_flow_metric_tier"]["samples"] == [({"metric": "deployment_frequency", "team": "Platform"},
                                                           1.0)]
    assert after["dora_flow_metric_tier"]["samples"] == [({"metric": "deployment_frequency", "team": "Platform"},
                                                          4.0)]
    assert TIER_LEVELS == {"Elite": 1, "High": 2, "Medium": 3, "Low": 4}
    assert export_metrics("prometheus", low, period_start=None, period_end=None, generated_at=None,
                          team="Platform") == to_prometheus(low, team="Platform")


def test_prometheus_is_deterministic_and_empty_for_no_metrics() -> None:
    metrics = sample_metrics()
    assert to_prometheus(metrics) == to_prometheus(dict(reversed(list(metrics.items()))))
    assert to_prometheus({}) == ""


# --- file names and dispatch ------------------------------------------------------------------------


def test_export_filenames() -> None:
    assert export_filename("dora_flow_metrics", "2025-01-01", "2025-01-31", "json") == (
        "dora_flow_metrics_2025-01-01_2025-01-31.json")
    assert export_filename("drill down/lead time", date(2025, 1, 1), datetime(2025, 1, 31, tzinfo=UTC),
                           ".prom") == "drill_down_lead_time_2025-01-01_2025-01-31.prom"
    assert csv_filename("flow_time", "2025-01-01", "2025-01-31") == "flow_time_2025-01-01_2025-01-31.csv"
    assert export_filename("../../etc", "a/b", "c", "csv") == "etc_a_b_c.csv"


def test_export_metrics_dispatches_to_the_same_bytes() -> None:
    metrics = sample_metrics()
    args = {"generated_at": "2025-01-31T10:00:00.000Z", **PERIOD}
    assert export_metrics("json", metrics, **args) == to_json(metrics, **args)
    assert export_metrics("csv", metrics, **args) == to_csv(metrics)
    assert export_metrics("prometheus", metrics, **args) == to_prometheus(metrics)
    assert set(EXPORT_FORMATS) == {"json", "csv", "prometheus"}
    with pytest.raises(ValueError, match="Unknown export format 'xml'"):
        export_metrics("xml", metrics, **args)
