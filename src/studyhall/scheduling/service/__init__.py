"""Scheduling's public surface: what the routes, the web app and other domains call
(``from studyhall.scheduling import service``). Scheduling's own modules import each other
directly, never this package."""

from studyhall.scheduling.google.busy import busy_intervals as google_busy_intervals
from studyhall.scheduling.google.busy import forget as forget_google_busy
from studyhall.scheduling.google.busy import query_free_busy as google_free_busy
from studyhall.scheduling.google.busy import refresh_busy as refresh_google_busy
from studyhall.scheduling.google.busy import synced_at as google_busy_synced_at
from studyhall.scheduling.google.calendar_sync import CalendarAccess as GoogleCalendarAccess
from studyhall.scheduling.google.calendar_sync import access_for as google_calendar_access
from studyhall.scheduling.google.oauth import authorization_url as google_authorization_url
from studyhall.scheduling.google.oauth import choose_calendar as choose_google_calendar
from studyhall.scheduling.google.oauth import connection as google_connection
from studyhall.scheduling.google.oauth import fresh_access as fresh_google_access
from studyhall.scheduling.google.oauth import revoke_and_disconnect as disconnect_google
from studyhall.scheduling.service.actions import (
    Booked,
    approve,
    book,
    book_and_pay,
    cancel,
    decline,
    reschedule,
)
from studyhall.scheduling.service.availability import (
    create_rule,
    create_time_off,
    delete_rule,
    delete_time_off,
    list_rules,
    list_time_off,
    rules_page,
    time_off_page,
    update_settings,
)
from studyhall.scheduling.service.background import refresh_busy_if_stale
from studyhall.scheduling.service.bookings import (
    cancel_booking,
    create_booking,
    decide_approval,
    get_booking,
    get_booking_details,
    list_bookings,
    reschedule_booking,
    update_booking,
)
from studyhall.scheduling.service.clock import utcnow, zone_or_422
from studyhall.scheduling.service.earnings import tutor_share
from studyhall.scheduling.service.history import PastTutor, last_tutor_not_rebooked
from studyhall.scheduling.service.holds import confirm_booking_payment, release_hold
from studyhall.scheduling.service.ics import (
    booking_ics,
    create_feed,
    feed_ics,
    feed_owner,
    feed_url,
    revoke_feeds,
)
from studyhall.scheduling.service.learner_totals import LearnerTotals, learner_totals
from studyhall.scheduling.service.listing import ListedSlot, list_slots
from studyhall.scheduling.service.materialize import materialize_tutor, materialize_tutors
from studyhall.scheduling.service.offerings import (
    create_offering,
    delete_offering,
    get_offering,
    list_offerings,
    owned_offering,
    update_offering,
)
from studyhall.scheduling.service.payments import credits_for
from studyhall.scheduling.service.policy import refund_due
from studyhall.scheduling.service.reviews import (
    ModeratedReview,
    PublicReview,
    create_review,
    reviews_for_admin,
    set_hidden,
    update_review,
    visible_reviews,
)
from studyhall.scheduling.service.reviews import reply as reply_to_review
from studyhall.scheduling.service.tutor_settings import get_settings

__all__ = [
    "Booked",
    "GoogleCalendarAccess",
    "LearnerTotals",
    "ListedSlot",
    "ModeratedReview",
    "PastTutor",
    "PublicReview",
    "approve",
    "book",
    "book_and_pay",
    "booking_ics",
    "cancel",
    "cancel_booking",
    "choose_google_calendar",
    "confirm_booking_payment",
    "create_booking",
    "create_feed",
    "create_offering",
    "create_review",
    "create_rule",
    "create_time_off",
    "credits_for",
    "decide_approval",
    "decline",
    "delete_offering",
    "delete_rule",
    "delete_time_off",
    "disconnect_google",
    "feed_ics",
    "feed_owner",
    "feed_url",
    "forget_google_busy",
    "fresh_google_access",
    "get_booking",
    "get_booking_details",
    "get_offering",
    "get_settings",
    "google_authorization_url",
    "google_busy_intervals",
    "google_busy_synced_at",
    "google_calendar_access",
    "google_connection",
    "google_free_busy",
    "last_tutor_not_rebooked",
    "learner_totals",
    "list_bookings",
    "list_offerings",
    "list_rules",
    "list_slots",
    "list_time_off",
    "materialize_tutor",
    "materialize_tutors",
    "owned_offering",
    "refresh_busy_if_stale",
    "refresh_google_busy",
    "refund_due",
    "release_hold",
    "reply_to_review",
    "reschedule",
    "reschedule_booking",
    "reviews_for_admin",
    "revoke_feeds",
    "rules_page",
    "set_hidden",
    "time_off_page",
    "tutor_share",
    "update_booking",
    "update_offering",
    "update_review",
    "update_settings",
    "utcnow",
    "visible_reviews",
    "zone_or_422",
]
