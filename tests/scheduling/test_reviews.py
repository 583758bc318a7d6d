"""Reviews of completed bookings: who may write, edit, reply and hide, and the rating they make."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx

from studyhall.accounts.service.ratings import RatingTotals, bayesian_score
from studyhall.bootstrap import DatabaseUrls
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.scheduling.jobs import complete_finished
from tests.live import live_server
from tests.scheduling.conftest import (
    API,
    Market,
    MarketFactory,
    Person,
    book,
    execute,
    make_admin,
    many_students,
    rows,
    scalar,
    sign_up,
)
from tests.scheduling.test_earnings import ENDED


async def completed_booking(
    client: httpx.AsyncClient, owner_db: Database, m: Market, student: Person, index: int
) -> str:
    """A booking of ``m``'s slot ``index`` that has taken place (moved into the past, completed
    by the real job)."""
    booked = await book(client, student, m.open_slots[index]["id"])
    assert booked.status_code == 201, booked.text
    booking_id: str = booked.json()["id"]
    await execute(owner_db, ENDED, id=booking_id, ago=2 * index + 2)
    assert booking_id in map(str, await complete_finished())
    return booking_id


async def review(
    client: httpx.AsyncClient, person: Person, booking_id: str, **body: Any
) -> httpx.Response:
    return await client.post(
        f"{API}/bookings/{booking_id}/review", json=body, headers=person.headers
    )


async def tutor_rating(client: httpx.AsyncClient, tutor: Person) -> tuple[float | None, int]:
    body = (await client.get(f"{API}/me/tutor-profile", headers=tutor.headers)).json()
    return body["rating"], body["rating_count"]


async def test_a_completed_booking_is_reviewed_once_and_rates_the_tutor(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market()
    student = await sign_up(client)
    upcoming = await book(client, student, m.open_slots[5]["id"])
    early = await review(client, student, upcoming.json()["id"], rating=5)
    assert (early.status_code, early.json()["code"]) == (409, "booking_not_completed")

    booking_id = await completed_booking(client, owner_db, m, student, 0)
    by_tutor = await review(client, m.tutor, booking_id, rating=5)
    assert (by_tutor.status_code, by_tutor.json()["code"]) == (403, "review_not_allowed")
    stranger = await review(client, await sign_up(client), booking_id, rating=1)
    assert (stranger.status_code, stranger.json()["code"]) == (404, "booking_not_found")

    created = await review(client, student, booking_id, rating=4, body="Clear and patient.")
    assert created.status_code == 201, created.text
    assert await tutor_rating(client, m.tutor) == (4.0, 1)
    again = await review(client, student, booking_id, rating=1)
    assert (again.status_code, again.json()["code"]) == (409, "review_exists")
    assert await scalar(owner_db, "SELECT count(*) FROM reviews") == 1
    assert await tutor_rating(client, m.tutor) == (4.0, 1)


async def test_edit_window_reply_once_and_admin_hide(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market()
    student = await sign_up(client, name="Sam Student")
    booking_id = await completed_booking(client, owner_db, m, student, 0)
    review_id = (await review(client, student, booking_id, rating=3)).json()["id"]

    changed = await client.patch(
        f"{API}/reviews/{review_id}", json={"rating": 5, "body": "Better"}, headers=student.headers
    )
    assert changed.status_code == 200, changed.text
    assert await tutor_rating(client, m.tutor) == (5.0, 1)
    not_theirs = await client.patch(
        f"{API}/reviews/{review_id}", json={"rating": 1}, headers=m.tutor.headers
    )
    assert not_theirs.status_code == 404

    await execute(
        owner_db,
        "UPDATE reviews SET editable_until = now() - interval '1 second' WHERE id = :id",
        id=review_id,
    )
    frozen = await client.patch(
        f"{API}/reviews/{review_id}", json={"rating": 1}, headers=student.headers
    )
    assert (frozen.status_code, frozen.json()["code"]) == (409, "review_frozen")
    assert await tutor_rating(client, m.tutor) == (5.0, 1)

    replied = await client.post(
        f"{API}/reviews/{review_id}/reply", json={"body": "Thank you!"}, headers=m.tutor.headers
    )
    assert replied.status_code == 200 and replied.json()["tutor_reply"] == "Thank you!"
    twice = await client.post(
        f"{API}/reviews/{review_id}/reply", json={"body": "Again"}, headers=m.tutor.headers
    )
    assert (twice.status_code, twice.json()["code"]) == (409, "reply_exists")

    public = (await client.get(f"{API}/tutors/{m.tutor.id}/reviews")).json()
    assert [(r["reviewer_name"], r["rating"], r["tutor_reply"]) for r in public["items"]] == [
        ("Sam", 5, "Thank you!")
    ]

    admin = await make_admin(client, owner_db)
    refused = await client.post(
        f"{API}/reviews/{review_id}/hide", json={"reason": "x"}, headers=m.tutor.headers
    )
    assert refused.status_code == 403
    hidden = await client.post(
        f"{API}/reviews/{review_id}/hide", json={"reason": "Off-topic"}, headers=admin.headers
    )
    assert hidden.status_code == 200 and hidden.json()["hidden_reason"] == "Off-topic"
    assert (await client.get(f"{API}/tutors/{m.tutor.id}/reviews")).json()["items"] == []
    assert (await client.get(f"{API}/reviews/{review_id}")).status_code == 404
    assert (
        await client.get(f"{API}/reviews/{review_id}", headers=student.headers)
    ).status_code == 200
    assert await tutor_rating(client, m.tutor) == (None, 0)
    assert await scalar(owner_db, "SELECT count(*) FROM reviews") == 1
    assert await rows(
        owner_db,
        "SELECT actor_user_id, diff->>'reason' FROM audit_log WHERE action = 'review.hide'",
    ) == [(admin.id, "Off-topic")]

    shown = await client.post(f"{API}/reviews/{review_id}/unhide", headers=admin.headers)
    assert shown.status_code == 200
    assert await tutor_rating(client, m.tutor) == (5.0, 1)


async def test_review_input_is_checked_before_anything_is_written(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market()
    student = await sign_up(client)
    booking_id = await completed_booking(client, owner_db, m, student, 0)
    for body in (
        {"rating": 0},
        {"rating": 6},
        {"rating": 2**70},
        {"rating": 4, "body": "x" * 5001},
        {"rating": 4, "body": "nul \u0000 byte"},
        {"rating": 4, "extra": 1},
        {},
    ):
        answered = await review(client, student, booking_id, **body)
        assert answered.status_code == 422, (body, answered.text)
    assert await scalar(owner_db, "SELECT count(*) FROM reviews") == 0
    review_id = (await review(client, student, booking_id, rating=4, body="ok")).json()["id"]
    nulled = await client.patch(
        f"{API}/reviews/{review_id}", json={"rating": None}, headers=student.headers
    )
    assert nulled.status_code == 422
    cleared = await client.patch(
        f"{API}/reviews/{review_id}", json={"body": None}, headers=student.headers
    )
    assert cleared.status_code == 200 and cleared.json()["body"] is None
    bad_cursor = await client.get(f"{API}/tutors/{m.tutor.id}/reviews", params={"cursor": "x!"})
    assert (bad_cursor.status_code, bad_cursor.json()["code"]) == (422, "invalid_cursor")


def test_one_five_star_review_does_not_beat_a_hundred_of_four_point_eight() -> None:
    one_perfect = bayesian_score(RatingTotals(count=1, stars=5))
    hundred_good = bayesian_score(RatingTotals(count=100, stars=480))
    assert (one_perfect, hundred_good) == (Decimal("4.167"), Decimal("4.762"))
    assert bayesian_score(RatingTotals(0, 0)) == Decimal("4.000")


async def test_directory_sorts_by_the_bayesian_average(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    single = await market()
    steady = await market()
    for m, stars in ((single, [5]), (steady, [5, 5, 4])):
        for index, rating in enumerate(stars):
            student = await sign_up(client)
            booking_id = await completed_booking(client, owner_db, m, student, index)
            assert (await review(client, student, booking_id, rating=rating)).status_code == 201
    listed = (await client.get(f"{API}/tutors", params={"limit": 100})).json()["items"]
    order = [
        t["user_id"] for t in listed if t["user_id"] in (str(single.tutor.id), str(steady.tutor.id))
    ]
    # Means 5.00 and 4.67; scores (20 + 5) / 6 = 4.167 and (20 + 14) / 8 = 4.25.
    assert order == [str(steady.tutor.id), str(single.tutor.id)]
    paged = (await client.get(f"{API}/tutors", params={"limit": 1})).json()
    assert paged["next_cursor"] is not None


async def test_public_listing_pages_with_a_cursor(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market()
    for index in range(3):
        student = await sign_up(client)
        booking_id = await completed_booking(client, owner_db, m, student, index)
        assert (await review(client, student, booking_id, rating=index + 3)).status_code == 201
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(f"{API}/tutors/{m.tutor.id}/reviews", params=params)).json()
        seen += [item["rating"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == [3, 4, 5] and len(seen) == 3


async def test_a_review_answered_201_over_a_socket_is_stored(
    client: httpx.AsyncClient,
    owner_db: Database,
    market: MarketFactory,
    settings: Settings,
    database_urls: DatabaseUrls,
) -> None:
    m = await market()
    student = await sign_up(client)
    booking_id = await completed_booking(client, owner_db, m, student, 0)
    with live_server(settings, database_urls.app) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            answered = await review(http, student, booking_id, rating=5, body="Great")
            assert answered.status_code == 201, answered.text
            listed = (await http.get(f"{API}/tutors/{m.tutor.id}/reviews")).json()
    assert [item["id"] for item in listed["items"]] == [answered.json()["id"]]
    assert await rows(
        owner_db, "SELECT rating, rating_count FROM tutor_profiles WHERE user_id = :t", t=m.tutor.id
    ) == [(Decimal("5.00"), 1)]


async def test_concurrent_reviews_edits_and_hides_leave_the_exact_rating(
    client: httpx.AsyncClient,
    owner_db: Database,
    market: MarketFactory,
    settings: Settings,
) -> None:
    m = await market()
    students = await many_students(owner_db, settings, 24)
    bookings = [
        await completed_booking(client, owner_db, m, student, index)
        for index, student in enumerate(students)
    ]
    admin = await make_admin(client, owner_db)
    first = [
        (await review(client, s, b, rating=1 + i % 5)).json()["id"]
        for i, (s, b) in enumerate(zip(students[:12], bookings[:12], strict=True))
    ]

    async def hide(review_id: str) -> httpx.Response:
        return await client.post(
            f"{API}/reviews/{review_id}/hide", json={"reason": "spam"}, headers=admin.headers
        )

    async def rerate(student: Person, review_id: str) -> httpx.Response:
        return await client.patch(
            f"{API}/reviews/{review_id}", json={"rating": 5}, headers=student.headers
        )

    answers = await asyncio.gather(
        *(
            review(client, s, b, rating=2 + i % 4)
            for i, (s, b) in enumerate(zip(students[12:], bookings[12:], strict=True))
        ),
        *(hide(review_id) for review_id in first[:6]),
        *(rerate(s, r) for s, r in zip(students[6:12], first[6:], strict=True)),
    )
    assert sorted({a.status_code for a in answers}) == [200, 201], [a.text for a in answers]

    expected = await rows(
        owner_db,
        "SELECT round(avg(rating), 2), count(*) FROM reviews "
        "WHERE tutor_id = :t AND hidden_at IS NULL",
        t=m.tutor.id,
    )
    stored = await rows(
        owner_db,
        "SELECT rating, rating_count FROM tutor_profiles WHERE user_id = :t",
        t=m.tutor.id,
    )
    assert stored == expected
    assert expected[0][1] == 18
