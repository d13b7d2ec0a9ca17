"""The page's notices: what is wrong with the user's files, shown on every load until dismissed.

Four kinds, in this order:
- the settings file cannot be used (not dismissible: it stays while the file is broken, and says which key);
- Jira is configured but the saved mappings are exactly the demo's (saved while the demo was shown);
- stored notices (``data.store.notices``): every warning the safe store recorded in this process (a file
  moved aside, a file from a newer release) is stored as soon as a notice list is asked for;
- derived notices: every ``*.corrupt-*`` copy on disk that has no stored notice yet, so damage found by another
  process (a background Update Data, a cron job) is shown too.

Dismissing stores the id as dismissed; the moved-aside copy itself is never deleted (it may be the only copy
of the user's data).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from configuration.settings import is_demo_mode, load_settings_state
from data.sources.demo_fields import DEMO_FIELD_MAPPINGS
from data.store.json_store import PersistenceError, pop_persistence_warnings
from data.store.notices import dismiss, load_notices, moved_aside_files, record_notices

logger = logging.getLogger(__name__)

SETTINGS_NOTICE_ID = "settings"
DEMO_MAPPINGS_NOTICE_ID = "demo-mappings"
DEMO_MAPPINGS_TEXT = ("The saved field mappings are exactly the demo data's (most likely saved while the demo was "
                      "shown): check them against your Jira's fields in Configure Field Mappings.")
_MOVED_TO = re.compile(r"moved to (\S+\.corrupt-\S+?) and")


@dataclass(frozen=True)
class Notice:
    """A message for the user: ``header`` names its subject, ``level`` is a Bootstrap colour, ``notice_id``
    is what ``dismiss_notice`` takes (empty for a notice that cannot be dismissed)."""

    text: str
    header: str
    level: str = "warning"
    notice_id: str = ""

    @property
    def dismissible(self) -> bool:
        return bool(self.notice_id) and self.notice_id != SETTINGS_NOTICE_ID


def _warning_id(text: str) -> str:
    moved = _MOVED_TO.search(text)
    if moved:
        return f"moved:{moved.group(1)}"
    return "warning:" + hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()[:16]


def store_pending_warnings() -> None:
    """Keep this process's safe-store warnings on disk (they are shown until dismissed)."""
    pending = pop_persistence_warnings()
    if not pending:
        return
    try:
        record_notices({"id": _warning_id(text), "header": "Data file", "text": text, "level": "warning"}
                       for text in pending)
    except PersistenceError as error:  # the notices cannot be kept: at least the log has them
        logger.warning("Could not store the notices: %s", error)


def list_notices() -> list[Notice]:
    """Every notice to show now (reads the settings file, the notices file and the data folder's listing)."""
    state = load_settings_state()
    store_pending_warnings()
    notices: list[Notice] = []
    if state.error:
        notices.append(Notice(state.error, "Settings file", "danger", SETTINGS_NOTICE_ID))
    try:
        stored, dismissed = load_notices()
    except PersistenceError as error:
        logger.warning("Could not read the notices: %s", error)
        stored, dismissed = [], set()
    if _demo_mappings_in_use_for_jira(state.settings, state.read_only) and DEMO_MAPPINGS_NOTICE_ID not in dismissed:
        notices.append(Notice(DEMO_MAPPINGS_TEXT, "Field mappings", "warning", DEMO_MAPPINGS_NOTICE_ID))
    shown = set()
    for item in stored:
        notices.append(Notice(str(item.get("text") or ""), str(item.get("header") or "Data file"),
                              str(item.get("level") or "warning"), str(item["id"])))
        shown.add(str(item["id"]))
    for path in moved_aside_files():
        notice_id = f"moved:{path.name}"
        if notice_id in shown or notice_id in dismissed:
            continue
        original = path.name.split(".corrupt-", 1)[0]
        notices.append(Notice(f"{original} was damaged and moved aside to {path.name} (in {path.parent}); "
                              "the app uses a fresh copy. Keep the moved file if you want to inspect or "
                              "restore it.", "Data file", "warning", notice_id))
    return notices


def _demo_mappings_in_use_for_jira(settings: Mapping[str, Any], read_only: bool) -> bool:
    """Jira is configured but the saved mappings are exactly the demo's: saved while the demo was shown (an
    earlier release allowed that), they name the demo's field ids, not this Jira's."""
    if read_only or is_demo_mode(settings):
        return False
    return (settings.get("dora_flow_config") or {}).get("field_mappings") == DEMO_FIELD_MAPPINGS


def dismiss_notice(notice_id: str) -> bool:
    """Hide a notice from now on; ``False`` (nothing changed) for an unknown or undismissable id."""
    if not notice_id or notice_id == SETTINGS_NOTICE_ID:
        return False
    known = {notice.notice_id for notice in list_notices()}
    if notice_id not in known:
        return False
    try:
        dismiss(notice_id)
    except PersistenceError as error:
        logger.warning("Could not dismiss the notice: %s", error)
        return False
    return True
