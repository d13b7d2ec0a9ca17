"""The field-mapping modal's discard question and Save hint: the plain functions behind the callbacks and
the layout they drive. The browser side (Escape, the modal's ``keyboard``) is in test_browser_dashboard.py."""

from __future__ import annotations

import dash

from callbacks.field_mapping_discard import (
    LOAD_ERROR_HINT,
    LOADING_HINT,
    OTHER_HINT,
    answer_close_request,
    save_hint,
)
from data.services.mapping_service import FORM_SECTIONS
from tests.test_ui_metric_card import by_id
from ui import ids
from ui.field_mapping_modal import field_mapping_modal
from ui.page import HIDDEN, SHOWN

FM = ids.FieldMapping


def test_cancel_or_x_without_edits_closes_at_once() -> None:
    assert answer_close_request(FM.CLOSE_BUTTON, False) == (False, HIDDEN)
    assert answer_close_request(FM.DISMISS_BUTTON, None) == (False, HIDDEN)


def test_cancel_or_x_with_edits_asks_first_and_keeps_the_modal_open() -> None:
    assert answer_close_request(FM.CLOSE_BUTTON, True) == (dash.no_update, SHOWN)
    assert answer_close_request(FM.DISMISS_BUTTON, True) == (dash.no_update, SHOWN)


def test_the_answers_and_a_save_hide_the_question() -> None:
    for trigger in (FM.KEEP_EDITING_BUTTON, FM.CANCEL_BUTTON, FM.SAVE_BUTTON):
        assert answer_close_request(trigger, True) == (dash.no_update, HIDDEN)


def test_save_hint_names_the_reason_save_is_off() -> None:
    assert save_hint(HIDDEN, False, False) == ""
    assert save_hint(SHOWN, False, True) == LOADING_HINT
    assert save_hint(HIDDEN, True, True) == LOAD_ERROR_HINT
    assert save_hint(HIDDEN, False, True) == OTHER_HINT


def test_modal_layout_asks_before_discarding() -> None:
    modal = field_mapping_modal(FORM_SECTIONS)
    assert modal.backdrop == "static" and modal.keyboard is True
    confirm = by_id(modal, FM.DISCARD_CONFIRM)[0]
    assert confirm.style == HIDDEN
    # "Discard changes" is the close-without-saving button; the footer's Cancel and the X only ask.
    assert by_id(confirm, FM.CANCEL_BUTTON) and by_id(confirm, FM.KEEP_EDITING_BUTTON)
    for button_id in (FM.CLOSE_BUTTON, FM.DISMISS_BUTTON, FM.SAVE_HINT, FM.SAVE_WRAPPER, FM.BASELINE, FM.DIRTY):
        assert len(by_id(modal, button_id)) == 1, button_id
    assert by_id(modal, FM.SAVE_WRAPPER)[0].children.id == FM.SAVE_BUTTON
