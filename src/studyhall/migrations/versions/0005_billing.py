"""Billing: payment customers, payments, refunds, webhook events, credit balances and the
append-only credit ledger, credit packs, plans and subscriptions.

Revision ID: 0005_billing
Revises: 0004_scheduling
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from studyhall.db.migration_helpers import legacy_owner_rls as enable_owner_rls
from studyhall.db.migration_helpers import updated_at_trigger

revision: str = "0005_billing"
down_revision: str | None = "0004_scheduling"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPDATED_AT_TABLES = (
    "credit_packs",
    "plans",
    "credit_balances",
    "payment_customers",
    "payments",
    "subscriptions",
    "refunds",
)

# User-owned rows: the API role sees a user's rows only in that user's transactions.
OWNER_RLS_TABLES = (
    "payments",
    "credit_ledger",
    "credit_balances",
    "subscriptions",
    "payment_customers",
)


def upgrade() -> None:
    op.create_table(
        "credit_packs",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("credits", sa.Integer(), nullable=False),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_credit_packs_currency")),
        sa.CheckConstraint("credits > 0", name=op.f("ck_credit_packs_credits")),
        sa.CheckConstraint("price_cents > 0", name=op.f("ck_credit_packs_price")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_packs")),
    )
    op.create_table(
        "plans",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("key", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("billing_cycle", sa.String(length=20), nullable=False),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("credits_per_period", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("ai_daily_token_quota", sa.BigInteger(), nullable=True),
        sa.Column("ai_monthly_token_quota", sa.BigInteger(), nullable=True),
        sa.Column("trial_days", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "provider_plan_ids",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "billing_cycle IN ('monthly', 'quarterly', 'yearly')",
            name=op.f("ck_plans_billing_cycle"),
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_plans_currency")),
        sa.CheckConstraint(
            "(ai_daily_token_quota IS NULL OR ai_daily_token_quota >= 0) AND "
            "(ai_monthly_token_quota IS NULL OR ai_monthly_token_quota >= 0)",
            name=op.f("ck_plans_quotas"),
        ),
        sa.CheckConstraint("credits_per_period >= 0", name=op.f("ck_plans_credits_per_period")),
        sa.CheckConstraint("price_cents > 0", name=op.f("ck_plans_price")),
        sa.CheckConstraint("trial_days >= 0", name=op.f("ck_plans_trial_days")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
        sa.UniqueConstraint(
            "key", "billing_cycle", "currency", name=op.f("uq_plans_key_billing_cycle_currency")
        ),
    )
    op.create_table(
        "webhook_events",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "provider IN ('manual', 'stripe', 'paymob')", name=op.f("ck_webhook_events_provider")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_events")),
        sa.UniqueConstraint(
            "provider", "event_id", name=op.f("uq_webhook_events_provider_event_id")
        ),
    )
    op.create_table(
        "credit_balances",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("balance", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_seq", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("balance >= 0", name=op.f("ck_credit_balances_balance_non_negative")),
        sa.CheckConstraint("last_seq >= 0", name=op.f("ck_credit_balances_last_seq")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_credit_balances_user_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_credit_balances")),
    )
    op.create_table(
        "payment_customers",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("provider_customer_id", sa.String(length=255), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "provider IN ('manual', 'stripe', 'paymob')", name=op.f("ck_payment_customers_provider")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_payment_customers_user_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_customers")),
        sa.UniqueConstraint(
            "provider",
            "provider_customer_id",
            name=op.f("uq_payment_customers_provider_provider_customer_id"),
        ),
        sa.UniqueConstraint(
            "user_id", "provider", name=op.f("uq_payment_customers_user_id_provider")
        ),
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("purpose_id", sa.UUID(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("provider_payment_id", sa.String(length=255), nullable=True),
        sa.Column("provider_checkout_id", sa.String(length=255), nullable=True),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "amount_refunded_cents", sa.BigInteger(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column("status", sa.String(length=20), server_default="pending", nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("failure_code", sa.String(length=100), nullable=True),
        sa.Column("failure_message", sa.Text(), nullable=True),
        sa.Column("succeeded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_payments_currency")),
        sa.CheckConstraint(
            "provider IN ('manual', 'stripe', 'paymob')", name=op.f("ck_payments_provider")
        ),
        sa.CheckConstraint(
            "status <> 'refunded' OR amount_refunded_cents = amount_cents",
            name=op.f("ck_payments_refunded_in_full"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed', 'refunded')",
            name=op.f("ck_payments_status"),
        ),
        sa.CheckConstraint(
            "type IN ('one_off', 'product', 'credit_pack', 'subscription')",
            name=op.f("ck_payments_type"),
        ),
        sa.CheckConstraint(
            "amount_cents > 0 AND 0 <= amount_refunded_cents "
            "AND amount_refunded_cents <= amount_cents",
            name=op.f("ck_payments_amounts"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_payments_user_id_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint(
            "provider", "provider_payment_id", name=op.f("uq_payments_provider_provider_payment_id")
        ),
    )
    op.create_index(
        "ix_payments_pending_created_at",
        "payments",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_payments_purpose_purpose_id", "payments", ["purpose", "purpose_id"], unique=False
    )
    op.create_index(
        "ix_payments_user_id_created_at", "payments", ["user_id", "created_at"], unique=False
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("plan_id", sa.UUID(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("provider_subscription_id", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("current_period_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("current_period_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "cancel_at_period_end", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("canceled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_subscriptions_currency")),
        sa.CheckConstraint(
            "provider IN ('manual', 'stripe', 'paymob')", name=op.f("ck_subscriptions_provider")
        ),
        sa.CheckConstraint(
            "status IN ('trial', 'active', 'past_due', 'unpaid', 'canceled')",
            name=op.f("ck_subscriptions_status"),
        ),
        sa.CheckConstraint(
            "current_period_end IS NULL OR current_period_end > current_period_start",
            name=op.f("ck_subscriptions_period"),
        ),
        sa.CheckConstraint("price_cents > 0", name=op.f("ck_subscriptions_price")),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plans.id"],
            name=op.f("fk_subscriptions_plan_id_plans"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_subscriptions_user_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
        sa.UniqueConstraint(
            "provider",
            "provider_subscription_id",
            name=op.f("uq_subscriptions_provider_provider_subscription_id"),
        ),
    )
    op.create_index(op.f("ix_subscriptions_plan_id"), "subscriptions", ["plan_id"], unique=False)
    op.create_index(
        "ix_subscriptions_user_id_status", "subscriptions", ["user_id", "status"], unique=False
    )
    op.create_index(
        "uq_subscriptions_live_user_id",
        "subscriptions",
        ["user_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('trial', 'active', 'past_due', 'unpaid')"),
    )
    op.create_table(
        "credit_ledger",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("booking_id", sa.UUID(), nullable=True),
        sa.Column("payment_id", sa.UUID(), nullable=True),
        sa.Column("subscription_id", sa.UUID(), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("reverses_id", sa.UUID(), nullable=True),
        sa.Column("balance_after", sa.Integer(), nullable=False),
        sa.Column("actor_user_id", sa.UUID(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "reason IN ('purchase', 'booking', 'refund', 'manual', 'expiry', 'subscription')",
            name=op.f("ck_credit_ledger_reason"),
        ),
        sa.CheckConstraint(
            "balance_after >= 0", name=op.f("ck_credit_ledger_balance_after_non_negative")
        ),
        sa.CheckConstraint("delta <> 0", name=op.f("ck_credit_ledger_delta_non_zero")),
        sa.CheckConstraint("seq >= 1", name=op.f("ck_credit_ledger_seq")),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["users.id"],
            name=op.f("fk_credit_ledger_actor_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_credit_ledger_payment_id_payments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["credit_ledger.id"],
            name=op.f("fk_credit_ledger_reverses_id_credit_ledger"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_credit_ledger_subscription_id_subscriptions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_credit_ledger_user_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_ledger")),
        sa.UniqueConstraint("reverses_id", name=op.f("uq_credit_ledger_reverses_id")),
        sa.UniqueConstraint("user_id", "seq", name=op.f("uq_credit_ledger_user_id_seq")),
    )
    op.create_index(
        op.f("ix_credit_ledger_actor_user_id"), "credit_ledger", ["actor_user_id"], unique=False
    )
    op.create_index(
        op.f("ix_credit_ledger_booking_id"), "credit_ledger", ["booking_id"], unique=False
    )
    op.create_index(
        op.f("ix_credit_ledger_payment_id"), "credit_ledger", ["payment_id"], unique=False
    )
    op.create_index(
        op.f("ix_credit_ledger_subscription_id"), "credit_ledger", ["subscription_id"], unique=False
    )
    op.create_index(
        "uq_credit_ledger_booking_debit",
        "credit_ledger",
        ["booking_id"],
        unique=True,
        postgresql_where=sa.text("reason = 'booking' AND delta < 0"),
    )
    op.create_index(
        "uq_credit_ledger_purchase_payment_id",
        "credit_ledger",
        ["payment_id"],
        unique=True,
        postgresql_where=sa.text("reason = 'purchase'"),
    )
    op.create_index(
        "uq_credit_ledger_subscription_period",
        "credit_ledger",
        ["subscription_id", "period_start"],
        unique=True,
        postgresql_where=sa.text("reason = 'subscription'"),
    )
    op.create_table(
        "refunds",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("payment_id", sa.UUID(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.String(length=30), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("provider_refund_id", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="pending", nullable=False),
        sa.Column("failure_message", sa.Text(), nullable=True),
        sa.Column("requested_by_user_id", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_refunds_currency")),
        sa.CheckConstraint(
            "provider IN ('manual', 'stripe', 'paymob')", name=op.f("ck_refunds_provider")
        ),
        sa.CheckConstraint(
            "reason IN ('cancellation_policy', 'course_refund', 'hold_expired', 'admin', "
            "'provider', 'duplicate')",
            name=op.f("ck_refunds_reason"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed')", name=op.f("ck_refunds_status")
        ),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_refunds_amount")),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_refunds_payment_id_payments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_user_id"],
            ["users.id"],
            name=op.f("fk_refunds_requested_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
        sa.UniqueConstraint(
            "provider", "provider_refund_id", name=op.f("uq_refunds_provider_provider_refund_id")
        ),
    )
    op.create_index(op.f("ix_refunds_payment_id"), "refunds", ["payment_id"], unique=False)
    op.create_index(
        op.f("ix_refunds_requested_by_user_id"), "refunds", ["requested_by_user_id"], unique=False
    )

    for table in UPDATED_AT_TABLES:
        updated_at_trigger(table)
    for table in OWNER_RLS_TABLES:
        enable_owner_rls(table)
    # The API role already lacks UPDATE/DELETE on the ledger (APPEND_ONLY_TABLES in
    # db/migrate.py); this trigger also stops any other non-owner role that was granted more.
    op.execute(
        """
        CREATE FUNCTION studyhall_credit_ledger_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF current_user <> (SELECT tableowner FROM pg_tables
                                WHERE schemaname = 'public' AND tablename = 'credit_ledger') THEN
                RAISE EXCEPTION 'credit_ledger is append-only: post a reversing entry instead'
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN COALESCE(NEW, OLD);
        END;
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER trg_credit_ledger_append_only BEFORE UPDATE OR DELETE ON credit_ledger "
        "FOR EACH ROW EXECUTE FUNCTION studyhall_credit_ledger_append_only()"
    )
    # Courses (0003) keeps purchases.payment_id before payments exist; the link is made here.
    op.create_foreign_key(
        op.f("fk_purchases_payment_id_payments"),
        "purchases",
        "payments",
        ["payment_id"],
        ["id"],
        ondelete="RESTRICT",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("fk_purchases_payment_id_payments"), "purchases", type_="foreignkey")
    op.drop_index(op.f("ix_refunds_requested_by_user_id"), table_name="refunds")
    op.drop_index(op.f("ix_refunds_payment_id"), table_name="refunds")
    op.drop_table("refunds")
    op.drop_index(
        "uq_credit_ledger_subscription_period",
        table_name="credit_ledger",
        postgresql_where=sa.text("reason = 'subscription'"),
    )
    op.drop_index(
        "uq_credit_ledger_purchase_payment_id",
        table_name="credit_ledger",
        postgresql_where=sa.text("reason = 'purchase'"),
    )
    op.drop_index(
        "uq_credit_ledger_booking_debit",
        table_name="credit_ledger",
        postgresql_where=sa.text("reason = 'booking' AND delta < 0"),
    )
    op.drop_index(op.f("ix_credit_ledger_subscription_id"), table_name="credit_ledger")
    op.drop_index(op.f("ix_credit_ledger_payment_id"), table_name="credit_ledger")
    op.drop_index(op.f("ix_credit_ledger_booking_id"), table_name="credit_ledger")
    op.drop_index(op.f("ix_credit_ledger_actor_user_id"), table_name="credit_ledger")
    op.drop_table("credit_ledger")
    op.drop_index(
        "uq_subscriptions_live_user_id",
        table_name="subscriptions",
        postgresql_where=sa.text("status IN ('trial', 'active', 'past_due', 'unpaid')"),
    )
    op.drop_index("ix_subscriptions_user_id_status", table_name="subscriptions")
    op.drop_index(op.f("ix_subscriptions_plan_id"), table_name="subscriptions")
    op.drop_table("subscriptions")
    op.drop_index("ix_payments_user_id_created_at", table_name="payments")
    op.drop_index("ix_payments_purpose_purpose_id", table_name="payments")
    op.drop_index(
        "ix_payments_pending_created_at",
        table_name="payments",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_table("payments")
    op.drop_table("payment_customers")
    op.drop_table("credit_balances")
    op.drop_table("webhook_events")
    op.drop_table("plans")
    op.drop_table("credit_packs")

    op.execute("DROP FUNCTION studyhall_credit_ledger_append_only()")
