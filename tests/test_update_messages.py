"""The wording of Update Data's result and failure, and of counts in every message (``1 request``,
``10 requests``)."""

from __future__ import annotations

import pytest

from data.services.data_update import FetchResult
from data.services.update_messages import describe_failure, describe_result, plural
from data.sources.base import UpdateError


def _result(*, changed: bool, total: int, requests: int, new: int = 0) -> FetchResult:
    return FetchResult(mode="incremental", new=new, updated=0, removed=0, total=total, requests=requests,
                       data_version="v1", duration_s=0.4, changed=changed)


@pytest.mark.parametrize(("total", "requests", "words"), [
    (300, 10, "(300 issues, 10 requests)"),
    (1, 1, "(1 issue, 1 request)"),
    (2500, 2, "(2,500 issues, 2 requests)"),
])
def test_an_unchanged_update_words_its_counts(total: int, requests: int, words: str) -> None:
    assert describe_result(_result(changed=False, total=total, requests=requests)) == (
        f"No changes since the last update {words}.")


def test_a_changed_update_words_the_total() -> None:
    assert describe_result(_result(changed=True, total=1, requests=3, new=1)) == (
        "Incremental update: 1 new, 0 updated, 0 removed; 1 issue in total.")


@pytest.mark.parametrize(("count", "singular", "plural_form", "expected"), [
    (0, "week", None, "0 weeks"),
    (1, "week", None, "1 week"),
    (2, "entry", "entries", "2 entries"),
    (1, "entry", "entries", "1 entry"),
])
def test_plural(count: int, singular: str, plural_form: str | None, expected: str) -> None:
    assert plural(count, singular, plural_form) == expected


def test_an_update_error_is_shown_as_written_not_as_unexpected() -> None:
    message = describe_failure(UpdateError("Set the JQL in Jira settings (e.g. project = ABC)"))
    assert message == "Set the JQL in Jira settings (e.g. project = ABC). The previous data is unchanged."
