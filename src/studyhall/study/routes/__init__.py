"""The study assistant's HTTP API, mounted under ``/api/v1``: materials, search, artifacts,
quizzes, flashcards, chat and AI usage, one module per resource. Every route carries the one
``study`` tag, set here."""

from __future__ import annotations

from fastapi import APIRouter

from studyhall.study.routes import artifacts, chat, flashcards, materials, quizzes, search, usage

__all__ = ["router"]

router = APIRouter(tags=["study"])
router.include_router(materials.router)
router.include_router(search.router)
router.include_router(artifacts.router)
router.include_router(quizzes.router)
router.include_router(flashcards.router)
router.include_router(chat.router)
router.include_router(usage.router)
