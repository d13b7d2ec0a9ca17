"""A period may not end in the future, and comparisons never reach before the data (METRICS.md, "Period"
and "Coverage"): the core rule, the command line in a real process, and the dashboard's period resolution.

Each test's comment says how its expected numbers were derived from the literal inputs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from data.metrics.dora_calculator import calculate_dora_metrics
from data.metrics.flow_calculator import calculate_flow_metrics
from data.metrics.issue_frame import build_issue_frames
from data.metrics.issue_tables import column_us
from data.metrics.period_selection import resolve_period
from data.metrics.periods import Period, PeriodError, coverage_start, period_until
from data.services.metrics_service import calculate_all_metrics
from tests.conftest import PROJECT_ROOT
from tests.test_issue_frame import change, issue, make_settings

pytestmark = pytest.mark.usefixtures("restore_root_logging")

SETTINGS = make_settings(dora={"deployment_date": "cf_deploy"})


def deployment(key: str, created: str, deployed: str) -> dict:
    return issue(key, created, "Done", issue_type="Deployment", cf_deploy=deployed)


# ---------------------------------------------------------------- the period may not end after today


def test_a_period_ending_after_today_is_refused_with_a_plain_message():
    today = date(2026, 11, 29)
    assert period_until("2026-10-31", "2026-11-29", today) == Period(date(2026, 10, 31), today)
    with pytest.raises(PeriodError) as error:
        period_until("2026-11-01", "2026-11-30", today)
    assert str(error.value) == ("Period end 2026-11-30 is in the future (today is 2026-11-29, UTC); "
                                "choose an end date on or before today")
    # The other rules still come first and keep their words.
    with pytest.raises(PeriodError, match="before its start"):
        period_until("2026-11-20", "2026-11-10", today)


def test_the_dashboards_custom_period_cannot_end_after_today():
    today = date(2026, 11, 29)
    with pytest.raises(PeriodError, match="in the future"):
        resolve_period({"preset": "custom", "start": "2026-11-01", "end": "2026-12-01"}, today)
    # Presets end today: the 30-day preset is 2026-10-31 .. 2026-11-29.
    assert resolve_period({"preset": "30"}, today) == Period(date(2026, 10, 31), today)


def _run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("JIRA_")}
    return subprocess.run([sys.executable, str(PROJECT_ROOT / "cli.py"), *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_cli_metrics_and_export_refuse_an_end_after_today(tmp_path: Path):
    issues = tmp_path / "issues.json"
    issues.write_text(json.dumps([deployment("D-1", "2025-01-01", "2025-01-02")]), encoding="utf-8")
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    start = (datetime.now(UTC).date() - timedelta(days=10)).isoformat()
    for args in (("metrics", "--issues", str(issues), "--start", start, "--end", tomorrow),
                 ("export", "--output", str(tmp_path / "out.json"), "--start", start, "--end", tomorrow)):
        result = _run_cli(*args)
        lines = result.stderr.strip().splitlines()
        assert (result.returncode, result.stdout) == (2, ""), result.stderr
        assert len(lines) == 1 and "Traceback" not in result.stderr
        assert f"Period end {tomorrow} is in the future" in lines[0]
    assert not (tmp_path / "out.json").exists()
    # With --now the UTC date of that moment is "today": 2025-01-02T23:30-05:00 is 2025-01-03 04:30 UTC.
    result = _run_cli("metrics", "--issues", str(issues), "--start", "2025-01-01", "--end", "2025-01-03",
                      "--now", "2025-01-02T23:30:00-05:00")
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------- coverage


def test_coverage_starts_on_the_utc_date_of_the_earliest_creation():
    raw = [issue("A", "2025-03-02T01:00:00+0800", "To Do"),  # 2025-03-01 17:00 UTC
           issue("B", "2025-03-05", "To Do"), issue("C", "not a time", "To Do")]
    frames = build_issue_frames(raw, SETTINGS)
    assert coverage_start(column_us(frames, "created")) == date(2025, 3, 1)
    assert coverage_start(column_us(build_issue_frames([issue("C", None, "To Do")], SETTINGS), "created")) is None


def test_a_year_of_data_has_no_trend_against_the_unfetched_year_before():
    # A year of data: issues created from 2025-12-01. 207 deployments between 2025-12-01 and 2026-11-28, plus
    # one record created 2025-12-01 for a deployment dated 2025-11-15 (entered late). Period: the 365 days
    # 2025-11-29 .. 2026-11-28. Before the coverage rule the previous period (2024-11-29 .. 2025-11-28) held
    # that single late record: (207 − 1) / 1 × 100 = +20,600 %. The previous period starts long before the
    # first covered day (2025-12-01), so it has no value at all.
    first = date(2025, 12, 1)
    raw = [deployment(f"D-{n}", "2025-12-01", (first + timedelta(days=n * 362 // 206)).isoformat())
           for n in range(207)]
    raw.append(deployment("LATE", "2025-12-01", "2025-11-15"))
    period = Period(date(2025, 11, 29), date(2026, 11, 28))
    now = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    metric = calculate_dora_metrics(build_issue_frames(raw, SETTINGS), SETTINGS, period, now)["deployment_frequency"]
    # The chosen period is always computed: 207 deployments (2025-12-01 .. 2026-11-28) × 30 / 365.
    assert metric.value == pytest.approx(207 * 30 / 365)
    assert metric.details["previous_value"] is None
    assert metric.details["trend_percentage"] is None and metric.details["trend_direction"] == "flat"
    assert metric.details["coverage_start"] == "2025-12-01" and metric.details["previous_covered"] is False
    # Weeks: the 16 ending with the week of 2026-11-28 start on Mondays 2026-08-10 … 2026-11-23: all covered.
    assert None not in metric.details["weekly_values"]


def test_sparkline_weeks_before_the_first_day_are_null_for_every_metric():
    # Data from 2025-01-08 (a Wednesday). Period 2025-01-06 .. 2025-01-19: its own weeks start on Mondays
    # 2025-01-06 (before the first day: null) and 2025-01-13 (covered). The period itself is still computed.
    raw = [deployment("D-1", "2025-01-08", "2025-01-14"),
           issue("S-1", "2025-01-08", "Done", [change("2025-01-09T00:00:00Z", "To Do", "In Progress"),
                                              change("2025-01-15T00:00:00Z", "In Progress", "Done")])]
    settings = make_settings(dora={"deployment_date": "cf_deploy"}, flow={"flow_item_type": "cf_type"})
    period = Period(date(2025, 1, 6), date(2025, 1, 19))
    now = datetime(2025, 3, 1, tzinfo=UTC)
    frames = build_issue_frames(raw, settings)
    metrics = {**calculate_dora_metrics(frames, settings, period, now),
               **calculate_flow_metrics(frames, settings, period, now)}
    for name in ("deployment_frequency", "flow_velocity", "flow_time", "flow_load"):
        weekly = metrics[name].details["weekly_values"]
        assert weekly[:15] == [None] * 15, name
        assert weekly[15] is not None, name
        assert metrics[name].details["previous_value"] is None, name
    # The week of 2025-01-13 holds D-1 (30 / 7 per month) and S-1 (7 / 7 per week, 6 days of flow time).
    assert metrics["deployment_frequency"].details["weekly_values"][15] == pytest.approx(30 / 7)
    assert metrics["flow_velocity"].details["weekly_values"][15] == pytest.approx(1.0)
    assert metrics["flow_time"].details["weekly_values"][15] == pytest.approx(6.0)
    # The period: 1 deployment × 30 / 14 days.
    assert metrics["deployment_frequency"].value == pytest.approx(30 / 14)


def test_coverage_comes_from_all_issues_even_when_given_by_the_caller():
    # A caller that filtered the issues (a team) passes the first day of all issues: 2025-01-01 here, so the
    # previous period 2025-01-06 .. 2025-01-12 of the week 2025-01-13 .. 2025-01-19 is covered (0 deployments).
    raw = [deployment("D-1", "2025-01-15", "2025-01-16")]
    period = Period(date(2025, 1, 13), date(2025, 1, 19))
    now = datetime(2025, 3, 1, tzinfo=UTC)
    frames = build_issue_frames(raw, SETTINGS)
    own = calculate_all_metrics(frames, SETTINGS, period, now)["deployment_frequency"]
    assert own["details"]["previous_value"] is None  # own first day 2025-01-15 is after 2025-01-06
    given = calculate_all_metrics(frames, SETTINGS, period, now, coverage=date(2025, 1, 1))["deployment_frequency"]
    # 1 × 30 / 7 now against 0 before: percentage null (previous 0), direction up.
    assert given["details"]["previous_value"] == 0.0
    assert (given["details"]["trend_percentage"], given["details"]["trend_direction"]) == (None, "up")


def test_results_cached_under_the_earlier_rules_are_recalculated():
    # An entry written before the coverage rule (keyed by the bare data version) must not be served: it would
    # show the old trend against unfetched days for up to the cache's TTL.
    from configuration.settings import field_mapping_hash
    from data.services import metrics_service
    from data.store.metrics_cache import build_cache_key, save_cached_metrics

    metrics_service.clear_memo()
    raw = [deployment("D-1", "2025-01-15", "2025-01-16")]
    period = Period(date(2025, 1, 13), date(2025, 1, 19))
    now = datetime(2025, 3, 1, tzinfo=UTC)
    mapping_hash = field_mapping_hash(SETTINGS)
    stale = {"deployment_frequency": {"value": 999.0, "details": {"trend_percentage": 20600.0}}}
    save_cached_metrics(build_cache_key("all", period.start, period.end, mapping_hash), stale, metric_type="all",
                        start=period.start, end=period.end, mapping_hash=mapping_hash, data_version="v1",
                        ttl_seconds=3600, max_entries=100, now=now)
    fresh = metrics_service.calculate_metrics_cached(build_issue_frames(raw, SETTINGS), SETTINGS, period, now,
                                                     data_version="v1")
    # 1 deployment × 30 / 7 days, and no trend: the previous week starts before the first day (2025-01-15).
    assert fresh["deployment_frequency"]["value"] == pytest.approx(30 / 7)
    assert fresh["deployment_frequency"]["details"]["trend_percentage"] is None
    metrics_service.clear_memo()
