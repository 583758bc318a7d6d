"""The admin's ledger, webhook and product pages over HTTP (no browser): who may open them, the
ledger's rules and the idempotency they share with the API, the audit entries they leave, the
keyset pages, and the filters. Users are set up through the API on the same app."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import httpx

from studyhall.db.engine import Database
from tests.scheduling.conftest import API, execute, make_admin, rows, sign_up
from tests.web.test_pages import csrf_of
from tests.web.test_pages_marketplace import as_person, post_form

KEY = re.compile(r'name="idempotency_key" value="([0-9a-f-]+)"')
ARTICLE = re.compile(r"<article ")


async def _signed_form(client: httpx.AsyncClient, page: str) -> dict[str, str]:
    shown = await client.get(page)
    assert shown.status_code == 200, shown.text
    return {"csrf_token": csrf_of(shown.text), "idempotency_key": KEY.findall(shown.text)[0]}


def _older(html: str, label: str) -> str:
    [link] = re.findall(rf'href="([^"]+)">{label}</a>', html)
    return link.replace("&amp;", "&")


async def test_the_new_admin_pages_refuse_everyone_but_admins(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    student = await sign_up(client, "student")
    pages = (
        f"/admin/users/{student.id}/credits",
        "/admin/webhooks",
        f"/admin/catalogue/{uuid.uuid4()}",
    )
    for path in pages:
        visitor = await client.get(path)
        assert visitor.status_code == 303 and visitor.headers["location"].startswith("/sign-in")
    as_person(client, student)
    for path in pages:
        refused = await client.get(path)
        assert refused.status_code == 403, path
    token = csrf_of((await client.get("/home")).text)
    actions = (
        f"/admin/users/{student.id}/credits",
        f"/admin/credit-entries/{uuid.uuid4()}/reverse",
        "/admin/catalogue",
        f"/admin/catalogue/{uuid.uuid4()}",
    )
    for action in actions:
        refused = await client.post(
            action, data={"csrf_token": token, "idempotency_key": str(uuid.uuid4()), "delta": "5"}
        )
        assert refused.status_code == 403, action
    [(entries,)] = await rows(
        owner_db, "SELECT count(*) FROM credit_ledger WHERE user_id = :u", u=student.id
    )
    assert entries == 0


async def test_credits_are_granted_once_taken_back_within_the_balance_and_reversed(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    student = await sign_up(client, "student", name="Salma Ledger")
    tutor = await sign_up(client, "tutor", name="Tarek NoCredits")
    page = f"/admin/users/{student.id}/credits"
    as_person(client, admin)

    found = await client.get("/admin", params={"q": "Salma Ledger"})
    assert f'href="{page}"' in found.text
    empty = await client.get(page)
    assert "Credits of Salma Ledger" in empty.text and "0 credits" in empty.text
    grant = {**await _signed_form(client, page), "delta": "12", "note": "Goodwill"}
    for _ in range(2):  # a double submit of one drawn form posts once
        made = await client.post(page, data=grant)
        assert (made.status_code, made.headers["location"]) == (
            303,
            f"{page}?notice=credits_adjusted",
        )
    # The same key through the API replays the page's entry (one scope for both).
    replay = await client.post(
        f"{API}/billing/admin/users/{student.id}/credits",
        json={"delta": 12, "note": "Goodwill"},
        headers={**admin.headers, "Idempotency-Key": grant["idempotency_key"]},
    )
    assert replay.status_code == 201 and replay.json()["seq"] == 1
    too_much = {**await _signed_form(client, page), "delta": "-20", "note": "Oops"}
    refused = await client.post(page, data=too_much)
    assert refused.status_code == 402 and "Not enough credits for this." in refused.text
    for typed, message in (("1.5", "Enter a whole number"), ("0", "must not be zero")):
        bad = await client.post(
            page, data={**await _signed_form(client, page), "delta": typed, "note": "x"}
        )
        assert bad.status_code == 422 and message in bad.text, typed
    no_note = await client.post(page, data={**await _signed_form(client, page), "delta": "3"})
    assert no_note.status_code == 422 and "Give a note" in no_note.text
    taken = {**await _signed_form(client, page), "delta": "-2", "note": "Double grant"}
    assert (await client.post(page, data=taken)).status_code == 303

    shown = await client.get(page)
    assert "10 credits" in shown.text
    assert "Entry 2: -2" in shown.text and "Entry 1: +12" in shown.text
    assert "Double grant" in shown.text and "by hand" in shown.text
    [(first_id,)] = await rows(
        owner_db, "SELECT id FROM credit_ledger WHERE user_id = :u AND seq = 1", u=student.id
    )
    reverse = f"/admin/credit-entries/{first_id}/reverse"
    assert f'action="{reverse}"' in shown.text
    spent = await client.post(reverse, data=await _signed_form(client, page))
    assert spent.status_code == 409 and "already spent" in spent.text  # 12 back, 10 left
    second = await rows(
        owner_db, "SELECT id FROM credit_ledger WHERE user_id = :u AND seq = 2", u=student.id
    )
    back = await client.post(
        f"/admin/credit-entries/{second[0][0]}/reverse", data=await _signed_form(client, page)
    )
    assert back.headers["location"] == f"{page}?notice=credit_entry_reversed"
    after = await client.get(page)
    assert "12 credits" in after.text and "reverses an earlier entry" in after.text
    ledger = await rows(
        owner_db,
        "SELECT seq, delta, reason, note FROM credit_ledger WHERE user_id = :u ORDER BY seq",
        u=student.id,
    )
    assert ledger == [
        (1, 12, "manual", "Goodwill"),
        (2, -2, "manual", "Double grant"),
        (3, 2, "manual", "reversal of entry 2"),
    ]
    audited = await rows(
        owner_db,
        "SELECT action, diff ->> 'delta' FROM audit_log WHERE actor_user_id = :a "
        "AND entity = 'credit_ledger' AND diff ->> 'user_id' = :u ORDER BY diff ->> 'seq'",
        a=admin.id,
        u=str(student.id),
    )
    assert audited == [("credits.manual", "12"), ("credits.manual", "-2"), ("credits.manual", "2")]
    not_a_student = await client.post(
        f"/admin/users/{tutor.id}/credits",
        data={**await _signed_form(client, page), "delta": "5", "note": "x"},
    )
    assert not_a_student.status_code == 422 and "Credits are for students" in not_a_student.text
    nobody = await client.get(f"/admin/users/{uuid.uuid4()}/credits")
    assert nobody.status_code == 404


async def test_the_ledger_pages_with_a_cursor(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    student = await sign_up(client, "student", name="Paged Ledger")
    for number in range(1, 36):
        posted = await client.post(
            f"{API}/billing/admin/users/{student.id}/credits",
            json={"delta": number, "note": f"n{number}"},
            headers=admin.headers,
        )
        assert posted.status_code == 201, posted.text
    as_person(client, admin)
    first = await client.get(f"/admin/users/{student.id}/credits")
    assert len(ARTICLE.findall(first.text)) == 30
    assert "Entry 35: +35" in first.text and "Entry 6: +6" in first.text
    assert "Entry 5: +5" not in first.text
    second = await client.get(_older(first.text, "Older entries"))
    assert len(ARTICLE.findall(second.text)) == 5
    assert "Entry 5: +5" in second.text and "Older entries" not in second.text
    assert "Newest entries" in second.text


EVENT = """
INSERT INTO webhook_events (provider, event_id, event_type, payload, received_at, processed_at,
    attempts, last_error, rejected_reason)
VALUES (:provider, :event_id, :event_type, CAST(:payload AS jsonb), now() - :age * interval '1 s',
    CASE WHEN :state = 'pending' THEN NULL ELSE now() END, :attempts, :error, :reason)
"""


async def _event(owner_db: Database, state: str, provider: str, **extra: Any) -> str:
    event_id = f"evt_{uuid.uuid4().hex[:12]}"
    await execute(
        owner_db,
        EVENT,
        provider=provider,
        event_id=event_id,
        event_type=extra.get("event_type", "payment_intent.succeeded"),
        payload=json.dumps({"id": event_id}),
        age=extra.get("age", 0),
        state=state,
        attempts=extra.get("attempts", 1),
        error=extra.get("error"),
        reason=extra.get("reason"),
    )
    return event_id


async def test_webhook_events_are_listed_by_state_and_provider_and_paged(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    waiting = await _event(owner_db, "pending", "stripe", error="provider timed out", attempts=2)
    applied = await _event(owner_db, "processed", "paymob", event_type="TRANSACTION")
    refused = await _event(owner_db, "processed", "stripe", reason="amount does not match")
    as_person(client, admin)
    everything = await client.get("/admin/webhooks")
    for event_id in (waiting, applied, refused):
        assert event_id in everything.text
    assert "provider timed out" in everything.text and "amount does not match" in everything.text
    by_state = {
        "pending": waiting,
        "processed": applied,
        "rejected": refused,
    }
    for state, event_id in by_state.items():
        shown = await client.get("/admin/webhooks", params={"state": state})
        assert event_id in shown.text
        assert all(other in (event_id,) or other not in shown.text for other in by_state.values())
    paymob = await client.get("/admin/webhooks", params={"provider": "paymob"})
    assert applied in paymob.text and waiting not in paymob.text
    assert (await client.get("/admin/webhooks", params={"state": "lost"})).status_code == 400

    for age in range(40):
        await _event(owner_db, "processed", "paymob", age=100 + age)
    first = await client.get("/admin/webhooks", params={"provider": "paymob"})
    assert len(ARTICLE.findall(first.text)) == 30
    second = await client.get(_older(first.text, "Older events"))
    assert "provider=paymob" in second.url.query.decode()
    assert len(ARTICLE.findall(second.text)) == 11  # 41 paymob events in all
    assert applied not in second.text


async def test_a_product_is_made_private_then_its_price_and_status_changed(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    as_person(client, admin)
    course = await client.post(
        f"{API}/courses",
        json={"title": "Organic chemistry", "description": "Carbon."},
        headers=admin.headers,
    )
    assert course.status_code == 201, course.text
    course_id = course.json()["id"]
    form = {
        "name": "Chemistry bundle",
        "description": "All of organic chemistry.",
        "image_url": "https://example.com/chem.png",
        "price": "45.50",
        "currency": "usd",
    }
    made = await client.post(
        "/admin/catalogue",
        data={
            "csrf_token": csrf_of((await client.get("/admin/catalogue")).text),
            **form,
            "course_ids": course_id,
        },
    )
    assert made.status_code == 303, made.text
    product_page = made.headers["location"].split("?")[0]
    product_id = product_page.rsplit("/", 1)[1]
    assert made.headers["location"].endswith("?notice=product_created")
    read = (await client.get(f"{API}/products/{product_id}", headers=admin.headers)).json()
    assert (read["price_cents"], read["currency"], read["status"], read["course_ids"]) == (
        4550,
        "USD",
        "private",
        [course_id],
    )
    shown = await client.get(product_page)
    assert 'value="45.50"' in shown.text and "Organic chemistry" in shown.text

    saved = await post_form(
        client, product_page, product_page, **{**form, "price": "39", "status": "public"}
    )
    assert saved.headers["location"] == f"{product_page}?notice=product_saved"
    read = (await client.get(f"{API}/products/{product_id}")).json()
    assert (read["price_cents"], read["status"]) == (3900, "public")
    free = await post_form(
        client, product_page, product_page, **{**form, "price": "0", "status": "private"}
    )
    assert free.status_code == 303
    bad = await post_form(
        client, product_page, product_page, **{**form, "image_url": "not a url", "status": "public"}
    )
    assert bad.status_code == 422 and "Check the form" in bad.text
    unknown = await post_form(
        client, "/admin/catalogue", "/admin/catalogue", **{**form, "course_ids": str(uuid.uuid4())}
    )
    assert unknown.status_code in (404, 422)
    second = await client.post(
        f"{API}/courses",
        json={"title": "Physical chemistry", "description": "Heat."},
        headers=admin.headers,
    )
    second_id = second.json()["id"]
    assert (
        f'<option value="{second_id}">Physical chemistry</option>'
        in (await client.get(product_page)).text
    )
    added = await post_form(
        client, product_page, f"/admin/products/{product_id}/courses", course_id=second_id
    )
    assert added.headers["location"] == f"{product_page}?notice=product_course_added"
    removed = await post_form(
        client, product_page, f"/admin/products/{product_id}/courses/{course_id}/remove"
    )
    assert removed.headers["location"] == f"{product_page}?notice=product_course_removed"
    read = (await client.get(f"{API}/products/{product_id}", headers=admin.headers)).json()
    assert read["course_ids"] == [second_id]
    again = await post_form(
        client, product_page, f"/admin/products/{product_id}/courses/{course_id}/remove"
    )
    assert again.status_code == 404 and "The product does not sell this course." in again.text
    none = await post_form(client, product_page, f"/admin/products/{product_id}/courses")
    assert none.status_code == 422 and "Choose a course." in none.text
    diffs = await rows(
        owner_db,
        "SELECT action, diff FROM audit_log WHERE entity_id = :p ORDER BY created_at, id",
        p=product_id,
    )
    assert [action for action, _ in diffs] == [
        "product.create",
        "product.update",
        "product.update",
        "product.link_course",
        "product.unlink_course",
    ]
    assert diffs[1][1]["price_cents"] == [4550, 3900]
    assert diffs[1][1]["status"] == ["private", "public"]
