"""What the dashboard says about each metric: display name, how it is computed, which way is better.

The "how it's computed" texts are short restatements of ``docs/metrics.md`` (the metric contract); they
describe, they never define. ``higher_is_better`` decides whether a rising trend is coloured as an
improvement: ``None`` means neither direction is good in itself, so the trend stays neutral.
"""

from __future__ import annotations

from dataclasses import dataclass

from configuration.defaults import FIELD_LABELS


@dataclass(frozen=True)
class MetricInfo:
    name: str
    display_name: str
    metric_type: str
    higher_is_better: bool | None
    how_computed: str


_INFOS: tuple[MetricInfo, ...] = (
    MetricInfo(
        "deployment_frequency",
        "Deployment Frequency",
        "dora",
        True,
        "Production deployments in the period × 30 ÷ days in the period. A deployment is an issue with a "
        "Deployment Date (in a production environment when an environment filter is set).",
    ),
    MetricInfo(
        "lead_time_for_changes",
        "Lead Time for Changes",
        "dora",
        False,
        "Median days from code commit to production deployment, over production deployments in the "
        "period. Deployments missing either date, or with the deployment before the commit, are excluded.",
    ),
    MetricInfo(
        "change_failure_rate",
        "Change Failure Rate",
        "dora",
        False,
        "Share of production deployments in the period that failed: Deployment Successful is false or "
        "Production Impact is true. Deployments without a usable value are excluded.",
    ),
    MetricInfo(
        "mean_time_to_recovery",
        "Mean Time to Recovery",
        "dora",
        False,
        "Median hours from incident detection to resolution, over incidents resolved in the period "
        "(named 'mean' for continuity; the mean is in the details).",
    ),
    MetricInfo(
        "flow_velocity",
        "Flow Velocity",
        "flow",
        True,
        "Items completed in the period per week: completed items × 7 ÷ days in the period.",
    ),
    MetricInfo(
        "flow_time",
        "Flow Time",
        "flow",
        False,
        "Median days from work start (first entry into a work-in-progress status) to completion, over "
        "items completed in the period. Items that never started are excluded.",
    ),
    MetricInfo(
        "flow_efficiency",
        "Flow Efficiency",
        "flow",
        True,
        "Time spent in active statuses as a share of total flow time, summed over items completed in "
        "the period.",
    ),
    MetricInfo(
        "flow_load",
        "Flow Load",
        "flow",
        False,
        "Items in a work-in-progress status at the end of the period (or now). Weekly history comes "
        "from recorded snapshots; weeks without one are reconstructed from the changelog.",
    ),
    MetricInfo(
        "flow_distribution",
        "Flow Distribution",
        "flow",
        None,
        "Share of items completed in the period by flow type: Feature, Defect, Risk, Technical Debt "
        "(Other when the type is not mapped). The headline is the Feature share.",
    ),
)

METRIC_INFO: dict[str, MetricInfo] = {info.name: info for info in _INFOS}
DORA_METRICS: tuple[str, ...] = tuple(info.name for info in _INFOS if info.metric_type == "dora")
FLOW_METRICS: tuple[str, ...] = tuple(info.name for info in _INFOS if info.metric_type == "flow")

MAPPING_FIELD_LABELS: dict[str, str] = FIELD_LABELS


def metric_info(name: str, metric_type: str = "flow") -> MetricInfo:
    """The info for ``name``; an unknown name gets a readable fallback so a card never fails to render."""
    known = METRIC_INFO.get(name)
    if known is not None:
        return known
    display = str(name).replace("_", " ").strip().title() or "Unknown metric"
    return MetricInfo(str(name), display, metric_type, None, "See docs/metrics.md for how this is computed.")


def mapping_field_label(key: str) -> str:
    """Human name of a field-mapping key, e.g. ``deployment_date`` -> ``Deployment Date``."""
    return MAPPING_FIELD_LABELS.get(key, str(key).replace("_", " ").title())


def trend_is_good(name: str, direction: str) -> bool | None:
    """Whether a trend in ``direction`` ("up"/"down"/"flat") is an improvement for metric ``name``.

    ``None`` when the trend is flat or the metric has no better direction.
    """
    better = metric_info(name).higher_is_better
    if better is None or direction not in ("up", "down"):
        return None
    return (direction == "up") == better
