"""Property tests of the analytics sections: against the slow reference (tests/reference_analytics.py) and the
invariants of ANALYTICS.md, over the generated Jira issue sets of test_calculator_properties (mixed time zones
and offsets such as +0800, non-ASCII statuses, reopened items, garbage values, newest- or oldest-first
changelogs)."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from data.metrics.analytics import calculate_analytics
from data.metrics.flow_calculator import calculate_flow_metrics
from data.metrics.issue_frame import build_issue_frames
from data.metrics.periods import Period
from tests.reference_analytics import reference_analytics
from tests.test_calculator_properties import NOWS, PERIODS, PROPERTY_SETTINGS, issue_sets, settings_variants


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def iso(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _run(raw, config, period_index, now):
    start, end = PERIODS[period_index]
    period = Period(start, end)
    frames = build_issue_frames(raw, config)
    return (calculate_analytics(frames, config, period, now), reference_analytics(raw, config, start, end, now),
            calculate_flow_metrics(frames, config, period, now), start, end)


@PROPERTY_SETTINGS
@given(raw=issue_sets(), config=settings_variants(), period_index=st.integers(0, len(PERIODS) - 1),
       now=st.sampled_from(NOWS))
def test_every_section_agrees_with_the_reference(raw, config, period_index, now):
    """Every point, percentile, item, share, median, CFD count and throughput day equals the reference's."""
    got, ref, _, _, _ = _run(raw, config, period_index, now)

    ct, rct = got["cycle_time"], ref["cycle_time"]
    assert ct["total_issue_count"] == rct["total"] and ct["excluded_issue_count"] == rct["excluded"]
    assert [p["key"] for p in ct["points"]] == [p["key"] for p in rct["points"]]
    assert [p["completed_at"] for p in ct["points"]] == [iso(p["completed"]) for p in rct["points"]]
    assert all(close(a["cycle_time_days"], b["days"]) for a, b in zip(ct["points"], rct["points"], strict=True))
    assert [p["flow_type"] for p in ct["points"]] == [p["item"].flow_type for p in rct["points"]]
    assert all(close(ct["percentiles"][k], rct["percentiles"][k]) for k in ("50", "70", "85", "95"))
    assert ct["error_state"] == ("success" if rct["points"] else "no_data")

    aw, raw_ = got["aging_wip"], ref["aging_wip"]
    assert aw["as_of"] == iso(raw_["as_of"])
    if aw["error_state"] == "no_data":  # no flow item at all: no count, like the Flow Load card
        assert aw["count"] is None and raw_["count"] == 0 and aw["items"] == []
        raw_ = {**raw_, "count": None, "over_85": None, "by_status": {}}
    assert aw["count"] == raw_["count"]
    assert [(i["key"], i["status"]) for i in aw["items"]] == [(i["key"], i["status"]) for i in raw_["items"]]
    assert all(close(a["age_days"], b["age_days"]) for a, b in zip(aw["items"], raw_["items"], strict=True))
    assert aw["over_85"] == raw_["over_85"] and aw["by_status"] == raw_["by_status"]

    ts, rts = got["time_in_status"], ref["time_in_status"]
    if ts["error_state"] == "success":
        assert [r["status"] for r in ts["statuses"]] == [r["status"] for r in rts["statuses"]]
        for a, b in zip(ts["statuses"], rts["statuses"], strict=True):
            assert close(a["total_days"], b["total_days"]) and close(a["share_percent"], b["share_percent"])
            assert a["items"] == b["items"] and close(a["median_days"], b["median_days"])
            assert a["active"] == b["active"]
        assert ts["bottleneck"] == rts["bottleneck"]
    else:
        assert not rts["statuses"] or rts["flow_days"] == 0

    cfd, rcfd = got["cfd"], ref["cfd"]
    assert cfd["days"] == rcfd["days"]
    if rcfd["days"]:
        assert cfd["counts"] == {name: rcfd["counts"][name] for name in rcfd["order"]}
        assert cfd["order"] == rcfd["order"]

    tp, rtp = got["throughput"], ref["throughput"]
    assert tp["days"] == rtp["days"] and tp["daily"] == rtp["daily"] and tp["weekly"] == rtp["weekly"]


@PROPERTY_SETTINGS
@given(raw=issue_sets(), config=settings_variants(), period_index=st.integers(0, len(PERIODS) - 1),
       now=st.sampled_from(NOWS))
def test_invariants(raw, config, period_index, now):
    """Shares sum to 100 (when the timeline covers every flow time), CFD columns sum to the items existing at
    each instant, throughput sums to Flow Velocity's count, and the headline numbers are the cards'."""
    got, ref, cards, _start, end = _run(raw, config, period_index, now)
    ts = got["time_in_status"]
    if ts["error_state"] == "success":
        shares = sum(row["share_percent"] for row in ts["statuses"])
        covered = sum(row["total_days"] for row in ts["statuses"])
        assert math.isclose(shares, covered / ref["time_in_status"]["flow_days"] * 100, rel_tol=1e-9)
        if all(p["started"] >= p["item"].created for p in ref["cycle_time"]["points"]):
            assert math.isclose(shares, 100.0, rel_tol=1e-9)

    cfd = got["cfd"]
    if cfd["error_state"] == "success":
        sums = [sum(row[day] for row in cfd["counts"].values()) for day in range(len(cfd["days"]))]
        assert sums == ref["cfd"]["existing"]

    velocity = cards["flow_velocity"]
    if velocity.error_state == "success":
        completed = velocity.details["completed_count"]
        assert sum(got["throughput"]["weekly"]["values"]) == completed
        if end <= now.date():
            assert sum(got["throughput"]["daily"]) == completed

    flow_time, load = cards["flow_time"], cards["flow_load"]
    assert got["cycle_time"]["percentiles"]["50"] == flow_time.value  # exactly, not approximately
    assert got["aging_wip"]["count"] == (None if load.value is None else int(load.value))
