"""The audit log partitioned by month, with functions to add months and drop archived ones.

- ``audit_log`` becomes ``PARTITION BY RANGE (created_at)``: one partition per calendar month
  (UTC), named ``audit_log_YYYY_MM``, and ``audit_log_default`` for a row whose month has no
  partition yet (so a late partition job never makes a write fail). The primary key becomes
  ``(id, created_at)``: PostgreSQL requires the partition key in every unique constraint.
- The existing rows are moved in this migration, in its one transaction, under a lock that keeps
  writers waiting until the new table is in place. That is acceptable here because the table is
  small in every existing deployment (a few rows per state change, no bulk history yet); a large
  table would instead need a second table filled in batches and a later contract step. Old code
  keeps working on the new table: the name, columns and defaults are the same.
- ``studyhall_audit_log_append_only`` rejects UPDATE and DELETE by anyone but the owner; defined
  on the partitioned table, it applies to every partition, present and future.
- ``studyhall_audit_log_add_month(month)``, ``studyhall_audit_log_ensure_months(ahead)`` and
  ``studyhall_audit_log_drop_month(month)`` run as the owner (the API and worker roles own no
  table and may not create or drop partitions): adding a month moves its rows out of the default
  partition if any arrived there; dropping refuses any month of the last twelve, so a worker
  cannot shorten the log's history below a year whatever it is told.

Revision ID: 0019_audit_partitions
Revises: 0018_integrations
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0019_audit_partitions"
down_revision: str | None = "0018_integrations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = "id, actor_user_id, action, entity, entity_id, diff, request_id, created_at"
MONTHS_AHEAD = 3

APPEND_ONLY_FUNCTION = """
CREATE FUNCTION studyhall_audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_user <> (SELECT tableowner FROM pg_tables
                        WHERE schemaname = 'public' AND tablename = 'audit_log') THEN
        RAISE EXCEPTION 'audit_log is append-only'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN COALESCE(NEW, OLD);
END;
$$
"""

ADD_MONTH_FUNCTION = """
CREATE FUNCTION studyhall_audit_log_add_month(p_month date) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_start timestamp := date_trunc('month', p_month::timestamp);
    v_from timestamptz := v_start AT TIME ZONE 'UTC';
    v_to timestamptz := (v_start + interval '1 month') AT TIME ZONE 'UTC';
    v_name text := 'audit_log_' || to_char(v_start, 'YYYY_MM');
BEGIN
    -- One partition change at a time: two workers adding the same month must not collide.
    PERFORM pg_advisory_xact_lock(hashtext('studyhall_audit_log_partitions'));
    IF to_regclass(v_name) IS NOT NULL THEN
        RETURN false;
    END IF;
    IF EXISTS (SELECT 1 FROM audit_log_default
               WHERE created_at >= v_from AND created_at < v_to) THEN
        EXECUTE format('CREATE TABLE %I (LIKE audit_log INCLUDING DEFAULTS)', v_name);
        EXECUTE format(
            'WITH moved AS (DELETE FROM audit_log_default '
            'WHERE created_at >= $1 AND created_at < $2 RETURNING *) '
            'INSERT INTO %I SELECT * FROM moved', v_name) USING v_from, v_to;
        EXECUTE format('ALTER TABLE audit_log ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                       v_name, v_from, v_to);
    ELSE
        EXECUTE format('CREATE TABLE %I PARTITION OF audit_log FOR VALUES FROM (%L) TO (%L)',
                       v_name, v_from, v_to);
    END IF;
    RETURN true;
END;
$$
"""

ENSURE_MONTHS_FUNCTION = """
CREATE FUNCTION studyhall_audit_log_ensure_months(p_ahead integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_created integer := 0;
    v_this_month date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
BEGIN
    IF p_ahead < 0 OR p_ahead > 24 THEN
        RAISE EXCEPTION 'months ahead must be between 0 and 24' USING ERRCODE = 'data_exception';
    END IF;
    FOR i IN 0..p_ahead LOOP
        IF studyhall_audit_log_add_month((v_this_month + make_interval(months => i))::date) THEN
            v_created := v_created + 1;
        END IF;
    END LOOP;
    RETURN v_created;
END;
$$
"""

DROP_MONTH_FUNCTION = """
CREATE FUNCTION studyhall_audit_log_drop_month(p_month date) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_start timestamp := date_trunc('month', p_month::timestamp);
    v_name text := 'audit_log_' || to_char(v_start, 'YYYY_MM');
BEGIN
    IF v_start + interval '1 month'
       > date_trunc('month', now() AT TIME ZONE 'UTC') - interval '12 months' THEN
        RAISE EXCEPTION 'the audit log keeps at least its last twelve months'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('studyhall_audit_log_partitions'));
    IF NOT EXISTS (SELECT 1 FROM pg_inherits
                   WHERE inhparent = 'audit_log'::regclass AND inhrelid = to_regclass(v_name)) THEN
        RETURN false;
    END IF;
    EXECUTE format('ALTER TABLE audit_log DETACH PARTITION %I', v_name);
    EXECUTE format('DROP TABLE %I', v_name);
    RETURN true;
END;
$$
"""

FUNCTIONS = (
    "studyhall_audit_log_add_month(date)",
    "studyhall_audit_log_ensure_months(integer)",
    "studyhall_audit_log_drop_month(date)",
)


def _create_partitioned_table() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("actor_user_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("entity", sa.String(100), nullable=False),
        sa.Column("entity_id", sa.String(100), nullable=True),
        sa.Column("diff", postgresql.JSONB(), nullable=True),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["users.id"],
            name="fk_audit_log_actor_user_id_users",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", "created_at", name="pk_audit_log"),
        postgresql_partition_by="RANGE (created_at)",
    )
    op.create_index("ix_audit_log_actor_user_id", "audit_log", ["actor_user_id"])
    op.create_index("ix_audit_log_action", "audit_log", ["action"])
    op.create_index("ix_audit_log_created_at", "audit_log", ["created_at"])
    op.create_index("ix_audit_log_entity_entity_id", "audit_log", ["entity", "entity_id"])
    op.execute("CREATE TABLE audit_log_default PARTITION OF audit_log DEFAULT")
    op.execute(
        "CREATE TRIGGER trg_audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION studyhall_audit_log_append_only()"
    )


def upgrade() -> None:
    op.execute(APPEND_ONLY_FUNCTION)
    op.execute(ADD_MONTH_FUNCTION)
    op.execute(ENSURE_MONTHS_FUNCTION)
    op.execute(DROP_MONTH_FUNCTION)
    for function in FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
    # Writers wait from here to the commit, so no row lands in the old table after the copy.
    op.execute("LOCK TABLE audit_log IN EXCLUSIVE MODE")
    op.execute(
        f"CREATE TEMPORARY TABLE audit_log_moving ON COMMIT DROP AS SELECT {COLUMNS} FROM audit_log"
    )
    # The old, unpartitioned table: its rows are in audit_log_moving and go back into the new
    # table below, in this same transaction (see the module's docstring for why a move is fine).
    op.execute("-- squawk-ignore ban-drop-table\nDROP TABLE audit_log")
    _create_partitioned_table()
    op.execute(f"INSERT INTO audit_log ({COLUMNS}) SELECT {COLUMNS} FROM audit_log_moving")
    # A partition for every month that has rows, and for the next few: rows leave the default.
    op.execute(
        "SELECT studyhall_audit_log_add_month(month::date) FROM generate_series("
        "date_trunc('month', LEAST((SELECT min(created_at) FROM audit_log_moving), now()) "
        "AT TIME ZONE 'UTC'), "
        f"date_trunc('month', now() AT TIME ZONE 'UTC') + interval '{MONTHS_AHEAD} months', "
        "interval '1 month') AS month"
    )


def downgrade() -> None:
    op.execute("LOCK TABLE audit_log IN EXCLUSIVE MODE")
    op.execute(
        "CREATE TEMPORARY TABLE audit_log_unpartitioning ON COMMIT DROP AS "
        f"SELECT {COLUMNS} FROM audit_log"
    )
    op.drop_table("audit_log")
    for function in FUNCTIONS:
        op.execute(f"DROP FUNCTION {function}")
    op.execute("DROP FUNCTION studyhall_audit_log_append_only()")
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("actor_user_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("entity", sa.String(100), nullable=False),
        sa.Column("entity_id", sa.String(100), nullable=True),
        sa.Column("diff", postgresql.JSONB(), nullable=True),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["users.id"],
            name="fk_audit_log_actor_user_id_users",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_actor_user_id", "audit_log", ["actor_user_id"])
    op.create_index("ix_audit_log_action", "audit_log", ["action"])
    op.create_index("ix_audit_log_created_at", "audit_log", ["created_at"])
    op.create_index("ix_audit_log_entity_entity_id", "audit_log", ["entity", "entity_id"])
    op.execute(f"INSERT INTO audit_log ({COLUMNS}) SELECT {COLUMNS} FROM audit_log_unpartitioning")
