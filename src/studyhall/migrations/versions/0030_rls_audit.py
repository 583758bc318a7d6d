"""Row level security for the audit log and the jobs' error records.

Both tables get ``ENABLE`` + ``FORCE`` and policies on the signed identity
(``studyhall_current_user()`` / ``studyhall_is_admin()`` / ``studyhall_crosses_users()``, each
wrapped as ``(SELECT f())`` so it runs once per statement):

- ``audit_log`` is read by a signed admin or a unit of work that crosses users (the admin audit
  API and page, the monthly archive, erasure). A request writes rows naming its own signed person
  as the actor, or no actor (anonymous flows such as a failed sign-in); it cannot write a row that
  names somebody else. A unit of work that crosses users writes any row. The table stays
  append-only through the grants and ``studyhall_audit_log_append_only`` (only the owner updates
  or deletes, as erasure's ``studyhall_erase_append_only_rows`` does): the UPDATE and DELETE
  policies let every row through to that trigger, so a forbidden change fails loudly instead of
  silently touching no row.
- The policies are the partitioned parent's: a partition read directly would skip them, so the
  API role holds no privilege on any partition (``db/migrate.py`` revokes them on every upgrade,
  and a partition made later by ``studyhall_audit_log_add_month`` belongs to the owner alone).
- ``job_errors`` is written by the worker's failure hook, which crosses users, and read or purged
  by units of work that cross users or a signed admin.

Revision ID: 0030_rls_audit
Revises: 0029_guardian_wards
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from studyhall.db.migration_helpers import Policy, disable_forced_policies, enable_forced_policies

revision: str = "0030_rls_audit"
down_revision: str | None = "0029_guardian_wards"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CROSS = "(SELECT studyhall_crosses_users())"
ADMIN = "(SELECT studyhall_is_admin())"
ME = "(SELECT studyhall_current_user())"

# (table, policy, command, USING or None, WITH CHECK or None)
POLICIES: tuple[Policy, ...] = (
    ("audit_log", "read", "SELECT", f"{CROSS} OR {ADMIN}", None),
    (
        "audit_log",
        "actor_insert",
        "INSERT",
        None,
        f"{CROSS} OR actor_user_id IS NULL OR actor_user_id = {ME}",
    ),
    # The append-only trigger and the grants refuse these to everyone but the owner.
    ("audit_log", "owner_update", "UPDATE", "true", None),
    ("audit_log", "owner_delete", "DELETE", "true", None),
    ("job_errors", "system", "ALL", f"{CROSS} OR {ADMIN}", None),
)


def upgrade() -> None:
    enable_forced_policies(POLICIES)


def downgrade() -> None:
    disable_forced_policies(POLICIES)
