"""Raw Jira issues → two tidy tables: one row per issue, one row per status interval.

Built once per data update; every metric is a vectorised query over these tables.

Two steps, so a change of status lists does not re-read the raw issues:

- **parse** (``parse_issue_frames``) depends only on which Jira field each mapping key points to. One flat
  Python pass collects the issues' fields and the status changes; everything else (timestamps, sorting,
  the interval table) is done by pandas/numpy.
- **derive** (``derive_issue_frames``) depends on the status lists, type lists, environment values and flow
  type mappings, and adds ``started_at``, ``completed_at``, ``flow_type``, ``is_deployment``,
  ``is_production``, ``env_empty``, ``is_incident``, ``is_flow_item`` and ``active_days``.

``build_issue_frames`` does both; ``ensure_derived`` re-derives only when those settings changed and raises
``FramesMismatchError`` when the field mappings changed (the raw values are not kept: rebuild).

Status changes are the changelog items with ``field`` or ``fieldId`` equal to ``status``. Histories may come
newest first (search) or oldest first (changelog endpoints): changes are sorted by their time; changes with
the same time keep the issue's history order read oldest first (the order is taken as newest first when the
first history is later than the last, or, when all times are equal, when only the first change leads to the
current status). A change whose time does not parse is ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from data.metrics.issue_derivation import derive_issue_frames
from data.metrics.issue_parsing import parse_issue_frames
from data.metrics.issue_tables import IssueFrames, frame_config


def build_issue_frames(raw_issues: Iterable[Any], settings: Mapping[str, Any]) -> IssueFrames:
    """Parse and derive: the tables every calculator reads."""
    config = frame_config(settings)
    return derive_issue_frames(parse_issue_frames(raw_issues, dict(config.field_ids)), settings)


def ensure_derived(frames: IssueFrames, settings: Mapping[str, Any]) -> IssueFrames:
    """``frames`` derived for ``settings``: as given when already so, else re-derived (not re-parsed).

    The latest re-derivation is remembered on ``frames``, so repeated calls with the same other settings
    cost nothing."""
    config = frame_config(settings)
    if frames.config == config:
        return frames
    cached = frames.memo.get("derived")
    if cached is None or cached.config != config:
        cached = derive_issue_frames(frames, settings)
        frames.memo["derived"] = cached
    return cached
