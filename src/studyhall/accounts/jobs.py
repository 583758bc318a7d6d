"""Accounts housekeeping, daily: spent credentials and old rate-limit windows are deleted, and
accounts deleted long enough ago lose their personal data."""

from __future__ import annotations

from studyhall.accounts.service.housekeeping import erase_personal_data, purge
from studyhall.db.rls import cross_users_transaction
from studyhall.jobs.core import queue, runtime


@queue.periodic(cron="41 3 * * *")
@queue.task(name="studyhall.accounts.purge_expired_credentials", queue="maintenance")
async def purge_expired_credentials(timestamp: int) -> None:
    async with cross_users_transaction(runtime().database) as session:
        await purge(session)


@queue.periodic(cron="47 3 * * *")
@queue.task(name="studyhall.accounts.erase_deleted_accounts", queue="maintenance")
async def erase_deleted_accounts(timestamp: int) -> None:
    settings = runtime().settings
    async with cross_users_transaction(runtime().database) as session:
        await erase_personal_data(session, settings.erase_deleted_accounts_after_days)
