"""Translated words for the domain's stable error codes (the services speak English)."""

from __future__ import annotations

from studyhall.kit.errors import DomainError
from studyhall.web.i18n import Viewer


def N_(message: str) -> str:
    """Marks a message for the catalogue; translated where it is shown."""
    return message


BY_CODE = {
    "bad_credentials": N_("The email or password is wrong."),
    "email_taken": N_("An account with this email already exists."),
    "weak_password": N_(
        "Choose a stronger password: at least 8 characters and not a commonly used one."
    ),
    "invalid_token": N_("This link is invalid, expired or already used; ask for a new one."),
    "too_many_attempts": N_("Too many attempts; wait a while before trying again."),
    "already_verified": N_("This email address is already verified."),
    "role_required": N_("This page is not available to your kind of account."),
    "not_found": N_("There is nothing here."),
    "booking_not_found": N_("There is nothing here."),
    "tutor_not_found": N_("There is nothing here."),
    "slot_required": N_("Choose a slot to book."),
    "offering_not_found": N_("There is nothing here."),
    "not_owner": N_("Only the tutor who owns this offering may change it."),
    "same_slot": N_("The booking is already at this time."),
    "different_offering": N_("A booking can only move to another time of the same lesson."),
    "booking_started": N_("This booking has already started."),
    "slot_full": N_("This time is full; choose another."),
    "slot_closed": N_("This time is no longer offered; choose another."),
    "duration_not_multiple_of_15": N_("The length must be a multiple of 15 minutes."),
    "invalid_rule": N_("These hours do not make a valid weekly window."),
    "time_off_overlaps_booking": N_(
        "You have bookings in this time; cancel or reschedule them first."
    ),
    "end_before_start": N_("The last day must not be before the first."),
    "not_pending_approval": N_("This booking is not waiting for approval."),
    "approval_expired": N_("The approval window has passed."),
    "export_not_found": N_("There is nothing here."),
    "user_not_found": N_("There is nothing here."),
    "reauthentication_required": N_("Enter your password again to confirm."),
    "already_suspended": N_("This user is already suspended."),
    "not_suspended": N_("Only a suspended user can be restored."),
    "cannot_suspend_self": N_("Admins cannot suspend themselves."),
    "reason_required": N_("Give a reason for the suspension."),
}

NOTICES = {
    "verify_sent": N_("We sent you an email: open its link to confirm your address."),
    "verified": N_("Your email address is confirmed. Thank you!"),
    "reset_sent": N_("If an account uses this address, a reset link is on its way."),
    "password_changed": N_("Your password was changed. Sign in with the new one."),
    "signed_out": N_("You are signed out."),
    "booked": N_("Your booking is made."),
    "canceled": N_("The booking is canceled."),
    "moved": N_("The booking is moved to the new time."),
    "feed_revoked": N_("The calendar link is turned off; calendar apps using it get nothing."),
    "account_saved": N_("Your settings are saved."),
    "profile_saved": N_("Your profile is saved."),
    "offering_saved": N_("The offering is saved."),
    "hours_added": N_("Your weekly hours are added."),
    "hours_removed": N_("Those hours are removed."),
    "time_off_added": N_("Your time off is saved; no one can book it."),
    "time_off_removed": N_("The time off is removed."),
    "approved": N_("The booking is approved; the student is told."),
    "declined": N_("The booking is declined; the student is told and refunded."),
    "account_deleted": N_(
        "Your account is deleted and you are signed out everywhere. Its personal data is erased "
        "after the grace period."
    ),
    "user_suspended": N_("The user is suspended; their sessions have ended."),
    "user_restored": N_("The suspension is lifted."),
    "tutor_verified": N_("The tutor is verified and listed."),
    "tutor_rejected": N_("The tutor's verification is refused."),
    "broadcast_started": N_("The broadcast is on its way; its progress shows below."),
}

FIELD_FALLBACK = N_("Check this.")

FIELD_PROBLEMS = {
    "email": N_("Enter a valid email address."),
    "password": N_("Enter a password."),
    "name": N_("Enter your name."),
    "role": N_("Choose student or tutor."),
    "timezone": N_("Choose a time zone such as Africa/Cairo or Europe/London."),
}


def domain_message(viewer: Viewer, exc: DomainError) -> str:
    known = BY_CODE.get(exc.code) or BY_CODE.get(exc.default_code)
    return viewer.gettext(known) if known else exc.detail


def notice(viewer: Viewer, key: str | None) -> str | None:
    message = NOTICES.get(key or "")
    return viewer.gettext(message) if message else None
