"""Transitional: ``scheduling/payment.py`` still imports ``studyhall.billing.ledger``. It moves to
``studyhall.billing.service`` (the public surface); delete this module when it has."""

from __future__ import annotations

from studyhall.billing.service.ledger import Source, post, reverse

__all__ = ["Source", "post", "reverse"]
