"""The study assistant's public surface: what other domains may call.

Progress counts the flashcards due, courses checks a material a lesson is to carry (and keeps it
from deletion until the lesson commits), privacy reads and writes stored files for exports and
erasure and keeps off-site copies of backups; the web app asks questions, streams the answers
and shows the conversations (threads) about a material. Inside study, modules import their
siblings directly, never this package.
"""

from __future__ import annotations

from studyhall.study.providers.storage import S3Storage, Storage, StorageError, get_storage
from studyhall.study.service.artifacts import create as create_artifact
from studyhall.study.service.artifacts import deck_of, quizzes_of
from studyhall.study.service.artifacts import get_owned as get_artifact
from studyhall.study.service.artifacts import list_owned as list_artifacts
from studyhall.study.service.chat import (
    answer_stream,
    ask,
    create_thread,
    get_thread,
    list_threads,
    open_turn,
)
from studyhall.study.service.chat import messages as thread_messages
from studyhall.study.service.flashcards import due_cards
from studyhall.study.service.flashcards import review as review_card
from studyhall.study.service.materials import file_too_large, find_undeleted, keep_for_reference
from studyhall.study.service.materials import get_owned as get_material
from studyhall.study.service.materials import get_readable as get_readable_material
from studyhall.study.service.materials import list_owned as list_materials
from studyhall.study.service.materials import upload as upload_material
from studyhall.study.service.quizzes import get_quiz, start_attempt
from studyhall.study.service.quizzes import questions as quiz_questions
from studyhall.study.service.quizzes import submit as submit_attempt

__all__ = [
    "S3Storage",
    "Storage",
    "StorageError",
    "answer_stream",
    "ask",
    "create_artifact",
    "create_thread",
    "deck_of",
    "due_cards",
    "file_too_large",
    "find_undeleted",
    "get_artifact",
    "get_material",
    "get_quiz",
    "get_readable_material",
    "get_storage",
    "get_thread",
    "keep_for_reference",
    "list_artifacts",
    "list_materials",
    "list_threads",
    "open_turn",
    "quiz_questions",
    "quizzes_of",
    "review_card",
    "start_attempt",
    "submit_attempt",
    "thread_messages",
    "upload_material",
]
