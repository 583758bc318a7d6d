"""Billing tables: payments and their refunds, the provider customers and saved cards, the credit
ledger, plans and subscriptions (Stripe's and our own, Paymob in EGP), provider webhook events and
tutors' payouts.

A payment says what it pays for as ``purpose`` + ``purpose_id`` instead of one foreign key per kind
of thing: bookings and course purchases live in other domains and plug in through the purpose
registry (``studyhall.billing.service.purposes``), so this schema does not change when they do.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from studyhall.db.base import Base, SoftDelete, Timestamps, UUIDPrimaryKey

PROVIDERS = ("manual", "stripe", "paymob")
PAYMENT_TYPES = ("one_off", "product", "credit_pack", "subscription")
PAYMENT_STATUSES = ("pending", "succeeded", "failed", "refunded")
LEDGER_REASONS = ("purchase", "booking", "refund", "manual", "expiry", "subscription")
SUBSCRIPTION_STATUSES = ("trial", "active", "past_due", "unpaid", "canceled")
LIVE_SUBSCRIPTION_STATUSES = ("trial", "active", "past_due", "unpaid")
BILLING_CYCLES = ("monthly", "quarterly", "yearly")
# "duplicate": a second payment for something already paid, given back at once.
REFUND_REASONS = (
    "cancellation_policy",
    "course_refund",
    "hold_expired",
    "admin",
    "provider",
    "duplicate",
)
REFUND_STATUSES = ("pending", "succeeded", "failed")
CURRENCY_CHECK = "currency ~ '^[A-Z]{3}$'"


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class PaymentCustomer(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "payment_customers"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    provider: Mapped[str] = mapped_column(String(20))
    provider_customer_id: Mapped[str] = mapped_column(String(255))

    __table_args__ = (
        CheckConstraint(_in("provider", PROVIDERS), name="provider"),
        UniqueConstraint("user_id", "provider"),
        UniqueConstraint("provider", "provider_customer_id"),
    )


class Payment(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "payments"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    type: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str] = mapped_column(String(40))
    purpose_id: Mapped[uuid.UUID]
    provider: Mapped[str] = mapped_column(String(20))
    provider_payment_id: Mapped[str | None] = mapped_column(String(255))
    provider_checkout_id: Mapped[str | None] = mapped_column(String(255))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    amount_refunded_cents: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    status: Mapped[str] = mapped_column(String(20), server_default="pending")
    description: Mapped[str | None] = mapped_column(String(500))
    failure_code: Mapped[str | None] = mapped_column(String(100))
    failure_message: Mapped[str | None] = mapped_column(Text)
    succeeded_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(_in("type", PAYMENT_TYPES), name="type"),
        CheckConstraint(_in("status", PAYMENT_STATUSES), name="status"),
        CheckConstraint(_in("provider", PROVIDERS), name="provider"),
        CheckConstraint(CURRENCY_CHECK, name="currency"),
        CheckConstraint(
            "amount_cents > 0 AND 0 <= amount_refunded_cents "
            "AND amount_refunded_cents <= amount_cents",
            name="amounts",
        ),
        CheckConstraint(
            "status <> 'refunded' OR amount_refunded_cents = amount_cents", name="refunded_in_full"
        ),
        UniqueConstraint("provider", "provider_payment_id"),
        Index("ix_payments_user_id_created_at", "user_id", "created_at"),
        Index("ix_payments_purpose_purpose_id", "purpose", "purpose_id"),
        # Paymob's callbacks name its order (provider_checkout_id), e.g. a saved card's.
        Index("ix_payments_provider_provider_checkout_id", "provider", "provider_checkout_id"),
        Index(
            "ix_payments_pending_created_at",
            "created_at",
            postgresql_where=text("status = 'pending'"),
        ),
    )


class Refund(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "refunds"

    payment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("payments.id", ondelete="RESTRICT"), index=True
    )
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(String(30))
    provider: Mapped[str] = mapped_column(String(20))
    provider_refund_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20), server_default="pending")
    failure_message: Mapped[str | None] = mapped_column(Text)
    requested_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )

    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount"),
        CheckConstraint(CURRENCY_CHECK, name="currency"),
        CheckConstraint(_in("reason", REFUND_REASONS), name="reason"),
        CheckConstraint(_in("status", REFUND_STATUSES), name="status"),
        CheckConstraint(_in("provider", PROVIDERS), name="provider"),
        UniqueConstraint("provider", "provider_refund_id"),
    )


class WebhookEvent(UUIDPrimaryKey, Base):
    """The received event is never changed; only the processing columns are. A rejected event
    (``rejected_reason``: its claims do not match the payment it names) changed nothing and gives
    up its event id (``<id>:rejected:<suffix>``), so the genuine delivery is still stored."""

    __tablename__ = "webhook_events"

    provider: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())
    processed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text)
    rejected_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint(_in("provider", PROVIDERS), name="provider"),
        UniqueConstraint("provider", "event_id"),
    )


class CreditLedgerEntry(UUIDPrimaryKey, Base):
    """Append-only: the API role may INSERT and SELECT only; corrections are reversing entries."""

    __tablename__ = "credit_ledger"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    seq: Mapped[int] = mapped_column(Integer)
    delta: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(20))
    # The bookings table lives on the scheduling branch; its foreign key is added when it lands.
    booking_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    payment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("payments.id", ondelete="RESTRICT"), index=True
    )
    subscription_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="RESTRICT"), index=True
    )
    period_start: Mapped[date | None]
    reverses_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("credit_ledger.id", ondelete="RESTRICT"), unique=True
    )
    balance_after: Mapped[int] = mapped_column(Integer)
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    note: Mapped[str | None] = mapped_column(String(500))
    # When the credits of a grant expire unspent (NULL: never); see ``billing/expiry.py``.
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        CheckConstraint("delta <> 0", name="delta_non_zero"),
        CheckConstraint("expires_at IS NULL OR delta > 0", name="expires_at_on_grants"),
        CheckConstraint("balance_after >= 0", name="balance_after_non_negative"),
        CheckConstraint("seq >= 1", name="seq"),
        CheckConstraint(_in("reason", LEDGER_REASONS), name="reason"),
        UniqueConstraint("user_id", "seq"),
        Index(
            "uq_credit_ledger_purchase_payment_id",
            "payment_id",
            unique=True,
            postgresql_where=text("reason = 'purchase'"),
        ),
        Index(
            "uq_credit_ledger_subscription_period",
            "subscription_id",
            "period_start",
            unique=True,
            postgresql_where=text("reason = 'subscription'"),
        ),
        Index(
            "uq_credit_ledger_booking_debit",
            "booking_id",
            unique=True,
            postgresql_where=text("reason = 'booking' AND delta < 0"),
        ),
    )


class CreditPack(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "credit_packs"

    name: Mapped[str] = mapped_column(String(200))
    credits: Mapped[int] = mapped_column(Integer)
    price_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    is_active: Mapped[bool] = mapped_column(server_default=text("true"))

    __table_args__ = (
        CheckConstraint("credits > 0", name="credits"),
        CheckConstraint("price_cents > 0", name="price"),
        CheckConstraint(CURRENCY_CHECK, name="currency"),
    )


class Plan(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "plans"

    key: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(200))
    billing_cycle: Mapped[str] = mapped_column(String(20))
    price_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    credits_per_period: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    ai_daily_token_quota: Mapped[int | None] = mapped_column(BigInteger)
    ai_monthly_token_quota: Mapped[int | None] = mapped_column(BigInteger)
    trial_days: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    provider_plan_ids: Mapped[dict[str, str]] = mapped_column(
        JSONB, server_default=text("'{}'::jsonb")
    )
    is_active: Mapped[bool] = mapped_column(server_default=text("true"))

    __table_args__ = (
        CheckConstraint(_in("billing_cycle", BILLING_CYCLES), name="billing_cycle"),
        CheckConstraint("price_cents > 0", name="price"),
        CheckConstraint(CURRENCY_CHECK, name="currency"),
        CheckConstraint("credits_per_period >= 0", name="credits_per_period"),
        CheckConstraint("trial_days >= 0", name="trial_days"),
        CheckConstraint(
            "(ai_daily_token_quota IS NULL OR ai_daily_token_quota >= 0) AND "
            "(ai_monthly_token_quota IS NULL OR ai_monthly_token_quota >= 0)",
            name="quotas",
        ),
        UniqueConstraint("key", "billing_cycle", "currency"),
    )


class Subscription(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "subscriptions"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    plan_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("plans.id", ondelete="RESTRICT"), index=True
    )
    provider: Mapped[str] = mapped_column(String(20))
    provider_subscription_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20))
    price_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    started_at: Mapped[datetime] = mapped_column(server_default=func.now())
    current_period_start: Mapped[datetime | None]
    current_period_end: Mapped[datetime | None]
    cancel_at_period_end: Mapped[bool] = mapped_column(server_default=text("false"))
    canceled_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(_in("status", SUBSCRIPTION_STATUSES), name="status"),
        CheckConstraint(_in("provider", PROVIDERS), name="provider"),
        CheckConstraint("price_cents > 0", name="price"),
        CheckConstraint(CURRENCY_CHECK, name="currency"),
        CheckConstraint(
            "current_period_end IS NULL OR current_period_end > current_period_start",
            name="period",
        ),
        UniqueConstraint("provider", "provider_subscription_id"),
        Index("ix_subscriptions_user_id_status", "user_id", "status"),
        Index(
            "uq_subscriptions_live_user_id",
            "user_id",
            unique=True,
            postgresql_where=text(f"status IN {LIVE_SUBSCRIPTION_STATUSES}"),
        ),
    )


class PaymentMethod(UUIDPrimaryKey, Timestamps, SoftDelete, Base):
    """A saved card (Paymob's card token) that renews the owner's subscription.

    The token is AES-GCM encrypted (accounts' key ring, the row id as associated data); its
    SHA-256 makes a token stored once among live rows. A deleted card keeps no token.
    """

    __tablename__ = "payment_methods"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), index=True
    )
    provider: Mapped[str] = mapped_column(String(20))
    token_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    encryption_key_id: Mapped[str] = mapped_column(String(64))
    token_sha256: Mapped[str] = mapped_column(String(64))
    masked_pan: Mapped[str] = mapped_column(String(32))
    brand: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (
        CheckConstraint(_in("provider", PROVIDERS), name="provider"),
        Index(
            "uq_payment_methods_provider_token_sha256",
            "provider",
            "token_sha256",
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )


# --- tutor payouts ------------------------------------------------------------------------------

EARNING_KINDS = ("earning", "refund")
# In the order a statement moves through them; a later one never goes back (out-of-order events).
STATEMENT_STATUSES = ("carried", "due", "transferring", "paid", "reversed")
PAYOUT_METHODS = ("stripe", "manual")


class PayoutAccount(UUIDPrimaryKey, Timestamps, Base):
    """A tutor's Stripe Connect Express account and what Stripe last said about it."""

    __tablename__ = "payout_accounts"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    stripe_account_id: Mapped[str] = mapped_column(String(255), unique=True)
    details_submitted: Mapped[bool] = mapped_column(server_default=text("false"))
    payouts_enabled: Mapped[bool] = mapped_column(server_default=text("false"))
    # The ``created`` time of the newest ``account.updated`` applied: an older event that
    # arrives later changes nothing.
    last_event_created: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))


class TutorEarningEntry(UUIDPrimaryKey, Base):
    """What a tutor earned (a completed booking) or gave back (a refund after completion).

    ``source_key`` names the event that made the entry, so recording it twice adds nothing. An
    entry joins the first statement closed after it (``statement_id``).
    """

    __tablename__ = "tutor_earning_entries"

    tutor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    booking_id: Mapped[uuid.UUID | None]
    kind: Mapped[str] = mapped_column(String(10))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    source_key: Mapped[str] = mapped_column(String(120), unique=True)
    statement_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("payout_statements.id", ondelete="RESTRICT")
    )
    created_at: Mapped[datetime] = mapped_column(server_default=text("clock_timestamp()"))

    __table_args__ = (
        CheckConstraint(f"kind IN {EARNING_KINDS}", name="kind"),
        CheckConstraint(
            "(kind = 'earning' AND amount_cents >= 0) OR (kind = 'refund' AND amount_cents <= 0)",
            name="sign",
        ),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency"),
        Index(
            "ix_tutor_earning_entries_open",
            "tutor_id",
            "currency",
            "created_at",
            postgresql_where=text("statement_id IS NULL"),
        ),
        Index("ix_tutor_earning_entries_statement_id", "statement_id"),
    )


class PayoutStatement(UUIDPrimaryKey, Timestamps, Base):
    """One tutor's earnings in one currency for one period, and how they were paid out.

    ``amount_cents`` = the period's entries + ``carried_in_cents`` (the previous statement's
    negative total, from refunds after a payout). A total of zero or less is ``carried`` into the
    next statement instead of being paid.
    """

    __tablename__ = "payout_statements"

    tutor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    currency: Mapped[str] = mapped_column(String(3))
    period_start: Mapped[datetime | None]
    period_end: Mapped[datetime]
    entries_cents: Mapped[int] = mapped_column(BigInteger)
    carried_in_cents: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(15))
    method: Mapped[str | None] = mapped_column(String(10))
    stripe_transfer_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    paid_at: Mapped[datetime | None]
    paid_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    __table_args__ = (
        UniqueConstraint("tutor_id", "currency", "period_end"),
        CheckConstraint(f"status IN {STATEMENT_STATUSES}", name="status"),
        CheckConstraint(f"method IS NULL OR method IN {PAYOUT_METHODS}", name="method"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency"),
        CheckConstraint("carried_in_cents <= 0", name="carried_in"),
        CheckConstraint("amount_cents = entries_cents + carried_in_cents", name="amount"),
        CheckConstraint("(status = 'carried') = (amount_cents <= 0)", name="carried"),
        CheckConstraint("status <> 'paid' OR paid_at IS NOT NULL", name="paid"),
        Index("ix_payout_statements_tutor", "tutor_id", "currency", "period_end"),
    )
