"""The mapping dialog's "Team field": it offers project, components, labels and every custom field (the demo
Jira's "Team" select included), saves the choice as ``dora_flow_config.team_field`` and refuses a field this
Jira lacks without writing anything. Real HTTP against the test Jira serving the demo's ``/field`` list."""

from __future__ import annotations

from pathlib import Path

import pytest

from configuration.settings import load_app_settings
from data.services.mapping_service import (
    TEAM_KEY,
    build_candidate_config,
    form_values,
    jira_fields,
    load_mapping_form,
    save_mapping_form,
    team_field_options,
)
from data.sources.demo_fields import TEAM
from tests.test_mapping_service import (  # noqa: F401  (fixtures, used by name)
    _demo_form,
    connected,
    fresh_fields_cache,
    jira,
)

needs_jira = pytest.mark.usefixtures("connected")


@needs_jira
def test_the_team_field_offers_system_fields_then_custom_fields() -> None:
    options = team_field_options(jira_fields(load_app_settings()))
    values = [option["value"] for option in options]
    assert values[:3] == ["project", "components", "labels"]
    assert TEAM in values and options[values.index(TEAM)]["label"] == f"Team · {TEAM}"
    assert all(value.startswith("customfield_") for value in values[3:])
    assert load_mapping_form(load_app_settings()).options[TEAM_KEY] == options


def test_the_team_field_round_trips_through_the_form() -> None:
    assert form_values({"team_field": "labels"})[TEAM_KEY] == "labels"
    assert build_candidate_config({TEAM_KEY: " components "})[TEAM_KEY] == "components"
    assert build_candidate_config({TEAM_KEY: ""})[TEAM_KEY] is None


@needs_jira
def test_a_chosen_team_field_is_saved() -> None:
    values = {**_demo_form(), TEAM_KEY: "components"}
    result = save_mapping_form(values, load_app_settings())
    assert result.saved, result.summary
    assert load_app_settings()["dora_flow_config"]["team_field"] == "components"
    values[TEAM_KEY] = None
    assert save_mapping_form(values, load_app_settings()).saved
    assert load_app_settings()["dora_flow_config"]["team_field"] is None


@needs_jira
def test_a_team_field_this_jira_lacks_is_refused_and_nothing_is_written(isolated_data_dir: Path) -> None:
    settings_file = isolated_data_dir / "app_settings.json"
    before = settings_file.read_bytes()
    result = save_mapping_form({**_demo_form(), TEAM_KEY: "customfield_99999"}, load_app_settings())
    assert not result.saved and set(result.errors) == {TEAM_KEY}
    assert "customfield_99999" in result.errors[TEAM_KEY] and "pick project, components, labels" in \
        result.errors[TEAM_KEY]
    assert settings_file.read_bytes() == before
