"""The period selector's callback: presets and custom dates become the period store and the dates shown; a
future day is clamped to today with a message; typed text that is not a date is named and changes nothing.

``today`` is 2026-11-28 throughout; every expected date below is counted from it by hand.
"""

from __future__ import annotations

from datetime import date

import dash

from callbacks.period import select_period
from ui import ids
from ui.page import HIDDEN, SHOWN

TODAY = date(2026, 11, 28)
KEEP = dash.no_update
PREVIOUS = {"preset": "custom", "start": "2026-11-01", "end": "2026-11-20"}


def run(preset: str = "custom", start: str | None = None, end: str | None = None, typed: object = None,
        current: object = PREVIOUS, trigger: str | None = ids.Period.DATE_RANGE) -> tuple:
    return select_period(preset, start, end, typed, current, today=TODAY, trigger=trigger)


def test_a_preset_ends_today_and_its_dates_are_shown():
    store, message, area, start, end, last_day, dates = run("30", trigger=ids.Period.PRESET)
    assert store == {"preset": "30", "start": None, "end": None}
    assert (message, area, start, end, last_day) == ("", HIDDEN, KEEP, KEEP, "2026-11-28")
    # 30 days ending 2026-11-28 start 29 days earlier: 2026-10-30.
    assert dates == "30 Oct – 28 Nov 2026"
    assert run("7", trigger=None)[6] == "22 Nov – 28 Nov 2026"


def test_a_valid_custom_range_becomes_the_period():
    store, message, area, _, _, _, dates = run(start="2025-12-30", end="2026-01-05")
    assert store == {"preset": "custom", "start": "2025-12-30", "end": "2026-01-05"}
    assert (message, area, dates) == ("", SHOWN, "30 Dec 2025 – 5 Jan 2026")


def test_a_typed_future_end_is_clamped_to_today_and_the_message_says_so():
    typed = {"field": "end", "text": "2026-12-05", "sequence": 1}
    store, message, _, start, end, _, dates = run(start="2026-11-01", end="2026-11-20", typed=typed,
                                                  trigger=ids.Period.TYPED)
    assert store == {"preset": "custom", "start": "2026-11-01", "end": "2026-11-28"}
    assert (start, end) == (KEEP, "2026-11-28")
    assert message == ("2026-12-05 is in the future, which has no data yet: the period now ends today, "
                       "2026-11-28")
    assert dates == "1 Nov – 28 Nov 2026"


def test_typed_text_that_is_not_a_date_is_named_and_changes_nothing():
    for text in ("2026-02-30", "2026-13-45", "soon"):
        typed = {"field": "end", "text": text, "sequence": 2}
        store, message, _, start, end, _, dates = run(start="2026-11-01", end="2026-11-20", typed=typed,
                                                      trigger=ids.Period.TYPED)
        # The period, and so the cards and the dates shown, stay; the end box goes back to the last good end.
        assert (store, dates, start, end) == (KEEP, KEEP, KEEP, "2026-11-20")
        assert message.startswith(f"{text} is not a date")


def test_the_pickers_own_reading_of_a_non_date_is_refused_too():
    # Chromium reads 2026-02-30 as 2 March and the picker sends that: the typed text says it was not a date.
    typed = {"field": "end", "text": "2026-02-30", "sequence": 3}
    store, message, _, _, end, _, dates = run(start="2026-01-01", end="2026-03-02", typed=typed)
    assert (store, dates, end) == (KEEP, KEEP, "2026-11-20")
    assert message.startswith("2026-02-30 is not a date")
    # A day picked on the calendar clears the typed text (assets/period_typing.js): accepted.
    assert run(start="2026-01-01", end="2026-03-02", typed=None)[0] == {
        "preset": "custom", "start": "2026-01-01", "end": "2026-03-02"}


def test_an_invalid_range_keeps_the_previous_period_and_its_dates():
    store, message, area, _, _, _, dates = run(start="2025-01-01", end="2026-01-01")
    assert (store, dates, area) == (KEEP, KEEP, SHOWN)
    assert message == "Choose at most 365 days"
    store, message, *_ = run(start="2026-11-01", end="2026-11-29")
    assert store == KEEP and message == "End date 2026-11-29 is in the future: choose 2026-11-28 (today) or earlier"
