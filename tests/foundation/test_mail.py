from __future__ import annotations

import email

from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.jobs import core as jobs
from studyhall.jobs.mail import Attachment, Mail, deliver_mail, send_mail
from tests.conftest import run_jobs
from tests.foundation.smtp import Inbox, SmtpServer

MAIL = Mail(
    to="ada@example.org",
    subject="Your session tomorrow",
    text="See you at 09:00.",
    html="<p>See you at <b>09:00</b>.</p>",
    headers={"X-Studyhall-Type": "booking_reminder"},
    attachments=[
        Attachment.of("session.ics", "text/calendar", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    ],
)


def _use_smtp(settings: Settings, port: int) -> None:
    smtp = settings.model_copy(
        update={
            "mail_backend": "smtp",
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_tls": "none",
        }
    )
    jobs.configure_runtime(jobs.Runtime(settings=smtp, database=jobs.runtime().database))


async def test_mail_is_delivered_over_smtp_after_commit(db: Database, settings: Settings) -> None:
    with SmtpServer(Inbox()) as server:
        _use_smtp(settings, server.port)
        async with db.transaction() as session:
            await send_mail(session, MAIL)
        await run_jobs()
    [message] = server.inbox.messages
    assert message["To"] == "ada@example.org"
    assert message["Subject"] == "Your session tomorrow"
    assert message["X-Studyhall-Type"] == "booking_reminder"
    parts = {part.get_content_type(): part for part in message.walk()}
    assert parts["text/plain"].get_payload(decode=True).decode().strip() == "See you at 09:00."
    assert "<b>09:00</b>" in parts["text/html"].get_payload(decode=True).decode()
    assert parts["text/calendar"].get_filename() == "session.ics"


async def test_a_rolled_back_mail_is_never_sent(db: Database, settings: Settings) -> None:
    with SmtpServer(Inbox()) as server:
        _use_smtp(settings, server.port)
        try:
            async with db.transaction() as session:
                await send_mail(session, MAIL)
                raise LookupError("the booking failed")
        except LookupError:
            pass
        await run_jobs()
    assert server.inbox.messages == []


async def test_a_refusing_server_is_retried_and_the_mail_arrives_once(
    db: Database, settings: Settings
) -> None:
    retry = deliver_mail.retry_strategy
    deliver_mail.retry_strategy = jobs.backoff(retries=3, wait_s=0)
    try:
        with SmtpServer(Inbox(refuse=2)) as server:
            _use_smtp(settings, server.port)
            async with db.transaction() as session:
                await send_mail(session, MAIL)
            await run_jobs()
    finally:
        deliver_mail.retry_strategy = retry
    assert server.inbox.attempts == 3
    assert len(server.inbox.messages) == 1


async def test_development_mail_goes_to_the_outbox(db: Database, settings: Settings) -> None:
    async with db.transaction() as session:
        await send_mail(session, MAIL)
    await run_jobs()
    [written] = list(settings.outbox_dir.glob("*.eml"))
    message = email.message_from_bytes(written.read_bytes())
    assert message["Subject"] == "Your session tomorrow"
