"""How scheduling takes part in other domains' work, registered when the app or a worker starts.

- Billing sells bookings under the ``booking`` payment purpose: its handlers confirm, release
  and refund the booking's hold (``service.holds``).
- Accounts' closure job winds down a suspended or deleted account: its future bookings are
  canceled, and a deleted account's Google grant is revoked before erasure removes its tokens.
- Notifications read a booking reminder's meeting link from the booking when it goes out.
"""

from __future__ import annotations

from studyhall.accounts import service as account_closures
from studyhall.billing import service as billing
from studyhall.notifications import service as notifications
from studyhall.scheduling.service.account_closures import (
    on_account_closed,
    revoke_google_on_deletion,
)
from studyhall.scheduling.service.holds import BOOKING_PURPOSE
from studyhall.scheduling.service.notices import reminder_values

billing.register_purpose(BOOKING_PURPOSE)
account_closures.on_account_closed("scheduling.bookings", on_account_closed)
account_closures.on_account_closed("scheduling.google", revoke_google_on_deletion)
notifications.read_payload_at_send("booking_reminder", reminder_values)
