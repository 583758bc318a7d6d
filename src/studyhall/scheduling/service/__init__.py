"""Scheduling services (no HTTP). Other domains use ``from studyhall.scheduling import service``."""

from studyhall.scheduling.service.availability import (
    create_rule,
    create_time_off,
    delete_rule,
    delete_time_off,
    list_rules,
    list_time_off,
    update_settings,
)
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
from studyhall.scheduling.service.common import get_settings
from studyhall.scheduling.service.history import PastTutor, last_tutor_not_rebooked
from studyhall.scheduling.service.materialize import materialize_tutor
from studyhall.scheduling.service.offerings import (
    create_offering,
    delete_offering,
    get_offering,
    list_offerings,
    update_offering,
)
from studyhall.scheduling.service.payments import confirm_booking_payment, release_hold
from studyhall.scheduling.service.policy import refund_due

__all__ = [
    "PastTutor",
    "cancel_booking",
    "confirm_booking_payment",
    "create_booking",
    "create_offering",
    "create_rule",
    "create_time_off",
    "decide_approval",
    "delete_offering",
    "delete_rule",
    "delete_time_off",
    "get_booking",
    "get_booking_details",
    "get_offering",
    "get_settings",
    "last_tutor_not_rebooked",
    "list_bookings",
    "list_offerings",
    "list_rules",
    "list_time_off",
    "materialize_tutor",
    "refund_due",
    "release_hold",
    "reschedule_booking",
    "update_booking",
    "update_offering",
    "update_settings",
]
