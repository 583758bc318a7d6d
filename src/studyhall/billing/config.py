"""Billing settings (env prefix ``STUDYHALL_BILLING_``), kept beside the domain that reads them.

Secrets that rotate (webhook signing secrets) are lists: every listed secret is accepted, so a new
secret can be added before the provider switches to it and the old one removed afterwards.

Which providers a client may pay through is a list too (``ENABLED_PROVIDERS``). The ``manual``
provider's instant success is a development and demo convenience: in ``production`` a manual
payment waits for an admin to mark it paid (bank transfer, cash), and asking for instant success
there is a settings error at startup.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ProviderName = Literal["manual", "stripe", "paymob"]
Environment = Literal["development", "test", "production"]


class BillingSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="STUDYHALL_BILLING_", env_file=".env", extra="ignore", populate_by_name=True
    )

    # The deployment's environment (the same STUDYHALL_ENVIRONMENT the app reads).
    environment: Environment = Field(default="development", alias="STUDYHALL_ENVIRONMENT")
    default_provider: ProviderName = "manual"
    # The providers a client may choose (``provider`` in a purchase); unset: the default only.
    enabled_providers: list[ProviderName] | None = None
    # Manual payments succeed when created, so the product works with no payment account at all
    # (development, tests, the demo). Off, they stay pending until an admin marks them paid or
    # failed. Unset: on, except in production, where it may not be turned on.
    manual_auto_succeed: bool | None = None
    subscription_grace_days: int = Field(default=3, ge=0, le=60)
    platform_fee_rate: float = Field(default=0.2, ge=0, le=1)
    reconcile_after_minutes: int = Field(default=15, ge=1)
    # Days a credit-pack purchase's credits stay usable (plan credits last their period);
    # 0 = credits never expire.
    credit_validity_days: int = Field(default=365, ge=0, le=36_500)

    stripe_api_key: SecretStr | None = None
    stripe_api_base: str = "https://api.stripe.com"
    stripe_webhook_secrets: list[SecretStr] = Field(default_factory=list)
    stripe_webhook_tolerance_s: int = Field(default=300, ge=1)
    # One-off payments: a PaymentIntent the client confirms with its secret, or a hosted Checkout
    # Session the client is sent to (its URL), which returns to one of these URLs.
    stripe_checkout: Literal["payment_intent", "checkout_session"] = "payment_intent"
    stripe_success_url: str | None = None
    stripe_cancel_url: str | None = None
    # Stripe Connect onboarding of tutors (Express accounts): where Stripe sends the tutor when
    # the onboarding link has expired (refresh) or is finished (return).
    stripe_connect_refresh_url: str | None = None
    stripe_connect_return_url: str | None = None

    paymob_secret_key: SecretStr | None = None
    paymob_public_key: str | None = None
    paymob_integration_id: int | None = None
    paymob_api_base: str = "https://accept.paymob.com"
    paymob_hmac_secrets: list[SecretStr] = Field(default_factory=list)
    # The dashboard's (legacy) API key: exchanged at /api/auth/tokens for the token that the
    # transaction inquiry and saved-card payments need.
    paymob_api_key: SecretStr | None = None
    # The recurring (MOTO) integration that charges saved cards for renewals; unset, a Paymob
    # member renews by paying through checkout.
    paymob_moto_integration_id: int | None = None
    paymob_timeout_s: float = Field(default=20.0, gt=0, le=120)

    @model_validator(mode="after")
    def _no_instant_manual_payments_in_production(self) -> BillingSettings:
        if self.environment == "production" and self.manual_auto_succeed:
            raise ValueError(
                "STUDYHALL_BILLING_MANUAL_AUTO_SUCCEED must not be true in production: a manual "
                "payment there waits until an admin marks it paid"
            )
        return self

    @model_validator(mode="after")
    def _default_provider_is_enabled(self) -> BillingSettings:
        if self.default_provider not in self.providers_enabled:
            raise ValueError(
                f"STUDYHALL_BILLING_DEFAULT_PROVIDER={self.default_provider} is not in "
                "STUDYHALL_BILLING_ENABLED_PROVIDERS"
            )
        return self

    @property
    def providers_enabled(self) -> tuple[str, ...]:
        if self.enabled_providers is None:
            return (self.default_provider,)
        return tuple(self.enabled_providers)

    @property
    def manual_settles_at_once(self) -> bool:
        if self.manual_auto_succeed is None:
            return self.environment != "production"
        return self.manual_auto_succeed


_override: BillingSettings | None = None


@lru_cache
def _from_environment() -> BillingSettings:
    return BillingSettings()


def billing_settings() -> BillingSettings:
    return _override if _override is not None else _from_environment()


def configure_billing(settings: BillingSettings | None) -> None:
    """Tests and embedding applications replace the environment's settings here."""
    global _override
    _override = settings


def check_for_environment(environment: Environment) -> BillingSettings:
    """At startup: the billing settings, validated for the app's environment.

    Both read STUDYHALL_ENVIRONMENT, so they agree in a deployment; an app built with explicit
    settings (embedded, tests) may name another environment, and billing then follows the app's,
    so a production app never runs with development's instant manual payments. Raises pydantic's
    ``ValidationError`` naming the offending setting.
    """
    settings = billing_settings()
    if settings.environment == environment:
        return settings
    values = settings.model_dump(exclude={"environment"}) | {"environment": environment}
    adjusted = BillingSettings.model_validate(values)
    configure_billing(adjusted)
    return adjusted
