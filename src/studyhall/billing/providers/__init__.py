"""Payment providers behind one interface; ``get(name)`` returns a configured instance."""

from __future__ import annotations

from studyhall.billing.config import billing_settings
from studyhall.billing.providers.base import Provider, ProviderNotEnabled
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


def choose(requested: str | None) -> str:
    """The provider a client asked for (None: the default), if it is enabled: a client never
    picks a provider the deployment does not take money through (422 ``provider_not_enabled``,
    raised before anything is written)."""
    settings = billing_settings()
    name = requested or settings.default_provider
    if name not in settings.providers_enabled:
        raise ProviderNotEnabled(
            f"Payments through {name!r} are not accepted here; "
            f"choose one of: {', '.join(settings.providers_enabled)}."
        )
    return name
