"""The selected team as the service functions take it: the navbar selector's value, ``""`` meaning all teams.

``team_kwargs`` gives the ``team=`` keyword only for a real team, so "All teams" calls the services exactly as
before teams existed (their default is all teams).
"""

from __future__ import annotations

from typing import Any


def selected_team(value: Any) -> str | None:
    """The selector's value as a team name, or None for all teams (empty, missing or not a string)."""
    return value.strip() or None if isinstance(value, str) else None


def team_kwargs(value: Any) -> dict[str, str]:
    """``{"team": name}`` for a selected team, ``{}`` for all teams."""
    team = selected_team(value)
    return {"team": team} if team else {}
