"""Developer aid: print the Alembic operations that bring a database at REVISION up to the models.

Usage: python scripts/autogen_ops.py REVISION   (uses a throwaway embedded cluster)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic.autogenerate import produce_migrations, render_python_code
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, pool

from studyhall import domains
from studyhall.db import embedded, migrate
from studyhall.db.base import Base
from studyhall.db.engine import sqlalchemy_url


def main(revision: str) -> None:
    home = Path(tempfile.mkdtemp(prefix="studyhall-autogen-"))
    cluster = embedded.start(
        home, db_name="scratch", app_role="studyhall_app", cleanup_mode="delete"
    )
    migrate.upgrade(cluster.owner_url, None, revision)
    domains.load_models()
    engine = create_engine(sqlalchemy_url(cluster.owner_url), poolclass=pool.NullPool)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_name": migrate.include_name, "compare_type": True}
        )
        script = produce_migrations(context, Base.metadata)
    print(render_python_code(script.upgrade_ops))
    print("# ---- downgrade")
    print(render_python_code(script.downgrade_ops))


if __name__ == "__main__":
    main(sys.argv[1])
