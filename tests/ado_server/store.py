"""The work items a test Azure DevOps server holds: every revision of every item, as Azure DevOps keeps them.

A work item is given as ``{"id": 12, "revisions": [{field: value, ...}, ...]}``: revision 1 holds every field
it starts with, each later revision only the fields it changes (``None`` clears a field, as reopening clears
``Microsoft.VSTS.Common.ClosedDate``). Every revision must set ``System.ChangedDate``. ``System.Id`` and
``System.Rev`` are added by the store.

Each revision also gets a *watermark*: its position in the project's stream of revisions, which the
reporting route pages through. Revisions given at start are ordered by ``System.ChangedDate`` (then id and
rev); every later change gets the next watermark, like a real server where changes happen now.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

CLEARED = None
"""A revision value that removes the field (it is then absent from ``fields``)."""


def parse_ado_time(value: Any) -> datetime | None:
    """An Azure DevOps date-time text (``2025-06-18T15:30:00.123Z``, fraction optional) as aware UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def ado_time(moment: datetime) -> str:
    """``2025-06-18T15:30:00.123Z`` as Azure DevOps writes it: UTC, trailing zeros of the fraction dropped
    (``.12Z``), no fraction at all on a whole second (``15:30:00Z``)."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{moment.microsecond:06d}".rstrip("0")
    return f"{text}.{fraction}Z" if fraction else f"{text}Z"


@dataclass
class StoredWorkItem:
    """One work item: its revisions (``changes[n]`` = what revision ``n + 1`` changed), the fields now, their
    watermarks, and whether it was deleted (deleted items answer nothing but the reporting of deletions)."""

    id: int
    changes: list[dict[str, Any]]
    watermarks: list[int] = field(default_factory=list)
    deleted: bool = False
    latest: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.latest = self.fields_at(len(self.changes))

    @property
    def rev(self) -> int:
        return len(self.changes)

    def fields_at(self, rev: int) -> dict[str, Any]:
        """Every field of revision ``rev`` (1-based), ``System.Id`` and ``System.Rev`` included."""
        fields: dict[str, Any] = {}
        for change in self.changes[:rev]:
            for name, value in change.items():
                if value is CLEARED:
                    fields.pop(name, None)
                else:
                    fields[name] = value
        fields["System.Id"] = self.id
        fields["System.Rev"] = rev
        return fields

    def revisions(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """``(rev, every field of that revision)`` oldest first, built in one walk."""
        fields: dict[str, Any] = {"System.Id": self.id}
        for number, change in enumerate(self.changes, start=1):
            for name, value in change.items():
                if value is CLEARED:
                    fields.pop(name, None)
                else:
                    fields[name] = value
            fields["System.Rev"] = number
            yield number, dict(fields)

    def updates(self) -> list[dict[str, Any]]:
        """Each revision as the ``updates`` route describes it: only the fields that changed, as
        ``{oldValue, newValue}`` (no ``oldValue`` on the first revision, no ``newValue`` for a cleared field)."""
        previous: dict[str, Any] = {}
        updates: list[dict[str, Any]] = []
        for number, fields in self.revisions():
            changed: dict[str, Any] = {}
            for name in sorted(set(previous) | set(fields)):
                old, new = previous.get(name), fields.get(name)
                if old == new:
                    continue
                entry: dict[str, Any] = {}
                if name in previous:
                    entry["oldValue"] = old
                if name in fields:
                    entry["newValue"] = new
                changed[name] = entry
            updates.append({"rev": number, "fields": changed})
            previous = fields
        return updates


class WorkItemStore:
    """Thread-safe work items of one organisation (any number of projects) with the revision stream."""

    def __init__(self, items: Iterable[Mapping[str, Any]] = ()) -> None:
        self._lock = threading.RLock()
        self.version = 0
        self._items: dict[int, StoredWorkItem] = {}
        self._stream: list[tuple[int, int, int]] = []  # (watermark, id, rev), watermark ascending
        self.replace(items)

    def replace(self, items: Iterable[Mapping[str, Any]]) -> None:
        """Hold exactly ``items``; the revision stream is rebuilt in ``System.ChangedDate`` order."""
        stored = [_stored(item) for item in items]
        order: list[tuple[float, int, int]] = []
        for item in stored:
            moment = 0.0
            for rev, change in enumerate(item.changes, start=1):
                when = parse_ado_time(change.get("System.ChangedDate"))
                moment = when.timestamp() if when else moment
                order.append((moment, item.id, rev))
        order.sort()
        by_id = {item.id: item for item in stored}
        for item in stored:
            item.watermarks = [0] * item.rev
        stream = []
        for watermark, (_, item_id, rev) in enumerate(order, start=1):
            by_id[item_id].watermarks[rev - 1] = watermark
            stream.append((watermark, item_id, rev))
        with self._lock:
            self._items = dict(sorted(by_id.items()))
            self._stream = stream
            self.version += 1

    def add(self, item: Mapping[str, Any]) -> StoredWorkItem:
        """A new work item (or one replacing the item of that id) whose revisions happen now."""
        stored = _stored(item)
        with self._lock:
            stored.watermarks = [self._next_watermark() + n for n in range(stored.rev)]
            self._stream += [(mark, stored.id, rev) for rev, mark in enumerate(stored.watermarks, start=1)]
            self._items[stored.id] = stored
            self._items = dict(sorted(self._items.items()))
            self.version += 1
        return stored

    def change(self, item_id: int, fields: Mapping[str, Any]) -> StoredWorkItem:
        """A new revision of ``item_id`` changing ``fields`` (``System.ChangedDate`` required)."""
        if "System.ChangedDate" not in fields:
            raise ValueError("a revision must set System.ChangedDate")
        with self._lock:
            current = self._items[int(item_id)]
            changed = StoredWorkItem(current.id, [*current.changes, dict(fields)],
                                     [*current.watermarks, self._next_watermark()], current.deleted)
            self._stream.append((changed.watermarks[-1], changed.id, changed.rev))
            self._items[changed.id] = changed
            self.version += 1
            return changed

    def delete(self, item_id: int) -> None:
        with self._lock:
            current = self._items[int(item_id)]
            self._items[current.id] = StoredWorkItem(current.id, current.changes, current.watermarks, True)
            self.version += 1

    def get(self, item_id: int, *, deleted: bool = False) -> StoredWorkItem | None:
        with self._lock:
            item = self._items.get(int(item_id))
        return item if item is not None and (deleted or not item.deleted) else None

    def items(self, *, deleted: bool = False) -> list[StoredWorkItem]:
        """Every item in id order (deleted ones only when asked)."""
        with self._lock:
            values = list(self._items.values())
        return values if deleted else [item for item in values if not item.deleted]

    def stream_after(self, watermark: int) -> tuple[list[tuple[int, int, int]], int]:
        """The revision stream after ``watermark`` (a snapshot) and its last watermark."""
        with self._lock:
            start = bisect.bisect_right(self._stream, (watermark, float("inf"), 0))
            return self._stream[start:], self._stream[-1][0] if self._stream else 0

    def _next_watermark(self) -> int:
        return (self._stream[-1][0] if self._stream else 0) + 1

    def __len__(self) -> int:
        return len(self.items())


def _stored(item: Mapping[str, Any]) -> StoredWorkItem:
    revisions = [dict(revision) for revision in item["revisions"]]
    if not revisions:
        raise ValueError(f"work item {item.get('id')} has no revisions")
    for revision in revisions:
        revision.pop("System.Id", None)
        revision.pop("System.Rev", None)
        if "System.ChangedDate" not in revision:
            raise ValueError(f"every revision of work item {item.get('id')} must set System.ChangedDate")
    return StoredWorkItem(int(item["id"]), revisions)
