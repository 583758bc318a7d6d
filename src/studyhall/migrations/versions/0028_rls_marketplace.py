"""Row level security for the marketplace, billing and study tables that had none.

Every table here gets ``ENABLE`` + ``FORCE`` and policies on the signed identity
(``studyhall_current_user()`` / ``studyhall_is_admin()`` / ``studyhall_crosses_users()``, each
wrapped as ``(SELECT f())`` so it runs once per statement):

- Public rows stay readable by everyone, written by their owner only: a tutor profile that is not
  deleted, a slot that is not closed (a closed one: its tutor and the parties of its bookings), a
  review that is not hidden (a hidden one: its student and tutor).
- Owner-only rows: a user's calendar busy times and when they were synced (a student's booking
  and the slot listing read a tutor's through units of work that already cross users), a tutor's
  payout account, a user's own quizzes (platform quizzes, owner NULL, are read by everyone) and
  the questions of the quizzes they may read.
- Ledgers only cross-user units of work write (settlement, payouts, refunds): the tutor reads
  their earning entries and statements, the payer reads the refunds of their payments.
- Admin tables (notification broadcasts, payment providers' webhook events): a signed admin or a
  unit of work that crosses users (the provider callback, the jobs).
- A student's review moves the tutor's rating: ``studyhall_tutor_rating_refresh`` (SECURITY
  DEFINER) locks the tutor's profile, counts their visible reviews and stores the mean, the count
  and the directory's Bayesian score. It takes no number from the caller, so calling it can only
  store the truth. A trigger keeps those columns, the earning totals and the verification status
  out of reach of the profile's own tutor (only that function, an admin or a unit of work that
  crosses users changes them); another keeps a review's stars and text its student's, its reply
  its tutor's.

Revision ID: 0028_rls_marketplace
Revises: 0027_rls_accounts
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

from studyhall.db.migration_helpers import Policy, disable_forced_policies, enable_forced_policies

revision: str = "0028_rls_marketplace"
down_revision: str | None = "0027_rls_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CROSS = "(SELECT studyhall_crosses_users())"
ADMIN = "(SELECT studyhall_is_admin())"
ME = "(SELECT studyhall_current_user())"


def _owner(*columns: str) -> str:
    return " OR ".join([CROSS, *(f"{column} = {ME}" for column in columns)])


# (table, policy, command, USING or None, WITH CHECK or None)
POLICIES: tuple[Policy, ...] = (
    # A tutor's public profile; the protected columns are the trigger's (below).
    (
        "tutor_profiles",
        "read",
        "SELECT",
        f"deleted_at IS NULL OR {_owner('user_id')} OR {ADMIN}",
        None,
    ),
    ("tutor_profiles", "owner_insert", "INSERT", None, f"{_owner('user_id')} OR {ADMIN}"),
    ("tutor_profiles", "owner_update", "UPDATE", f"{_owner('user_id')} OR {ADMIN}", None),
    ("tutor_profiles", "owner_delete", "DELETE", f"{_owner('user_id')} OR {ADMIN}", None),
    ("calendar_busy_times", "owner", "ALL", _owner("user_id"), None),
    ("calendar_busy_syncs", "owner", "ALL", _owner("user_id"), None),
    # Open, held and booked slots are the tutor's published times; a booking's parties still see
    # its slot after the tutor closed it.
    (
        "slots",
        "read",
        "SELECT",
        f"status <> 'closed' OR {_owner('tutor_id')} OR {ADMIN} "
        "OR id IN (SELECT slot_id FROM bookings)",
        None,
    ),
    ("slots", "owner_insert", "INSERT", None, f"{_owner('tutor_id')} OR {ADMIN}"),
    ("slots", "owner_update", "UPDATE", f"{_owner('tutor_id')} OR {ADMIN}", None),
    ("slots", "owner_delete", "DELETE", f"{_owner('tutor_id')} OR {ADMIN}", None),
    (
        "reviews",
        "read",
        "SELECT",
        f"hidden_at IS NULL OR {_owner('student_id', 'tutor_id')} OR {ADMIN}",
        None,
    ),
    ("reviews", "student_insert", "INSERT", None, _owner("student_id")),
    # The student edits, the tutor replies, an admin hides.
    ("reviews", "parties_update", "UPDATE", f"{_owner('student_id', 'tutor_id')} OR {ADMIN}", None),
    ("reviews", "system_delete", "DELETE", CROSS, None),
    (
        "refunds",
        "payer_read",
        "SELECT",
        f"{CROSS} OR payment_id IN (SELECT id FROM payments)",
        None,
    ),
    ("refunds", "system", "ALL", CROSS, None),
    ("payout_accounts", "owner", "ALL", _owner("user_id"), None),
    ("payout_statements", "tutor_read", "SELECT", _owner("tutor_id"), None),
    ("payout_statements", "system", "ALL", CROSS, None),
    ("tutor_earning_entries", "tutor_read", "SELECT", _owner("tutor_id"), None),
    ("tutor_earning_entries", "system", "ALL", CROSS, None),
    ("quizzes", "read", "SELECT", f"user_id IS NULL OR {_owner('user_id')}", None),
    ("quizzes", "owner", "ALL", _owner("user_id"), None),
    ("quiz_questions", "read", "SELECT", f"{CROSS} OR quiz_id IN (SELECT id FROM quizzes)", None),
    (
        "quiz_questions",
        "owner",
        "ALL",
        f"{CROSS} OR quiz_id IN (SELECT id FROM quizzes WHERE user_id = {ME})",
        None,
    ),
)
# Admin tables: broadcasts an admin starts, payment providers' webhook events (stored by the
# provider callback, applied by a job, listed to admins).
POLICIES += tuple(
    (table, "admins", "ALL", f"{CROSS} OR {ADMIN}", None)
    for table in ("notification_broadcasts", "webhook_events")
)

RATING_REFRESH = """
CREATE FUNCTION studyhall_tutor_rating_refresh(tutor uuid) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    profile_id uuid;
    visible integer;
    stars bigint;
BEGIN
    -- Lock first, count afterwards in a statement that starts after the lock was granted: under
    -- READ COMMITTED that count sees every review whose writer held the lock before.
    SELECT p.id INTO profile_id FROM tutor_profiles p WHERE p.user_id = tutor FOR UPDATE;
    IF profile_id IS NULL THEN
        RETURN false;
    END IF;
    SELECT count(*), coalesce(sum(r.rating), 0) INTO visible, stars
    FROM reviews r WHERE r.tutor_id = tutor AND r.hidden_at IS NULL;
    -- The directory's score: every tutor starts as if they had 5 reviews of 4.0 stars
    -- (accounts/service/ratings.py says why).
    UPDATE tutor_profiles SET
        rating = CASE WHEN visible = 0 THEN NULL ELSE round(stars::numeric / visible, 2) END,
        rating_count = visible,
        rating_score = round((5 * 4.0 + stars) / (5 + visible), 3)
    WHERE id = profile_id;
    RETURN true;
END
$$
"""

# The tutor writes their profile's own fields; what reviews, earnings and verification decide is
# written only by the rating function (running as the owner), an admin or a cross-user unit of
# work (settlement, the demo).
PROFILE_GUARD = """
CREATE FUNCTION studyhall_tutor_profiles_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
BEGIN
    IF (SELECT studyhall_crosses_users()) OR (SELECT studyhall_is_admin())
       OR pg_has_role(current_user, (SELECT c.relowner FROM pg_class c WHERE c.oid = TG_RELID),
                      'USAGE') THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.rating IS NOT NULL OR NEW.rating_count <> 0 OR NEW.rating_score <> 4.000
           OR NEW.total_sessions <> 0 OR NEW.total_earnings_cents <> 0
           OR NEW.verification_status <> 'pending' THEN
            RAISE EXCEPTION 'a new tutor profile starts unrated, unpaid and unverified'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    ELSIF (NEW.user_id, NEW.rating, NEW.rating_count, NEW.rating_score, NEW.total_sessions,
           NEW.total_earnings_cents, NEW.verification_status)
          IS DISTINCT FROM
          (OLD.user_id, OLD.rating, OLD.rating_count, OLD.rating_score, OLD.total_sessions,
           OLD.total_earnings_cents, OLD.verification_status) THEN
        RAISE EXCEPTION 'ratings, totals and verification are not the tutor''s to change'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$
"""
# Both parties may update a review (row level security cannot tell columns apart): the student
# changes its stars and text, the tutor their reply, nobody else anything (an admin hides it).
REVIEWS_GUARD = """
CREATE FUNCTION studyhall_reviews_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
DECLARE
    actor uuid := (SELECT studyhall_current_user());
BEGIN
    IF (SELECT studyhall_crosses_users()) OR (SELECT studyhall_is_admin())
       OR pg_has_role(current_user, (SELECT c.relowner FROM pg_class c WHERE c.oid = TG_RELID),
                      'USAGE') THEN
        RETURN NEW;
    END IF;
    IF (NEW.id, NEW.booking_id, NEW.tutor_id, NEW.student_id, NEW.editable_until,
        NEW.hidden_at, NEW.hidden_by, NEW.hidden_reason, NEW.created_at)
       IS DISTINCT FROM
       (OLD.id, OLD.booking_id, OLD.tutor_id, OLD.student_id, OLD.editable_until,
        OLD.hidden_at, OLD.hidden_by, OLD.hidden_reason, OLD.created_at)
       OR (actor IS DISTINCT FROM OLD.student_id
           AND (NEW.rating, NEW.body) IS DISTINCT FROM (OLD.rating, OLD.body))
       OR (actor IS DISTINCT FROM OLD.tutor_id
           AND (NEW.tutor_reply, NEW.tutor_replied_at)
               IS DISTINCT FROM (OLD.tutor_reply, OLD.tutor_replied_at)) THEN
        RAISE EXCEPTION 'a review''s student changes its stars and text, its tutor the reply'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$
"""
FUNCTIONS = (
    "studyhall_tutor_rating_refresh(uuid)",
    "studyhall_tutor_profiles_guard()",
    "studyhall_reviews_guard()",
)


def upgrade() -> None:
    op.execute(RATING_REFRESH)
    op.execute(PROFILE_GUARD)
    op.execute(REVIEWS_GUARD)
    for function in FUNCTIONS:
        # The migrator grants EXECUTE to the API role (db/migrate.py), nobody else gets it.
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
    op.execute(
        "CREATE TRIGGER trg_tutor_profiles_guard BEFORE INSERT OR UPDATE ON tutor_profiles "
        "FOR EACH ROW EXECUTE FUNCTION studyhall_tutor_profiles_guard()"
    )
    op.execute(
        "CREATE TRIGGER trg_reviews_guard BEFORE UPDATE ON reviews "
        "FOR EACH ROW EXECUTE FUNCTION studyhall_reviews_guard()"
    )
    enable_forced_policies(POLICIES)


def downgrade() -> None:
    disable_forced_policies(POLICIES)
    op.execute("DROP TRIGGER trg_reviews_guard ON reviews")
    op.execute("DROP TRIGGER trg_tutor_profiles_guard ON tutor_profiles")
    for function in FUNCTIONS:
        op.execute(f"DROP FUNCTION {function}")
