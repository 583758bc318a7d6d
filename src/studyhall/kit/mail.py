"""Outgoing mail: the message, and its delivery over SMTP or into the outbox folder.

Queueing a message in the caller's transaction is ``studyhall.jobs.mail.send_mail``: the job queue
sits above this toolkit."""

from __future__ import annotations

import base64
import logging
import ssl
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import aiosmtplib
from pydantic import BaseModel

from studyhall.config import Settings

log = logging.getLogger(__name__)


class Attachment(BaseModel):
    filename: str
    content_type: str
    content_b64: str

    @classmethod
    def of(cls, filename: str, content_type: str, content: bytes) -> Attachment:
        return cls(
            filename=filename,
            content_type=content_type,
            content_b64=base64.b64encode(content).decode(),
        )


class Mail(BaseModel):
    to: str
    subject: str
    text: str
    html: str | None = None
    headers: dict[str, str] = {}
    attachments: list[Attachment] = []


def build_message(mail: Mail, settings: Settings) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain="studyhall.local")
    for name, value in mail.headers.items():
        message[name] = value
    message.set_content(mail.text)
    if mail.html is not None:
        message.add_alternative(mail.html, subtype="html")
    for attachment in mail.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            base64.b64decode(attachment.content_b64),
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )
    return message


async def deliver(message: EmailMessage, settings: Settings) -> None:
    if settings.mail_backend == "smtp":
        await _deliver_smtp(message, settings)
    else:
        _deliver_outbox(message, settings.outbox_dir)


async def _deliver_smtp(message: EmailMessage, settings: Settings) -> None:
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    await aiosmtplib.send(
        message,
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=password,
        use_tls=settings.smtp_tls == "tls",
        start_tls=settings.smtp_tls == "starttls",
        tls_context=ssl.create_default_context(),
        timeout=settings.smtp_timeout_s,
    )


def _deliver_outbox(message: EmailMessage, outbox: Path) -> Path:
    outbox.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    path = outbox / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
    path.write_bytes(bytes(message))
    # The recipient's address stays out of the log; the file name finds the message.
    log.info("mail written to outbox", extra={"path": path.name})
    return path
