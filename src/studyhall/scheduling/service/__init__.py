"""Scheduling's public surface: what the routes, the web app and other domains call
(``from studyhall.scheduling import service``). Scheduling's own modules import each other
directly, never this package."""

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
from studyhall.scheduling.service.tutor_settings import get_settings

__all__ = [
    "Booked",
    "LearnerTotals",
    "ListedSlot",
    "PastTutor",
    "approve",
    "book",
    "book_and_pay",
    "booking_ics",
    "cancel",
    "cancel_booking",
    "confirm_booking_payment",
    "create_booking",
    "create_feed",
    "create_offering",
    "create_rule",
    "create_time_off",
    "credits_for",
    "decide_approval",
    "decline",
    "delete_offering",
    "delete_rule",
    "delete_time_off",
    "feed_ics",
    "feed_owner",
    "feed_url",
    "get_booking",
    "get_booking_details",
    "get_offering",
    "get_settings",
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
    "refund_due",
    "release_hold",
    "reschedule",
    "reschedule_booking",
    "revoke_feeds",
    "rules_page",
    "time_off_page",
    "tutor_share",
    "update_booking",
    "update_offering",
    "update_settings",
    "utcnow",
    "zone_or_422",
]
