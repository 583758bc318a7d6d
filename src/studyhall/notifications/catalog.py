"""What can be notified, over which channels, and which of it the recipient may turn off."""

from __future__ import annotations

from typing import Literal, get_args

NotificationType = Literal[
    "booking_confirmation",
    "booking_reminder",
    "booking_cancellation",
    "payment_success",
    "payment_failed",
    "credit_low",
    "ai_artifact_ready",
    "system_update",
    "email_verification",
    "password_reset",
    "guardian_consent",
    "achievement_unlocked",
    "data_export_ready",
]
Channel = Literal["email", "sms", "inapp"]

TYPES: tuple[str, ...] = get_args(NotificationType)
CHANNELS: tuple[str, ...] = get_args(Channel)
STATUSES = ("pending", "sent", "failed", "read", "canceled")

# Account emails: a person who cannot receive them cannot use their account, so no preference,
# unsubscribe link or quiet hours applies to them.
TRANSACTIONAL: frozenset[str] = frozenset(
    {"email_verification", "password_reset", "guardian_consent", "data_export_ready"}
)

_EMAIL_AND_INAPP = frozenset({"email", "inapp"})

# SMS costs money and wakes people up: it is on only where the recipient turned it on.
DEFAULT_CHANNELS: dict[str, frozenset[str]] = {
    "booking_confirmation": _EMAIL_AND_INAPP,
    "booking_reminder": _EMAIL_AND_INAPP,
    "booking_cancellation": _EMAIL_AND_INAPP,
    "payment_success": _EMAIL_AND_INAPP,
    "payment_failed": _EMAIL_AND_INAPP,
    "credit_low": _EMAIL_AND_INAPP,
    "ai_artifact_ready": frozenset({"inapp"}),
    "system_update": _EMAIL_AND_INAPP,
    "email_verification": frozenset({"email"}),
    "password_reset": frozenset({"email"}),
    "guardian_consent": frozenset({"email"}),
    "achievement_unlocked": frozenset({"inapp"}),
    "data_export_ready": _EMAIL_AND_INAPP,
}


def default_enabled(type_: str, channel: str) -> bool:
    return channel in DEFAULT_CHANNELS[type_]


def is_transactional(type_: str) -> bool:
    return type_ in TRANSACTIONAL
