"""Mail through the job queue: ``send_mail`` queues a message in the caller's transaction, so it
is sent only if that transaction commits; the ``studyhall.send_mail`` job delivers it, retrying
while the mail server refuses."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.jobs.core import backoff, enqueue, queue, runtime
from studyhall.kit.mail import Attachment, Mail, build_message, deliver

__all__ = ["Attachment", "Mail", "deliver_mail", "send_mail"]


async def send_mail(session: AsyncSession, mail: Mail) -> int:
    """Queue ``mail`` in the caller's transaction; it is sent only if that transaction commits."""
    return await enqueue(session, deliver_mail, mail=mail.model_dump())


@queue.task(name="studyhall.send_mail", retry=backoff(retries=6, wait_s=3), queue="mail")
async def deliver_mail(mail: dict[str, Any]) -> None:
    settings = runtime().settings
    await deliver(build_message(Mail.model_validate(mail), settings), settings)
