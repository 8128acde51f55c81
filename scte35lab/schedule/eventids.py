"""Event ids (splice_event_id, segmentation_event_id) that never repeat within a stream.

Both kinds share one space of 32-bit ids per stream, so "never repeats" holds across kinds.
An id may have an ``owner`` key (``"<cue_id>/splice"``): asking again for the same owner
gives the same id, so re-planning a break keeps its event identity.
"""

from __future__ import annotations

from typing import Protocol

from scte35lab.schedule.errors import EventIdError

MAX_EVENT_ID = 2**32 - 1


class EventIdSource(Protocol):
    """What a cue plan needs: fresh ids, and a way to claim an id the user chose."""

    def allocate(self, owner: str | None = None) -> int:
        """An id never handed out before in this stream (or ``owner``'s existing id)."""
        ...

    def claim(self, event_id: int, owner: str | None = None) -> int:
        """Take ``event_id``; ``EventIdError`` if it already belongs to another owner."""
        ...


def check_event_id(event_id: int) -> int:
    """``event_id`` when it is a 32-bit unsigned int, else ``EventIdError``."""
    if isinstance(event_id, bool) or not isinstance(event_id, int):
        raise EventIdError(f"an event id is an int, not {type(event_id).__name__}")
    if not 0 <= event_id <= MAX_EVENT_ID:
        raise EventIdError(f"event id {event_id} is outside 0..{MAX_EVENT_ID}")
    return event_id


class EventIdAllocator:
    """In-memory ``EventIdSource`` for one stream; ``Store.event_ids(stream)`` persists one."""

    def __init__(self, start: int = 1, used: dict[int, str | None] | None = None) -> None:
        self._next = check_event_id(start)
        self._owner_of: dict[int, str | None] = dict(used or {})
        self._id_of: dict[str, int] = {o: i for i, o in self._owner_of.items() if o is not None}

    def allocate(self, owner: str | None = None) -> int:
        """The next free id from ``start`` upwards (or ``owner``'s existing id)."""
        if owner is not None and owner in self._id_of:
            return self._id_of[owner]
        candidate = self._next
        for _ in range(MAX_EVENT_ID + 1):
            if candidate not in self._owner_of:
                break
            candidate = (candidate + 1) % (MAX_EVENT_ID + 1)
        else:  # pragma: no cover - 2**32 ids in memory is not reachable
            raise EventIdError("every event id of this stream is used")
        self._take(candidate, owner)
        self._next = (candidate + 1) % (MAX_EVENT_ID + 1)
        return candidate

    def claim(self, event_id: int, owner: str | None = None) -> int:
        """Take the chosen ``event_id`` for ``owner``; taking another owner's id is an error."""
        check_event_id(event_id)
        if event_id in self._owner_of:
            holder = self._owner_of[event_id]
            if owner is not None and holder == owner:
                return event_id
            raise EventIdError(
                f"event id {event_id} was already used in this stream"
                + (f" by {holder!r}" if holder else "")
            )
        if owner is not None and owner in self._id_of:
            self._owner_of[self._id_of.pop(owner)] = None  # old id stays used, just unowned
        self._take(event_id, owner)
        return event_id

    def _take(self, event_id: int, owner: str | None) -> None:
        self._owner_of[event_id] = owner
        if owner is not None:
            self._id_of[owner] = event_id

    @property
    def used(self) -> dict[int, str | None]:
        """Every id handed out or claimed, with its owner."""
        return dict(self._owner_of)

    def __repr__(self) -> str:
        return f"EventIdAllocator({len(self._owner_of)} used, next={self._next})"
