"""Transitional: ``scheduling/payment.py`` still imports ``studyhall.billing.purposes``. It moves to
``studyhall.billing.service`` (the public surface); delete this module when it has."""

from __future__ import annotations

from studyhall.billing.service.purposes import Purpose, register

__all__ = ["Purpose", "register"]
