"""Transitional: ``scheduling/payment.py`` still imports ``studyhall.billing.payments``. It moves to
``studyhall.billing.service`` (the public surface); delete this module when it has."""

from __future__ import annotations

from studyhall.billing.service.checkout import choose_provider, prepare

__all__ = ["choose_provider", "prepare"]
