"""Transitional: ``scheduling/payment.py`` still imports ``studyhall.billing.refunds``. It moves to
``studyhall.billing.service`` (the public surface); delete this module when it has."""

from __future__ import annotations

from studyhall.billing.service.refunds import request

__all__ = ["request"]
