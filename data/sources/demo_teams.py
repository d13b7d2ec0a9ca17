"""The demo organisation: which team each generated demo issue belongs to.

The team is drawn after every other value of the issue, from its own random stream, so adding teams changed no
other generated value (the all-teams figures stay those of the single demo team). The draw depends on what the
issue already is, which gives the teams different sizes and maturity: Platform gets most of the fast, safe
deployments and the quickly recovered incidents (an Elite deployer), Payments most of the failed deployments
and the long outages (struggling with change failures), Mobile and Growth sit in between. A few work items
have no team, as in a real Jira, and show up as ``(none)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from data.sources.demo_fields import TEAM, TEAM_OPTIONS

_HOUR_MS = 60 * 60 * 1000

# Probabilities of (Platform, Payments, Mobile, Growth, no team); each row sums to 1.
_WORK = {"Story": (0.22, 0.30, 0.28, 0.18, 0.02), "Bug": (0.12, 0.45, 0.25, 0.16, 0.02),
         "Task": (0.35, 0.25, 0.20, 0.18, 0.02), "Technical Debt": (0.45, 0.20, 0.20, 0.13, 0.02),
         "Risk": (0.30, 0.40, 0.15, 0.13, 0.02)}
_FAILED_DEPLOYMENT = (0.02, 0.75, 0.13, 0.10, 0.0)
_QUICK_DEPLOYMENT = (0.80, 0.07, 0.07, 0.06, 0.0)  # committed less than a day before it was deployed
_DAY_DEPLOYMENT = (0.50, 0.15, 0.20, 0.15, 0.0)  # one to two days
_SLOW_DEPLOYMENT = (0.05, 0.25, 0.40, 0.30, 0.0)  # two days or more, or no usable commit date
_QUICK_RECOVERY = (0.80, 0.04, 0.10, 0.06, 0.0)  # recovered within an hour
_SLOW_RECOVERY = (0.05, 0.60, 0.20, 0.15, 0.0)  # a day or more, or not recovered
_OTHER_RECOVERY = (0.10, 0.40, 0.30, 0.20, 0.0)


def team_weights(record: dict[str, Any]) -> tuple[float, ...]:
    """The team probabilities of one simulated issue record (type, deployment outcome, recovery time)."""
    kind = record["type"]
    if kind == "Deployment":
        if record["failed"]:
            return _FAILED_DEPLOYMENT
        committed = record.get("committed")
        waited = record["deployed"] - committed if committed is not None else None
        if waited is None or waited >= 48 * _HOUR_MS:
            return _SLOW_DEPLOYMENT
        return _QUICK_DEPLOYMENT if waited < 24 * _HOUR_MS else _DAY_DEPLOYMENT
    if kind == "Incident":
        recovered = record["recovered"]
        if recovered is None or recovered - record["detected"] >= 24 * _HOUR_MS:
            return _SLOW_RECOVERY
        return _QUICK_RECOVERY if recovered - record["detected"] < _HOUR_MS else _OTHER_RECOVERY
    return _WORK[kind]


def assign_teams(rng: np.random.Generator, records: Sequence[dict[str, Any]],
                 issues: Sequence[dict[str, Any]]) -> None:
    """Set the Team field of each issue (``issues[i]`` was built from ``records[i]``), one uniform draw each."""
    if not issues:
        return
    cumulative = np.cumsum(np.asarray([team_weights(record) for record in records]), axis=1)
    chosen = (rng.random(len(issues))[:, None] >= cumulative[:, :-1]).sum(axis=1).tolist()
    options = (*TEAM_OPTIONS, None)
    for issue, index in zip(issues, chosen, strict=True):
        issue["fields"][TEAM] = options[index]
