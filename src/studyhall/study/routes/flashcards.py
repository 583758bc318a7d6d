"""Flashcards: list them, the ones due now, review one, delete one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, status

from studyhall.accounts.deps import CurrentUser
from studyhall.db.deps import Session
from studyhall.kit.paging import PageQuery
from studyhall.study.schemas import CardReviewCreate, CardReviewRead, FlashcardPage, FlashcardRead
from studyhall.study.service import flashcards

router = APIRouter()


@router.get("/flashcards", response_model=FlashcardPage, summary="List my flashcards")
async def flashcards_list(user: CurrentUser, session: Session, page: PageQuery) -> Any:
    """Every card of your decks, in the order they were made."""
    items, next_cursor = await flashcards.list_cards(session, user.id, page)
    return FlashcardPage(
        items=[FlashcardRead.model_validate(c) for c in items], next_cursor=next_cursor
    )


@router.get("/flashcards/due", response_model=FlashcardPage, summary="List my due flashcards")
async def flashcards_due_list(user: CurrentUser, session: Session, page: PageQuery) -> Any:
    """Cards whose FSRS due time has come, most overdue first."""
    items, next_cursor = await flashcards.due_page(session, user.id, datetime.now(UTC), page)
    return FlashcardPage(
        items=[FlashcardRead.model_validate(c) for c in items], next_cursor=next_cursor
    )


@router.post(
    "/flashcards/{card_id}/reviews",
    status_code=status.HTTP_201_CREATED,
    response_model=CardReviewRead,
    summary="Review a flashcard",
)
async def flashcard_review(
    card_id: uuid.UUID, body: CardReviewCreate, user: CurrentUser, session: Session
) -> Any:
    """Record how well you recalled the card (1 again … 4 easy); FSRS schedules its next due
    time, which comes back with the card."""
    card, entry = await flashcards.review(session, user, card_id, body.rating, body.duration_ms)
    await session.refresh(card)
    return CardReviewRead(
        card=FlashcardRead.model_validate(card),
        review_id=entry.id,
        rating=entry.rating,
        duration_ms=entry.duration_ms,
        reviewed_at=entry.reviewed_at,
    )


@router.delete(
    "/flashcards/{card_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a flashcard"
)
async def flashcard_delete(card_id: uuid.UUID, user: CurrentUser, session: Session) -> None:
    """Remove the card from your decks and from review."""
    await flashcards.delete_card(session, user, card_id)
