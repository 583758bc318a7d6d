"""The ``studyhall`` command line."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, NoReturn

import httpx
import typer
import uvicorn
from pydantic import ValidationError
from sqlalchemy.engine import make_url

from studyhall.accounts.cli import create_admin, rotate_keys
from studyhall.accounts.service import EncryptionKeyError
from studyhall.audit import service as audit
from studyhall.billing.cli import rotate_keys as rotate_card_keys
from studyhall.billing.config import check_for_environment
from studyhall.bootstrap import (
    DatabaseUnreachable,
    DatabaseUrls,
    UnsafeAppRole,
    check_app_role,
    resolve_database,
)
from studyhall.config import Settings, get_settings
from studyhall.db import backup, embedded, migrate
from studyhall.db.engine import Database, listen_url
from studyhall.db.identity import rls_key
from studyhall.db.supervisor import EmbeddedSupervisor
from studyhall.demo import load_demo
from studyhall.integrations.cli import rotate_keys as rotate_webhook_keys
from studyhall.jobs import core as jobs
from studyhall.kit.errors import DomainError
from studyhall.kit.logging import configure_logging
from studyhall.privacy.service import copy_offsite
from studyhall.study.service import StorageError, get_storage

cli = typer.Typer(
    help="Studyhall: backend for AI learning platforms.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_cli = typer.Typer(help="Schema migrations and database access.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
admin_cli = typer.Typer(help="Administration: admins and encryption keys.", no_args_is_help=True)
cli.add_typer(admin_cli, name="admin")


def fail(message: str, code: int = 1) -> NoReturn:
    typer.secho(f"studyhall: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def load_settings() -> Settings:
    get_settings.cache_clear()
    try:
        settings = get_settings()
        # serve, worker and demo refuse payment settings unsafe in this environment, too.
        check_for_environment(settings.environment)
    except ValidationError as exc:
        problems = "; ".join(
            # A rule across several settings (no single field) names them in its message.
            f"STUDYHALL_{'.'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            if e["loc"]
            else e["msg"]
            for e in exc.errors()
        )
        fail(f"invalid settings: {problems}", code=2)
    configure_logging(settings.log_level, settings.log_json)
    return settings


def connect(settings: Settings) -> DatabaseUrls:
    try:
        return resolve_database(settings)
    except DatabaseUnreachable as exc:
        fail(str(exc))


def refuse_unsafe_app_role(settings: Settings, urls: DatabaseUrls) -> None:
    """Serving and running jobs need a role row level security binds (docs/operations.md)."""
    try:
        check_app_role(urls.app, settings)
    except UnsafeAppRole as exc:
        fail(str(exc))


def migrate_to_head(settings: Settings, urls: DatabaseUrls) -> None:
    app_role = settings.app_db_role if settings.embedded else _role_of(settings.app_database_url)
    migrate.upgrade(urls.owner, app_role, rls_key=rls_key(settings.secret_key.get_secret_value()))


def _role_of(url: str | None) -> str | None:
    if url is None:
        return None
    return make_url(url).username


def _export(urls: DatabaseUrls) -> None:
    """Child processes (uvicorn workers) reach the same server without starting another."""
    os.environ["DATABASE_URL"] = urls.owner
    os.environ["STUDYHALL_APP_DATABASE_URL"] = urls.app
    get_settings.cache_clear()


def _ensure_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                fail(f"port {port} on {host} is already in use; choose another with --port")
            fail(f"cannot listen on {host}:{port}: {exc.strerror}")


# How long uvicorn's supervisor waits for a worker to answer its health ping (at start, while
# the app is imported, and under full load) before it kills and replaces it. Its default of 5 s
# is shorter than the import on a busy 2-core machine: every worker was replaced before it could
# serve, forever.
WORKER_HEALTHCHECK_TIMEOUT_S = 60


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="API processes.")] = 1,
) -> None:
    """Start the database (embedded unless DATABASE_URL is set), migrate, serve the API."""
    settings = load_settings()
    _ensure_port_free(host, port)
    with _stop_cleanly_on_sigterm():
        urls = connect(settings)
        try:
            migrate_to_head(settings, urls)
            refuse_unsafe_app_role(settings, urls)
            _export(urls)
            typer.echo(f"Studyhall is running at http://{host}:{port}  (API docs: /docs)")
            with _database_supervisor(settings):
                uvicorn.run(
                    "studyhall.app:create_app",
                    factory=True,
                    host=host,
                    port=port,
                    workers=workers,
                    timeout_worker_healthcheck=WORKER_HEALTHCHECK_TIMEOUT_S,
                    log_config=None,
                    access_log=False,
                )
        finally:
            if settings.embedded:
                embedded.stop(settings.home)


@contextlib.contextmanager
def _stop_cleanly_on_sigterm() -> Iterator[None]:
    """SIGTERM (systemd, Docker) ends ``serve`` like Ctrl-C does: through the ``finally`` blocks
    that stop the embedded database. Uvicorn shuts down gracefully first, then hands the signal
    back to this handler; Python's default for SIGTERM would end the process on the spot."""

    def leave(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    previous = signal.signal(signal.SIGTERM, leave)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _database_supervisor(settings: Settings) -> contextlib.AbstractContextManager[object]:
    if not settings.embedded:
        return contextlib.nullcontext()
    return EmbeddedSupervisor(settings.home)


@cli.command()
def worker(
    concurrency: Annotated[int, typer.Option(min=1, help="Jobs run at once.")] = 4,
) -> None:
    """Run background jobs (may run on any number of machines)."""
    settings = load_settings()
    urls = connect(settings)
    refuse_unsafe_app_role(settings, urls)

    async def run() -> None:
        database = Database.connect(urls.app, settings)
        jobs.configure_runtime(jobs.Runtime(settings=settings, database=database))
        jobs.load_tasks()
        await jobs.open_queue(listen_url(settings, urls.app), settings)
        try:
            await jobs.run_worker_until_cancelled(concurrency=concurrency)
        finally:
            await jobs.close_queue()
            await database.dispose()

    _run_until_signal(run)


def _run_until_signal(main: Callable[[], Awaitable[Any]]) -> None:
    async def guarded() -> None:
        task = asyncio.ensure_future(main())
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            typer.echo("worker stopped")

    asyncio.run(guarded())


@db_cli.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION."""
    settings = load_settings()
    urls = connect(settings)
    if revision == "head":
        migrate_to_head(settings, urls)
    else:
        migrate.upgrade(
            urls.owner, None, revision, rls_key=rls_key(settings.secret_key.get_secret_value())
        )
    typer.echo(f"database at {migrate.current_revision(urls.owner)}")


@db_cli.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="Target, e.g. -1 or base.")]) -> None:
    """Revert migrations down to REVISION."""
    urls = connect(load_settings())
    migrate.downgrade(urls.owner, revision)
    typer.echo(f"database at {migrate.current_revision(urls.owner) or 'base'}")


@db_cli.command("current")
def db_current() -> None:
    """Print the database's revision and the code's head."""
    urls = connect(load_settings())
    typer.echo(f"current: {migrate.current_revision(urls.owner) or 'base'}")
    typer.echo(f"head:    {migrate.head_revision()}")


@db_cli.command("revision")
def db_revision(
    message: Annotated[str, typer.Option("-m", "--message")],
    autogenerate: Annotated[bool, typer.Option()] = True,
) -> None:
    """Create a new migration (autogenerated from the models by default)."""
    urls = connect(load_settings())
    migrate.revision(urls.owner, message, autogenerate)


@db_cli.command("backup")
def db_backup(
    directory: Annotated[
        Path | None, typer.Option(help="Default: $STUDYHALL_HOME/backups.")
    ] = None,
    keep: Annotated[int, typer.Option(min=1, help="Dumps to keep.")] = 7,
) -> None:
    """Write a pg_dump of the database (custom format) and prune old ones."""
    settings = load_settings()
    urls = connect(settings)
    try:
        path = backup.backup(urls.owner, directory or settings.home / "backups", keep)
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        fail(f"backup failed: {getattr(exc, 'stderr', None) or exc}".strip())
    typer.echo(f"backup written to {path}")
    try:
        copied = asyncio.run(copy_offsite(settings, path))
    except (StorageError, httpx.HTTPError) as exc:
        fail(f"the off-site copy failed (the local dump is kept): {exc}")
    if copied is not None:
        typer.echo(f"copied to {settings.backup_s3_bucket}/{copied.key}")
        for key in copied.removed:
            typer.echo(f"removed {key} (older than {settings.backup_s3_retention_days} days)")


@db_cli.command("restore")
def db_restore(
    dump: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A .dump file.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Restore even while servers or workers are connected.")
    ] = False,
) -> None:
    """Restore a dump made by `studyhall db backup` (replaces the current data)."""
    urls = connect(load_settings())
    connected = backup.other_clients(urls.owner)
    if connected and not force:
        fail(
            f"{len(connected)} other connection(s) are open ({', '.join(sorted(set(connected)))}): "
            "stop every server and worker first, or pass --force"
        )
    if not yes and not typer.confirm(
        f"Replace every table of database {backup.database_name(urls.owner)!r} with {dump}?"
    ):
        fail("restore cancelled")
    try:
        backup.restore(urls.owner, dump)
    except subprocess.CalledProcessError as exc:
        fail(f"restore failed: {exc.stderr.strip() or exc}")
    typer.echo(f"restored {dump}")


@db_cli.command("url")
def db_url() -> None:
    """How to reach the database with psql."""
    settings = load_settings()
    urls = connect(settings)
    if settings.embedded:
        typer.echo(f"{embedded.psql_path()} '{urls.owner}'")
    else:
        typer.echo(f"psql '{make_url(urls.owner).render_as_string(hide_password=True)}'")


async def _archive_audit(settings: Settings, url: str) -> list[str]:
    database = Database.connect(url, settings)
    try:
        await audit.ensure_months(database)
        done = await audit.archive_expired_months(
            database, get_storage(settings).put, settings.audit_retention_months
        )
    finally:
        await database.dispose()
    return [f"archived {a.month:%Y-%m}: {a.rows} entries to {a.key}" for a in done]


@db_cli.command("archive-audit")
def db_archive_audit() -> None:
    """Archive the audit log's months older than STUDYHALL_AUDIT_RETENTION_MONTHS to storage as
    JSONL and drop their partitions (what the nightly retention job does); safe to run again."""
    settings = load_settings()
    urls = connect(settings)
    migrate_to_head(settings, urls)
    lines = asyncio.run(_archive_audit(settings, urls.app or urls.owner))
    for line in lines or ["no audit log month is past its retention"]:
        typer.echo(line)


@cli.command()
def demo() -> None:
    """Load realistic demo data (safe to run twice)."""
    settings = load_settings()
    urls = connect(settings)
    migrate_to_head(settings, urls)
    summary = asyncio.run(load_demo(settings, urls))
    for line in summary:
        typer.echo(line)


@admin_cli.command("create")
def admin_create(
    email: Annotated[str, typer.Option(help="The new admin's email address.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="STUDYHALL_ADMIN_PASSWORD",
            help="Prompted for when not given (or set STUDYHALL_ADMIN_PASSWORD).",
        ),
    ],
) -> None:
    """Create an admin account (audited as done by the system)."""
    settings = load_settings()
    urls = connect(settings)
    migrate_to_head(settings, urls)
    try:
        user_id = asyncio.run(create_admin(settings, urls, email, name, password))
    except DomainError as exc:
        fail(exc.detail)
    typer.echo(f"admin {email} created (id {user_id})")


@admin_cli.command("rotate-keys")
def admin_rotate_keys() -> None:
    """Re-encrypt every stored OAuth token, saved card token and webhook signing secret under
    the first key of STUDYHALL_ENCRYPTION_KEYS."""
    settings = load_settings()
    urls = connect(settings)
    try:
        count, kid = asyncio.run(rotate_keys(settings, urls))
        cards = asyncio.run(rotate_card_keys(settings, urls))
        webhooks = asyncio.run(rotate_webhook_keys(settings, urls))
    except EncryptionKeyError as exc:
        fail(str(exc))
    typer.echo(f"re-encrypted {count} oauth account(s) under key {kid}")
    typer.echo(f"re-encrypted {cards} saved card(s) under key {kid}")
    typer.echo(f"re-encrypted {webhooks} webhook endpoint secret(s) under key {kid}")


def main() -> None:
    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
