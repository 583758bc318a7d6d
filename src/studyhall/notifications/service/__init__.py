"""The notifications domain's public surface: what other domains and the web app may call.

Notify a person (every channel they allow, quiet hours kept), keep a booking's reminders in step
with the booking (and read its current values when each goes out), warn of a low credit
balance; the web app's inbox and its live bell, the preferences and quiet hours pages, and the
page an e-mail's unsubscribe link opens.
"""

from studyhall.notifications.service.broadcast import latest as latest_broadcasts
from studyhall.notifications.service.broadcast import start as start_broadcast
from studyhall.notifications.service.fresh_payloads import PayloadReader, read_payload_at_send
from studyhall.notifications.service.inbox import (
    list_inbox,
    mark_all_read,
    preferences,
    quiet_hours,
    set_preferences,
    set_quiet_hours,
    unsubscribe,
)
from studyhall.notifications.service.live import STREAM_PING_S, LiveEvent, inbox_events
from studyhall.notifications.service.sending import (
    Notice,
    credit_low,
    drop_booking_reminders,
    move_booking_reminders,
    notify,
    notify_each,
    schedule_booking_reminders,
)
from studyhall.notifications.service.unsubscribe import read_token as read_unsubscribe_token

__all__ = [
    "STREAM_PING_S",
    "LiveEvent",
    "Notice",
    "PayloadReader",
    "credit_low",
    "drop_booking_reminders",
    "inbox_events",
    "latest_broadcasts",
    "list_inbox",
    "mark_all_read",
    "move_booking_reminders",
    "notify",
    "notify_each",
    "preferences",
    "quiet_hours",
    "read_payload_at_send",
    "read_unsubscribe_token",
    "schedule_booking_reminders",
    "set_preferences",
    "set_quiet_hours",
    "start_broadcast",
    "unsubscribe",
]
