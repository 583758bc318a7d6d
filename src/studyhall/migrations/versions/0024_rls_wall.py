"""Row level security as a second wall: signed identities, FORCE everywhere, no settable bypass.

- ``studyhall_rls_key``: the HMAC key (derived from the app's secret, see ``db/identity.py``)
  stored as its two padded halves. Only the owner reads it: the API role has no privilege on it
  (``db/migrate.py`` revokes what its blanket grant gives), and the table is filled after every
  upgrade by the migrator, never by a migration (the key is not in the migration's SQL).
- ``studyhall_signed_identity()`` (SECURITY DEFINER, so it may read the key) checks the
  transaction's ``app.user_id``, ``app.user_role`` and ``app.cross_users`` against the HMAC in
  ``app.identity_signature`` (and its expiry). A forged, replayed-after-expiry or unsigned value
  yields no user, no admin and no crossing. ``studyhall_current_user()``,
  ``studyhall_is_admin()`` and ``studyhall_crosses_users()`` read it; the policies call them as
  ``(SELECT fn())`` so each is evaluated once per statement (an init plan), not once per row.
- Every policy is rewritten from ``current_setting(...)`` to those functions, owner columns are
  compared as uuids (an index can serve them), and every table with row level security gets
  ``FORCE ROW LEVEL SECURITY``.
- Notifying someone else from inside another person's request (a tutor's confirmation notifies
  the student) no longer switches row level security off: three narrow SECURITY DEFINER functions
  do only that. ``studyhall_notification_recipients`` returns
  what planning needs (zone, quiet hours, channel choices, whether a phone is on file: never the
  number), ``studyhall_notifications_insert`` writes planned rows (returning ids and states only),
  ``studyhall_notifications_rearm`` frees a dedupe key. A party to a booking may read and re-time
  that booking's reminders (policies ``notifications_booking_reminders_*``).
- Tables that held user data without a policy get one: catalogue rows a tutor publishes
  (offerings, availability, schedule settings) are readable by everyone and written by their
  tutor, an admin, or a unit of work that crosses users.

Revision ID: 0024_rls_wall
Revises: 0023_artifact_error_code
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0024_rls_wall"
down_revision: str | None = "0023_artifact_error_code"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY_TABLE = """
CREATE TABLE studyhall_rls_key (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    inner_pad bytea NOT NULL CHECK (length(inner_pad) = 64),
    outer_pad bytea NOT NULL CHECK (length(outer_pad) = 64)
)
"""

# HMAC-SHA256 (RFC 2104) over "expires|user_id|role|cross", with the key's padded halves stored:
# pgcrypto is not part of every PostgreSQL (the embedded one lacks it); sha256() is built in.
# ``now()`` is the transaction's start, so a signature valid when the transaction began stays
# valid for the whole transaction.
SIGNED_IDENTITY = r"""
CREATE FUNCTION studyhall_signed_identity(
    OUT user_id uuid, OUT is_admin boolean, OUT crosses_users boolean
)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    WITH claimed AS (
        SELECT coalesce(current_setting('app.user_id', true), '') AS uid,
               coalesce(current_setting('app.user_role', true), '') AS role,
               coalesce(current_setting('app.cross_users', true), '') AS crossing,
               split_part(coalesce(current_setting('app.identity_signature', true), ''), ':', 1)
                   AS expires,
               split_part(coalesce(current_setting('app.identity_signature', true), ''), ':', 2)
                   AS mac
    ), checked AS (
        SELECT c.*, (
            c.expires ~ '^[0-9]{1,12}$'
            AND c.expires::bigint >= extract(epoch FROM now())
            AND c.uid ~ '^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?$'
            AND c.mac = encode(sha256(k.outer_pad || sha256(k.inner_pad || convert_to(
                c.expires || '|' || c.uid || '|' || c.role || '|' || c.crossing, 'UTF8'))), 'hex')
        ) AS valid
        FROM claimed c CROSS JOIN studyhall_rls_key k
    )
    SELECT CASE WHEN valid THEN nullif(uid, '')::uuid END,
           valid AND role = 'admin',
           valid AND crossing = 'on'
    FROM checked
$$
"""

READERS = (
    "CREATE FUNCTION studyhall_current_user() RETURNS uuid LANGUAGE sql STABLE "
    "SET search_path = pg_catalog, public AS 'SELECT user_id FROM studyhall_signed_identity()'",
    "CREATE FUNCTION studyhall_is_admin() RETURNS boolean LANGUAGE sql STABLE "
    "SET search_path = pg_catalog, public "
    "AS 'SELECT coalesce((SELECT is_admin FROM studyhall_signed_identity()), false)'",
    "CREATE FUNCTION studyhall_crosses_users() RETURNS boolean LANGUAGE sql STABLE "
    "SET search_path = pg_catalog, public "
    "AS 'SELECT coalesce((SELECT crosses_users FROM studyhall_signed_identity()), false)'",
)
FUNCTIONS = (
    "studyhall_current_user()",
    "studyhall_is_admin()",
    "studyhall_crosses_users()",
    "studyhall_signed_identity()",
)

# The functions run as the owner, which passes row level security (the maintenance role; see
# docs/operations.md). They take no identity: an anonymous request notifies too (a password
# reset). What they allow is only what their names say: a caller learns nothing of a recipient
# beyond planning choices, and cannot read back what it wrote beyond ids and states.
NOTIFICATION_RECIPIENTS = """
CREATE FUNCTION studyhall_notification_recipients(ids uuid[], types text[])
RETURNS TABLE (id uuid, timezone text, has_phone boolean, quiet_hours_start time,
               quiet_hours_end time, choices jsonb)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    RETURN QUERY
    SELECT u.id, u.timezone::text, u.phone IS NOT NULL, s.quiet_hours_start, s.quiet_hours_end,
           coalesce(jsonb_object_agg(p.type || ':' || p.channel, p.enabled)
                    FILTER (WHERE p.channel IS NOT NULL), '{}'::jsonb)
    FROM users u
    LEFT JOIN notification_settings s ON s.user_id = u.id
    LEFT JOIN notification_preferences p ON p.user_id = u.id AND p.type = ANY(types)
    WHERE u.id = ANY(ids) AND u.deleted_at IS NULL AND u.status = 'active'
    GROUP BY u.id, u.timezone, u.phone, s.id
    ORDER BY u.id;
END
$$
"""

_INSERT_ROWS = """
    INSERT INTO notifications AS n (
        user_id, type, channel, payload, scheduled_for, urgent, dedupe_key, entity, entity_id,
        status, sent_at
    )
    SELECT * FROM unnest(user_ids, types, channels, payloads, scheduled, urgent, dedupe_keys,
                         entities, entity_ids, statuses, sent_at)
    ON CONFLICT ON CONSTRAINT uq_notifications_user_id_dedupe_key DO {action}
    RETURNING n.id, n.user_id, n.status::text, n.scheduled_for"""
# Scheduling the same booking at the same time again changes nothing.
_RESCHEDULE = """UPDATE SET
        scheduled_for = EXCLUDED.scheduled_for, payload = EXCLUDED.payload,
        status = 'pending', attempts = 0, last_error = NULL, sent_at = NULL, read_at = NULL
    WHERE n.status = 'canceled' OR n.scheduled_for <> EXCLUDED.scheduled_for"""
NOTIFICATIONS_INSERT = f"""
CREATE FUNCTION studyhall_notifications_insert(
    user_ids uuid[], types text[], channels text[], payloads jsonb[], scheduled timestamptz[],
    urgent boolean[], dedupe_keys text[], entities text[], entity_ids uuid[], statuses text[],
    sent_at timestamptz[], reschedule boolean
)
RETURNS TABLE (id uuid, user_id uuid, status text, scheduled_for timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    IF reschedule THEN
        RETURN QUERY {_INSERT_ROWS.format(action=_RESCHEDULE)};
    ELSE
        RETURN QUERY {_INSERT_ROWS.format(action="NOTHING")};
    END IF;
END
$$
"""

NOTIFICATIONS_REARM = """
CREATE FUNCTION studyhall_notifications_rearm(target uuid, keys text[]) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    UPDATE notifications SET dedupe_key = NULL WHERE user_id = target AND dedupe_key = ANY(keys);
END
$$
"""
NOTIFICATION_FUNCTIONS = (
    "studyhall_notification_recipients(uuid[], text[])",
    "studyhall_notifications_insert(uuid[], text[], text[], jsonb[], timestamptz[], boolean[], "
    "text[], text[], uuid[], text[], timestamptz[], boolean)",
    "studyhall_notifications_rearm(uuid, text[])",
)
# A party to a booking (the bookings policy decides who) reads and re-times its reminders.
BOOKING_REMINDERS = (
    "entity = 'booking' AND type = 'booking_reminder' AND entity_id IN (SELECT id FROM bookings)"
)

OLD_CROSS = "current_setting('app.bypass_rls', true) = 'on'"
NEW_CROSS = "(SELECT studyhall_crosses_users())"
OLD_READER = "NULLIF(current_setting('app.user_id', true), '')::uuid"
NEW_READER = "(SELECT studyhall_current_user())"

# (table, policy, owner columns, clause): the owner policies, USING or WITH CHECK.
OWNER_POLICIES: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    *(
        (table, f"{table}_owner", ("user_id",), "USING")
        for table in (
            "ai_artifacts",
            "ai_quota_counters",
            "ai_quota_reservations",
            "ai_usage",
            "calendar_feeds",
            "chat_messages",
            "chat_threads",
            "course_access",
            "credit_ledger",
            "data_exports",
            "flashcard_reviews",
            "flashcards",
            "learning_profiles",
            "lesson_completions",
            "material_chunks",
            "material_lexemes",
            "materials",
            "notification_preferences",
            "notification_settings",
            "notifications",
            "payment_customers",
            "payment_methods",
            "payments",
            "purchases",
            "quiz_attempts",
            "study_events",
            "study_sessions",
            "subscriptions",
            "topic_progress",
            "user_achievements",
            "user_recommendations",
            "user_streaks",
            "xp_logs",
        )
    ),
    ("time_off_blocks", "time_off_blocks_owner", ("tutor_id",), "USING"),
    ("bookings", "bookings_parties", ("student_id", "tutor_id"), "USING"),
    ("friends", "friends_parties", ("requester_id", "addressee_id"), "USING"),
    ("leaderboard_cache", "leaderboard_cache_owner_delete", ("user_id",), "USING"),
    ("leaderboard_cache", "leaderboard_cache_owner_insert", ("user_id",), "WITH CHECK"),
    ("leaderboard_cache", "leaderboard_cache_owner_update", ("user_id",), "USING"),
    ("student_profiles", "student_profiles_owner_delete", ("user_id",), "USING"),
    ("student_profiles", "student_profiles_owner_update", ("user_id",), "USING"),
)
# (table, policy, column): learners read the materials of the courses they may read.
COURSE_READER_POLICIES = (
    ("materials", "materials_course_readers", "id"),
    ("material_chunks", "material_chunks_course_readers", "material_id"),
    ("material_lexemes", "material_lexemes_course_readers", "material_id"),
)
ADMIN_POLICIES = ("webhook_attempts", "webhook_deliveries", "webhook_endpoints")
OLD_ADMIN = "current_setting('app.user_role', true) = 'admin'"

# Tables that get their first policies here: (table, owner column, who reads).
# (Tutor profiles carry totals and ratings that a student's review or a settlement updates, and
# calendar busy times are read by a student's booking: they wait for narrow functions.)
NEW_TABLES: tuple[tuple[str, str, str], ...] = (
    ("offerings", "tutor_id", "everyone"),
    ("availability_rules", "tutor_id", "everyone"),
    ("tutor_schedule_settings", "tutor_id", "everyone"),
)

RLS_TABLES = tuple(
    dict.fromkeys(
        [table for table, *_ in OWNER_POLICIES]
        + [table for table, *_ in COURSE_READER_POLICIES]
        + list(ADMIN_POLICIES)
        + [table for table, *_ in NEW_TABLES]
        + ["leaderboard_counts"]
    )
)

# The leaderboard's per-value counts (``0021_progress_board_counts``): everyone reads them, a
# learner's own event appends to them, only a unit of work that crosses users compacts them.
OLD_ACTING = "coalesce(current_setting('app.user_id', true), '') <> ''"
NEW_ACTING = f"{NEW_READER} IS NOT NULL"


def _rewrite_board_counts(new: bool) -> None:
    cross, acting = (NEW_CROSS, NEW_ACTING) if new else (OLD_CROSS, OLD_ACTING)
    op.execute(
        "ALTER POLICY leaderboard_counts_insert ON leaderboard_counts "
        f"WITH CHECK ({cross} OR {acting})"
    )
    op.execute(f"ALTER POLICY leaderboard_counts_delete ON leaderboard_counts USING ({cross})")


SEARCHABLE_VIEW = """
CREATE OR REPLACE VIEW material_chunks_searchable AS
SELECT id, material_id, user_id, token_count, search_vector, embedding, embedding_model
FROM material_chunks
WHERE {cross}
   OR user_id = {reader}
   OR material_id IN (SELECT material_id FROM studyhall_course_materials({reader}))
WITH LOCAL CHECK OPTION
"""


def _old_owner(columns: Sequence[str]) -> str:
    owners = " OR ".join(f"{c}::text = current_setting('app.user_id', true)" for c in columns)
    return f"{OLD_CROSS} OR {owners}"


def _new_owner(columns: Sequence[str]) -> str:
    owners = " OR ".join(f"{c} = {NEW_READER}" for c in columns)
    return f"{NEW_CROSS} OR {owners}"


def _course_readers(column: str, reader: str) -> str:
    return f"{column} IN (SELECT material_id FROM studyhall_course_materials({reader}))"


def _rewrite(new: bool) -> None:
    for table, policy, columns, clause in OWNER_POLICIES:
        rule = _new_owner(columns) if new else _old_owner(columns)
        op.execute(f"ALTER POLICY {policy} ON {table} {clause} ({rule})")
    reader = NEW_READER if new else OLD_READER
    for table, policy, column in COURSE_READER_POLICIES:
        op.execute(f"ALTER POLICY {policy} ON {table} USING ({_course_readers(column, reader)})")
    admin = (
        f"{NEW_CROSS} OR (SELECT studyhall_is_admin())" if new else f"{OLD_CROSS} OR {OLD_ADMIN}"
    )
    for table in ADMIN_POLICIES:
        op.execute(f"ALTER POLICY {table}_admins ON {table} USING ({admin})")
    op.execute(SEARCHABLE_VIEW.format(cross=NEW_CROSS if new else OLD_CROSS, reader=reader))


def _protect_new_tables() -> None:
    for table, column, readers in NEW_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        owner = _new_owner((column,))
        if readers == "owner":
            op.execute(f"CREATE POLICY {table}_owner ON {table} USING ({owner})")
            continue
        # Admins may change a tutor's catalogue rows too (the services let them).
        writer = f"{owner} OR (SELECT studyhall_is_admin())"
        op.execute(f"CREATE POLICY {table}_read ON {table} FOR SELECT USING (true)")
        op.execute(
            f"CREATE POLICY {table}_owner_insert ON {table} FOR INSERT WITH CHECK ({writer})"
        )
        op.execute(f"CREATE POLICY {table}_owner_update ON {table} FOR UPDATE USING ({writer})")
        op.execute(f"CREATE POLICY {table}_owner_delete ON {table} FOR DELETE USING ({writer})")


def upgrade() -> None:
    op.execute(KEY_TABLE)
    op.execute("REVOKE ALL ON studyhall_rls_key FROM PUBLIC")
    op.execute(SIGNED_IDENTITY)
    for statement in READERS:
        op.execute(statement)
    op.execute("REVOKE ALL ON FUNCTION studyhall_signed_identity() FROM PUBLIC")
    _rewrite(new=True)
    _rewrite_board_counts(new=True)
    _protect_new_tables()
    for statement in (NOTIFICATION_RECIPIENTS, NOTIFICATIONS_INSERT, NOTIFICATIONS_REARM):
        op.execute(statement)
    for command in ("SELECT", "UPDATE"):
        op.execute(
            f"CREATE POLICY notifications_booking_reminders_{command.lower()} ON notifications "
            f"FOR {command} USING ({BOOKING_REMINDERS})"
        )
    for table in RLS_TABLES:
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")


def downgrade() -> None:
    for table in RLS_TABLES:
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    for table, _column, readers in NEW_TABLES:
        suffixes = (
            ("owner",)
            if readers == "owner"
            else ("read", "owner_insert", "owner_update", "owner_delete")
        )
        for suffix in suffixes:
            op.execute(f"DROP POLICY {table}_{suffix} ON {table}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    for command in ("select", "update"):
        op.execute(f"DROP POLICY notifications_booking_reminders_{command} ON notifications")
    for function in NOTIFICATION_FUNCTIONS:
        op.execute(f"DROP FUNCTION {function}")
    _rewrite(new=False)
    _rewrite_board_counts(new=False)
    for function in FUNCTIONS:
        op.execute(f"DROP FUNCTION {function}")
    op.execute("DROP TABLE studyhall_rls_key")
