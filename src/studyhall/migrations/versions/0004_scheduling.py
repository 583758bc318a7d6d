"""Scheduling: offerings, schedule settings, availability rules, time off, slots, bookings,
calendar feeds, the booking_details view, and the exclusion constraints that make double-booking
impossible.

Revision ID: 0004_scheduling
Revises: 0003_courses
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from studyhall.db.migration_helpers import legacy_owner_rls as enable_owner_rls
from studyhall.db.migration_helpers import updated_at_trigger

revision: str = "0004_scheduling"
down_revision: str | None = "0003_courses"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "calendar_feeds",
    "offerings",
    "time_off_blocks",
    "tutor_schedule_settings",
    "availability_rules",
    "slots",
    "bookings",
)
ACTIVE = "('pending_payment', 'pending_approval', 'confirmed')"

BOOKING_DETAILS = """
CREATE VIEW booking_details WITH (security_invoker = true) AS
SELECT b.id, b.student_id, b.tutor_id, b.offering_id, b.slot_id, b.start_at, b.end_at,
       b.blocked_range, b.status, b.hold_expires_at, b.payment_method, b.payment_status,
       b.price_cents, b.currency, b.amount_authorized_cents, b.amount_captured_cents,
       b.amount_refunded_cents, b.refund_due_cents, b.payment_ref, b.full_refund_notice_hours,
       b.late_refund_percent, b.student_notes, b.tutor_notes, b.canceled_by,
       b.cancellation_reason, b.canceled_at, b.calendar_event_id_student,
       b.calendar_event_id_tutor, b.join_link, b.sequence, b.created_at,
       -- renamed: a view has no trigger, and "updated_at" is reserved for columns that have one
       b.updated_at AS last_changed_at,
       o.title AS offering_title,
       o.description AS offering_description,
       o.duration_minutes,
       t.name AS tutor_name,
       tp.bio AS tutor_bio,
       s.name AS student_name,
       sl.start_at AS slot_start_at,
       sl.end_at AS slot_end_at
FROM bookings b
JOIN offerings o ON o.id = b.offering_id
JOIN users t ON t.id = b.tutor_id
JOIN users s ON s.id = b.student_id
LEFT JOIN tutor_profiles tp ON tp.user_id = b.tutor_id AND tp.deleted_at IS NULL
JOIN slots sl ON sl.id = b.slot_id
"""


def upgrade() -> None:
    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_accessed_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_calendar_feeds_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_feeds_token_hash")),
    )
    op.create_index("ix_calendar_feeds_user_id", "calendar_feeds", ["user_id"], unique=False)
    op.create_table(
        "offerings",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tutor_id", sa.UUID(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("short_description", sa.String(length=500), nullable=False),
        sa.Column(
            "topic_tags",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=True),
        sa.Column("prerequisites", sa.Text(), nullable=True),
        sa.Column("materials_url", sa.String(length=2048), nullable=True),
        sa.Column("max_participants", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column(
            "requires_approval", sa.Boolean(), server_default=sa.text("false"), nullable=False
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
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_offerings_currency")),
        sa.CheckConstraint(
            "level IN ('beginner', 'intermediate', 'advanced')", name=op.f("ck_offerings_level")
        ),
        sa.CheckConstraint(
            "char_length(short_description) <= 500", name=op.f("ck_offerings_short_description")
        ),
        sa.CheckConstraint(
            "duration_minutes > 0 AND duration_minutes % 15 = 0",
            name=op.f("ck_offerings_duration_quarter_hours"),
        ),
        sa.CheckConstraint("max_participants >= 1", name=op.f("ck_offerings_max_participants")),
        sa.CheckConstraint("price_cents >= 0", name=op.f("ck_offerings_price_non_negative")),
        sa.ForeignKeyConstraint(
            ["tutor_id"],
            ["users.id"],
            name=op.f("fk_offerings_tutor_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offerings")),
    )
    op.create_index(
        "ix_offerings_active",
        "offerings",
        ["tutor_id"],
        unique=False,
        postgresql_where=sa.text("is_active AND deleted_at IS NULL"),
    )
    op.create_index(
        "ix_offerings_topic_tags", "offerings", ["topic_tags"], unique=False, postgresql_using="gin"
    )
    op.create_index("ix_offerings_tutor_id", "offerings", ["tutor_id"], unique=False)
    op.create_table(
        "time_off_blocks",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tutor_id", sa.UUID(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
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
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("end_at > start_at", name=op.f("ck_time_off_blocks_interval")),
        sa.ForeignKeyConstraint(
            ["tutor_id"],
            ["users.id"],
            name=op.f("fk_time_off_blocks_tutor_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_time_off_blocks")),
    )
    op.create_table(
        "tutor_schedule_settings",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tutor_id", sa.UUID(), nullable=False),
        sa.Column(
            "buffer_before_minutes", sa.Integer(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column(
            "buffer_after_minutes", sa.Integer(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column("min_notice_minutes", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "booking_horizon_days", sa.Integer(), server_default=sa.text("90"), nullable=True
        ),
        sa.Column("max_bookings_per_day", sa.Integer(), nullable=True),
        sa.Column("max_bookings_per_week", sa.Integer(), nullable=True),
        sa.Column(
            "full_refund_notice_hours", sa.Integer(), server_default=sa.text("24"), nullable=False
        ),
        sa.Column("late_refund_percent", sa.Integer(), server_default=sa.text("0"), nullable=False),
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
            "booking_horizon_days BETWEEN 1 AND 730",
            name=op.f("ck_tutor_schedule_settings_horizon"),
        ),
        sa.CheckConstraint(
            "buffer_before_minutes >= 0 AND buffer_after_minutes >= 0",
            name=op.f("ck_tutor_schedule_settings_buffers"),
        ),
        sa.CheckConstraint(
            "full_refund_notice_hours >= 0", name=op.f("ck_tutor_schedule_settings_refund_notice")
        ),
        sa.CheckConstraint(
            "late_refund_percent BETWEEN 0 AND 100",
            name=op.f("ck_tutor_schedule_settings_late_refund_percent"),
        ),
        sa.CheckConstraint(
            "max_bookings_per_day >= 1 AND max_bookings_per_week >= 1",
            name=op.f("ck_tutor_schedule_settings_caps"),
        ),
        sa.CheckConstraint(
            "min_notice_minutes >= 0", name=op.f("ck_tutor_schedule_settings_min_notice")
        ),
        sa.ForeignKeyConstraint(
            ["tutor_id"],
            ["users.id"],
            name=op.f("fk_tutor_schedule_settings_tutor_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tutor_schedule_settings")),
        sa.UniqueConstraint("tutor_id", name=op.f("uq_tutor_schedule_settings_tutor_id")),
    )
    op.create_table(
        "availability_rules",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tutor_id", sa.UUID(), nullable=False),
        sa.Column("offering_id", sa.UUID(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.Column("rrule", sa.Text(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
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
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "end_date IS NULL OR end_date >= start_date",
            name=op.f("ck_availability_rules_date_range"),
        ),
        sa.CheckConstraint(
            "end_time <> start_time", name=op.f("ck_availability_rules_times_differ")
        ),
        sa.ForeignKeyConstraint(
            ["offering_id"],
            ["offerings.id"],
            name=op.f("fk_availability_rules_offering_id_offerings"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["tutor_id"],
            ["users.id"],
            name=op.f("fk_availability_rules_tutor_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability_rules")),
    )
    op.create_index(
        "ix_availability_rules_offering_id", "availability_rules", ["offering_id"], unique=False
    )
    op.create_index(
        "ix_availability_rules_tutor_active",
        "availability_rules",
        ["tutor_id", "is_active"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "slots",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tutor_id", sa.UUID(), nullable=False),
        sa.Column("offering_id", sa.UUID(), nullable=False),
        sa.Column("availability_rule_id", sa.UUID(), nullable=True),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="open", nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("seats_taken", sa.Integer(), server_default=sa.text("0"), nullable=False),
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
            "status IN ('open', 'held', 'booked', 'closed')", name=op.f("ck_slots_status")
        ),
        sa.CheckConstraint("capacity >= 1", name=op.f("ck_slots_capacity")),
        sa.CheckConstraint("end_at > start_at", name=op.f("ck_slots_interval")),
        sa.CheckConstraint(
            "seats_taken >= 0 AND seats_taken <= capacity", name=op.f("ck_slots_seats")
        ),
        sa.ForeignKeyConstraint(
            ["availability_rule_id"],
            ["availability_rules.id"],
            name=op.f("fk_slots_availability_rule_id_availability_rules"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["offering_id"],
            ["offerings.id"],
            name=op.f("fk_slots_offering_id_offerings"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["tutor_id"], ["users.id"], name=op.f("fk_slots_tutor_id_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slots")),
        sa.UniqueConstraint("offering_id", "start_at", name=op.f("uq_slots_offering_id_start_at")),
    )
    op.create_index(
        "ix_slots_availability_rule_id", "slots", ["availability_rule_id"], unique=False
    )
    op.create_index(
        "ix_slots_offering_open",
        "slots",
        ["offering_id", "start_at"],
        unique=False,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index(
        "ix_slots_tutor_open",
        "slots",
        ["tutor_id", "start_at"],
        unique=False,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index("ix_slots_tutor_start", "slots", ["tutor_id", "start_at"], unique=False)
    op.create_table(
        "bookings",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("student_id", sa.UUID(), nullable=False),
        sa.Column("tutor_id", sa.UUID(), nullable=False),
        sa.Column("offering_id", sa.UUID(), nullable=False),
        sa.Column("slot_id", sa.UUID(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_range", postgresql.TSTZRANGE(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("hold_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("payment_method", sa.String(length=10), server_default="free", nullable=False),
        sa.Column(
            "payment_status", sa.String(length=20), server_default="not_required", nullable=False
        ),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "amount_authorized_cents", sa.BigInteger(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column(
            "amount_captured_cents", sa.BigInteger(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column(
            "amount_refunded_cents", sa.BigInteger(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column("refund_due_cents", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("payment_ref", sa.String(length=255), nullable=True),
        sa.Column(
            "full_refund_notice_hours", sa.Integer(), server_default=sa.text("24"), nullable=False
        ),
        sa.Column("late_refund_percent", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("student_notes", sa.Text(), nullable=True),
        sa.Column("tutor_notes", sa.Text(), nullable=True),
        sa.Column("canceled_by", sa.String(length=10), nullable=True),
        sa.Column("cancellation_reason", sa.String(length=500), nullable=True),
        sa.Column("canceled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("calendar_event_id_student", sa.String(length=1024), nullable=True),
        sa.Column("calendar_event_id_tutor", sa.String(length=1024), nullable=True),
        sa.Column("join_link", sa.String(length=2048), nullable=True),
        sa.Column("sequence", sa.Integer(), server_default=sa.text("0"), nullable=False),
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
            "canceled_by IN ('student', 'tutor', 'admin', 'system')",
            name=op.f("ck_bookings_canceled_by"),
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_bookings_currency")),
        sa.CheckConstraint(
            "payment_method IN ('free', 'provider', 'credits')",
            name=op.f("ck_bookings_payment_method"),
        ),
        sa.CheckConstraint(
            "payment_status IN ('not_required', 'pending', 'processing', 'authorized', "
            "'captured', 'failed', 'canceled', 'refunded')",
            name=op.f("ck_bookings_payment_status"),
        ),
        sa.CheckConstraint(
            "status IN ('pending_payment', 'pending_approval', 'confirmed', 'completed', "
            "'canceled', 'declined', 'refunded')",
            name=op.f("ck_bookings_status"),
        ),
        sa.CheckConstraint(
            "status NOT IN ('pending_payment', 'pending_approval') OR hold_expires_at IS NOT NULL",
            name=op.f("ck_bookings_hold_expiry"),
        ),
        sa.CheckConstraint(
            "amount_refunded_cents <= amount_captured_cents",
            name=op.f("ck_bookings_refund_le_capture"),
        ),
        sa.CheckConstraint(
            "blocked_range @> tstzrange(start_at, end_at)", name=op.f("ck_bookings_blocked_range")
        ),
        sa.CheckConstraint("end_at > start_at", name=op.f("ck_bookings_interval")),
        sa.CheckConstraint(
            "price_cents >= 0 AND amount_authorized_cents >= 0 AND amount_captured_cents >= 0 "
            "AND amount_refunded_cents >= 0 AND refund_due_cents >= 0",
            name=op.f("ck_bookings_amounts_non_negative"),
        ),
        sa.CheckConstraint(
            "refund_due_cents <= amount_captured_cents",
            name=op.f("ck_bookings_refund_due_le_capture"),
        ),
        sa.ForeignKeyConstraint(
            ["offering_id"],
            ["offerings.id"],
            name=op.f("fk_bookings_offering_id_offerings"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["slot_id"], ["slots.id"], name=op.f("fk_bookings_slot_id_slots"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["users.id"],
            name=op.f("fk_bookings_student_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["tutor_id"], ["users.id"], name=op.f("fk_bookings_tutor_id_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bookings")),
    )
    op.create_index(
        "ix_bookings_confirmed_end",
        "bookings",
        ["end_at"],
        unique=False,
        postgresql_where=sa.text("status = 'confirmed'"),
    )
    op.create_index(
        "ix_bookings_hold_expiry",
        "bookings",
        ["hold_expires_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('pending_payment', 'pending_approval')"),
    )
    op.create_index("ix_bookings_offering_id", "bookings", ["offering_id"], unique=False)
    op.create_index("ix_bookings_slot_id", "bookings", ["slot_id"], unique=False)
    op.create_index(
        "ix_bookings_student_start", "bookings", ["student_id", "start_at"], unique=False
    )
    op.create_index("ix_bookings_tutor_start", "bookings", ["tutor_id", "start_at"], unique=False)

    # Exclusion predicates cannot call now(): an expired hold stops blocking when it is moved to
    # 'canceled' (by the booking transaction itself or by the release job).
    op.execute(
        "ALTER TABLE bookings ADD CONSTRAINT ex_bookings_tutor_overlap EXCLUDE USING gist "
        f"(tutor_id WITH =, slot_id WITH <>, blocked_range WITH &&) WHERE (status IN {ACTIVE})"
    )
    op.execute(
        "ALTER TABLE bookings ADD CONSTRAINT ex_bookings_student_overlap EXCLUDE USING gist "
        f"(student_id WITH =, tstzrange(start_at, end_at) WITH &&) WHERE (status IN {ACTIVE})"
    )
    op.execute(
        "ALTER TABLE time_off_blocks ADD CONSTRAINT ex_time_off_blocks_overlap EXCLUDE USING gist "
        "(tutor_id WITH =, tstzrange(start_at, end_at) WITH &&) WHERE (deleted_at IS NULL)"
    )
    op.execute(BOOKING_DETAILS)
    # Private rows: a booking is visible to its two parties, time off and feeds to their owner.
    # Services lift the policies only where they decide for the system (jobs, holds, billing).
    op.execute("ALTER TABLE bookings ENABLE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY bookings_parties ON bookings USING ("
        "current_setting('app.bypass_rls', true) = 'on' OR "
        "student_id::text = current_setting('app.user_id', true) OR "
        "tutor_id::text = current_setting('app.user_id', true))"
    )
    enable_owner_rls("time_off_blocks", "tutor_id")
    enable_owner_rls("calendar_feeds")
    for table in TABLES:
        updated_at_trigger(table)


def downgrade() -> None:
    op.execute("DROP VIEW booking_details")
    op.drop_index("ix_bookings_tutor_start", table_name="bookings")
    op.drop_index("ix_bookings_student_start", table_name="bookings")
    op.drop_index("ix_bookings_slot_id", table_name="bookings")
    op.drop_index("ix_bookings_offering_id", table_name="bookings")
    op.drop_index(
        "ix_bookings_hold_expiry",
        table_name="bookings",
        postgresql_where=sa.text("status IN ('pending_payment', 'pending_approval')"),
    )
    op.drop_index(
        "ix_bookings_confirmed_end",
        table_name="bookings",
        postgresql_where=sa.text("status = 'confirmed'"),
    )
    op.drop_table("bookings")
    op.drop_index("ix_slots_tutor_start", table_name="slots")
    op.drop_index(
        "ix_slots_tutor_open", table_name="slots", postgresql_where=sa.text("status = 'open'")
    )
    op.drop_index(
        "ix_slots_offering_open", table_name="slots", postgresql_where=sa.text("status = 'open'")
    )
    op.drop_index("ix_slots_availability_rule_id", table_name="slots")
    op.drop_table("slots")
    op.drop_index(
        "ix_availability_rules_tutor_active",
        table_name="availability_rules",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_index("ix_availability_rules_offering_id", table_name="availability_rules")
    op.drop_table("availability_rules")
    op.drop_table("tutor_schedule_settings")
    op.drop_table("time_off_blocks")
    op.drop_index("ix_offerings_tutor_id", table_name="offerings")
    op.drop_index("ix_offerings_topic_tags", table_name="offerings", postgresql_using="gin")
    op.drop_index(
        "ix_offerings_active",
        table_name="offerings",
        postgresql_where=sa.text("is_active AND deleted_at IS NULL"),
    )
    op.drop_table("offerings")
    op.drop_index("ix_calendar_feeds_user_id", table_name="calendar_feeds")
    op.drop_table("calendar_feeds")
