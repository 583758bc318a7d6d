"""Transitional: ``scheduling/payment.py`` still imports ``studyhall.billing.payouts``. It moves to
``studyhall.billing.service`` (the public surface); delete this module when it has."""

from __future__ import annotations

from studyhall.billing.service.payouts import record_earning, record_refund

__all__ = ["record_earning", "record_refund"]
