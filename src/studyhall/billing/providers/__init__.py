"""Payment providers behind one interface; ``get(name)`` returns a configured instance."""

from __future__ import annotations

from studyhall.billing.config import billing_settings
from studyhall.billing.providers.base import Provider
from studyhall.billing.providers.manual import ManualProvider
from studyhall.billing.providers.paymob import PaymobProvider
from studyhall.billing.providers.stripe import StripeProvider


def get(name: str) -> Provider:
    settings = billing_settings()
    if name == "manual":
        return ManualProvider(settings)
    if name == "stripe":
        return StripeProvider(settings)
    if name == "paymob":
        return PaymobProvider(settings)
    raise LookupError(f"unknown payment provider {name!r}")
