"""Translated words for the domain's stable error codes (the services speak English)."""

from __future__ import annotations

from studyhall.kit.errors import DomainError
from studyhall.web.i18n import Viewer


def N_(message: str) -> str:
    """Marks a message for the catalogue; translated where it is shown."""
    return message


BY_CODE = {
    "rrule_unbounded": N_(
        "Your weekly hours repeat without an end, so students need a limit on how far ahead "
        "they can book. Keep a number of days, or remove those hours first."
    ),
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
    "quiet_hours_incomplete": N_("Give both times, or turn quiet hours off."),
    "quiet_hours_empty": N_("Quiet hours must start and end at different times."),
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
    "friend_blocked": N_("You cannot ask this person to be friends."),
    "friend_block_not_found": N_("You have not blocked this person."),
    "not_enough_xp": N_("You do not have enough XP for a streak freeze yet."),
    "streak_freeze_limit": N_("You already hold as many streak freezes as you can."),
    "study_session_running": N_("Your study timer is already running."),
    "study_session_not_running": N_("Your study timer is not running."),
    "consent_not_needed": N_("Your account does not need a guardian's consent."),
    "guardian_email_is_own": N_("Your guardian's email must differ from your own."),
    "ward_not_found": N_("There is nothing here."),
    "review_invalid": N_("Choose 1 to 5 stars; the text must not be longer than the form allows."),
    "reply_required": N_("Write a reply."),
    "review_exists": N_("This booking already has a review."),
    "review_frozen": N_("The review can no longer be changed."),
    "review_hidden": N_("A hidden review cannot be changed."),
    "reply_exists": N_("You have already replied to this review."),
    "booking_not_completed": N_("A booking can be reviewed once it is completed."),
    "review_not_allowed": N_("Only the booking's student may review it."),
    "review_not_found": N_("There is nothing here."),
    "google_not_configured": N_("This server is not set up to connect Google Calendar."),
    "google_not_connected": N_("Google Calendar is not connected."),
    "google_unavailable": N_("Google could not be reached; try again in a moment."),
    "calendar_not_readable": N_("Google cannot read that calendar with this connection."),
    "calendar_id_required": N_("Enter a calendar ID."),
    "connect_not_ready": N_("Payouts through Stripe are not set up."),
    "course_not_found": N_("There is nothing here."),
    "lesson_not_found": N_("There is nothing here."),
    "product_not_found": N_("There is nothing here."),
    "product_required": N_("Choose what to buy."),
    "course_access_required": N_("Buy this course to open its lessons."),
    "product_already_purchased": N_("You have already bought this."),
    "refund_window_closed": N_("The time to ask for a refund has passed."),
    "refund_course_completed": N_(
        "A course of this purchase is completed, so it cannot be refunded."
    ),
    "purchase_refunded": N_("This purchase is already refunded."),
    "material_not_found": N_("There is nothing here."),
    "artifact_not_found": N_("There is nothing here."),
    "quiz_not_found": N_("There is nothing here."),
    "flashcard_not_found": N_("There is nothing here."),
    "material_not_ready": N_("These notes are still being processed; try again in a moment."),
    "file_required": N_("Choose a file to upload."),
    "empty_file": N_("The file is empty."),
    "unsupported_type": N_(
        "This kind of file cannot be read; upload PDF, Word, PowerPoint, Markdown or text."
    ),
    "file_too_large": N_("The file is too large."),
    "artifact_type_required": N_("Choose what to make."),
    "rating_required": N_("Choose how well you remembered."),
    "question_required": N_("Write a question first."),
    "export_not_found": N_("There is nothing here."),
    "user_not_found": N_("There is nothing here."),
    "ledger_entry_not_found": N_("There is nothing here."),
    "credits_for_students_only": N_("Credits are for students: this account cannot hold them."),
    "insufficient_credits": N_("Not enough credits for this."),
    "invalid_credit_delta": N_("A change of credits must not be zero and at most a million."),
    "credit_delta_invalid": N_(
        "Enter a whole number of credits: positive grants, negative takes back."
    ),
    "credit_form_invalid": N_("Give a note and a change of at most a million credits."),
    "cannot_reverse_reversal": N_("This entry is itself a reversal; post a new entry instead."),
    "cannot_reverse_expiry": N_(
        "Expired credits are not restored by reversal; post a manual entry instead."
    ),
    "already_reversed": N_("This entry has already been reversed."),
    "credits_already_spent": N_("The credits of this entry are already spent."),
    "reauthentication_required": N_("Enter your password again to confirm."),
    "already_suspended": N_("This user is already suspended."),
    "not_suspended": N_("Only a suspended user can be restored."),
    "cannot_suspend_self": N_("Admins cannot suspend themselves."),
    "reason_required": N_("Give a reason for the suspension."),
    "payment_not_found": N_("There is nothing here."),
    "statement_not_found": N_("There is nothing here."),
    "credit_pack_not_found": N_("There is nothing here."),
    "plan_not_found": N_("There is nothing here."),
    "already_refunded": N_("This payment has already been refunded in full."),
    "payment_not_captured": N_("Only a paid payment can be refunded."),
    "invalid_amount": N_("The refund must be more than nothing and no more than is left."),
    "refund_exceeds_captured": N_("That is more than can still be refunded on this payment."),
    "amount_invalid": N_("Enter a positive amount with no more decimals than the currency has."),
    "payment_state_conflict": N_("This payment is no longer waiting; it cannot be marked."),
    "not_a_manual_payment": N_("This payment's status follows its provider."),
    "statement_not_due": N_("Only a due statement can be marked paid."),
    "period_not_ended": N_("A period can only be closed once it has ended."),
    "period_end_required": N_("Choose the day the period ends."),
    "plan_exists": N_("A plan with this key, billing cycle and currency exists."),
    "price_form_invalid": N_("Check the form: every field needs a valid value."),
    "course_required": N_("Choose a course."),
    "course_link_not_found": N_("The product does not sell this course."),
    "product_form_invalid": N_(
        "Check the form: a name, a description, a web address of the picture, a price and a "
        "currency of three letters."
    ),
    "hide_reason_required": N_("Give a reason for hiding the review."),
    "actor_not_found": N_("No user has this email address."),
    "invalid_day": N_("Choose a day."),
    "invalid_time_range": N_("The first day must not be after the last."),
    "entity_id_without_entity": N_("A subject ID needs the subject type too."),
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
    "card_reviewed": N_("Saved. Here is the next card."),
    "bought": N_("The course is yours. Enjoy learning!"),
    "payment_pending": N_("Your purchase waits for its payment."),
    "refunded": N_("Your purchase is refunded."),
    "lesson_done": N_("Lesson complete. Here is the next one."),
    "course_done": N_("You have completed every lesson of this course."),
    "profile_saved": N_("Your profile is saved."),
    "offering_saved": N_("The offering is saved."),
    "hours_added": N_("Your weekly hours are added."),
    "hours_removed": N_("Those hours are removed."),
    "time_off_added": N_("Your time off is saved; no one can book it."),
    "time_off_removed": N_("The time off is removed."),
    "schedule_settings_saved": N_("Your booking settings are saved."),
    "approved": N_("The booking is approved; the student is told."),
    "declined": N_("The booking is declined; the student is told and refunded."),
    "goal_saved": N_("Your daily goal is saved."),
    "recommendations_refreshed": N_("Your suggestions are up to date."),
    "timer_started": N_("The study timer is running. Keep this page open while you study."),
    "timer_stopped": N_("The study timer is stopped; your minutes are counted."),
    "boards_shown": N_("You appear on leaderboards."),
    "boards_hidden": N_("You no longer appear on leaderboards."),
    "friend_asked": N_("Your friend request is sent."),
    "friend_accepted": N_("You are friends now."),
    "friend_removed": N_("Removed."),
    "friend_blocked": N_("Blocked. They can no longer ask you to be friends."),
    "friend_unblocked": N_("The block is lifted."),
    "freeze_bought": N_("You bought a streak freeze."),
    "preferences_saved": N_("Your notification choices are saved."),
    "quiet_hours_saved": N_("Your quiet hours are saved."),
    "quiet_hours_off": N_("Quiet hours are off."),
    "guardian_asked": N_("We emailed your guardian a link to consent."),
    "guardian_needed": N_(
        "Your account is made. Because of your age, a parent or guardian has to consent first; "
        "we also emailed you a link to confirm your address."
    ),
    "review_saved": N_("Your review is saved."),
    "reply_saved": N_("Your reply is published."),
    "google_connected": N_("Google Calendar is connected."),
    "calendar_chosen": N_("Bookings now go to this calendar, and its busy times block your slots."),
    "my_calendar_chosen": N_("Your bookings now go to this calendar."),
    "google_disconnected": N_("Google Calendar is disconnected and its access revoked."),
    "account_deleted": N_(
        "Your account is deleted and you are signed out everywhere. Its personal data is erased "
        "after the grace period."
    ),
    "user_suspended": N_("The user is suspended; their sessions have ended."),
    "user_restored": N_("The suspension is lifted."),
    "tutor_verified": N_("The tutor is verified and listed."),
    "tutor_rejected": N_("The tutor's verification is refused."),
    "broadcast_started": N_("The broadcast is on its way; its progress shows below."),
    "refund_requested": N_("The refund is made; a provider's refund completes shortly."),
    "payment_marked_paid": N_("The payment is marked paid; what it paid for is granted."),
    "payment_marked_failed": N_("The payment is marked failed; the payer is told."),
    "pack_created": N_("The credit pack is on sale."),
    "plan_created": N_("The plan is on sale."),
    "price_saved": N_("Saved."),
    "product_published": N_("The product is published."),
    "product_unpublished": N_("The product is unpublished."),
    "review_hidden": N_("The review is hidden and no longer counts in the rating."),
    "review_shown": N_("The review is shown again."),
    "period_closed": N_("The period is closed; its statements are below."),
    "period_closed_empty": N_("The period is closed; there was nothing to put on a statement."),
    "statement_paid": N_("The statement is marked paid."),
    "course_featured": N_("The course is featured in the catalogue."),
    "course_unfeatured": N_("The course is no longer featured."),
    "credits_adjusted": N_("The entry is posted to the ledger."),
    "credit_entry_reversed": N_("The entry is reversed."),
    "product_created": N_("The product is made; publish it to put it on sale."),
    "product_saved": N_("The product is saved."),
    "product_course_added": N_("The product sells this course too."),
    "product_course_removed": N_("The product no longer sells this course; buyers keep it."),
}

FIELD_FALLBACK = N_("Check this.")

FIELD_PROBLEMS = {
    "email": N_("Enter a valid email address."),
    "password": N_("Enter a password."),
    "name": N_("Enter your name."),
    "role": N_("Choose student or tutor."),
    "timezone": N_("Choose a time zone such as Africa/Cairo or Europe/London."),
    "date_of_birth": N_("Enter your date of birth as year, month and day."),
    "country": N_("Choose a country from the list."),
}


def domain_message(viewer: Viewer, exc: DomainError) -> str:
    known = BY_CODE.get(exc.code) or BY_CODE.get(exc.default_code)
    return viewer.gettext(known) if known else exc.detail


def notice(viewer: Viewer, key: str | None) -> str | None:
    message = NOTICES.get(key or "")
    return viewer.gettext(message) if message else None
