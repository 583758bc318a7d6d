"""How courses plugs into the domains below it: the ``course_purchase`` payment purpose.

Billing calls these handlers inside the transaction that changes a course payment's status, with
the payment row locked: a succeeded payment pays the purchase and grants access, a full refund
takes the access back, and a refund is first checked against the course refund policy."""

from __future__ import annotations

from studyhall.billing import service as billing
from studyhall.courses.service.checkout import (
    PURPOSE,
    before_payment_refund,
    on_payment_refunded,
    on_payment_succeeded,
)

billing.register_purpose(
    billing.Purpose(
        PURPOSE,
        "product",
        on_succeeded=on_payment_succeeded,
        on_refunded=on_payment_refunded,
        before_refund=before_payment_refund,
    )
)
