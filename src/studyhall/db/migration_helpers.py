"""Small helpers the migrations share."""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

# (table, policy name, command, USING expression, WITH CHECK expression); named ``<table>_<name>``.
Policy = tuple[str, str, str, str | None, str | None]


def updated_at_trigger(table: str) -> None:
    """``updated_at`` is kept by the database, whoever writes the row."""
    op.execute(
        f"CREATE TRIGGER trg_{table}_updated_at BEFORE UPDATE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION studyhall_set_updated_at()"
    )


def enable_owner_rls(table: str, owner_column: str = "user_id") -> None:
    """Row level security, forced: the API role sees only rows whose owner is the transaction's
    signed identity, or every row in a unit of work whose signed declaration crosses users (jobs,
    admin paths). ``db/identity.py`` says why the identity is signed; the functions are made by
    migration ``0024_rls_wall``. Each is wrapped in ``(SELECT ...)`` so it runs once per statement.
    """
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY {table}_owner ON {table} USING ("
        "(SELECT studyhall_crosses_users()) OR "
        f"{owner_column} = (SELECT studyhall_current_user()))"
    )


def legacy_owner_rls(table: str, owner_column: str = "user_id") -> None:
    """What migrations before ``0024_rls_wall`` made (a policy on plain settings, not forced);
    frozen so they replay the same, and rewritten by ``0024_rls_wall``. Never use it anew."""
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY {table}_owner ON {table} USING ("
        "current_setting('app.bypass_rls', true) = 'on' OR "
        f"{owner_column}::text = current_setting('app.user_id', true))"
    )


def _tables_of(policies: Sequence[Policy]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(table for table, *_ in policies))


def enable_forced_policies(policies: Sequence[Policy]) -> None:
    """Row level security, forced, with these policies on their tables (for tables whose rules
    are not one owner column: ``enable_owner_rls`` is that case)."""
    tables = _tables_of(policies)
    for table in tables:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    for table, name, command, using, check in policies:
        clauses = (f" USING ({using})" if using else "") + (
            f" WITH CHECK ({check})" if check else ""
        )
        op.execute(f"CREATE POLICY {table}_{name} ON {table} FOR {command}{clauses}")
    for table in tables:
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")


def disable_forced_policies(policies: Sequence[Policy]) -> None:
    """What ``enable_forced_policies`` did, undone."""
    tables = _tables_of(policies)
    for table in tables:
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    for table, name, *_ in policies:
        op.execute(f"DROP POLICY {table}_{name} ON {table}")
    for table in tables:
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
