"""The learner's progress: streak and streak freezes (buy one with XP), daily goal (and setting
it), the study timer, XP, achievements, what to study next and why, the weekly or monthly board
of everyone or of my friends with my rank (and whether I appear on boards), and friends (ask by
e-mail, accept, remove, block, lift my block).

Every figure comes from the progress domain's services, the ones behind ``GET /me/progress``,
``/me/streak-freezes``, ``/study-sessions``, ``/achievements``, ``/leaderboards/{period}`` and
``/friends``; the page only draws them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from studyhall.accounts import service as accounts
from studyhall.db.deps import Session
from studyhall.kit.errors import DomainError
from studyhall.kit.paging import PageRequest
from studyhall.progress import service as progress
from studyhall.progress.config import get_config
from studyhall.progress.schemas import FriendRequest, SettingsUpdate
from studyhall.web.deps import MemberPage
from studyhall.web.errors import FormInvalid
from studyhall.web.messages import N_, domain_message, notice
from studyhall.web.rendering import Visit, render

router = APIRouter()

Notice = Annotated[str | None, Query(alias="notice", max_length=40)]
Period = Annotated[Literal["weekly", "monthly"], Query()]
Scope = Annotated[Literal["global", "friends"], Query()]
BOARD_SIZE = 10
LISTED = 100

# Said on the friend form only; elsewhere an unknown user is simply "nothing here".
NO_SUCH_LEARNER = N_("No one with this email uses Studyhall.")

# Why each recommendation is made, by its stable reason code (the sentence itself is English).
REASONS = {
    "streak_ends_tonight": N_("your day ends soon and today does not count for your streak yet"),
    "cards_due_now": N_("flashcards are due for review"),
    "lowest_concept_mastery": N_("this is the concept you know least well"),
    "next_unfinished_lesson": N_("it is the next lesson you have not finished"),
    "last_tutor_not_rebooked": N_("your last lesson was a while ago and nothing is booked"),
}


def _now() -> datetime:
    return datetime.now(UTC)


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


async def _name(session: AsyncSession, user_id: uuid.UUID) -> str:
    try:
        return (await accounts.get_user(session, user_id)).name
    except DomainError:
        return "?"


async def _friends(session: AsyncSession, me: uuid.UUID) -> list[dict[str, Any]]:
    """My friend rows with the other person's name and which way a pending request goes."""
    rows, _ = await progress.friends_listed(session, me, PageRequest(limit=LISTED, cursor=None))
    shown = []
    for row in rows:
        other = row.addressee_id if row.requester_id == me else row.requester_id
        shown.append(
            {
                "id": other,
                "name": await _name(session, other),
                "status": row.status,
                "incoming": row.status == "pending" and row.addressee_id == me,
                "blocked_by_me": row.status == "blocked" and row.blocked_by == me,
            }
        )
    return shown


async def _achievements(session: AsyncSession, me: uuid.UUID) -> list[dict[str, Any]]:
    unlocked = await progress.achievements_unlocked_by(session, me)
    rows, _ = await progress.achievements_listed(
        session, PageRequest(limit=LISTED, cursor=None), include_inactive=False
    )
    return [
        {"title": a.title, "description": a.description, "unlocked_at": unlocked.get(a.id)}
        for a in rows
    ]


async def progress_context(session: AsyncSession, user_id: uuid.UUID) -> dict[str, Any]:
    """What both the learner's page and their guardian's view show of a learner."""
    return {
        "dashboard": await progress.learner_dashboard(session, user_id, _now()),
        "achievements": await _achievements(session, user_id),
    }


async def _running_timer(session: AsyncSession, me: uuid.UUID) -> Any:
    """My study session still running, if any (the newest one, when it has not ended)."""
    rows, _ = await progress.study_sessions_recent(session, me, PageRequest(limit=1, cursor=None))
    return rows[0] if rows and rows[0].ended_at is None else None


async def _draw(
    page: Visit,
    session: AsyncSession,
    period: str,
    errors: dict[str, str],
    email: str,
    scope: str = "global",
) -> dict[str, Any]:
    assert page.user is not None
    me = page.user.id
    settings = await progress.settings_read(session, me)
    return {
        **await progress_context(session, me),
        "goal_values": {
            "type": settings.daily_goal_type,
            "minutes": settings.daily_goal_minutes,
        },
        "show_on_leaderboards": settings.show_on_leaderboards,
        "timer": await _running_timer(session, me),
        "period": period,
        "scope": scope,
        "board": await progress.board(session, me, period, scope, _now(), BOARD_SIZE),
        "friends": await _friends(session, me),
        "friend_email": email,
        "errors": errors,
        "reasons": {code: page.viewer.gettext(text) for code, text in REASONS.items()},
        "freeze_cost": progress.FREEZE_COST_XP,
        "freezes_held_at_most": progress.MAX_FREEZES,
        "freeze_earned_every": progress.FREEZE_EARNED_EVERY_DAYS,
    }


@router.get("/progress", include_in_schema=False)
async def progress_page(
    page: MemberPage,
    session: Session,
    board: Period = "weekly",
    scope: Scope = "global",
    notice_key: Notice = None,
) -> Response:
    context = await _draw(page, session, board, {}, "", scope)
    return render(page, "progress.html", notice=notice(page.viewer, notice_key), **context)


@router.post("/progress/goal", include_in_schema=False)
async def set_goal(request: Request, page: MemberPage, session: Session) -> Response:
    assert page.user is not None
    form = await request.form()
    goal_type = _field(form, "goal_type")
    minutes = _field(form, "goal_minutes")
    try:
        data = SettingsUpdate.model_validate(
            {
                "daily_goal_type": goal_type,
                "daily_goal_minutes": int(minutes) if minutes.isdigit() else minutes or None,
            }
        )
    except ValidationError as exc:
        errors = {"goal_minutes": page.viewer.gettext("Choose between 1 and 600 minutes.")}
        context = await _draw(page, session, "weekly", errors, "")
        context["goal_values"] = {"type": goal_type, "minutes": minutes}
        raise FormInvalid("progress.html", notice=None, **context) from exc
    await progress.settings_update(
        session,
        page.user.id,
        daily_goal_type=data.daily_goal_type,
        daily_goal_minutes=data.daily_goal_minutes,
        show_on_leaderboards=None,
    )
    return RedirectResponse("/progress?notice=goal_saved", status_code=303)


@router.post("/progress/leaderboards", include_in_schema=False)
async def set_board_visibility(request: Request, page: MemberPage, session: Session) -> Response:
    """Whether my name and XP appear on boards, as ``PATCH /me/progress/settings`` sets it."""
    assert page.user is not None
    shown = _field(await request.form(), "show_on_leaderboards") == "on"
    await progress.settings_update(
        session,
        page.user.id,
        daily_goal_type=None,
        daily_goal_minutes=None,
        show_on_leaderboards=shown,
    )
    key = "boards_shown" if shown else "boards_hidden"
    return RedirectResponse(f"/progress?notice={key}", status_code=303)


@router.post("/progress/timer/start", include_in_schema=False)
async def start_timer(page: MemberPage, session: Session) -> Response:
    """As ``POST /study-sessions``: one running session; a second start is refused (409)."""
    assert page.user is not None
    await progress.study_timer_start(session, page.user.id, _now(), get_config())
    return RedirectResponse("/progress?notice=timer_started", status_code=303)


@router.post("/progress/timer/heartbeat", include_in_schema=False)
async def keep_timer(page: MemberPage, session: Session) -> Response:
    """Sent by the open page (htmx) so that the session is not closed as idle."""
    assert page.user is not None
    await progress.study_timer_heartbeat(session, page.user.id, _now(), get_config())
    return Response(status_code=204)


@router.post("/progress/timer/stop", include_in_schema=False)
async def stop_timer(page: MemberPage, session: Session) -> Response:
    """As ``POST /study-sessions/current/stop``: the minutes count for the day it began."""
    assert page.user is not None
    await progress.study_timer_stop(session, page.user.id, _now(), get_config())
    return RedirectResponse("/progress?notice=timer_stopped", status_code=303)


@router.post("/progress/freezes", include_in_schema=False)
async def buy_freeze(page: MemberPage, session: Session) -> Response:
    """As ``POST /me/streak-freezes``: paid with XP; refused (409) without enough XP or when
    the most freezes one may hold are held."""
    assert page.user is not None
    try:
        await progress.streak_freeze_buy(session, page.user.id, _now())
    except DomainError as exc:
        errors = {"freeze": domain_message(page.viewer, exc)}
        raise await _refused(page, session, errors, "", exc.status) from exc
    return RedirectResponse("/progress?notice=freeze_bought", status_code=303)


@router.post("/progress/recommendations", include_in_schema=False)
async def refresh_recommendations(page: MemberPage, session: Session) -> Response:
    assert page.user is not None
    await progress.recommendations_refresh(session, page.user.id, _now())
    return RedirectResponse("/progress?notice=recommendations_refreshed", status_code=303)


@router.post("/progress/friends", include_in_schema=False)
async def ask_friend(request: Request, page: MemberPage, session: Session) -> Response:
    """By e-mail, as ``POST /friends/requests`` takes it; asking someone who asked me accepts."""
    assert page.user is not None
    email = _field(await request.form(), "friend_email")
    try:
        body = FriendRequest.model_validate({"email": email})
        other = await progress.friend_resolve(session, page.user.id, None, body.email)
        await progress.friend_request(session, page.user.id, other)
    except ValidationError as exc:
        errors = {"friend_email": page.viewer.gettext("Enter a valid email address.")}
        raise await _refused(page, session, errors, email) from exc
    except DomainError as exc:
        unknown = exc.code == "user_not_found"
        message = page.viewer.gettext(NO_SUCH_LEARNER) if unknown else None
        errors = {"friend_email": message or domain_message(page.viewer, exc)}
        raise await _refused(page, session, errors, email, exc.status) from exc
    return RedirectResponse("/progress?notice=friend_asked", status_code=303)


async def _refused(
    page: Visit,
    session: AsyncSession,
    errors: dict[str, str],
    email: str,
    status_code: int = 422,
) -> FormInvalid:
    context = await _draw(page, session, "weekly", errors, email)
    return FormInvalid("progress.html", status_code=status_code, notice=None, **context)


@router.post("/progress/friends/{user_id}/accept", include_in_schema=False)
async def accept_friend(user_id: uuid.UUID, page: MemberPage, session: Session) -> Response:
    assert page.user is not None
    await progress.friend_accept(session, page.user.id, user_id)
    return RedirectResponse("/progress?notice=friend_accepted", status_code=303)


@router.post("/progress/friends/{user_id}/remove", include_in_schema=False)
async def remove_friend(user_id: uuid.UUID, page: MemberPage, session: Session) -> Response:
    assert page.user is not None
    await progress.friend_remove(session, page.user.id, user_id)
    return RedirectResponse("/progress?notice=friend_removed", status_code=303)


@router.post("/progress/friends/{user_id}/block", include_in_schema=False)
async def block_friend(user_id: uuid.UUID, page: MemberPage, session: Session) -> Response:
    """As ``POST /friends/{user_id}/block``: a friendship or request between us ends and they
    can no longer ask me."""
    assert page.user is not None
    other = await progress.friend_resolve(session, page.user.id, user_id, None)
    await progress.friend_block(session, page.user.id, other)
    return RedirectResponse("/progress?notice=friend_blocked", status_code=303)


@router.post("/progress/friends/{user_id}/unblock", include_in_schema=False)
async def unblock_friend(user_id: uuid.UUID, page: MemberPage, session: Session) -> Response:
    """As ``DELETE /friends/{user_id}/block``: only a block I made can be lifted by me."""
    assert page.user is not None
    await progress.friend_unblock(session, page.user.id, user_id)
    return RedirectResponse("/progress?notice=friend_unblocked", status_code=303)
