"""Small helpers the migrations share."""

from __future__ import annotations

from alembic import op


def updated_at_trigger(table: str) -> None:
    """``updated_at`` is kept by the database, whoever writes the row."""
    op.execute(
        f"CREATE TRIGGER trg_{table}_updated_at BEFORE UPDATE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION studyhall_set_updated_at()"
    )


def enable_owner_rls(table: str, owner_column: str = "user_id") -> None:
    """Row level security: the API role sees only rows whose owner is ``app.user_id``.

    Trusted server-side code that must cross users (jobs, admin paths) sets ``app.bypass_rls``.
    """
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY {table}_owner ON {table} USING ("
        "current_setting('app.bypass_rls', true) = 'on' OR "
        f"{owner_column}::text = current_setting('app.user_id', true))"
    )
