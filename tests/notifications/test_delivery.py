"""Delivery jobs: retries with backoff against real local servers, email content, admin retry."""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx

from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.kit.mail import Attachment
from studyhall.notifications.config import get_config
from studyhall.notifications.providers import sms
from studyhall.notifications.service import delivery
from studyhall.notifications.service import sending as service
from tests.conftest import run_jobs
from tests.notifications.conftest import (
    delivery_jobs,
    make_admin,
    make_jobs_due,
    rows,
    sign_up,
)
from tests.notifications.servers import (
    FlakySmtp,
    TwilioRecorder,
    smtp_server,
    twilio_server,
)


def _use_smtp(settings: Settings, port: int) -> None:
    settings.mail_backend = "smtp"
    settings.smtp_host = "127.0.0.1"
    settings.smtp_port = port
    settings.smtp_tls = "none"
    settings.smtp_timeout_s = 5


async def _state(owner_db: Database, notification_id: uuid.UUID) -> tuple[str, int, str | None]:
    found = await rows(
        owner_db,
        "SELECT status, attempts, last_error FROM notifications WHERE id = :i",
        i=notification_id,
    )
    status, attempts, error = found[0]
    return str(status), int(attempts), error


async def test_an_smtp_server_that_refuses_twice_then_accepts_gets_the_mail_once(
    client: httpx.AsyncClient, db: Database, owner_db: Database, settings: Settings
) -> None:
    ana = await sign_up(client, "Ana")
    async with db.transaction() as session:
        [notification_id] = await service.notify(
            session, ana.id, "password_reset", {"url": "https://studyhall.test/reset/abc"}
        )
    smtp = FlakySmtp(refusals=2)
    with smtp_server(smtp) as port:
        _use_smtp(settings, port)
        started = datetime.now(UTC)
        await run_jobs()
        status, attempts, error = await _state(owner_db, notification_id)
        assert (status, attempts) == ("pending", 1)
        assert error is not None and "451" in error
        [(_, retry_at, job_status)] = await delivery_jobs(owner_db)
        # The first retry waits 3 s (backoff 3 ** 1); nothing runs before then.
        assert job_status == "todo"
        assert retry_at is not None and retry_at >= started + timedelta(seconds=3)
        await run_jobs()
        assert smtp.attempts == 1
        for _ in range(2):
            await make_jobs_due(owner_db)
            await run_jobs()
        await make_jobs_due(owner_db)
        await run_jobs()
    assert smtp.attempts == 3
    assert len(smtp.accepted) == 1
    message = email.message_from_bytes(smtp.accepted[0], policy=email.policy.default)
    assert message["To"] == ana.email
    assert message["Subject"] == "Reset your password"
    assert message["X-Studyhall-Notification"] == str(notification_id)
    assert message["List-Unsubscribe"] is None  # an account email has no unsubscribe
    assert await _state(owner_db, notification_id) == ("sent", 3, None)
    assert [job[2] for job in await delivery_jobs(owner_db)] == ["succeeded"]


async def test_a_booking_email_shows_local_times_carries_the_ics_and_unsubscribes_in_one_click(
    client: httpx.AsyncClient, db: Database, owner_db: Database, settings: Settings
) -> None:
    ana = await sign_up(client, "Ana", timezone="America/New_York")
    ics = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
    async with db.transaction() as session:
        await service.notify(
            session,
            ana.id,
            "booking_confirmation",
            {
                "title": "Algebra <basics>",
                "with_name": "Ben",
                "starts_at": "2026-03-08T14:00:00+00:00",
                "ends_at": "2026-03-08T15:00:00+00:00",
            },
            attachments=[Attachment.of("invite.ics", "text/calendar", ics)],
        )
    await run_jobs()
    [path] = sorted(settings.outbox_dir.glob("*.eml"))
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["Subject"] == (
        "Booking confirmed: Algebra <basics> on Sunday 8 March 2026, 10:00 EDT"
    )
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    assert text_part is not None and html_part is not None
    text_body = text_part.get_content()
    assert "When: Sunday 8 March 2026, 10:00 EDT until 11:00" in text_body
    assert "Algebra &lt;basics&gt;" in html_part.get_content()
    [attachment] = list(message.iter_attachments())
    assert (attachment.get_filename(), attachment.get_content_type()) == (
        "invite.ics",
        "text/calendar",
    )
    assert attachment.get_payload(decode=True) == ics
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = message["List-Unsubscribe"].strip("<>")
    # The text's link opens the web app's page; mail programs post to the header's address.
    page_link = link.replace("/api/v1/notifications/unsubscribe?", "/unsubscribe?")
    assert f"Unsubscribe from these emails: {page_link}" in text_body
    path_and_query = link.removeprefix(settings.base_url)
    token = parse_qs(path_and_query.split("?", 1)[1])["token"][0]

    page = await client.get(path_and_query)  # opening the link changes nothing
    assert page.status_code == 200
    assert await rows(owner_db, "SELECT count(*) FROM notification_preferences") == [(0,)]
    forged = await client.post(
        f"/api/v1/notifications/unsubscribe?token={token[:-2]}xx",
        content=b"List-Unsubscribe=One-Click",
    )
    assert forged.status_code == 400
    assert forged.json()["code"] == "invalid_unsubscribe_token"
    assert await rows(owner_db, "SELECT count(*) FROM notification_preferences") == [(0,)]
    done = await client.post(path_and_query, content=b"List-Unsubscribe=One-Click")
    assert done.status_code == 200
    assert done.json() == {
        "type": "booking_confirmation",
        "channel": "email",
        "status": "unsubscribed",
    }
    listed = await client.get("/api/v1/notifications/preferences", headers=ana.auth)
    prefs = listed.json()["items"]
    assert {(p["channel"], p["enabled"]) for p in prefs if p["type"] == "booking_confirmation"} == {
        ("email", False),
        ("inapp", True),
        ("sms", False),
    }
    async with db.transaction() as session:
        again = await service.notify(session, ana.id, "booking_confirmation", {"starts_at": None})
    assert len(again) == 1  # in-app only now


async def test_a_provider_that_never_accepts_leaves_a_failed_row_an_admin_retries(
    client: httpx.AsyncClient, db: Database, owner_db: Database, settings: Settings
) -> None:
    ana = await sign_up(client, "Ana")
    boss = await sign_up(client, "Boss")
    await make_admin(owner_db, boss)
    async with db.transaction() as session:
        [email_id, _] = await service.notify(
            session,
            ana.id,
            "system_update",
            {"title": "Maintenance", "body": "Tonight."},
            channels=["email", "inapp"],
        )
    smtp = FlakySmtp(refusals=1000)
    with smtp_server(smtp) as port:
        _use_smtp(settings, port)
        for _ in range(7):  # the first attempt and six retries
            await make_jobs_due(owner_db)
            await run_jobs()
        assert smtp.attempts == 7
        status, attempts, error = await _state(owner_db, email_id)
        assert (status, attempts) == ("failed", 7)
        assert error is not None and "451" in error

        failed = await client.get("/api/v1/admin/notifications?status=failed", headers=boss.auth)
        assert [(n["id"], n["attempts"]) for n in failed.json()["items"]] == [(str(email_id), 7)]
        denied = await client.post(
            f"/api/v1/admin/notifications/{email_id}/retry", headers=ana.auth
        )
        assert (denied.status_code, denied.json()["code"]) == (403, "role_required")
        assert (await _state(owner_db, email_id))[0] == "failed"

        smtp.refusals = 0
        retried = await client.post(
            f"/api/v1/admin/notifications/{email_id}/retry", headers=boss.auth
        )
        assert retried.status_code == 200, retried.text
        assert retried.json()["status"] == "pending"
        await run_jobs()
        assert len(smtp.accepted) == 1
    assert await _state(owner_db, email_id) == ("sent", 8, None)
    again = await client.post(f"/api/v1/admin/notifications/{email_id}/retry", headers=boss.auth)
    assert (again.status_code, again.json()["code"]) == (409, "notification_not_retryable")
    assert again.json()["current_status"] == "sent"
    missing = await client.post(
        f"/api/v1/admin/notifications/{uuid.uuid4()}/retry", headers=boss.auth
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "notification_not_found")
    assert await rows(
        owner_db, "SELECT action FROM audit_log WHERE action LIKE 'notification.%'"
    ) == [("notification.retry",)]


async def test_sms_goes_to_a_twilio_shaped_endpoint_and_is_retried(
    client: httpx.AsyncClient,
    db: Database,
    owner_db: Database,
    notify_config: object,
) -> None:
    ana = await sign_up(client, "Ana", timezone="Europe/Berlin", phone="+4512345678")
    await client.put(
        "/api/v1/notifications/preferences",
        json={"preferences": [{"type": "booking_reminder", "channel": "sms", "enabled": True}]},
        headers=ana.auth,
    )
    recorder = TwilioRecorder(failures=1)
    with twilio_server(recorder) as base_url:
        env = {
            "SMS_BACKEND": "twilio",
            "TWILIO_BASE_URL": base_url,
            "TWILIO_ACCOUNT_SID": "AC0123",
            "TWILIO_AUTH_TOKEN": "s3cret",
            "TWILIO_FROM": "+15550001111",
        }
        for key, value in env.items():
            notify_config.setenv(f"STUDYHALL_NOTIFY_{key}", value)  # type: ignore[attr-defined]
        async with db.transaction() as session:
            [sms_id] = await service.notify(
                session,
                ana.id,
                "booking_reminder",
                {"starts_at": "2026-07-01T08:00:00+00:00"},
                channels=["sms"],
            )
        await run_jobs()
        status, attempts, error = await _state(owner_db, sms_id)
        assert (status, attempts, error) == (
            "pending",
            1,
            "SmsError: SMS provider said 429: 20429 Too Many Requests",
        )
        await make_jobs_due(owner_db)
        await run_jobs()
    assert await _state(owner_db, sms_id) == ("sent", 2, None)
    assert len(recorder.requests) == 2
    basic = "Basic " + base64.b64encode(b"AC0123:s3cret").decode()
    for request in recorder.requests:
        assert request["path"] == "/2010-04-01/Accounts/AC0123/Messages.json"
        assert request["content_type"] == "application/x-www-form-urlencoded"
        assert request["authorization"] == basic
        assert parse_qs(request["body"]) == {
            "To": ["+4512345678"],
            "From": ["+15550001111"],
            "Body": ["Studyhall reminder: your session starts Wednesday 1 July 2026, 10:00 CEST."],
        }


async def test_a_delivery_that_falls_into_quiet_hours_waits_for_their_end(
    client: httpx.AsyncClient, db: Database, owner_db: Database, settings: Settings
) -> None:
    ana = await sign_up(client, "Ana")
    async with db.transaction() as session:
        [email_id, _] = await service.notify(session, ana.id, "credit_low", {"balance": 1})
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start, end = now - timedelta(hours=1), now + timedelta(hours=2)
    response = await client.put(
        "/api/v1/notifications/quiet-hours",
        json={"quiet_hours_start": f"{start:%H:%M}", "quiet_hours_end": f"{end:%H:%M}"},
        headers=ana.auth,
    )
    assert response.status_code == 200
    await run_jobs()
    assert list(settings.outbox_dir.glob("*.eml")) == []
    scheduled = await rows(
        owner_db, "SELECT status, scheduled_for FROM notifications WHERE id = :i", i=email_id
    )
    assert scheduled == [("pending", end)]
    jobs = await delivery_jobs(owner_db)
    assert [(job[1], job[2]) for job in jobs] == [(jobs[0][1], "succeeded"), (end, "todo")]


async def test_jobs_racing_for_one_notification_send_it_once(
    client: httpx.AsyncClient, db: Database, owner_db: Database, settings: Settings
) -> None:
    ana = await sign_up(client, "Ana")
    async with db.transaction() as session:
        [email_id] = await service.notify(
            session, ana.id, "payment_failed", {"amount_cents": 900}, channels=["email"]
        )
    results = await asyncio.gather(
        *(delivery.deliver([email_id], final_attempt=False) for _ in range(6))
    )
    assert sorted(result[email_id] for result in results) == ["sent", *["skipped"] * 5]
    assert len(list(settings.outbox_dir.glob("*.eml"))) == 1
    assert await _state(owner_db, email_id) == ("sent", 1, None)


async def test_sms_goes_to_the_log_provider_by_default(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    ana = await sign_up(client, "Ana", phone="+4512345678")
    await client.put(
        "/api/v1/notifications/preferences",
        json={"preferences": [{"type": "credit_low", "channel": "sms", "enabled": True}]},
        headers=ana.auth,
    )
    provider = sms.provider(get_config())
    assert isinstance(provider, sms.LogSmsProvider)
    before = len(provider.sent)
    async with db.transaction() as session:
        [sms_id] = await service.notify(
            session, ana.id, "credit_low", {"balance": 1, "threshold": 3}, channels=["sms"]
        )
    await run_jobs()
    assert await _state(owner_db, sms_id) == ("sent", 1, None)
    assert provider.sent[before:] == [
        ("+4512345678", "Studyhall: Your credit is running low (1 left)")
    ]


class RefuseOneRecipientOnce(FlakySmtp):
    def __init__(self, refused: str) -> None:
        super().__init__(refusals=0)
        self.refused = refused

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.attempts += 1
        if self.refused in envelope.rcpt_tos:
            self.refused = ""
            return "451 4.3.0 Mailbox busy, try again later"
        self.accepted.append(envelope.original_content or envelope.content)
        return "250 OK"


async def test_one_failure_in_a_group_retries_only_that_notification(
    client: httpx.AsyncClient, db: Database, owner_db: Database, settings: Settings
) -> None:
    people = [await sign_up(client, name) for name in ("Ana", "Ben", "Cy")]
    boss = await sign_up(client, "Boss")
    await make_admin(owner_db, boss)
    smtp = RefuseOneRecipientOnce(people[1].email)
    with smtp_server(smtp) as port:
        _use_smtp(settings, port)
        started = await client.post(
            "/api/v1/admin/notifications/broadcast",
            json={"title": "t", "body": "b", "role": "student", "channels": ["email"]},
            headers=boss.auth,
        )
        assert started.status_code == 202
        await run_jobs()
        [(ids, _, _)] = await delivery_jobs(owner_db)  # one job carries all three
        assert len(ids) == 3
        states = await rows(
            owner_db,
            "SELECT u.name, n.status, n.attempts FROM notifications n JOIN users u "
            "ON u.id = n.user_id ORDER BY u.name",
        )
        assert states == [("Ana", "sent", 1), ("Ben", "pending", 1), ("Cy", "sent", 1)]
        await make_jobs_due(owner_db)
        await run_jobs()
    assert smtp.attempts == 4
    recipients = sorted(
        email.message_from_bytes(m, policy=email.policy.default)["To"] for m in smtp.accepted
    )
    assert recipients == sorted(person.email for person in people)
    assert await rows(owner_db, "SELECT status, count(*) FROM notifications GROUP BY 1") == [
        ("sent", 3)
    ]
    assert await rows(owner_db, "SELECT attempt, error FROM job_errors") == [
        (
            1,
            "DeliveryFailed: 1 of 3 sends failed: SMTPDataError: (451, '4.3.0 Mailbox busy, "
            "try again later')",
        )
    ]


async def test_turning_a_type_off_also_stops_what_is_already_queued(
    client: httpx.AsyncClient, db: Database, owner_db: Database, settings: Settings
) -> None:
    ana = await sign_up(client, "Ana", phone="+4512345678")
    await client.put(
        "/api/v1/notifications/preferences",
        json={"preferences": [{"type": "payment_failed", "channel": "sms", "enabled": True}]},
        headers=ana.auth,
    )
    async with db.transaction() as session:
        ids = await service.notify(session, ana.id, "payment_failed", {"amount_cents": 100})
    assert len(ids) == 3
    await client.put(
        "/api/v1/notifications/preferences",
        json={"preferences": [{"type": "payment_failed", "channel": "email", "enabled": False}]},
        headers=ana.auth,
    )
    await client.patch("/api/v1/me", json={"phone": None}, headers=ana.auth)
    await run_jobs()
    assert await rows(
        owner_db, "SELECT channel, status, last_error FROM notifications ORDER BY channel"
    ) == [
        ("email", "canceled", "the recipient turned this off"),
        ("inapp", "sent", None),
        ("sms", "canceled", "the recipient has no phone number"),
    ]
    assert list(settings.outbox_dir.glob("*.eml")) == []
