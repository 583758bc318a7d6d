"""Request and response bodies of the billing API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from studyhall.kit.inputs import MAX_CENTS, MAX_TOKENS
from studyhall.kit.paging import Page
from studyhall.kit.patch import PatchBody

ProviderField = Literal["manual", "stripe", "paymob"]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["USD"])]
Cents = Annotated[int, Field(gt=0, le=MAX_CENTS)]


class ORM(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PaymentRead(ORM):
    id: uuid.UUID
    user_id: uuid.UUID
    type: str
    purpose: str
    purpose_id: uuid.UUID
    provider: str
    provider_payment_id: str | None
    amount_cents: int
    currency: str
    amount_refunded_cents: int
    status: str
    description: str | None
    failure_code: str | None
    failure_message: str | None
    succeeded_at: datetime | None
    created_at: datetime


class PaymentStarted(BaseModel):
    """The payment, and what the client needs to complete it with the provider."""

    payment: PaymentRead
    client_secret: str | None = None
    checkout_url: str | None = None
    payment_key: str | None = None


class PurchaseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    provider: ProviderField | None = None


class CreditPackCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    credits: int = Field(gt=0, le=1_000_000)
    price_cents: Cents
    currency: Currency


class CreditPackUpdate(PatchBody):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    is_active: bool | None = None


class CreditPackRead(ORM):
    id: uuid.UUID
    name: str
    credits: int
    price_cents: int
    currency: str
    is_active: bool


class LedgerEntryRead(ORM):
    id: uuid.UUID
    seq: int
    delta: int
    reason: str
    balance_after: int
    booking_id: uuid.UUID | None
    payment_id: uuid.UUID | None
    subscription_id: uuid.UUID | None
    period_start: date | None
    reverses_id: uuid.UUID | None
    note: str | None
    expires_at: datetime | None
    created_at: datetime


class ExpiringCredits(BaseModel):
    amount: int
    expires_at: datetime


class CreditsRead(BaseModel):
    """The balance and when unspent credits expire; the ledger itself is paged separately."""

    balance: int
    # The next few moments when unspent credits expire, soonest first.
    expiring: list[ExpiringCredits]


class LedgerEntryPage(Page[LedgerEntryRead]):
    """One page of the credit ledger, newest first."""


class ManualCreditBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    delta: int = Field(ge=-1_000_000, le=1_000_000)
    note: str = Field(min_length=1, max_length=500)


class ReverseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=500)


class MarkBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=500)


class RefundCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount_cents: int | None = Field(
        default=None, le=MAX_CENTS, description="Omit to refund the remainder."
    )
    currency: Currency | None = None
    reason: Literal["cancellation_policy", "course_refund", "hold_expired", "admin"] = "admin"


class RefundRead(ORM):
    id: uuid.UUID
    payment_id: uuid.UUID
    amount_cents: int
    currency: str
    reason: str
    provider: str
    provider_refund_id: str | None
    status: str
    created_at: datetime


class PlanCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(min_length=1, max_length=50, pattern=r"^[a-z0-9_\-]+$")
    name: str = Field(min_length=1, max_length=200)
    billing_cycle: Literal["monthly", "quarterly", "yearly"]
    price_cents: Cents
    currency: Currency
    credits_per_period: int = Field(default=0, ge=0, le=1_000_000)
    ai_daily_token_quota: int | None = Field(default=None, ge=0, le=MAX_TOKENS)
    ai_monthly_token_quota: int | None = Field(default=None, ge=0, le=MAX_TOKENS)
    trial_days: int = Field(default=0, ge=0, le=365)
    provider_plan_ids: dict[str, str] = Field(default_factory=dict)


class PlanRead(ORM):
    id: uuid.UUID
    key: str
    name: str
    billing_cycle: str
    price_cents: int
    currency: str
    credits_per_period: int
    ai_daily_token_quota: int | None
    ai_monthly_token_quota: int | None
    trial_days: int
    is_active: bool


class PlanUpdate(PatchBody):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    is_active: bool | None = None


class SubscribeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plan_id: uuid.UUID
    provider: ProviderField | None = None


class CancelBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at_period_end: bool = True


class SubscriptionRead(ORM):
    id: uuid.UUID
    plan_id: uuid.UUID
    provider: str
    status: str
    price_cents: int
    currency: str
    started_at: datetime
    current_period_start: datetime | None
    current_period_end: datetime | None
    cancel_at_period_end: bool
    canceled_at: datetime | None


class SubscriptionStarted(BaseModel):
    subscription: SubscriptionRead
    payment: PaymentStarted | None
    client_secret: str | None = None


class PaymentMethodRead(ORM):
    """A saved card as its owner sees it; the token never leaves the server."""

    id: uuid.UUID
    provider: str
    masked_pan: str
    brand: str | None
    created_at: datetime


class EntitlementsRead(BaseModel):
    plan_key: str | None
    status: str | None
    entitled: bool
    current_period_end: datetime | None
    grace_until: datetime | None
    ai_daily_token_quota: int | None
    ai_monthly_token_quota: int | None
    credit_balance: int


class WebhookAck(BaseModel):
    received: bool
    duplicate: bool
    event_id: str
    # Only on an event kept but refused (its claims do not match the payment it names): it
    # changes nothing.
    rejected: bool | None = None
    reason: str | None = None


class WebhookEventRead(ORM):
    """A received provider event as admins see it; ``rejected_reason`` says why one was refused."""

    id: uuid.UUID
    provider: str
    event_id: str
    event_type: str
    payload: dict[str, Any]
    received_at: datetime
    processed_at: datetime | None
    attempts: int
    last_error: str | None
    rejected_reason: str | None


# --- tutor payouts ------------------------------------------------------------------------------


class PayoutAccountRead(ORM):
    stripe_account_id: str
    details_submitted: bool
    payouts_enabled: bool


class OnboardingLink(BaseModel):
    stripe_account_id: str
    url: str
    expires_at: datetime | None


class EarningEntryRead(ORM):
    id: uuid.UUID
    booking_id: uuid.UUID | None
    kind: str
    amount_cents: int
    currency: str
    created_at: datetime


class PayoutStatementRead(ORM):
    id: uuid.UUID
    tutor_id: uuid.UUID
    currency: str
    period_start: datetime | None
    period_end: datetime
    entries_cents: int
    carried_in_cents: int
    amount_cents: int
    status: str
    method: str | None
    stripe_transfer_id: str | None
    paid_at: datetime | None


class PayoutStatementDetails(PayoutStatementRead):
    entries: list[EarningEntryRead]


class PayoutStatementPage(Page[PayoutStatementRead]):
    """One page of payout statements, the latest period first."""


class PayoutBalanceRead(BaseModel):
    # Per currency: earned and not on a statement yet, plus a negative total carried forward.
    unpaid_balance_cents: dict[str, int]


class ClosePeriodBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period_end: datetime


class CreditPackPage(Page[CreditPackRead]):
    pass


class PaymentPage(Page[PaymentRead]):
    pass


class AdminPaymentRead(PaymentRead):
    """A payment as admins search them: with who paid."""

    payer_name: str
    payer_email: str


class AdminPaymentPage(Page[AdminPaymentRead]):
    pass


class AdminPayoutStatementRead(PayoutStatementRead):
    """A statement as admins list them: with whose it is."""

    tutor_name: str
    tutor_email: str


class AdminPayoutStatementPage(Page[AdminPayoutStatementRead]):
    pass


class RefundPage(Page[RefundRead]):
    pass


class WebhookEventPage(Page[WebhookEventRead]):
    pass


class PlanPage(Page[PlanRead]):
    pass


class PaymentMethodPage(Page[PaymentMethodRead]):
    pass
