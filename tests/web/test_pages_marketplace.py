"""The marketplace pages over HTTP (no browser): reviews on the booking page, the tutor's page
and the tutor's own list; the meeting link; the payouts page. Accounts and bookings are made
through the API on the same app, and the web pages read them through the signed-in cookie."""

from __future__ import annotations

import re

import httpx
import pytest

from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.scheduling.config import scheduling_settings
from studyhall.web.sessions import ACCESS_COOKIE
from tests.scheduling.conftest import (
    API,
    MarketFactory,
    Person,
    billing_config,
    book,
    execute,
    make_admin,
    market,
    sign_up,
    use_billing,
)
from tests.scheduling.test_payouts import close, completed, connect_stripe
from tests.scheduling.test_reviews import completed_booking
from tests.web.test_pages import csrf_of

# The scheduling tests' fixtures, reused.
__all__ = ["billing_config", "connect_stripe", "market"]

EDIT_WINDOW_PASSED = (
    "UPDATE reviews SET editable_until = now() - interval '1 minute' WHERE id = :id"
)


ONBOARDING_LINK = re.compile(r'href="(https://connect\.stripe\.test/setup/[^"]+)"')


def as_person(client: httpx.AsyncClient, person: Person) -> None:
    """The web app's cookie session for ``person`` (the same access token the API takes)."""
    client.cookies.set(ACCESS_COOKIE, person.token)


async def post_form(
    client: httpx.AsyncClient, page: str, action: str, **fields: str
) -> httpx.Response:
    shown = await client.get(page)
    assert shown.status_code == 200, shown.text
    return await client.post(action, data={"csrf_token": csrf_of(shown.text), **fields})


async def test_a_student_reviews_edits_and_sees_the_review_frozen_the_tutor_replies_once(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market()
    student = await sign_up(client, "student", name="Rana Student")
    booking_id = await completed_booking(client, owner_db, m, student, 0)
    page = f"/bookings/{booking_id}"

    as_person(client, student)
    shown = await client.get(page)
    assert 'action="/bookings/' + booking_id + '/review"' in shown.text
    refused = await post_form(client, page, f"{page}/review", rating="6", body="Too many stars")
    assert refused.status_code == 422
    assert "Choose 1 to 5 stars" in refused.text
    sent = await post_form(client, page, f"{page}/review", rating="4", body="<b>Clear</b> maths")
    assert (sent.status_code, sent.headers["location"]) == (
        303,
        f"{page}?notice=review_saved#review",
    )
    shown = await client.get(sent.headers["location"])
    assert "Your review is saved." in shown.text and "4 of 5 stars" in shown.text
    assert "&lt;b&gt;Clear&lt;/b&gt; maths" in shown.text  # text is escaped, never markup
    [review_id] = re.findall(r'action="/reviews/([0-9a-f-]+)/edit"', shown.text)
    again = await post_form(client, page, f"{page}/review", rating="5")
    assert again.status_code == 409 and "This booking already has a review." in again.text

    edited = await post_form(client, page, f"/reviews/{review_id}/edit", rating="5", body="")
    assert edited.status_code == 303
    shown = await client.get(page)
    assert "5 of 5 stars" in shown.text and "Clear" not in shown.text
    await execute(owner_db, EDIT_WINDOW_PASSED, id=review_id)
    shown = await client.get(page)
    assert "This review can no longer be changed." in shown.text
    assert f"/reviews/{review_id}/edit" not in shown.text
    late = await client.post(
        f"/reviews/{review_id}/edit",
        data={"csrf_token": csrf_of(shown.text), "rating": "1"},
    )
    assert late.status_code == 409 and "The review can no longer be changed." in late.text

    as_person(client, m.tutor)
    shown = await client.get(page)
    assert "Send reply" in shown.text
    replied = await post_form(client, page, f"/reviews/{review_id}/reply", body="Thank you, Rana!")
    assert replied.status_code == 303
    listed = await client.get("/teach/reviews")
    assert "5.0 of 5, reviews: 1" in listed.text and "Thank you, Rana!" in listed.text
    assert f"/reviews/{review_id}/reply" not in listed.text
    twice = await client.post(
        f"/reviews/{review_id}/reply",
        data={"csrf_token": csrf_of(listed.text), "body": "Again"},
    )
    assert twice.status_code == 409 and "You have already replied" in twice.text

    public = await client.get(f"/tutors/{m.tutor.id}")
    assert "5.0 of 5, reviews: 1" in public.text
    assert "Rana" in public.text and "Rana Student" not in public.text  # first name only
    assert "Thank you, Rana!" in public.text
    arabic = await client.get(f"/tutors/{m.tutor.id}", headers={"Accept-Language": "ar"})
    assert "عدد التقييمات: 1" in arabic.text and "ردّ المعلّم:" in arabic.text


async def test_a_hidden_review_leaves_the_tutors_page_and_others_cannot_review(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market()
    student, stranger = await sign_up(client, "student"), await sign_up(client, "student")
    booking_id = await completed_booking(client, owner_db, m, student, 0)
    answered = await client.post(
        f"{API}/bookings/{booking_id}/review",
        json={"rating": 2, "body": "Rude words"},
        headers=student.headers,
    )
    review_id = answered.json()["id"]
    await execute(
        owner_db,
        "UPDATE reviews SET hidden_at = now(), hidden_reason = 'abuse' WHERE id = :id",
        id=review_id,
    )
    public = await client.get(f"/tutors/{m.tutor.id}")
    assert "Rude words" not in public.text

    as_person(client, student)
    shown = await client.get(f"/bookings/{booking_id}")
    assert "An administrator has hidden this review" in shown.text
    assert f"/reviews/{review_id}/edit" not in shown.text
    not_a_tutor = await client.post(
        f"/reviews/{review_id}/reply", data={"csrf_token": csrf_of(shown.text), "body": "Me"}
    )
    assert not_a_tutor.status_code == 403
    as_person(client, stranger)
    assert (await client.get(f"/bookings/{booking_id}")).status_code == 404


async def test_the_join_link_shows_on_a_confirmed_booking_only(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory, settings: Settings
) -> None:
    m = await market()
    student = await sign_up(client, "student")
    booked = await book(client, student, m.open_slots[0]["id"])
    booking_id = booked.json()["id"]
    link = "https://meet.jit.si/studyhall-test-room"
    await execute(
        owner_db,
        "UPDATE bookings SET status = 'confirmed', join_link = :link WHERE id = :id",
        link=link,
        id=booking_id,
    )
    as_person(client, student)
    shown = await client.get(f"/bookings/{booking_id}")
    assert f'<a href="{link}">' in shown.text
    await execute(owner_db, "UPDATE bookings SET status = 'canceled' WHERE id = :id", id=booking_id)
    shown = await client.get(f"/bookings/{booking_id}")
    assert link not in shown.text


async def test_the_google_page_says_when_the_server_is_not_set_up(
    client: httpx.AsyncClient,
) -> None:
    assert not scheduling_settings().google_oauth_client_id
    tutor = await sign_up(client, "tutor")
    as_person(client, tutor)
    shown = await client.get("/teach/google-calendar")
    assert "Not connected" in shown.text
    assert "This server is not set up to connect Google Calendar." in shown.text
    started = await client.get("/teach/google-calendar/connect")
    assert started.status_code == 422
    student = await sign_up(client, "student")
    as_person(client, student)
    assert (await client.get("/teach/google-calendar")).status_code == 403
    assert (await client.get("/teach/payouts")).status_code == 403
    # A student's own connection, on their calendar page, says the same.
    calendar = await client.get("/calendar")
    assert "This server is not set up to connect Google Calendar." in calendar.text
    assert (await client.get("/calendar/google/connect")).status_code == 422
    done = await client.get("/calendar/google/done", params={"notice": "google_connected"})
    assert (done.status_code, done.headers["location"]) == (
        303,
        "/calendar?notice=google_connected",
    )


async def test_a_tutor_sees_statements_and_how_they_were_paid(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    use_billing(manual_auto_succeed=True, platform_fee_rate=0.2)
    m = await market(price_cents=10_000)
    student = await sign_up(client, "student")
    await completed(client, owner_db, m, student, 0)
    as_person(client, m.tutor)
    shown = await client.get("/teach/payouts")
    assert "$80.00" in shown.text and "No statements yet." in shown.text
    assert "This server does not pay out through Stripe." in shown.text

    admin = await make_admin(client, owner_db)
    [statement] = await close(client, admin)
    shown = await client.get("/teach/payouts")
    assert "Nothing is waiting for the next statement." in shown.text
    assert f'href="/teach/payouts/{statement["id"]}"' in shown.text and "Due" in shown.text
    paid = await client.post(
        f"{API}/billing/admin/payouts/statements/{statement['id']}/mark-paid",
        headers=admin.headers,
    )
    assert paid.status_code == 200, paid.text
    details = await client.get(f"/teach/payouts/{statement['id']}")
    assert "Paid by hand" in details.text and "$80.00" in details.text
    assert "Lesson" in details.text

    other = await sign_up(client, "tutor")
    as_person(client, other)
    assert (await client.get(f"/teach/payouts/{statement['id']}")).status_code == 404


@pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")  # the Stripe SDK
async def test_a_tutor_starts_stripe_connect_onboarding(
    client: httpx.AsyncClient, market: MarketFactory, connect_stripe: object
) -> None:
    m = await market()
    as_person(client, m.tutor)
    shown = await client.get("/teach/payouts")
    assert "You have no payout account yet" in shown.text
    started = await client.post(
        "/teach/payouts/onboarding", data={"csrf_token": csrf_of(shown.text)}
    )
    assert started.status_code == 200
    [first] = ONBOARDING_LINK.findall(started.text)
    shown = await client.get("/teach/payouts")
    assert "Continue Stripe onboarding" in shown.text and "acct_" in shown.text
    again = await client.post("/teach/payouts/onboarding", data={"csrf_token": csrf_of(shown.text)})
    [second] = ONBOARDING_LINK.findall(again.text)
    # The same account, a fresh link.
    assert first != second and first.split("/")[-2] == second.split("/")[-2]
