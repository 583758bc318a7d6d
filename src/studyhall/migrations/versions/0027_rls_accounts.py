"""Row level security for the accounts tables that hold credentials and consents.

- ``refresh_tokens``, ``auth_tokens``, ``oauth_accounts``, ``guardian_consents`` and
  ``idempotency_keys``: the owner policy (``enable_owner_rls``): the transaction's signed person
  sees and writes their own rows, a unit of work that crosses users sees all.
- ``auth_rate_limits`` counts attempts per address and per hashed account, for nobody in
  particular: only a unit of work that crosses users (the housekeeping job) reads it; requests
  count and hand back attempts through two functions that do only that.
- The flows that run before an identity exists learn, through one narrow ``SECURITY DEFINER``
  function each, only whose credential was presented, and then act for that person:
  ``studyhall_refresh_token_holder`` (the owner of a refresh token, by its hash: rotation and
  reuse detection) and ``studyhall_auth_token_holder`` (the owner of a live emailed token of one
  purpose, by its hash: verification, reset, consent). Possessing the token is the proof; the
  hashes themselves are hidden by the policies, so SQL run as the API role cannot name one.
- ``studyhall_oauth_connected`` answers whether a person has a live connection to a provider (a
  student's slot listing asks it of the tutor), and nothing of the connection itself.

Every function runs as the owner with a fixed ``search_path``; PUBLIC may not call them (the
migrator grants EXECUTE to the app role).

Revision ID: 0027_rls_accounts
Revises: 0026_chunk_vector_indexes
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

from studyhall.db.migration_helpers import enable_owner_rls

revision: str = "0027_rls_accounts"
down_revision: str | None = "0026_chunk_vector_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OWNER_TABLES = (
    "refresh_tokens",
    "auth_tokens",
    "oauth_accounts",
    "guardian_consents",
    "idempotency_keys",
)
CROSSING_ONLY = "auth_rate_limits"

_DEFINER = "SECURITY DEFINER SET search_path = pg_catalog, public"

# Any state: a spent token presented again must still name its family's owner (reuse detection).
REFRESH_TOKEN_HOLDER = f"""
CREATE FUNCTION studyhall_refresh_token_holder(presented_hash text) RETURNS uuid
LANGUAGE sql STABLE {_DEFINER} AS $$
    SELECT user_id FROM refresh_tokens WHERE token_hash = presented_hash
$$
"""

# Only a token that could still be redeemed names its owner.
AUTH_TOKEN_HOLDER = f"""
CREATE FUNCTION studyhall_auth_token_holder(presented_hash text, wanted_purpose text)
RETURNS uuid LANGUAGE sql STABLE {_DEFINER} AS $$
    SELECT user_id FROM auth_tokens
    WHERE token_hash = presented_hash AND purpose = wanted_purpose
      AND used_at IS NULL AND expires_at > now()
$$
"""

OAUTH_CONNECTED = f"""
CREATE FUNCTION studyhall_oauth_connected(person uuid, wanted_provider text) RETURNS boolean
LANGUAGE sql STABLE {_DEFINER} AS $$
    SELECT EXISTS (
        SELECT 1 FROM oauth_accounts
        WHERE user_id = person AND provider = wanted_provider AND deleted_at IS NULL
    )
$$
"""

# One attempt counted in the bucket's current fixed window (an atomic upsert); over the limit,
# the window is marked locked until its end. Returns what the caller needs for Retry-After.
RATE_LIMIT_HIT = f"""
CREATE FUNCTION studyhall_rate_limit_hit(
    counted_bucket text, window_s integer, max_attempts integer,
    OUT counted integer, OUT window_began timestamptz, OUT checked_at timestamptz
) LANGUAGE plpgsql VOLATILE {_DEFINER} AS $$
BEGIN
    INSERT INTO auth_rate_limits AS r (bucket, window_start, attempts)
    VALUES (counted_bucket,
            to_timestamp(floor(extract(epoch FROM now()) / window_s) * window_s), 1)
    ON CONFLICT (bucket, window_start) DO UPDATE SET attempts = r.attempts + 1
    RETURNING r.attempts, r.window_start INTO counted, window_began;
    checked_at := now();
    IF counted > max_attempts
       AND window_began + make_interval(secs => window_s) > checked_at THEN
        UPDATE auth_rate_limits
        SET locked_until = window_began + make_interval(secs => window_s)
        WHERE bucket = counted_bucket AND window_start = window_began;
    END IF;
END
$$
"""

RATE_LIMIT_GIVE_BACK = f"""
CREATE FUNCTION studyhall_rate_limit_give_back(counted_bucket text, window_s integer)
RETURNS void LANGUAGE sql VOLATILE {_DEFINER} AS $$
    UPDATE auth_rate_limits SET attempts = attempts - 1
    WHERE bucket = counted_bucket AND attempts > 0
      AND window_start = to_timestamp(floor(extract(epoch FROM now()) / window_s) * window_s)
$$
"""

FUNCTIONS = (
    (REFRESH_TOKEN_HOLDER, "studyhall_refresh_token_holder(text)"),
    (AUTH_TOKEN_HOLDER, "studyhall_auth_token_holder(text, text)"),
    (OAUTH_CONNECTED, "studyhall_oauth_connected(uuid, text)"),
    (RATE_LIMIT_HIT, "studyhall_rate_limit_hit(text, integer, integer)"),
    (RATE_LIMIT_GIVE_BACK, "studyhall_rate_limit_give_back(text, integer)"),
)


def upgrade() -> None:
    for table in OWNER_TABLES:
        enable_owner_rls(table)
    op.execute(f"ALTER TABLE {CROSSING_ONLY} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {CROSSING_ONLY} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY {CROSSING_ONLY}_crossing ON {CROSSING_ONLY} "
        "USING ((SELECT studyhall_crosses_users()))"
    )
    for definition, signature in FUNCTIONS:
        op.execute(definition)
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")


def downgrade() -> None:
    for _definition, signature in FUNCTIONS:
        op.execute(f"DROP FUNCTION {signature}")
    op.execute(f"DROP POLICY {CROSSING_ONLY}_crossing ON {CROSSING_ONLY}")
    for table in OWNER_TABLES:
        op.execute(f"DROP POLICY {table}_owner ON {table}")
    for table in (*OWNER_TABLES, CROSSING_ONLY):
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
