"""Join links: a fresh room of the configured meeting provider for each booking.

A booking's ``join_link`` is the tutor's standing ``meeting_link`` when they set one; otherwise
a new room in ``STUDYHALL_MEETING_URL_PATTERN`` (by default Jitsi Meet, which needs no account).
Room names are 96 random bits, so knowing a booking's id does not let anyone into its room. A
tutor connected to Google gets a Google Meet link from their calendar event instead; it replaces
only a link made here (``is_generated``), never one the tutor chose.
"""

from __future__ import annotations

import secrets

from studyhall.scheduling.config import scheduling_settings

ROOM = "{room}"


def new_room_link() -> str | None:
    pattern = scheduling_settings().meeting_url_pattern
    if not pattern:
        return None
    return pattern.replace(ROOM, f"{secrets.token_hex(12)}")


def is_generated(link: str | None) -> bool:
    """A link of the configured pattern (or none at all): one a Google Meet link may replace."""
    if link is None:
        return True
    pattern = scheduling_settings().meeting_url_pattern
    if not pattern:
        return False
    before, after = pattern.split(ROOM)
    return link.startswith(before) and link.endswith(after) and len(link) > len(pattern)
