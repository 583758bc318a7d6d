"""Facts become signed webhook deliveries: outbox in the emitting transaction, sent by the job
queue to a real receiver that verifies them on its own, retried, and the endpoint disabled
(with an e-mail to the admins) when it keeps failing."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from studyhall.billing.events import PaymentRefunded, PaymentSucceeded
from studyhall.config import Settings
from studyhall.courses.events import CourseCompleted, PurchaseCreated
from studyhall.db.engine import Database
from studyhall.integrations import reactions, schemas
from studyhall.integrations.config import get_config
from studyhall.integrations.jobs import (
    deliver_webhook,
    purge_webhook_deliveries,
    sweep_webhooks,
)
from studyhall.integrations.models import DELIVERY_STATUSES, EVENT_TYPES
from studyhall.kit import events
from studyhall.progress.events import AchievementUnlocked
from studyhall.scheduling.events import BookingCanceled, BookingRescheduled
from tests.courses.helpers import make_admin, sign_up
from tests.integrations.conftest import (
    API,
    booking_created,
    emit_as,
    mails,
    owner_value,
    register,
    settle,
)
from tests.integrations.receiver import Receiver, verify
from tests.live import free_port


async def test_a_booking_is_delivered_signed_and_the_receiver_verifies_it(
    client: httpx.AsyncClient, db: Database, owner_db: Database, receiver: Receiver
) -> None:
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)
    endpoint = await register(client, admin, receiver)
    fact = booking_created(student.id)

    await emit_as(db, student.id, fact)
    await settle()

    [message] = receiver.received
    assert message.verified and message.answered == 200
    assert message.path == "/hooks/studyhall"
    assert message.headers["content-type"] == "application/json"
    assert message.headers["webhook-id"].startswith("msg_")
    assert abs(int(message.headers["webhook-timestamp"]) - time.time()) < 60
    payload = json.loads(message.body)
    assert payload["type"] == "booking.created"
    assert payload["timestamp"].endswith("Z")
    assert payload["data"] == {
        "booking_id": str(fact.booking_id),
        "student_id": str(student.id),
        "tutor_id": str(fact.tutor_id),
        "offering_id": str(fact.offering_id),
        "starts_at": "2026-12-09T09:00:00Z",
        "ends_at": "2026-12-09T10:00:00Z",
        "status": "confirmed",
    }

    log = await client.get(f"{API}/{endpoint['id']}/deliveries", headers=admin.headers)
    assert log.status_code == 200, log.text
    [delivery] = log.json()["items"]
    assert log.json()["next_cursor"] is None
    assert delivery["status"] == "delivered"
    assert delivery["message_id"] == message.headers["webhook-id"]
    assert delivery["payload"] == payload
    assert delivery["last_status_code"] == 200
    attempts = await client.get(
        f"{API}/{endpoint['id']}/deliveries/{delivery['id']}/attempts", headers=admin.headers
    )
    [attempt] = attempts.json()["items"]
    assert attempt["number"] == 1
    assert attempt["status_code"] == 200
    assert attempt["error"] is None
    assert attempt["duration_ms"] >= 0
    assert attempt["response_excerpt"] == "answered 200"


async def test_the_verifier_refuses_forged_and_expired_messages(
    client: httpx.AsyncClient, db: Database, owner_db: Database, receiver: Receiver
) -> None:
    admin = await make_admin(client, owner_db)
    await register(client, admin, receiver)
    await emit_as(db, admin.id, booking_created())
    await settle()
    [message] = receiver.received
    secrets = receiver.secrets
    assert verify(secrets, message.headers, message.body)

    assert not verify(secrets, message.headers, message.body.replace(b"confirmed", b"canceled"))
    assert not verify(["whsec_" + "A" * 44], message.headers, message.body)
    other_id = {**message.headers, "webhook-id": "msg_" + uuid.uuid4().hex}
    assert not verify(secrets, other_id, message.body)
    later = int(message.headers["webhook-timestamp"]) + 301
    assert not verify(secrets, message.headers, message.body, now=later)
    replayed_stamp = {**message.headers, "webhook-timestamp": str(int(time.time()) + 5)}
    assert not verify(secrets, replayed_stamp, message.body)


async def test_answers_of_500_are_retried_until_a_2xx(
    client: httpx.AsyncClient, db: Database, owner_db: Database, receiver: Receiver
) -> None:
    admin = await make_admin(client, owner_db)
    endpoint = await register(client, admin, receiver)
    receiver.answers = [500, 503]

    await emit_as(db, admin.id, booking_created())
    await settle()

    assert [m.answered for m in receiver.received] == [500, 503, 200]
    assert all(m.verified for m in receiver.received)
    assert len({m.headers["webhook-id"] for m in receiver.received}) == 1
    [delivery] = (
        await client.get(f"{API}/{endpoint['id']}/deliveries", headers=admin.headers)
    ).json()["items"]
    assert delivery["status"] == "delivered"
    assert delivery["attempt_count"] == 3
    attempts = (
        await client.get(
            f"{API}/{endpoint['id']}/deliveries/{delivery['id']}/attempts?limit=2",
            headers=admin.headers,
        )
    ).json()
    assert [a["status_code"] for a in attempts["items"]] == [500, 503]
    assert attempts["items"][0]["error"] == "answered HTTP 500"
    rest = (
        await client.get(
            f"{API}/{endpoint['id']}/deliveries/{delivery['id']}/attempts",
            params={"cursor": attempts["next_cursor"]},
            headers=admin.headers,
        )
    ).json()
    assert [a["status_code"] for a in rest["items"]] == [200]
    state = (await client.get(f"{API}/{endpoint['id']}", headers=admin.headers)).json()
    assert state["enabled"] is True
    assert state["consecutive_failures"] == 0


async def test_a_receiver_that_keeps_failing_is_disabled_and_the_admins_are_mailed(
    client: httpx.AsyncClient,
    db: Database,
    owner_db: Database,
    receiver: Receiver,
    settings: Settings,
) -> None:
    admin = await make_admin(client, owner_db)
    endpoint = await register(client, admin, receiver)
    receiver.answers = [500] * 10

    await emit_as(db, admin.id, booking_created())
    await settle()

    # Four failures in a row (the setting) disable it; the fifth scheduled attempt is not made.
    assert [m.answered for m in receiver.received] == [500] * 4
    state = (await client.get(f"{API}/{endpoint['id']}", headers=admin.headers)).json()
    assert state["enabled"] is False
    assert state["disabled_at"] is not None
    assert state["disabled_reason"].startswith("4 failed attempts in a row")
    [mail] = mails(settings)
    admin_email = await owner_value(owner_db, "SELECT email FROM users WHERE id = :id", id=admin.id)
    assert mail["To"] == admin_email
    assert mail["Subject"] == "A webhook endpoint was disabled"
    assert receiver.url in mail.get_payload()
    [delivery] = (
        await client.get(f"{API}/{endpoint['id']}/deliveries", headers=admin.headers)
    ).json()["items"]
    assert delivery["status"] == "failed"

    # A disabled endpoint gets nothing new.
    await emit_as(db, admin.id, booking_created())
    await settle()
    assert len(receiver.received) == 4
    assert await owner_value(owner_db, "SELECT count(*) FROM webhook_deliveries") == 1

    # Enabled again (its failures forgotten) and redelivered: the same message arrives.
    receiver.answers = []
    enabled = await client.patch(
        f"{API}/{endpoint['id']}", json={"enabled": True}, headers=admin.headers
    )
    assert enabled.json()["consecutive_failures"] == 0
    again = await client.post(
        f"{API}/{endpoint['id']}/deliveries/{delivery['id']}/redeliver", headers=admin.headers
    )
    assert again.status_code == 202, again.text
    assert again.json()["status"] == "pending"
    await settle()
    assert receiver.received[-1].answered == 200
    assert receiver.received[-1].headers["webhook-id"] == delivery["message_id"]
    redelivered = (
        await client.get(
            f"{API}/{endpoint['id']}/deliveries/{delivery['id']}", headers=admin.headers
        )
    ).json()
    assert redelivered["status"] == "delivered"
    assert redelivered["attempt_count"] == 5
    assert len(mails(settings)) == 1


async def test_a_slow_receiver_times_out_and_the_next_attempt_waits_its_turn(
    client: httpx.AsyncClient,
    db: Database,
    owner_db: Database,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STUDYHALL_WEBHOOKS_RETRY_SCHEDULE_S", "[3600]")
    get_config.cache_clear()
    admin = await make_admin(client, owner_db)
    endpoint = await register(client, admin, receiver)
    receiver.delay_s = 2.5

    await emit_as(db, admin.id, booking_created())
    await settle()

    assert len(receiver.received) == 1
    [delivery] = (
        await client.get(f"{API}/{endpoint['id']}/deliveries", headers=admin.headers)
    ).json()["items"]
    assert delivery["status"] == "pending"
    assert delivery["last_error"] == "timed out after 1 s"
    assert delivery["last_status_code"] is None
    wait = datetime.fromisoformat(delivery["next_attempt_at"]) - datetime.now(UTC)
    assert timedelta(minutes=55) < wait <= timedelta(hours=1)
    [attempt] = (
        await client.get(
            f"{API}/{endpoint['id']}/deliveries/{delivery['id']}/attempts", headers=admin.headers
        )
    ).json()["items"]
    assert 1000 <= attempt["duration_ms"] < 2500


async def test_a_rolled_back_transaction_sends_nothing(
    client: httpx.AsyncClient, db: Database, owner_db: Database, receiver: Receiver
) -> None:
    admin = await make_admin(client, owner_db)
    await register(client, admin, receiver)
    try:
        async with db.transaction(admin.id) as session:
            await events.emit(session, booking_created())
            raise LookupError("the booking failed after its event")
    except LookupError:
        pass
    await settle()
    assert await owner_value(owner_db, "SELECT count(*) FROM webhook_deliveries") == 0
    assert (
        await owner_value(
            owner_db,
            "SELECT count(*) FROM procrastinate_jobs "
            "WHERE task_name LIKE 'studyhall.integrations.%'",
        )
        == 0
    )
    assert receiver.received == []


async def test_each_fact_reaches_only_the_endpoints_subscribed_to_its_type(
    client: httpx.AsyncClient, db: Database, owner_db: Database, receiver: Receiver
) -> None:
    admin = await make_admin(client, owner_db)
    await register(client, admin, receiver, list(EVENT_TYPES))
    cancels_only = await client.post(
        API,
        json={"url": receiver.url + "/cancels", "event_types": ["booking.canceled"]},
        headers=admin.headers,
    )
    receiver.secrets.append(cancels_only.json()["secret"])
    user, other = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    facts = [
        booking_created(user),
        BookingCanceled(uuid.uuid4(), user, other, user, "ill"),
        BookingRescheduled(uuid.uuid4(), user, other, now, now, now),
        PaymentSucceeded(uuid.uuid4(), user, "credits", 1500, "EUR", "fake"),
        PaymentRefunded(uuid.uuid4(), user, "credits", 500, 500, "EUR"),
        PurchaseCreated(uuid.uuid4(), user, uuid.uuid4(), 4900, "EUR"),
        CourseCompleted(user, uuid.uuid4()),
        AchievementUnlocked(user, uuid.uuid4(), "first_steps", 50, now),
    ]

    await emit_as(db, admin.id, *facts)
    await settle()

    assert all(m.verified for m in receiver.received)
    to_all = [json.loads(m.body)["type"] for m in receiver.received if m.path == "/hooks/studyhall"]
    assert sorted(to_all) == sorted(EVENT_TYPES)
    to_cancels = [
        json.loads(m.body)["type"] for m in receiver.received if m.path.endswith("cancels")
    ]
    assert to_cancels == ["booking.canceled"]


def test_the_published_event_types_agree_everywhere() -> None:
    assert list(reactions.PUBLISHED) == list(EVENT_TYPES)
    assert schemas.EventType.__args__ == EVENT_TYPES  # type: ignore[attr-defined]
    assert schemas.DeliveryStatus.__args__ == DELIVERY_STATUSES  # type: ignore[attr-defined]


async def test_an_answer_that_is_not_text_is_kept_as_text(
    client: httpx.AsyncClient, db: Database, owner_db: Database, receiver: Receiver
) -> None:
    admin = await make_admin(client, owner_db)
    endpoint = await register(client, admin, receiver)
    receiver.reply = b"ok\x00\xff" + b"x" * 5000

    await emit_as(db, admin.id, booking_created())
    await settle()

    [delivery] = (
        await client.get(f"{API}/{endpoint['id']}/deliveries", headers=admin.headers)
    ).json()["items"]
    assert delivery["status"] == "delivered"
    [attempt] = (
        await client.get(
            f"{API}/{endpoint['id']}/deliveries/{delivery['id']}/attempts", headers=admin.headers
        )
    ).json()["items"]
    assert attempt["response_excerpt"] == "ok\ufffd\ufffd" + "x" * 996


async def test_the_sweep_requeues_a_delivery_whose_job_was_lost(
    client: httpx.AsyncClient, db: Database, owner_db: Database, receiver: Receiver
) -> None:
    admin = await make_admin(client, owner_db)
    await register(client, admin, receiver)
    await emit_as(db, admin.id, booking_created())
    await owner_value(
        owner_db,
        "WITH gone AS (DELETE FROM procrastinate_jobs "
        "WHERE task_name = 'studyhall.integrations.deliver_webhook' RETURNING 1) "
        "UPDATE webhook_deliveries SET next_attempt_at = now() - interval '10 minutes' "
        "RETURNING (SELECT count(*) FROM gone)",
    )
    await settle()
    assert receiver.received == []

    await sweep_webhooks(timestamp=0)
    await settle()

    [message] = receiver.received
    assert message.verified
    assert await owner_value(owner_db, "SELECT status FROM webhook_deliveries") == "delivered"


async def test_settled_deliveries_are_purged_after_the_retention_period(
    client: httpx.AsyncClient, db: Database, owner_db: Database, receiver: Receiver
) -> None:
    admin = await make_admin(client, owner_db)
    await register(client, admin, receiver)
    await emit_as(db, admin.id, booking_created())
    await settle()
    await emit_as(db, admin.id, booking_created())  # still pending: kept whatever its age
    await owner_value(
        owner_db,
        "UPDATE webhook_deliveries SET created_at = now() - interval '31 days' RETURNING 1",
    )

    await purge_webhook_deliveries(timestamp=0)

    assert await owner_value(owner_db, "SELECT count(*) FROM webhook_deliveries") == 1
    assert await owner_value(owner_db, "SELECT status FROM webhook_deliveries") == "pending"
    assert await owner_value(owner_db, "SELECT count(*) FROM webhook_attempts") == 0


async def test_a_receiver_that_is_not_listening_is_a_failed_attempt(
    client: httpx.AsyncClient,
    db: Database,
    owner_db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STUDYHALL_WEBHOOKS_RETRY_SCHEDULE_S", "[3600]")
    get_config.cache_clear()
    admin = await make_admin(client, owner_db)
    nobody = Receiver(url=f"http://127.0.0.1:{free_port()}/hooks")
    endpoint = await register(client, admin, nobody)

    await emit_as(db, admin.id, booking_created())
    await settle()

    [delivery] = (
        await client.get(f"{API}/{endpoint['id']}/deliveries", headers=admin.headers)
    ).json()["items"]
    assert delivery["status"] == "pending"
    assert delivery["attempt_count"] == 1
    assert delivery["last_error"].startswith("ConnectError: ")
    state = (await client.get(f"{API}/{endpoint['id']}", headers=admin.headers)).json()
    assert state["consecutive_failures"] == 1


async def test_two_jobs_for_one_delivery_at_once_send_it_once(
    client: httpx.AsyncClient, db: Database, owner_db: Database, receiver: Receiver
) -> None:
    admin = await make_admin(client, owner_db)
    await register(client, admin, receiver)
    receiver.delay_s = 0.5
    await emit_as(db, admin.id, booking_created())
    delivery_id = str(await owner_value(owner_db, "SELECT id FROM webhook_deliveries"))

    await asyncio.gather(*(deliver_webhook(delivery_id=delivery_id) for _ in range(3)))

    assert len(receiver.received) == 1
    assert await owner_value(owner_db, "SELECT count(*) FROM webhook_attempts") == 1
    assert await owner_value(owner_db, "SELECT status FROM webhook_deliveries") == "delivered"
