"""A guardian learns whose guardian they are without reading anyone's consents.

``guardian_consents`` rows are their ward's alone (row level security). The one question a
guardian's own pages ask of them, "whose standing consent names me?", is answered by
``studyhall_guardian_wards()``: the ids of the users whose latest consent row is a given consent
naming the e-mail of the transaction's signed person. It takes no argument, so nobody can ask it
about someone else's address, and it returns ids only (never an e-mail or a consent row).

It runs as the owner with a fixed ``search_path``; PUBLIC may not call it (the migrator grants
EXECUTE to the app role).

Revision ID: 0029_guardian_wards
Revises: 0028_rls_marketplace
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0029_guardian_wards"
down_revision: str | None = "0028_rls_marketplace"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIGNATURE = "studyhall_guardian_wards()"

GUARDIAN_WARDS = """
CREATE FUNCTION studyhall_guardian_wards() RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT standing.user_id
    FROM guardian_consents standing
    JOIN users guardian ON guardian.id = studyhall_current_user()
    WHERE standing.guardian_email = guardian.email
      AND standing.consent_given
      AND NOT EXISTS (
          SELECT 1 FROM guardian_consents newer
          WHERE newer.user_id = standing.user_id
            AND (newer.created_at, newer.id) > (standing.created_at, standing.id)
      )
$$
"""


def upgrade() -> None:
    op.execute(GUARDIAN_WARDS)
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {SIGNATURE}")
