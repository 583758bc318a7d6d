"""The study assistant's public surface: what other domains may call.

Progress counts the flashcards due, courses checks a material a lesson is to carry (and keeps it
from deletion until the lesson commits), privacy reads and writes stored files for exports and
erasure. Inside study, modules import their siblings directly, never this package.
"""

from __future__ import annotations

from studyhall.study.providers.storage import Storage, StorageError, get_storage
from studyhall.study.service.flashcards import due_cards
from studyhall.study.service.materials import find_undeleted, keep_for_reference

__all__ = [
    "Storage",
    "StorageError",
    "due_cards",
    "find_undeleted",
    "get_storage",
    "keep_for_reference",
]
